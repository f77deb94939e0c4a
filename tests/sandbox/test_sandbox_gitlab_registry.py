"""The sandbox on GitLab's own registry (v3.86, metadata database) behaves as GitLab does with it:
/jwt/auth's meta.project_path, tag-only deletes, tag details from /gitlab/v1, the GitLab
cleanup variant, repository size, and renames/transfers decided by the registry's dry run."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import httpx
import pytest

from glcr.models import Project
from glcr_sandbox.gitlab_registry_process import GitlabRegistryProcess
from glcr_sandbox.keys import SigningKey, decode_unverified
from sandbox_fixtures import require_registry_binary
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_image, push_index, seed_many_tags, tag_existing
from sandbox_helpers import repository_id

pytestmark = pytest.mark.parametrize("registry_kind", ["gitlab"], indirect=True)
UTC = dt.timezone.utc


def jwt(sandbox: Sandbox, user: str, *scopes: str) -> httpx.Response:
    params = [("service", "container_registry")] + [("scope", s) for s in scopes]
    return httpx.get(f"{sandbox.url}/jwt/auth", params=params, auth=(user, sandbox.tokens[user]))


def tags_url(project: Project, rid: int, tag: str = "") -> str:
    return f"/projects/{project.id}/registry/repositories/{rid}/tags" + (f"/{tag}" if tag else "")


def test_jwt_carries_project_path_and_the_registry_takes_it(
    sandbox: Sandbox, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace.lower()
    push_image(registry, f"{repo}/api", "v1")
    scopes = [f"repository:{repo}/api:pull,push,delete", f"repository:{repo}:pull", f"repository:{repo}/*:pull"]
    resp = jwt(sandbox, "developer", *scopes)
    access = decode_unverified(resp.json()["token"])["access"]
    # `<path>/*` is no repository path (ContainerRegistry::Path#valid?): GitLab drops it for users;
    # a Developer gets pull,push but not delete; every entry names its project.
    assert [(a["name"], a["actions"]) for a in access] == [(f"{repo}/api", ["pull", "push"]), (repo, ["pull"])]
    assert {a["meta"]["project_path"] for a in access} == {repo}
    assert all(a["meta"]["project_id"] == project.id for a in access)
    token = resp.json()["token"]
    listed = httpx.get(f"{sandbox.registry_url}/gitlab/v1/repositories/{repo}/api/tags/list/",
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert listed.status_code == 200 and [t["name"] for t in listed.json()] == ["v1"]
    refused = httpx.delete(f"{sandbox.registry_url}/v2/{repo}/api/manifests/v1",
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert refused.status_code == 401 and 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    maintainer = decode_unverified(jwt(sandbox, "maintainer", scopes[0]).json()["token"])["access"]
    assert maintainer[0]["actions"] == ["pull", "push", "delete"]


def test_rest_tag_delete_is_tag_only_and_keeps_the_sibling(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace.lower()
    digest = push_image(registry, repo, "v1")
    tag_existing(registry, repo, "stable", digest)
    rid = repository_id(api, project)
    assert api.delete(tags_url(project, rid, "v1")).status_code == 200
    assert registry.tags(repo) == ["stable"]
    assert registry.manifest(repo, "stable").digest == digest  # type: ignore[union-attr]
    # No dummy manifest was pushed: the repository holds exactly the one image.
    details = api.get(f"/registry/repositories/{rid}", params={"size": "true", "tags_count": "true"}).json()
    assert details["tags_count"] == 1 and details["size"] > 0
    # With the GitLab API a missing tag is nil, and authorizing on nil is a 403.
    assert api.delete(tags_url(project, rid, "v1")).status_code == 403
    assert api.get(tags_url(project, rid, "v1")).status_code == 404


def test_tag_details_come_from_the_gitlab_api(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace.lower()
    image = push_image(registry, repo, "v1", created=dt.datetime(2020, 1, 1, tzinfo=UTC), oci=True)
    tag_existing(registry, repo, "v1-alias", image)
    index = push_index(registry, repo, "multi")
    pushed = dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    sandbox.set_push_times(repo, {"v1": pushed})
    rid = repository_id(api, project)
    listed = httpx.get(f"{sandbox.registry_url}/gitlab/v1/repositories/{repo}/tags/list/",
                       headers=registry._auth("repository", repo)).json()  # fmt: skip
    raw = {t["name"]: t for t in listed}
    v1 = api.get(tags_url(project, rid, "v1")).json()
    # created_at is the push time from the registry's database, not the config's `created`.
    assert v1["created_at"] == "2024-05-06T07:08:09.123+00:00"
    assert (v1["digest"], v1["total_size"]) == (image, raw["v1"]["size_bytes"])
    assert v1["revision"] == raw["v1"]["config_digest"].split(":")[1] and v1["short_revision"] == v1["revision"][:9]
    assert v1["location"] == f"{sandbox.registry_host}/{repo}:v1"
    multi = api.get(tags_url(project, rid, "multi")).json()
    assert multi["digest"] == index and multi["revision"] == "" and multi["total_size"] == raw["multi"]["size_bytes"]
    # The registry's name filter matches substrings; GitLab keeps the exact match only.
    assert api.get(tags_url(project, rid, "v")).status_code == 404


def test_tag_lists_page_through_the_gitlab_api(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace.lower()
    names = seed_many_tags(registry, repo, 230, distinct=10)
    rid = repository_id(api, project)
    offset = api.get(tags_url(project, rid), params={"per_page": 100, "page": 3})
    assert offset.headers["X-Total"] == "230" and [t["name"] for t in offset.json()] == names[200:]
    seen, url, params = [], tags_url(project, rid), {"pagination": "keyset", "per_page": 100, "sort": "desc"}
    while url:
        page = api.get(url, params=params)
        assert page.status_code == 200 and "X-Total" not in page.headers
        seen += [t["name"] for t in page.json()]
        url, params = page.links.get("next", {}).get("url"), None
    assert seen == sorted(names, reverse=True)


def test_bulk_delete_is_gitlabs_own_variant(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace.lower()
    now = dt.datetime.now(UTC)
    ages = {"a": 50, "b": 40, "c": 30, "d": 2, "latest": 90}
    for name in ages:
        push_image(registry, repo, name, seed=name, created=now)  # build dates all "now"
    tag_existing(registry, repo, "a-sibling", registry.manifest(repo, "a").digest)  # type: ignore[union-attr]
    sandbox.set_push_times(repo, {n: now - dt.timedelta(days=d) for n, d in ages.items()})
    sandbox.reset_leases()
    rid = repository_id(api, project)
    resp = api.delete(tags_url(project, rid), params={"name_regex_delete": "[a-d]", "keep_n": "1", "older_than": "20d"})
    assert resp.status_code == 202
    assert sandbox.wait_idle()
    # Push times decide: d is the newest (kept by keep_n), a/b/c are older than 20 days; `latest`
    # never goes; a-sibling does not match and keeps a's image.
    assert registry.tags(repo) == ["a-sibling", "d", "latest"]
    entry = sandbox.ctx.cleanup_log[-1]
    assert (entry["status"], entry["original_size"], sorted(entry["deleted"])) == ("success", 6, ["a", "b", "c"])


def test_rename_with_tags_goes_through_the_registry(
    sandbox: Sandbox, root_api: httpx.Client, registry: RegistryClient
) -> None:
    old = sandbox.create_project(f"ren-{uuid.uuid4().hex[:6]}")
    old_path = f"demo/{old.path}"
    push_image(registry, old_path, "v1")
    push_image(registry, f"{old_path}/api", "v2")
    sandbox.sync()
    taken = f"taken-{uuid.uuid4().hex[:6]}"
    push_image(registry, f"demo/{taken}", "x")  # a registry repository already at that path
    refused = root_api.put(f"/projects/{old.id}", json={"path": taken})
    assert refused.status_code == 422 and refused.json()["message"] == (
        "Cannot rename project, the container registry path rename validation failed: Name Taken"
    )
    assert sandbox.world.projects[old.id].path == old.path
    new = f"renamed-{uuid.uuid4().hex[:6]}"
    done = root_api.put(f"/projects/{old.id}", json={"path": new})
    assert done.status_code == 200 and done.json()["path_with_namespace"] == f"demo/{new}"
    assert registry.tags(f"demo/{new}") == ["v1"] and registry.tags(f"demo/{new}/api") == ["v2"]
    assert not registry.tags(old_path)
    repos = root_api.get(f"/projects/{old.id}/registry/repositories").json()
    assert sorted(r["path"] for r in repos) == [f"demo/{new}", f"demo/{new}/api"]


def test_transfer_with_tags_asks_the_registry(
    sandbox: Sandbox, root_api: httpx.Client, registry: RegistryClient
) -> None:
    project = sandbox.create_project(f"tr-{uuid.uuid4().hex[:6]}")
    push_image(registry, f"demo/{project.path}", "v1")
    sandbox.sync()
    elsewhere = sandbox.create_group(f"other-{uuid.uuid4().hex[:6]}")
    inside = sandbox.create_group(f"sub-{uuid.uuid4().hex[:6]}", parent="demo")
    other_root = root_api.put(f"/projects/{project.id}/transfer", json={"namespace": elsewhere.id})
    assert other_root.status_code == 400 and "to a different top-level namespace, because image tags" in (
        other_root.json()["message"]
    )
    same_root = root_api.put(f"/projects/{project.id}/transfer", json={"namespace": inside.id})
    if same_root.status_code == 200:  # a registry with the move API (after v3.86)
        assert registry.tags(f"demo/{inside.path}/{project.path}") == ["v1"]
    else:  # v3.86 has rename only: its dry run answers 400, which GitLab reports
        assert same_root.status_code == 400 and (
            "Project cannot be transferred because of a container registry error: Bad Request"
            in same_root.json()["message"]
        )
        assert sandbox.world.projects[project.id].namespace_id != inside.id
    no_tags = sandbox.create_project(f"tr-empty-{uuid.uuid4().hex[:6]}")
    assert root_api.put(f"/projects/{no_tags.id}/transfer", json={"namespace": elsewhere.id}).status_code == 200


def test_settings_name_the_registry(sandbox: Sandbox, root_api: httpx.Client) -> None:
    settings = root_api.get("/application/settings").json()
    assert settings["container_registry_vendor"] == "gitlab"
    assert settings["container_registry_db_enabled"] is True
    assert "tag_delete" in settings["container_registry_features"]


def test_the_process_stops_everything(tmp_path: Path, registry_kind: str) -> None:
    require_registry_binary("gitlab")
    key = SigningKey.load_or_create(tmp_path / "keys")
    proc = GitlabRegistryProcess(tmp_path / "reg", realm="http://127.0.0.1:9/jwt/auth", cert_path=key.cert_path)
    proc.start()
    pids, temp = proc.pids, proc.temp_dir
    try:
        assert set(pids) == {"postgres", "redis", "registry"} and temp is not None and temp.exists()
        assert httpx.get(f"{proc.url}/v2/").status_code == 401
    finally:
        proc.stop()
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not temp.exists()
    assert (tmp_path / "reg" / "pgdata.tar").exists()  # the database, kept for the next start


LAUNCHER = """
import json, sys, time
from pathlib import Path
from glcr_sandbox.keys import SigningKey
from glcr_sandbox.gitlab_registry_process import GitlabRegistryProcess
root = Path(sys.argv[1])
key = SigningKey.load_or_create(root / "keys")
proc = GitlabRegistryProcess(root / "reg", realm="http://127.0.0.1:9/jwt/auth", cert_path=key.cert_path)
proc.start()
print(json.dumps({"pids": proc.pids, "tmp": str(proc.temp_dir)}), flush=True)
time.sleep(300)
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"  # a zombie waiting for init is gone for our purposes


