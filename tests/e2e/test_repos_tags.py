"""The foundation end to end: the real glcr command, the sandbox, the real registry, skopeo."""

from __future__ import annotations

import pytest

import datetime as dt

from glcr.errors import ExitCode
from glcr_sandbox.seed import push_image, tag_existing, tag_existing_many

from glcr_runner import glcr, skopeo_digest, skopeo_tags

UTC = dt.timezone.utc


def test_tags_list_pages_past_100_with_details(sandbox, project, registry, sandbox_env):
    repo = project.path_with_namespace.lower()
    now = dt.datetime.now(UTC)
    ages = {"t000": 1, "t001": 5, "t002": 20}
    names = [f"t{i:03d}" for i in range(130)]
    digests = {}
    for name, days in ages.items():
        digests[name] = push_image(registry, repo, name, created=now - dt.timedelta(days=days), seed=name)
    tag_existing_many(registry, repo, names[3:], digests["t000"])
    # On GitLab's registry the date shown is the push time: push them that long ago too.
    pushed = {name: now - dt.timedelta(days=ages.get(name, 1)) for name in names}
    sandbox.set_push_times(repo, pushed)
    sandbox.sync()

    out = glcr(sandbox_env, "tags", "list", repo, "-o", "json")
    assert out.code == 0, out.stderr
    tags = out.json()
    assert [t["name"] for t in tags] == names  # all pages (GitLab pages at most 100)
    by_name = {t["name"]: t for t in tags}
    assert by_name["t001"]["digest"] == digests["t001"]
    assert by_name["t002"]["created_at"].startswith((now - dt.timedelta(days=20)).strftime("%Y-%m-%d"))
    assert all(t["total_size"] and t["total_size"] > 0 for t in tags)

    plain = glcr(sandbox_env, "tags", "list", repo, "-o", "plain", "--sort", "created", "--limit", "2")
    assert plain.stdout.split() == ["t000", "t003"]  # newest first; ties (same image) by name
    older = glcr(sandbox_env, "tags", "list", repo, "--older-than", "10d", "--match", "^t00[0-2]$", "-o", "plain")
    assert older.stdout.split() == ["t002"]


def test_tag_delete_keeps_a_sibling_with_the_same_digest(sandbox, project, registry, sandbox_env):
    repo = project.path_with_namespace.lower()
    shared = push_image(registry, repo, "v1.0", seed="a")
    tag_existing(registry, repo, "stable", shared)
    other = push_image(registry, repo, "v2.0", seed="b")
    sandbox.sync()

    preview = glcr(sandbox_env, "tags", "delete", repo, "v1.0", "--dry-run")
    assert preview.code == 0
    assert "stable" in preview.stderr  # the sibling is named before anything happens
    assert skopeo_digest(sandbox, f"{repo}:v1.0") == shared

    done = glcr(sandbox_env, "tags", "delete", repo, "v1.0", "--yes", "-o", "json")
    assert done.code == 0, done.stderr
    assert {r["name"]: r["outcome"] for r in done.json()["results"]} == {"v1.0": "deleted"}
    # skopeo, an independent client, is the witness
    assert skopeo_digest(sandbox, f"{repo}:v1.0") is None
    assert skopeo_digest(sandbox, f"{repo}:stable") == shared
    assert skopeo_digest(sandbox, f"{repo}:v2.0") == other
    assert skopeo_tags(sandbox, repo) == ["stable", "v2.0"]


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_delete_needs_confirmation_in_scripts(sandbox, project, registry, sandbox_env):
    repo = project.path_with_namespace.lower()
    digest = push_image(registry, repo, "keep-me", seed="c")
    sandbox.sync()
    refused = glcr(sandbox_env, "tags", "delete", repo, "keep-me", input="")
    assert refused.code == ExitCode.ABORTED
    assert skopeo_digest(sandbox, f"{repo}:keep-me") == digest


