"""HTTPS_PROXY and friends on glcr's own connections (glcr.transport.proxy, glcr.transport.pool):
https through a CONNECT tunnel with TLS checked end to end, http in absolute form, the proxy's
credentials from its URL, NO_PROXY, and refusals said without the password, through a loopback
proxy that forwards for real (tests/fixtures/loopback_http.py)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from glcr.errors import InvalidInputError
from glcr.transport.pool import PooledTransport
from glcr.transport.proxy import Proxies, route_from_url
from glcr_sandbox import tls
from loopback_http import LoopbackProxy, ScriptedServer

AUTH = b"Basic dXNlcjpzM2NyZXQ="  # user:s3cret


async def origin_answer(head: bytes) -> bytes:
    """The origin says which path it saw, or `leaked` when the proxy's credentials reached it."""
    body = b"leaked" if b"proxy-authorization" in head.lower() else b"origin saw " + head.split(b" ")[1]
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def _through(monkeypatch: pytest.MonkeyPatch, tmp_path, *, https: bool, env: dict[str, str],
             require: bytes | None = None, paths=("/v2/", "/v2/x/tags/list?n=5")):
    """GET `paths` from an origin with `env` set ({proxy} in a value: the proxy's host:port);
    (the answers, or the error, and what the proxy saw)."""
    files = tls.ensure(tmp_path / "tls") if https else None

    async def run():
        async with LoopbackProxy(require) as proxy, ScriptedServer(origin_answer, files.server_context() if files else None) as origin:
            # the suite's conftest keeps loopback off proxies (NO_PROXY); an earlier call's stay too
            for name in ("NO_PROXY", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
                monkeypatch.delenv(name, raising=False)
                monkeypatch.delenv(name.lower(), raising=False)
            for name, value in env.items():
                monkeypatch.setenv(name, value.format(proxy=proxy.address))
            transport = PooledTransport(2, verify=files.client_context() if files else True,
                                        proxies=Proxies.from_environment())
            async with httpx.AsyncClient(base_url=origin.url, transport=transport, timeout=5) as client:
                try:
                    answers = [(await client.get(p)).text for p in paths]
                except httpx.TransportError as exc:
                    answers = exc
            return answers, proxy.seen, origin.url

    return asyncio.run(run())


def test_https_goes_through_a_connect_tunnel_with_the_proxys_credentials(monkeypatch, tmp_path):
    answers, seen, origin = _through(monkeypatch, tmp_path, https=True, require=AUTH,
                                     env={"HTTPS_PROXY": "http://user:s3cret@{proxy}"})
    assert answers == ["origin saw /v2/", "origin saw /v2/x/tags/list?n=5"]  # TLS checked against the CA
    host_port = origin.removeprefix("https://")
    assert seen == [("CONNECT", host_port, AUTH)]  # one tunnel, kept alive for both requests


def test_http_goes_in_absolute_form_and_the_credentials_stop_at_the_proxy(monkeypatch, tmp_path):
    answers, seen, origin = _through(monkeypatch, tmp_path, https=False, require=AUTH,
                                     env={"http_proxy": "http://user:s3cret@{proxy}"})
    assert answers[0] == "origin saw /v2/"
    assert seen[0] == ("GET", f"{origin}/v2/", AUTH)


def test_no_proxy_and_an_unproxied_scheme_go_direct(monkeypatch, tmp_path):
    answers, seen, _ = _through(monkeypatch, tmp_path, https=True,
                                env={"HTTPS_PROXY": "http://{proxy}", "NO_PROXY": "localhost,127.0.0.1"})
    assert answers[0] == "origin saw /v2/" and seen == []
    answers, seen, _ = _through(monkeypatch, tmp_path, https=True, env={"HTTP_PROXY": "http://{proxy}"})
    assert answers[0] == "origin saw /v2/" and seen == []  # HTTP_PROXY is for http:// URLs only


def test_a_refused_connect_is_a_proxy_error_that_names_the_proxy_not_the_password(monkeypatch, tmp_path):
    error, seen, origin = _through(monkeypatch, tmp_path, https=True, require=b"Basic other",
                                   env={"HTTPS_PROXY": "http://user:s3cret@{proxy}"})
    assert isinstance(error, httpx.ProxyError)
    assert "407" in str(error) and origin.removeprefix("https://") in str(error)
    assert "s3cret" not in str(error) and "user" not in str(error)


@pytest.mark.parametrize("value, says", [
    ("https://proxy.example:3128", "plain HTTP"),
    ("socks5://proxy.example:1080", "plain HTTP"),
    ("http://proxy.example:99999", "bad port"),
])
def test_a_proxy_glcr_cannot_use_is_a_one_line_error_before_anything_is_sent(monkeypatch, value, says):
    monkeypatch.setenv("HTTPS_PROXY", value)
    with pytest.raises(InvalidInputError) as raised:
        Proxies.from_environment()
    assert says in str(raised.value) and "HTTPS_PROXY" in str(raised.value)


def test_no_proxy_variable_means_no_proxy_object(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert Proxies.from_environment() is None
    route = route_from_url("proxy.example:3128")  # no scheme: http://, as requests reads it
    assert (route.host, route.port, route.authorization, route.shown) == (
        "proxy.example", 3128, None, "http://proxy.example:3128")


def test_a_proxy_that_does_not_answer_is_named_in_the_error(monkeypatch):
    from glcr.transport.pool import ProxyConnectError
    from glcr.transport.proxy import unreachable_reason

    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://user:s3cret@127.0.0.1:9")  # the discard port: nothing listens

    async def run():
        transport = PooledTransport(1, proxies=Proxies.from_environment())
        async with httpx.AsyncClient(transport=transport, timeout=5) as client:
            with pytest.raises(ProxyConnectError) as raised:
                await client.get("http://127.0.0.1:1/v2/")
        return unreachable_reason(raised.value)

    said = asyncio.run(run())
    assert said.startswith("the proxy http://127.0.0.1:9 cannot be reached for 127.0.0.1:1") and "s3cret" not in said


def test_debug_names_the_proxies_without_their_credentials(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://user:s3cret@proxy.example:3128")
    monkeypatch.setenv("no_proxy", ".internal,10.0.0.0/8")
    said = Proxies.from_environment().describe()
    assert "HTTPS_PROXY=http://proxy.example:3128" in said and "no_proxy=.internal,10.0.0.0/8" in said
    assert "s3cret" not in said and "user" not in said
