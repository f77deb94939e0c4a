"""Issue 3 end to end: policy, cleanup dry-run and run, plan/apply with a kill in the middle."""

from __future__ import annotations

import pytest

import datetime as dt
import json
import signal
import subprocess
import sys
import time

from glcr.errors import ExitCode
from glcr_sandbox.seed import push_image, tag_existing, tag_existing_many

from glcr_runner import glcr, skopeo_digest, skopeo_tags

UTC = dt.timezone.utc


def seed_history(sandbox, registry, repo: str) -> dict[str, str]:
    """Tags built and pushed that many days ago: GitLab's cleanup reads the build date on a
    third-party registry and the push time on its own registry, so both get the history."""
    now = dt.datetime.now(UTC)
    tags = {"latest": 1, "main": 2, "v1.0.0": 200, "v1.1.0": 100, "v2.0.0": 3,
            "feature-a": 60, "feature-b": 40, "feature-c": 5, "mr-1": 90, "mr-2": 45}
    digests = {name: push_image(registry, repo, name, created=now - dt.timedelta(days=days), seed=name)
               for name, days in tags.items()}
    digests["stable"] = tag_existing(registry, repo, "stable", digests["v1.1.0"])
    tags["stable"] = tags["v1.1.0"]
    sandbox.set_push_times(repo, {name: now - dt.timedelta(days=days) for name, days in tags.items()})
    return digests


def current_digest(registry, repo: str, tag: str) -> str | None:
    """What a tag points at; None while the registry is mid-delete (it answers 500 then)."""
    from glcr_sandbox.registry_client import RegistryError

    try:
        fetched = registry.manifest(repo, tag)
    except RegistryError:
        return None
    return fetched.digest if fetched else None


