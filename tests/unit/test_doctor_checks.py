"""`run_doctor` over httpx.MockTransport: a fake GitLab at gitlab.test and registry at registry.test.

Only the wire is fake: glcr's client factory, retry transport, token flow and checks run for real.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from datetime import date
from email.utils import formatdate

import httpx
import pytest

from glcr.credentials import Credentials, Secret, TokenKind
from glcr.doctor.checks import DoctorRequest, Probe, run_doctor
from glcr.doctor.model import DoctorReport, Status
from glcr.errors import ExitCode
from glcr.session import Session
from glcr.settings import Settings
from glcr.transport.backoff import RetryPolicy
from glcr.transport.factory import HttpOptions

TOKEN = "glpat-doctor-secret-0123"
TODAY = date(2026, 11, 27)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@dataclass
class World:
    """Knobs for one scenario; the defaults are a healthy setup."""

    now: float = 1_800_000_000.0
    registry_skew: float = 0.0  # registry clock minus GitLab clock
    scopes: list = field(default_factory=lambda: ["api"])
    expires_at: str | None = None
    token_valid: bool = True
    access_level: str = "enabled"
    role: int = 40
    grant: tuple = ("pull", "delete")
    realm: str = "https://gitlab.test/jwt/auth"
    registry_down: bool = False
    # What the registry says to a valid token: Gitlab-Container-Registry-Database-Enabled
    # (None: no such header, as older registries); /gitlab/v1/ answers 200 with it, else 404.
    database: bool | None = True
    gitlab_down: bool = False
    projects: tuple = ("group/app",)
    seen: list = field(default_factory=list)

    def date(self, offset: float = 0.0) -> str:
        return formatdate(self.now + offset, usegmt=True)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, str(request.url), dict(request.headers)))
        host, path = request.url.host, request.url.path
        if host == "gitlab.test":
            if self.gitlab_down:
                raise httpx.ConnectError("connection refused", request=request)
            return self.gitlab(request, path)
        if host == "registry.test":
            if self.registry_down:
                raise httpx.ConnectError("connection refused", request=request)
            if path in ("/v2/", "/gitlab/v1/") and request.headers.get("Authorization", "").startswith("Bearer "):
                if path == "/gitlab/v1/":
                    return httpx.Response(404 if self.database is False else 200, json={})
                extra = {} if self.database is None else {
                    "Gitlab-Container-Registry-Database-Enabled": str(self.database).lower()}
                return httpx.Response(200, json={}, headers={
                    "Gitlab-Container-Registry-Version": "4.10.0-gitlab",
                    "Gitlab-Container-Registry-Features": "tag_delete", **extra})
            if path == "/v2/":
                return httpx.Response(401, headers={
                    "Date": self.date(self.registry_skew),
                    "Docker-Distribution-API-Version": "registry/2.0",
                    "Gitlab-Container-Registry-Version": "4.10.0-gitlab",
                    "Gitlab-Container-Registry-Features": "tag_delete",
                    "WWW-Authenticate": f'Bearer realm="{self.realm}",service="container_registry"'})
        return httpx.Response(404, json={"message": "404 Not Found"})

    def gitlab(self, request: httpx.Request, path: str) -> httpx.Response:
        headers = {"Date": self.date()}
        authed = request.headers.get("PRIVATE-TOKEN") == TOKEN and self.token_valid
        if path == "/jwt/auth":
            if not self.token_valid:
                return httpx.Response(401, json={"errors": [{"code": "UNAUTHORIZED"}]}, headers=headers)
            access = []
            for scope in request.url.params.get_list("scope"):
                kind, name, actions = scope.split(":")
                access.append({"type": kind, "name": name,
                               "actions": [a for a in actions.split(",") if a in self.grant]})
            claims = {"sub": "alice", "iat": self.now, "nbf": self.now - 5, "exp": self.now + 300, "access": access}
            return httpx.Response(200, json={"token": f"{b64({'alg': 'RS256'})}.{b64(claims)}.sig"}, headers=headers)
        api = path.removeprefix("/api/v4/")
        if not authed:
            return httpx.Response(401, json={"message": "401 Unauthorized"}, headers=headers)
        if api == "version":
            return httpx.Response(200, json={"version": "17.5.0-ee"}, headers=headers)
        if api == "user":
            return httpx.Response(200, json={"username": "alice", "is_admin": False}, headers=headers)
        if api == "personal_access_tokens/self":
            return httpx.Response(200, json={"name": "laptop", "scopes": self.scopes, "active": True,
                                             "revoked": False, "expires_at": self.expires_at}, headers=headers)
        if api.startswith("projects/"):
            wanted = request.url.raw_path.decode().split("/projects/", 1)[1].split("?")[0].replace("%2F", "/")
            if wanted in self.projects:
                return httpx.Response(200, json={
                    "id": 7, "path_with_namespace": wanted,
                    "container_registry_image_prefix": f"registry.test/{wanted}",
                    "container_registry_access_level": self.access_level,
                    "permissions": {"project_access": None, "group_access": {"access_level": self.role}}},
                    headers=headers)
        if api == "projects":
            return httpx.Response(200, json=[{"path_with_namespace": "group/app",
                                              "container_registry_image_prefix": "registry.test/group/app"}],
                                  headers=headers)
        return httpx.Response(404, json={"message": "404 Not Found"}, headers=headers)


def doctor(world: World, path: str | None = "group/app/api", *, token: str | None = TOKEN,
           env: dict | None = None, registry: str | None = None) -> DoctorReport:
    creds = Credentials("https://gitlab.test", Secret(token) if token else None, TokenKind.PRIVATE,
                        "env GITLAB_TOKEN")
    http = HttpOptions(wire=httpx.MockTransport(world.handler), retry=RetryPolicy(max_attempts=1))

    async def run() -> DoctorReport:
        async with Session(creds, Settings(), http=http) as session:
            async with Probe(creds, session.http, now=lambda: world.now) as probe:
                return await run_doctor(session, probe, DoctorRequest(path, registry, env or {}, TODAY))

    return asyncio.run(run())


def by_check(report: DoctorReport) -> dict[str, list]:
    out: dict[str, list] = {}
    for result in report.results:
        out.setdefault(result.check, []).append(result)
    return out


def test_healthy_setup_passes_every_check() -> None:
    world = World()
    report = doctor(world)
    assert not report.failed, [r for r in report.results if r.status is not Status.OK]
    assert report.exit_code == 0
    checks = by_check(report)
    assert set(checks) == {"url", "token", "project", "registry", "token-flow", "registry-mode", "clock", "names"}
    assert "GitLab 17.5.0-ee" in checks["url"][0].message
    assert "alice" in checks["token"][0].message and "api" in checks["token"][0].message
    flow = [r.message for r in checks["token-flow"]]
    assert any("pull on group/app/api: granted" in m for m in flow)
    assert any("delete on group/app/api: granted" in m for m in flow)
    assert "4.10.0-gitlab" in checks["registry"][0].message
    # never a push scope: an authorized push creates the repository row in GitLab
    scopes = [u for _m, u, _h in world.seen if "/jwt/auth" in u]
    assert scopes and not any("push" in u for u in scopes)


def test_the_token_never_appears_in_results() -> None:
    report = doctor(World(token_valid=False))
    assert TOKEN not in json.dumps(report.to_dict())


def test_rejected_token_fails_with_auth_exit_code() -> None:
    report = doctor(World(token_valid=False))
    token = by_check(report)["token"][0]
    assert token.status is Status.FAIL and "rejects the token" in token.message
    assert report.exit_code == ExitCode.AUTH


def test_no_token_fails_and_says_how_to_get_one() -> None:
    report = doctor(World(), token=None)
    token = by_check(report)["token"][0]
    assert token.status is Status.FAIL and "GITLAB_TOKEN" in token.fix


def test_read_only_token_warns_and_delete_not_granted_warns() -> None:
    report = doctor(World(scopes=["read_api"], grant=("pull",)))
    assert not report.failed
    checks = by_check(report)
    assert checks["token"][0].status is Status.WARN
    delete = [r for r in checks["token-flow"] if r.message.startswith("delete")][0]
    assert delete.status is Status.WARN and "Maintainer" in delete.fix


def test_pull_not_granted_fails() -> None:
    report = doctor(World(grant=()))
    pull = [r for r in by_check(report)["token-flow"] if r.message.startswith("pull")][0]
    assert pull.status is Status.FAIL and report.exit_code == ExitCode.PERMISSION


def test_disabled_registry_fails_with_the_enable_command() -> None:
    report = doctor(World(access_level="disabled"))
    project = by_check(report)["project"][0]
    assert project.status is Status.FAIL and project.fix == "glcr registry enable group/app"


def test_developer_role_warns() -> None:
    report = doctor(World(role=30))
    assert any(r.status is Status.WARN and "Developer" in r.message for r in by_check(report)["project"])


def test_realm_on_another_host_fails_and_skips_the_token_flow() -> None:
    world = World(realm="https://evil.test/jwt/auth")
    report = doctor(world)
    checks = by_check(report)
    assert checks["registry"][0].status is Status.FAIL and "evil.test" in checks["registry"][0].message
    assert checks["token-flow"][0].status is Status.SKIP
    # the credentials never went to the other host
    assert not any("evil.test" in url for _m, url, _h in world.seen)


def test_registry_far_behind_gitlab_fails_the_clock_check() -> None:
    report = doctor(World(registry_skew=-120))
    clock = by_check(report)["clock"]
    assert clock[0].status is Status.FAIL and report.exit_code == ExitCode.AUTH


def test_unreachable_gitlab_fails_fast_and_skips_what_depends_on_it() -> None:
    report = doctor(World(gitlab_down=True))
    checks = by_check(report)
    assert checks["url"][0].status is Status.FAIL and checks["url"][0].kind is ExitCode.NETWORK
    assert checks["token"][0].status is Status.SKIP
    assert report.exit_code == ExitCode.NETWORK


def test_unreachable_registry_fails_as_network() -> None:
    report = doctor(World(registry_down=True))
    registry = by_check(report)["registry"][0]
    assert registry.status is Status.FAIL and "--insecure-registry" in registry.fix


def test_unknown_project_fails_not_found_and_names_still_checked() -> None:
    report = doctor(World(), path="nogroup/_bad/api")
    checks = by_check(report)
    assert checks["project"][0].status is Status.FAIL and checks["project"][0].kind is ExitCode.NOT_FOUND
    assert any("underscore" in r.message for r in checks["names"])


def test_image_too_deep_fails_the_names_check() -> None:
    report = doctor(World(), path="group/app/a/b/c")
    names = by_check(report)["names"]
    assert names[0].status is Status.FAIL and "3 levels below the project group/app" in names[0].message


def test_without_path_the_registry_comes_from_a_member_project_and_rights_are_skipped() -> None:
    report = doctor(World(), path=None)
    checks = by_check(report)
    assert "from project group/app" in checks["registry"][0].message
    assert checks["project"][0].status is Status.SKIP
    assert checks["token-flow"][-1].status is Status.SKIP


def test_ci_registry_names_the_registry() -> None:
    report = doctor(World(), path=None, env={"CI_REGISTRY": "registry.test"})
    assert "from CI_REGISTRY" in by_check(report)["registry"][0].message


@pytest.mark.parametrize("url_path, expected", [("/api/v4", "use --url https://gitlab.test")])
def test_api_url_instead_of_base_url(url_path: str, expected: str) -> None:
    from glcr.doctor.checks import check_url

    async def run():
        creds = Credentials("https://gitlab.test" + url_path, None, TokenKind.PRIVATE, "flag")
        async with Probe(creds, HttpOptions(wire=httpx.MockTransport(World().handler))) as probe:
            return await check_url(probe, creds.url)

    results, seen = asyncio.run(run())
    assert results[0].status is Status.FAIL and results[0].fix == expected and seen is None
