"""The one factory for HTTP clients: timeouts, retries, bounded concurrency, TLS, debug log.

httpx's clients are built here; python-gitlab's requests session takes the same options in
glcr.transport.requests_policy (the same CA bundle, retry rules and debug lines).
"""

from __future__ import annotations

import ssl
import sys
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping, TextIO

import httpx

from glcr.settings import DEFAULT_JOBS
from glcr.transport.backoff import RetryPolicy
from glcr.transport.ratelimit import BudgetTransport, RateBudget
from glcr.transport.pool import PooledTransport
from glcr.transport.proxy import Proxies
from glcr.transport.redact import redact_headers, redact_text
from glcr.transport.retry import RetryTransport

# Connect fast, read patiently: GitLab's tag-details call fetches the manifest and config from
# the registry before it answers, and blob uploads stream megabytes.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@dataclass(frozen=True)
class HttpOptions:
    """One HTTP policy. Frozen: a Session fills in its settings' values with `dataclasses.replace`."""

    jobs: int = DEFAULT_JOBS
    # The CA bundle (a PEM file, or a directory of them) certificates are checked against; None:
    # certifi's public CAs. Never "do not verify": glcr has no such switch.
    ca_bundle: str | None = None
    # The certificate checks built from ca_bundle, once for a Session's clients (each build reads
    # the bundle: about 0.03 s for certifi's). None: built from ca_bundle by each client.
    ssl_context: ssl.SSLContext | None = None
    debug: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    secrets: tuple[str, ...] = ()  # values to mask in the debug log
    log: TextIO = sys.stderr
    wire: httpx.AsyncBaseTransport | None = None  # tests swap the wire only
    sleep: Callable[[float], Awaitable[None]] | None = None  # tests swap the clock only
    budget: "RateBudget | None" = None  # shared by a session's clients (glcr.transport.ratelimit)
    # HTTPS_PROXY and the like, decided per origin as python-gitlab's requests session decides
    # them (glcr.transport.proxy); None: every connection goes direct.
    proxies: "Proxies | None" = None


def build_async_client(
    options: HttpOptions,
    *,
    base_url: str = "",
    headers: dict[str, str] | None = None,
    auth: httpx.Auth | None = None,
) -> httpx.AsyncClient:
    # One connection per job, plus a few for what runs beside the fan-out (a token fetch, the
    # registry-kind probe). HostPool, not httpcore's pool: httpcore's costs 3.5 ms of CPU a
    # request at 20 connections and more with each one added (pool.py has the profile).
    wire = options.wire or PooledTransport(options.jobs + 4, verify=options.ssl_context or tls_context(options.ca_bundle),
                                           proxies=options.proxies)
    on_retry = _retry_logger(options) if options.debug else None
    if options.budget is not None:
        wire = BudgetTransport(wire, options.budget)
    if options.sleep is None:
        transport = RetryTransport(wire, options.retry, on_retry=on_retry)
    else:
        transport = RetryTransport(wire, options.retry, on_retry=on_retry, sleep=options.sleep)
    hooks = _debug_hooks(options) if options.debug else {}
    return CookielessClient(
        base_url=base_url,
        headers={"User-Agent": _user_agent(), **(headers or {})},
        auth=auth,
        timeout=options.timeout,
        transport=transport,
        event_hooks=hooks,
        follow_redirects=False,
    )


class _NoCookies(httpx.Cookies):
    """A jar that never keeps a cookie."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        pass


_NO_COOKIES = _NoCookies()


class CookielessClient(httpx.AsyncClient):
    """httpx's client without a cookie jar. glcr authenticates every request with a token and
    needs no cookie; httpx's jar reads every response through urllib's cookie code, which
    builds a urllib Request, a Response and an email Message of all its headers: about a third
    of httpx's own CPU per registry request (glcr/transport/pool.py has the figures)."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        pass


def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Certificate checks against exactly `ca_bundle` (httpx would otherwise read SSL_CERT_FILE
    from os.environ itself, beside the run's settings)."""
    import os

    if ca_bundle is None:
        import certifi

        ca_bundle = certifi.where()
    try:
        if os.path.isdir(ca_bundle):
            return ssl.create_default_context(capath=ca_bundle)
        return ssl.create_default_context(cafile=ca_bundle)
    except (ssl.SSLError, OSError) as exc:
        from glcr.errors import InvalidInputError

        raise InvalidInputError(f"the CA bundle {ca_bundle} cannot be read ({getattr(exc, 'reason', None) or exc})",
                                hint="give a PEM file of CA certificates (--ca-file, GLCR_CA_FILE or SSL_CERT_FILE)") from None


def _user_agent() -> str:
    from glcr import __version__

    return f"glcr/{__version__}"


# The debug lines, one format for httpx's hooks and python-gitlab's requests session.


def request_line(options: HttpOptions, method: str, url: str, headers: Mapping[str, str | bytes]) -> str:
    shown = {k: v for k, v in redact_headers(headers).items()
             if k.lower() in ("authorization", "private-token", "job-token", "accept")}
    return f"debug: > {method} {redact_text(url, options.secrets)} {shown}"


def response_line(options: HttpOptions, status: int, method: str, url: str) -> str:
    return f"debug: < {status} {method} {redact_text(url, options.secrets)}"


def retry_line(options: HttpOptions, method: str, url: str, status: int, wait: float) -> str:
    return (f"debug: retry {method} {redact_text(url, options.secrets)} after {status or 'connection error'}; "
            f"waiting {wait:.1f}s")


def _retry_logger(options: HttpOptions) -> Callable[[httpx.Request, int, float], None]:
    def log(request: httpx.Request, status: int, wait: float) -> None:
        print(retry_line(options, request.method, str(request.url), status, wait), file=options.log)

    return log


def _debug_hooks(options: HttpOptions) -> dict[str, list]:
    async def on_request(request: httpx.Request) -> None:
        print(request_line(options, request.method, str(request.url), request.headers), file=options.log)

    async def on_response(response: httpx.Response) -> None:
        print(response_line(options, response.status_code, response.request.method, str(response.request.url)),
              file=options.log)

    return {"request": [on_request], "response": [on_response]}
