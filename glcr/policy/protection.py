r"""PURE: GitLab's container tag protection rules: the model, validation before sending, matching.

What GitLab does (checked in GitLab's source, gitlabhq/gitlabhq):

* Model, app/models/container_registry/protection/tag_rule.rb:
  `ACCESS_LEVELS = Gitlab::Access.sym_options_with_admin.slice(:maintainer, :owner, :admin)`,
  i.e. maintainer 40, owner 50, admin 60 (lib/gitlab/access.rb); `MAX_TAG_RULES_PER_PROJECT = 5`;
  `tag_name_pattern` present, unique per project, at most 100 characters, valid RE2
  (`untrusted_regexp: true`); both access levels present (CE: "Access levels should both be
  present"), or both nil = an immutable rule (EE, Ultimate). `mutable` scope: both levels set.
* Matching, `matches_tag_name?` / `filter_out_protected!`: `Gitlab::UntrustedRegexp.new(pattern)
  .match?(name)`, an UNANCHORED RE2 search; an empty name never matches.
* Which rules stop a delete (app/services/container_registry/protection/concerns/tag_rule.rb,
  `protected_patterns_for_delete`; app/services/projects/container_repository/gitlab/
  delete_tags_service.rb): with no user (a cleanup-policy run) every rule applies; an
  administrator skips the filter; anyone else is stopped by the rules whose
  `minimum_access_level_for_delete` is above their project access level (`for_delete_and_access`:
  `minimum_access_level_for_delete > level`). Immutable rules stop everyone (EE's prepend).
  The protected names are dropped from the batch; when nothing is left the service answers
  `cannot delete protected tag(s)` (API: 403).
* Pushes: `push_restricted?(level)`: `minimum_access_level_for_push > level`; newer registries get
  the denied patterns in the token (`tag_deny_access_patterns`) and answer 401 `PROTECTED_TAG` /
  `IMMUTABLE_TAG` (container-registry handlers: `tag %q is protected` / `tag %q is immutable`).
* REST (lib/api/project_container_registry_protection_tag_rules.rb, GitLab 18.7+): GET lists the
  `mutable` rules only (immutable ones are not shown), POST needs `admin_container_image`
  (Maintainer), model errors come back as 422 `{"message": [full messages]}`, PATCH errors as
  422 `{"message": {"error": ...}}`, Grape's `values:` check as 400 `{"error": ...}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from glcr.errors import InvalidInputError, PermissionDeniedError, UsageError
from glcr.regex import compile_re2, invalid_regexp, re2_error

LEVELS: Mapping[str, int] = {"maintainer": 40, "owner": 50, "admin": 60}
MAX_RULES = 5
MAX_PATTERN_LENGTH = 100
ADMIN = 60  # Gitlab::Access::ADMIN: an administrator's level in sym_options_with_admin


class Purpose(str, Enum):
    """Whose delete is being checked: GitLab's own cleanup policy (no user: every rule) or an
    API delete by a user (rules above that user's role)."""

    POLICY = "policy"
    USER = "user"


@dataclass(frozen=True)
class TagRule:
    """One rule as GitLab's REST API shows it; levels are GitLab's names or None."""

    pattern: str
    min_push: str | None = None
    min_delete: str | None = None
    id: int | None = None
    project_id: int | None = None
    # None: a rule GitLab showed (REST or GraphQL), levels known. A frozenset: a pattern read from
    # the caller's registry token (glcr.registry.token_claims), where GitLab already decided that
    # it refuses these actions ("push", "delete") to this caller; levels unknown.
    denied: frozenset[str] | None = None
    _search: Callable[[str], bool] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TagRule:
        return cls(str(data.get("tag_name_pattern") or ""), _level_name(data.get("minimum_access_level_for_push")),
                   _level_name(data.get("minimum_access_level_for_delete")),
                   data.get("id") if isinstance(data.get("id"), int) else None,
                   data.get("project_id") if isinstance(data.get("project_id"), int) else None)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "project_id": self.project_id, "tag_name_pattern": self.pattern,
                "minimum_access_level_for_push": self.min_push,
                "minimum_access_level_for_delete": self.min_delete, "immutable": self.immutable}

    @property
    def immutable(self) -> bool:
        return self.denied is None and self.min_push is None and self.min_delete is None

    def matches(self, name: str) -> bool:
        """UntrustedRegexp#match?: unanchored RE2 search; a blank name never matches. A pattern
        that does not compile (GitLab validates, so only from a foreign source) protects: GitLab
        would decide, not glcr."""
        search = self._search
        if search is None:
            search = _searcher(self.pattern)
            object.__setattr__(self, "_search", search)
        return search(name)

    def stops_delete(self, purpose: Purpose, level: int | None, *, admin: bool = False) -> bool:
        """Whether this rule keeps a matching tag for this delete. `level` None: unknown role,
        which is treated like the lowest (every rule applies)."""
        if self.immutable or purpose is Purpose.POLICY:
            return True
        if self.denied is not None:  # GitLab decided for this very caller
            return "delete" in self.denied
        if admin:
            return False
        return _above(self.min_delete, level)

    def stops_push(self, level: int | None, *, admin: bool = False) -> bool:
        if self.immutable:
            return True
        if self.denied is not None:
            return "push" in self.denied
        if admin:
            return False
        return _above(self.min_push, level)

    def describe(self) -> str:
        """`^v1\\.` (push: maintainer, delete: owner) / (immutable) / (GitLab refuses you: delete), the
        last for a pattern from the caller's registry token."""
        if self.immutable:
            return f"`{self.pattern}` (immutable)"
        if self.denied is not None:
            return f"`{self.pattern}` (GitLab refuses you: {' and '.join(sorted(self.denied, reverse=True))})"
        return f"`{self.pattern}` (push: {self.min_push}, delete: {self.min_delete})"


