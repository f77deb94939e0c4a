"""Offset/keyset pagination that always runs to the last page.

GitLab puts the next page in the `Link` header (rel="next") and in `X-Next-Page`. A next link
that points to another host is refused: following it would send our token elsewhere.
"""

from __future__ import annotations

from typing import Any, AsyncIterator

import httpx

from glcr.errors import InvalidInputError, NetworkError, for_status
from glcr.transport.proxy import unreachable_reason


class ForeignPageLinkError(NetworkError):
    """A next-page link to another host (never followed: it would leak the token). A network
    problem for the user (exit 7): a proxy or GitLab's external_url sends pages elsewhere."""


class NotJsonError(InvalidInputError):
    """An answer that should be JSON is not (an HTML sign-in page, a proxy's error page): the
    URL is most likely not GitLab's API."""


def json_body(response: httpx.Response, doing: str):
    """The JSON of a 2xx answer, or one line that says the server is not the API glcr expected."""
    try:
        return response.json()
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
        host = response.request.url.host if response.request else "the server"
        raise NotJsonError(f"{doing}: {host} answered {kind}, not JSON",
                           hint="check that --url / GITLAB_URL is GitLab's base URL (not a sign-in page or a proxy)") from None


def next_link(response: httpx.Response) -> str | None:
    link = response.links.get("next")
    return link.get("url") if link else None


def check_same_origin(base: httpx.URL, link: str) -> httpx.URL:
    url = base.join(link)
    if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
        raise ForeignPageLinkError(
            f"refusing a next-page link to another host ({url.scheme}://{url.host})",
            hint="the server or a proxy rewrote pagination links; check the GitLab URL",
        )
    return url


async def iter_pages(
    client: httpx.AsyncClient, url: str, params: dict[str, Any] | None, doing: str
) -> AsyncIterator[list[Any]]:
    """Yield each page's JSON list, following rel="next" to the end."""
    request_url: httpx.URL | str = url
    request_params = params
    while True:
        try:
            response = await client.get(request_url, params=request_params)
        except httpx.TransportError as exc:
            raise NetworkError(f"{doing}: cannot reach {response_host(request_url, client)} ({unreachable_reason(exc)})",
                               hint="check the URL (--url / GITLAB_URL) and the network") from None
        if response.status_code != 200:
            raise for_status(response.status_code, doing, error_detail(response))
        yield json_body(response, doing)
        link = next_link(response)
        if not link:
            return
        request_url = check_same_origin(response.request.url, link)
        request_params = None  # the link carries every parameter


def response_host(url: httpx.URL | str, client: httpx.AsyncClient) -> str:
    return client.base_url.join(url).host or "the server"


def error_detail(response: httpx.Response) -> str:
    """GitLab's error text: {"message": ...} or {"error": ...} or {"errors": [...]} or plain text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict):
        for key in ("message", "error", "error_description"):
            if key in body:
                value = body[key]
                return value if isinstance(value, str) else str(value)
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0]
            if isinstance(first, dict):
                return str(first.get("message") or first.get("code"))
            return str(first)
    return str(body)[:200]
