import json

import pytest

from glcr.errors import AuthError, NetworkError, NotFoundError, PermissionDeniedError, RefusedError, for_status
from glcr.registry.manifest import dummy_config, dummy_manifest, is_dummy_manifest, parse_manifest, sha256_digest, total_layer_size
from glcr.registry.scope import jwt_claims, missing_actions, parse_challenge, scopes_for_request
from glcr.registry.client import registry_base_url


@pytest.mark.parametrize("method,path,query,expected", [
    ("GET", "/v2/g/p/manifests/v1", {}, ("repository:g/p:pull",)),
    ("HEAD", "/v2/g/p/img/blobs/sha256:x", {}, ("repository:g/p/img:pull",)),
    ("PUT", "/v2/g/p/manifests/v1", {}, ("repository:g/p:pull,push",)),
    ("DELETE", "/v2/g/p/manifests/sha256:x", {}, ("repository:g/p:delete",)),
    ("POST", "/v2/new/p/blobs/uploads/", {"from": "old/p", "mount": "sha256:x"},
     ("repository:new/p:pull,push", "repository:old/p:pull")),
    ("GET", "/v2/g/p/tags/list", {}, ("repository:g/p:pull",)),
    ("GET", "/v2/_catalog", {}, ("registry:catalog:*",)),
    ("GET", "/v2/bench/tags/tags/list", {}, ("repository:bench/tags:pull",)),
    ("PUT", "/v2/g/manifests/manifests/v1", {}, ("repository:g/manifests:pull,push",)),
    ("POST", "/v2/g/blobs/blobs/uploads/", {}, ("repository:g/blobs:pull,push",)),
    ("PATCH", "/v2/g/p/blobs/uploads/0b6c-uuid", {}, ("repository:g/p:pull,push",)),
    ("GET", "/v2/", {}, ()),
])
def test_scopes(method, path, query, expected):
    assert scopes_for_request(method, path, query) == expected


def test_challenge():
    c = parse_challenge('Bearer realm="https://gl/jwt/auth",service="container_registry",scope="repository:g/p:pull",error="insufficient_scope"')
    assert (c.scheme, c.realm, c.service, c.scope, c.error) == ("bearer", "https://gl/jwt/auth", "container_registry", "repository:g/p:pull", "insufficient_scope")
    assert parse_challenge("Basic") is None


def test_missing_actions_detects_silently_dropped_actions():
    claims = {"access": [{"type": "repository", "name": "g/p", "actions": ["pull"]}]}
    assert missing_actions(claims, ["repository:g/p:pull,push,delete"]) == [("repository", "g/p", ["push", "delete"])]
    assert missing_actions(claims, ["repository:g/p:pull"]) == []
    star = {"access": [{"type": "repository", "name": "g/p", "actions": ["*"]}]}
    assert missing_actions(star, ["repository:g/p:delete"]) == []
    assert jwt_claims("not-a-jwt") == {}


def test_placeholder_manifest_is_recognised_and_unique_per_batch():
    a, b = dummy_config("a"), dummy_config("b")
    assert sha256_digest(a) != sha256_digest(b)
    m = parse_manifest(dummy_manifest(a), None)
    assert is_dummy_manifest(m)
    gitlab_config = b'{\n  "config": {\n  }\n}'
    assert sha256_digest(gitlab_config) == "sha256:4435000728ee66e6a80e55637fc22725c256b61de344a2ecdeaac6bdb36e8bc3"
    gitlab_dummy = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                               "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 21,
                                          "digest": sha256_digest(gitlab_config)}}).encode()
    assert is_dummy_manifest(parse_manifest(gitlab_dummy, None))


def test_real_image_is_not_a_placeholder_and_sizes_add_up():
    raw = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 300, "digest": "sha256:" + "1" * 64},
                      "layers": [{"mediaType": "x", "size": 5, "digest": "sha256:" + "2" * 64},
                                 {"mediaType": "x", "size": 7, "digest": "sha256:" + "3" * 64}]}).encode()
    m = parse_manifest(raw, None)
    assert not is_dummy_manifest(m)
    assert total_layer_size(m) == 12
    index = parse_manifest(json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "x", "size": 1, "digest": "sha256:" + "4" * 64}]}).encode(), None)
    assert index.is_index and total_layer_size(index) is None


@pytest.mark.parametrize("host,url", [
    ("127.0.0.1:5000", "http://127.0.0.1:5000"), ("localhost:5000", "http://localhost:5000"),
    ("[::1]:5000", "http://[::1]:5000"), ("registry.example.com", "https://registry.example.com"),
    ("10.0.0.1:5000", "https://10.0.0.1:5000"),
])
def test_registry_scheme(host, url):
    assert registry_base_url(host) == url


@pytest.mark.parametrize("gitlab_url,insecure,url", [
    ("http://127.0.0.1:3000", False, "http://127.0.0.1:5000"),
    ("https://127.0.0.1:3443", False, "https://127.0.0.1:5000"),  # a local GitLab with TLS: its registry too
    ("https://127.0.0.1:3443", True, "http://127.0.0.1:5000"),  # --insecure-registry still wins
])
def test_a_loopback_registry_follows_a_local_gitlab_with_tls(gitlab_url, insecure, url):
    assert registry_base_url("127.0.0.1:5000", insecure=insecure, gitlab_url=gitlab_url) == url


@pytest.mark.parametrize("status,kind", [(401, AuthError), (403, PermissionDeniedError), (404, NotFoundError),
                                         (400, RefusedError), (429, NetworkError), (503, NetworkError)])
def test_status_to_error_kind(status, kind):
    assert isinstance(for_status(status, "doing"), kind)