def _level_name(value: Any) -> str | None:
    return str(value).lower() if isinstance(value, str) and value else None


def _above(level_name: str | None, level: int | None) -> bool:
    needed = LEVELS.get(level_name or "")
    if needed is None:
        return level_name is not None  # an unknown name from a newer GitLab: assume it protects
    return level is None or needed > level


def _searcher(pattern: str) -> Callable[[str], bool]:
    try:
        compiled = compile_re2(pattern, what="tag name pattern")
    except InvalidInputError:  # a foreign pattern: protect everything it might mean
        return lambda name: bool(name) and not name.isspace()
    search = compiled.search
    return lambda name: bool(name) and not name.isspace() and search(name) is not None


@dataclass(frozen=True)
class Protection:
    """A project's tag rules as glcr could read them.

    `readable` False: GitLab did not show them (before 18.7, or a role below Maintainer);
    `note` says why, once, for the user. An unreadable protection protects nothing here: the
    registry or GitLab still refuses, and glcr turns that refusal into a clear error.
    """

    rules: tuple[TagRule, ...] = ()
    readable: bool = True
    note: str = ""
    # Where the rules came from: "" (GitLab's rules API), "GraphQL", or the caller's registry
    # token (only the patterns that apply to the caller).
    source: str = ""

    @classmethod
    def unreadable(cls, note: str) -> Protection:
        return cls((), False, note)

    def rule_for_delete(self, name: str, purpose: Purpose, level: int | None = None, *,
                        admin: bool = False) -> TagRule | None:
        """The first rule that keeps `name` for this delete, or None."""
        for rule in self.rules:
            if rule.stops_delete(purpose, level, admin=admin) and rule.matches(name):
                return rule
        return None

    def rule_for_push(self, name: str, level: int | None = None, *, admin: bool = False) -> TagRule | None:
        for rule in self.rules:
            if rule.stops_push(level, admin=admin) and rule.matches(name):
                return rule
        return None

    def matching(self, name: str) -> list[TagRule]:
        return [r for r in self.rules if r.matches(name)]


@dataclass(frozen=True)
class Caller:
    """Who deletes: their highest access level in the project (None: unknown) and admin flag."""

    level: int | None = None
    admin: bool = False

    def describe(self) -> str:
        if self.admin:
            return "administrator"
        names = {10: "Guest", 15: "Planner", 20: "Reporter", 30: "Developer", 40: "Maintainer", 50: "Owner"}
        return names.get(self.level or 0, "unknown role") if self.level else "unknown role"


def kept_reason(rule: TagRule) -> str:
    """The reason shown for a tag a rule keeps (dry-run, plans, delete reports)."""
    return f"protected by rule {rule.pattern}" + (" (immutable)" if rule.immutable else "")


# --- validation before sending ----------------------------------------------------------------


