"""The registry token flow over httpx.MockTransport: challenge, cache, expiry, dropped actions."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest

from glcr.errors import AuthError, PermissionDeniedError
from glcr.registry.auth import RegistryAuth, TokenSource
from glcr.registry.client import RegistryClient
from glcr.transport.factory import HttpOptions, build_async_client


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class FakeWorld:
    """A registry at registry.test whose tokens come from gitlab.test/jwt/auth."""

    def __init__(self, grant=("pull", "push", "delete"), lifetime=300):
        self.now = 1_000_000.0
        self.grant = grant
        self.lifetime = lifetime
        self.issued = 0
        self.revoked: set[str] = set()
        self.auth_seen: list = []

    def token(self, scopes):
        self.issued += 1
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name,
                           "actions": [a for a in actions.split(",") if a in self.grant]})
        claims = {"iat": self.now, "exp": self.now + self.lifetime, "access": access, "n": self.issued}
        return f"{b64({'alg': 'RS256'})}.{b64(claims)}.sig"

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "gitlab.test" and request.url.path == "/jwt/auth":
            self.auth_seen.append(request.headers.get("Authorization"))
            return httpx.Response(200, json={"token": self.token(request.url.params.get_list("scope"))})
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        if token:
            claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        if not token or token in self.revoked or claims["exp"] < self.now:
            return httpx.Response(401, headers={
                "WWW-Authenticate": 'Bearer realm="https://gitlab.test/jwt/auth",service="container_registry"'})
        return httpx.Response(200, json={"name": "g/p", "tags": ["a", "b"]})


def make(world: FakeWorld, allowed=("https://gitlab.test",)):
    options = HttpOptions(wire=httpx.MockTransport(world.handler))

    async def basic():
        return ("alice", "glpat-secret")

    source = TokenSource(build_async_client(options), basic, allowed_realms=allowed,
                         clock=lambda: world.now)
    http = build_async_client(options, base_url="https://registry.test", auth=RegistryAuth(source))
    return source, RegistryClient(http, "registry.test")


def test_token_is_cached_per_scope_and_refreshed_before_expiry():
    world = FakeWorld(lifetime=300)
    source, client = make(world)

    async def go():
        assert await client.list_tags("g/p") == ["a", "b"]
        assert await client.list_tags("g/p") == ["a", "b"]
        first = world.issued
        world.now += 280  # inside the refresh margin: a new token before the old one expires
        assert await client.list_tags("g/p") == ["a", "b"]
        return first

    first = asyncio.run(go())
    assert first == 1
    assert world.issued == 2


def test_the_token_cache_keeps_at_most_its_bound_and_the_newest_tokens():
    """A group run asks a token for each repository once: the cache must not keep them all."""
    world = FakeWorld()
    source, client = make(world)
    source.CACHE_MAX = 5
    paths = [f"g/p{i}" for i in range(12)]

    async def go():
        for path in paths:
            await client.list_tags(path)

    asyncio.run(go())
    assert world.issued == 12
    kept = [p for p in paths if source.cached((f"repository:{p}:pull",))]
    assert kept == paths[-5:]
    assert len(source._locks) <= 5


def test_a_401_mid_run_gets_a_new_token_once():
    world = FakeWorld()
    source, client = make(world)

    async def go():
        await client.list_tags("g/p")
        # the registry stops accepting the cached token (e.g. clock skew, key rotation)
        world.revoked.add(source.cached(("repository:g/p:pull",)))
        return await client.list_tags("g/p")

    assert asyncio.run(go()) == ["a", "b"]
    assert world.issued == 2


def test_dropped_action_is_a_clear_permission_error():
    world = FakeWorld(grant=("pull",))
    source, client = make(world)

    async def go():
        await client.delete_manifest("g/p", "sha256:" + "0" * 64)

    with pytest.raises(PermissionDeniedError) as info:
        asyncio.run(go())
    assert "delete" in info.value.message


def test_credentials_are_not_sent_to_a_foreign_realm():
    world = FakeWorld()
    source, client = make(world, allowed=("https://other.test",))
    with pytest.raises(AuthError):
        asyncio.run(client.list_tags("g/p"))
    assert world.auth_seen == []


def test_basic_credentials_go_to_jwt_auth():
    world = FakeWorld()
    source, client = make(world)
    asyncio.run(client.list_tags("g/p"))
    expected = "Basic " + base64.b64encode(b"alice:glpat-secret").decode()
    assert world.auth_seen == [expected]
