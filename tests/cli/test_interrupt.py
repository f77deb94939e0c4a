"""Ctrl-C in journaled work: exit 130, one line naming the command that resumes, and that command
finishes the job. A real SIGINT to a real `glcr` against the sandbox (e2e), plus in-process
checks of the message for each journaled command."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

import sandbox_fixtures as _fixtures
from glcr_runner import glcr
from sandbox_fixtures import project, registry, sandbox, sandbox_env  # noqa: F401 (fixtures)

if hasattr(_fixtures, "registry_kind"):  # the sandbox runs once per registry kind
    registry_kind = _fixtures.registry_kind

UTC = dt.timezone.utc


def _journal_events(journal: Path) -> list[dict]:
    try:
        lines = journal.read_text().splitlines()
    except FileNotFoundError:
        return []
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:
            pass  # a line being written
    return events


def _run_until_some_done(args: list[str], env: dict[str, str], journal: Path, total: int) -> subprocess.CompletedProcess:
    """Start `glcr ARGS`, send SIGINT once the journal shows the deletes under way, wait.

    "Under way" is the journal's `start` records, written before any delete: outcomes can all
    land at once (one placeholder DELETE removes every re-pointed tag), too late to interrupt.
    """
    proc = subprocess.Popen([sys.executable, "-m", "glcr", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(e.get("event") == "start" for e in _journal_events(journal)):
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    done = sum(1 for e in _journal_events(journal) if e.get("event") in ("deleted", "already_absent"))
    assert proc.returncode == 130 and done < total, \
        f"the interrupt did not land in the middle (exit {proc.returncode}, {done} of {total} done): {err}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _seed_keep_and_old(sandbox, project, registry, count: int) -> tuple[str, str, list[str]]:
    """One fresh `keep` tag and `count` tags old-000... on one 100-day-old image: (repo, keep digest, old names)."""
    from glcr_sandbox.seed import push_image, tag_existing_many

    repo = project.path_with_namespace.lower()
    now = dt.datetime.now(UTC)
    keep = push_image(registry, repo, "keep", created=now, seed="k")
    old = push_image(registry, repo, "old-000", created=now - dt.timedelta(days=100), seed="o")
    names = [f"old-{i:03d}" for i in range(count)]
    tag_existing_many(registry, repo, names[1:], old)
    sandbox.sync()
    return repo, keep, names


@pytest.mark.e2e
@pytest.mark.registry_kinds("gitlab", "distribution")  # gitlab-legacy deletes tags as gitlab does (a tag DELETE): interrupting that path is covered on gitlab
def test_sigint_during_tags_apply_prints_the_resume_command_that_finishes_it(sandbox, project, registry,
                                                                              sandbox_env, tmp_path):
    repo, keep, names = _seed_keep_and_old(sandbox, project, registry, 300)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(names) + "\n")
    journal = tmp_path / "list.txt.journal.jsonl"

    stopped = _run_until_some_done(["tags", "apply", repo, "--from-file", str(listing), "--yes"],
                                   sandbox_env, journal, len(names))
    assert stopped.returncode == 130, stopped.stderr
    last = stopped.stderr.strip().splitlines()[-1]
    assert last.startswith("glcr: interrupted; the journal ") and "Traceback" not in stopped.stderr, stopped.stderr
    resume = last.split("resume with: ", 1)[1].rstrip(")")
    argv = shlex.split(resume)
    assert argv[:3] == ["glcr", "tags", "apply"] and "--yes" in argv and str(listing) in argv

    resumed = glcr(sandbox_env, *argv[1:], timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    finished = {e["tag"] for e in _journal_events(journal) if e.get("event") in ("deleted", "already_absent")}
    assert finished == set(names)
    assert registry.tags(repo) == ["keep"]
    assert registry.manifest(repo, "keep").digest == keep


# Moments of a `tags apply` for a Ctrl-C: (journal milestone to wait for, then seconds more).
# The journal opens before the tags are re-read (HEADs in flight), `start` records precede the
# first change (deletes in flight), and a little later the session is mid-delete or closing.
MOMENTS = {"re-reading": ("opened", 0.0), "deleting": ("start", 0.0), "deleting-later": ("start", 0.08)}


@pytest.mark.e2e
@pytest.mark.parametrize("moment", sorted(MOMENTS))
@pytest.mark.registry_kinds("gitlab", "distribution")  # gitlab-legacy deletes tags as gitlab does (a tag DELETE): interrupting that path is covered on gitlab
def test_sigint_at_any_moment_of_tags_apply_is_one_line_and_exit_130(sandbox, project, registry, sandbox_env,
                                                                     tmp_path, moment):
    """Whatever asyncio is doing when Ctrl-C lands (requests in flight, tasks being cancelled,
    the session closing), stderr holds no traceback and no asyncio warning, only the one line
    naming the resume command, and that command finishes the job."""
    repo, keep, names = _seed_keep_and_old(sandbox, project, registry, 200)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(names) + "\n")
    journal = tmp_path / "list.txt.journal.jsonl"
    milestone, extra = MOMENTS[moment]

    proc = subprocess.Popen([sys.executable, "-m", "glcr", "tags", "apply", repo, "--from-file", str(listing),
                             "--yes"], env=sandbox_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and (milestone == "opened" or any(e.get("event") == milestone
                                                              for e in _journal_events(journal))):
            break
        time.sleep(0.002)
    time.sleep(extra)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    for noise in ("Traceback", "Task ", "never awaited", "Exception ignored", "Error"):
        assert noise not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("glcr: interrupted; the journal "), err
    argv = shlex.split(last.split("resume with: ", 1)[1].rstrip(")"))

    resumed = glcr(sandbox_env, *argv[1:], timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert registry.tags(repo) == ["keep"]
    assert registry.manifest(repo, "keep").digest == keep


@pytest.mark.e2e
@pytest.mark.registry_kinds("gitlab", "distribution")  # gitlab-legacy deletes tags as gitlab does (a tag DELETE): interrupting that path is covered on gitlab
def test_sigint_during_cleanup_run_prints_the_resume_command_that_finishes_it(sandbox, project, registry,
                                                                             sandbox_env, tmp_path):
    repo, keep, names = _seed_keep_and_old(sandbox, project, registry, 300)
    # No keep_n, no older_than in the saved policy: every old-* tag goes, on either registry kind
    # (GitLab's registry dates tags by push time, which a test cannot set back).
    unlimited = tmp_path / "policy.yaml"
    unlimited.write_text("keep_n: null\nolder_than: null\n")
    saved = glcr(sandbox_env, "policy", "set", project.path_with_namespace, "--from-file", str(unlimited), "--yes",
                 timeout=120)
    assert saved.returncode == 0, saved.stderr
    state = tmp_path / "state with space"
    journal = state / (repo.replace("/", "__") + ".plan.json.journal.jsonl")
    policy = ["--name-regex", "old-.*"]

    stopped = _run_until_some_done(["cleanup", "run", project.path_with_namespace, *policy, "--state-dir", str(state),
                                    "--yes"], sandbox_env, journal, len(names))
    assert stopped.returncode == 130, stopped.stderr
    last = stopped.stderr.strip().splitlines()[-1]
    assert last.startswith("glcr: interrupted; the journal ") and "Traceback" not in stopped.stderr, stopped.stderr
    argv = shlex.split(last.split("resume with: ", 1)[1].rstrip(")"))
    assert argv[:3] == ["glcr", "cleanup", "run"] and argv[-1] == "--yes" and str(state) in argv

    resumed = glcr(sandbox_env, *argv[1:], timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert registry.tags(repo) == ["keep"]
    assert registry.manifest(repo, "keep").digest == keep


@pytest.mark.e2e
@pytest.mark.registry_kinds("gitlab", "distribution")  # gitlab-legacy deletes tags as gitlab does (a tag DELETE): interrupting that path is covered on gitlab
def test_sigint_during_migrate_project_prints_the_resume_command_that_finishes_it(sandbox, project, registry,
                                                                                 sandbox_env, tmp_path):
    import uuid

    from glcr_sandbox.seed import push_image

    suffix = uuid.uuid4().hex[:6]
    group = sandbox.create_group(f"moved-{suffix}")  # another top-level group: the images are copied away
    holding = sandbox.world.project_full_path(sandbox.create_project(f"holding-{suffix}"))
    source = project.path_with_namespace.lower()
    digests = {f"v{i}": push_image(registry, source, f"v{i}", size=256, seed=f"{suffix}-{i}") for i in range(12)}
    sandbox.sync()
    target = f"{group.path}/{project.path}-new"
    state = tmp_path / "migrations"
    env = {**sandbox_env, "GITLAB_TOKEN": sandbox.root_token}  # a transfer needs the Owner role

    proc = subprocess.Popen([sys.executable, "-m", "glcr", "migrate-project", project.path_with_namespace, "--to",
                             target, "--via", holding, "--state-dir", str(state), "--yes"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(e.get("event") == "done" for j in state.glob("*/journal.jsonl") for e in _journal_events(j)):
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("glcr: interrupted; the journal ") and "Traceback" not in err, err
    argv = shlex.split(last.split("resume with: ", 1)[1].rstrip(")"))
    assert argv[:4] == ["glcr", "migrate-project", "--resume", "--id"] and str(state) in argv

    resumed = glcr(env, *argv[1:], timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    moved = target.lower()
    assert sorted(registry.tags(moved) or []) == sorted(digests)
    for tag, digest in digests.items():
        assert registry.manifest(moved, tag).digest == digest, tag
    assert not registry.tags(source)


@pytest.mark.e2e
def test_sigint_while_tags_sit_on_the_placeholder_finishes_the_batch_first(sandbox, project, registry, registry_kind,
                                                                           sandbox_env, tmp_path):
    """distribution has no tag delete: tags are re-pointed to a placeholder, deleted with it.
    Ctrl-C right after the re-pointing (GLCR_TEST_PAUSE holds the run there) deletes that batch
    before exiting 130 with the resume line: no tag is left on the placeholder, none is lost."""
    if registry_kind != "distribution":
        pytest.skip("GitLab's registry deletes tags one by one: no placeholder")
    repo, keep, names = _seed_keep_and_old(sandbox, project, registry, 20)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(names) + "\n")
    journal = tmp_path / "list.txt.journal.jsonl"
    pause = tmp_path / "pause"
    pause.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "glcr", "tags", "apply", repo, "--from-file", str(listing),
                             "--yes"], env={**sandbox_env, "GLCR_TEST_PAUSE": f"repointed={pause}"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (pause / "repointed.ready").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1] if proc.poll() else ""
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("glcr: interrupted; the journal ") and "Traceback" not in err, err
    # The batch in flight was finished: every re-pointed tag is gone, journaled as deleted.
    assert registry.tags(repo) == ["keep"]
    assert registry.manifest(repo, "keep").digest == keep
    deleted = {e["tag"] for e in _journal_events(journal) if e.get("event") == "deleted"}
    assert deleted == set(names)

    argv = shlex.split(last.split("resume with: ", 1)[1].rstrip(")"))
    resumed = glcr(sandbox_env, *argv[1:], timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert registry.tags(repo) == ["keep"]


# ---------------------------------------------------------------------------- in-process


def _probe_app(body):
    """glcr's edge (glcr.cli.main.main) around a one-command app whose root builds the AppContext."""
    from glcr.cli.context import AppContext

    probe = typer.Typer()

    @probe.callback()
    def root(ctx: typer.Context, url: str = typer.Option(None, "--url")) -> None:
        ctx.obj = AppContext(url=url, token="glpat-secret-value")

    probe.command("probe")(body)
    return probe


