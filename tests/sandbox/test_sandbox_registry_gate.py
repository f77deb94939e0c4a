"""The registry gate: tag protection refused in the registry's place, as newer GitLab registries
refuse it (401 PROTECTED_TAG / IMMUTABLE_TAG / PROTECTED_MANIFEST), from the token's own patterns."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from glcr.models import Project
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.registry_gate import decide, refusal_body
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_image


def bearer(meta: dict, name: str = "g/app") -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"access": [
        {"type": "repository", "name": name, "actions": ["pull", "push", "delete"], "meta": meta}]}).encode())
    return "Bearer x." + payload.decode().rstrip("=") + ".sig"


META = {"tag_deny_access_patterns": {"push": ["^p"], "delete": [r"v1\."]}, "tag_immutable_patterns": ["^rel"]}

# method, path, tag exists (immutable PUT), expected code
CASES = [
    ("DELETE", "/v2/g/app/manifests/v1.0", None, "PROTECTED_TAG"),
    ("DELETE", "/v2/g/app/manifests/xv1.0", None, "PROTECTED_TAG"),  # unanchored search
    ("DELETE", "/v2/g/app/manifests/v2.0", None, None),
    ("DELETE", "/v2/g/app/manifests/release", None, "IMMUTABLE_TAG"),
    ("DELETE", "/v2/g/app/manifests/sha256:" + "a" * 64, None, "PROTECTED_MANIFEST"),
    ("PUT", "/v2/g/app/manifests/p1", None, "PROTECTED_TAG"),
    ("PUT", "/v2/g/app/manifests/v1.0", None, None),  # delete-only pattern: pushing is fine
    ("PUT", "/v2/g/app/manifests/release", False, None),  # a new immutable tag may be pushed
    ("PUT", "/v2/g/app/manifests/release", True, "IMMUTABLE_TAG"),  # overwriting it may not
    ("GET", "/v2/g/app/manifests/v1.0", None, None),
    ("DELETE", "/v2/g/other/manifests/v1.0", None, None),  # another scope's patterns do not apply
]


@pytest.mark.parametrize("method,path,exists,expected", CASES)
def test_what_a_newer_registry_refuses(method, path, exists, expected) -> None:
    verdict = decide(method, path, bearer(META), exists if exists is not None else None)
    if method == "PUT" and "release" in path and exists is None:
        assert verdict == ("?", "")
        return
    assert (verdict[0] if verdict else None) == expected


def test_the_refusals_are_the_registrys_own_bodies() -> None:
    """container-registry api/v2/errors.go and handlers/manifests.go, word for word."""
    tag = decide("DELETE", "/v2/g/app/manifests/v1.0", bearer(META))
    assert tag is not None and refusal_body(*tag) == {"errors": [{
        "code": "PROTECTED_TAG", "message": "insufficient permissions to push or delete protected tag",
        "detail": 'tag "v1.0" is protected'}]}
    immutable = decide("DELETE", "/v2/g/app/manifests/release", bearer(META))
    assert immutable is not None and refusal_body(*immutable) == {"errors": [{
        "code": "IMMUTABLE_TAG", "message": "tag is immutable", "detail": 'tag "release" is immutable'}]}
    manifest = decide("DELETE", "/v2/g/app/manifests/sha256:" + "a" * 64, bearer(META))
    assert manifest is not None and refusal_body(*manifest) == {"errors": [{
        "code": "PROTECTED_MANIFEST",
        "message": "insufficient permissions to delete manifest due to tag protection or immutability policies"}]}


def test_no_patterns_no_refusal_even_by_digest() -> None:
    assert decide("DELETE", "/v2/g/app/manifests/sha256:" + "a" * 64, bearer({"project_id": 1})) is None
    assert decide("DELETE", "/v2/g/app/manifests/v1.0", "Basic abc") is None


@pytest.mark.parametrize("registry_kind", ["gitlab"], indirect=True)
def test_the_gate_refuses_a_maintainers_protected_delete_on_gitlabs_registry(
        sandbox: Sandbox, project: Project, registry: RegistryClient) -> None:
    repo = project.path_with_namespace.lower()
    for tag in ("v1.0", "v2.0"):
        push_image(registry, repo, tag, seed=tag)
    sandbox.add_tag_rule(project.id, r"^v1\.", push="maintainer", delete="owner")
    token = httpx.get(f"{sandbox.url}/jwt/auth", auth=("maintainer", sandbox.token),
                      params={"service": "container_registry", "scope": f"repository:{repo}:delete"}).json()["token"]
    with httpx.Client(base_url=f"http://{sandbox.registry_host}", headers={"Authorization": f"Bearer {token}"}) as c:
        refused = c.delete(f"/v2/{repo}/manifests/v1.0")
        assert refused.status_code == 401 and refused.json()["errors"][0]["code"] == "PROTECTED_TAG"
        assert "www-authenticate" not in refused.headers  # the handler's refusal, not a token challenge
        assert c.delete(f"/v2/{repo}/manifests/v2.0").status_code == 202  # same connection, kept alive
    assert registry.tags(repo) == ["v1.0"]
