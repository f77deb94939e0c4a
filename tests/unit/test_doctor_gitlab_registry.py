"""`glcr doctor` on GitLab's own registry as it really answers: its /v2/ 401 carries no
Gitlab-Container-Registry-* headers (only a valid token gets them), so the mode is asked with a
token (the registry-mode check: GitLab's own test); and a realm on the GitLab host but another
port or scheme fails."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from test_doctor_checks import World, by_check, doctor


@dataclass
class RealGitLabRegistry(World):
    """The registry's 401s as v3.86 sends them: a challenge, no GitLab headers."""

    def handler(self, request: httpx.Request) -> httpx.Response:
        if (request.url.host == "registry.test" and request.url.path in ("/v2/", "/gitlab/v1/")
                and not request.headers.get("Authorization", "").startswith("Bearer ")):
            self.seen.append((request.method, str(request.url), dict(request.headers)))
            return httpx.Response(401, headers={
                "Date": self.date(self.registry_skew), "Docker-Distribution-API-Version": "registry/2.0",
                "WWW-Authenticate": f'Bearer realm="{self.realm}",service="container_registry"'})
        return super().handler(request)


@pytest.mark.parametrize(
    "database, named",
    [(True, "with its metadata database"), (False, "without its metadata database"),
     (None, "with its metadata database")],  # no header: /gitlab/v1/ answers 200 to the token
)
def test_the_registry_mode_is_asked_with_a_token(database, named):
    world = RealGitLabRegistry(database=database)
    report = doctor(world)
    checks = by_check(report)
    assert "third-party" not in checks["registry"][0].message
    mode = checks["registry-mode"][0]
    assert mode.status.value == "ok" and named in mode.message
    # An anonymous probe of /gitlab/v1/ is answered 401 with or without the database: never asked.
    assert not any(url.endswith("/gitlab/v1/") and "authorization" not in {k.lower() for k in headers}
                   for _, url, headers in world.seen)


def test_without_the_database_doctor_says_what_glcr_does_there():
    report = doctor(RealGitLabRegistry(database=False))
    mode = by_check(report)["registry-mode"][0].message
    assert "third-party cleanup variant" in mode and "refuses to rename" in mode


@pytest.mark.parametrize("realm", ["https://gitlab.test:8443/jwt/auth", "http://gitlab.test/jwt/auth"])
def test_a_realm_on_another_port_or_scheme_fails(realm):
    world = RealGitLabRegistry(realm=realm)
    report = doctor(world)
    registry = by_check(report)["registry"][0]
    assert registry.status.value == "fail" and "refuses to send your GitLab credentials" in registry.message
    assert not any("/jwt/auth" in url for _, url, _ in world.seen)