def test_resumable_turns_ctrl_c_into_exit_130_with_the_command(monkeypatch, capsys):
    """The edge: `Interrupted` is one line on stderr, exit 130, with --url but never a token."""
    from glcr.cli import main as cli_main
    from glcr.cli.context import app_context

    def interrupted(ctx: typer.Context) -> None:
        with app_context(ctx).resumable("tags", "apply", "g/p", "--from-file", "a list.txt", "--yes",
                                        journal="a list.txt.journal.jsonl"):
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "app", _probe_app(interrupted))
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(["--url", "https://gitlab.example.com", "probe"])
    _, err = capsys.readouterr()
    assert exit_info.value.code == 130
    assert err == ("glcr: interrupted; the journal a list.txt.journal.jsonl keeps every finished step "
                   "(resume with: glcr --url https://gitlab.example.com tags apply g/p --from-file "
                   "'a list.txt' --yes)\n")
    assert "glpat-secret-value" not in err


def test_ctrl_c_elsewhere_is_exit_130_and_one_line(monkeypatch, capsys):
    from glcr.cli import main as cli_main

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "app", _probe_app(interrupted))
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(["probe"])
    _, err = capsys.readouterr()
    assert exit_info.value.code == 130 and err == "glcr: interrupted\n"


def test_ctrl_c_at_the_confirmation_is_a_no(monkeypatch):
    """click turns Ctrl-C at a prompt into Abort; glcr answers it as "no": nothing changed, exit 10."""
    from glcr.cli.context import AppContext
    from glcr.errors import AbortedError

    def interrupted_prompt(*args, **kwargs):
        raise typer.Abort()

    monkeypatch.setattr(typer, "confirm", interrupted_prompt)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    with pytest.raises(AbortedError, match="nothing changed"):
        AppContext().confirm("Delete?", yes=False)


