"""One Session per command: `tags delete` (read, confirm, delete) and `cleanup run` over several
repositories each build one Session, keep it open across the confirmation, and close it at the end."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from sandbox_fixtures import project, registry, registry_kind, sandbox  # noqa: F401 (fixtures)
from glcr_sandbox.seed import push_image

runner = CliRunner()


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch, sandbox, tmp_path):  # noqa: F811
    """Counts Session constructions and closes while glcr runs against the sandbox."""
    from glcr import session as session_module

    for name in ("GITLAB_PRIVATE_TOKEN", "CI_JOB_TOKEN", "CI_SERVER_URL", "PYTHON_GITLAB_CFG", "GLCR_JOBS",
                 "GLCR_REGISTRY_JOBS", "GLCR_INSECURE_REGISTRY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("GITLAB_URL", sandbox.url)
    monkeypatch.setenv("GITLAB_TOKEN", sandbox.token)
    counts = {"opened": 0, "closed": 0}
    real_init, real_exit = session_module.Session.__init__, session_module.Session.__aexit__

    def init(self, *args, **kwargs):
        counts["opened"] += 1
        real_init(self, *args, **kwargs)

    async def aexit(self, *exc):
        counts["closed"] += 1
        await real_exit(self, *exc)

    monkeypatch.setattr(session_module.Session, "__init__", init)
    monkeypatch.setattr(session_module.Session, "__aexit__", aexit)
    return counts


def _glcr(*args: str):
    from glcr.cli.main import app

    return runner.invoke(app, list(args))


@pytest.mark.e2e
def test_tags_delete_reads_confirms_and_deletes_in_one_session(sessions, sandbox, project, registry):  # noqa: F811
    repo = project.path_with_namespace.lower()
    for tag in ("a", "b", "c"):
        push_image(registry, repo, tag, seed=tag)
    sandbox.sync()
    result = _glcr("tags", "delete", project.path_with_namespace, "a", "b", "--yes")
    assert result.exit_code == 0, result.output
    assert sorted(registry.tags(repo) or []) == ["c"]
    assert sessions == {"opened": 1, "closed": 1}


@pytest.mark.e2e
def test_cleanup_run_over_three_repositories_uses_one_session(sessions, sandbox, project, registry):  # noqa: F811
    base = project.path_with_namespace.lower()
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=100)
    repos = [base, f"{base}/api", f"{base}/web"]
    for repo in repos:
        for days, tag in enumerate(("keep", "old-1", "old-2", "old-3")):
            push_image(registry, repo, tag, created=old - dt.timedelta(days=days), seed=f"{repo}-{tag}")
        sandbox.set_push_times(repo, {t: old - dt.timedelta(days=d)
                                      for d, t in enumerate(("keep", "old-1", "old-2", "old-3"))})
    sandbox.sync()
    result = _glcr("cleanup", "run", project.path_with_namespace, "--name-regex", "old-.*", "--older-than", "30d",
                   "--keep-n", "1", "--yes")
    assert result.exit_code == 0, result.output
    for repo in repos:
        assert sorted(registry.tags(repo) or []) == ["keep", "old-1"], repo  # old-1: the newest match
    assert sessions == {"opened": 1, "closed": 1}


def test_the_context_keeps_one_session_until_it_closes() -> None:
    """No request is sent: a Session is built without I/O, and the work only looks at it."""
    from glcr.cli.context import AppContext

    app = AppContext(url="http://127.0.0.1:9", token="glpat-not-used", env={})
    seen = []

    async def work(session):
        seen.append(session)
        return len(seen)

    assert app.run(work) == 1 and app.run(work) == 2
    assert seen[0] is seen[1] and not seen[0]._gitlab_http.is_closed
    with pytest.raises(ValueError):
        app.run(work, settings=app.settings.with_jobs(3))  # one session: its settings are fixed
    app.close()
    assert seen[0]._gitlab_http.is_closed and seen[0]._token_http.is_closed
    app.close()  # a second close is harmless
    app.run(work)
    assert seen[2] is not seen[0]
    app.close()


def test_ctrl_c_at_a_prompt_inside_the_session_is_a_no(monkeypatch: pytest.MonkeyPatch) -> None:
    """A confirmation asked inside AppContext.run: Ctrl-C at it answers "no" at once (exit 10,
    nothing changed), as it does outside, and the work after the question never runs."""
    import signal
    import sys

    from typer._click import termui

    from glcr.cli.context import AppContext
    from glcr.errors import AbortedError

    def ctrl_c_then_yes(prompt: str) -> str:
        signal.raise_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
        return "y"

    monkeypatch.setattr(termui, "visible_prompt_func", ctrl_c_then_yes)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    app = AppContext(url="http://127.0.0.1:9", token="glpat-not-used", env={})
    after = []

    async def work(session):
        app.confirm("Delete?", yes=False)
        after.append("deleted")

    try:
        with pytest.raises(AbortedError, match="nothing changed"):
            app.run(work)
    finally:
        app.close()
    assert after == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
