"""GitLab's single REST resources through python-gitlab (projects, policy, transfer, registry
access, application settings, tag protection rules). The one module that talks to python-gitlab.

python-gitlab here, not httpx: these are one or two sequential calls on resources python-gitlab
models completely (`projects`, `settings`), so there is nothing to gain from concurrency. The hot
paths (lists and per-tag calls) go through glcr.gitlab.api instead. One `GitLabRest` per Session
(`session.rest`), built from the run's settings: its requests session verifies against the
run's CA bundle and retries by glcr's rules with glcr's --debug lines
(glcr.transport.requests_policy); python-gitlab's own retries are off. Every call runs in a
worker thread (`await rest.project(...)`), so no event loop waits on a socket. Its exceptions
become glcr's error kinds in `translate`, one line each, never with a token in them.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Callable, Mapping, TypeVar

from glcr.credentials import Credentials, TokenKind
from glcr.errors import GlcrError, NetworkError, NotFoundError, RefusedError, for_status
from glcr.gitlab.convert import encode_id
from glcr.transport.factory import HttpOptions
from glcr.transport.redact import redact_text
from glcr.transport.retry import CA_HINT, certificate_problem

T = TypeVar("T")

# Long enough for a busy instance's PUT /application/settings (it rewrites the settings cache)
# or a project transfer, short enough that a dead host is reported within a minute.
TIMEOUT_SECONDS = 60
# Grape's answer to a route this GitLab does not have ({"error": "404 Not Found"}); a missing
# project or rule says what is missing ({"message": "404 Project Not Found"}).
UNKNOWN_ROUTE = "404 Not Found"


class GitLabRest:
    def __init__(self, creds: Credentials, http: HttpOptions | None = None) -> None:
        self._creds = creds
        self._http = http or HttpOptions(secrets=creds.secrets())
        self._client: Any = None

    @property
    def gl(self) -> Any:
        """A `gitlab.Gitlab` for these credentials (the token goes to the matching keyword),
        sending through glcr's requests session."""
        if self._client is None:
            import gitlab

            from glcr import __version__
            from glcr.transport.requests_policy import build_requests_session, ca_path

            class Gitlab(gitlab.Gitlab):
                def http_request(self, *args: Any, **kwargs: Any) -> Any:
                    # glcr's adapter already retried by glcr's rules; python-gitlab would retry
                    # a 429 ten more times by its own.
                    kwargs.update(obey_rate_limit=False, retry_transient_errors=False, max_retries=0)
                    return super().http_request(*args, **kwargs)

            secret = self._creds.token.reveal() if self._creds.token is not None else None
            kind = self._creds.kind
            # ssl_verify too: python-gitlab passes it with every request, over the session's own.
            self._client = Gitlab(self._creds.url, timeout=TIMEOUT_SECONDS, ssl_verify=ca_path(self._http),
                                  session=build_requests_session(self._http), retry_transient_errors=False,
                                  user_agent=f"glcr/{__version__}",
                                  private_token=secret if kind is TokenKind.PRIVATE else None,
                                  job_token=secret if kind is TokenKind.JOB else None,
                                  oauth_token=secret if kind is TokenKind.OAUTH else None)
        return self._client

    async def call(self, doing: str, fn: Callable[[], T], *, hints: Mapping[int | str, str] | None = None) -> T:
        """Run one python-gitlab call in a worker thread, translating whatever it raises
        (`hints`: a hint by status, or by UNKNOWN_ROUTE, see `translate`)."""
        return await asyncio.to_thread(self.call_blocking, doing, fn, hints=hints)

    def call_blocking(self, doing: str, fn: Callable[[], T], *, hints: Mapping[int | str, str] | None = None) -> T:
        """`call` in the calling thread: only for code that runs off the event loop."""
        try:
            return fn()
        except GlcrError:
            raise
        except Exception as exc:  # python-gitlab and requests have no common base
            raise translate(exc, doing, self._creds.secrets(), hints=hints) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.session.close()

    # --- projects ---------------------------------------------------------------------------

    async def project(self, id_or_path: int | str) -> dict[str, Any]:
        return (await self.project_object(id_or_path)).asdict()

    async def project_object(self, id_or_path: int | str) -> Any:
        # python-gitlab URL-encodes a path itself; a numeric id stays a number.
        ident: int | str = int(id_or_path) if str(id_or_path).isdigit() else str(id_or_path).strip("/")
        return await self.call(f"reading project {id_or_path}", lambda: self.gl.projects.get(ident))

    async def update_project(self, id_or_path: int | str, attributes: dict[str, Any]) -> dict[str, Any]:
        return await self.call(f"updating project {id_or_path}",
                               lambda: self.gl.http_put(f"/projects/{encode_id(id_or_path)}", post_data=attributes))

    async def transfer_project(self, id_or_path: int | str, namespace: int | str) -> dict[str, Any]:
        return await self.call(f"transferring project {id_or_path} to {namespace}",
                               lambda: self.gl.http_put(f"/projects/{encode_id(id_or_path)}/transfer",
                                                        post_data={"namespace": namespace}))

    async def set_registry_access(self, project: Any, level: str) -> dict[str, Any]:
        """PUT /projects/:id with container_registry_access_level; returns GitLab's answer."""
        path = project.attributes.get("path_with_namespace", project.get_id())
        return await self.call(f"changing the container registry of {path}",
                               lambda: self.gl.projects.update(project.get_id(),
                                                               {"container_registry_access_level": level}))

    async def count_repositories(self, project: Any) -> int | None:
        """How many image repositories the project holds (None when GitLab does not say)."""
        try:
            return await self.call("counting the image repositories",
                                   lambda: len(project.repositories.list(get_all=True)))
        except GlcrError:  # only shown in a confirmation question
            return None

    async def bulk_delete_tags(self, project_id: int, repository_id: int, params: dict[str, Any]) -> None:
        """GitLab's asynchronous bulk delete (202). Values go in the query string, as python-gitlab
        sends them; it URL-encodes `+`, which the docs warn arrives as a space otherwise."""
        await self.call(f"scheduling the bulk tag delete of repository {repository_id}",
                        lambda: self.gl.http_delete(f"/projects/{project_id}/registry/repositories/{repository_id}/tags",
                                                    query_data={k: v for k, v in params.items() if v is not None}))

    # --- any other route (tag protection rules) ----------------------------------------------

    async def request(self, method: str, path: str, doing: str, *, body: dict[str, Any] | None = None,
                      hints: Mapping[int | str, str] | None = None) -> Any:
        """One `method` call on `path` (below /api/v4), GitLab's parsed answer."""
        send = {"get": lambda: self.gl.http_get(path), "post": lambda: self.gl.http_post(path, post_data=body),
                "patch": lambda: self.gl.http_patch(path, post_data=body),
                "delete": lambda: self.gl.http_delete(path)}[method]
        return await self.call(doing, send, hints=hints)

    # --- instance ---------------------------------------------------------------------------

    async def settings(self) -> dict[str, Any]:
        return dict((await self.call("reading the application settings", self.gl.settings.get)).attributes)

    async def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """PUT /application/settings with only `changes`; returns the settings GitLab answers with."""
        answer = await self.call("changing the application settings",
                                 lambda: self.gl.settings.update(new_data=dict(changes)))
        return dict(answer) if isinstance(answer, dict) else {}


