"""The caller's role as GitLab computes it for tag protection (gitlab-facts-2.md N13).

GitLab asks `user.can_admin_all_resources?` and `project.team.max_member_access(user.id)`
(app/services/container_registry/protection/concerns/tag_rule.rb, the auth service's
`tag_deny_access_patterns`):

* `can_admin_all_resources?` is Admin Mode aware: with the application setting `admin_mode` on, an
  administrator's personal access token acts as an administrator only with the `admin_mode` scope.
  `/user.is_admin` says neither. glcr asks the token's scopes, and otherwise an admin-only route
  (GET /application/settings): 200 = acting as an administrator, 403 = not (Admin Mode on, no scope).
* `max_member_access` counts every membership, invited (shared) groups included;
  GET /projects/:id `permissions` shows only the direct and the namespace's membership. GET
  /projects/:id/members/all/:user_id includes invited groups' members: the higher of the two counts.
"""

from __future__ import annotations

from typing import Any

from glcr.errors import GlcrError


async def acting_admin(api: Any, user: Any) -> bool:
    """Whether an administrator's token acts as one (Admin Mode)."""
    if not (isinstance(user, dict) and user.get("is_admin")):
        return False
    try:
        token = await api.get_json("personal_access_tokens/self", "reading the token's scopes")
        if "admin_mode" in (token.get("scopes") or []):
            return True
    except GlcrError:
        pass
    try:
        await api.get_json("application/settings", "checking Admin Mode")
        return True
    except GlcrError:
        return False  # 403: Admin Mode is on and this token has no admin_mode scope


async def member_level(api: Any, project_id: int | str, user: Any) -> int | None:
    """The caller's access level through any membership, invited groups included (None: unknown)."""
    user_id = user.get("id") if isinstance(user, dict) else None
    if user_id is None:
        return None
    from glcr.gitlab.convert import encode_id

    try:
        member = await api.get_json(f"projects/{encode_id(project_id)}/members/all/{int(user_id)}",
                                    "reading the caller's membership")
    except GlcrError:
        return None
    level = member.get("access_level") if isinstance(member, dict) else None
    return int(level) if isinstance(level, int) else None
