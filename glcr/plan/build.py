"""Build tag plans: from rules (`glcr tags plan`) or from a list file. Pure; the clock is `now`.

Every tag gets an action and the reason for it. Rules are applied in the order GitLab's cleanup
uses (app/services/projects/container_repository/cleanup_tags_base_service.rb), and the first rule that keeps a tag gives its reason:

1. `keep_latest`: the tag named `latest` is kept.
2. `keep_regexes`: a tag matching any of them is kept.
3. `delete_regex`: only tags matching it are candidates (None: every tag is).
4. `keep_first` N: the N newest candidates by age (`TagDetails.age_at`: the push time on
   GitLab's registry with its database, the image's `created` elsewhere) are kept. As in GitLab's `keep_n`,
   a tag with no date counts as newest, and they are counted among the candidates left by
   1-3, so `latest` and keep-regex tags do not use up the N.
5. `keep_semver_latest` N: the N highest semantic versions among the same candidates are kept
   (`glcr.plan.semver`: `v` prefix allowed). Every release ranks above every prerelease, so
   `3.0.0-rc.1` only counts once fewer than N releases are left: release candidates do not
   crowd out releases. Ties (`v1.2.3`, `1.2.3`) go by name, Z to A. Tags that are not versions
   are not judged by this rule. Rules 4 and 5 both keep: a tag either one keeps stays.
6. `older_than`: only candidates created strictly before `now - older_than` are deleted;
   a tag with no date is kept.

Regexes are RE2 and must match the WHOLE tag name. These are glcr's own flags: unlike a
GitLab cleanup policy, which pastes `\\A` and `\\z` around the pattern so that `a|b` means
"starts with a, or ends with b" (`glcr.policy` reproduces that), here `a|b` means exactly
`a` or `b`.

Multi-arch safety, given `index_children` (index digest -> child manifest digests, for every
tagged index): a tag whose digest is reachable from an index that a kept tag points to is kept
("referenced by kept index tag 'x'"), and the plan warns when deleting an index tag leaves its
child manifests untagged (garbage collection removes them), or when a deleted tag shares its
digest with a kept one (deleting it frees no space).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from glcr.errors import InvalidInputError
from glcr.models import Digest, Project, Repository, TagDetails
from glcr.plan.model import Action, Plan, PlanEntry
from glcr.plan.semver import parse_semver
from glcr.reference import short_digest
from glcr.regex import compile_re2
from glcr.timestamps import as_utc

IndexChildren = Mapping[Digest, frozenset[Digest]]


@dataclass(frozen=True)
class PlanRules:
    """What `glcr tags plan` keeps and deletes; see the module docstring for the order.

    Regexes are RE2, matched against the whole tag name (our flags, not GitLab's anchoring).
    """

    keep_latest: bool = True
    keep_first: int | None = None  # keep the N newest candidates
    keep_regexes: tuple[str, ...] = ()  # a tag matching any one is kept
    delete_regex: str | None = None  # only matching tags are candidates; None: all
    older_than: timedelta | None = None  # only candidates strictly older are deleted
    keep_semver_latest: int | None = None  # keep the N highest semantic-version candidates

    def __post_init__(self) -> None:
        object.__setattr__(self, "keep_regexes", tuple(self.keep_regexes))
        for name in ("keep_first", "keep_semver_latest"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise InvalidInputError(f"{name} must be a whole number of 1 or more, not {value!r}")
        if self.older_than is not None and self.older_than < timedelta(0):
            raise InvalidInputError(f"older_than must not be negative, not {self.older_than}")
        _compile_rules(self)  # fail here, when the rules are made, not halfway through a plan

    def to_record(self) -> dict[str, Any]:
        """The rules as JSON values, for `Plan.rules`."""
        return {
            "keep_latest": self.keep_latest,
            "keep_first": self.keep_first,
            "keep_regexes": list(self.keep_regexes),
            "delete_regex": self.delete_regex,
            "older_than_seconds": int(self.older_than.total_seconds()) if self.older_than else None,
            "keep_semver_latest": self.keep_semver_latest,
            "regex_match": "full",
        }


def build_tag_plan(
    tags: Iterable[TagDetails],
    rules: PlanRules,
    *,
    now: datetime,
    repository: Repository,
    index_children: IndexChildren | None = None,
    project: Project | None = None,
) -> Plan:
    """Decide every tag of `repository` by `rules`; entries come out in tag-name order."""
    now = as_utc(now)
    index_children = index_children or {}
    by_name, warnings = _unique(tags)
    keep_patterns, delete_pattern = _compile_rules(rules)
    decided: dict[str, tuple[Action, str]] = {}
    candidates: list[TagDetails] = []
    for tag in by_name.values():
        if rules.keep_latest and tag.name == "latest":
            decided[tag.name] = (Action.KEEP, "named latest")
        elif kept_by := next((p for p, rx in keep_patterns if rx.fullmatch(tag.name)), None):
            decided[tag.name] = (Action.KEEP, f"matches keep regex `{kept_by}`")
        elif delete_pattern is not None and not delete_pattern.fullmatch(tag.name):
            decided[tag.name] = (Action.KEEP, f"does not match delete regex `{rules.delete_regex}`")
        else:
            candidates.append(tag)

    ranked_keeps: dict[str, str] = {}
    if rules.keep_semver_latest:
        # Releases first, then prereleases: a run of release candidates must not crowd out releases.
        versions = sorted(((v.is_release, v, t.name) for t in candidates if (v := parse_semver(t.name))),
                          reverse=True)
        for rank, (_, _, name) in enumerate(versions[: rules.keep_semver_latest], start=1):
            ranked_keeps[name] = f"one of the {rules.keep_semver_latest} highest versions (#{rank})"
    if rules.keep_first:
        # Newest first; no date counts as newest (GitLab: `pushed_at || now`); ties by name, Z to A.
        newest = sorted(candidates, key=lambda t: (as_utc(t.age_at) if t.age_at else now, t.name),
                        reverse=True)
        for rank, tag in enumerate(newest[: rules.keep_first], start=1):
            ranked_keeps[tag.name] = f"one of the {rules.keep_first} newest (#{rank})"

    for tag in candidates:
        if tag.name in ranked_keeps:
            decided[tag.name] = (Action.KEEP, ranked_keeps[tag.name])
        elif rules.older_than is not None and tag.age_at is None:
            decided[tag.name] = (Action.KEEP, "no date, so not known to be old")
        elif rules.older_than is not None and not as_utc(tag.age_at) < now - rules.older_than:
            decided[tag.name] = (Action.KEEP, f"not older than {format_duration(rules.older_than)} "
                                              f"({_dated(tag)})")
        else:
            decided[tag.name] = (Action.DELETE, _delete_reason(tag, rules))

    kept = [t for t in by_name.values() if decided[t.name][0] == Action.KEEP]
    held = _held_by_kept_indexes(kept, index_children)
    for tag in by_name.values():
        if tag.digest in held and decided[tag.name][0] == Action.DELETE:
            decided[tag.name] = (Action.KEEP, f"referenced by kept index tag {held[tag.digest]!r}")

    entries = tuple(_entry(tag, *decided[tag.name]) for tag in sorted(by_name.values(), key=lambda t: t.name))
    kept = [t for t in by_name.values() if decided[t.name][0] == Action.KEEP]
    deleted = [t for t in by_name.values() if decided[t.name][0] == Action.DELETE]
    warnings += _deletion_warnings(deleted, kept, index_children)
    return _plan(repository, project, now, entries, rules.to_record(), warnings)


def plan_from_list(
    tag_names: Iterable[str],
    current: Mapping[str, TagDetails],
    repository: Repository,
    *,
    now: datetime,
    source: str = "list",
    index_children: IndexChildren | None = None,
    project: Project | None = None,
) -> Plan:
    """Delete the listed tags, each expected at the digest it has now (`current`, by name).

    A listed name the repository does not have gets action `skip`, reason "already absent": apply
    treats it as done. Names are taken once each. `source` (the list's file name) is recorded
    in the reasons and in `rules`. The user chose these tags, so tags that a kept index needs
    are not kept back here; the plan warns instead (a tag delete leaves the manifest in place).
    """
    names = sorted(set(tag_names))
    entries = []
    for name in names:
        tag = current.get(name)
        if tag is None:
            entries.append(PlanEntry(tag=name, digest=None, action=Action.SKIP, reason="already absent"))
        else:
            entries.append(_entry(tag, Action.DELETE, f"listed in {source}"))
    listed = set(names)
    deleted = [current[n] for n in names if n in current]
    staying = [t for n, t in sorted(current.items()) if n not in listed]
    warnings = _deletion_warnings(deleted, staying, index_children or {})
    return _plan(repository, project, as_utc(now), tuple(entries), {"list_file": source}, warnings)


def format_duration(delta: timedelta) -> str:
    """`90d`, `36h`, `1d 6h`, `45m`, `30s`: short, for reasons and messages."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0s"


def _compile_rules(rules: PlanRules) -> tuple[list[tuple[str, Any]], Any]:
    keep = [(pattern, _compile(pattern, "keep regex")) for pattern in rules.keep_regexes]
    delete = _compile(rules.delete_regex, "delete regex") if rules.delete_regex is not None else None
    return keep, delete


def _compile(pattern: str, what: str) -> Any:
    if pattern == "":
        raise InvalidInputError(f"the {what} is empty and would match no tag",
                                hint="leave it out instead")
    return compile_re2(pattern, what=what)


def _unique(tags: Iterable[TagDetails]) -> tuple[dict[str, TagDetails], list[str]]:
    """By name, first listing wins: offset pagination over a changing repository can repeat a tag."""
    by_name: dict[str, TagDetails] = {}
    warnings = []
    for tag in tags:
        if tag.name in by_name:
            warnings.append(f"tag {tag.name!r} was listed twice; the first listing is used")
        else:
            by_name[tag.name] = tag
    return by_name, warnings


def _delete_reason(tag: TagDetails, rules: PlanRules) -> str:
    parts = []
    if rules.delete_regex is not None:
        parts.append(f"matches delete regex `{rules.delete_regex}`")
    if rules.keep_first:
        parts.append(f"not among the {rules.keep_first} newest")
    if rules.keep_semver_latest and parse_semver(tag.name):
        parts.append(f"not among the {rules.keep_semver_latest} highest versions")
    if rules.older_than is not None and tag.age_at is not None:
        parts.append(f"older than {format_duration(rules.older_than)} ({_dated(tag)})")
    return "; ".join(parts) or "no rule keeps it"


def _dated(tag: TagDetails) -> str:
    """`pushed 2026-01-05` or `created 2026-01-05`: which time the age rule read."""
    assert tag.age_at is not None
    return f"{tag.age_source} {as_utc(tag.age_at):%Y-%m-%d}"


def _held_by_kept_indexes(kept: list[TagDetails], index_children: IndexChildren) -> dict[Digest, str]:
    """Every digest reachable from a kept index tag, with the first such tag by name."""
    held: dict[Digest, str] = {}
    for tag in sorted(kept, key=lambda t: t.name):
        stack = [tag.digest] if tag.digest in index_children else []
        while stack:
            for child in index_children.get(stack.pop(), ()):
                if child not in held:
                    held[child] = tag.name
                    stack.append(child)  # an index may list indexes
    return held


def _deletion_warnings(deleted: list[TagDetails], kept: list[TagDetails],
                       index_children: IndexChildren) -> list[str]:
    kept_by_digest: dict[Digest, str] = {}
    for tag in sorted(kept, key=lambda t: t.name):
        if tag.digest:
            kept_by_digest.setdefault(tag.digest, tag.name)
    held = _held_by_kept_indexes(kept, index_children)
    warnings = []
    for tag in sorted(deleted, key=lambda t: t.name):
        if tag.digest is None:
            warnings.append(f"tag {tag.name!r} has no known digest: apply cannot check what it deletes")
        elif tag.digest in kept_by_digest:
            warnings.append(f"tag {tag.name!r} shares digest {short_digest(tag.digest)} with kept tag "
                            f"{kept_by_digest[tag.digest]!r}: deleting it frees no space")
        elif tag.digest in held:
            warnings.append(f"tag {tag.name!r} points to a manifest of kept index tag "
                            f"{held[tag.digest]!r}: only the tag goes, the manifest stays")
        elif tag.digest in index_children:
            left = index_children[tag.digest] - kept_by_digest.keys() - held.keys()
            if left:
                warnings.append(f"deleting index tag {tag.name!r} leaves {len(left)} child "
                                "manifest(s) untagged, for garbage collection to remove")
    return warnings


def _entry(tag: TagDetails, action: Action, reason: str) -> PlanEntry:
    return PlanEntry(tag=tag.name, digest=tag.digest, action=action, reason=reason,
                     created_at=tag.age_at, total_size=tag.total_size)


def _plan(repository: Repository, project: Project | None, now: datetime,
          entries: tuple[PlanEntry, ...], rules: Mapping[str, Any], warnings: list[str]) -> Plan:
    if project is not None:
        project_path = project.path_with_namespace
    else:
        # The root image's path is the project's; a named image adds "/<name>".
        suffix = f"/{repository.name}" if repository.name else ""
        project_path = repository.path.removesuffix(suffix) if suffix else repository.path
    return Plan(
        project_id=repository.project_id,
        project_path=project_path,
        repository_id=repository.id,
        repository_path=repository.path,
        repository_location=repository.location,
        created_at=now,
        entries=entries,
        rules=rules,
        warnings=tuple(warnings),
    )