def normalize_level(value: str | None, option: str) -> str:
    """GitLab's values: maintainer, owner, admin (case-insensitive here, sent lower-case)."""
    text = (value or "").strip().lower()
    if text == "administrator":
        text = "admin"
    if text not in LEVELS:
        raise InvalidInputError(f"{option} must be one of maintainer, owner, admin; got {value!r}")
    return text


def validate_pattern(pattern: str | None) -> str:
    """The model's checks on tag_name_pattern: present, at most 100 characters, valid RE2."""
    if pattern is None or not pattern.strip():
        raise InvalidInputError("tag name pattern can't be blank", hint="give an RE2 pattern, e.g. '^v\\d+\\.'")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise InvalidInputError(f"tag name pattern is too long ({len(pattern)} characters; GitLab allows "
                                f"at most {MAX_PATTERN_LENGTH})")
    error = re2_error(pattern)
    if error is not None:
        raise invalid_regexp("tag name pattern", pattern, error)
    return pattern


def anchoring_hint(pattern: str) -> str | None:
    """GitLab searches a rule's pattern anywhere in the name (unlike the cleanup policy's regexes,
    which it anchors): say so when the pattern has no anchor at all."""
    from glcr.policy.regex import pattern_shape

    shape = pattern_shape(pattern)
    if shape.inner_anchors or pattern in (".*", ".+"):
        return None
    return (f"`{pattern}` is searched anywhere in the tag name (it also protects e.g. `x-{pattern}-y` if that "
            f"matches); write `^{pattern}` to match from the start, `^{pattern}$` for whole names")


def matching_tags(names_by_repository: Mapping[str, Sequence[str]], pattern: str) -> dict[str, list[str]]:
    """{repository: [its tags the pattern matches]} (sorted), for showing what a rule would protect."""
    rule = TagRule(pattern, "maintainer", "maintainer")
    return {path: sorted(n for n in names if rule.matches(n)) for path, names in names_by_repository.items()}


def validate_new_rule(pattern: str, min_push: str | None, min_delete: str | None, existing: Sequence[TagRule], *,
                      immutable: bool = False) -> dict[str, str]:
    """The POST body (an immutable rule: the pattern only, both levels nil), checked as GitLab
    checks it; InvalidInputError before anything is sent. `existing` counts immutable rules too
    (CreateTagRuleService counts every rule of the project against the 5)."""
    if immutable:
        if min_push is not None or min_delete is not None:
            raise InvalidInputError("an immutable rule has no roles: give --immutable, or --push/--delete, not both")
        body = {"tag_name_pattern": validate_pattern(pattern)}
    else:
        body = {"tag_name_pattern": validate_pattern(pattern),
                "minimum_access_level_for_push": normalize_level(min_push or "maintainer", "--push"),
                "minimum_access_level_for_delete": normalize_level(min_delete or "maintainer", "--delete")}
    if len(existing) >= MAX_RULES:
        raise InvalidInputError(f"the project already has {len(existing)} tag protection rules; GitLab allows "
                                f"at most {MAX_RULES}", hint="update or remove one with `glcr protection update/remove`")
    if any(r.pattern == pattern for r in existing):
        raise InvalidInputError(f"a rule for pattern `{pattern}` already exists",
                                hint="change it with `glcr protection update`")
    return body


def validate_update(rule: TagRule, existing: Sequence[TagRule], *, pattern: str | None = None,
                    min_push: str | None = None, min_delete: str | None = None) -> dict[str, str]:
    """The PATCH body (only the given fields), checked as GitLab checks it."""
    body: dict[str, str] = {}
    if pattern is not None:
        body["tag_name_pattern"] = validate_pattern(pattern)
        if any(r.pattern == pattern and r.id != rule.id for r in existing):
            raise InvalidInputError(f"another rule already has pattern `{pattern}`")
    if min_push is not None:
        body["minimum_access_level_for_push"] = normalize_level(min_push, "--push")
    if min_delete is not None:
        body["minimum_access_level_for_delete"] = normalize_level(min_delete, "--delete")
    if not body:
        raise UsageError("nothing to change", hint="give --pattern, --push or --delete")
    return body


def find_rule(rules: Sequence[TagRule], ref: str) -> TagRule:
    """A rule by id (digits) or by its exact pattern."""
    text = ref.strip()
    for rule in rules:
        if (text.isdigit() and rule.id == int(text)) or rule.pattern == text:
            return rule
    known = ", ".join(f"{r.id} `{r.pattern}`" for r in rules) or "none"
    raise InvalidInputError(f"no tag protection rule {ref!r} in this project (rules: {known})")


