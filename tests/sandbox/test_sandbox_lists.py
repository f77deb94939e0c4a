"""GET /projects, GET /groups and GET /job: filters, order, pagination, entities and job tokens.

The session's sandbox is shared, so every test builds its own corner of the world (a fresh user
and a fresh top-level group) and looks only at that.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from sandbox_helpers import api_client
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.state import DEVELOPER, GUEST, MAINTAINER, REPORTER, iso

UNAUTHORIZED = {"message": "401 Unauthorized"}


@dataclass
class Corner:
    """A user `who` (Developer of group `group`) and the ids of the projects created for the test."""

    who: str
    token: str
    group: str
    project_ids: list[int]


def _suffix() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture
def corner(sandbox: Sandbox) -> Corner:
    suffix = _suffix()
    who, group = f"lister-{suffix}", f"lists-{suffix}"
    sandbox.create_user(who)
    sandbox.create_group(group)
    sandbox.set_member(who, DEVELOPER, group=group)
    ids = [sandbox.create_project(f"p{i}-{suffix}", group).id for i in range(5)]
    return Corner(who, sandbox.create_token(who), group, ids)


@pytest.fixture
def as_lister(sandbox: Sandbox, corner: Corner) -> Iterator[httpx.Client]:
    with api_client(sandbox, corner.token) as client:
        yield client


def _ids(resp: httpx.Response) -> list[int]:
    assert resp.status_code == 200, resp.text
    return [item["id"] for item in resp.json()]


# --- GET /projects -----------------------------------------------------------------------


def test_projects_paginate_past_one_page_newest_first(as_lister: httpx.Client, corner: Corner) -> None:
    first = as_lister.get("/projects", params={"membership": "true", "per_page": 2})
    assert _ids(first) == sorted(corner.project_ids, reverse=True)[:2]  # created_at desc (by id)
    headers = first.headers
    pages = (headers["X-Page"], headers["X-Per-Page"], headers["X-Next-Page"], headers["X-Prev-Page"])
    assert pages == ("1", "2", "2", "")
    assert (headers["X-Total"], headers["X-Total-Pages"]) == ("5", "3")
    assert 'rel="next"' in headers["Link"] and 'rel="prev"' not in headers["Link"]
    assert "order_by=created_at" in headers["Link"] and "sort=desc" in headers["Link"]  # declared defaults

    seen = _ids(first)
    for page in (2, 3):
        resp = as_lister.get("/projects", params={"membership": "true", "per_page": 2, "page": page})
        seen += _ids(resp)
    assert seen == sorted(corner.project_ids, reverse=True)
    assert (resp.headers["X-Next-Page"], resp.headers["X-Prev-Page"]) == ("", "2")
    assert 'rel="next"' not in resp.headers["Link"] and 'rel="last"' in resp.headers["Link"]
    assert _ids(as_lister.get("/projects", params={"page": 4, "per_page": 2})) == []


def test_projects_entity_full_and_simple(as_lister: httpx.Client, corner: Corner, sandbox: Sandbox) -> None:
    full = as_lister.get("/projects", params={"per_page": 1}).json()[0]
    by_id = as_lister.get(f"/projects/{full['id']}").json()
    assert full == by_id  # the list presents the same entity as GET /projects/:id
    assert full["permissions"]["group_access"]["access_level"] == DEVELOPER
    assert full["container_registry_image_prefix"].startswith(f"{sandbox.registry_host}/{corner.group}/")
    simple = as_lister.get("/projects", params={"per_page": 1, "simple": "true"}).json()[0]
    assert list(simple)[:7] == ["id", "description", "name", "name_with_namespace", "path", "path_with_namespace",
                                "created_at"]  # fmt: skip
    assert simple["namespace"]["full_path"] == corner.group and simple["last_activity_at"] == simple["created_at"]
    assert "permissions" not in simple and "container_registry_image_prefix" not in simple


def test_projects_search_is_a_case_insensitive_substring(as_lister: httpx.Client, corner: Corner) -> None:
    suffix = corner.group.split("-")[1]
    wanted = corner.project_ids[2]
    assert _ids(as_lister.get("/projects", params={"search": f"P2-{suffix.upper()}"})) == [wanted]
    assert _ids(as_lister.get("/projects", params={"search": f"2-{suffix}"})) == [wanted]
    # Terms under 3 characters do not match partially: only a whole name or path equal to them.
    assert _ids(as_lister.get("/projects", params={"search": "p2"})) == []
    # The namespace's path is searched only with search_namespaces.
    assert _ids(as_lister.get("/projects", params={"search": corner.group})) == []
    found = as_lister.get("/projects", params={"search": f"{corner.group}/p4", "search_namespaces": "true"})
    assert _ids(found) == [corner.project_ids[4]]


def test_projects_order_by_and_sort(as_lister: httpx.Client, corner: Corner, sandbox: Sandbox) -> None:
    ids = corner.project_ids
    assert _ids(as_lister.get("/projects", params={"order_by": "id", "sort": "asc"})) == ids
    assert _ids(as_lister.get("/projects", params={"order_by": "path", "sort": "desc"})) == ids[::-1]
    world = sandbox.world
    with world.lock:  # make the oldest project the most recently active one
        world.projects[ids[0]].last_activity_at = iso(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
        world.save()
    active = _ids(as_lister.get("/projects", params={"order_by": "last_activity_at", "per_page": 2}))
    assert active == [ids[0], ids[4]]
    resp = as_lister.get("/projects", params={"order_by": "stars", "sort": "up"})
    assert (resp.status_code, resp.json()) == (400, {"error": "order_by does not have a valid value, "
                                                              "sort does not have a valid value"})  # fmt: skip
    resp = as_lister.get("/projects", params={"membership": "maybe"})
    assert resp.status_code == 400 and resp.json()["error"] == "membership is invalid"


def test_projects_only_what_the_user_can_see(sandbox: Sandbox, corner: Corner, as_lister: httpx.Client) -> None:
    # The lister sees its group's projects and nothing of group demo.
    assert sorted(_ids(as_lister.get("/projects", params={"per_page": 100}))) == corner.project_ids
    assert _ids(as_lister.get("/projects", params={"min_access_level": MAINTAINER})) == []
    assert len(_ids(as_lister.get("/projects", params={"min_access_level": REPORTER}))) == 5
    # A direct project membership elsewhere counts too.
    other = sandbox.create_project(f"solo-{_suffix()}")
    sandbox.set_member(corner.who, GUEST, project=other.id)
    assert other.id in _ids(as_lister.get("/projects", params={"membership": "true", "per_page": 100}))
    # root (admin, Owner of demo only) sees every project, but is a member of none of these.
    with api_client(sandbox, sandbox.root_token) as root:
        everything = _ids(root.get("/projects", params={"search": corner.group, "search_namespaces": "true"}))
        assert sorted(everything) == corner.project_ids
        mine = root.get("/projects", params={"search": corner.group, "search_namespaces": "true", "membership": "true"})
        assert _ids(mine) == []
    with httpx.Client(base_url=f"{sandbox.url}/api/v4") as anonymous:
        assert _ids(anonymous.get("/projects")) == []  # public projects only: the sandbox has none


# --- GET /groups -------------------------------------------------------------------------


def test_groups_filters_order_and_entity(sandbox: Sandbox, corner: Corner, as_lister: httpx.Client) -> None:
    team = f"{corner.group}/team"
    sandbox.create_group("team", parent=corner.group)
    sandbox.create_group("sub", parent=team)
    groups = as_lister.get("/groups")
    assert [g["full_path"] for g in groups.json()] == [corner.group, f"{team}/sub", team]  # order_by name
    assert groups.headers["X-Total"] == "3" and "order_by=name" in groups.headers["Link"]
    entity = groups.json()[2]
    assert {k: entity[k] for k in ("name", "path", "full_path", "full_name", "parent_id")} == {
        "name": "team", "path": "team", "full_path": team, "full_name": f"{corner.group} / team",
        "parent_id": groups.json()[0]["id"]}  # fmt: skip
    assert entity["web_url"].endswith(f"/groups/{team}") and entity == as_lister.get(f"/groups/{entity['id']}").json()

    paged = as_lister.get("/groups", params={"order_by": "id", "sort": "desc", "per_page": 2, "page": 2})
    assert [g["full_path"] for g in paged.json()] == [corner.group] and paged.headers["X-Prev-Page"] == "1"
    assert [g["path"] for g in as_lister.get("/groups", params={"search": "SUB"}).json()] == ["sub"]
    by_route = as_lister.get("/groups", params={"search": f"{corner.group}/te"})  # the full path is searched
    assert [g["path"] for g in by_route.json()] == ["sub", "team"]
    top = as_lister.get("/groups", params={"top_level_only": "true"})
    assert [g["full_path"] for g in top.json()] == [corner.group]
    assert as_lister.get("/groups", params={"min_access_level": MAINTAINER}).json() == []
    assert len(as_lister.get("/groups", params={"min_access_level": DEVELOPER}).json()) == 3
    resp = as_lister.get("/groups", params={"min_access_level": 35})
    assert (resp.status_code, resp.json()) == (400, {"error": "min_access_level does not have a valid value"})


def test_groups_visibility_for_members_admins_and_anonymous(sandbox: Sandbox, corner: Corner) -> None:
    suffix = _suffix()
    sandbox.create_user(f"outsider-{suffix}")
    sandbox.create_group("deep", parent=corner.group)
    project = sandbox.create_project(f"x-{suffix}", f"{corner.group}/deep")
    sandbox.set_member(f"outsider-{suffix}", REPORTER, project=project.id)
    with api_client(sandbox, sandbox.create_token(f"outsider-{suffix}")) as outsider:
        # A project member sees the project's group and its ancestors, nothing beside them.
        assert [g["full_path"] for g in outsider.get("/groups").json()] == [f"{corner.group}/deep", corner.group]
    with api_client(sandbox, sandbox.root_token) as root:
        found = root.get("/groups", params={"search": corner.group})  # all_available: true for admins
        assert {g["full_path"] for g in found.json()} == {corner.group, f"{corner.group}/deep"}
        assert root.get("/groups", params={"search": corner.group, "all_available": "false"}).json() == []
    with httpx.Client(base_url=f"{sandbox.url}/api/v4") as anonymous:
        assert anonymous.get("/groups").json() == []


# --- job tokens --------------------------------------------------------------------------


def test_lists_refuse_job_tokens_and_get_job_takes_them(sandbox: Sandbox, corner: Corner) -> None:
    project_id = corner.project_ids[0]
    job = sandbox.create_job_token(corner.who, project_id)
    base = f"{sandbox.url}/api/v4"
    with httpx.Client(base_url=base, headers={"JOB-TOKEN": job}) as ci:
        for path in ("/projects", "/groups"):
            resp = ci.get(path, params={"membership": "true"} if path == "/projects" else None)
            assert (resp.status_code, resp.json()) == (401, UNAUTHORIZED), path
        current = ci.get("/job")
    assert current.status_code == 200
    body = current.json()
    assert (body["status"], body["ref"], body["user"]["username"]) == ("running", "main", corner.who)
    assert body["pipeline"]["project_id"] == project_id and isinstance(body["pipeline"]["id"], int)
    assert body["web_url"].endswith(f"/{corner.group}/p0-{corner.group.split('-')[1]}/-/jobs/{body['id']}")
    assert httpx.get(f"{base}/job", params={"job_token": job}).json()["id"] == body["id"]  # the query param
    # The job_token query parameter is not looked at where job tokens are not allowed: anonymous.
    assert httpx.get(f"{base}/projects", params={"job_token": job}).json() == []

    with api_client(sandbox, corner.token) as personal:
        resp = personal.get("/job")  # authenticated, but no job behind the token
        assert (resp.status_code, resp.json()) == (404, {"message": "404 Job Not Found"})
    resp = httpx.get(f"{base}/job")
    assert (resp.status_code, resp.json()) == (401, UNAUTHORIZED)
    resp = httpx.get(f"{base}/job", headers={"JOB-TOKEN": "glcbt-not-a-job"})
    assert (resp.status_code, resp.json()) == (401, UNAUTHORIZED)
    world = sandbox.world
    with world.lock:  # the job finished: its token is dead
        token = world.find_token(job)
        assert token is not None
        token.revoked = True
        world.save()
    resp = httpx.get(f"{base}/job", headers={"JOB-TOKEN": job})
    assert (resp.status_code, resp.json()) == (401, UNAUTHORIZED)


# --- glcr's own caller -------------------------------------------------------------------


def test_shell_completion_lookups_answer_from_the_lists(sandbox: Sandbox, corner: Corner, tmp_path: Path) -> None:
    from glcr.cli.complete import Cache, Lookup

    sandbox.create_group("team", parent=corner.group)
    lookup = Lookup(sandbox.url, corner.token, None, env={"HOME": str(tmp_path)},
                    cache=Cache(str(tmp_path / "completion.json")), deadline=10)
    projects = lookup.projects(f"{corner.group}/p3")  # search + search_namespaces, last_activity_at
    assert projects == [[f"{corner.group}/p3-{corner.group.split('-')[1]}", f"p3-{corner.group.split('-')[1]}"]]
    assert len(lookup.projects("")) == 5
    assert lookup.groups(corner.group) == [[corner.group, corner.group], [f"{corner.group}/team", "team"]]
