"""Transfer and rename are refused while the project's registry has tags, on every registry
without the GitLab API (distribution, GitLab's without its metadata database)."""

from __future__ import annotations

import httpx
import pytest

from glcr.models import Project
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_image
from sandbox_helpers import api_client, repository_id

pytestmark = pytest.mark.parametrize("registry_kind", ["gitlab-legacy", "distribution"], indirect=True)
REFUSED = (
    'Failed to transfer project {:new_namespace=>["Project cannot be transferred, because image tags are '
    'present in its container registry"]}'
)


def test_transfer_refused_while_tags_exist(
    sandbox: Sandbox, root_api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    target = sandbox.create_group(f"target-{project.id}")
    push_image(registry, f"{project.path_with_namespace}/img", "v1")
    resp = root_api.put(f"/projects/{project.id}/transfer", json={"namespace": target.path})
    assert (resp.status_code, resp.json()) == (400, {"message": REFUSED})

    # Without tags the transfer goes through and the empty repository record moves along.
    rid = repository_id(root_api, project, "img")
    root_api.delete(f"/projects/{project.id}/registry/repositories/{rid}/tags/v1").raise_for_status()
    moved = root_api.put(f"/projects/{project.id}/transfer", json={"namespace": str(target.id)})
    assert moved.status_code == 200, moved.text
    assert moved.json()["path_with_namespace"] == f"{target.path}/{project.path}"
    repos = root_api.get(f"/projects/{project.id}/registry/repositories").json()
    assert [(r["id"], r["path"]) for r in repos] == [(rid, f"{target.path}/{project.path}/img")]


def test_transfer_permissions_and_errors(sandbox: Sandbox, api: httpx.Client, root_api: httpx.Client, project: Project) -> None:
    other = sandbox.create_group(f"other-{project.id}")
    # maintainer is only Maintainer of the project (through demo): change_namespace needs Owner.
    resp = api.put(f"/projects/{project.id}/transfer", json={"namespace": other.path})
    assert (resp.status_code, resp.json()) == (403, {"message": "403 Forbidden"})
    missing = root_api.put(f"/projects/{project.id}/transfer", json={"namespace": "no/such/group"})
    assert (missing.status_code, missing.json()) == (404, {"message": "404 Namespace Not Found"})
    same = root_api.put(f"/projects/{project.id}/transfer", json={"namespace": "demo"})
    assert same.json() == {"message": 'Failed to transfer project {:new_namespace=>["Project is already in this namespace."]}'}
    # An Owner of the project who cannot create projects in the target namespace.
    sandbox.set_member("developer", 50, project=project.id)
    with api_client(sandbox, sandbox.tokens["developer"]) as developer:
        sandbox.set_member("developer", 10, group=other.path)
        denied = developer.put(f"/projects/{project.id}/transfer", json={"namespace": other.path})
        assert denied.json()["message"].endswith(
            """["You don't have permission to transfer projects into that namespace."]}"""
        )


def test_rename_refused_while_tags_exist(api: httpx.Client, project: Project, registry: RegistryClient) -> None:
    push_image(registry, project.path_with_namespace, "v1")
    resp = api.put(f"/projects/{project.id}", json={"path": f"{project.path}-renamed"})
    assert (resp.status_code, resp.json()) == (422, {"message": "Cannot rename project because it contains container registry tags!"})
    renamed = api.put(f"/projects/{project.id}", json={"name": "Only The Display Name"})
    assert renamed.status_code == 200 and renamed.json()["path"] == project.path


def test_rename_without_tags_moves_empty_records(sandbox: Sandbox, api: httpx.Client, project: Project) -> None:
    token = sandbox.create_token("developer")
    httpx.get(  # a granted push creates the record, with no tag pushed yet
        f"{sandbox.url}/jwt/auth",
        params={"service": "container_registry", "scope": f"repository:{project.path_with_namespace}/empty:push"},
        auth=("developer", token),
    ).raise_for_status()
    resp = api.put(f"/projects/{project.id}", json={"path": f"{project.path}-new"})
    assert resp.status_code == 200
    repos = api.get(f"/projects/{project.id}/registry/repositories").json()
    assert [r["path"] for r in repos] == [f"demo/{project.path}-new/empty"]
