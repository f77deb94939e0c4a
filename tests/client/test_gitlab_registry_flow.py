"""glcr's client on GitLab's own registry with token auth: scopes asked for up front, the
challenge's scope obeyed, kind detection, paged tag details, tag-only deletes, token lifetime
judged from the token's own claims, and the realm check (scheme, host and port)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from glcr.credentials import Credentials, Secret, TokenKind
from glcr.errors import AuthError
from glcr.models import RegistryKind, Repository
from glcr.api.tags import current_digests, execute_delete, list_tag_details, preview_delete
from glcr.registry.auth import RegistryAuth, TokenSource, token_lifetime, usable_for
from glcr.registry.client import RegistryClient
from glcr.registry.delete import DeleteRequest, Outcome
from glcr.session import Session
from glcr.settings import Settings
from glcr.transport.backoff import RetryPolicy
from glcr.transport.factory import HttpOptions, build_async_client

from gitlab_registry_fake import GITLAB, REGISTRY_HOST, TOKEN, FakeGitLab, digest_of

REPO = Repository(id=100, name="api", path="group/app/api", project_id=7, location=f"{REGISTRY_HOST}/group/app/api")


def session_for(world: FakeGitLab, url: str = GITLAB) -> Session:
    creds = Credentials(url, Secret(TOKEN), TokenKind.PRIVATE, "env GITLAB_TOKEN")
    http = HttpOptions(wire=httpx.MockTransport(world.handler), retry=RetryPolicy(max_attempts=1))
    return Session(creds, Settings(), http=http)


def run(world: FakeGitLab, work, url: str = GITLAB):
    async def go():
        async with session_for(world, url) as session:
            return await work(session)

    return asyncio.run(go())


def tags(n: int) -> dict[str, str]:
    return {f"t{i:04d}": digest_of(f"m{i}") for i in range(n)}


def test_tags_list_of_601_tags_is_one_gitlab_v1_request_and_no_api_call_per_tag():
    world = FakeGitLab(repos={"group/app/api": tags(601)})
    details = run(world, lambda s: list_tag_details(s, REPO))
    assert len(details) == 601
    pages = [c for c in world.registry_calls if c.startswith("GET /gitlab/v1/repositories/")]
    assert pages == ["GET /gitlab/v1/repositories/group/app/api/tags/list/?n=1000"]
    assert not any("/tags/" in c for c in world.api_calls), world.api_calls  # no per-tag REST call
    first = details[0]
    assert (first.name, first.digest, first.total_size) == ("t0000", digest_of("m0"), 1000)
    assert first.published_at is not None and first.published_at.month == 3
    assert first.pushed_at == first.created_at  # no updated_at: GitLab's `updated_at || created_at`
    # the pull token was asked for by its scope before the listing; no 401 on the tag list
    assert ("repository:group/app/api:pull",) in world.jwt_requests
    assert not any(c.startswith("GET /gitlab/v1/repositories/") for c in world.registry_calls[:-1] if "401" in c)


def test_tag_details_page_through_link_headers_1000_at_a_time():
    world = FakeGitLab(repos={"group/app/api": tags(2500)})
    details = run(world, lambda s: list_tag_details(s, REPO))
    assert [d.name for d in details] == sorted(tags(2500))
    pages = [c for c in world.registry_calls if c.startswith("GET /gitlab/v1/repositories/")]
    assert len(pages) == 3 and "last=t0999" in pages[1] and "last=t1999" in pages[2]


def test_kind_detection_with_token_auth():
    world = FakeGitLab(repos={"group/app/api": tags(3)})

    async def work(session):
        return await session.registry(REGISTRY_HOST).kind("group/app/api")

    assert run(world, work) == RegistryKind(gitlab_api=True, tag_delete=True, gitlab_vendor=True)
    # The authenticated /v2/ says Database-Enabled: true, so no /gitlab/v1/ probe is needed
    # (an anonymous one would be answered 401 with or without the database).
    assert world.registry_calls.count("GET /gitlab/v1/") == 0


def test_tags_delete_is_tag_only_with_the_delete_scope_and_keeps_siblings():
    shared = digest_of("shared")
    world = FakeGitLab(repos={"group/app/api": {"latest": shared, "main": shared, "v1.9.0": shared,
                                                "stable": shared, "old": digest_of("old")}})

    async def work(session):
        preview = await preview_delete(session, REPO, [DeleteRequest("stable"), DeleteRequest("old")])
        return await execute_delete(session, preview)

    report = run(world, work)
    assert sorted((r.tag, r.outcome) for r in report.results) == [("old", Outcome.DELETED), ("stable", Outcome.DELETED)]
    assert report.damage == [] and report.method == "registry tag delete"
    assert world.repos["group/app/api"] == {"latest": shared, "main": shared, "v1.9.0": shared}
    deletes = [c for c in world.registry_calls if c.startswith("DELETE")]
    assert sorted(deletes) == ["DELETE /v2/group/app/api/manifests/old", "DELETE /v2/group/app/api/manifests/stable"]
    assert ("repository:group/app/api:delete",) in world.jwt_requests


def test_an_unmapped_route_gets_exactly_the_scope_the_challenge_names():
    world = FakeGitLab(repos={"group/app/api": tags(1)})

    async def work(session):
        client = session.registry(REGISTRY_HOST)
        await client.ping()
        return await client.request("GET", "/gitlab/v1/unmapped/group/app/api/", "probing")

    response = run(world, work)
    assert response.status_code == 200
    assert world.jwt_requests[-1] == ("repository:group/app/api:pull",)


def test_a_token_the_registry_keeps_refusing_ends_after_one_retry_per_request():
    world = FakeGitLab(repos={"group/app/api": tags(1)}, refuse_tokens=True)

    async def work(session):
        return await session.registry(REGISTRY_HOST).list_tags("group/app/api")

    with pytest.raises(AuthError):
        run(world, work)
    assert world.registry_calls == ["GET /v2/group/app/api/tags/list?n=1000"] * 2
    assert world.issued == 1


# --- token lifetime ------------------------------------------------------------------------------


def test_tokens_expired_by_the_local_clock_are_still_used_a_600_tag_listing_needs_few_tokens():
    # GitLab's clock (and so `exp`) is 25 years behind this machine's: by the local clock every
    # token arrives expired, yet the registry accepts it.
    world = FakeGitLab(repos={"group/app/api": tags(600)}, server_now=1_000_000_000.0)

    async def work(session):
        client = session.registry(REGISTRY_HOST)
        kind = await client.kind("group/app/api")
        from glcr.registry.delete import snapshot

        heads = await snapshot(client, "group/app/api", 16, list(tags(600)), kind=kind)
        details = await list_tag_details(session, REPO)
        return heads, details

    heads, details = run(world, work)
    assert len(heads) == 600 and len(details) == 600
    assert world.issued <= 3, world.jwt_requests  # (), pull: one each


def test_lifetime_is_counted_from_arrival_on_the_monotonic_clock_and_refreshed_before_it_ends():
    world = FakeGitLab(repos={"group/app/api": tags(5)}, lifetime=300)
    clock = [50.0]  # this machine's monotonic clock: unrelated to GitLab's wall clock

    async def go():
        options = HttpOptions(wire=httpx.MockTransport(world.handler), retry=RetryPolicy(max_attempts=1))

        async def basic():
            return "alice", TOKEN

        source = TokenSource(build_async_client(options), basic, allowed_realms=[GITLAB], clock=lambda: clock[0])
        http = build_async_client(options, base_url=f"https://{REGISTRY_HOST}", auth=RegistryAuth(source))
        client = RegistryClient(http, REGISTRY_HOST)
        await client.list_tags("group/app/api")
        first = world.issued
        clock[0] += 260  # 260 s of a 300 s token: still used
        world.server_now += 260
        await client.list_tags("group/app/api")
        same = world.issued
        clock[0] += 15  # 275 s: inside the 30 s margin, a new one
        world.server_now += 15
        await client.list_tags("group/app/api")
        return first, same, world.issued

    first, same, last = asyncio.run(go())
    assert first == same == 1 and last == 2


def test_a_token_without_iat_is_used_until_the_registry_answers_401():
    world = FakeGitLab(repos={"group/app/api": tags(5)}, lifetime=300, iat=False)

    async def work(session):
        client = session.registry(REGISTRY_HOST)
        await client.list_tags("group/app/api")
        world.server_now += 290  # still valid for the registry: no new token
        await client.list_tags("group/app/api")
        before = world.issued
        world.server_now += 400  # now expired for the registry: 401, one new token, retried
        result = await client.list_tags("group/app/api")
        return before, result

    before, result = run(world, work)
    assert before == 1 and world.issued == 2 and len(result) == 5


def test_concurrent_requests_waiting_for_one_token_wait_once():
    world = FakeGitLab(repos={"group/app/api": tags(200)})

    async def work(session):
        client = session.registry(REGISTRY_HOST)
        await asyncio.gather(*(client.head_manifest("group/app/api", t) for t in tags(200)))
        before = world.issued
        world.server_now += 400  # every cached token is now refused by the registry at once
        await asyncio.gather(*(client.head_manifest("group/app/api", t) for t in tags(200)))
        return before

    before = run(world, work)
    assert before == 1 and world.issued == 2


@pytest.mark.parametrize("claims,life", [
    ({"iat": 100, "exp": 400}, 300), ({"exp": 400}, None), ({"iat": 400, "exp": 100}, None), ({}, None),
])
def test_token_lifetime_comes_from_the_claims(claims, life):
    assert token_lifetime(claims) == life


def test_short_tokens_keep_most_of_their_life():
    assert usable_for(300) == 270 and usable_for(60) == 45 and usable_for(None) == float("inf")


# --- the realm -----------------------------------------------------------------------------------


@pytest.mark.parametrize("realm", [
    "https://gitlab.test:8443/jwt/auth",  # same host, another port
    "http://gitlab.test/jwt/auth",  # same host, plain http
    "https://evil.test/jwt/auth",
])
def test_credentials_never_go_to_a_realm_on_another_scheme_host_or_port(realm):
    world = FakeGitLab(repos={"group/app/api": tags(1)}, realm=realm)

    async def work(session):
        return await session.registry(REGISTRY_HOST).list_tags("group/app/api")

    with pytest.raises(AuthError) as info:
        run(world, work)
    assert world.jwt_auth_headers == []
    assert TOKEN not in info.value.one_line()


def test_the_realm_may_spell_the_default_port():
    world = FakeGitLab(repos={"group/app/api": tags(2)}, realm="https://gitlab.test:443/jwt/auth")
    assert run(world, lambda s: s.registry(REGISTRY_HOST).list_tags("group/app/api")) == ["t0000", "t0001"]


def test_current_digests_on_gitlab_registry_come_from_the_tag_list():
    world = FakeGitLab(repos={"group/app/api": tags(1500)})
    found = run(world, lambda s: current_digests(s, REPO))
    assert found == tags(1500)
    assert not any(c.startswith("HEAD") for c in world.registry_calls)


# --- cleanup on GitLab's registry -------------------------------------------------------------


def simulate(world: FakeGitLab, **params):
    from datetime import datetime, timezone

    from glcr.api.cleanup import simulate_cleanup
    from glcr.policy import CleanupParams

    p = CleanupParams.from_policy({"name_regex": ".*", "keep_n": 1, "older_than": "7d", **params})
    now = datetime(2026, 4, 1, tzinfo=timezone.utc)
    return run(world, lambda s: simulate_cleanup(s, "group/app", p, now=now))


def test_cleanup_on_gitlab_registry_reads_push_times_from_the_registry():
    world = FakeGitLab(repos={"group/app/api": tags(3)})
    _, items = simulate(world)
    (item,) = items
    s = item.result.summary
    assert s.variant.value == "gitlab_api" and not s.approximate
    # push times (created_at of the registry's tag list, January) decide; t0002 is the newest
    assert [d.name for d in item.result.deleted()] == ["t0000", "t0001"]
    assert item.result.by_name()["t0000"].created_at.month == 1
    assert not any("/tags/" in c for c in world.api_calls)


def test_cleanup_without_push_times_is_marked_approximate_in_table_and_json(capsys):
    import json

    from glcr.render.format import OutputFormat
    from glcr.render.policy import render_cleanup

    world = FakeGitLab(repos={"group/app/api": tags(3)}, grant=())  # the registry is not ours to read
    _, items = simulate(world)
    (item,) = items
    assert item.result.summary.variant.value == "gitlab_api" and item.result.summary.approximate
    assert any(c.endswith("/tags") for c in world.api_calls)  # the REST API answered
    render_cleanup([(item.repository.path, item.result)], OutputFormat.JSON)
    data = json.loads(capsys.readouterr().out)
    assert {(d["approximate"], d["timestamp"]) for d in data} == {(True, "rest_created_at")}
    render_cleanup([(item.repository.path, item.result)], OutputFormat.TABLE)
    table = capsys.readouterr().out
    assert "APPROXIMATE" in table and "PUSHED" not in table and "note: approximate" in table


def test_repository_size_comes_from_the_registry_when_gitlab_has_none():
    from glcr.api.repos import repository_details

    world = FakeGitLab(repos={"group/app/api": tags(7)})
    details = run(world, lambda s: repository_details(s, "group/app/api"))
    assert details.repository.size == 7000 and details.kind.gitlab_api
    assert "GET /gitlab/v1/repositories/group/app/api/?size=self" in world.registry_calls
