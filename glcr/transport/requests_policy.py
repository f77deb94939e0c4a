"""glcr's HTTP policy for python-gitlab's requests session: the same CA bundle, retry rules and
--debug lines as the httpx clients of glcr.transport.factory.

python-gitlab sends through a `requests.Session` it is given. requests reads its CA from
REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, not SSL_CERT_FILE, and python-gitlab retries by its own
rules (429 up to 10 times; 5xx only when asked). So the session built here always verifies
against the run's one CA path (`HttpOptions.ca_bundle`, certifi's when none is given), and its
adapter retries as RetryTransport does (glcr.transport.backoff: 429 always, 502/503/504 for
idempotent methods, Retry-After honoured); glcr.gitlab.rest switches python-gitlab's own retries
off. Calls run in a worker thread (asyncio.to_thread), so waiting here blocks no event loop.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable

import requests
from requests.adapters import HTTPAdapter

from glcr.transport.factory import HttpOptions, request_line, response_line, retry_line
from glcr.transport.retry import CONNECT_ATTEMPTS


class PolicyAdapter(HTTPAdapter):
    """Sends with glcr's retry rules and debug log; the wire (HTTPAdapter.send) is untouched."""

    def __init__(self, options: HttpOptions, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        # One connection per job, as the httpx clients have.
        super().__init__(pool_connections=1, pool_maxsize=options.jobs, max_retries=0)
        self.options = options
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        options, policy = self.options, self.options.retry
        method, url = request.method or "GET", request.url or ""
        attempt = 1
        while True:
            if options.debug:
                print(request_line(options, method, url, request.headers), file=options.log)
            try:
                response = super().send(request, **kwargs)
            except requests.exceptions.SSLError:
                raise  # a certificate that does not verify does not heal in seconds
            except (requests.exceptions.ConnectionError, requests.exceptions.ConnectTimeout):
                # Nothing reached the server: retried once, for idempotent methods (as RetryTransport).
                if attempt >= CONNECT_ATTEMPTS or method not in ("GET", "HEAD", "OPTIONS"):
                    raise
                wait = policy.delay(attempt, {}, self._clock(), self._rng)
                self._log_retry(method, url, 0, wait)
                self._sleep(wait)
                attempt += 1
                continue
            if options.debug:
                print(response_line(options, response.status_code, method, url), file=options.log)
            if not policy.should_retry(method, response.status_code, attempt):
                return response
            wait = policy.delay(attempt, response.headers, self._clock(), self._rng)
            response.close()
            self._log_retry(method, url, response.status_code, wait)
            self._sleep(wait)
            attempt += 1

    def _log_retry(self, method: str, url: str, status: int, wait: float) -> None:
        if self.options.debug:
            print(retry_line(self.options, method, url, status, wait), file=self.options.log)


def build_requests_session(options: HttpOptions, **adapter: Any) -> requests.Session:
    """A requests session for python-gitlab under `options` (ca_bundle, jobs, retry, debug)."""
    session = requests.Session()
    # Proxies still come from the environment (HTTPS_PROXY, as httpx reads them); the CA never does.
    session.verify = ca_path(options)
    policy = PolicyAdapter(options, **adapter)
    session.mount("https://", policy)
    session.mount("http://", policy)
    return session


def ca_path(options: HttpOptions) -> str:
    """The CA bundle path handed to requests: the run's, or certifi's (never True, which would
    let requests read REQUESTS_CA_BUNDLE; never False)."""
    if options.ca_bundle:
        return options.ca_bundle
    import certifi

    return certifi.where()