# ------------------------------------------------------- tasks left behind by Ctrl-C or errors


def test_gather_bounded_cancels_and_waits_for_the_rest_when_one_call_fails():
    """asyncio.gather alone returns on the first error and leaves the other calls running."""
    import asyncio

    from glcr.transport.concurrency import gather_bounded

    ended = []

    async def slow(i: int) -> int:
        try:
            await asyncio.sleep(10)
            return i
        finally:
            ended.append(i)

    async def fails() -> int:
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    async def main() -> list:
        with pytest.raises(ValueError, match="boom"):
            await gather_bounded(4, [lambda: slow(1), fails, lambda: slow(2), lambda: slow(3)])
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    assert asyncio.run(main()) == []
    assert sorted(ended) == [1, 2, 3]


def _fake_session_context(monkeypatch, closing=None):
    """An AppContext whose Session is a stand-in (no credentials, no HTTP)."""
    from glcr.cli.context import AppContext

    from glcr.session import SessionMemo

    class FakeSession:
        closed = False

        def __init__(self, *args, **kwargs):
            self.memo = SessionMemo()  # the CLI points its notes at stderr

        async def __aexit__(self, *exc):
            if closing:
                await closing()
            FakeSession.closed = True

    monkeypatch.setattr("glcr.session.Session", FakeSession)
    app = AppContext(url="https://gitlab.example.com", token="glpat-x")
    monkeypatch.setattr(app, "credentials", lambda require=True: None)
    return app, FakeSession


