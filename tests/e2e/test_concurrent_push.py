"""Issue 12: an image pushed while glcr deletes is never deleted, and is reported stale.

The push lands at a known moment through glcr's test hook GLCR_TEST_PAUSE (registry/delete.py):
glcr stops at a named point, the test pushes with the seeding client (an independent writer),
then lets glcr go on. `snapshot`: the tags were read, nothing changed yet. `repointed`: the
placeholder route has moved the tags onto its placeholder but not yet checked or deleted it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glcr_sandbox.seed import push_image, tag_existing, tag_existing_many

from glcr_runner import glcr, skopeo_digest, skopeo_tags

PLANNED = [f"k-{i:03d}" for i in range(61, 70)]


def start(env: dict[str, str], pause: str, folder: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "glcr", *args], env={**env, "GLCR_TEST_PAUSE": f"{pause}={folder}"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_ready(proc: subprocess.Popen, folder: Path, point: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (folder / f"{point}.ready").exists():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    raise AssertionError(f"glcr never reached {point}")


def finish(proc: subprocess.Popen, folder: Path, point: str, token: str) -> tuple[int, str]:
    (folder / f"{point}.go").write_text("")
    out, err = proc.communicate(timeout=120)
    assert token not in out + err
    return proc.returncode, err


def seed(registry, repo: str) -> tuple[str, str]:
    old = push_image(registry, repo, PLANNED[0], seed="old")
    tag_existing_many(registry, repo, PLANNED[1:], old)
    tag_existing(registry, repo, "keep-a", old)  # a sibling: shares the digest, stays
    other = push_image(registry, repo, "other", seed="other")
    return old, other


def journal_last(journal: Path) -> dict[str, dict]:
    last = {}
    for line in journal.read_text().splitlines():
        record = json.loads(line)
        last[record["tag"]] = record
    return last


def uses_placeholders(sandbox) -> bool:
    return getattr(sandbox, "registry_kind", "distribution") == "distribution"


@pytest.mark.parametrize("source", ["list", "plan"])
def test_a_push_after_the_snapshot_is_kept_and_reported_stale(sandbox, project, registry, sandbox_env, tmp_path, source):
    repo = project.path_with_namespace.lower()
    old, other = seed(registry, repo)
    sandbox.sync()
    if source == "list":
        plan_file = tmp_path / "list.txt"
        plan_file.write_text("\n".join(PLANNED) + "\n")
    else:
        plan_file = tmp_path / "plan.json"
        made = glcr(sandbox_env, "tags", "plan", repo, "--delete-regex", "k-.*", "-o", str(plan_file))
        assert made.returncode == 0, made.stderr
    proc = start(sandbox_env, "snapshot", tmp_path, "tags", "apply", repo, "--from-file", str(plan_file), "--yes")
    assert wait_ready(proc, tmp_path, "snapshot")
    new = push_image(registry, repo, "k-065", seed="pushed-meanwhile")
    code, err = finish(proc, tmp_path, "snapshot", sandbox.token)

    assert code == 0, err
    assert skopeo_digest(sandbox, f"{repo}:k-065") == new
    assert skopeo_tags(sandbox, repo) == ["k-065", "keep-a", "other"]
    assert skopeo_digest(sandbox, f"{repo}:keep-a") == old
    assert "stale 1" in err and "deleted 8" in err, err
    records = journal_last(Path(f"{plan_file}.journal.jsonl"))
    assert records["k-065"]["event"] == "stale" and records["k-065"]["digest"] == old
    assert new[:19] in records["k-065"]["detail"]
    assert all(records[t]["event"] == "deleted" for t in PLANNED if t != "k-065")
    log = Path(f"{plan_file}.log").read_text()
    assert "stale" in log and not any(line.startswith(("deleted", "20")) and " deleted " in line and ":k-065 " in line
                                      for line in log.splitlines())


def test_tags_delete_keeps_a_tag_pushed_after_the_preview(sandbox, project, registry, sandbox_env, tmp_path):
    repo = project.path_with_namespace.lower()
    old, _ = seed(registry, repo)
    sandbox.sync()
    proc = start(sandbox_env, "snapshot", tmp_path, "tags", "delete", repo, "k-061", "k-062", "--yes")
    assert wait_ready(proc, tmp_path, "snapshot")
    new = push_image(registry, repo, "k-062", seed="pushed-meanwhile")
    code, err = finish(proc, tmp_path, "snapshot", sandbox.token)
    assert code == 0, err
    assert skopeo_digest(sandbox, f"{repo}:k-061") is None
    assert skopeo_digest(sandbox, f"{repo}:k-062") == new
    assert skopeo_digest(sandbox, f"{repo}:keep-a") == old
    assert "stale" in err and "k-062" in err, err


def test_pushes_and_copies_during_re_pointing_are_put_back(sandbox, project, registry, sandbox_env, tmp_path):
    """The placeholder route's race: while the tags sit on the placeholder, someone pushes one of
    them, and copies another (now the placeholder) over an existing tag and to a new tag."""
    if not uses_placeholders(sandbox):
        pytest.skip("this registry deletes tags one by one: there is no placeholder")
    repo = project.path_with_namespace.lower()
    old, other = seed(registry, repo)
    sandbox.sync()
    plan_file = tmp_path / "list.txt"
    plan_file.write_text("\n".join(PLANNED) + "\n")
    proc = start(sandbox_env, "repointed", tmp_path, "tags", "apply", repo, "--from-file", str(plan_file), "--yes")
    assert wait_ready(proc, tmp_path, "repointed")
    copied = registry.manifest(repo, "k-063")
    placeholder = copied.digest
    assert placeholder != old  # the tag is on glcr's placeholder now
    registry.put_manifest(repo, "keep-a", copied.raw, copied.media_type)  # an existing tag copied over
    registry.put_manifest(repo, "new-copy", copied.raw, copied.media_type)  # a new tag copied from it
    new = push_image(registry, repo, "k-065", seed="pushed-meanwhile")
    code, err = finish(proc, tmp_path, "repointed", sandbox.token)

    assert code == 0, err
    assert skopeo_tags(sandbox, repo) == ["k-065", "keep-a", "new-copy", "other"]
    assert skopeo_digest(sandbox, f"{repo}:k-065") == new
    assert skopeo_digest(sandbox, f"{repo}:keep-a") == old  # put back on its image
    assert skopeo_digest(sandbox, f"{repo}:new-copy") == old  # the image it was copied for
    assert skopeo_digest(sandbox, f"{repo}:other") == other
    assert registry.manifest(repo, placeholder) is None  # no placeholder left behind
    records = journal_last(Path(f"{plan_file}.journal.jsonl"))
    assert records["k-065"]["event"] == "stale"
    assert sorted(t for t, r in records.items() if r["event"] == "deleted") == sorted(set(PLANNED) - {"k-065"})
