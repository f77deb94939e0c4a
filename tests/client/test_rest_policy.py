"""python-gitlab under glcr's client policy: the run's CA, glcr's retries and --debug lines, one
error translator, off the event loop. The wire (requests' HTTPAdapter.send) is swapped."""

from __future__ import annotations

import asyncio
import io
import json
import threading

import certifi
import pytest
import requests
from requests.adapters import HTTPAdapter

from glcr.credentials import Credentials, Secret, TokenKind
from glcr.errors import NetworkError, NotFoundError, PermissionDeniedError, RefusedError
from glcr.gitlab import protection as gp
from glcr.gitlab.rest import GitLabRest
from glcr.transport.backoff import RetryPolicy
from glcr.transport.factory import HttpOptions

TOKEN = "glpat-rest-policy-secret"
CREDS = Credentials("https://gitlab.test", Secret(TOKEN), TokenKind.PRIVATE, "test")
PROJECT = {"id": 7, "path_with_namespace": "g/p"}


class Wire:
    """Answers in order; records what each request was sent with."""

    def __init__(self, *answers: tuple[int, object, dict]) -> None:
        self.answers = list(answers)
        self.sent: list[dict] = []

    def send(self, adapter: HTTPAdapter, request: requests.PreparedRequest, **kwargs) -> requests.Response:
        self.sent.append({"method": request.method, "url": request.url, "verify": kwargs.get("verify"),
                          "headers": dict(request.headers)})
        status, body, headers = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response._content_consumed = True
        response.headers.update({"Content-Type": "application/json", **headers})
        response.url, response.request = request.url or "", request
        return response


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch):
    def install(*answers: tuple[int, object, dict]) -> Wire:
        w = Wire(*answers)
        monkeypatch.setattr(HTTPAdapter, "send", lambda self, request, **kw: w.send(self, request, **kw))
        return w

    return install


def rest(**options) -> GitLabRest:
    return GitLabRest(CREDS, HttpOptions(secrets=CREDS.secrets(), retry=RetryPolicy(max_delay=0.01), **options))


def test_every_call_verifies_against_the_runs_ca_never_requests_own(wire, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/requests-bundle.pem")  # requests' own variable
    ca = tmp_path / "ca.pem"
    ca.write_text(open(certifi.where()).read())
    w = wire((200, PROJECT, {}))
    assert asyncio.run(rest(ca_bundle=str(ca)).project("g/p"))["id"] == 7
    assert asyncio.run(rest().project("g/p"))["id"] == 7  # no CA given: certifi's, as httpx
    assert [s["verify"] for s in w.sent] == [str(ca), certifi.where()]


def test_429_is_retried_by_glcrs_rules_honouring_retry_after_and_logged_without_the_token(wire) -> None:
    w = wire((429, {"message": "429 Too Many Requests"}, {"Retry-After": "0"}), (200, PROJECT, {}))
    log = io.StringIO()
    assert asyncio.run(rest(debug=True, log=log).project("g/p"))["id"] == 7
    assert len(w.sent) == 2
    text = log.getvalue()
    assert "debug: > GET https://gitlab.test/api/v4/projects/g%2Fp" in text and "'PRIVATE-TOKEN': '***'" in text
    assert "debug: < 429 GET" in text and "debug: retry GET" in text and "after 429; waiting 0.0s" in text
    assert TOKEN not in text


def test_python_gitlabs_own_retries_are_off(wire) -> None:
    w = wire((429, {"message": "429 Too Many Requests"}, {"Retry-After": "0"}))
    with pytest.raises(NetworkError):
        asyncio.run(rest().project("g/p"))
    assert len(w.sent) == RetryPolicy().max_attempts  # not python-gitlab's 10 more


def test_a_post_answered_503_is_not_sent_twice(wire) -> None:
    w = wire((503, {"message": "503"}, {}))
    with pytest.raises(NetworkError):
        asyncio.run(rest().request("post", "/projects/7/registry/protection/tag/rules", "creating", body={}))
    assert len(w.sent) == 1


def test_calls_run_off_the_event_loop(wire) -> None:
    wire((200, PROJECT, {}))
    client = rest()
    seen: list[threading.Thread] = []

    async def main() -> None:
        await client.call("probing", lambda: seen.append(threading.current_thread()))

    asyncio.run(main())
    assert seen and seen[0] is not threading.main_thread()


@pytest.mark.parametrize("status, body, kind, hint", [
    (404, {"error": "404 Not Found"}, NotFoundError, "18.7"),  # Grape: no such route, an older GitLab
    (404, {"message": "404 Project Not Found"}, NotFoundError, "check the path"),
    (403, {"message": "403 Forbidden"}, PermissionDeniedError, "Maintainer"),
    (422, {"message": {"error": ["Tag name pattern has already been taken"]}}, RefusedError, None),
])
def test_one_translator_with_the_protection_hints(wire, status, body, kind, hint) -> None:
    wire((status, body, {}))
    with pytest.raises(kind) as raised:
        asyncio.run(gp.list_rules(rest(), 7))
    assert hint is None or hint in (raised.value.hint or "")
    if status == 422:
        assert "Tag name pattern has already been taken" in raised.value.one_line()