# --- applying protection to decisions ----------------------------------------------------------


def protected_names(names: Iterable[str], protection: Protection, purpose: Purpose,
                    caller: Caller = Caller()) -> dict[str, TagRule]:
    """name -> the rule that keeps it, for the names some rule keeps."""
    out: dict[str, TagRule] = {}
    if not protection.rules:
        return out
    for name in names:
        rule = protection.rule_for_delete(name, purpose, caller.level, admin=caller.admin)
        if rule is not None:
            out[name] = rule
    return out


def protect_cleanup(result, protection: Protection, purpose: Purpose = Purpose.POLICY, caller: Caller = Caller()):
    """A CleanupResult with every deletion a rule stops turned into a keep, reason `protected`.

    `purpose`: POLICY for GitLab's cleanup policy (every rule); USER for the bulk delete API,
    which runs as `caller` (the rules above their role).

    GitLab applies the rules inside its delete service, after keep_n, older_than and the
    truncation have chosen the batch; so the other decisions stay exactly as they were, only
    the protected deletions become keeps (and they do not free their bytes).
    """
    from glcr.policy.estimate import summarize
    from glcr.policy.types import Action, Reason

    stopped = protected_names((d.name for d in result.decisions if d.action is Action.DELETE),
                              protection, purpose, caller)
    if not stopped:
        return result
    decisions = tuple(
        d._replace(action=Action.KEEP, reason=Reason.PROTECTED, context=_RuleContext(stopped[d.name]))
        if d.name in stopped and d.action is Action.DELETE else d
        for d in result.decisions)
    s = result.summary
    summary = summarize([d.action for d in decisions], [d.reason for d in decisions],
                        [d.digest for d in decisions], [d.total_size for d in decisions], s.variant,
                        s.candidates, s.pages, s.page_size, s.truncated, s.max_list_size,
                        s.max_list_size + (result.params.keep_n or 0) if s.max_list_size else None,
                        result.params.keep_n, s.now, s.cutoff)
    patterns = sorted({r.pattern for r in stopped.values()})
    note = (f"{len(stopped)} tag(s) that the policy selects are kept by tag protection rules "
            f"({', '.join(patterns)}): GitLab's cleanup never deletes a protected tag")
    summary = replace(summary, notes=summary.notes + (note,))
    batches = tuple(b for b in (tuple(n for n in batch if n not in stopped) for batch in result.delete_batches) if b)
    run = result.simulated_run
    if run is not None:
        run = replace(run, deleted=tuple(n for n in run.deleted if n not in stopped))
    return replace(result, decisions=decisions, summary=summary, simulated_run=run, delete_batches=batches)


class _RuleContext:
    """Stands in for the engine's DecisionContext on a protected decision: builds its detail."""

    __slots__ = ("rule",)

    def __init__(self, rule: TagRule) -> None:
        self.rule = rule

    def detail(self, reason, rank, page) -> str:
        return kept_reason(self.rule)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RuleContext) and other.rule == self.rule

    def __hash__(self) -> int:
        return hash(self.rule)


def protect_plan(plan, protection: Protection, caller: Caller):
    """(plan with protected deletions turned into keeps, {tag: rule}) for an API delete by `caller`."""
    from glcr.plan.model import Action as PlanAction

    stopped = protected_names((e.tag for e in plan.to_delete), protection, Purpose.USER, caller)
    if not stopped:
        return plan, {}
    entries = tuple(replace(e, action=PlanAction.KEEP, reason=kept_reason(stopped[e.tag]))
                    if e.action is PlanAction.DELETE and e.tag in stopped else e for e in plan.entries)
    return replace(plan, entries=entries), stopped


def tag_protection(name: str, protection: Protection) -> dict[str, Any] | None:
    """What protects one tag (`tags list`): the matching rules and, as GitLab's docs put it,
    the most restrictive of them for push and for delete. None: no rule matches."""
    rules = protection.matching(name)
    if not rules:
        return None
    immutable = any(r.immutable for r in rules)

    def strictest(levels: Iterable[str | None]) -> str | None:
        known = [lv for lv in levels if lv]
        return max(known, key=lambda lv: LEVELS.get(lv, ADMIN + 1)) if known else None

    return {"rules": [{"id": r.id, "tag_name_pattern": r.pattern} for r in rules],
            "minimum_access_level_for_push": None if immutable else strictest(r.min_push for r in rules),
            "minimum_access_level_for_delete": None if immutable else strictest(r.min_delete for r in rules),
            "immutable": immutable}


