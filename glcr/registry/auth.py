"""The registry's Bearer token flow against GitLab's /jwt/auth.

One `TokenSource` per run caches tokens keyed by scope. Every route glcr calls is mapped to its
scope up front (registry/scope.py), so the token is fetched before the first request, not after
a 401; when a 401 challenge names a `scope=`, exactly that is asked for (the Docker token flow's
rule), so an unmapped route still gets the token the registry wants.

A token's life is judged from its own claims, `exp - iat` (both stamped by GitLab's clock),
counted from the moment it arrived on this machine's monotonic clock: a local clock ahead of
GitLab's (or behind it) changes nothing. When the claims do not tell (no `iat` or no `exp`), the
token is used until the registry answers 401. Either way a 401 gets one new token, shared by
every request that was waiting for it; a token is never fetched per request.

GitLab answers 200 even when it dropped an action we asked for, so every token's `access`
claim is checked before it is used. Credentials go only to a realm on the GitLab URL's own
scheme, host and port.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Awaitable, Callable, Generator, AsyncGenerator, Iterable

import httpx

from glcr.errors import AuthError, NetworkError, PermissionDeniedError, for_status
from glcr.registry.scope import Challenge, jwt_claims, missing_actions, parse_challenge, scopes_for_request
from glcr.transport.pagination import error_detail

# Refresh this long before the token's end: covers a slow request that starts just in time.
REFRESH_MARGIN_SECONDS = 30.0
# A short-lived token (GitLab allows 1 minute) keeps at least this share of its life.
MIN_USABLE_SHARE = 0.75

BasicCredentials = Callable[[], Awaitable[tuple[str, str] | None]]


def origin(url: str | httpx.URL) -> tuple[str, str, int]:
    """(scheme, host, port) with the scheme's default port filled in: what a realm must share."""
    parsed = httpx.URL(str(url))
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme, 0)
    return parsed.scheme, parsed.host, port


def token_lifetime(claims: dict) -> float | None:
    """Seconds the token is valid for, by the issuer's clock; None when the claims do not say."""
    try:
        life = float(claims["exp"]) - float(claims["iat"])
    except (KeyError, TypeError, ValueError):
        return None
    return life if life > 0 and math.isfinite(life) else None


def usable_for(lifetime: float | None) -> float:
    """How long after arrival a token is used before a new one is fetched."""
    if lifetime is None:
        return math.inf  # cannot judge: use it until the registry answers 401
    return max(lifetime - REFRESH_MARGIN_SECONDS, lifetime * MIN_USABLE_SHARE)


class TokenSource:
    def __init__(
        self,
        http: httpx.AsyncClient,
        basic: BasicCredentials,
        *,
        allowed_realms: Iterable[str],
        clock: Callable[[], float] = time.monotonic,
        check_access: bool = True,
    ) -> None:
        """`allowed_realms`: URLs (the GitLab URL) whose scheme, host and port a realm must have.
        `clock`: a monotonic clock; only differences between its readings are used."""
        self._http = http
        self._basic = basic
        self._allowed = {origin(u) for u in allowed_realms}
        self._clock = clock
        self._check = check_access
        self._cache: dict[tuple[str, ...], tuple[str, float]] = {}  # scopes -> (token, use until)
        self._locks: dict[tuple[str, ...], asyncio.Lock] = {}
        self.challenge: Challenge | None = None
        self.fetches = 0  # for tests and --debug: how many tokens this run requested

    def cached(self, scopes: tuple[str, ...]) -> str | None:
        entry = self._cache.get(scopes)
        if entry and entry[1] > self._clock():
            return entry[0]
        return None

    async def token(self, scopes: tuple[str, ...], challenge: Challenge, *, stale: str | None = None,
                    check: bool = True) -> str:
        """A token for `scopes`: the cached one unless it is `stale` (the registry refused it).
        `check` False: whatever GitLab granted, for reading its claims (no PermissionDeniedError)."""
        # An unchecked token is cached apart: it must never pass for a checked grant of the same scopes.
        key = scopes if check else (*scopes, "")
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            current = self.cached(key)
            if current and current != stale:
                return current
            token = await self._fetch(scopes, challenge)
            arrived = self._clock()
            claims = jwt_claims(token)
            if self._check and check:
                self._ensure_granted(claims, scopes)
            self._cache[key] = (token, arrived + usable_for(token_lifetime(claims)))
            self._trim()
            return token

    # Tokens kept at most: a group run asks one for each repository it visits and visits each
    # once, so without a bound it would keep thousands (a JWT and a lock each) for nothing.
    # Each command works on one repository, or a few projects' at a time; this keeps them all.
    CACHE_MAX = 256

    def _trim(self) -> None:
        """Past CACHE_MAX entries: drop expired ones, then the oldest, never one being fetched."""
        if len(self._cache) <= self.CACHE_MAX:
            return
        now = self._clock()
        for key in [k for k, (_, until) in self._cache.items() if until <= now]:
            self._drop(key)
        for key in list(self._cache)[: max(0, len(self._cache) - self.CACHE_MAX)]:
            self._drop(key)

    def _drop(self, key: tuple[str, ...]) -> None:
        lock = self._locks.get(key)
        if lock is not None and lock.locked():
            return
        self._cache.pop(key, None)
        self._locks.pop(key, None)

    async def _fetch(self, scopes: tuple[str, ...], challenge: Challenge) -> str:
        realm = httpx.URL(challenge.realm)
        if origin(realm) not in self._allowed:
            scheme, host, port = origin(realm)
            raise AuthError(
                f"the registry sends us to {scheme}://{host}:{port} for tokens, not to the GitLab URL",
                hint="refusing to send GitLab credentials there; check --url (scheme, host and port)",
            )
        # httpx's QueryParams items (list is invariant: str alone would not be accepted).
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("service", challenge.service or "container_registry")]
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
    """httpx auth flow: the token for the request's scope, fetched before the request once the
    realm is known; on 401, the scope the challenge names (or the mapped one) and one retry."""

    def __init__(self, source: TokenSource) -> None:
        self._source = source

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("RegistryAuth is async-only")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        query = dict(request.url.params) if request.url.query else {}
        scopes = scopes_for_request(request.method, request.url.path, query)
        source = self._source
        sent = None
        if source.challenge is not None:
            sent = source.cached(scopes) or await source.token(scopes, source.challenge)
            request.headers["Authorization"] = f"Bearer {sent}"
        response = yield request
        if response.status_code != 401:
            return
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None or challenge.scheme != "bearer":
            return
        source.challenge = challenge
        # Exactly the scope the registry names; the token it just refused is never offered again.
        token = await source.token(challenge.scopes or scopes, challenge, stale=sent)
        if token == sent:
            return
        request.headers["Authorization"] = f"Bearer {token}"
        yield request
