"""The one factory for HTTP clients: timeouts, retries, bounded concurrency, debug log."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Awaitable, Callable, TextIO

import httpx

from glcr.transport.backoff import RetryPolicy
from glcr.transport.pool import PooledTransport
from glcr.transport.redact import redact_headers, redact_text
from glcr.transport.retry import RetryTransport

# Connect fast, read patiently: GitLab's tag-details call fetches the manifest and config from
# the registry before it answers, and blob uploads stream megabytes.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@dataclass
class HttpOptions:
    jobs: int = 8
    verify: bool | str = True
    debug: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    secrets: tuple[str, ...] = ()  # values to mask in the debug log
    log: TextIO = sys.stderr
    wire: httpx.AsyncBaseTransport | None = None  # tests swap the wire only
    sleep: Callable[[float], Awaitable[None]] | None = None  # tests swap the clock only


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
    wire = options.wire or PooledTransport(options.jobs + 4, verify=options.verify)
    on_retry = _retry_logger(options) if options.debug else None
    transport = RetryTransport(wire, options.retry, on_retry=on_retry,
                               **({"sleep": options.sleep} if options.sleep else {}))
    hooks = _debug_hooks(options) if options.debug else {}
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"User-Agent": _user_agent(), **(headers or {})},
        auth=auth,
        timeout=options.timeout,
        transport=transport,
        event_hooks=hooks,
        follow_redirects=False,
    )


def _user_agent() -> str:
    from glcr import __version__

    return f"glcr/{__version__}"


def _retry_logger(options: HttpOptions) -> Callable[[httpx.Request, int, float], None]:
    def log(request: httpx.Request, status: int, wait: float) -> None:
        url = redact_text(str(request.url), options.secrets)
        print(f"debug: retry {request.method} {url} after {status or 'connection error'}; waiting {wait:.1f}s",
              file=options.log)

    return log


def _debug_hooks(options: HttpOptions) -> dict[str, list]:
    async def on_request(request: httpx.Request) -> None:
        url = redact_text(str(request.url), options.secrets)
        headers = redact_headers(request.headers)
        shown = {k: v for k, v in headers.items() if k.lower() in ("authorization", "private-token", "job-token", "accept")}
        print(f"debug: > {request.method} {url} {shown}", file=options.log)

    async def on_response(response: httpx.Response) -> None:
        url = redact_text(str(response.request.url), options.secrets)
        print(f"debug: < {response.status_code} {response.request.method} {url}", file=options.log)

    return {"request": [on_request], "response": [on_response]}
