"""Tag, bulk and repository deletion behave like GitLab on a registry without the GitLab API:
Debian's distribution (the dummy-manifest delete) and GitLab's registry without its database
(deletes by tag)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time

import httpx
import pytest

from glcr.models import Project
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_image, tag_existing
from sandbox_helpers import repository_id

pytestmark = pytest.mark.parametrize("registry_kind", ["gitlab-legacy", "distribution"], indirect=True)
UTC = dt.timezone.utc
LEASE = "This request has already been made. You can run this at most once an hour for a given container repository"


def skopeo_inspect(sandbox: Sandbox, ref: str) -> subprocess.CompletedProcess[str]:
    """skopeo as an independent witness: it does the token flow against the sandbox's realm."""
    return subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", f"root:{sandbox.root_token}",
         f"docker://{sandbox.registry_host}/{ref}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_tag_delete_keeps_a_sibling_with_the_same_digest(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace
    digest = push_image(registry, repo, "v1")
    tag_existing(registry, repo, "stable", digest)
    rid = repository_id(api, project)
    resp = api.delete(f"/projects/{project.id}/registry/repositories/{rid}/tags/v1")
    assert resp.status_code == 200
    assert registry.tags(repo) == ["stable"]
    kept = api.get(f"/projects/{project.id}/registry/repositories/{rid}/tags/stable").json()
    assert kept["digest"] == digest
    if shutil.which("skopeo"):
        witness = skopeo_inspect(sandbox, f"{repo}:stable")
        assert witness.returncode == 0, witness.stderr
        assert json.loads(witness.stdout)["schemaVersion"] == 2
        assert skopeo_inspect(sandbox, f"{repo}:v1").returncode != 0
    # A reporter may not delete tags; a developer may.
    with httpx.Client(base_url=str(api.base_url), headers={"PRIVATE-TOKEN": sandbox.tokens["reporter"]}) as reporter:
        assert reporter.delete(f"/projects/{project.id}/registry/repositories/{rid}/tags/stable").status_code == 403


def test_bulk_delete_runs_later_and_once_an_hour(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace
    now = dt.datetime.now(UTC)
    for i, name in enumerate(["v1", "v2", "v3", "v4", "keep-me", "latest"]):
        push_image(registry, repo, name, created=now - dt.timedelta(days=30 - i), seed=name)
    rid = repository_id(api, project)
    url = f"/projects/{project.id}/registry/repositories/{rid}/tags"
    bad = api.delete(url, params={"name_regex_delete": "(", "keep_n": 1})
    assert (bad.status_code, bad.json()) == (400, {"error": "name_regex_delete is an invalid regexp: missing ): ("})
    missing = api.delete(url, params={"keep_n": 1})
    assert missing.json() == {"error": "name_regex, name_regex_delete are missing, at least one parameter must be provided"}
    with httpx.Client(base_url=str(api.base_url), headers={"PRIVATE-TOKEN": sandbox.tokens["developer"]}) as developer:
        assert developer.delete(url, params={"name_regex_delete": ".*"}).status_code == 403

    accepted = api.delete(url, params={"name_regex_delete": ".*", "name_regex_keep": "keep-.*", "keep_n": 1})
    assert accepted.status_code == 202
    assert sandbox.wait_idle()
    # latest is never deleted by this endpoint; keep-me matches the keep regex; v4 is the newest.
    assert registry.tags(repo) == ["keep-me", "latest", "v4"]
    again = api.delete(url, params={"name_regex_delete": ".*"})
    assert (again.status_code, again.json()) == (400, {"message": LEASE})
    sandbox.reset_leases()
    assert api.delete(url, params={"name_regex_delete": "v.*", "older_than": "1d"}).status_code == 202
    assert sandbox.wait_idle()
    assert registry.tags(repo) == ["keep-me", "latest"]


def test_repository_delete_is_asynchronous_and_removes_latest(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = f"{project.path_with_namespace}/gone"
    digest = push_image(registry, repo, "latest")
    tag_existing(registry, repo, "v1", digest)
    rid = repository_id(api, project, "gone")
    accepted = api.delete(f"/projects/{project.id}/registry/repositories/{rid}")
    assert (accepted.status_code, accepted.json()) == (202, 202)  # Grape's `status :accepted` body
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        resp = api.get(f"/registry/repositories/{rid}")
        if resp.status_code == 404:
            assert resp.json() == {"message": "404 Not found"}
            break
        if not seen or seen[-1] != resp.json()["status"]:
            seen.append(resp.json()["status"])
        time.sleep(0.05)
    else:
        pytest.fail(f"repository {rid} was not removed; states seen: {seen}")
    assert seen == ["delete_scheduled", "delete_ongoing"]
    assert not registry.tags(repo)
    # The empty repository stays gone although the registry still lists it in its catalog.
    assert "gone" not in [r["name"] for r in api.get(f"/projects/{project.id}/registry/repositories").json()]


def test_the_delete_route_follows_what_the_registry_announces(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient, registry_kind: str
) -> None:
    """Both registries answer GitLab's OPTIONS probe with `Allow: DELETE`; only GitLab's also
    announces `tag_delete` and honours a DELETE by tag. With the probe trusted, as GitLab
    trusts it, distribution refuses every tag delete (400 DIGEST_INVALID), so the REST delete
    answers 400 and the tag stays."""
    assert sandbox.ctx.mode.options_allow_delete
    assert sandbox.ctx.tag_delete is (registry_kind == "gitlab-legacy")
    repo = project.path_with_namespace
    push_image(registry, repo, "v1")
    rid = repository_id(api, project)
    config = f"{sandbox.url}/-/sandbox/config"
    httpx.put(config, json={"trust_tag_delete_probe": True}).raise_for_status()
    try:
        answer = api.delete(f"/projects/{project.id}/registry/repositories/{rid}/tags/v1").status_code
    finally:
        httpx.put(config, json={"trust_tag_delete_probe": False}).raise_for_status()
    if registry_kind == "distribution":
        assert answer == 400 and registry.tags(repo) == ["v1"]
    else:
        assert answer == 200 and not registry.tags(repo)
