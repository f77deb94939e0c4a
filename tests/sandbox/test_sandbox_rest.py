"""The sandbox answers like GitLab's REST API: bodies, status codes, pagination headers."""

from __future__ import annotations

import datetime as dt

import httpx

from sandbox_helpers import api_client, encoded, repository_id
from glcr.models import Project
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_image, seed_many_tags, tag_existing

UTC = dt.timezone.utc


def test_user_version_and_token_self(api: httpx.Client, sandbox: Sandbox) -> None:
    assert api.get("/user").json()["username"] == "maintainer"
    assert "is_admin" not in api.get("/user").json()
    assert api.get("/version").json()["version"]
    me = api.get("/personal_access_tokens/self").json()
    assert me["scopes"] == ["api"] and me["active"] is True and me["revoked"] is False


def test_bad_expired_and_underscoped_tokens(sandbox: Sandbox) -> None:
    with api_client(sandbox, "glpat-nope") as client:
        resp = client.get("/user")
        assert (resp.status_code, resp.json()) == (401, {"message": "401 Unauthorized"})
    expired = sandbox.create_token("developer", expires_in=-1)
    with api_client(sandbox, expired) as client:
        resp = client.get("/user")
        assert resp.status_code == 401
        assert resp.json()["error"] == "invalid_token"
        assert "expired" in resp.json()["error_description"]
    read_only = sandbox.create_token("maintainer", ("read_api",))
    with api_client(sandbox, read_only) as client:
        assert client.get("/user").status_code == 200
        resp = client.put("/projects/demo%2Fnothing", json={"name": "x"})
        assert resp.status_code == 403 and resp.json()["error"] == "insufficient_scope"
    with httpx.Client(base_url=f"{sandbox.url}/api/v4") as anonymous:
        assert anonymous.get("/user").json() == {"message": "401 Unauthorized"}


def test_project_lookup_and_404(api: httpx.Client, project: Project, sandbox: Sandbox) -> None:
    by_path = api.get(f"/projects/{encoded(project)}").json()
    by_id = api.get(f"/projects/{project.id}").json()
    assert by_path == by_id
    assert by_path["path_with_namespace"] == project.path_with_namespace
    assert by_path["container_registry_image_prefix"] == f"{sandbox.registry_host}/{project.path_with_namespace}"
    assert set(by_path["container_expiration_policy"]) == {
        "cadence", "enabled", "keep_n", "older_than", "name_regex", "name_regex_keep", "next_run_at"}  # fmt: skip
    resp = api.get("/projects/demo%2Fno-such-project")
    assert (resp.status_code, resp.json()) == (404, {"message": "404 Project Not Found"})
    with api_client(sandbox, sandbox.create_token("reporter")) as reporter:
        sandbox.set_member("reporter", 0, group="demo")  # not a member any more: private projects vanish
        try:
            assert reporter.get(f"/projects/{project.id}").status_code == 404
        finally:
            sandbox.set_member("reporter", 20, group="demo")
    assert api.get("/nope").json() == {"error": "404 Not Found"}


def test_tag_pagination_past_100(api: httpx.Client, project: Project, registry: RegistryClient) -> None:
    repo = project.path_with_namespace
    names = seed_many_tags(registry, repo, 150, distinct=5)
    rid = repository_id(api, project)
    first = api.get(f"/projects/{project.id}/registry/repositories/{rid}/tags", params={"per_page": 100})
    assert first.status_code == 200 and len(first.json()) == 100
    h = first.headers
    assert (h["X-Page"], h["X-Per-Page"], h["X-Next-Page"], h["X-Prev-Page"]) == ("1", "100", "2", "")
    assert (h["X-Total"], h["X-Total-Pages"]) == ("150", "2")
    links = dict(
        (part.split("; ")[1].split('"')[1], part.split("; ")[0].strip("<>")) for part in h["Link"].split(", ")
    )
    assert set(links) == {"next", "first", "last"}
    assert links["next"].startswith(f"{api.base_url.scheme}://{api.base_url.host}:{api.base_url.port}/api/v4/projects/")
    second = httpx.get(links["next"], headers={"PRIVATE-TOKEN": api.headers["PRIVATE-TOKEN"]})
    assert second.headers["X-Page"] == "2" and second.headers["X-Next-Page"] == ""
    assert 'rel="prev"' in second.headers["Link"]
    assert [t["name"] for t in first.json() + second.json()] == sorted(names)
    assert second.json()[0] == {
        "name": names[100],
        "path": f"{repo}:{names[100]}",
        "location": f"{registry.host}/{repo}:{names[100]}",
    }
    capped = api.get(f"/projects/{project.id}/registry/repositories/{rid}/tags", params={"per_page": 500})
    assert capped.headers["X-Per-Page"] == "100" and len(capped.json()) == 100
    zero = api.get(f"/projects/{project.id}/registry/repositories/{rid}/tags", params={"per_page": 0})
    assert (zero.status_code, zero.json()) == (400, {"error": "per_page has a value not allowed"})


