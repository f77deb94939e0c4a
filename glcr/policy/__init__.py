"""PURE: GitLab's container cleanup rules, decided locally.

No I/O and no clock of its own: callers pass tags, params and `now`. Imports nothing that does
I/O (no httpx, python-gitlab, typer, rich); tests/unit/test_layering.py checks that.

Entry points:
  validate_policy / validate_bulk_delete    client-side checks with one-line errors and warnings
  parse_older_than / parse_chronic_duration  ChronicDuration as GitLab parses older_than
  TagRegex / anchored / delete_pattern       regexes compiled and matched exactly as GitLab does
  decide                                     a decision and its reason for every tag: the
                                             values in types.py, the steps in stages.py, the
                                             sentences in explanations.py, totals in estimate.py
  merge_policy                               `policy set`: merged attributes and before/after rows
  describe_policy                            `policy show`: what each field means
  parse_policy_text                          a policy file's JSON/YAML text into attributes
"""

from glcr.policy.diff import FieldChange, PolicyChange, merge_policy, policy_attributes
from glcr.policy.document import parse_policy_text
from glcr.policy.field_meanings import PolicyLine, describe_policy
from glcr.policy.duration import (
    DurationParse,
    analyze_chronic_duration,
    format_seconds,
    format_timedelta,
    parse_chronic_duration,
    parse_older_than,
)
from glcr.policy.estimate import estimate_runs
from glcr.policy.explanations import describe_params
from glcr.policy.stages import decide
from glcr.policy.types import (
    DEFAULT_MAX_LIST_SIZE,
    GITLAB_TAGS_PAGE_SIZE,
    Action,
    CleanupParams,
    CleanupResult,
    CleanupSummary,
    PolicyTag,
    Reason,
    SimulatedRun,
    TagDecision,
    TagLike,
    Variant,
)
from glcr.policy.regex import TagRegex, anchored, delete_pattern, pattern_shape
from glcr.policy.validate import Issue, ValidationResult, validate_bulk_delete, validate_policy
from glcr.policy.values import (
    BULK_DELETE_FIELDS,
    CADENCES,
    KEEP_N_VALUES,
    OLDER_THAN_ALL,
    OLDER_THAN_HISTORY,
    OLDER_THAN_LEGACY,
    OLDER_THAN_NEWEST,
    POLICY_FIELDS,
    older_than_support,
)
from glcr.regex import re2_error

__all__ = [
    "Action",
    "BULK_DELETE_FIELDS",
    "CADENCES",
    "CleanupParams",
    "CleanupResult",
    "CleanupSummary",
    "DEFAULT_MAX_LIST_SIZE",
    "DurationParse",
    "FieldChange",
    "GITLAB_TAGS_PAGE_SIZE",
    "Issue",
    "KEEP_N_VALUES",
    "OLDER_THAN_ALL",
    "OLDER_THAN_HISTORY",
    "OLDER_THAN_LEGACY",
    "OLDER_THAN_NEWEST",
    "POLICY_FIELDS",
    "PolicyChange",
    "PolicyLine",
    "PolicyTag",
    "Reason",
    "SimulatedRun",
    "TagDecision",
    "TagLike",
    "TagRegex",
    "ValidationResult",
    "Variant",
    "analyze_chronic_duration",
    "anchored",
    "decide",
    "describe_policy",
    "delete_pattern",
    "describe_params",
    "estimate_runs",
    "format_seconds",
    "format_timedelta",
    "merge_policy",
    "older_than_support",
    "parse_chronic_duration",
    "parse_older_than",
    "parse_policy_text",
    "pattern_shape",
    "policy_attributes",
    "re2_error",
    "validate_bulk_delete",
    "validate_policy",
]