def test_a_killed_launcher_leaves_nothing_after_the_next_start(tmp_path: Path, registry_kind: str) -> None:
    require_registry_binary("gitlab")
    import json
    import signal
    import subprocess
    import sys
    import time

    from glcr_sandbox.gitlab_registry_process import reap_orphans

    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        started = json.loads(launcher.stdout.readline())  # type: ignore[union-attr]
    finally:
        launcher.send_signal(signal.SIGKILL)
        launcher.wait()
    temp = Path(started["tmp"])
    assert temp.exists() and not any(_gone(pid) for pid in started["pids"].values())
    reap_orphans()  # what every start does first (another test session's start may beat us to it)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(_gone(pid) for pid in started["pids"].values()):
        time.sleep(0.05)
    assert all(_gone(pid) for pid in started["pids"].values()) and not temp.exists()


def test_control_api_backdates_push_times(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    from glcr_sandbox.seed import set_push_times

    repo = project.path_with_namespace.lower()
    push_image(registry, repo, "v1")
    rid = repository_id(api, project)
    set_push_times(sandbox.url, repo, {"v1": dt.datetime(2023, 3, 4, 5, 6, 7, tzinfo=UTC)})
    assert api.get(tags_url(project, rid, "v1")).json()["created_at"] == "2023-03-04T05:06:07.000+00:00"
    missing = httpx.post(f"{sandbox.url}/-/sandbox/push-times",
                         json={"repository": repo, "times": {"nope": "2023-01-01T00:00:00Z"}})  # fmt: skip
    assert missing.status_code == 404 and "only 0 of 1" in missing.json()["message"]
