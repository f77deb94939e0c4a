"""`glcr policy show`: what each field of a policy means, in GitLab's terms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glcr.models import ExpirationPolicy
from glcr.policy.diff import policy_attributes
from glcr.policy.regex import anchored, describe_alternation, pattern_shape
from glcr.policy.values import OLDER_THAN_ALL, POLICY_FIELDS, older_than_days, older_than_support

# ContainerExpirationPolicy.cadence_options
CADENCE_LABELS = {
    "1d": "every day",
    "7d": "every week",
    "14d": "every two weeks",
    "1month": "every month (30 days)",
    "3month": "every three months (90 days)",
}


@dataclass(frozen=True)
class PolicyLine:
    field: str
    value: Any
    meaning: str


def _regex_meaning(pattern: str | None, verb: str) -> str:
    if not pattern:
        return f"empty: {verb} no tag"
    shape = pattern_shape(pattern)
    if len(shape.branches) > 1:
        return f"{verb} {describe_alternation(shape.branches)} (GitLab compiles `{anchored(pattern)}`)"
    return f"{verb} tags whose whole name matches `{pattern}`"


def describe_policy(policy: ExpirationPolicy | Mapping[str, Any]) -> tuple[PolicyLine, ...]:
    """One line per policy field present, in GitLab's field order."""
    attrs = policy_attributes(policy)
    lines = []
    for name in POLICY_FIELDS:
        if name not in attrs:
            continue
        value = attrs[name]
        if name == "enabled":
            meaning = "runs on its cadence" if value else "disabled: GitLab never runs it"
        elif name == "cadence":
            label = CADENCE_LABELS.get(value)
            meaning = f"runs {label}; saving the policy again restarts the interval" if label else "not a cadence GitLab accepts"
        elif name == "keep_n":
            meaning = (
                "no count limit" if value is None
                else f"keeps the newest {value} matching tags of each image (per 1,000 tags in name "
                "order on GitLab's own registry)"
            )
        elif name == "older_than":
            if value is None:
                meaning = "no age limit"
            elif value in OLDER_THAN_ALL:
                meaning = f"deletes only tags older than {older_than_days(value)} days; {older_than_support(value)}"
            else:
                meaning = "not a value GitLab accepts"
        elif name == "name_regex":
            meaning = _regex_meaning(value, "deletes")
        else:
            meaning = _regex_meaning(value, "keeps") + (" whatever the other rules say" if value else "")
        lines.append(PolicyLine(name, value, meaning))
    return tuple(lines)
