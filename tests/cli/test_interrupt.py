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


@pytest.mark.e2e
def test_sigint_during_tags_apply_prints_the_resume_command_that_finishes_it(sandbox, project, registry,
                                                                              sandbox_env, tmp_path):
    from glcr_sandbox.seed import push_image, tag_existing

    repo = project.path_with_namespace.lower()
    now = dt.datetime.now(UTC)
    keep = push_image(registry, repo, "keep", created=now, seed="k")
    old = push_image(registry, repo, "old-000", created=now - dt.timedelta(days=100), seed="o")
    names = [f"old-{i:03d}" for i in range(300)]
    for name in names[1:]:
        tag_existing(registry, repo, name, old)
    sandbox.sync()
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

    resumed = subprocess.run([sys.executable, "-m", "glcr", *argv[1:]], env=sandbox_env, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    finished = {e["tag"] for e in _journal_events(journal) if e.get("event") in ("deleted", "already_absent")}
    assert finished == set(names)
    assert registry.tags(repo) == ["keep"]
    assert registry.manifest(repo, "keep").digest == keep


@pytest.mark.e2e
def test_sigint_during_cleanup_run_prints_the_resume_command_that_finishes_it(sandbox, project, registry,
                                                                             sandbox_env, tmp_path):
    from glcr_sandbox.seed import push_image, tag_existing

    repo = project.path_with_namespace.lower()
    now = dt.datetime.now(UTC)
    keep = push_image(registry, repo, "keep", created=now, seed="k")
    old = push_image(registry, repo, "old-000", created=now - dt.timedelta(days=100), seed="o")
    names = [f"old-{i:03d}" for i in range(300)]
    for name in names[1:]:
        tag_existing(registry, repo, name, old)
    sandbox.sync()
    # No keep_n, no older_than in the saved policy: every old-* tag goes, on either registry kind
    # (GitLab's registry dates tags by push time, which a test cannot set back).
    unlimited = tmp_path / "policy.yaml"
    unlimited.write_text("keep_n: null\nolder_than: null\n")
    saved = subprocess.run([sys.executable, "-m", "glcr", "policy", "set", project.path_with_namespace, "--from-file",
                            str(unlimited), "--yes"], env=sandbox_env, capture_output=True, text=True, timeout=120)
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

    resumed = subprocess.run([sys.executable, "-m", "glcr", *argv[1:]], env=sandbox_env, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert registry.tags(repo) == ["keep"]
    assert registry.manifest(repo, "keep").digest == keep


@pytest.mark.e2e
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

    resumed = subprocess.run([sys.executable, "-m", "glcr", *argv[1:]], env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    moved = target.lower()
    assert sorted(registry.tags(moved) or []) == sorted(digests)
    for tag, digest in digests.items():
        assert registry.manifest(moved, tag).digest == digest, tag
    assert not registry.tags(source)


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