def test_dry_run_then_run_leaves_exactly_what_dry_run_kept(sandbox, project, registry, sandbox_env):
    repo = project.path_with_namespace.lower()
    digests = seed_history(sandbox, registry, repo)
    sandbox.sync()
    policy = ["--name-regex", "(?:feature|mr)-.*", "--name-regex-keep", "feature-c", "--keep-n", "1",
              "--older-than", "30d"]
    dry = glcr(sandbox_env, "cleanup", "dry-run", project.path_with_namespace, *policy, "-o", "json")
    assert dry.code == 0, dry.stderr
    decisions = {d["name"]: d for d in dry.json()}
    assert set(decisions) == set(digests)
    assert all(d["repository"] == repo and d["digest"] == digests[d["name"]] for d in decisions.values())
    deleted = sorted(n for n, d in decisions.items() if d["action"] == "delete")
    # feature-c: kept by name_regex_keep; newest candidate (feature-b) kept by keep_n=1;
    # v*/main/latest/stable don't match; the rest are older than 30 days.
    assert deleted == ["feature-a", "mr-1", "mr-2"]
    assert decisions["feature-c"]["reason"] == "matches_keep_regex"
    assert decisions["latest"]["reason"] == "latest"
    if sandbox.registry_kind == "gitlab":
        assert "gitlab_api" in dry.stderr, dry.stderr  # GitLab's own-registry variant, by push time
    else:
        assert "third_party" in dry.stderr or "third-party" in dry.stderr

    run = glcr(sandbox_env, "cleanup", "run", project.path_with_namespace, *policy, "--yes",
               "--state-dir", str(sandbox.state_dir / f"cleanup-{project.id}"))
    assert run.code == 0, run.stderr
    kept = sorted(n for n, d in decisions.items() if d["action"] == "keep")
    assert skopeo_tags(sandbox, repo) == kept
    for name in kept:
        assert skopeo_digest(sandbox, f"{repo}:{name}") == digests[name]


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_policy_set_validates_before_sending(sandbox, project, sandbox_env):
    path = project.path_with_namespace
    bad = [
        (["--cadence", "2d"], "cadence"),
        (["--keep-n", "7"], "keep_n"),
        (["--enable", "--name-regex", "v(?=1)"], "RE2"),
    ]
    for args, word in bad:
        out = glcr(sandbox_env, "policy", "set", path, *args, "--yes")
        assert out.code == ExitCode.INVALID_INPUT, out.stderr
        assert word in out.stderr
    shown = glcr(sandbox_env, "policy", "show", path, "-o", "json").json()["container_expiration_policy"]
    assert shown is None or shown.get("cadence") != "2d"

    ok = glcr(sandbox_env, "policy", "set", path, "--enable", "--cadence", "7d", "--keep-n", "5",
              "--older-than", "14d", "--name-regex", "feature|mr-.*", "--yes")
    assert ok.code == 0, ok.stderr
    assert "(?:feature|mr-.*)" in ok.stderr  # the C|D anchoring trap is explained, with the fix
    after = glcr(sandbox_env, "policy", "show", path, "-o", "json").json()["container_expiration_policy"]
    assert (after["cadence"], after["keep_n"], after["older_than"], after["enabled"]) == ("7d", 5, "14d", True)

    only_one = glcr(sandbox_env, "policy", "set", path, "--keep-n", "10", "--yes")
    assert only_one.code == 0, only_one.stderr
    after = glcr(sandbox_env, "policy", "show", path, "-o", "json").json()["container_expiration_policy"]
    assert (after["cadence"], after["keep_n"]) == ("7d", 10)


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_apply_rejects_bad_lists_and_plans_for_another_repository(sandbox, project, registry, sandbox_env, tmp_path):
    repo = project.path_with_namespace.lower()
    digest = push_image(registry, repo, "v1", seed="x")
    push_image(registry, f"{repo}/other", "v1", seed="y")
    sandbox.sync()
    bad_list = tmp_path / "list.txt"
    bad_list.write_text("v1\r\nnot a tag\r\n")
    out = glcr(sandbox_env, "tags", "apply", repo, "--from-file", str(bad_list), "--yes")
    assert out.code == ExitCode.INVALID_INPUT and "line 2" in out.stderr, out.stderr

    plan_file = tmp_path / "plan.json"
    made = glcr(sandbox_env, "tags", "plan", f"{repo}/other", "--keep-first", "1", "-o", str(plan_file))
    assert made.code == 0, made.stderr
    wrong = glcr(sandbox_env, "tags", "apply", repo, "--from-file", str(plan_file), "--yes")
    assert wrong.code == ExitCode.STALE, wrong.stderr
    assert skopeo_digest(sandbox, f"{repo}:v1") == digest


@pytest.mark.registry_kinds("gitlab", "distribution")  # test_kill_resume.py kills tags apply at every point on all three registries
def test_plan_apply_killed_midway_then_resumed(sandbox, project, registry, sandbox_env, tmp_path):
    repo = project.path_with_namespace.lower()
    now = dt.datetime.now(UTC)
    base = push_image(registry, repo, "keep-0", created=now, seed="k")
    old = push_image(registry, repo, "old-000", created=now - dt.timedelta(days=100), seed="o")
    names = [f"old-{i:03d}" for i in range(240)]
    tag_existing_many(registry, repo, names[1:], old)
    tag_existing_many(registry, repo, [f"keep-{i}" for i in range(1, 5)], base)
    tag_existing(registry, repo, "keep-old", old)  # shares the digest of every deleted tag
    sandbox.set_push_times(repo, {name: now - dt.timedelta(days=100) for name in [*names, "keep-old"]})
    sandbox.sync()
    plan_file = tmp_path / "plan.json"
    made = glcr(sandbox_env, "tags", "plan", repo, "--delete-regex", "old-.*", "--older-than", "30d", "-o", str(plan_file))
    assert made.code == 0, made.stderr
    plan = json.loads(plan_file.read_text())
    assert sorted(e["tag"] for e in plan["entries"] if e["action"] == "delete") == names

    journal = tmp_path / "plan.json.journal.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "glcr", "tags", "apply", repo, "--from-file", str(plan_file), "--yes"],
                            env=sandbox_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill it in the worst place: tags are being re-pointed at the delete placeholder.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if current_digest(registry, repo, "old-000") != old:
            break
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = [t for t in registry.tags(repo) or [] if t.startswith("old-")]
    if sandbox.registry_kind != "distribution":  # tag-only deletes: the middle is some gone, some left
        assert left and len(left) < len(names), "the kill did not land in the middle of the delete"
    else:
        repointed = sum(1 for t in left if current_digest(registry, repo, t) != old)
        assert left and repointed, "the kill did not land in the middle of the delete"

    resumed = glcr(sandbox_env, "tags", "apply", repo, "--from-file", str(plan_file), "--yes")
    assert resumed.code == 0, resumed.stderr
    again = glcr(sandbox_env, "tags", "apply", repo, "--from-file", str(plan_file), "--yes")
    assert again.code == 0 and "0 to do now" in again.stderr

    records = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    finals = {}
    for record in records:
        if record["event"] in ("deleted", "already_absent"):
            assert record["tag"] not in finals or finals[record["tag"]] != "deleted" or record["event"] != "deleted", \
                f"{record['tag']} deleted twice"
            finals[record["tag"]] = record["event"]
    assert set(finals) == set(names)
    assert skopeo_tags(sandbox, repo) == sorted(["keep-old"] + [f"keep-{i}" for i in range(5)])
    assert skopeo_digest(sandbox, f"{repo}:keep-old") == old
    assert skopeo_digest(sandbox, f"{repo}:keep-3") == base


