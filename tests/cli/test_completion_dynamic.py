"""Dynamic completion (glcr.cli.complete): answers, cache, deadline, and silence on errors."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.error import HTTPError, URLError

import pytest
import typer

from glcr.cli import complete
from glcr.cli.complete import Cache

TOKEN = "glpat-completion-secret"
REPOS = {
    "group/app": [{"path": "group/app", "id": 1, "project_id": 10},
                  {"path": "group/app/api", "id": 2, "project_id": 10},
                  {"path": "group/app/web", "id": 3, "project_id": 10}],
}
TAGS = {"10/2": ["latest", "v1.0.0", "v1.1.0", "v2.0.0"]}
PROJECTS = [{"path_with_namespace": "group/app", "name": "App"},
            {"path_with_namespace": "group/apple", "name": "Apple"},
            {"path_with_namespace": "other/thing", "name": "Thing"}]


class FakeGitLab:
    """A urlopen stand-in: records requests, answers from the tables above."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.contexts: list = []
        self.delay = delay
        self.fail = fail

    def __call__(self, request, timeout: float, context=None):
        self.requests.append((request.full_url, dict(request.header_items())))
        self.contexts.append(context)
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise URLError("connection refused")
        path = request.full_url.split("/api/v4/", 1)[1].split("?")[0]
        from urllib.parse import parse_qs, unquote

        query = parse_qs(request.full_url.split("?", 1)[1]) if "?" in request.full_url else {}
        if path == "projects":
            search = query.get("search", [""])[0]
            body = [p for p in PROJECTS if search in p["path_with_namespace"]]
        elif path.endswith("/registry/repositories"):
            project = unquote(path.split("/")[1])
            if project not in REPOS:
                raise HTTPError(request.full_url, 404, "Not Found", {}, io.BytesIO(b"{}"))
            body = REPOS[project]
        elif path.endswith("/tags"):
            parts = path.split("/")
            names = TAGS.get(f"{parts[1]}/{parts[4]}", [])
            page = int(query.get("page", ["1"])[0])
            body = [{"name": n} for n in names] if page == 1 else []
        else:
            raise HTTPError(request.full_url, 404, "Not Found", {}, io.BytesIO(b"{}"))
        return io.BytesIO(json.dumps(body).encode())


def ctx_with(params: dict | None = None, root: dict | None = None):
    root_ctx = SimpleNamespace(params=root or {"url": "https://gitlab.test", "token": TOKEN, "gitlab": None})
    root_ctx.find_root = lambda: root_ctx
    child = SimpleNamespace(params=params or {}, find_root=lambda: root_ctx)
    return child


