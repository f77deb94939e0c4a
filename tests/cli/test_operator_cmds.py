"""The operator's kit: doctor, registry enable/disable, admin cleanup-limits, ci-template, Dockerfile.

Three layers:
* doctor's CLI over httpx.MockTransport (the fake world of tests/unit/test_doctor_checks.py);
* pure validation and error translation;
* end to end against the GitLab API sandbox over the real docker-registry (marked e2e; skipped
  when /usr/bin/docker-registry is missing, except in CI).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from glcr.cli import admin_cmd, ci_cmd, doctor_cmd, registry_cmd
from glcr.errors import (AuthError, ExitCode, GlcrError, InvalidInputError, NetworkError, NotFoundError,
                         PermissionDeniedError, UsageError)
from sandbox_fixtures import project, sandbox  # noqa: F401 (fixtures)
import sandbox_fixtures as _fixtures

if hasattr(_fixtures, "registry_kind"):  # the sandbox runs once per registry kind
    registry_kind = _fixtures.registry_kind
from glcr.transport.backoff import RetryPolicy
from glcr.transport.factory import HttpOptions
ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _fakes():
    """The fake GitLab + registry of tests/unit/test_doctor_checks.py (tests/ is no package)."""
    spec = importlib.util.spec_from_file_location("doctor_fakes", ROOT / "tests" / "unit" / "test_doctor_checks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_FAKES = _fakes()
TOKEN, World = _FAKES.TOKEN, _FAKES.World


def code(result) -> int:
    """The exit code glcr's entry point would give: CliRunner on a sub-app sees the GlcrError itself."""
    if isinstance(result.exception, GlcrError):
        return int(result.exception.exit_code)
    return result.exit_code


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No token, URL or python-gitlab config from the machine running the tests."""
    for name in ("GITLAB_URL", "GITLAB_TOKEN", "GITLAB_PRIVATE_TOKEN", "CI_JOB_TOKEN", "CI_SERVER_URL",
                 "CI_REGISTRY", "PYTHON_GITLAB_CFG", "GLCR_JOBS", "GLCR_INSECURE_REGISTRY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")
    return monkeypatch


# --------------------------------------------------------------------------- doctor over a fake wire


@pytest.fixture
def fake_world(clean_env: pytest.MonkeyPatch) -> World:
    world = World()
    clean_env.setattr(doctor_cmd, "http_options",
                      lambda: HttpOptions(wire=httpx.MockTransport(world.handler), retry=RetryPolicy(max_attempts=1)))
    clean_env.setenv("GITLAB_URL", "https://gitlab.test")
    clean_env.setenv("GITLAB_TOKEN", TOKEN)
    return world


def test_doctor_json_on_stdout_exit_0_when_healthy(fake_world: World) -> None:
    result = runner.invoke(doctor_cmd.app, ["group/app/api", "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["url"] == "https://gitlab.test"
    assert {c["check"] for c in data["checks"]} >= {"url", "token", "registry", "token-flow", "clock", "names"}
    assert all(set(c) == {"check", "status", "message", "fix"} for c in data["checks"])


def test_doctor_table_shows_each_fix_and_exits_with_the_failure_kind(fake_world: World) -> None:
    fake_world.access_level = "disabled"
    result = runner.invoke(doctor_cmd.app, ["group/app/api"])
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "FAIL" in result.stdout and "fix: glcr registry enable group/app" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_doctor_plain_is_one_tab_separated_line_per_result(fake_world: World) -> None:
    result = runner.invoke(doctor_cmd.app, ["group/app", "-o", "plain"])
    lines = result.stdout.splitlines()
    assert lines and all(len(line.split("\t")) == 4 for line in lines)


def test_doctor_rejected_token_exits_5(fake_world: World) -> None:
    fake_world.token_valid = False
    result = runner.invoke(doctor_cmd.app, ["group/app", "-o", "json"])
    assert result.exit_code == ExitCode.AUTH
    assert TOKEN not in result.stdout


# --------------------------------------------------------------------------- pure parts


def test_cleanup_limits_validation_collects_every_problem_and_sends_nothing() -> None:
    from glcr.project_settings.cleanup_limits import validate

    with pytest.raises(InvalidInputError) as caught:
        validate({"worker-capacity": -1, "token-expire-delay": 0, "caching": "maybe", "delete-timeout": "1.5"})
    text = caught.value.one_line()
    for option in ("--worker-capacity", "--token-expire-delay", "--caching", "--delete-timeout"):
        assert option in text
    assert "nothing was sent" in text


def test_cleanup_limits_validation_types_and_keys() -> None:
    from glcr.project_settings.cleanup_limits import advice, diff, validate

    clean = validate({"worker-capacity": "0", "container_registry_token_expire_delay": 90, "caching": "off"})
    assert clean == {"container_registry_expiration_policies_worker_capacity": 0,
                     "container_registry_token_expire_delay": 90,
                     "container_registry_expiration_policies_caching": False}
    assert len(advice(clean)) == 2  # capacity 0 stops cleanup; 90-minute tokens
    current = {"container_registry_expiration_policies_worker_capacity": 0,
               "container_registry_token_expire_delay": 5, "container_registry_expiration_policies_caching": True}
    assert [c.key for c in diff(current, clean)] == ["container_registry_expiration_policies_caching",
                                                      "container_registry_token_expire_delay"]
    with pytest.raises(UsageError):  # no option given: a bad command line (2)
        validate({})
    with pytest.raises(InvalidInputError):
        validate({"no-such-setting": 1})


def test_python_gitlab_errors_become_glcr_kinds_without_the_token() -> None:
    import requests
    from gitlab import exceptions as gle

    from glcr.gitlab.rest import translate

    secret = "glpat-super-secret"
    auth = translate(gle.GitlabAuthenticationError(f"bad token {secret}", 401), "reading x", (secret,))
    assert isinstance(auth, AuthError) and secret not in auth.one_line()
    assert isinstance(translate(gle.GitlabGetError("404 Project Not Found", 404), "reading x"), NotFoundError)
    denied = translate(gle.GitlabUpdateError("403 Forbidden", 403), "changing the application settings")
    assert isinstance(denied, PermissionDeniedError) and "administrator" in denied.hint
    assert isinstance(translate(requests.exceptions.ConnectionError("boom"), "reading x"), NetworkError)
    field_errors = translate(gle.GitlabUpdateError({"container_registry_access_level": ["is invalid"]}, 400), "x")
    assert "container_registry_access_level is invalid" in field_errors.one_line()
    assert "\n" not in field_errors.one_line()


def test_access_level_from_old_and_new_gitlab() -> None:
    from glcr.project_settings.access import AccessLevel, level_of

    assert level_of({"container_registry_access_level": "private"}) is AccessLevel.PRIVATE
    assert level_of({"container_registry_enabled": False}) is AccessLevel.DISABLED
    assert level_of({}) is AccessLevel.ENABLED


# --------------------------------------------------------------------------- ci-template, Dockerfile


@pytest.mark.parametrize("token", ["job", "project"])
def test_ci_template_is_a_scheduled_job_running_glcr_cleanup(token: str) -> None:
    result = runner.invoke(ci_cmd.app, ["--token", token, "--image", "reg.example/tools/glcr:1"])
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(result.stdout)
    job = doc["glcr-cleanup"]
    assert job["image"] == "reg.example/tools/glcr:1"
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert job["script"][-1].startswith('glcr cleanup run "$CI_PROJECT_PATH" --yes')
    assert job["script"][0].startswith("glcr doctor")
    assert job["resource_group"]
    if token == "project":
        assert job["variables"]["GITLAB_TOKEN"] == "$GLCR_TOKEN"
    else:
        assert "GITLAB_TOKEN" not in job["variables"]  # it would win over CI_JOB_TOKEN
        assert "CI_JOB_TOKEN" in result.stdout
        # a job token cannot read the saved policy: the job carries it
        assert '--name-regex "$GLCR_NAME_REGEX"' in job["script"][-1] and job["variables"]["GLCR_KEEP_N"] == "5"


def test_ci_template_default_image_names_this_version() -> None:
    from glcr import __version__

    doc = yaml.safe_load(runner.invoke(ci_cmd.app, ["--project", "g/p", "--token", "project",
                                                    "--args", "--repo g/p/api"]).stdout)
    job = doc["glcr-cleanup"]
    assert job["image"].endswith(f"/glcr:{__version__}")
    assert job["script"][-1] == 'glcr cleanup run "g/p" --yes --repo g/p/api'
    assert job["resource_group"] == "glcr-cleanup-g-p"


def test_dockerfile_is_coherent_with_the_repository() -> None:
    text = (ROOT / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert instructions[0] == "FROM"
    # everything it copies exists, and it installs the project itself
    for line in text.splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    assert "pip install" in text and text.count("FROM python:3.11-slim") == 2
    assert "USER glcr" in text and "ENTRYPOINT" not in instructions
    assert 'CMD ["glcr"' in text
    # the console script it relies on is declared
    assert 'glcr = "' in (ROOT / "pyproject.toml").read_text()


# --------------------------------------------------------------------------- end to end (sandbox)


@pytest.fixture
def sandbox_env(clean_env: pytest.MonkeyPatch, sandbox):  # noqa: F811
    clean_env.setenv("GITLAB_URL", sandbox.url)
    clean_env.setenv("GITLAB_TOKEN", sandbox.token)
    return sandbox


@pytest.mark.e2e
def test_e2e_doctor_on_a_healthy_sandbox_project(sandbox_env, project) -> None:  # noqa: F811
    result = runner.invoke(doctor_cmd.app, [project.path_with_namespace, "-o", "json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 0, [c for c in data["checks"] if c["status"] != "ok"]
    flow = [c["message"] for c in data["checks"] if c["check"] == "token-flow"]
    assert any("pull" in m and "granted" in m for m in flow)
    assert any("delete" in m and "granted" in m for m in flow)
    assert sandbox_env.token not in result.stdout


@pytest.mark.e2e
def test_e2e_doctor_flags_a_too_deep_image(sandbox_env, project) -> None:  # noqa: F811
    result = runner.invoke(doctor_cmd.app, [f"{project.path_with_namespace}/a/b/c", "-o", "json"])
    assert result.exit_code != 0
    names = [c for c in json.loads(result.stdout)["checks"] if c["check"] == "names"]
    assert names[0]["status"] == "fail" and "levels below the project" in names[0]["message"]


@pytest.mark.e2e
def test_e2e_registry_disable_asks_then_disables_and_enable_restores(sandbox_env, project) -> None:  # noqa: F811
    path = project.path_with_namespace
    # not a terminal and no --yes: refused, nothing changed
    refused = runner.invoke(registry_cmd.app, ["disable", path])
    assert code(refused) == ExitCode.ABORTED
    assert json.loads(runner.invoke(registry_cmd.app, ["show", path, "-o", "json"]).stdout)[
        "container_registry_access_level"] == "enabled"
    dry = runner.invoke(registry_cmd.app, ["disable", path, "--dry-run"])
    assert dry.exit_code == 0 and "Dry run" in dry.stderr

    done = runner.invoke(registry_cmd.app, ["disable", path, "--yes", "-o", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["container_registry_access_level"] == "disabled"
    doctor = runner.invoke(doctor_cmd.app, [path, "-o", "json"])
    assert doctor.exit_code == ExitCode.NOT_FOUND
    assert any(c["fix"] == f"glcr registry enable {path}" for c in json.loads(doctor.stdout)["checks"])

    private = runner.invoke(registry_cmd.app, ["enable", path, "--private", "-o", "json"])
    assert private.exit_code == 0, private.output  # disabled -> private widens access: no question
    assert json.loads(private.stdout)["container_registry_access_level"] == "private"
    enabled = runner.invoke(registry_cmd.app, ["enable", path, "-o", "json"])
    assert json.loads(enabled.stdout)["container_registry_access_level"] == "enabled"
    again = runner.invoke(registry_cmd.app, ["enable", path])
    assert again.exit_code == 0 and "already" in again.stderr


@pytest.mark.e2e
def test_e2e_registry_commands_on_a_missing_project_exit_4(sandbox_env) -> None:
    result = runner.invoke(registry_cmd.app, ["show", "demo/does-not-exist"])
    assert code(result) == ExitCode.NOT_FOUND
    assert isinstance(result.exception, NotFoundError)


@pytest.mark.e2e
def test_e2e_admin_cleanup_limits_show_set_and_refuse(sandbox_env, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("GITLAB_TOKEN", sandbox_env.root_token)
    shown = runner.invoke(admin_cmd.app, ["cleanup-limits", "show", "-o", "json"])
    assert shown.exit_code == 0, shown.output
    before = json.loads(shown.stdout)
    assert set(before) == {"container_registry_expiration_policies_worker_capacity",
                           "container_registry_delete_tags_service_timeout",
                           "container_registry_cleanup_tags_service_max_list_size",
                           "container_registry_expiration_policies_caching",
                           "container_registry_token_expire_delay"}

    new_delay = before["container_registry_token_expire_delay"] + 10
    changed = runner.invoke(admin_cmd.app, ["cleanup-limits", "set", "--token-expire-delay", str(new_delay),
                                            "--no-caching", "--yes", "-o", "json"])
    assert changed.exit_code == 0, changed.output
    after = json.loads(changed.stdout)
    assert after["container_registry_token_expire_delay"] == new_delay
    assert after["container_registry_expiration_policies_caching"] is False
    assert "before" in changed.stderr and "after" in changed.stderr  # the before/after table

    try:
        # invalid values are refused before anything is sent
        bad = runner.invoke(admin_cmd.app, ["cleanup-limits", "set", "--token-expire-delay", "0", "--yes"])
        assert code(bad) == ExitCode.INVALID_INPUT
        negative = runner.invoke(admin_cmd.app, ["cleanup-limits", "set", "--worker-capacity", "-1", "--yes"])
        assert isinstance(negative.exception, InvalidInputError), negative.output

        # a non-admin token is refused by GitLab: permission kind, no token in the message
        clean_env.setenv("GITLAB_TOKEN", sandbox_env.token)
        denied = runner.invoke(admin_cmd.app, ["cleanup-limits", "set", "--worker-capacity", "2", "--yes"])
        assert isinstance(denied.exception, PermissionDeniedError), denied.output
        assert sandbox_env.token not in denied.exception.one_line()
    finally:
        clean_env.setenv("GITLAB_TOKEN", sandbox_env.root_token)
        runner.invoke(admin_cmd.app, ["cleanup-limits", "set", "--token-expire-delay",
                                      str(before["container_registry_token_expire_delay"]),
                                      "--caching", "--yes"])


def test_invalid_limits_exit_3_without_any_request(clean_env: pytest.MonkeyPatch) -> None:
    # A URL nobody listens on: reaching it would be a network error (7), not 3.
    clean_env.setenv("GITLAB_URL", "http://127.0.0.1:9")
    clean_env.setenv("GITLAB_TOKEN", "x")
    result = runner.invoke(admin_cmd.app, ["cleanup-limits", "set", "--delete-timeout", "-5", "--yes"])
    assert code(result) == ExitCode.INVALID_INPUT
