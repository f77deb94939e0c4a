"""/jwt/auth grants like GitLab, and the real registry accepts (or refuses) those tokens."""

from __future__ import annotations

import base64
import json

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import load_pem_x509_certificate

from glcr.models import Project
from glcr_sandbox.keys import decode_unverified, libtrust_key_id
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_image
from sandbox_helpers import api_client, repository_id


def token_for(sandbox: Sandbox, user: str, secret: str, *scopes: str) -> httpx.Response:
    params = [("service", "container_registry"), ("account", user)] + [("scope", s) for s in scopes]
    return httpx.get(f"{sandbox.url}/jwt/auth", params=params, auth=(user, secret))


def access(resp: httpx.Response) -> list[dict]:
    assert resp.status_code == 200, resp.text
    assert list(resp.json()) == ["token"]  # GitLab answers only `token`
    return decode_unverified(resp.json()["token"])["access"]


def test_actions_are_dropped_silently(sandbox: Sandbox, project: Project) -> None:
    scope = f"repository:{project.path_with_namespace}:pull,push,delete"
    assert access(token_for(sandbox, "maintainer", sandbox.token, scope))[0]["actions"] == ["pull", "push", "delete"]
    assert access(token_for(sandbox, "developer", sandbox.tokens["developer"], scope))[0]["actions"] == ["pull", "push"]
    assert access(token_for(sandbox, "reporter", sandbox.tokens["reporter"], scope))[0]["actions"] == ["pull"]
    write_only = sandbox.create_token("maintainer", ("write_registry",))
    assert access(token_for(sandbox, "maintainer", write_only, scope))[0]["actions"] == ["push"]
    read_only = sandbox.create_token("maintainer", ("read_registry",))
    assert access(token_for(sandbox, "maintainer", read_only, scope))[0]["actions"] == ["pull"]
    # Space-separated scopes in one parameter count as several; a scope with nothing left goes.
    both = f"repository:{project.path_with_namespace}:pull registry:catalog:*"
    granted = access(token_for(sandbox, "developer", sandbox.tokens["developer"], both))
    assert [a["name"] for a in granted] == [project.path_with_namespace]
    admin = access(token_for(sandbox, "root", sandbox.root_token, "registry:catalog:*"))
    assert admin == [{"type": "registry", "name": "catalog", "actions": ["*"]}]


