"""One session per run: credentials, HTTP clients, the registry token cache, concurrency.

`Session(creds, settings)`: everything it needs comes from the run's Settings (concurrency,
--debug, the CA bundle, --insecure-registry); nothing from the environment. Owned by the CLI's
context object (one per command, open from its first request until it ends, across any
confirmation) and passed down to glcr.api; there is no global state: what one run remembers
(tag protection rules read, notes said) lives in `session.memo`. Use it as an async context
manager so every client is closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import httpx

from glcr.credentials import CI_JOB_USER, Credentials, TokenKind
from glcr.errors import PermissionDeniedError
from glcr.gitlab.api import GitLabApi
from glcr.gitlab.rest import GitLabRest
from glcr.registry.auth import RegistryAuth, TokenSource
from glcr.registry.client import RegistryClient, registry_base_url
from glcr.settings import Settings
from glcr.transport.factory import HttpOptions, build_async_client, tls_context
from glcr.transport.proxy import Proxies
from glcr.transport.ratelimit import RateBudget


@dataclass
class SessionMemo:
    """What a session reads once and says once (glcr.gitlab.protection's rules and callers)."""

    values: dict[Any, Any] = field(default_factory=dict)
    said: set[str] = field(default_factory=set)
    # Where a note goes (the CLI: stderr); None: nowhere, the library's callers read it from the
    # results (Protection.note) instead of a stream they do not own.
    say: Callable[[str], None] | None = None


def _budget(http: HttpOptions) -> RateBudget:
    return RateBudget(sleep=http.sleep) if http.sleep else RateBudget()


class Session:
    def __init__(self, creds: Credentials, settings: Settings, *, http: HttpOptions | None = None) -> None:
        """`http`: a command's own HTTP policy (retries, timeouts; tests swap the wire), to which
        the settings' concurrency, --debug and CA bundle are applied."""
        self.creds = creds
        self.settings = settings
        http = http or HttpOptions()
        # One RateBudget for all of the session's clients: a 429 pauses every request (ratelimit.py).
        ca_bundle = settings.ca_bundle()
        self.http = replace(http, jobs=settings.jobs, debug=settings.debug,
                            ca_bundle=ca_bundle, secrets=creds.secrets(),
                            budget=http.budget or _budget(http),
                            ssl_context=http.ssl_context or (None if http.wire else tls_context(ca_bundle)),
                            proxies=http.proxies or (None if http.wire else Proxies.from_environment()))
        if self.http.debug and self.http.proxies is not None:
            print(f"debug: proxies from the environment: {self.http.proxies.describe()}", file=self.http.log)
        self._gitlab_http = build_async_client(self.http, base_url=f"{creds.url}/api/v4/", headers=creds.api_headers())
        self._token_http = build_async_client(self.http)
        self.api = GitLabApi(self._gitlab_http, jobs=settings.jobs)
        # python-gitlab, under the same policy; built on its first call.
        self.rest = GitLabRest(creds, self.http)
        self.tokens = TokenSource(self._token_http, self._registry_basic, allowed_realms=[creds.url])
        self.memo = SessionMemo()
        self._registries: dict[str, RegistryClient] = {}
        self._registry_http: list[httpx.AsyncClient] = []
        self._username: str | None = None

    async def __aenter__(self) -> "Session":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.rest.close()
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
                replace(self.http, jobs=self.settings.registry_jobs),
                base_url=registry_base_url(host, insecure=self.settings.insecure_registry, gitlab_url=self.creds.url),
                auth=RegistryAuth(self.tokens),
            )
            self._registry_http.append(http)
            client = self._registries[host] = RegistryClient(http, host, jobs=self.settings.registry_jobs)
        return client
