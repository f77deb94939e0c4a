"""The sandbox's environments, deployments, merge requests, releases and branches (issue 19):
filters, order, pagination headers, permissions, errors; and glcr's reader over them."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import httpx
import pytest
from sandbox_helpers import api_client, encoded

from glcr.gitlab import inuse as reader
from glcr.gitlab.api import GitLabApi
from glcr_sandbox.api_inuse import wildcard_match
from glcr_sandbox.seed import add_history
from glcr_sandbox.state import GUEST, REPORTER

UTC = dt.UTC


@pytest.fixture
def history(sandbox, project):
    now = dt.datetime.now(UTC)
    return add_history(sandbox.url, project.id, {
        "branches": [{"name": "main", "sha": "a" * 40, "default": True}, {"name": "release/1.0", "sha": "b" * 40},
                     {"name": "release", "sha": "c" * 40}, {"name": "topic", "sha": "d" * 40}],
        "protected_branches": ["release/*"],
        "deployments": [{"environment": "production", "ref": "main", "sha": f"{i:040x}",
                         "finished_at": (now - dt.timedelta(days=10 - i)).isoformat()} for i in range(5)]
        + [{"environment": "production", "ref": "main", "sha": "e" * 40, "status": "failed"},
           {"environment": "review/x", "ref": "topic", "sha": "d" * 40, "environment_state": "stopped"}],
        "merge_requests": [{"source_branch": "topic", "sha": "d" * 40},
                           {"source_branch": "old", "sha": "f" * 40, "state": "merged"}],
        "releases": [{"tag_name": "v1", "sha": "b" * 40}],
    })


@pytest.mark.parametrize("pattern, name, matches", [
    ("release/*", "release/1.0", True), ("release/*", "release", False), ("release/*", "release/", True),
    ("*-stable", "1-0-stable", True), ("main", "main", True), ("main", "main2", False), ("a.b", "axb", False),
])
def test_protected_branch_wildcards(pattern, name, matches):
    assert wildcard_match(pattern, name) is matches


def test_lists_filters_order_and_pages(api, project, history):
    base = f"/projects/{encoded(project)}"
    envs = api.get(f"{base}/environments", params={"states": "available"})
    assert envs.status_code == 200 and [e["name"] for e in envs.json()] == ["production"]
    bad = api.get(f"{base}/environments", params={"states": "running"})
    assert (bad.status_code, bad.json()) == (400, {"error": "states does not have a valid value"})

    params = {"environment": "production", "status": "success", "order_by": "id", "sort": "desc", "per_page": 2}
    first = api.get(f"{base}/deployments", params=params)
    assert [d["sha"][-1] for d in first.json()] == ["4", "3"]
    assert (first.headers["X-Next-Page"], first.headers["X-Total"]) == ("2", "5")
    assert 'rel="next"' in first.headers["Link"] and "environment=production" in first.headers["Link"]
    assert set(first.json()[0]) >= {"id", "iid", "ref", "sha", "status", "updated_at", "deployable", "environment"}
    assert "finished_at" not in first.json()[0]  # GitLab's Deployment entity has none; its job has
    assert api.get(f"{base}/deployments", params={"status": "done"}).status_code == 400
    assert api.get(f"{base}/deployments", params={"order_by": "updated_at"}).status_code == 400

    opened = api.get(f"{base}/merge_requests", params={"state": "opened"}).json()
    assert [(m["source_branch"], m["sha"]) for m in opened] == [("topic", "d" * 40)]
    assert api.get(f"{base}/releases").json()[0]["commit"]["id"] == "b" * 40
    branches = {b["name"]: (b["protected"], b["default"]) for b in api.get(f"{base}/repository/branches").json()}
    assert branches == {"main": (False, True), "release/1.0": (True, False), "release": (False, False),
                        "topic": (False, False)}


def test_permissions(sandbox, project, history):
    who = f"guest-{uuid.uuid4().hex[:6]}"
    sandbox.create_user(who)
    base = f"/projects/{encoded(project)}"
    with api_client(sandbox, sandbox.create_token(who)) as outsider:
        assert outsider.get(f"{base}/environments").json() == {"message": "404 Project Not Found"}
    sandbox.set_member(who, GUEST, project=project.id)
    with api_client(sandbox, sandbox.create_token(who)) as guest:
        assert guest.get(f"{base}/deployments").status_code == 403
        assert guest.get(f"{base}/repository/branches").status_code == 403
        releases = guest.get(f"{base}/releases").json()
        assert releases[0]["tag_name"] == "v1" and "commit" not in releases[0]  # no download_code
    sandbox.set_member(who, REPORTER, project=project.id)
    with api_client(sandbox, sandbox.create_token(who)) as reporter:
        assert reporter.get(f"{base}/merge_requests").status_code == 200
        assert reporter.get(f"{base}/protected_branches").status_code == 403
    job = sandbox.create_job_token("maintainer", project.path_with_namespace)
    with httpx.Client(base_url=f"{sandbox.url}/api/v4", headers={"JOB-TOKEN": job}) as ci:
        assert ci.get(f"{base}/deployments").status_code == 200
        assert ci.get(f"{base}/merge_requests").status_code == 401  # not job_token_allowed


def test_reader_reads_only_the_last_n_deployments(sandbox, project, history):
    async def main():
        seen = []

        async def log(request):
            seen.append(str(request.url))

        async with httpx.AsyncClient(base_url=f"{sandbox.url}/api/v4/", headers={"PRIVATE-TOKEN": sandbox.token},
                                     event_hooks={"request": [log]}) as http:
            api = GitLabApi(http, jobs=2)
            last = await reader.last_deployments(api, project.id, "production", 3)
            envs = await reader.environments(api, project.id)
            heads = await reader.branches(api, project.id)
        return seen, last, envs, heads

    seen, last, envs, heads = asyncio.run(main())
    assert [d["sha"][-1] for d in last] == ["4", "3", "2"]
    assert sum("deployments" in u for u in seen) == 1 and "per_page=3" in seen[0]
    assert [e["name"] for e in envs] == ["production"]
    assert {b["name"] for b in heads} == {"main", "release/1.0", "release", "topic"}
