import pytest

from glcr.credentials import CredentialRequest, Secret, TokenKind, resolve
from glcr.errors import InvalidInputError


def res(env, **kw):
    return resolve(CredentialRequest(config_files=("/nonexistent.cfg",), **kw), env, use_keyring=False)


def test_flag_beats_environment():
    c = res({"GITLAB_TOKEN": "env"}, token_flag="flag")
    assert c.token.reveal() == "flag" and c.source == "flag"


def test_environment_order_and_url_default():
    c = res({"GITLAB_PRIVATE_TOKEN": "b"})
    assert (c.token.reveal(), c.url, c.kind) == ("b", "https://gitlab.com", TokenKind.PRIVATE)
    c = res({"GITLAB_TOKEN": "a", "GITLAB_PRIVATE_TOKEN": "b", "GITLAB_URL": "https://gl.example/"})
    assert (c.token.reveal(), c.url) == ("a", "https://gl.example")


def test_ci_job_token():
    c = res({"CI_JOB_TOKEN": "job", "CI_SERVER_URL": "https://ci.example", "CI_REGISTRY_USER": "gitlab-ci-token",
             "CI_REGISTRY_PASSWORD": "pw"})
    assert c.kind is TokenKind.JOB and c.url == "https://ci.example"
    assert c.api_headers() == {"JOB-TOKEN": "job"}
    assert c.registry_user == "gitlab-ci-token" and c.registry_password.reveal() == "pw"


def test_python_gitlab_config_file(tmp_path):
    cfg = tmp_path / "pg.cfg"
    cfg.write_text("[global]\ndefault = work\n\n[work]\nurl = https://work.example\nprivate_token = cfgtoken\n"
                   "\n[other]\nurl = https://other.example\nprivate_token = other\n")
    c = resolve(CredentialRequest(config_files=(str(cfg),)), {}, use_keyring=False)
    assert (c.url, c.token.reveal(), c.source) == ("https://work.example", "cfgtoken", "config [work]")
    c = resolve(CredentialRequest(config_files=(str(cfg),), config_section="other"), {}, use_keyring=False)
    assert (c.url, c.token.reveal()) == ("https://other.example", "other")


def test_bad_url_is_invalid_input():
    with pytest.raises(InvalidInputError):
        res({"GITLAB_URL": "gitlab.example.com", "GITLAB_TOKEN": "x"})


def test_secret_never_prints():
    s = Secret("glpat-verysecret")
    assert "verysecret" not in repr(s) + str(s) + f"{s}" + repr([s]) + repr({"t": s})