def translate(exc: BaseException, doing: str, secrets: tuple[str, ...] = (), *,
              hints: Mapping[int | str, str] | None = None) -> GlcrError:
    """A python-gitlab or requests exception as the glcr error kind a user can act on: the kind
    by status from glcr.errors.for_status (the one status table, shared with the httpx path),
    GitLab's message in one line. `hints` replace the general hint: by status, or for
    UNKNOWN_ROUTE (Grape's 404 for a route this GitLab does not have)."""
    import requests
    from gitlab import exceptions as gle

    hints = hints or {}
    if isinstance(exc, gle.GitlabParsingError):  # an HTML page (sign-in, proxy) answered with 200
        from glcr.transport.pagination import NotJsonError

        return NotJsonError(f"{doing}: GitLab's answer is not JSON",
                            hint="check that --url / GITLAB_URL is GitLab's base URL (not a sign-in page or a proxy)")
    if isinstance(exc, gle.GitlabError):
        detail = redact_text(_message(exc.error_message), secrets)
        code = int(exc.response_code) if exc.response_code else None
        if code == 404 and detail == UNKNOWN_ROUTE and UNKNOWN_ROUTE in hints:
            return NotFoundError(f"{doing}: this GitLab has no such API", hint=hints[UNKNOWN_ROUTE])
        if code in (400, 422):
            error: GlcrError = RefusedError(f"{doing}: GitLab refused: {detail}")
        elif code:
            error = for_status(code, doing, detail)
            if code == 403 and "settings" in doing:
                error.hint = "instance settings need an administrator's token with the api scope (and Admin Mode)"
        else:
            error = GlcrError(f"{doing}: {detail}")
        if code is not None and code in hints:
            error.hint = hints[code]
        return error
    problem = certificate_problem(exc) if isinstance(exc, requests.exceptions.SSLError) else None
    if problem is not None:  # as glcr.transport.retry says it for httpx's clients
        return NetworkError(f"{doing}: GitLab's TLS certificate cannot be verified: {problem}", hint=CA_HINT)
    if isinstance(exc, requests.exceptions.ProxyError):
        # urllib3 says what the proxy answered ("Tunnel connection failed: 407 ..."); the proxy
        # URL, which may hold a password, is not in it.
        answer = re.search(r"Tunnel connection failed: [0-9]{3}[^'\")]*", str(exc))
        return NetworkError(f"{doing}: cannot reach GitLab through the proxy"
                            + (f" ({answer[0]})" if answer else " (ProxyError)"),
                            hint="check HTTPS_PROXY / NO_PROXY and the proxy's credentials")
    if isinstance(exc, requests.exceptions.RequestException):
        return NetworkError(f"{doing}: cannot reach GitLab ({type(exc).__name__})",
                            hint="check --url / GITLAB_URL and the network")
    return GlcrError(redact_text(f"{doing}: {type(exc).__name__}", secrets))


def _message(value: Any) -> str:
    """GitLab's error body in one short line: text; a list of problems; {"error": [...]} (the
    protection rules' PATCH); {"field": ["problem"]} flattened."""
    while isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("message", "error"):
        value = next(iter(value.values()))
    if isinstance(value, dict):
        parts = []
        for key, problems in value.items():
            text = ", ".join(map(str, problems)) if isinstance(problems, list) else str(problems)
            parts.append(f"{key} {text}")
        value = "; ".join(parts)
    elif isinstance(value, list):
        value = "; ".join(map(str, value))
    text = " ".join(str(value or "").split())
    return text[:300]