def test_claims_and_signature(sandbox: Sandbox, project: Project) -> None:
    resp = token_for(sandbox, "developer", sandbox.tokens["developer"], f"repository:{project.path_with_namespace}:pull")
    token = resp.json()["token"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    claims = decode_unverified(token)
    cert = load_pem_x509_certificate(sandbox.ctx.key.cert_path.read_bytes())
    assert header == {"typ": "JWT", "alg": "RS256", "kid": libtrust_key_id(cert.public_key())}
    signing_input, signature = token.rsplit(".", 1)
    cert.public_key().verify(  # raises when the signature is wrong
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    assert (claims["iss"], claims["aud"], claims["sub"]) == ("gitlab-issuer", "container_registry", "developer")
    assert claims["nbf"] == claims["iat"] - 5 and claims["exp"] == claims["iat"] + 300
    assert claims["access"][0]["meta"]["project_id"] == project.id


def test_errors(sandbox: Sandbox, project: Project) -> None:
    bad = token_for(sandbox, "maintainer", "glpat-wrong", "repository:demo/x:pull")
    assert bad.status_code == 401 and bad.json()["errors"][0]["code"] == "UNAUTHORIZED"
    other_service = httpx.get(f"{sandbox.url}/jwt/auth", params={"service": "nope"}, auth=("maintainer", sandbox.token))
    assert (other_service.status_code, other_service.content) == (404, b"")
    anonymous = httpx.get(f"{sandbox.url}/jwt/auth", params={"service": "container_registry", "scope": f"repository:{project.path_with_namespace}:pull"})
    assert anonymous.status_code == 403
    assert anonymous.json() == {"errors": [{"code": "DENIED", "message": "access forbidden"}]}
    no_registry_scope = sandbox.create_token("maintainer", ("read_user",))
    assert token_for(sandbox, "maintainer", no_registry_scope).status_code == 403


def test_push_grant_creates_the_repository_record(sandbox: Sandbox, project: Project) -> None:
    path = f"{project.path_with_namespace}/created-by-push"
    with api_client(sandbox, sandbox.token) as api:
        before = api.get(f"/projects/{project.id}/registry/repositories").json()
        assert before == []
        access(token_for(sandbox, "developer", sandbox.tokens["developer"], f"repository:{path}:push,pull"))
        after = api.get(f"/projects/{project.id}/registry/repositories").json()
        assert [(r["name"], r["path"]) for r in after] == [("created-by-push", path)]


def test_registry_honours_the_tokens(sandbox: Sandbox, project: Project, registry: RegistryClient) -> None:
    repo = project.path_with_namespace
    digest = push_image(registry, repo, "v1")
    reporter = token_for(sandbox, "reporter", sandbox.tokens["reporter"], f"repository:{repo}:pull,delete").json()["token"]
    headers = {"Authorization": f"Bearer {reporter}"}  # granted: pull only
    assert httpx.get(f"{sandbox.registry_url}/v2/{repo}/tags/list", headers=headers).json()["tags"] == ["v1"]
    refused = httpx.delete(f"{sandbox.registry_url}/v2/{repo}/manifests/{digest}", headers=headers)
    assert refused.status_code == 401 and "insufficient_scope" in refused.headers["www-authenticate"]
    with api_client(sandbox, sandbox.token) as api:
        assert repository_id(api, project) > 0


def test_tokens_carry_the_callers_tag_protection_patterns_as_gitlab_writes_them(sandbox: Sandbox, project: Project):
    """access_metadata: deny patterns per granted push/delete action for the caller's level,
    empty for an administrator; immutable patterns (Ultimate, 18.2+) for everyone; none before 17.9."""
    scope = f"repository:{project.path_with_namespace}:pull,push,delete"

    def meta(user: str, secret: str) -> dict:
        return access(token_for(sandbox, user, secret, scope))[0]["meta"]

    assert "tag_deny_access_patterns" not in meta("developer", sandbox.tokens["developer"])  # no rule yet
    sandbox.add_tag_rule(project.id, "^m", push="maintainer", delete="owner")
    sandbox.add_tag_rule(project.id, "^frozen")  # immutable
    knobs = sandbox.ctx.knobs
    try:
        assert meta("developer", sandbox.tokens["developer"])["tag_deny_access_patterns"] == {"push": ["^m"]}
        maintainer = meta("maintainer", sandbox.token)
        assert maintainer["tag_deny_access_patterns"] == {"push": [], "delete": ["^m"]}
        assert maintainer["tag_immutable_patterns"] == ["^frozen"]
        assert meta("root", sandbox.root_token)["tag_deny_access_patterns"] == {"push": [], "delete": []}
        pull_only = access(token_for(sandbox, "reporter", sandbox.tokens["reporter"], scope))[0]["meta"]
        assert pull_only.get("tag_deny_access_patterns") == {} and "tag_immutable_patterns" not in pull_only
        knobs.licence = "premium"
        assert "tag_immutable_patterns" not in meta("maintainer", sandbox.token)
        knobs.licence, knobs.gitlab_version = "ultimate", "17.11"
        assert "tag_immutable_patterns" not in meta("maintainer", sandbox.token)  # immutable tags: 18.2
        knobs.gitlab_version = "17.8"
        assert set(meta("maintainer", sandbox.token)) == {"project_path", "project_id", "root_namespace_id"}
    finally:
        knobs.gitlab_version, knobs.licence = "18.9", "ultimate"


def test_with_admin_mode_on_an_administrators_token_needs_the_admin_mode_scope(sandbox: Sandbox, project: Project):
    """Admin Mode (application setting `admin_mode`): without the token scope `admin_mode` an
    administrator is treated as their memberships: root, Owner of demo, gets the Owner's deny
    patterns (auth service spec: "ensure that admin mode is properly enforced"), no admin-only
    route, and GraphQL redacts nothing only because Owner >= Maintainer."""
    scope = f"repository:{project.path_with_namespace}:pull,push,delete"
    sandbox.add_tag_rule(project.id, "^adm", push="admin", delete="admin")
    scoped = sandbox.create_token("root", ("api", "admin_mode"))
    world = sandbox.world
    world.settings["admin_mode"] = True
    try:
        plain = access(token_for(sandbox, "root", sandbox.root_token, scope))[0]["meta"]
        assert plain["tag_deny_access_patterns"] == {"push": ["^adm"], "delete": ["^adm"]}
        admin = access(token_for(sandbox, "root", scoped, scope))[0]["meta"]
        assert admin["tag_deny_access_patterns"] == {"push": [], "delete": []}
        settings = f"{sandbox.url}/api/v4/application/settings"
        assert httpx.get(settings, headers={"PRIVATE-TOKEN": sandbox.root_token}).status_code == 403
        assert httpx.get(settings, headers={"PRIVATE-TOKEN": scoped}).status_code == 200
        me = httpx.get(f"{sandbox.url}/api/v4/user", headers={"PRIVATE-TOKEN": sandbox.root_token}).json()
        assert me["is_admin"] is True  # the record: /user alone cannot tell whether the token acts as one
    finally:
        world.settings["admin_mode"] = False
    assert access(token_for(sandbox, "root", sandbox.root_token, scope))[0]["meta"]["tag_deny_access_patterns"] == {
        "push": [], "delete": []}
