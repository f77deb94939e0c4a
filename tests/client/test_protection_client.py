"""Reading tag protection rules from GitLab, and the registry's PROTECTED_TAG refusals (MockTransport)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from glcr.errors import ExitCode, PermissionDeniedError
from glcr.gitlab import protection as gp
from glcr.gitlab.api import GitLabApi
from glcr.policy.protection import Protection, ProtectedTagError, TagRule
from glcr.registry.client import RegistryClient
from glcr.session import SessionMemo

RULE = {"id": 1, "project_id": 7, "tag_name_pattern": r"^v1\.", "minimum_access_level_for_push": "maintainer",
        "minimum_access_level_for_delete": "owner"}


def api_answering(status: int, body) -> GitLabApi:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v4/projects/7/registry/protection/tag/rules"
        return httpx.Response(status, json=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="https://gitlab.test/api/v4/")
    return GitLabApi(http, jobs=1)


# status, body, readable, note contains
READS = [
    (200, [RULE], True, ""),
    (200, [], True, ""),
    (404, {"error": "404 Not Found"}, False, "18.7"),  # no such route: an older GitLab
    (403, {"message": "403 Forbidden"}, False, "Maintainer"),
    (401, {"message": "401 Unauthorized"}, False, "Maintainer"),
    (404, {"message": "404 Project Not Found"}, False, "404"),
]


@pytest.mark.parametrize("status,body,readable,note", READS)
def test_reading_rules_never_fails_on_an_older_gitlab_or_a_lower_role(status, body, readable, note, capsys):
    said: list[str] = []
    protection = asyncio.run(gp.read_protection(api_answering(status, body), SessionMemo(say=said.append), 7))
    assert protection.readable is readable
    assert note in protection.note
    if readable:
        assert [r.pattern for r in protection.rules] == [r["tag_name_pattern"] for r in body]
    else:
        assert len(said) == 1 and "rules cannot be read" in said[0]
    assert capsys.readouterr().err == ""  # the library writes to no stream of its own


# Before 18.7 (no REST route) GraphQL's reason decides the note: below Maintainer it is the role,
# whatever the version (a newer GitLab would not show the rules either).
GRAPHQL_THEN_NO_ROUTE = [
    (gp.GRAPHQL_BELOW_MAINTAINER, "needs the Maintainer role", "18.7"),
    ("GitLab before 17.8 has no tag protection rules", "17.8", "Maintainer"),
    ("GitLab's GraphQL API answered 502", "18.7", "Maintainer"),
]


@pytest.mark.parametrize("why,says,not_said", GRAPHQL_THEN_NO_ROUTE)
def test_without_the_rest_route_the_note_gives_graphqls_reason(why, says, not_said, monkeypatch):
    async def graphql_could_not(session, api, memo, project_id):
        return None, why

    said: list[str] = []
    monkeypatch.setattr(gp, "_via_graphql", graphql_could_not)
    protection = asyncio.run(gp.read_protection(api_answering(404, {"error": "404 Not Found"}),
                                                SessionMemo(say=said.append), 7, session=object()))
    assert not protection.readable and says in protection.note and not_said not in protection.note
    assert len(said) == 1


def test_the_unreadable_note_is_said_once_per_session():
    said: list[str] = []
    memo = SessionMemo(say=said.append)
    for _ in range(3):
        asyncio.run(gp.read_protection(api_answering(404, {"error": "404 Not Found"}), memo, 7))
    assert len(said) == 1
    asyncio.run(gp.read_protection(api_answering(404, {"error": "404 Not Found"}), SessionMemo(say=said.append), 7))
    assert len(said) == 2  # another session (another run) says it again


def registry_answering(status: int, body, headers=None) -> RegistryClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers or {})

    return RegistryClient(httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="https://reg.test"),
                          "reg.test")


@pytest.mark.parametrize("code,word", [("PROTECTED_TAG", "protected"), ("IMMUTABLE_TAG", "immutable")])
def test_a_registry_refusal_is_a_permission_error_naming_the_tag(code, word):
    body = {"errors": [{"code": code, "message": "denied", "detail": 'tag "v1.0" is ' + word}]}
    client = registry_answering(401, body)
    with pytest.raises(ProtectedTagError) as info:
        asyncio.run(client.delete_manifest("g/p", "v1.0"))
    error = info.value
    assert isinstance(error, PermissionDeniedError) and error.exit_code is ExitCode.PERMISSION
    line = error.one_line()
    assert "v1.0" in line and word in line and "token" not in line and "\n" not in line
    named = error.explained(Protection((TagRule(r"^v1\.", "maintainer", "owner"),))).one_line()
    assert r"^v1\." in named and "token" not in named


def test_a_push_refusal_says_push():
    client = registry_answering(401, {"errors": [{"code": "PROTECTED_TAG", "message": "x"}]})
    with pytest.raises(ProtectedTagError) as info:
        asyncio.run(client.put_manifest("g/p", "v1.0", b"{}", "application/vnd.oci.image.manifest.v1+json"))
    assert "cannot push tag v1.0" in info.value.one_line()


def test_an_ordinary_401_still_points_at_the_token():
    client = registry_answering(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})
    with pytest.raises(Exception) as info:
        asyncio.run(client.delete_manifest("g/p", "v1.0"))
    assert not isinstance(info.value, ProtectedTagError)
    assert info.value.exit_code is ExitCode.AUTH
