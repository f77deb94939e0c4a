"""`glcr doctor` on GitLab's own registry as it really answers: its /v2/ 401 carries no
Gitlab-Container-Registry-* headers (only a valid token gets them), so the kind comes from
/gitlab/v1/ (GitLab's own test); and a realm on the GitLab host but another port or scheme fails."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from test_doctor_checks import World, by_check, doctor


@dataclass
class RealGitLabRegistry(World):
    """The registry's 401s as v3.86 sends them: a challenge, no GitLab headers."""

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "registry.test" and request.url.path in ("/v2/", "/gitlab/v1/"):
            self.seen.append((request.method, str(request.url), dict(request.headers)))
            return httpx.Response(401, headers={
                "Date": self.date(self.registry_skew), "Docker-Distribution-API-Version": "registry/2.0",
                "WWW-Authenticate": f'Bearer realm="{self.realm}",service="container_registry"'})
        return super().handler(request)


def test_gitlab_registry_without_headers_on_401_is_still_gitlabs():
    report = doctor(RealGitLabRegistry())
    registry = by_check(report)["registry"][0]
    assert "GitLab container registry with its metadata database" in registry.message
    assert "third-party" not in registry.message


@pytest.mark.parametrize("realm", ["https://gitlab.test:8443/jwt/auth", "http://gitlab.test/jwt/auth"])
def test_a_realm_on_another_port_or_scheme_fails(realm):
    world = RealGitLabRegistry(realm=realm)
    report = doctor(world)
    registry = by_check(report)["registry"][0]
    assert registry.status.value == "fail" and "refuses to send your GitLab credentials" in registry.message
    assert not any("/jwt/auth" in url for _, url, _ in world.seen)
