"""One frozen Settings per run, built by the root callback from flags, environment and defaults."""

from __future__ import annotations

import dataclasses

import pytest
import typer.main

from glcr.cli.context import AppContext
from glcr.cli.main import app
from glcr.errors import InvalidInputError
from glcr.settings import DEFAULT_JOBS, DEFAULT_REGISTRY_JOBS, ENVVARS, Settings


def root_params(args: list[str], monkeypatch, env: dict[str, str] | None = None) -> dict:
    for name in ENVVARS.values():
        monkeypatch.delenv(name, raising=False)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    root = typer.main.get_command(app)
    return root.make_context("glcr", [*args, "ci-template"]).params


def test_defaults_are_named_once(monkeypatch) -> None:
    params = root_params([], monkeypatch)
    assert params["jobs"] == DEFAULT_JOBS == Settings().jobs
    assert params["registry_jobs"] == DEFAULT_REGISTRY_JOBS == Settings().registry_jobs
    assert params["insecure_registry"] is False and params["insecure"] is False


@pytest.mark.parametrize("env, field, value", [
    ({"GLCR_JOBS": "3"}, "jobs", 3),
    ({"GLCR_REGISTRY_JOBS": "40"}, "registry_jobs", 40),
    ({"GLCR_INSECURE_REGISTRY": "1"}, "insecure_registry", True),
    ({"GLCR_INSECURE_REGISTRY": "true"}, "insecure_registry", True),
    ({"GLCR_INSECURE_REGISTRY": "0"}, "insecure_registry", False),
    ({"GLCR_INSECURE": "yes"}, "insecure", True),
    ({"GLCR_JOBS": ""}, "jobs", DEFAULT_JOBS),  # empty means unset
])
def test_environment_values_are_parsed_as_the_flags_are(monkeypatch, env, field, value) -> None:
    assert root_params([], monkeypatch, env)[field] == value


def test_a_flag_wins_over_the_environment(monkeypatch) -> None:
    assert root_params(["--jobs", "5"], monkeypatch, {"GLCR_JOBS": "3"})["jobs"] == 5


def test_settings_are_frozen_and_never_show_the_token() -> None:
    settings = Settings(url="https://gitlab.example.com", token="glpat-frozen-secret", jobs=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.jobs = 9  # type: ignore[misc]
    assert "glpat-frozen-secret" not in repr(settings)
    assert settings.with_jobs(None) is settings and settings.with_jobs(12).jobs == 12 and settings.jobs == 4


@pytest.mark.parametrize("fields", [{"jobs": 0}, {"jobs": 65}, {"registry_jobs": 0}, {"registry_jobs": 129}])
def test_settings_refuse_values_no_flag_accepts(fields) -> None:
    with pytest.raises(InvalidInputError):
        Settings(**fields)


def test_app_context_reads_the_settings_and_keeps_the_old_constructor() -> None:
    ctx = AppContext(url="https://gitlab.example.com", token="t", jobs=3, env={})
    assert (ctx.settings.url, ctx.jobs, ctx.registry_jobs, ctx.env) == ("https://gitlab.example.com", 3, 16, {})
    with pytest.raises(AttributeError):
        ctx.jobs = 4  # read-only: change the run's concurrency with Settings.with_jobs
    assert AppContext(Settings(insecure=True), env={}).env == {"GLCR_INSECURE": "1"}


def test_session_options_carry_every_setting_and_the_session_copies_them() -> None:
    """doctor's own HTTP policy keeps --registry-jobs; the Session never changes what it was given."""
    import asyncio

    from glcr.credentials import Credentials, Secret, TokenKind
    from glcr.session import Session
    from glcr.transport.factory import HttpOptions

    http = HttpOptions()
    options = Settings(jobs=3, registry_jobs=40, insecure_registry=True, debug=True).session_options(http=http)
    assert (options.jobs, options.registry_jobs, options.insecure_registry, options.debug) == (3, 40, True, True)
    creds = Credentials("https://gitlab.example.com", Secret("glpat-session-secret"), TokenKind.PRIVATE, "test")

    async def build() -> Session:
        async with Session(creds, options) as session:
            return session

    session = asyncio.run(build())
    assert (session.options.http.jobs, session.options.http.debug) == (3, True)
    assert "glpat-session-secret" in session.options.http.secrets
    assert (http.jobs, http.debug, http.secrets) == (HttpOptions().jobs, False, ())
