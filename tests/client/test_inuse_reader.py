"""Reading what is in use from GitLab (MockTransport): every page, each source once, and the
warning mode that skips a source GitLab refuses instead of failing the dry-run."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

import httpx
import pytest

from glcr.api.inuse import EVERYTHING_IN_GITLAB, InUseOptions, read_in_use
from glcr.errors import PermissionDeniedError
from glcr.gitlab.api import GitLabApi

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
BASE = "https://gitlab.test/api/v4/"


def session_answering(routes: dict[str, object], seen: list[str]):
    """GitLab with `routes` {path after /projects/7/: body or (status, body)}; releases come in
    two pages to check that pagination runs to the end."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v4/projects/7/")
        seen.append(f"{path}?{request.url.query.decode()}")
        if path == "releases":
            page = request.url.params.get("page", "1")
            headers = {"Link": f'<{BASE}projects/7/releases?page=2&per_page=100>; rel="next"'} if page == "1" else {}
            tag = "v1" if page == "1" else "v2"
            return httpx.Response(200, json=[{"tag_name": tag, "commit": {"id": tag * 20}}], headers=headers)
        answer = routes[path]
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        return httpx.Response(status, json=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url=BASE)
    return SimpleNamespace(api=GitLabApi(http, jobs=2))


ROUTES = {
    "environments": [{"id": 1, "name": "production"}, {"id": 2, "name": "staging"}],
    "deployments": [{"id": 9, "ref": "main", "sha": "a" * 40, "updated_at": "2026-12-06T00:00:00Z"}],
    "merge_requests": [{"iid": 3, "sha": "b" * 40, "source_branch": "topic"}],
    "repository/branches": [{"name": "main", "default": True, "commit": {"id": "c" * 40}}],
}


def test_each_source_read_once_every_page():
    seen: list[str] = []
    items, problems = asyncio.run(read_in_use(session_answering(ROUTES, seen), 7, EVERYTHING_IN_GITLAB, NOW))
    assert problems == []
    assert sorted(i.source for i in items) == ["default-branch", "deployed", "deployed", "open-mr", "release",
                                               "release"]
    deployments = sorted(q for q in seen if q.startswith("deployments"))
    assert len(deployments) == 2 and all("status=success" in q and "sort=desc" in q and "per_page=1" in q
                                         for q in deployments)
    assert any("environment=staging" in q for q in deployments)
    assert [q for q in seen if q.startswith("merge_requests")] == ["merge_requests?per_page=100&state=opened"]
    assert any("states=available" in q for q in seen if q.startswith("environments"))


def test_a_refused_source_fails_the_flags_but_only_notes_in_the_warning():
    routes = {**ROUTES, "merge_requests": (403, {"message": "403 Forbidden"})}
    only_mrs = InUseOptions(open_mrs=True)
    with pytest.raises(PermissionDeniedError):
        asyncio.run(read_in_use(session_answering(routes, []), 7, only_mrs, NOW))
    items, problems = asyncio.run(read_in_use(session_answering(routes, []), 7, EVERYTHING_IN_GITLAB, NOW,
                                              tolerant=True))
    assert len(problems) == 1 and "open merge requests" in problems[0]
    assert "open-mr" not in {i.source for i in items} and "release" in {i.source for i in items}
