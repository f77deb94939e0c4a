"""Issue 19 end to end: never delete an image still in use.

A project whose policy would delete the image deployed to production, the head of an open merge
request and a release: the dry-run with the --keep-* flags keeps exactly those and says why,
`cleanup run` with the flags leaves them in the registry (skopeo), and without the flags the
dry-run warns that GitLab's own schedule would delete them.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
from glcr_runner import glcr, skopeo_digest, skopeo_tags

from glcr_sandbox.seed import push_image

UTC = dt.UTC
PROD = "1a2b3c4d" + "5e6f7081" * 4  # production's last deployment
OLD = "0badc0de" + "0" * 32  # production's deployment before it
MR_HEAD = "99d03678b90d914dbb1b109132516d71a4a03ea8"
RELEASED = "5ca1ab1e" + "f" * 32


def test_in_use_tags_are_kept_and_gitlab_schedule_warned(sandbox, project, registry, sandbox_env, tmp_path):
    repo, path = project.path_with_namespace.lower(), project.path_with_namespace
    now = dt.datetime.now(UTC)
    ages = {"latest": 1, "main-7e57ab1e": 2,  # kept by the policy: latest, keep_n=1
            "main-1a2b3c4d": 60,  # production runs it (short sha as a dash part)
            "main-0badc0de": 90,  # deployed to production before: only the last deployment counts
            "feature-login": 40,  # the open MR's source branch feature/Login, as CI_COMMIT_REF_SLUG
            "v1.0.0": 200,  # a release
            "v0.9.0": 300, "feature-gone": 50}  # in use nowhere
    digests = {name: push_image(registry, repo, name, created=now - dt.timedelta(days=days), seed=name)
               for name, days in ages.items()}
    sandbox.set_push_times(repo, {name: now - dt.timedelta(days=days) for name, days in ages.items()})
    sandbox.sync()
    history = {
        "branches": [{"name": "main", "sha": "7e57ab1e" + "1" * 32, "default": True},
                     {"name": "feature/Login", "sha": MR_HEAD}],
        "deployments": [{"environment": "production", "ref": "main", "sha": OLD,
                         "finished_at": (now - dt.timedelta(days=90)).isoformat()},
                        {"environment": "production", "ref": "main", "sha": PROD,
                         "finished_at": (now - dt.timedelta(days=3, hours=1)).isoformat()}],
        "merge_requests": [{"source_branch": "feature/Login", "sha": MR_HEAD},
                           {"source_branch": "feature/gone", "sha": "f" * 40, "state": "merged"}],
        "releases": [{"tag_name": "v1.0.0", "sha": RELEASED}],
    }
    httpx.post(f"{sandbox.url}/-/sandbox/projects/{project.id}/history", json=history).raise_for_status()
    saved = glcr(sandbox_env, "policy", "set", path, "--enable", "--cadence", "7d", "--name-regex", ".*",
                 "--keep-n", "1", "--older-than", "30d", "--yes")
    assert saved.code == 0, saved.stderr
    in_use = {"main-1a2b3c4d", "feature-login", "v1.0.0"}

    warned = glcr(sandbox_env, "cleanup", "dry-run", path, "-o", "json")
    assert warned.code == 0, warned.stderr
    assert {d["name"] for d in warned.json() if d["action"] == "delete"} == in_use | {"main-0badc0de", "v0.9.0",
                                                                                       "feature-gone"}
    assert "GitLab's scheduled cleanup would delete 3 tag(s) still in use" in warned.stderr, warned.stderr
    assert f"{repo}:main-1a2b3c4d  in use: deployed to production 3 days ago" in warned.stderr
    assert r"name_regex_keep to (?:feature-login|main-1a2b3c4d|v1\.0\.0)" in warned.stderr

    flags = ["--keep-deployed", "--keep-open-mrs", "--keep-releases"]
    dry = glcr(sandbox_env, "cleanup", "dry-run", path, *flags, "-o", "json")
    assert dry.code == 0, dry.stderr
    decisions = {d["name"]: d for d in dry.json()}
    assert {n for n, d in decisions.items() if d["reason"] == "in_use"} == in_use
    assert {n for n, d in decisions.items() if d["action"] == "delete"} == {"main-0badc0de", "v0.9.0", "feature-gone"}
    detail = decisions["main-1a2b3c4d"]["detail"]
    deployment_id = detail.split("(deployment ")[1].split(",")[0]
    assert detail == f"in use: deployed to production 3 days ago (deployment {deployment_id}, sha 1a2b3c4d)"
    assert decisions["feature-login"]["detail"] == "in use: open merge request !1 (branch feature/Login, sha 99d03678)"
    assert decisions["v1.0.0"]["detail"] == "in use: release v1.0.0 (sha 5ca1ab1e)"
    assert "3 tag(s) that would go are kept" in dry.stderr and "would delete" not in dry.stderr

    plan_file = tmp_path / "plan.json"
    plan = glcr(sandbox_env, "tags", "plan", repo, "--older-than", "30d", "--keep-latest", *flags, "-o", str(plan_file))
    assert plan.code == 0, plan.stderr
    assert f"kept {repo}:feature-login  in use: open merge request !1" in plan.stderr, plan.stderr
    entries = {e["tag"]: e for e in json.loads(plan_file.read_text())["entries"]}
    assert {n for n, e in entries.items() if e["action"] == "delete"} == {"main-0badc0de", "v0.9.0", "feature-gone"}
    assert entries["v1.0.0"]["reason"] == "in use: release v1.0.0 (sha 5ca1ab1e)"

    run = glcr(sandbox_env, "cleanup", "run", path, *flags, "--yes",
               "--state-dir", str(sandbox.state_dir / f"in-use-{project.id}"))
    assert run.code == 0, run.stderr
    assert "kept " + f"{repo}:v1.0.0  in use: release v1.0.0" in run.stderr
    kept = sorted(set(ages) - {"main-0badc0de", "v0.9.0", "feature-gone"})
    assert skopeo_tags(sandbox, repo) == kept
    assert skopeo_digest(sandbox, f"{repo}:main-1a2b3c4d") == digests["main-1a2b3c4d"]  # what production runs

    # What the warning suggested, written into the saved policy after showing it.
    keep = glcr(sandbox_env, "policy", "set", path, "--keep-in-use", "--yes")
    assert keep.code == 0, keep.stderr
    assert "In use and deleted by this policy: 3 tag(s)" in keep.stderr, keep.stderr
    assert "(?:feature-login|main-1a2b3c4d|v1" in keep.stderr and "Updated" in keep.stderr
    after = glcr(sandbox_env, "cleanup", "dry-run", path, "-o", "json")
    assert {d["name"] for d in after.json() if d["reason"] == "matches_keep_regex"} == in_use
    assert "would delete" not in after.stderr