def describe_tag_protection(info: dict[str, Any] | None) -> str:
    """`push: maintainer, delete: owner (^v1\\.)`, `immutable (^v1\\.)` or ``."""
    if not info:
        return ""
    patterns = ", ".join(r["tag_name_pattern"] for r in info["rules"])
    if info["immutable"]:
        return f"immutable ({patterns})"
    return (f"push: {info['minimum_access_level_for_push']}, delete: {info['minimum_access_level_for_delete']} "
            f"({patterns})")


# --- registry refusals ----------------------------------------------------------------------

# Newer GitLab registries (handlers/manifests.go, api/v2/errors.go): 401 PROTECTED_TAG /
# IMMUTABLE_TAG for a tag the token's patterns cover, PROTECTED_MANIFEST for any delete by digest
# while the token carries deny or immutable patterns (a digest could carry a protected tag).
REFUSAL_CODES = {"PROTECTED_TAG": "protected", "IMMUTABLE_TAG": "immutable", "PROTECTED_MANIFEST": "protected"}


def refusal_code(body: Any) -> tuple[str, str] | None:
    """(code, detail) when a registry error body is a tag-protection refusal, else None."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return None
    for error in errors:
        if isinstance(error, dict) and error.get("code") in REFUSAL_CODES:
            detail = error.get("detail")
            return str(error["code"]), str(detail if detail is not None else error.get("message") or "")
    return None


def refusal_message(tag: str, code: str, protection: Protection | None, *, pushing: bool = False) -> str:
    """One line naming the tag and the rule (when glcr could read the rules)."""
    what = REFUSAL_CODES.get(code, "protected")
    verb = "push" if pushing else "delete"
    if code == "PROTECTED_MANIFEST":
        return (f"cannot delete manifest {tag}: the registry refuses deletes by digest while tag protection rules "
                f"apply to you ({code})")
    rules = protection.matching(tag) if protection else []
    if rules:
        named = ", ".join(r.describe() for r in rules)
        return f"cannot {verb} tag {tag}: it is {what} by rule {named}"
    return f"cannot {verb} tag {tag}: it is {what} by a tag protection rule ({code})"


class ProtectedTagError(PermissionDeniedError):
    """The registry refused a tag delete or push because of a tag protection rule (401
    PROTECTED_TAG / IMMUTABLE_TAG): a permission problem, never a token problem."""

    def __init__(self, tag: str, code: str, *, pushing: bool = False, protection: Protection | None = None) -> None:
        super().__init__(refusal_message(tag, code, protection, pushing=pushing), hint=REFUSAL_HINT)
        self.tag, self.code, self.pushing = tag, code, pushing

    def explained(self, protection: Protection) -> ProtectedTagError:
        """The same refusal, naming the rule now that the rules are known."""
        return ProtectedTagError(self.tag, self.code, pushing=self.pushing, protection=protection)


def kept_error(kept: Mapping[str, TagRule], deleted: int = 0) -> ProtectedTagError:
    """`tags delete` named tags a rule keeps: one line naming the first tag and its rule (exit 6),
    so a script can tell "nothing was deleted" from success. The other named tags were deleted."""
    tag = sorted(kept)[0]
    rule = kept[tag]
    error = ProtectedTagError(tag, "IMMUTABLE_TAG" if rule.immutable else "PROTECTED_TAG",
                              protection=Protection((rule,)))
    more = f" (and {len(kept) - 1} other tag(s))" if len(kept) > 1 else ""
    done = f"; the other {deleted} named tag(s) were deleted" if deleted else "; nothing was deleted"
    error.message = f"{error.message}{more}{done}"
    return error


def refusal_error(status: int, body: Any, method: str, url_path: str) -> ProtectedTagError | None:
    """A registry answer as a ProtectedTagError, when it is a tag-protection refusal."""
    found = refusal_code(body) if status in (401, 403) else None
    if found is None or "/manifests/" not in url_path:
        return None
    from urllib.parse import unquote

    tag = unquote(url_path.rsplit("/manifests/", 1)[1])
    return ProtectedTagError(tag, found[0], pushing=method.upper() == "PUT")


REFUSAL_HINT = ("a tag protection rule allows this only to a higher role: ask someone with that role, or change "
                "the rule (`glcr protection list PROJECT`)")


# --- migrate-project preflight --------------------------------------------------------------


def _as_rule(rule: Any) -> TagRule:
    return rule if isinstance(rule, TagRule) else TagRule(str(getattr(rule, "pattern", "")),
                                                        getattr(rule, "min_push", None),
                                                        getattr(rule, "min_delete", None), getattr(rule, "id", None))


def migration_checks(tags: Sequence[tuple[str, str]], rules: Sequence[Any] | None, caller: Caller, *,
                     project: str, target: str, rules_note: str = "",
                     holding: str | None = None, holding_rules: Sequence[Any] | None = (),
                     holding_caller: Caller | None = None, holding_note: str = "") -> list[tuple[str, str]]:
    """What tag protection would stop half-way through a migration, as (level, message) with
    level "error" (refuse before anything is deleted) or "warning".

    `tags`: (repository path, tag) of every tag the move deletes and restores. The project's
    rules stop the delete (delete level above the caller's role, or immutable) and the restore
    (push level above it: the rules move with the project, so they apply under `target` too).
    A holding project's rules stop the copy into it (push) and, at the end, the removal of the
    copies (delete). `rules` None: they could not be read; said once, as a warning.
    """
    out: list[tuple[str, str]] = []
    unread = [(rules_note, project)] if rules is None else []
    if holding and holding_rules is None:
        unread.append((holding_note, f"the holding project {holding}"))
    if unread:  # one warning, however many projects: the reason is the same GitLab
        why = (unread[0][0] or "tag protection rules cannot be read").split(";")[0]
        out.append(("warning", f"{why}, for {' and '.join(w for _, w in unread)}: a protected tag would stop the "
                               "move half-way (after the tags were deleted); check the rules in GitLab first"))
    for rule in map(_as_rule, rules or ()):
        hits = sorted(f"{path}:{tag}" for path, tag in tags if rule.matches(tag))
        if not hits:
            continue
        no_delete = rule.stops_delete(Purpose.USER, caller.level, admin=caller.admin)
        no_push = rule.stops_push(caller.level, admin=caller.admin)
        if not (no_delete or no_push):
            continue
        ref = rule.id if rule.id is not None else f"'{rule.pattern}'"
        if rule.immutable:
            why, fix = "immutable: nobody may delete them", (
                "remove the rule in GitLab for the move and add it back afterwards")
        else:
            needs = [f"delete needs {rule.min_delete}" if no_delete else "",
                     f"pushing them back under {target} needs {rule.min_push}" if no_push else ""]
            why = ", ".join(n for n in needs if n)
            levels = " ".join(opt for opt, stop in (("--delete maintainer", no_delete), ("--push maintainer", no_push))
                              if stop)
            fix = (f"run the move as someone with that role, or relax the rule for the move "
                   f"(`glcr protection update {project} {ref} {levels}`) and restore it afterwards")
        out.append(("error", f"{len(hits)} tag(s) match tag protection rule `{rule.pattern}` ({why}), e.g. "
                             f"{hits[0]}: {fix}"))
    if holding:
        who = holding_caller or Caller()
        names = sorted({tag for _, tag in tags})
        for rule in map(_as_rule, holding_rules or ()):
            hits = [n for n in names if rule.matches(n)]
            if not hits:
                continue
            if rule.immutable:  # GitLab lets new matching tags in; only overwriting or deleting them is refused
                out.append(("error", f"the holding project {holding} has immutable tag protection rule "
                                     f"`{rule.pattern}` matching {len(hits)} tag(s), e.g. {hits[0]}: the copies "
                                     f"could not be removed afterwards; choose another holding project"))
            elif rule.stops_push(who.level, admin=who.admin):
                out.append(("error", f"the holding project {holding} has tag protection rule `{rule.pattern}` "
                                     f"(push needs {rule.min_push}) matching {len(hits)} tag(s), "
                                     f"e.g. {hits[0]}: the copies could not be made; choose another holding project "
                                     f"or change the rule there"))
            elif rule.stops_delete(Purpose.USER, who.level, admin=who.admin):
                out.append(("warning", f"the holding project {holding} has tag protection rule `{rule.pattern}` "
                                       f"(delete needs {rule.min_delete}): the copies there cannot be removed "
                                       f"afterwards; remove them by hand, or choose another holding project"))
    return out
