"""A cleanup's decisions with what is in use kept; what GitLab's own schedule would delete of it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from glcr.policy.types import Action, CleanupResult, Reason


def keep_in_use(result: CleanupResult, in_use: Mapping[str, tuple[str, ...]]) -> CleanupResult:
    """`result` with every deletion of a tag in `in_use` turned into a keep, reason `in_use`.

    Like a protection rule (glcr.policy.protection.protect_cleanup), this only ever removes
    deletions: the other decisions stay as GitLab's policy made them, so glcr never deletes
    more than GitLab would.
    """
    from glcr.policy.estimate import summarize

    stopped = {d.name for d in result.decisions if d.action is Action.DELETE and in_use.get(d.name)}
    if not stopped:
        return result
    decisions = tuple(
        d._replace(action=Action.KEEP, reason=Reason.IN_USE,
                   context=_InUseContext(in_use[d.name]))  # type: ignore[arg-type]  # duck-typed, as _RuleContext
        if d.name in stopped else d
        for d in result.decisions)
    s = result.summary
    summary = summarize([d.action for d in decisions], [d.reason for d in decisions],
                        [d.digest for d in decisions], [d.total_size for d in decisions], s.variant,
                        s.candidates, s.pages, s.page_size, s.truncated, s.max_list_size,
                        s.max_list_size + (result.params.keep_n or 0) if s.max_list_size else None,
                        result.params.keep_n, s.now, s.cutoff)
    note = f"{len(stopped)} tag(s) that the policy selects are kept because they are in use"
    summary = replace(summary, notes=s.notes + (note,), approximate=s.approximate)
    batches = tuple(b for b in (tuple(n for n in batch if n not in stopped) for batch in result.delete_batches) if b)
    run = result.simulated_run
    if run is not None:
        run = replace(run, deleted=tuple(n for n in run.deleted if n not in stopped))
    return replace(result, decisions=decisions, summary=summary, simulated_run=run, delete_batches=batches)


def in_use_text(whys: Iterable[str]) -> str:
    return "in use: " + "; ".join(whys)


class _InUseContext:
    """Stands in for the engine's DecisionContext on an in-use decision: builds its detail."""

    __slots__ = ("whys",)

    def __init__(self, whys: tuple[str, ...]) -> None:
        self.whys = whys

    def detail(self, reason, rank, page) -> str:
        return in_use_text(self.whys)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _InUseContext) and other.whys == self.whys

    def __hash__(self) -> int:
        return hash(self.whys)


def at_risk(result: CleanupResult, in_use: Mapping[str, tuple[str, ...]]) -> list[tuple[str, tuple[str, ...]]]:
    """The deletions of `result` that are in use: [(tag, whys)], in tag order."""
    return sorted((d.name, in_use[d.name]) for d in result.decisions
                  if d.action is Action.DELETE and in_use.get(d.name))


# RE2 and Ruby agree on these metacharacters; a tag name has only [A-Za-z0-9_.-].
_META = set(".^$*+?()[]{}|\\")


def suggest_keep_regex(names: Iterable[str], current: str | None) -> str:
    """The smallest name_regex_keep that also keeps `names`: the current one (if any) or'ed with
    the names, escaped. GitLab anchors it as `\\A#{regex}\\z` without a group, so `a|b` would
    keep "a..." and "...b": the alternation goes inside (?:...)."""
    escaped = ["".join("\\" + c if c in _META else c for c in n) for n in sorted(set(names))]
    alternatives = ([f"(?:{current})"] if current else []) + escaped
    return "(?:" + "|".join(alternatives) + ")" if len(alternatives) > 1 else alternatives[0]


def keep_plan_in_use(plan, in_use: Mapping[str, tuple[str, ...]]):
    """(a tag plan with its in-use deletions turned into keeps, [(tag, whys)] kept)."""
    from glcr.plan.model import Action as PlanAction

    stopped = [(e.tag, in_use[e.tag]) for e in plan.entries if e.action is PlanAction.DELETE and in_use.get(e.tag)]
    if not stopped:
        return plan, []
    names = dict(stopped)
    entries = tuple(replace(e, action=PlanAction.KEEP, reason=in_use_text(names[e.tag])) if e.tag in names else e
                    for e in plan.entries)
    return replace(plan, entries=entries), sorted(stopped)
