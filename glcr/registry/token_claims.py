"""PURE: the tag protection patterns GitLab writes into a registry token, for its caller.

GitLab's token service (app/services/auth/container_registry_authentication_service.rb,
`access_metadata` / `tag_deny_access_patterns`; EE: ee/app/services/ee/auth/
container_registry_authentication_service.rb, `tag_immutable_patterns`) adds to each granted
repository scope's `meta`:

* `tag_deny_access_patterns`: {"push": [...], "delete": [...]}, one key per *granted* push or
  delete action (`*` counts as both; pull never), listing the patterns of the rules that refuse
  that action to this caller (`push_restricted?` / `delete_restricted?`: the rule's minimum
  level above the caller's `max_member_access_for_project`). An administrator in Admin Mode
  (`can_admin_all_resources?`) gets empty lists. The key is absent when the project has no rule,
  the feature flag `container_registry_protected_tags` is off (GitLab 17.9–17.10), or GitLab is
  older (before 17.9).
* `tag_immutable_patterns` (Ultimate only, `licensed_feature_available?(
  :container_registry_immutable_tag_rules)`; with push, delete or `*`): the immutable rules'
  patterns, for everyone. Absent without the licence or without immutable rules.

These are exactly what the registry will enforce for this token (newer registries answer 401
PROTECTED_TAG / IMMUTABLE_TAG), whatever role the caller has: a Developer, who may read no rules
API, still gets them. Two consequences glcr relies on:

* A caller without `delete` on the registry (a Developer) deletes through GitLab's tag API, whose
  filter refuses the rules with `minimum_access_level_for_delete` above their level. Every rule's
  levels are Maintainer or above, so below Maintainer the push patterns ARE the delete patterns
  (every mutable rule is in both); glcr uses the push list as the delete list in that case.
* Below Maintainer the token lists every mutable rule: the project's full set of patterns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glcr.policy.protection import Protection, TagRule

MAINTAINER = 40
SOURCE = "your registry token"
SOURCE_IMMUTABLE_ONLY = "your registry token (immutable rules only)"


@dataclass(frozen=True)
class TokenPatterns:
    """What one token's scope for a repository says: the actions granted, the denied patterns
    per action (None: GitLab wrote none: no rules, or an older GitLab) and the immutable ones."""

    actions: frozenset[str]
    deny: Mapping[str, tuple[str, ...]] | None
    immutable: tuple[str, ...] = ()

    @property
    def told(self) -> bool:
        """Whether the token carries protection metadata at all."""
        return self.deny is not None or bool(self.immutable)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value if isinstance(v, str) and v) if isinstance(value, list) else ()


def token_patterns(claims: Mapping[str, Any], path: str) -> TokenPatterns | None:
    """The patterns for repository `path` in a token's claims; None when no scope names it."""
    for entry in claims.get("access") or []:
        if not isinstance(entry, Mapping) or entry.get("type") != "repository":
            continue
        if str(entry.get("name", "")).lower() != path.lower():
            continue
        actions = frozenset(a for a in entry.get("actions") or [] if isinstance(a, str))
        if "*" in actions:
            actions = actions | {"pull", "push", "delete"}
        meta = entry.get("meta") if isinstance(entry.get("meta"), Mapping) else {}
        raw = meta.get("tag_deny_access_patterns")
        deny = {k: _strings(v) for k, v in raw.items() if isinstance(k, str)} if isinstance(raw, Mapping) else None
        return TokenPatterns(actions, deny, _strings(meta.get("tag_immutable_patterns")))
    return None


def delete_patterns(found: TokenPatterns, level: int | None) -> tuple[str, ...] | None:
    """The mutable patterns that stop this caller's deletes; None when the token cannot tell.

    With `delete` granted, the token's own delete list. Without it, the caller deletes through
    GitLab's API: below Maintainer (`level`) the push list is the same set (see the module doc);
    at Maintainer or above, or an unknown level, the push list may differ, so nothing is said.
    """
    if found.deny is None:
        return None
    if "delete" in found.deny:
        return found.deny["delete"]
    if "push" in found.deny and level is not None and level < MAINTAINER:
        return found.deny["push"]
    return None


def protection_from_token(found: TokenPatterns | None, level: int | None) -> Protection | None:
    """A Protection holding the token's rules for this caller, or None when the token tells nothing
    about deletes. The deny patterns become rules GitLab refuses to this caller (`denied`), the
    immutable patterns immutable rules."""
    if found is None or not found.told:
        return None
    deletes = delete_patterns(found, level)
    if deletes is None and not found.immutable:
        return None  # only a push list, for a caller whose delete rules it does not show
    pushes = set(found.deny.get("push", ())) if found.deny else set()
    rules: list[TagRule] = []
    for pattern in dict.fromkeys(deletes or ()):
        rules.append(TagRule(pattern, denied=frozenset({"delete"} | ({"push"} if pattern in pushes else set()))))
    for pattern in dict.fromkeys(found.immutable):
        rules.append(TagRule(pattern))  # both levels None: immutable
    return Protection(tuple(rules), True, "", source=SOURCE if deletes is not None else SOURCE_IMMUTABLE_ONLY)
