"""Who is calling the REST API (API::APIGuard and Gitlab::Auth::AuthFinders, reduced).

Tokens come from `PRIVATE-TOKEN`, `Authorization: Bearer` or (job tokens) `JOB-TOKEN`.
Unknown token: 401 {"message":"401 Unauthorized"}. Expired or revoked: the OAuth2 error
bodies of API::APIGuard (401 invalid_token); a job token whose job is over: 401 Unauthorized.
A token without `api` (or `read_api` for GET): 403 insufficient_scope.

A job token on a route GitLab does not mark `job_token_allowed` is refused with 401 here.
Read in lib/gitlab/auth/auth_finders.rb (not run): GitLab skips the JOB-TOKEN header on such
routes instead, so the request runs as anonymous: 401 where the route calls authenticate!, but
a public view where it does not (404 for a private project on GET /projects/:id, only public
projects and groups on GET /projects and GET /groups). A Bearer job token there is a 401.
"""

from __future__ import annotations

from dataclasses import dataclass

from glcr_sandbox.context import SandboxContext
from glcr_sandbox.permissions import acting_user, api_scope_allows
from glcr_sandbox.state import Project, Token, User
from glcr_sandbox.web import ApiError, Request, unauthorized

EXPIRED = "Token is expired. You can either do re-authorization or token refresh."
REVOKED = "Token was revoked. You have to re-authorize from the user."
INSUFFICIENT = "The request requires higher privileges than provided by the access token."


def _oauth_error(status: int, error: str, description: str, **extra: str) -> ApiError:
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = (
            f'Bearer realm="Protected by OAuth 2.0", error="{error}", error_description="{description}"'
        )
    return ApiError(status, {"error": error, "error_description": description, **extra}, headers)


@dataclass(frozen=True)
class Caller:
    user: User | None
    token: Token | None

    @property
    def job_project_id(self) -> int | None:
        return self.token.project_id if self.token and self.token.kind == "job" else None

    def require_user(self) -> User:
        """authenticate!: anonymous or a job token on a route that takes none -> 401."""
        if self.user is None or self.job_project_id is not None:
            raise unauthorized()
        return self.user

    def check_job_scope(self, project: Project) -> None:
        """job_token_scope: :project: a job token reaches only its own project's registry."""
        if self.job_project_id is not None and self.job_project_id != project.id:
            raise unauthorized()


def authenticate(ctx: SandboxContext, req: Request, *, job_token_allowed: bool = False) -> Caller:
    job_value = req.header("job-token") or (dict(req.query).get("job_token") if job_token_allowed else None)
    value = req.header("private-token") or dict(req.query).get("private_token")
    bearer = req.header("authorization") or ""
    if not value and bearer.lower().startswith("bearer "):
        value = bearer[7:].strip()
    if not value and job_value:
        if not job_token_allowed:
            raise unauthorized()
        value = job_value
    if not value:
        return Caller(None, None)
    token = ctx.world.find_token(value)
    if token is None or (token.kind == "job") != (value == job_value):
        raise unauthorized()  # a job token only as JOB-TOKEN, a personal token never there
    if token.kind == "job" and (token.revoked or token.expired()):
        # find_valid_running_job_by_token!: no running job -> UnauthorizedError -> 401 Unauthorized
        raise unauthorized()
    if token.revoked:
        raise _oauth_error(401, "invalid_token", REVOKED)
    if token.expired():
        raise _oauth_error(401, "invalid_token", EXPIRED)
    user = ctx.world.users.get(token.user_id)
    if user is None:
        raise unauthorized()
    if token.kind == "personal" and not api_scope_allows(token, req.method):
        scopes = "api read_api" if req.method in ("GET", "HEAD") else "api"
        raise _oauth_error(403, "insufficient_scope", INSUFFICIENT, scope=scopes)
    return Caller(acting_user(ctx.world, user, token), token)
