"""Who may do what: GitLab's policies reduced to the abilities the sandbox's endpoints check.

Sources: app/policies/project_policy.rb (admin_container_image and rename_project at
Maintainer, change_namespace at Owner, destroy_container_image at Developer),
lib/gitlab/auth.rb (token scopes -> authentication abilities) and
Auth::ContainerRegistryAuthenticationService#can_access? (registry actions).
"""

from __future__ import annotations

from dataclasses import replace

from glcr_sandbox.state import DEVELOPER, GUEST, MAINTAINER, OWNER, REPORTER, Namespace, Project, Token, User, World

# Ability -> minimum project access level.
PROJECT_ABILITIES = {
    "read_project": GUEST,
    "read_container_image": REPORTER,
    "create_container_image": DEVELOPER,
    "destroy_container_image": DEVELOPER,
    "destroy_container_image_tag": DEVELOPER,
    "admin_container_image": MAINTAINER,
    "admin_project": MAINTAINER,
    "rename_project": MAINTAINER,
    "change_namespace": OWNER,
}
CONTAINER_ABILITIES = {a for a in PROJECT_ABILITIES if "container_image" in a}

GROUP_ABILITIES = {
    "read_group": GUEST,
    "read_container_image": REPORTER,
    "transfer_projects": MAINTAINER,  # create projects in the group = Maintainer (default setting)
}

# Gitlab::Auth: which registry abilities a token scope brings (fact sheet §5.2).
SCOPE_REGISTRY_ABILITIES = {
    "api": {"read_container_image", "create_container_image", "admin_container_image"},
    "read_api": {"read_container_image"},
    "read_registry": {"read_container_image"},
    "write_registry": {"create_container_image"},
}
JOB_REGISTRY_ABILITIES = {"build_read_container_image", "build_create_container_image", "build_destroy_container_image"}
ANONYMOUS_REGISTRY_ABILITIES = {"read_container_image"}  # read_only_authentication_abilities


def acting_user(world: World, user: User, token: Token | None) -> User:
    """The user as GitLab's policies see them: with the application setting `admin_mode` on, an
    administrator's personal access token acts as an administrator only with the `admin_mode`
    scope (Gitlab::Auth::CurrentUserMode; `can_admin_all_resources?` is false otherwise), so
    every admin check, the registry token's patterns included, treats them as their
    memberships. The stored record keeps `admin` (GET /user's UserWithAdmin shows `admin?`)."""
    if not user.admin or not world.settings.get("admin_mode"):
        return user
    if token is not None and token.kind == "personal" and "admin_mode" in token.scopes:
        return user
    return replace(user, admin=False)


def registry_enabled(project: Project) -> bool:
    return project.container_registry_access_level != "disabled"


def can(world: World, user: User | None, ability: str, project: Project) -> bool:
    # `container_registry_disabled` *prevents* the container abilities, even for admins.
    if ability in CONTAINER_ABILITIES and not registry_enabled(project):
        return False
    if user is None:
        return False  # every sandbox project is private
    if user.admin:
        return True
    return world.project_access(user, project) >= PROJECT_ABILITIES[ability]


def can_group(world: World, user: User | None, ability: str, group: Namespace) -> bool:
    if user is None:
        return False
    if user.admin:
        return True
    return world.group_access(user, group) >= GROUP_ABILITIES[ability]


def registry_abilities(token: Token | None) -> set[str]:
    """Authentication abilities of the credentials used at /jwt/auth."""
    if token is None:
        return set(ANONYMOUS_REGISTRY_ABILITIES)
    if token.kind == "job":
        return set(JOB_REGISTRY_ABILITIES)
    abilities: set[str] = set()
    for scope in token.scopes:
        abilities |= SCOPE_REGISTRY_ABILITIES.get(scope, set())
    return abilities


def registry_action_allowed(
    world: World, user: User | None, token: Token | None, project: Project, action: str
) -> bool:
    """ContainerRegistryAuthenticationService#can_access? for one requested action."""
    if not registry_enabled(project):
        return False
    abilities = registry_abilities(token)
    own_project = token is not None and token.kind == "job" and token.project_id == project.id
    if action == "pull":
        readable = can(world, user, "read_container_image", project)
        build = "build_read_container_image" in abilities and (own_project or readable)
        return build or ("read_container_image" in abilities and readable)
    if action == "push":
        build = "build_create_container_image" in abilities and own_project
        return build or ("create_container_image" in abilities and can(world, user, "create_container_image", project))
    if action == "delete":
        build = "build_destroy_container_image" in abilities and own_project
        return build or ("admin_container_image" in abilities and can(world, user, "admin_container_image", project))
    if action == "*":
        return "admin_container_image" in abilities and can(world, user, "admin_container_image", project)
    return False


def api_scope_allows(token: Token, method: str) -> bool:
    """`allow_access_with_scope :api` and `:read_api` (GET/HEAD only) on API::API."""
    if "api" in token.scopes:
        return True
    return "read_api" in token.scopes and method in ("GET", "HEAD")
