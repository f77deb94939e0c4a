"""GitLab's single REST resources through python-gitlab (projects, policy, transfer, registry
access, application settings). The one module that talks to python-gitlab.

python-gitlab here, not httpx: these are one or two sequential calls on resources python-gitlab
models completely (`projects`, `settings`), so there is nothing to gain from concurrency; its
retry of transient errors and 429s (`retry_transient_errors`, honouring Retry-After) covers
them. The hot paths (lists and per-tag calls) go through glcr.gitlab.api instead. Its
exceptions become glcr's error kinds here, one line each, never with a token in them.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from glcr.credentials import Credentials, TokenKind
from glcr.errors import GlcrError, NetworkError, RefusedError, for_status
from glcr.gitlab.convert import encode_id
from glcr.transport.redact import redact_text

T = TypeVar("T")

# Long enough for a busy instance's PUT /application/settings (it rewrites the settings cache)
# or a project transfer, short enough that a dead host is reported within a minute.
TIMEOUT_SECONDS = 60


class GitLabRest:
    def __init__(self, creds: Credentials, *, ssl_verify: bool | str = True) -> None:
        self._creds = creds
        self._ssl_verify = ssl_verify
        self._client: Any = None

    @property
    def gl(self) -> Any:
        """A `gitlab.Gitlab` for these credentials (the token goes to the matching keyword)."""
        if self._client is None:
            import gitlab

            from glcr import __version__

            token: dict[str, str] = {}
            if self._creds.token is not None:
                keyword = {TokenKind.PRIVATE: "private_token", TokenKind.JOB: "job_token",
                           TokenKind.OAUTH: "oauth_token"}[self._creds.kind]
                token[keyword] = self._creds.token.reveal()
            self._client = gitlab.Gitlab(self._creds.url, timeout=TIMEOUT_SECONDS, ssl_verify=self._ssl_verify,
                                         retry_transient_errors=True, user_agent=f"glcr/{__version__}", **token)
        return self._client

    def call(self, doing: str, fn: Callable[[], T]) -> T:
        """Run one python-gitlab call, translating whatever it raises."""
        try:
            return fn()
        except GlcrError:
            raise
        except Exception as exc:  # python-gitlab and requests have no common base
            raise translate(exc, doing, self._creds.secrets()) from None

    # --- projects ---------------------------------------------------------------------------

    def project(self, id_or_path: int | str) -> dict[str, Any]:
        return self.project_object(id_or_path).asdict()

    def project_object(self, id_or_path: int | str) -> Any:
        # python-gitlab URL-encodes a path itself; a numeric id stays a number.
        ident: int | str = int(id_or_path) if str(id_or_path).isdigit() else str(id_or_path).strip("/")
        return self.call(f"reading project {id_or_path}", lambda: self.gl.projects.get(ident))

    def update_project(self, id_or_path: int | str, attributes: dict[str, Any]) -> dict[str, Any]:
        return self.call(f"updating project {id_or_path}",
                         lambda: self.gl.http_put(f"/projects/{encode_id(id_or_path)}", post_data=attributes))

    def transfer_project(self, id_or_path: int | str, namespace: int | str) -> dict[str, Any]:
        return self.call(f"transferring project {id_or_path} to {namespace}",
                         lambda: self.gl.http_put(f"/projects/{encode_id(id_or_path)}/transfer",
                                                  post_data={"namespace": namespace}))

    def set_registry_access(self, project: Any, level: str) -> dict[str, Any]:
        """PUT /projects/:id with container_registry_access_level; returns GitLab's answer."""
        path = project.attributes.get("path_with_namespace", project.get_id())
        return self.call(f"changing the container registry of {path}",
                         lambda: self.gl.projects.update(project.get_id(), {"container_registry_access_level": level}))

    @staticmethod
    def count_repositories(project: Any) -> int | None:
        """How many image repositories the project holds (None when GitLab does not say)."""
        try:
            return len(project.repositories.list(get_all=True))
        except Exception:  # only shown in a confirmation question
            return None

    def bulk_delete_tags(self, project_id: int, repository_id: int, params: dict[str, Any]) -> None:
        """GitLab's asynchronous bulk delete (202). Values go in the query string, as python-gitlab
        sends them; it URL-encodes `+`, which the docs warn arrives as a space otherwise."""
        self.call(f"scheduling the bulk tag delete of repository {repository_id}",
                  lambda: self.gl.http_delete(f"/projects/{project_id}/registry/repositories/{repository_id}/tags",
                                              query_data={k: v for k, v in params.items() if v is not None}))

    # --- instance ---------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        return dict(self.call("reading the application settings", self.gl.settings.get).attributes)

    def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """PUT /application/settings with only `changes`; returns the settings GitLab answers with."""
        answer = self.call("changing the application settings",
                           lambda: self.gl.settings.update(new_data=dict(changes)))
        return dict(answer) if isinstance(answer, dict) else {}


def translate(exc: BaseException, doing: str, secrets: tuple[str, ...] = ()) -> GlcrError:
    """A python-gitlab or requests exception as the glcr error kind a user can act on."""
    import requests
    from gitlab import exceptions as gle

    if isinstance(exc, gle.GitlabParsingError):  # an HTML page (sign-in, proxy) answered with 200
        from glcr.transport.pagination import NotJsonError

        return NotJsonError(f"{doing}: GitLab's answer is not JSON",
                            hint="check that --url / GITLAB_URL is GitLab's base URL (not a sign-in page or a proxy)")
    if isinstance(exc, gle.GitlabError):
        detail = redact_text(_message(exc.error_message), secrets)
        code = int(exc.response_code) if exc.response_code else None
        if code == 400:
            return RefusedError(f"{doing}: GitLab refused: {detail}")
        if code:
            error = for_status(code, doing, detail)
            if code == 403 and "settings" in doing:
                error.hint = "instance settings need an administrator's token with the api scope (and Admin Mode)"
            return error
        return GlcrError(f"{doing}: {detail}")
    if isinstance(exc, requests.exceptions.RequestException):
        return NetworkError(f"{doing}: cannot reach GitLab ({type(exc).__name__})",
                            hint="check --url / GITLAB_URL and the network")
    return GlcrError(redact_text(f"{doing}: {type(exc).__name__}", secrets))


def _message(value: Any) -> str:
    """GitLab's error body in one short line: text, or {"field": ["problem"]} flattened."""
    if isinstance(value, dict):
        if "message" in value and len(value) == 1:
            value = value["message"]
        if isinstance(value, dict):
            parts = []
            for key, problems in value.items():
                text = ", ".join(map(str, problems)) if isinstance(problems, list) else str(problems)
                parts.append(f"{key} {text}")
            value = "; ".join(parts)
    text = " ".join(str(value or "").split())
    return text[:300]
