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


# --- credentials go only where they belong ---

import pytest as _pytest  # noqa: E402

from glcr.credentials import check_token, check_url  # noqa: E402
from glcr.errors import AuthError as _AuthError, InvalidInputError as _InvalidInputError  # noqa: E402


@_pytest.mark.parametrize("url,insecure,expected", [
    ("https://gitlab.example.com", False, "https://gitlab.example.com"),
    ("https://gitlab.example.com/api/v4", False, "https://gitlab.example.com"),
    ("https://gitlab.example.com/sub/api/v4/", False, "https://gitlab.example.com/sub"),
    ("http://127.0.0.1:8080", False, "http://127.0.0.1:8080"),
    ("http://localhost:3000/", False, "http://localhost:3000"),
    ("http://[::1]:3000", False, "http://[::1]:3000"),
    ("http://gitlab.example.com", True, "http://gitlab.example.com"),
    ("http://gitlab.example.com", False, "refusing plain http"),
    ("http://10.0.0.5", False, "refusing plain http"),
    ("ftp://gitlab.example.com", False, "scheme ftp:// is not supported"),
    ("gitlab.example.com", False, "has no scheme"),
    ("https://", False, "has no scheme"),
    ("https://:443", False, "has no host"),
])
def test_check_url(url, insecure, expected):
    if expected.startswith("http"):
        assert check_url(url, insecure=insecure) == expected
    else:
        with _pytest.raises(_InvalidInputError, match=expected):
            check_url(url, insecure=insecure)


@_pytest.mark.parametrize("token,fragment", [
    ("glpat-abc\r\n", "line break"), ("glpat-abc\n", "line break"), ("glpat-\u00e9", "never has"),
    ("glpat abc", "never has"), ("glpat-\x00", "never has"),
])
def test_check_token_refuses_what_cannot_be_a_header(token, fragment):
    with _pytest.raises(_AuthError, match=fragment) as info:
        check_token(token, "env GITLAB_TOKEN")
    assert token.strip() not in info.value.one_line()


def test_a_malformed_config_never_echoes_its_lines_and_is_skipped_when_not_needed(tmp_path):
    from glcr.credentials import CredentialRequest, resolve

    config = tmp_path / "cfg"
    config.write_text("[global]\ndefault = x\n[x]\nurl = https://gitlab.example.com\nprivate_token glpat-SECRET broken\n")
    env = {"PYTHON_GITLAB_CFG": str(config)}
    with _pytest.raises(_InvalidInputError) as info:
        resolve(CredentialRequest(config_files=(str(config),)), env, use_keyring=False)
    assert "glpat-SECRET" not in info.value.one_line() and "line 5" in info.value.one_line()
    creds = resolve(CredentialRequest(config_files=(str(config),)),
                    {**env, "GITLAB_URL": "https://gitlab.example.com", "GITLAB_TOKEN": "glpat-ok"}, use_keyring=False)
    assert creds.source == "env GITLAB_TOKEN"


def test_the_insecure_switch_comes_in_the_request_not_the_environment():
    from glcr.credentials import CredentialRequest, resolve

    env = {"GITLAB_URL": "http://gitlab.example.com", "GITLAB_TOKEN": "glpat-ok"}
    with _pytest.raises(_InvalidInputError):
        resolve(CredentialRequest(), env, use_keyring=False)
    with _pytest.raises(_InvalidInputError):  # the CLI turns GLCR_INSECURE into the request
        resolve(CredentialRequest(), {**env, "GLCR_INSECURE": "1"}, use_keyring=False)
    assert resolve(CredentialRequest(insecure=True), env, use_keyring=False).url == "http://gitlab.example.com"