def test_tag_details_and_404s(api: httpx.Client, project: Project, registry: RegistryClient) -> None:
    repo = project.path_with_namespace
    created = dt.datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    digest = push_image(registry, repo, "v1", created=created, layers=2, size=100)
    tag_existing(registry, repo, "latest", digest)
    rid = repository_id(api, project)
    details = api.get(f"/projects/{project.id}/registry/repositories/{rid}/tags/v1").json()
    assert details["digest"] == digest
    assert details["created_at"] == "2024-03-01T12:30:00.000+00:00"
    assert details["total_size"] == 200
    assert len(details["revision"]) == 64 and details["short_revision"] == details["revision"][:9]
    missing = api.get(f"/projects/{project.id}/registry/repositories/{rid}/tags/nope")
    assert (missing.status_code, missing.json()) == (404, {"message": "404 Tag Not Found"})
    no_repo = api.get(f"/projects/{project.id}/registry/repositories/999999/tags")
    assert (no_repo.status_code, no_repo.json()) == (404, {"message": "404 Not found"})
    listed = api.get(f"/projects/{project.id}/registry/repositories", params={"tags": "true", "tags_count": "true"}).json()
    assert listed[0]["tags_count"] == 2 and [t["name"] for t in listed[0]["tags"]] == ["latest", "v1"]
    one = api.get(f"/registry/repositories/{rid}", params={"size": "true"}).json()
    assert one["size"] is None and one["delete_api_path"].endswith(f"/projects/{project.id}/registry/repositories/{rid}")
    group = api.get("/groups/demo/registry/repositories", params={"per_page": 100}).json()
    assert rid in [r["id"] for r in group] and "tags_count" not in group[0]


def test_expiration_policy_validation(api: httpx.Client, project: Project) -> None:
    url = f"/projects/{project.id}"
    bad = api.put(url, json={"container_expiration_policy_attributes": {"cadence": "2d", "keep_n": 7, "enabled": True, "name_regex": "("}})
    assert bad.status_code == 400
    assert bad.json() == {"message": {
        "container_expiration_policy.cadence": ["is not included in the list"],
        "container_expiration_policy.keep_n": ["is not included in the list"],
        "container_expiration_policy.name_regex": ["not valid RE2 syntax: missing ): ("],
    }}  # fmt: skip
    blank = api.put(url, json={"container_expiration_policy_attributes": {"enabled": True, "name_regex": ""}})
    assert blank.json() == {"message": {"container_expiration_policy.name_regex": ["can't be blank"]}}
    attrs = {"cadence": "1month", "enabled": True, "keep_n": 5, "older_than": "14d", "name_regex": ".*", "name_regex_keep": "v.*"}
    ok = api.put(url, json={"container_expiration_policy_attributes": attrs})
    assert ok.status_code == 200
    policy = ok.json()["container_expiration_policy"]
    assert {k: policy[k] for k in attrs} == attrs and policy["next_run_at"]
    assert api.put(url, json={"container_registry_access_level": "sometimes"}).status_code == 400
    assert api.put(url, json={"container_registry_access_level": "disabled"}).json()["container_registry_enabled"] is False
    blocked = api.get(f"/projects/{project.id}/registry/repositories")
    assert (blocked.status_code, blocked.json()) == (403, {"message": "403 Forbidden"})


def test_application_settings_are_admin_only(api: httpx.Client, root_api: httpx.Client) -> None:
    assert api.get("/application/settings").status_code == 403
    settings = root_api.get("/application/settings").json()
    assert settings["container_registry_token_expire_delay"] == 5
    assert settings["container_registry_cleanup_tags_service_max_list_size"] == 200
    bad = root_api.put("/application/settings", json={"container_registry_delete_tags_service_timeout": -1})
    assert bad.status_code == 400
    assert bad.json() == {"message": {"container_registry_delete_tags_service_timeout": ["must be greater than or equal to 0"]}}
    ok = root_api.put("/application/settings", json={"container_registry_expiration_policies_caching": False})
    assert ok.json()["container_registry_expiration_policies_caching"] is False
    root_api.put("/application/settings", json={"container_registry_expiration_policies_caching": True})
