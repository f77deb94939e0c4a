"""HTTP proxies from the environment, decided as python-gitlab's requests session decides them.

python-gitlab's session (requests, `trust_env`) honours HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and
NO_PROXY. glcr's own connections (glcr.transport.pool, under every httpx client: GitLab's API,
registry tokens, the registry) would otherwise go direct: behind a proxy that is the only way
out, GitLab's REST calls would work and the registry's would not. So both libraries take the
same decision per URL: requests' own `get_environ_proxies` and `select_proxy` (NO_PROXY host
suffixes, CIDR blocks and ports included), read once per origin.

Only http:// proxies are supported (HTTPS through them by CONNECT, as curl and requests do).
"""

from __future__ import annotations

import base64
import os
from urllib.parse import unquote, urlsplit

import httpx

from glcr.errors import InvalidInputError
from glcr.transport.pool import ProxyConnectError, ProxyRoute

PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy")

__all__ = ["PROXY_VARIABLES", "Proxies", "ProxyRoute", "route_from_url", "unreachable_reason"]


def route_from_url(url: str, variable: str = "the proxy URL") -> ProxyRoute:
    """An http:// proxy URL (a bare host:port is taken as http://, as requests does)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port or (80 if parts.scheme == "http" else None)
    except ValueError:
        raise InvalidInputError(f"{variable} has a bad port", hint="set it to http://HOST:PORT") from None
    where = f"{parts.hostname or '?'}" + (f":{port}" if port else "")
    if parts.scheme != "http":
        raise InvalidInputError(f"{variable} is a {parts.scheme}:// proxy ({where}); glcr reaches proxies over "
                                "plain HTTP and tunnels https through them (CONNECT)",
                                hint=f"set {variable} to http://{where}")
    if not parts.hostname or port is None:
        raise InvalidInputError(f"{variable} has no proxy host", hint="set it to http://HOST:PORT")
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = b"Basic " + base64.b64encode(pair)
    return ProxyRoute(parts.hostname, port, authorization)


def _setting(name: str) -> tuple[str, str] | None:
    """(the variable, its value) for a lowercase proxy variable name: the lowercase one wins, as
    in urllib (which requests reads); None when neither is set."""
    for variable in (name, name.upper()):
        if os.environ.get(variable):
            return variable, os.environ[variable]
    return None


class Proxies:
    """The run's proxy settings: which origin goes through which proxy (None: direct)."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str, int], ProxyRoute | None] = {}
        for name in PROXY_VARIABLES:  # a bad value is a one-line error before anything is sent
            for variable in (name, name.upper()):
                if os.environ.get(variable):
                    route_from_url(os.environ[variable], variable)

    def describe(self) -> str:
        """The variables in one line for --debug, each proxy without its credentials."""
        said = []
        for name in (*PROXY_VARIABLES, "no_proxy"):
            found = _setting(name)
            if found:
                variable, value = found
                said.append(f"{variable}={value if name == 'no_proxy' else route_from_url(value, variable).shown}")
        return ", ".join(said)

    @classmethod
    def from_environment(cls) -> "Proxies | None":
        """None when no proxy variable is set (the common case: nothing is imported or decided)."""
        if not any(_setting(name) for name in PROXY_VARIABLES):
            return None
        return cls()

    def route(self, scheme: str, host: str, port: int) -> ProxyRoute | None:
        key = (scheme, host, port)
        if key not in self._routes:
            self._routes[key] = self._decide(scheme, host, port)
        return self._routes[key]

    @staticmethod
    def _decide(scheme: str, host: str, port: int) -> ProxyRoute | None:
        # requests' own functions, on the same os.environ python-gitlab's session reads.
        from requests.utils import get_environ_proxies, select_proxy

        url = f"{scheme}://{host}:{port}/"
        chosen = select_proxy(url, get_environ_proxies(url))
        return route_from_url(chosen, f"the proxy for {scheme}://{host}:{port}") if chosen else None


def unreachable_reason(exc: Exception) -> str:
    """What a transport error says in a one-line error: a proxy's refusal in full (it names the
    proxy without credentials, its answer and the target), anything else by its kind."""
    return str(exc) if isinstance(exc, (httpx.ProxyError, ProxyConnectError)) and str(exc) else type(exc).__name__
