"""GET /jwt/auth: GitLab's registry token endpoint (JwtController +
Auth::ContainerRegistryAuthenticationService), read in GitLab's source.

Credentials are checked first (401 on bad ones, whatever the service); an unknown service is a
bare 404; actions the caller may not have are silently dropped, and a scope with no action left
is dropped whole. Pushing creates the repository record (ensure_container_repository!).
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid

from glcr_sandbox.api_protection import token_metadata
from glcr_sandbox.context import SandboxContext
from glcr_sandbox.keys import AUDIENCE
from glcr_sandbox.permissions import acting_user, registry_abilities, registry_action_allowed
from glcr_sandbox.state import Token, User, valid_repository_path
from glcr_sandbox.web import Request, Response, json_response

CI_JOB_USER = "gitlab-ci-token"
HELP_ANCHOR = "error-http-basic-access-denied-if-a-password-was-provided-for-git-authentication-"
REGISTRY_LOGIN_ABILITIES = {
    "read_container_image",
    "create_container_image",
    "admin_container_image",
    "build_read_container_image",
    "build_create_container_image",
    "build_destroy_container_image",
}


class _Denied(Exception):
    pass


def _access_denied(req: Request) -> Response:
    help_url = f"{req.base_url}/help/user/profile/account/two_factor_authentication_troubleshooting.md#{HELP_ANCHOR}"
    message = (
        "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was "
        "incorrect or you're required to use a token instead of a password. If a token was provided, it was "
        f"either incorrect, expired, or improperly scoped. See {help_url}"
    )
    return json_response(401, {"errors": [{"code": "UNAUTHORIZED", "message": message}]})


def _denied() -> Response:
    return json_response(403, {"errors": [{"code": "DENIED", "message": "access forbidden"}]})


def _basic_credentials(req: Request) -> tuple[str, str] | None:
    header = req.header("authorization") or ""
    if not header.lower().startswith("basic "):
        return None
    try:
        login, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    return login, password


def _find_for_git_client(ctx: SandboxContext, login: str, password: str) -> tuple[User, Token]:
    """Gitlab::Auth.find_for_git_client, for the credentials the sandbox knows: job and personal tokens."""
    token = ctx.world.find_token(password) if password else None
    if token is None or token.revoked or token.expired():
        raise _Denied()
    if (login == CI_JOB_USER) != (token.kind == "job"):
        raise _Denied()  # a job token only with gitlab-ci-token, a personal token with any other login
    user = ctx.world.users.get(token.user_id)
    if user is None:
        raise _Denied()
    return acting_user(ctx.world, user, token), token


def jwt_auth(ctx: SandboxContext, req: Request) -> Response:
    user: User | None = None
    token: Token | None = None
    credentials = _basic_credentials(req)
    if credentials is not None:
        try:
            user, token = _find_for_git_client(ctx, *credentials)
        except _Denied:
            return _access_denied(req)

    if dict(req.query).get("service") != AUDIENCE:
        return Response(404)  # head :not_found

    abilities = registry_abilities(token)
    if not abilities & REGISTRY_LOGIN_ABILITIES:
        return _denied()

    scopes = [part for value in req.query_all("scope") for part in value.split()]
    accesses = [a for a in (_process_scope(ctx, user, token, s) for s in scopes) if a]
    job_project = token.project_id if token and token.kind == "job" else None
    if not (accesses or user or job_project):
        return _denied()

    delay_minutes = int(ctx.world.settings["container_registry_token_expire_delay"])
    lifetime_s = ctx.knobs.registry_token_lifetime_s or delay_minutes * 60
    auth_type = "build" if job_project else ("personal_access_token" if token else "none")
    extra = {"auth_type": auth_type, "user": _user_info_token(ctx, user, auth_type)}
    subject = user.username if user else None
    encoded = ctx.key.registry_token(accesses, subject=subject, expire_seconds=lifetime_s, extra=extra)
    return json_response(200, {"token": encoded})


def _user_info_token(ctx: SandboxContext, user: User | None, auth_type: str) -> str:
    info = {"token_type": auth_type, "username": user.username, "user_id": user.id} if user else None
    now = int(time.time())
    return ctx.key.sign({"jti": str(uuid.uuid4()), "iat": now, "nbf": now - 5, "user_info": info})


def _process_scope(ctx: SandboxContext, user: User | None, token: Token | None, scope: str) -> dict | None:
    parts = scope.split(":", 2)  # Ruby: scope.split(':', 3)
    if len(parts) < 3:
        return None
    kind, name, actions_text = parts
    actions = [a for a in actions_text.split(",") if a]
    if kind == "registry":
        # process_registry_access: only admins, only registry:catalog:*
        admin = user is not None and user.admin and (token is None or token.kind != "job")
        if admin and name == "catalog" and actions == ["*"]:
            return {"type": kind, "name": name, "actions": ["*"]}
        return None
    if kind != "repository":
        return None
    path = name.lower()  # ContainerRegistry::Path downcases
    if not valid_repository_path(path):
        return None
    owner = ctx.world.project_for_path(path)
    if owner is None:
        return None
    project, image_name = owner
    allowed = [a for a in actions if registry_action_allowed(ctx.world, user, token, project, a)]
    if not allowed:
        return None
    if "push" in allowed and ctx.world.find_repository_by_path(path) is None:
        ctx.world.ensure_repository(project, image_name)  # ensure_container_repository!
    world = ctx.world
    root = world.namespace_ancestors(world.namespaces[project.namespace_id])[-1]
    meta = {
        "project_path": world.project_full_path(project).lower(),
        "project_id": project.id,
        "root_namespace_id": root.id,
    }
    meta.update(token_metadata(ctx, project, user, allowed))
    return {"type": kind, "name": path, "actions": allowed, "meta": meta}