@pytest.fixture
def gitlab(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeGitLab:
    fake = FakeGitLab()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("GITLAB_TOKEN", "GITLAB_PRIVATE_TOKEN", "CI_JOB_TOKEN", "PYTHON_GITLAB_CFG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr("urllib.request.urlopen", fake)
    return fake


def test_completion_verifies_against_the_ca_the_commands_use(gitlab: FakeGitLab, tmp_path: Path) -> None:
    import ssl

    import certifi

    ca = tmp_path / "ca.pem"
    ca.write_text(Path(certifi.where()).read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    root = {"url": "https://gitlab.test", "token": TOKEN, "gitlab": None, "ca_file": str(ca)}
    assert values(complete.complete_project(ctx_with(root=root), "group/ap")) == ["group/app", "group/apple"]
    context = gitlab.contexts[-1]
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1  # exactly the given CA, not the system's


def values(items) -> list[str]:
    return [i[0] if isinstance(i, tuple) else i for i in items]


def test_projects_complete_from_the_search(gitlab: FakeGitLab) -> None:
    assert values(complete.complete_project(ctx_with(), "group/ap")) == ["group/app", "group/apple"]
    url, headers = gitlab.requests[0]
    assert "membership=true" in url and "search=group%2Fap" in url
    assert headers.get("Private-token") == TOKEN


def test_repositories_inside_a_project(gitlab: FakeGitLab) -> None:
    assert values(complete.complete_repository(ctx_with(), "group/app/")) == ["group/app/api", "group/app/web"]


def test_on_the_way_to_a_project_offers_projects_then_its_repositories(gitlab: FakeGitLab) -> None:
    got = values(complete.complete_repository(ctx_with(), "group/app"))
    assert got[:2] == ["group/app", "group/app/api"] and "group/apple" in got


def test_tags_of_the_path_argument(gitlab: FakeGitLab) -> None:
    ctx = ctx_with({"path": "group/app/api", "tags": ["v1.0.0"]})
    assert complete.complete_tag(ctx, "v1") == ["v1.1.0"]  # v1.0.0 is already on the line


def test_ref_completes_tags_after_the_colon(gitlab: FakeGitLab) -> None:
    assert complete.complete_ref(ctx_with(), "group/app/api:v2") == ["group/app/api:v2.0.0"]


def test_second_tab_comes_from_the_cache(gitlab: FakeGitLab, tmp_path: Path) -> None:
    complete.complete_repository(ctx_with(), "group/app/")
    count = len(gitlab.requests)
    complete.complete_repository(ctx_with(), "group/app/")
    complete.complete_repository(ctx_with(), "group/app/a")  # group/app is known: no request for group/app/a
    assert len(gitlab.requests) == count + 1  # only the project search for "group/app/a"
    cache = tmp_path / "cache" / "glcr" / "completion.json"
    assert oct(cache.stat().st_mode & 0o777) == "0o600"
    assert TOKEN not in cache.read_text()


def test_another_token_does_not_see_the_cached_answer(gitlab: FakeGitLab) -> None:
    complete.complete_repository(ctx_with(), "group/app/")
    count = len(gitlab.requests)
    other = ctx_with(root={"url": "https://gitlab.test", "token": "another-token", "gitlab": None})
    complete.complete_repository(other, "group/app/")
    assert len(gitlab.requests) > count


def test_errors_are_silent_and_fall_back_to_stale_cache(gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    assert values(complete.complete_repository(ctx_with(), "group/app/")) == ["group/app/api", "group/app/web"]
    monkeypatch.setattr(complete, "TTL_SECONDS", {k: -1.0 for k in complete.TTL_SECONDS})  # all stale
    gitlab.fail = True
    assert values(complete.complete_repository(ctx_with(), "group/app/")) == ["group/app/api", "group/app/web"]
    assert complete.complete_project(ctx_with(), "zzz") == []
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_a_slow_gitlab_never_holds_the_tab_past_the_deadline(gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch) -> None:
    gitlab.delay = 5.0
    monkeypatch.setattr(complete, "DEADLINE_SECONDS", 0.3)
    start = time.monotonic()
    assert complete.complete_project(ctx_with(), "group") == []
    assert time.monotonic() - start < 1.0


def test_no_credentials_at_all_still_returns_a_list(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert complete.complete_tag(ctx_with({}), "") == []
    broken = SimpleNamespace(params={}, find_root=lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert complete.complete_project(broken, "x") == []


def test_cache_keeps_only_the_newest_entries(tmp_path: Path) -> None:
    clock = iter(range(10_000))
    cache = Cache(str(tmp_path / "c.json"), clock=lambda: float(next(clock)))
    for index in range(complete.MAX_CACHE_ENTRIES + 20):
        cache.put(f"k{index}", [index])
    data = json.loads((tmp_path / "c.json").read_text())
    assert len(data) == complete.MAX_CACHE_ENTRIES and "k0" not in data


def test_project_prefixes_follow_gitlabs_three_levels() -> None:
    assert complete.project_prefixes("a/b/c/d/e") == ["a/b/c/d/e", "a/b/c/d", "a/b/c"]
    assert complete.project_prefixes("a/b") == ["a/b"]
    assert complete.project_prefixes("a") == []


def test_lookup_threads_are_daemons(gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch) -> None:
    gitlab.delay = 2.0
    monkeypatch.setattr(complete, "DEADLINE_SECONDS", 0.1)
    complete.complete_project(ctx_with(), "x")
    assert all(t.daemon for t in threading.enumerate() if t.name == "glcr-complete")


def test_callbacks_plug_into_typer() -> None:
    """Typer inspects the callbacks' parameters by name and annotation: they must be acceptable."""
    import typer
    from typer.testing import CliRunner

    app = typer.Typer()

    @app.command()
    def show(ctx: typer.Context, path: str = typer.Argument(..., autocompletion=complete.complete_repository),
             tags: list[str] = typer.Argument(None, autocompletion=complete.complete_tag),
             project: str = typer.Option("", autocompletion=complete.complete_project),
             ref: str = typer.Option("", autocompletion=complete.complete_ref),
             group: str = typer.Option("", autocompletion=complete.complete_group)) -> None:
        pass

    assert CliRunner().invoke(app, ["x"]).exit_code == 0


def test_a_hanging_keyring_is_inside_the_deadline(gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch) -> None:
    import glcr.credentials

    monkeypatch.setattr(glcr.credentials, "_keyring_get", lambda url: time.sleep(5))
    monkeypatch.setattr(complete, "DEADLINE_SECONDS", 0.3)
    start = time.monotonic()
    no_token = ctx_with(root={"url": "https://gitlab.test", "token": None, "gitlab": None})
    assert complete.complete_project(no_token, "group") == []
    assert time.monotonic() - start < 1.0
