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
    # --insecure (GLCR_INSECURE): allow plain http to a GitLab that is not on this machine. The
    # token then crosses the network in clear text; the CLI warns.
    insecure: bool = False


def resolve(request: CredentialRequest, env: Mapping[str, str] | None = None, *, use_keyring: bool = True) -> Credentials:
    env = os.environ if env is None else env
    explicit_url = request.url_flag or env.get("GITLAB_URL") or env.get("CI_SERVER_URL")
    # The config file is read only when it is needed (a URL or a token is still missing, or a
    # section was named): a broken file must not stop a run whose flags and environment say all.
    config: dict[str, str] | None = None
    if request.config_section or not explicit_url or not _token_in_env(request, env):
        config = _read_config(request, env)
    url = check_url(explicit_url or (config or {}).get("url") or DEFAULT_GITLAB_URL,
                    insecure=request.insecure)
    creds = _pick_token(request, env, url, config, use_keyring)
    for secret in (creds.token, creds.registry_password):
        if secret is not None:
            check_token(secret.reveal(), creds.source)
    return creds


def _token_in_env(request: CredentialRequest, env: Mapping[str, str]) -> bool:
    return bool(request.token_flag or env.get("GITLAB_TOKEN") or env.get("GITLAB_PRIVATE_TOKEN")
                or env.get("CI_JOB_TOKEN"))


def _pick_token(request: CredentialRequest, env: Mapping[str, str], url: str, config: dict[str, str] | None,
                use_keyring: bool) -> Credentials:
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


# GitLab's REST prefix; glcr adds it itself, so a URL copied with it is cut back to the base.
API_SUFFIX = "/api/v4"


def is_loopback_host(host: str) -> bool:
    import ipaddress

    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, insecure: bool = False) -> str:
    """The GitLab base URL, checked: http(s) only, no path to the API, and plain http only to
    this machine (or with --insecure): the token goes in every request's headers."""
    import httpx

    url = url.strip().rstrip("/")
    if url.lower().endswith(API_SUFFIX):
        url = url[: -len(API_SUFFIX)].rstrip("/")
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise InvalidInputError(f"GitLab URL {url!r} has no scheme", hint="use e.g. https://gitlab.example.com")
    if scheme.lower() not in ("http", "https"):
        raise InvalidInputError(f"GitLab URL {url!r}: the scheme {scheme}:// is not supported",
                                hint="use https://, or http:// for a GitLab on this machine")
    try:
        parsed = httpx.URL(url)
    except Exception:  # httpx.InvalidURL and friends: the URL text itself is broken
        raise InvalidInputError(f"GitLab URL {url!r} is not a valid URL", hint="use e.g. https://gitlab.example.com") from None
    if not parsed.host:
        raise InvalidInputError(f"GitLab URL {url!r} has no host", hint="use e.g. https://gitlab.example.com")
    if parsed.scheme == "http" and not insecure and not is_loopback_host(parsed.host):
        raise InvalidInputError(
            f"refusing plain http to {parsed.host}: the token would cross the network unencrypted",
            hint="use https://, or pass --insecure (GLCR_INSECURE=1) if you accept that")
    return url


def check_token(value: str, source: str) -> None:
    """A token is printable ASCII without spaces; anything else cannot go in an HTTP header and
    is a copy-paste accident (a CRLF from a Windows file, a typographic dash). Said plainly,
    instead of surfacing as a network or encoding error."""
    where = {"flag": "--token"}.get(source, source.removeprefix("env ").removeprefix("config "))
    if "\r" in value or "\n" in value:
        raise AuthError(f"the token from {where} contains a line break (CR/LF)",
                        hint="remove it, e.g. with tr -d '\\r\\n' on the file the token came from")
    if not value.isascii() or not value.isprintable() or " " in value or "\t" in value:
        raise AuthError(f"the token from {where} contains characters a token never has "
                        "(non-ASCII, spaces or control characters)",
                        hint="copy the token again from GitLab (User settings > Access tokens)")


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

    # python-gitlab's errors quote the offending line, and a config line holds a token: errors
    # from here name the file and the line number only, never the text.
    try:
        parser = gl_config.GitlabConfigParser(gitlab_id=request.config_section,
                                              config_files=list(files) if files else None)
    except gl_config.GitlabIDError:
        return None
    except gl_config.GitlabDataError:
        raise InvalidInputError("python-gitlab config: a value is missing or malformed",
                                hint="check the url and token lines of the selected section") from None
    except gl_config.ConfigError:
        if request.config_section:
            raise InvalidInputError(f"python-gitlab config: no usable section [{request.config_section}]",
                                    hint="check --gitlab and the config file") from None
        return None
    except Exception as exc:  # configparser.Error (a malformed line), OSError, ...
        raise InvalidInputError(f"python-gitlab config file is malformed{_config_where(exc)}",
                                hint="fix it, or set GITLAB_URL and GITLAB_TOKEN and pass no --gitlab") from None
    out = {"_section": parser.gitlab_id or "default", "url": parser.url or ""}
    for key in ("private_token", "oauth_token", "job_token"):
        value = getattr(parser, key, None)
        if value:
            out[key] = value
    return out


def _config_where(exc: BaseException) -> str:
    """` (FILE, line N)` from a configparser error, without the line's text."""
    import configparser

    if isinstance(exc, configparser.ParsingError):
        lines = ", ".join(str(number) for number, _ in exc.errors[:3])
        return f" ({exc.source}, line {lines})"
    if isinstance(exc, configparser.Error):
        source = getattr(exc, "source", None)
        line = getattr(exc, "lineno", None)
        if source and line:
            return f" ({source}, line {line})"
        return f" ({type(exc).__name__})"
    if isinstance(exc, OSError):
        return f" ({exc.filename}: {exc.strerror})"
    return f" ({type(exc).__name__})"


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
