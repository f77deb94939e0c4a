"""One session per run: credentials, HTTP clients, the registry token cache, concurrency.

Owned by the CLI's context object (one per command, open from its first request until it ends,
across any confirmation) and passed down to glcr.api; there is no global state. Use it as an
async context manager so every client is closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import httpx

from glcr.errors import PermissionDeniedError
from glcr.credentials import CI_JOB_USER, Credentials, TokenKind
from glcr.gitlab.api import GitLabApi
from glcr.registry.auth import RegistryAuth, TokenSource
from glcr.registry.client import RegistryClient, registry_base_url
from glcr.settings import DEFAULT_JOBS, DEFAULT_REGISTRY_JOBS  # noqa: F401 (named here too)
from glcr.transport.factory import HttpOptions, build_async_client

@dataclass(frozen=True)
class SessionOptions:
    """Concurrency and HTTP policy of one session (glcr.settings.Settings.session_options builds it)."""

    jobs: int = DEFAULT_JOBS
    registry_jobs: int = DEFAULT_REGISTRY_JOBS
    insecure_registry: bool = False
    debug: bool = False
    http: HttpOptions = field(default_factory=HttpOptions)


class Session:
    def __init__(self, creds: Credentials, options: SessionOptions) -> None:
        self.creds = creds
        # A copy: the caller's options (and their HttpOptions) stay as they were given.
        self.options = replace(options, http=replace(options.http, jobs=options.jobs, debug=options.debug,
                                                     secrets=creds.secrets()))
        self._gitlab_http = build_async_client(
            self.options.http, base_url=f"{creds.url}/api/v4/", headers=creds.api_headers())
        self._token_http = build_async_client(self.options.http)
        self.api = GitLabApi(self._gitlab_http, jobs=self.options.jobs)
        self.tokens = TokenSource(self._token_http, self._registry_basic,
                                  allowed_realms=[creds.url])
        self._registries: dict[str, RegistryClient] = {}
        self._registry_http: list[httpx.AsyncClient] = []
        self._username: str | None = None

    async def __aenter__(self) -> "Session":
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in [self._gitlab_http, self._token_http, *self._registry_http]:
            await client.aclose()

    async def _registry_basic(self) -> tuple[str, str] | None:
        """Basic credentials for /jwt/auth: CI's registry user/password, or user + token."""
        creds = self.creds
        if creds.registry_password is not None and creds.registry_user:
            return creds.registry_user, creds.registry_password.reveal()
        if creds.token is None:
            return None  # anonymous: enough to pull public images
        if creds.kind is TokenKind.JOB:
            return CI_JOB_USER, creds.token.reveal()
        if creds.kind is TokenKind.OAUTH:
            return "oauth2", creds.token.reveal()
        if self._username is None:
            # Access tokens authenticate whatever the user name; asking GitLab once keeps the
            # registry's audit log honest and fails early on a bad token.
            user = await self.api.get_json("user", "reading the current user")
            self._username = user.get("username") or "glcr"
        return self._username, creds.token.reveal()

    async def registry_grants(self, host: str, path: str, actions: str) -> bool:
        """Whether GitLab grants these registry actions on `path` to this token (no side effects)."""
        client = self.registry(host)
        if self.tokens.challenge is None:
            await client.ping()
        if self.tokens.challenge is None:
            return True  # a registry without token auth
        try:
            await self.tokens.token((f"repository:{path}:{actions}",), self.tokens.challenge)
            return True
        except PermissionDeniedError:
            return False

    def registry(self, host: str) -> RegistryClient:
        client = self._registries.get(host)
        if client is None:
            # One client (one pool) per registry host. The pool holds registry_jobs + 4
            # connections (factory.py); the client's gate lets registry_jobs requests through, so
            # the pool always has a connection free and never queues (issue 22).
            http = build_async_client(
                replace(self.options.http, jobs=self.options.registry_jobs),
                base_url=registry_base_url(host, insecure=self.options.insecure_registry),
                auth=RegistryAuth(self.tokens),
            )
            self._registry_http.append(http)
            client = self._registries[host] = RegistryClient(http, host, jobs=self.options.registry_jobs)
        return client
