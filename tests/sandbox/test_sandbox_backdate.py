"""`Sandbox.backdate` (and POST /-/sandbox/backdate) makes a tag as old as asked, in the terms
GitLab dates it on each registry: push time with the metadata database, the image config's
`created` without it; GitLab's own cleanup then decides on that age."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from glcr.models import Project
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import backdate, push_image, push_index, tag_existing
from sandbox_helpers import repository_id

pytestmark = pytest.mark.parametrize("registry_kind", ["gitlab", "gitlab-legacy", "distribution"], indirect=True)
UTC = dt.timezone.utc


def test_a_backdated_tag_is_what_an_age_rule_deletes(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace.lower()
    old = push_image(registry, repo, "old", seed="old")
    new = push_image(registry, repo, "new", seed="new")
    tag_existing(registry, repo, "twin", new)
    digests = sandbox.backdate(repo, {"old": dt.timedelta(days=45)})
    # Push times change no digest; a re-dated config does.
    assert (digests["old"] == old) is sandbox.ctx.gitlab_api
    rid = repository_id(api, project)
    url = f"/projects/{project.id}/registry/repositories/{rid}/tags"
    assert api.delete(url, params={"name_regex_delete": ".*", "older_than": "30d"}).status_code == 202
    assert sandbox.wait_idle()
    assert registry.tags(repo) == ["new", "twin"]
    assert registry.manifest(repo, "twin").digest == new  # type: ignore[union-attr]


def test_the_control_api_backdates_and_names_the_digests(
    sandbox: Sandbox, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace.lower()
    push_image(registry, repo, "v1")
    when = dt.datetime(2023, 3, 4, 5, 6, 7, tzinfo=UTC)
    digests = backdate(sandbox.url, repo, {"v1": when})
    assert digests == {"v1": registry.manifest(repo, "v1").digest}  # type: ignore[union-attr]
    if not sandbox.ctx.gitlab_api:
        config = json.loads(registry.blob(repo, json.loads(registry.manifest(repo, "v1").raw)["config"]["digest"]))  # type: ignore[arg-type,union-attr]
        assert config["created"] == "2023-03-04T05:06:07.000000Z"
    missing = httpx.post(f"{sandbox.url}/-/sandbox/backdate", json={"repository": repo, "times": {"nope": when.isoformat()}})
    assert missing.status_code == 404
    naive = httpx.post(f"{sandbox.url}/-/sandbox/backdate", json={"repository": repo, "times": {"v1": "2023-03-04T05:06:07"}})
    assert naive.status_code == 400


def test_a_docker_manifest_list_is_backdated_through_its_images(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    if sandbox.ctx.gitlab_api:
        pytest.skip("with the metadata database a list has a push time like any tag (the other test)")
    repo = project.path_with_namespace.lower()
    push_index(registry, repo, "multi", docker=True)
    sandbox.backdate(repo, {"multi": dt.datetime(2022, 2, 2, tzinfo=UTC)})
    rid = repository_id(api, project)
    shown = api.get(f"/projects/{project.id}/registry/repositories/{rid}/tags/multi").json()
    assert shown["created_at"] == "2022-02-02T00:00:00.000+00:00"  # the amd64 image GitLab sees