def test_repos_list_show_and_delete(sandbox, project, registry, sandbox_env):
    base = project.path_with_namespace.lower()
    push_image(registry, base, "latest", seed="root")
    push_image(registry, f"{base}/api", "v1", seed="api")
    push_image(registry, f"{base}/api", "v2", seed="api2")
    sandbox.sync()

    listed = glcr(sandbox_env, "repos", "list", "--project", project.path_with_namespace, "-o", "json")
    assert listed.code == 0, listed.stderr
    assert {r["path"]: r["tags_count"] for r in listed.json()} == {base: 1, f"{base}/api": 2}
    assert all(r["location"].startswith(sandbox.registry_host) for r in listed.json())
    group = glcr(sandbox_env, "repos", "list", "--group", "demo", "--search", base.split("/")[1], "--sort", "tags",
                 "-o", "plain")
    assert group.stdout.split() == [f"{base}/api", base]

    shown = glcr(sandbox_env, "repos", "show", f"{sandbox.registry_host}/{base}/api", "-o", "json")
    expected_kind = {"distribution": "third-party"}.get(sandbox.registry_kind, sandbox.registry_kind)
    assert shown.json()["tags_count"] == 2 and shown.json()["registry_kind"] == expected_kind

    deleted = glcr(sandbox_env, "repos", "delete", f"{base}/api", "--yes")
    assert deleted.code == 0, deleted.stderr
    after = glcr(sandbox_env, "repos", "list", "--project", project.path_with_namespace, "-o", "plain")
    assert after.stdout.split() == [base]
    assert skopeo_tags(sandbox, f"{base}/api") == []


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_bad_input_gets_one_line_and_a_distinct_exit_code(sandbox, project, sandbox_env):
    cases = [
        (["tags", "list", "demo/does-not-exist"], ExitCode.NOT_FOUND),
        (["tags", "list", project.path_with_namespace, "--match", "(?<=x)"], ExitCode.INVALID_INPUT),
        (["tags", "delete", project.path_with_namespace, "bad!tag", "--yes"], ExitCode.INVALID_INPUT),
        (["repos", "list"], ExitCode.USAGE),  # neither --project nor --group: a bad command line
    ]
    for args, code in cases:
        out = glcr(sandbox_env, *args)
        assert out.code == code, (args, out.stderr)
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("glcr: error:"), out.stderr
        assert "Traceback" not in out.stderr

    bad_token = glcr({**sandbox_env, "GITLAB_TOKEN": "glpat-wrong-token-123"}, "tags", "list", project.path_with_namespace)
    assert bad_token.code == ExitCode.AUTH
    assert "glpat-wrong-token-123" not in bad_token.stderr


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_reporter_cannot_delete_and_nothing_changes(sandbox, project, registry, sandbox_env):
    repo = project.path_with_namespace.lower()
    digest = push_image(registry, repo, "v1", seed="r")
    sandbox.sync()
    reporter = {**sandbox_env, "GITLAB_TOKEN": sandbox.tokens["reporter"]}
    out = glcr(reporter, "tags", "delete", repo, "v1", "--yes")
    assert out.code in (ExitCode.PERMISSION, ExitCode.PARTIAL), out.stderr
    assert skopeo_digest(sandbox, f"{repo}:v1") == digest


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_rate_limited_gitlab_is_retried_honouring_retry_after(sandbox, project, registry, sandbox_env):
    import httpx

    repo = project.path_with_namespace.lower()
    digest = push_image(registry, repo, "v1", seed="rl")
    sandbox.sync()
    config = f"{sandbox.url}/-/sandbox/config"
    httpx.put(config, json={"rate_limit": {"enabled": True, "requests_per_period": 1, "period_seconds": 1}}).raise_for_status()
    try:
        out = glcr(sandbox_env, "--debug", "tags", "list", repo, "-o", "json")
    finally:
        httpx.put(config, json={"rate_limit": {"enabled": False}}).raise_for_status()
    assert out.code == 0, out.stderr[-2000:]
    assert [t["digest"] for t in out.json()] == [digest]
    assert "retry GET" in out.stderr and "after 429" in out.stderr


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_ci_job_token_lists_and_deletes_in_its_own_project(sandbox, project, registry, sandbox_env):
    repo = project.path_with_namespace.lower()
    keep = push_image(registry, repo, "main", seed="ci-main")
    push_image(registry, repo, "mr-9", seed="ci-mr")
    sandbox.sync()
    job = sandbox.create_job_token("maintainer", project.path_with_namespace)
    env = {k: v for k, v in sandbox_env.items() if k not in ("GITLAB_TOKEN", "GITLAB_URL")}
    env.update({"CI_JOB_TOKEN": job, "CI_SERVER_URL": sandbox.url, "CI_REGISTRY_USER": "gitlab-ci-token",
                "CI_REGISTRY_PASSWORD": job})
    listed = glcr(env, "tags", "list", repo, "-o", "plain")
    assert listed.code == 0, listed.stderr
    assert listed.stdout.split() == ["main", "mr-9"]
    assert job not in listed.stdout + listed.stderr
    deleted = glcr(env, "tags", "delete", repo, "mr-9", "--yes")
    assert deleted.code == 0, deleted.stderr
    assert job not in deleted.stdout + deleted.stderr
    assert skopeo_tags(sandbox, repo) == ["main"]
    assert skopeo_digest(sandbox, f"{repo}:main") == keep


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_auth_login_status_logout_through_the_keyring(sandbox, project, registry, sandbox_env, tmp_path):
    from pathlib import Path

    repo = project.path_with_namespace.lower()
    push_image(registry, repo, "v1", seed="kr")
    sandbox.sync()
    support = Path(__file__).resolve().parents[1] / "support"
    env = {k: v for k, v in sandbox_env.items() if k != "GITLAB_TOKEN"}
    env.update({"PYTHONPATH": str(support), "PYTHON_KEYRING_BACKEND": "file_keyring.FileKeyring",
                "GLCR_TEST_KEYRING_FILE": str(tmp_path / "keyring.json"), "HOME": str(tmp_path)})
    assert glcr(env, "tags", "list", repo).code == ExitCode.AUTH  # nothing stored yet

    login = glcr({**env, "GITLAB_TOKEN": sandbox.token}, "auth", "login", "--token-stdin", input=sandbox.token + "\n")
    assert login.code == 0, login.stderr
    status = glcr({**env, "GITLAB_TOKEN": sandbox.token}, "auth", "status")
    assert "maintainer" in status.stdout
    status = glcr(env, "auth", "status")
    assert status.code == 0 and "from keyring" in status.stdout and "api" in status.stdout, status.stdout
    assert sandbox.token not in status.stdout + status.stderr
    assert glcr(env, "tags", "list", repo, "-o", "plain").stdout.split() == ["v1"]

    assert glcr(env, "auth", "logout").code == 0
    assert glcr(env, "tags", "list", repo).code == ExitCode.AUTH
