"""The sandbox on GitLab's registry without its metadata database (`gitlab-legacy`) behaves as
GitLab does with it: it finds no GitLab API (it asks with a token), so dates come from image
configs and cleanup is the third-party variant; tags are deleted by tag (the registry announces
and honours `tag_delete`); renames, transfers and tag protection rules are refused."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import httpx
import pytest

from glcr.models import Project
from glcr_sandbox.gitlab_legacy_registry import GitlabLegacyRegistryProcess
from glcr_sandbox.keys import SigningKey
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_image, seed_many_tags, tag_existing
from sandbox_fixtures import require_registry_binary
from sandbox_helpers import repository_id

pytestmark = pytest.mark.parametrize("registry_kind", ["gitlab-legacy"], indirect=True)
UTC = dt.timezone.utc


def tags_url(project: Project, rid: int, tag: str = "") -> str:
    return f"/projects/{project.id}/registry/repositories/{rid}/tags" + (f"/{tag}" if tag else "")


def bearer(sandbox: Sandbox, access: list) -> dict[str, str]:
    token = sandbox.ctx.key.registry_token(access, subject="test", expire_seconds=60)
    return {"Authorization": f"Bearer {token}"}


def test_the_registry_answers_as_probed_and_the_sandbox_reads_it_as_gitlab_does(
    sandbox: Sandbox, registry: RegistryClient
) -> None:
    url = sandbox.registry_url
    v2 = httpx.get(f"{url}/v2/", headers=bearer(sandbox, []))
    assert v2.status_code == 200
    assert v2.headers["gitlab-container-registry-features"] == "tag_delete"
    assert v2.headers["gitlab-container-registry-database-enabled"] == "false"
    # Without a token every GitLab registry says 401 here; with one, this mode says 404.
    assert httpx.get(f"{url}/gitlab/v1/").status_code == 401
    assert httpx.get(f"{url}/gitlab/v1/", headers=bearer(sandbox, [])).status_code == 404
    push_image(registry, "demo/probe", "v1")
    full = bearer(sandbox, [{"type": "repository", "name": "demo/probe", "actions": ["*"]}])
    with pytest.raises(httpx.RemoteProtocolError):  # v3.86 panics on the missing database
        httpx.get(f"{url}/gitlab/v1/repositories/demo/probe/tags/list/", headers=full)
    assert sandbox.ctx.mode.gitlab_api is False and sandbox.ctx.tag_delete is True
    assert sandbox.describe()["registry_mode"] == {
        "gitlab_api": False, "options_allow_delete": True, "features": ("tag_delete",)
    }
    settings = sandbox.world.settings
    assert (settings["container_registry_vendor"], settings["container_registry_db_enabled"]) == ("gitlab", False)


def test_rest_tag_delete_goes_by_tag_and_keeps_the_sibling(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace.lower()
    digest = push_image(registry, repo, "v1", created=dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC))
    tag_existing(registry, repo, "stable", digest)
    rid = repository_id(api, project)
    # Tag details come from the manifest and the config (no GitLab API): created_at is the build.
    shown = api.get(tags_url(project, rid, "stable")).json()
    assert (shown["digest"], shown["created_at"]) == (digest, "2024-05-06T07:08:09.000+00:00")
    assert api.delete(tags_url(project, rid, "v1")).status_code == 200
    assert registry.tags(repo) == ["stable"] and registry.manifest(repo, "stable").digest == digest  # type: ignore[union-attr]
    # No dummy manifest: the catalog's one image is the only one left, and the size is nil
    # (ContainerRepository#size needs the GitLab API).
    details = api.get(f"/registry/repositories/{rid}", params={"size": "true", "tags_count": "true"}).json()
    assert (details["tags_count"], details["size"]) == (1, None)
    # Without the GitLab API the tag is not looked up first: a missing one is "deleted" (404 ok).
    assert api.delete(tags_url(project, rid, "v1")).status_code == 200
    assert api.get(tags_url(project, rid, "v1")).status_code == 404
    # Keyset pagination needs the GitLab API.
    assert api.get(tags_url(project, rid), params={"pagination": "keyset"}).status_code == 405


def test_bulk_delete_is_the_third_party_variant_deleting_by_tag(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace.lower()
    now = dt.datetime.now(UTC)
    old = push_image(registry, repo, "old", created=now - dt.timedelta(days=40), seed="old")
    tag_existing(registry, repo, "old-kept", old)  # same digest: a tag delete leaves it alone
    push_image(registry, repo, "new", created=now - dt.timedelta(days=1), seed="new")
    rid = repository_id(api, project)
    resp = api.delete(tags_url(project, rid), params={"name_regex_delete": "(?:old|new)", "older_than": "30d"})
    assert resp.status_code == 202 and sandbox.wait_idle()
    assert registry.tags(repo) == ["new", "old-kept"]
    result = sandbox.ctx.cleanup_log[-1]
    assert (result["status"], result["deleted"], result["original_size"]) == ("success", ["old"], 3)


def test_bulk_delete_samples_max_list_size_tags_and_reports_truncation(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace.lower()
    seed_many_tags(registry, repo, 30, distinct=3)
    rid = repository_id(api, project)
    sandbox.world.settings["container_registry_cleanup_tags_service_max_list_size"] = 10
    try:
        assert api.delete(tags_url(project, rid), params={"name_regex_delete": ".*"}).status_code == 202
        assert sandbox.wait_idle()
    finally:
        sandbox.world.settings["container_registry_cleanup_tags_service_max_list_size"] = 200
    result = sandbox.ctx.cleanup_log[-1]
    assert (result["status"], result["before_truncate_size"], result["after_truncate_size"]) == ("error", 30, 10)
    assert len(registry.tags(repo) or []) == 20  # ten random ones went, one by one


def test_rename_transfer_and_tag_rules_are_refused_with_gitlabs_messages(
    sandbox: Sandbox, api: httpx.Client, root_api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    push_image(registry, f"{project.path_with_namespace.lower()}/img", "v1")
    renamed = api.put(f"/projects/{project.id}", json={"path": f"{project.path}-x"})
    assert (renamed.status_code, renamed.json()) == (
        422, {"message": "Cannot rename project because it contains container registry tags!"}
    )
    target = sandbox.create_group(f"legacy-target-{project.id}")
    moved = root_api.put(f"/projects/{project.id}/transfer", json={"namespace": target.path})
    assert (moved.status_code, moved.json()) == (400, {"message": (
        'Failed to transfer project {:new_namespace=>["Project cannot be transferred, because image tags are '
        'present in its container registry"]}'
    )})  # fmt: skip
    rule = {"tag_name_pattern": "^v", "minimum_access_level_for_push": "maintainer",
            "minimum_access_level_for_delete": "maintainer"}  # fmt: skip
    created = api.post(f"/projects/{project.id}/registry/protection/tag/rules", json=rule)
    assert (created.status_code, created.json()) == (422, {"message": "GitLab container registry API not supported"})
    assert api.get(f"/projects/{project.id}/registry/protection/tag/rules").json() == []


def test_backdate_rewrites_the_config_date_so_age_rules_see_it(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace.lower()
    digest = push_image(registry, repo, "v1")
    tag_existing(registry, repo, "v1-twin", digest)
    tag_existing(registry, repo, "other", digest)
    digests = sandbox.backdate(repo, {"v1": dt.timedelta(days=45), "v1-twin": dt.timedelta(days=45)})
    # A new image (same layers, new config) that both re-dated tags share; `other` keeps the old.
    assert digests["v1"] == digests["v1-twin"] != digest
    assert registry.manifest(repo, "other").digest == digest  # type: ignore[union-attr]
    rid = repository_id(api, project)
    created = dt.datetime.fromisoformat(api.get(tags_url(project, rid, "v1")).json()["created_at"])
    assert abs(created - (dt.datetime.now(UTC) - dt.timedelta(days=45))) < dt.timedelta(minutes=1)
    assert api.delete(tags_url(project, rid), params={"name_regex_delete": ".*", "older_than": "30d"}).status_code == 202
    assert sandbox.wait_idle()
    assert registry.tags(repo) == ["other"]


def test_the_legacy_registry_starts_fast_without_postgresql(tmp_path: Path, registry_kind: str) -> None:
    require_registry_binary(registry_kind)
    key = SigningKey.load_or_create(tmp_path / "keys")
    process = GitlabLegacyRegistryProcess(tmp_path / "reg", realm="http://127.0.0.1:1/jwt/auth", cert_path=key.cert_path)
    started = time.monotonic()
    process.start()
    try:
        took = time.monotonic() - started
        assert httpx.get(f"{process.url}/v2/").status_code == 401
        config = (tmp_path / "reg" / "config.yml").read_text()
        assert "enabled: false" in config and "redis" not in config
        assert took < 10, f"start took {took:.1f}s"
    finally:
        process.stop()
    assert process.pid is None
