"""The registry's Bearer token flow against GitLab's /jwt/auth.

One `TokenSource` per run caches tokens keyed by scope. A token is refreshed before it
expires (GitLab's default lifetime is 5 minutes) and once more when the registry answers 401,
so a long run never fails on an expired token. GitLab answers 200 even when it dropped an
action we asked for, so every token's `access` claim is checked before it is used.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, Generator, AsyncGenerator

import httpx

from glcr.errors import AuthError, NetworkError, PermissionDeniedError, for_status
from glcr.registry.scope import Challenge, jwt_claims, missing_actions, parse_challenge, scopes_for_request
from glcr.transport.pagination import error_detail

# Refresh this long before `exp`: covers clock skew and a slow request that starts just in time.
REFRESH_MARGIN_SECONDS = 30.0
# GitLab's JWT has no `expires_in`; when `exp` cannot be read, assume GitLab's default minus margin.
DEFAULT_TOKEN_LIFETIME = 5 * 60.0

BasicCredentials = Callable[[], Awaitable[tuple[str, str] | None]]


class TokenSource:
    def __init__(
        self,
        http: httpx.AsyncClient,
        basic: BasicCredentials,
        *,
        allowed_realm_hosts: set[str],
        clock: Callable[[], float] = time.time,
        check_access: bool = True,
    ) -> None:
        self._http = http
        self._basic = basic
        self._allowed_hosts = allowed_realm_hosts
        self._clock = clock
        self._check = check_access
        self._cache: dict[tuple[str, ...], tuple[str, float]] = {}
        self._locks: dict[tuple[str, ...], asyncio.Lock] = {}
        self.challenge: Challenge | None = None
        self.fetches = 0  # for tests and --debug: how many tokens this run requested

    def cached(self, scopes: tuple[str, ...]) -> str | None:
        entry = self._cache.get(scopes)
        if entry and entry[1] - REFRESH_MARGIN_SECONDS > self._clock():
            return entry[0]
        return None

    def invalidate(self, scopes: tuple[str, ...]) -> None:
        self._cache.pop(scopes, None)

    async def token(self, scopes: tuple[str, ...], challenge: Challenge, *, stale: str | None = None) -> str:
        lock = self._locks.setdefault(scopes, asyncio.Lock())
        async with lock:
            current = self.cached(scopes)
            if current and current != stale:
                return current
            token = await self._fetch(scopes, challenge)
            claims = jwt_claims(token)
            expires = float(claims.get("exp") or (self._clock() + DEFAULT_TOKEN_LIFETIME))
            if self._check:
                self._ensure_granted(claims, scopes)
            self._cache[scopes] = (token, expires)
            return token

    async def _fetch(self, scopes: tuple[str, ...], challenge: Challenge) -> str:
        realm = httpx.URL(challenge.realm)
        if realm.host not in self._allowed_hosts:
            raise AuthError(
                f"the registry sends us to {realm.host} for tokens, not to the GitLab host",
                hint="refusing to send GitLab credentials there; check --url",
            )
        params: list[tuple[str, str]] = [("service", challenge.service or "container_registry")]
        params += [("scope", s) for s in scopes]
        basic = await self._basic()
        try:
            response = await self._http.get(realm, params=params, auth=basic if basic else None)
        except httpx.TransportError as exc:
            raise NetworkError(f"requesting a registry token from {realm.host}: {type(exc).__name__}") from None
        self.fetches += 1
        if response.status_code != 200:
            raise for_status(response.status_code, "requesting a registry token (/jwt/auth)", error_detail(response))
        token = response.json().get("token") or response.json().get("access_token")
        if not token:
            raise AuthError("GitLab's /jwt/auth answered without a token")
        return token

    @staticmethod
    def _ensure_granted(claims: dict, scopes: tuple[str, ...]) -> None:
        missing = missing_actions(claims, scopes)
        if not missing:
            return
        kind, name, actions = missing[0]
        need = ", ".join(actions)
        hint = {
            "delete": "deleting needs the Maintainer role and a token with the `api` scope",
            "push": "pushing needs the Developer role and a token with `write_registry` or `api`",
            "pull": "pulling needs the Reporter role and `read_registry`, `read_api` or `api`",
        }.get(actions[0], "check the token's scopes and your role in the project")
        raise PermissionDeniedError(f"GitLab granted no {need} on {kind} {name}", hint=hint)


class RegistryAuth(httpx.Auth):
    """httpx auth flow: use the cached token for the request's scope; on 401, get one and retry."""

    def __init__(self, source: TokenSource) -> None:
        self._source = source

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("RegistryAuth is async-only")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        query = dict(request.url.params)
        scopes = scopes_for_request(request.method, request.url.path, query)
        sent = self._source.cached(scopes) if self._source.challenge else None
        if sent:
            request.headers["Authorization"] = f"Bearer {sent}"
        response = yield request
        if response.status_code != 401:
            return
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None or challenge.scheme != "bearer":
            return
        self._source.challenge = challenge
        if sent:
            self._source.invalidate(scopes)
        token = await self._source.token(scopes, challenge, stale=sent)
        request.headers["Authorization"] = f"Bearer {token}"
        yield request
