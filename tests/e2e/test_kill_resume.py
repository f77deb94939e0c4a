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

from glcr.sandbox.seed import push_image, tag_existing

from glcr_runner import glcr

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
    for name in PLANNED[1:5]:
        tag_existing(registry, repo, name, old)
    mid = push_image(registry, repo, PLANNED[5], seed="mid")
    for name in PLANNED[6:]:
        tag_existing(registry, repo, name, mid)
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
    done = subprocess.run([sys.executable, "-m", "glcr", *resume], env=m["env"], capture_output=True, text=True,
                          timeout=180)
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
