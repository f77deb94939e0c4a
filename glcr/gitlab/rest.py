"""GitLab's single REST resources through python-gitlab (projects, policy, transfer, settings).

python-gitlab here, not httpx: these are a handful of sequential calls on GitLab's resource
model, which python-gitlab maps and keeps up to date; its retry of transient errors and
429s (`retry_transient_errors`, `obey_rate_limit`) covers them. The hot paths (lists and
per-tag calls) go through glcr.gitlab.api instead.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from glcr.credentials import Credentials, TokenKind
from glcr.errors import GlcrError, NetworkError, RefusedError, for_status
from glcr.gitlab.convert import encode_id
from glcr.transport.redact import redact_text

TIMEOUT_SECONDS = 60


class GitLabRest:
    def __init__(self, creds: Credentials, *, ssl_verify: bool = True) -> None:
        self._creds = creds
        self._ssl_verify = ssl_verify
        self._client = None

    @property
    def gl(self):
        if self._client is None:
            import gitlab

            token = self._creds.token.reveal() if self._creds.token else None
            kind = self._creds.kind
            self._client = gitlab.Gitlab(
                self._creds.url,
                private_token=token if kind is TokenKind.PRIVATE else None,
                job_token=token if kind is TokenKind.JOB else None,
                oauth_token=token if kind is TokenKind.OAUTH else None,
                ssl_verify=self._ssl_verify, timeout=TIMEOUT_SECONDS, retry_transient_errors=True,
                user_agent=_user_agent(),
            )
        return self._client

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """python-gitlab's and requests' exceptions → glcr's kinds, one line, no secrets."""
        import gitlab.exceptions as gle
        import requests

        try:
            yield
        except gle.GitlabHttpError as exc:
            raise _translate(exc.response_code, doing, _message(exc.error_message), self._creds) from None
        except gle.GitlabError as exc:
            code = getattr(exc, "response_code", None)
            if code:
                raise _translate(code, doing, _message(exc.error_message), self._creds) from None
            raise GlcrError(f"{doing}: {redact_text(str(exc), self._creds.secrets())}") from None
        except requests.exceptions.RequestException as exc:
            raise NetworkError(f"{doing}: cannot reach GitLab ({type(exc).__name__})",
                               hint="check --url / GITLAB_URL and the network") from None

    def project(self, id_or_path: int | str) -> dict[str, Any]:
        with self.errors(f"reading project {id_or_path}"):
            return self.gl.projects.get(_plain_id(id_or_path)).asdict()

    def update_project(self, id_or_path: int | str, attributes: dict[str, Any]) -> dict[str, Any]:
        with self.errors(f"updating project {id_or_path}"):
            return self.gl.http_put(f"/projects/{encode_id(id_or_path)}", post_data=attributes)

    def transfer_project(self, id_or_path: int | str, namespace: int | str) -> dict[str, Any]:
        with self.errors(f"transferring project {id_or_path} to {namespace}"):
            return self.gl.http_put(f"/projects/{encode_id(id_or_path)}/transfer", post_data={"namespace": namespace})

    def bulk_delete_tags(self, project_id: int, repository_id: int, params: dict[str, Any]) -> None:
        """GitLab's asynchronous bulk delete (202). Values go in the query string, as python-gitlab
        sends them; httpx/requests URL-encode `+`, which the docs warn arrives as a space otherwise."""
        with self.errors(f"scheduling the bulk tag delete of repository {repository_id}"):
            self.gl.http_delete(f"/projects/{project_id}/registry/repositories/{repository_id}/tags",
                                query_data={k: v for k, v in params.items() if v is not None})


def _plain_id(id_or_path: int | str) -> int | str:
    text = str(id_or_path).strip().strip("/")
    return int(text) if text.isdigit() else text


def _message(error: Any) -> str:
    if isinstance(error, dict):
        for key in ("message", "error"):
            if key in error:
                return str(error[key])
    return str(error or "")


def _translate(status: int, doing: str, detail: str, creds: Credentials) -> GlcrError:
    detail = redact_text(detail, creds.secrets())
    if status == 400:
        return RefusedError(f"{doing}: GitLab refused: {detail}")
    return for_status(status, doing, detail)


def _user_agent() -> str:
    from glcr import __version__

    return f"glcr/{__version__}"
