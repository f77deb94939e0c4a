"""Isolation for every test: glcr must not see the developer's GitLab, tokens, config or terminal.

A test that passes here because of the machine's ~/.python-gitlab.cfg, a GITLAB_TOKEN in the
shell, a wide terminal or a keyring with a real token would fail in CI, or worse, talk to a real
GitLab. So, once per test process, before any fixture starts a sandbox:
- HOME and the XDG directories point into a fresh temporary directory (config, state, keyring);
- every variable glcr, python-gitlab, the CI integration or the TLS policy reads is removed;
- colour and width come from glcr's defaults (no FORCE_COLOR, COLUMNS or LINES);
- the keyring is the null backend unless a test chooses one.
After each test the environment is put back as it was, so one test's `os.environ` edits cannot
leak into the next (monkeypatch does this for most, this catches the rest).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Prefixes and names of what glcr, python-gitlab, requests/httpx and GitLab CI read.
REMOVED_PREFIXES = ("GLCR_", "GITLAB_", "CI_", "PYTHON_GITLAB_")
# CI itself stays: glcr does not read it, and the fixtures do (a missing registry fails in CI).
REMOVED_NAMES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
                 "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "FORCE_COLOR", "CLICOLOR_FORCE", "NO_COLOR", "COLUMNS", "LINES", "TERMINAL_WIDTH",
                 "PYTHON_KEYRING_BACKEND", "DOCKER_CONFIG", "REGISTRY_AUTH_FILE")


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    saved = dict(os.environ)
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(REMOVED_PREFIXES) or name in REMOVED_NAMES:
            del os.environ[name]
    os.environ.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "NO_PROXY": "127.0.0.1,localhost",  # loopback only, never through a proxy
    })
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def environment_restored() -> Iterator[None]:
    before = dict(os.environ)
    yield
    if os.environ != before:
        os.environ.clear()
        os.environ.update(before)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from sandbox_fixtures import keep_marked_kinds

    keep_marked_kinds(config, items)