def test_ctrl_c_cancels_and_awaits_the_tasks_the_work_left_behind(monkeypatch, caplog, capfd):
    """A task still running when Ctrl-C cancels the work ends before run() returns, and what it
    raises while being cancelled is not logged by asyncio at exit."""
    import asyncio

    app, _ = _fake_session_context(monkeypatch)
    seen = []

    async def stray():
        try:
            await asyncio.sleep(10)
        finally:
            seen.append("ended")
            raise RuntimeError("raised while being cancelled")

    async def work(session):
        asyncio.ensure_future(stray())
        await asyncio.sleep(0)
        signal.raise_signal(signal.SIGINT)  # what a real Ctrl-C does: the Runner cancels this task
        await asyncio.sleep(10)

    with pytest.raises(KeyboardInterrupt):
        app.run(work)
    assert seen == ["ended"]  # before run() returned, not later while the session closes
    app.close()
    import gc

    gc.collect()
    assert not [r for r in caplog.records if r.name == "asyncio"], caplog.text
    assert "Traceback" not in capfd.readouterr().err


def test_ctrl_c_while_the_session_closes_keeps_the_resume_line(monkeypatch):
    """Ctrl-C during the close waits for it; the command's own `Interrupted` stays the answer."""
    import asyncio

    from glcr.cli.context import Interrupted

    async def closing():
        signal.raise_signal(signal.SIGINT)
        await asyncio.sleep(0.01)

    app, session = _fake_session_context(monkeypatch, closing)
    app.run(lambda s: asyncio.sleep(0))
    try:
        with pytest.raises(Interrupted):
            try:
                raise Interrupted("interrupted", hint="resume with: glcr ...")
            finally:
                app.close()
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C while closing replaced the resume line with a bare interrupt")
    assert session.closed


def test_ctrl_c_while_the_session_closes_after_success_is_an_interrupt(monkeypatch):
    import asyncio

    async def closing():
        signal.raise_signal(signal.SIGINT)
        await asyncio.sleep(0.01)

    app, session = _fake_session_context(monkeypatch, closing)
    app.run(lambda s: asyncio.sleep(0))
    with pytest.raises(KeyboardInterrupt):
        app.close()
    assert session.closed  # closed first, then the Ctrl-C counts


def test_ctrl_c_is_an_interrupt_even_when_the_work_was_cancelled_twice(monkeypatch):
    """asyncio.Runner re-raises CancelledError (a traceback) instead of KeyboardInterrupt when
    the task was cancelled more than once; for glcr both are the Ctrl-C."""
    import asyncio

    app, _ = _fake_session_context(monkeypatch)

    async def work(session):
        asyncio.current_task().cancel()  # another cancellation, as a library's own might be
        signal.raise_signal(signal.SIGINT)
        await asyncio.sleep(10)

    with pytest.raises(KeyboardInterrupt):
        app.run(work)
    app.close()


def test_ctrl_c_while_the_command_modules_load_is_one_line_and_exit_130(monkeypatch, capsys) -> None:
    """A Ctrl-C in the first moments (the entry point still importing the CLI) prints no traceback."""
    import importlib.abc

    from glcr.cli import entry

    class InterruptedImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "glcr.cli.main":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "glcr.cli.main", raising=False)
    monkeypatch.setattr(sys, "meta_path", [InterruptedImport(), *sys.meta_path])
    with pytest.raises(SystemExit) as exited:
        entry.main(["tags", "list", "demo/app"])
    assert exited.value.code == 130
    assert capsys.readouterr().err == "glcr: interrupted\n"
