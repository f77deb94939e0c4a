"""python-gitlab for GitLab's single REST resources: one project, the application settings.

Why python-gitlab here and httpx elsewhere: these are one or two sequential calls on
resources python-gitlab models completely (`Project.save()`, `ApplicationSettings`), so there is
nothing to gain from concurrency, and its objects track what changed. Its exceptions are
turned into glcr's error kinds at this boundary, one line each, never with a token in them.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from glcr.credentials import Credentials, TokenKind
from glcr.errors import GlcrError, NetworkError, for_status
from glcr.transport.redact import redact_text

T = TypeVar("T")

# Long enough for a busy instance's PUT /application/settings (it rewrites the settings cache),
# short enough that a dead host is reported in half a minute.
TIMEOUT_SECONDS = 30.0


def connect(creds: Credentials, *, timeout: float = TIMEOUT_SECONDS, ssl_verify: bool | str = True) -> Any:
    """A `gitlab.Gitlab` for these credentials (the token goes to the matching keyword)."""
    import gitlab

    from glcr import __version__

    token: dict[str, str] = {}
    if creds.token is not None:
        keyword = {TokenKind.PRIVATE: "private_token", TokenKind.JOB: "job_token",
                   TokenKind.OAUTH: "oauth_token"}[creds.kind]
        token[keyword] = creds.token.reveal()
    # retry_transient_errors: python-gitlab then retries 429 (honouring Retry-After) and
    # 500/502/503/504 itself, as glcr's own transport does for httpx.
    return gitlab.Gitlab(creds.url, timeout=timeout, ssl_verify=ssl_verify, retry_transient_errors=True,
                         user_agent=f"glcr/{__version__}", **token)


def translate(exc: BaseException, doing: str, secrets: tuple[str, ...] = ()) -> GlcrError:
    """A python-gitlab or requests exception as the glcr error kind a user can act on."""
    import requests
    from gitlab import exceptions as gle

    if isinstance(exc, gle.GitlabError):
        detail = _message(exc.error_message)
        if exc.response_code:
            error = for_status(int(exc.response_code), doing, redact_text(detail, secrets))
            if exc.response_code == 403 and "settings" in doing:
                error.hint = "instance settings need an administrator's token with the api scope (and Admin Mode)"
            return error
        return GlcrError(redact_text(f"{doing}: {detail}", secrets))
    if isinstance(exc, requests.exceptions.RequestException):
        return NetworkError(f"{doing}: cannot reach GitLab ({type(exc).__name__})",
                            hint="check --url / GITLAB_URL and the network")
    return GlcrError(redact_text(f"{doing}: {type(exc).__name__}", secrets))


def _message(value: Any) -> str:
    """GitLab's error body in one short line: text, or {"field": ["problem"]} flattened."""
    if isinstance(value, dict):
        parts = []
        for key, problems in value.items():
            text = ", ".join(map(str, problems)) if isinstance(problems, list) else str(problems)
            parts.append(f"{key} {text}")
        value = "; ".join(parts)
    text = " ".join(str(value or "").split())
    return text[:300]


def call(creds: Credentials, doing: str, fn: Callable[[], T]) -> T:
    """Run one python-gitlab call, translating whatever it raises."""
    try:
        return fn()
    except GlcrError:
        raise
    except Exception as exc:  # python-gitlab and requests have no common base
        raise translate(exc, doing, creds.secrets()) from None


# --------------------------------------------------------------------------- project


def get_project(gl: Any, creds: Credentials, project: str) -> Any:
    # python-gitlab URL-encodes a path itself; a numeric id stays a number.
    ident: int | str = int(project) if str(project).isdigit() else str(project).strip("/")
    return call(creds, f"reading project {project}", lambda: gl.projects.get(ident))


def set_registry_access(gl: Any, creds: Credentials, project: Any, level: str) -> dict[str, Any]:
    """PUT /projects/:id with container_registry_access_level; returns GitLab's answer."""
    path = project.attributes.get("path_with_namespace", project.get_id())
    return call(creds, f"changing the container registry of {path}",
                lambda: gl.projects.update(project.get_id(), {"container_registry_access_level": level}))


def count_repositories(gl: Any, creds: Credentials, project: Any) -> int | None:
    """How many image repositories the project holds (None when GitLab does not say)."""
    try:
        return len(project.repositories.list(get_all=True))
    except Exception:  # only shown in the confirmation question
        return None


# --------------------------------------------------------------------------- instance


def get_settings(gl: Any, creds: Credentials) -> dict[str, Any]:
    settings = call(creds, "reading the application settings", gl.settings.get)
    return dict(settings.attributes)


def update_settings(gl: Any, creds: Credentials, changes: dict[str, Any]) -> dict[str, Any]:
    """PUT /application/settings with only `changes`; returns the settings GitLab answers with."""
    answer = call(creds, "changing the application settings", lambda: gl.settings.update(new_data=dict(changes)))
    return dict(answer) if isinstance(answer, dict) else {}
