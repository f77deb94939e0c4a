"""The real clients over httpx.MockTransport: retries, pagination, redaction."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from glcr.errors import NetworkError
from glcr.transport.backoff import RetryPolicy, server_wait
from glcr.transport.factory import HttpOptions, build_async_client
from glcr.transport.pagination import ForeignPageLinkError, iter_pages
from glcr.transport.redact import redact_headers, redact_text


def run(coro):
    return asyncio.run(coro)


def client_for(handler, **kw) -> httpx.AsyncClient:
    options = HttpOptions(wire=httpx.MockTransport(handler), retry=RetryPolicy(base_delay=0.0, max_delay=0.01), **kw)
    return build_async_client(options, base_url="https://gitlab.test/api/v4/")


def test_429_then_200_is_retried_honouring_retry_after():
    calls = []
    waits = []

    async def fake_sleep(seconds):
        waits.append(seconds)

    def handler(request):
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "7"}, text="Retry later\n")
        return httpx.Response(200, json={"ok": True})

    options = HttpOptions(wire=httpx.MockTransport(handler), retry=RetryPolicy(max_delay=30), sleep=fake_sleep)
    client = build_async_client(options, base_url="https://gitlab.test/")

    async def go():
        async with client:
            return await client.get("x")

    response = run(go())
    assert response.status_code == 200
    assert len(calls) == 2
    assert waits == [7.0]


def test_post_is_not_retried_on_503_but_is_on_429():
    seen = {"n": 0}

    def handler(request):
        seen["n"] += 1
        return httpx.Response(503)

    async def go():
        async with client_for(handler) as client:
            return await client.post("x")

    assert run(go()).status_code == 503
    assert seen["n"] == 1


def test_gives_up_after_max_attempts():
    seen = {"n": 0}

    def handler(request):
        seen["n"] += 1
        return httpx.Response(502)

    async def go():
        async with client_for(handler) as client:
            return await client.get("x")

    assert run(go()).status_code == 502
    assert seen["n"] == RetryPolicy().max_attempts


@pytest.mark.parametrize("headers,expected", [
    ({"Retry-After": "12"}, 12.0),
    ({"RateLimit-Reset": "1060"}, 60.0),
    ({"RateLimit-ResetTime": "Thu, 01 Jan 1970 00:18:00 GMT"}, 80.0),
    ({}, None),
])
def test_server_wait_order(headers, expected):
    assert server_wait(headers, now=1000.0) == expected


def test_pagination_runs_to_the_last_page():
    def handler(request):
        page = int(request.url.params.get("page", "1"))
        headers = {}
        if page < 3:
            headers["Link"] = f'<https://gitlab.test/api/v4/items?page={page + 1}&per_page=2>; rel="next"'
        return httpx.Response(200, json=[page * 10, page * 10 + 1], headers=headers)

    async def go():
        async with client_for(handler) as client:
            return [x async for page in iter_pages(client, "items", {"per_page": 2}, "listing") for x in page]

    assert run(go()) == [10, 11, 20, 21, 30, 31]


def test_next_page_link_to_another_host_is_refused():
    hosts = []

    def handler(request):
        hosts.append(request.url.host)
        return httpx.Response(200, json=[1], headers={"Link": '<https://evil.test/api/v4/items?page=2>; rel="next"'})

    async def go():
        async with client_for(handler) as client:
            return [x async for page in iter_pages(client, "items", None, "listing") for x in page]

    with pytest.raises(ForeignPageLinkError):
        run(go())
    assert hosts == ["gitlab.test"]


def test_unreachable_host_is_a_network_error():
    def handler(request):
        raise httpx.ConnectError("refused")

    async def go():
        async with client_for(handler) as client:
            return [x async for page in iter_pages(client, "items", None, "listing") for x in page]

    with pytest.raises(NetworkError):
        run(go())


def test_redaction():
    assert redact_headers({"PRIVATE-TOKEN": "glpat-abc", "Accept": "x"}) == {"PRIVATE-TOKEN": "***", "Accept": "x"}
    text = "https://user:pw@h/x?private_token=glpat-123456789 token glpat-abcdefghijk eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig"
    out = redact_text(text, ["supersecret"])
    assert "pw@" not in out and "glpat-123456789" not in out and "glpat-abcdefghijk" not in out
    assert "eyJzdWIiOiJ4In0" not in out
    assert redact_text("a supersecret b", ["supersecret"]) == "a *** b"


def test_debug_log_never_shows_the_token(capsys):
    import io

    log = io.StringIO()

    def handler(request):
        return httpx.Response(200, json=[])

    options = HttpOptions(wire=httpx.MockTransport(handler), debug=True, log=log, secrets=("glpat-secretvalue",))
    client = build_async_client(options, base_url="https://gitlab.test/", headers={"PRIVATE-TOKEN": "glpat-secretvalue"})

    async def go():
        async with client:
            await client.get("x", params={"private_token": "glpat-secretvalue"})

    run(go())
    assert "glpat-secretvalue" not in log.getvalue()
    assert "GET" in log.getvalue()


def test_a_foreign_next_link_is_a_network_error_and_html_is_not_json():
    import httpx as _httpx

    from glcr.errors import ExitCode, InvalidInputError, NetworkError
    from glcr.transport.pagination import ForeignPageLinkError, NotJsonError, check_same_origin, json_body

    base = _httpx.URL("https://gitlab.example.com/api/v4/projects")
    for link in ("https://evil.example.com/x", "http://gitlab.example.com/x", "https://gitlab.example.com:8443/x"):
        try:
            check_same_origin(base, link)
        except ForeignPageLinkError as exc:
            assert isinstance(exc, NetworkError) and exc.exit_code == ExitCode.NETWORK
        else:
            raise AssertionError(f"followed {link}")
    request = _httpx.Request("GET", "https://gitlab.example.com/api/v4/projects/1")
    html = _httpx.Response(200, headers={"Content-Type": "text/html"}, content=b"<html>", request=request)
    try:
        json_body(html, "reading project 1")
    except NotJsonError as exc:
        assert isinstance(exc, InvalidInputError)
        assert "answered text/html, not JSON" in exc.one_line() and "--url" in exc.one_line()
    else:
        raise AssertionError("HTML was taken for JSON")