def test_bulk_delete_dry_run_and_the_hourly_limit(sandbox, project, registry, sandbox_env):
    repo = project.path_with_namespace.lower()
    seed_history(sandbox, registry, repo)
    sandbox.sync()
    bad = glcr(sandbox_env, "tags", "bulk-delete", repo, "--name-regex-delete", "(?<=a)", "--yes")
    assert bad.code == ExitCode.INVALID_INPUT
    preview = glcr(sandbox_env, "tags", "bulk-delete", repo, "--name-regex-delete", "mr-.*", "--dry-run")
    assert preview.code == 0 and "mr-1" in preview.stdout
    first = glcr(sandbox_env, "tags", "bulk-delete", repo, "--name-regex-delete", "mr-.*", "--yes")
    assert first.code == 0, first.stderr
    second = glcr(sandbox_env, "tags", "bulk-delete", repo, "--name-regex-delete", "feature-.*", "--yes")
    assert second.code == ExitCode.REFUSED and "hour" in second.stderr, second.stderr
    sandbox.wait_idle()
    assert not any(t.startswith("mr-") for t in skopeo_tags(sandbox, repo))


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_cleanup_in_ci_with_a_job_token_takes_the_policy_from_flags(sandbox, project, registry, sandbox_env):
    repo = project.path_with_namespace.lower()
    digests = seed_history(sandbox, registry, repo)
    sandbox.sync()
    job = sandbox.create_job_token("maintainer", project.path_with_namespace)
    env = {k: v for k, v in sandbox_env.items() if k not in ("GITLAB_TOKEN", "GITLAB_URL")}
    env.update({"CI_JOB_TOKEN": job, "CI_SERVER_URL": sandbox.url})
    no_flags = glcr(env, "cleanup", "dry-run", project.path_with_namespace)
    assert no_flags.code == ExitCode.INVALID_INPUT and "--name-regex" in no_flags.stderr, no_flags.stderr
    run = glcr(env, "cleanup", "run", project.path_with_namespace, "--name-regex", "mr-.*", "--keep-n", "1",
               "--yes", "--state-dir", str(sandbox.state_dir / f"ci-{project.id}"))
    assert run.code == 0, run.stderr
    assert job not in run.stdout + run.stderr
    left = skopeo_tags(sandbox, repo)
    assert "mr-1" not in left and "mr-2" in left  # keep_n=1 kept the newest mr- tag
    assert skopeo_digest(sandbox, f"{repo}:v1.0.0") == digests["v1.0.0"]
