"""One frozen Settings per run, built by the root callback from flags, environment and defaults."""

from __future__ import annotations

import dataclasses

import pytest
import typer.main

from glcr.cli.context import AppContext
from glcr.cli.main import app
from glcr.errors import InvalidInputError
from glcr.settings import DEFAULT_JOBS, DEFAULT_REGISTRY_JOBS, ENVIRONMENT, Settings


def root_params(args: list[str], monkeypatch, env: dict[str, str] | None = None) -> dict:
    for name, var in ENVIRONMENT.items():
        if var.option:
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
    ({"GLCR_CA_FILE": "/etc/ssl/private-ca.pem"}, "ca_file", "/etc/ssl/private-ca.pem"),
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
    # --insecure travels in the credentials request, not through the environment.
    insecure = AppContext(Settings(url="http://gitlab.example.com", token="glpat-ok", insecure=True), env={})
    assert insecure.env == {} and insecure.credentials().url == "http://gitlab.example.com"
    with pytest.raises(InvalidInputError):
        AppContext(Settings(url="http://gitlab.example.com", token="glpat-ok"), env={}).credentials()


def test_every_root_option_envvar_is_in_the_one_table_help_prints() -> None:
    root = typer.main.get_command(app)
    envvars = {p.envvar for p in root.params if getattr(p, "envvar", None)}
    assert envvars and envvars <= set(ENVIRONMENT)
    assert {n for n, v in ENVIRONMENT.items() if v.option} == envvars
    assert all(name in root.epilog for name in ENVIRONMENT)


@pytest.mark.parametrize("ca_file, env, expected", [
    (None, {}, None),  # certifi's, chosen by the HTTP layer
    (None, {"SSL_CERT_FILE": "{ca}"}, "{ca}"),
    (None, {"SSL_CERT_DIR": "{dir}"}, "{dir}"),
    ("{ca}", {"SSL_CERT_FILE": "{other}"}, "{ca}"),  # --ca-file / GLCR_CA_FILE first
])
def test_one_ca_source_for_every_client(tmp_path, ca_file, env, expected) -> None:
    names = {"ca": str(tmp_path / "ca.pem"), "other": str(tmp_path / "other.pem"), "dir": str(tmp_path)}
    for name in ("ca.pem", "other.pem"):
        (tmp_path / name).write_text("")
    fill = lambda v: v.format(**names) if v else v  # noqa: E731
    settings = Settings(ca_file=fill(ca_file), env={k: fill(v) for k, v in env.items()})
    assert settings.ca_bundle() == fill(expected)


def test_a_ca_file_that_does_not_exist_is_invalid_input(tmp_path) -> None:
    with pytest.raises(InvalidInputError):
        Settings(ca_file=str(tmp_path / "missing.pem")).ca_bundle()
    with pytest.raises(InvalidInputError):
        Settings(env={"SSL_CERT_FILE": str(tmp_path / "missing.pem")}).ca_bundle()


def test_the_session_is_built_from_the_settings_and_copies_them(tmp_path) -> None:
    """Session(creds, settings): concurrency, --debug and the CA reach every client; a command's
    own HTTP policy (doctor's) is kept, and never changed."""
    import asyncio

    from glcr.credentials import Credentials, Secret, TokenKind
    from glcr.session import Session
    from glcr.transport.factory import HttpOptions

    import certifi

    ca = tmp_path / "ca.pem"
    ca.write_text(open(certifi.where()).read())
    http = HttpOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        http.jobs = 3  # type: ignore[misc]
    settings = Settings(jobs=3, registry_jobs=40, insecure_registry=True, debug=True, env={"SSL_CERT_FILE": str(ca)})
    creds = Credentials("https://gitlab.example.com", Secret("glpat-session-secret"), TokenKind.PRIVATE, "test")

    async def build() -> Session:
        async with Session(creds, settings, http=http) as session:
            return session

    session = asyncio.run(build())
    assert session.settings is settings
    assert (session.http.jobs, session.http.debug, session.http.ca_bundle) == (3, True, str(ca))
    assert "glpat-session-secret" in session.http.secrets
    assert (http.jobs, http.debug, http.secrets, http.ca_bundle) == (HttpOptions().jobs, False, (), None)


def test_a_ca_bundle_without_certificates_is_invalid_input(tmp_path) -> None:
    from glcr.transport.factory import tls_context

    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    with pytest.raises(InvalidInputError):
        tls_context(str(empty))
