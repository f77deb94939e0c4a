"""Where the GitLab token comes from, in the documented order, and a Secret that never prints.

Order (first hit wins): --token flag (discouraged: it lands in shell history and `ps`),
GITLAB_TOKEN / GITLAB_PRIVATE_TOKEN, CI_JOB_TOKEN inside GitLab CI, the OS keyring
(`glcr auth login`), python-gitlab's config file (~/.python-gitlab.cfg, section by --gitlab).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from typing import Mapping

from glcr.errors import AuthError, InvalidInputError

KEYRING_SERVICE = "glcr"
DEFAULT_GITLAB_URL = "https://gitlab.com"
CI_JOB_USER = "gitlab-ci-token"  # GitLab's fixed username for job tokens (CI_REGISTRY_USER)


class Secret:
    """A string that shows *** in repr/str/format, so tracebacks and logs cannot leak it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class TokenKind(str, Enum):
    PRIVATE = "private"  # personal, project or group access token: PRIVATE-TOKEN header
    JOB = "job"  # CI_JOB_TOKEN: JOB-TOKEN header, registry user gitlab-ci-token
    OAUTH = "oauth"  # Authorization: Bearer


@dataclass(frozen=True)
class Credentials:
    url: str
    token: Secret | None
    kind: TokenKind
    source: str  # "flag", "env GITLAB_TOKEN", "env CI_JOB_TOKEN", "keyring", "config [name]"
    registry_user: str | None = None  # for /jwt/auth Basic auth; None: ask GitLab (GET /user)
    registry_password: Secret | None = None  # CI_REGISTRY_PASSWORD, when set

    def api_headers(self) -> dict[str, str]:
        if self.token is None:
            return {}
        value = self.token.reveal()
        if self.kind is TokenKind.JOB:
            return {"JOB-TOKEN": value}
        if self.kind is TokenKind.OAUTH:
            return {"Authorization": f"Bearer {value}"}
        return {"PRIVATE-TOKEN": value}

    def secrets(self) -> tuple[str, ...]:
        return tuple(s.reveal() for s in (self.token, self.registry_password) if s is not None)


@dataclass(frozen=True)
class CredentialRequest:
    token_flag: str | None = None
    url_flag: str | None = None
    config_section: str | None = None
    config_files: tuple[str, ...] | None = None  # None: python-gitlab's default locations


def resolve(request: CredentialRequest, env: Mapping[str, str] | None = None, *, use_keyring: bool = True) -> Credentials:
    env = os.environ if env is None else env
    config = _read_config(request, env)
    url = (request.url_flag or env.get("GITLAB_URL") or env.get("CI_SERVER_URL")
           or (config or {}).get("url") or DEFAULT_GITLAB_URL).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidInputError(f"GitLab URL {url!r} has no scheme", hint="use e.g. https://gitlab.example.com")

    if request.token_flag:
        return Credentials(url, Secret(request.token_flag), TokenKind.PRIVATE, "flag")
    for name in ("GITLAB_TOKEN", "GITLAB_PRIVATE_TOKEN"):
        if env.get(name):
            return Credentials(url, Secret(env[name]), TokenKind.PRIVATE, f"env {name}")
    if env.get("CI_JOB_TOKEN"):
        password = env.get("CI_REGISTRY_PASSWORD")
        return Credentials(
            url, Secret(env["CI_JOB_TOKEN"]), TokenKind.JOB, "env CI_JOB_TOKEN",
            registry_user=env.get("CI_REGISTRY_USER") or CI_JOB_USER,
            registry_password=Secret(password) if password else None,
        )
    if use_keyring:
        stored = _keyring_get(url)
        if stored:
            return Credentials(url, Secret(stored), TokenKind.PRIVATE, "keyring")
    if config:
        for key, kind in (("private_token", TokenKind.PRIVATE), ("oauth_token", TokenKind.OAUTH),
                          ("job_token", TokenKind.JOB)):
            if config.get(key):
                return Credentials(url, Secret(config[key]), kind, f"config [{config['_section']}]")
    return Credentials(url, None, TokenKind.PRIVATE, "none")


def require_token(creds: Credentials) -> Credentials:
    if creds.token is None:
        raise AuthError(
            f"no GitLab token for {creds.url}",
            hint="set GITLAB_TOKEN, or run `glcr auth login`, or add a section to ~/.python-gitlab.cfg",
        )
    return creds


def _read_config(request: CredentialRequest, env: Mapping[str, str]) -> dict[str, str] | None:
    """Read python-gitlab's config file with python-gitlab's own parser (same search path)."""
    files = request.config_files
    if files is None and not request.config_section and not env.get("PYTHON_GITLAB_CFG"):
        from pathlib import Path

        defaults = [Path("~/.python-gitlab.cfg").expanduser(), Path("/etc/python-gitlab.cfg")]
        if not any(p.exists() for p in defaults):
            return None  # skip importing python-gitlab when there is no config at all
    from gitlab import config as gl_config

    try:
        parser = gl_config.GitlabConfigParser(gitlab_id=request.config_section,
                                              config_files=list(files) if files else None)
    except gl_config.GitlabIDError:
        return None
    except gl_config.GitlabDataError as exc:
        raise InvalidInputError(f"python-gitlab config: {exc}") from None
    except gl_config.ConfigError as exc:
        if request.config_section:
            raise InvalidInputError(f"python-gitlab config section [{request.config_section}]: {exc}") from None
        return None
    out = {"_section": parser.gitlab_id or "default", "url": parser.url or ""}
    for key in ("private_token", "oauth_token", "job_token"):
        value = getattr(parser, key, None)
        if value:
            out[key] = value
    return out


def _keyring_get(url: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(KEYRING_SERVICE, url)
        except KeyringError:
            return None
    except Exception:  # no backend on this machine: the keyring is simply not a source
        return None


def keyring_store(url: str, token: str) -> None:
    import keyring

    keyring.set_password(KEYRING_SERVICE, url, token)


def keyring_delete(url: str) -> bool:
    import keyring
    from keyring.errors import PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, url)
        return True
    except PasswordDeleteError:
        return False
