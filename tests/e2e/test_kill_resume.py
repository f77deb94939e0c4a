"""Issue 12: kill -9 inside a delete, then resume: nothing lost, no placeholder left, and the
resumed summary counts the whole operation.

glcr is stopped at a known point by its test hook GLCR_TEST_PAUSE (registry/delete.py) and
killed there with SIGKILL: `snapshot` (nothing changed yet), `repointed` (the placeholder route's
tags sit on the placeholder), `deleted` (the registry deleted them; no outcome journaled yet).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from glcr_sandbox.seed import push_image, tag_existing, tag_existing_many

from glcr_runner import Result, glcr

PLANNED = [f"k-{i:03d}" for i in range(61, 70)]
POINTS = ["snapshot", "repointed", "deleted"]


def uses_placeholders(sandbox) -> bool:
    return getattr(sandbox, "registry_kind", "distribution") == "distribution"


def kill_at(env: dict[str, str], point: str, folder: Path, args: list[str], registry=None, watch=None) -> str | None:
    """Run glcr until it reaches `point`, note what `watch` (repo, tag) points at, SIGKILL it."""
    proc = subprocess.Popen([sys.executable, "-m", "glcr", *args], env={**env, "GLCR_TEST_PAUSE": f"{point}={folder}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not (folder / f"{point}.ready").exists():
        assert proc.poll() is None, f"glcr ended before {point}: {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"glcr never reached {point}"
        time.sleep(0.02)
    seen = None
    if registry is not None and watch is not None:
        fetched = registry.manifest(*watch)
        seen = fetched.digest if fetched else None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    return seen


def seed(registry, repo: str) -> tuple[str, str]:
    old = push_image(registry, repo, PLANNED[0], seed="old")
    tag_existing_many(registry, repo, PLANNED[1:5], old)
    mid = push_image(registry, repo, PLANNED[5], seed="mid")
    tag_existing_many(registry, repo, PLANNED[6:], mid)
    tag_existing(registry, repo, "keep-a", old)  # siblings of deleted tags: stay
    tag_existing(registry, repo, "keep-b", mid)
    return old, mid


@pytest.mark.parametrize("point", POINTS)
def test_tags_apply_killed_then_resumed(sandbox, project, registry, sandbox_env, tmp_path, point):
    if point == "repointed" and not uses_placeholders(sandbox):
        pytest.skip("this registry deletes tags one by one: there is no placeholder")
    repo = project.path_with_namespace.lower()
    old, mid = seed(registry, repo)
    sandbox.sync()
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(PLANNED) + "\n")
    args = ["tags", "apply", repo, "--from-file", str(listing), "--yes"]
    on_hold = kill_at(sandbox_env, point, tmp_path, args, registry, (repo, PLANNED[0]))

    resumed = glcr(sandbox_env, *args)
    assert resumed.code == 0, resumed.stderr
    assert sorted(registry.tags(repo) or []) == ["keep-a", "keep-b"]
    assert registry.manifest(repo, "keep-a").digest == old and registry.manifest(repo, "keep-b").digest == mid
    if point == "repointed":
        assert on_hold not in (old, mid, None)  # the tag was on glcr's placeholder when killed
        assert registry.manifest(repo, on_hold) is None, "the killed run's placeholder is left behind"
    # The whole operation, not only this run's part: either this run reports it, or the killed
    # run had journaled every outcome already and nothing is left to do.
    said = " ".join(resumed.stderr.split())
    assert "deleted 9," in said or "9 already settled" in said, said
    assert "already absent 0" in said or "deleted 9," not in said, said
    again = glcr(sandbox_env, *args)
    assert again.code == 0 and "0 to do now" in again.stderr, again.stderr
    records = [json.loads(line) for line in Path(f"{listing}.journal.jsonl").read_text().splitlines()]
    last = {r["tag"]: r["event"] for r in records}
    assert last == {t: "deleted" for t in PLANNED}


@pytest.fixture
def migration(sandbox, registry, tmp_path):
    suffix = uuid.uuid4().hex[:6]
    created = sandbox.create_project(f"kr-{suffix}")
    path = sandbox.world.project_full_path(created)
    tags = {"v1": push_image(registry, path.lower(), "v1", size=256, seed=f"v1{suffix}")}
    tags["same"] = tag_existing(registry, path.lower(), "same", tags["v1"])
    tags["v2"] = push_image(registry, path.lower(), "v2", size=256, seed=f"v2{suffix}")
    holding = sandbox.world.project_full_path(sandbox.create_project(f"krh-{suffix}"))
    group = sandbox.create_group(f"krg-{suffix}")
    sandbox.sync()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "GLCR_", "CI_"))}
    env.update(GITLAB_URL=sandbox.url, GITLAB_TOKEN=sandbox.root_token, NO_COLOR="1")
    return {"path": path, "tags": tags, "holding": holding, "target": f"{group.path}/{created.path}-2",
            "state": tmp_path / "state", "env": env}


@pytest.fixture(autouse=True)
def quick_workers(sandbox):
    knobs = sandbox.ctx.knobs
    saved = knobs.repository_delete_delay_s, knobs.repository_delete_ongoing_s
    knobs.repository_delete_delay_s = knobs.repository_delete_ongoing_s = 0.02
    yield
    knobs.repository_delete_delay_s, knobs.repository_delete_ongoing_s = saved


@pytest.mark.registry_kinds("gitlab", "distribution")  # gitlab-legacy deletes tags as gitlab does
@pytest.mark.parametrize("abort", [False, True], ids=["forward", "abort"])
@pytest.mark.parametrize("point", POINTS)
def test_migrate_killed_in_the_delete_then_resumed(sandbox, registry, tmp_path, migration, point, abort):
    if point == "repointed" and not uses_placeholders(sandbox):
        pytest.skip("this registry deletes tags one by one: there is no placeholder")
    m = migration
    source = m["path"].lower()
    state = ["--state-dir", str(m["state"])]
    start = ["migrate-project", m["path"], "--to", m["target"], "--via", m["holding"], "--yes", *state]
    on_hold = kill_at(m["env"], point, tmp_path, start, registry, (source, "v1"))

    resume = ["migrate-project", "--resume", *(["--abort"] if abort else []), *state]
    done = glcr(m["env"], *resume, timeout=180)
    assert done.returncode == 0, done.stderr
    assert m["env"]["GITLAB_TOKEN"] not in done.stdout + done.stderr
    where = source if abort else m["target"].lower()
    assert sorted(registry.tags(where) or []) == sorted(m["tags"])
    for tag, digest in m["tags"].items():
        assert registry.manifest(where, tag).digest == digest, f"{where}:{tag}"
    if not abort:
        assert not registry.tags(source)
    if point == "repointed":
        assert on_hold not in set(m["tags"].values()) | {None}
        assert registry.manifest(source, on_hold) is None, "the killed run's placeholder is left behind"


def fresh_migration(sandbox, registry, tmp_path, name: str) -> dict:
    suffix = uuid.uuid4().hex[:6]
    created = sandbox.create_project(f"{name}-{suffix}")
    path = sandbox.world.project_full_path(created)
    tags = {"v1": push_image(registry, path.lower(), "v1", size=256, seed=f"v1{suffix}")}
    tags["same"] = tag_existing(registry, path.lower(), "same", tags["v1"])
    tags["v2"] = push_image(registry, path.lower(), "v2", size=256, seed=f"v2{suffix}")
    holding = sandbox.world.project_full_path(sandbox.create_project(f"{name}h-{suffix}"))
    group = sandbox.create_group(f"{name}g-{suffix}")
    sandbox.sync()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "GLCR_", "CI_"))}
    env.update(GITLAB_URL=sandbox.url, GITLAB_TOKEN=sandbox.root_token, NO_COLOR="1")
    return {"id": created.id, "path": path, "tags": tags, "holding": holding,
            "target": f"{group.path}/{created.path}-2", "state": tmp_path / f"state-{suffix}", "env": env}


def migrate(m: dict, *args: str, crash: str | None = None) -> Result:
    env = {**m["env"], **({"GLCR_MIGRATE_CRASH": crash} if crash else {})}
    done = glcr(env, "migrate-project", *args, "--state-dir", str(m["state"]), timeout=180)
    assert m["env"]["GITLAB_TOKEN"] not in done.stdout + done.stderr
    return done


@pytest.mark.registry_kinds("gitlab", "distribution")  # gitlab-legacy migrates like distribution (copy-away) and deletes like gitlab (a tag DELETE): both covered
def test_migrate_killed_after_every_step_then_aborted(sandbox, registry, tmp_path):
    """kill -9 after each step's work (before its `done` entry), then `--resume --abort`: every
    image is back, with its digest, under wherever the project is now; nothing anywhere else."""
    steps = None
    number = 1
    while steps is None or number <= len(steps):
        m = fresh_migration(sandbox, registry, tmp_path, f"ka{number}")
        killed = migrate(m, m["path"], "--to", m["target"], "--via", m["holding"], "--yes", crash=f"{number}:after")
        assert killed.returncode == 137, (number, killed.stderr)
        if steps is None:
            [plan] = m["state"].glob("*/plan.json")
            steps = [s["id"] for s in json.loads(plan.read_text())["steps"]]
        aborted = migrate(m, "--resume", "--abort")
        assert aborted.returncode == 0, (steps[number - 1], aborted.stderr)
        now = sandbox.world.project_full_path(sandbox.world.find_project(m["id"])).lower()
        assert sorted(registry.tags(now) or []) == sorted(m["tags"]), (steps[number - 1], now)
        for tag, digest in m["tags"].items():
            assert registry.manifest(now, tag).digest == digest, (steps[number - 1], tag)
        for other in {m["path"].lower(), m["target"].lower(), m["holding"].lower()} - {now}:
            assert not registry.tags(other), (steps[number - 1], other)
        held = [p for p in registry.catalog() if p.startswith(m["holding"].lower() + "/")]
        assert all(not registry.tags(p) for p in held), (steps[number - 1], "holding copies left")
        number += 1
    assert len(steps) >= 6 and any(s.startswith("delete-tags") for s in steps), steps


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_what_glcr_writes_is_private(sandbox, project, registry, sandbox_env, tmp_path):
    """Plans, journals, logs, migration state and backups name (or hold) private images: files
    0600, directories 0700, whatever the caller's umask."""
    import stat

    repo = project.path_with_namespace.lower()
    seed(registry, repo)
    sandbox.sync()
    old_mask = os.umask(0o022)
    try:
        plan = tmp_path / "plan.json"
        assert glcr(sandbox_env, "tags", "plan", repo, "--delete-regex", "k-06[12]", "-o", str(plan)).code == 0
        applied = glcr(sandbox_env, "tags", "apply", repo, "--from-file", str(plan), "--yes")
        assert applied.code == 0, applied.stderr
        m = fresh_migration(sandbox, registry, tmp_path, "priv")
        backup = tmp_path / "backup"
        moved = migrate(m, m["path"], "--to", m["target"], "--backup-dir", str(backup), "--yes",
                        crash="delete-tags:0:before")  # stop while the backup and the state exist
        assert moved.returncode == 137, moved.stderr
    finally:
        os.umask(old_mask)
    for path in (plan, Path(f"{plan}.journal.jsonl"), Path(f"{plan}.log")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for root in (m["state"], backup):
        assert root.exists(), root
        for path in [root, *root.rglob("*")]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode & 0o077 == 0, (path, oct(mode))
    migrate(m, "--resume", "--abort")
