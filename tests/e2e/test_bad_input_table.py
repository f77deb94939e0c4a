"""Issue 12's failures that need a GitLab: each bad input through the real `glcr` command gives one
line on stderr, the documented exit code, and changes nothing."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from glcr.errors import ExitCode
from glcr_sandbox.seed import push_image, tag_existing

from glcr_runner import glcr


def one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("glcr: error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr, stderr
    return errors[0]


@pytest.fixture
def seeded(sandbox, project, registry):
    repo = project.path_with_namespace.lower()
    digest = push_image(registry, repo, "v1", seed="t")
    tag_existing(registry, repo, "v2", digest)
    sandbox.sync()
    return repo, digest


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_table_of_bad_inputs_against_a_gitlab(sandbox, seeded, sandbox_env, tmp_path, registry):
    repo, digest = seeded
    listing = tmp_path / "list.txt"
    listing.write_text("v1\n")
    reporter = {**sandbox_env, "GITLAB_TOKEN": sandbox.tokens["reporter"]}
    cases = [
        ("a tag that does not exist", sandbox_env, ["tags", "delete", repo, "nosuch", "--yes"],
         ExitCode.NOT_FOUND, "has no tag nosuch"),
        ("tags show of a tag that does not exist", sandbox_env, ["tags", "show", f"{repo}:nosuch"],
         ExitCode.NOT_FOUND, "nosuch"),
        ("--journal into a missing directory", sandbox_env,
         ["tags", "apply", repo, "--from-file", str(listing), "--journal", str(tmp_path / "nope" / "j.jsonl"), "--yes"],
         ExitCode.INVALID_INPUT, "does not exist"),
        ("a Reporter whose deletes are all refused", reporter, ["tags", "delete", repo, "v1", "--yes"],
         ExitCode.PERMISSION, "refused (403)"),
        ("a Reporter applying a list", reporter, ["tags", "apply", repo, "--from-file", str(listing), "--yes"],
         ExitCode.PERMISSION, "refused (403)"),
    ]
    for what, env, args, code, fragment in cases:
        out = glcr(env, *args)
        line = one_error_line(out.stderr)
        assert out.code == code, (what, out.stderr)
        assert fragment in line, (what, line)
    assert sorted(registry.tags(repo)) == ["v1", "v2"]  # nothing changed
    assert registry.manifest(repo, "v1").digest == digest


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_a_url_ending_in_api_v4_works(sandbox, seeded, sandbox_env):
    repo, _ = seeded
    out = glcr({**sandbox_env, "GITLAB_URL": sandbox.url + "/api/v4/"}, "tags", "list", repo, "-o", "plain")
    assert out.code == 0, out.stderr
    assert out.stdout.split() == ["v1", "v2"]


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_a_second_apply_on_the_same_journal_says_another_is_running(sandbox, seeded, sandbox_env, tmp_path, registry):
    repo, digest = seeded
    listing = tmp_path / "list.txt"
    listing.write_text("v1\n")
    first = subprocess.Popen([sys.executable, "-m", "glcr", "tags", "apply", repo, "--from-file", str(listing), "--yes"],
                             env={**sandbox_env, "GLCR_TEST_PAUSE": f"snapshot={tmp_path}"},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "snapshot.ready").exists():
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read() if first.poll() else ""
            time.sleep(0.02)
        second = glcr(sandbox_env, "tags", "apply", repo, "--from-file", str(listing), "--yes")
        line = one_error_line(second.stderr)
        assert second.code == ExitCode.ABORTED, second.stderr
        assert "another glcr apply is running" in line
        assert registry.manifest(repo, "v1").digest == digest  # the second one changed nothing
    finally:
        (tmp_path / "snapshot.go").write_text("")
        first.communicate(timeout=120)
    assert first.returncode == 0
    assert sorted(registry.tags(repo)) == ["v2"]


def test_migrate_pre_checks_end_with_their_exit_codes(sandbox, seeded, sandbox_env, tmp_path, registry):
    """Issue 17: each pre-check that needs a GitLab ends with the README's code, one line, and
    leaves the registry as it was (skopeo, an independent client, is the witness)."""
    from glcr_runner import skopeo_digest

    repo, digest = seeded
    source = repo
    holding = sandbox.world.project_full_path(sandbox.create_project(f"hold-{tmp_path.name[-6:].lower()}"))
    root = {**sandbox_env, "GITLAB_TOKEN": sandbox.root_token}
    developer = {**sandbox_env, "GITLAB_TOKEN": sandbox.tokens["developer"]}
    state = ["--state-dir", str(tmp_path / "state")]
    cases = [
        ("a target namespace that does not exist", root,
         [source, "--to", "no-such-namespace-17/app", "--via", holding, *state, "--yes"],
         ExitCode.NOT_FOUND, "does not exist"),
        ("a Developer", developer, [source, "--to", "demo/renamed-17", "--via", holding, *state, "--yes"],
         ExitCode.PERMISSION, "Maintainer"),
        ("--via the project itself", root, [source, "--to", "demo/renamed-17", "--via", source, *state, "--yes"],
         ExitCode.INVALID_INPUT, "cannot be the project being moved"),
        ("a backup dir that is a file", root,
         [source, "--to", "demo/renamed-17", "--backup-dir", str(tmp_path / "afile"), *state, "--yes"],
         ExitCode.INVALID_INPUT, "is a file"),
        ("--via with --backup-dir", root,
         [source, "--to", "demo/renamed-17", "--via", holding, "--backup-dir", str(tmp_path / "b"), "--yes"],
         ExitCode.USAGE, "not both"),
    ]
    (tmp_path / "afile").write_text("x")
    for what, env, args, code, fragment in cases:
        out = glcr(env, "migrate-project", *args)
        line = one_error_line(out.stderr)
        assert out.code == code, (what, out.stderr)
        assert fragment in line, (what, line)
    assert sorted(registry.tags(repo)) == ["v1", "v2"]
    assert skopeo_digest(sandbox, f"{repo}:v1") == digest
    assert not registry.tags(holding)


@pytest.mark.registry_kinds("gitlab")  # registry-independent claim: one registry is enough
def test_a_token_revoked_mid_run_ends_as_an_auth_error(sandbox, seeded, sandbox_env, tmp_path, registry):
    """Issue 17: every tag refused with 401 after the token was revoked (between the snapshot and
    the deletes) is exit 5, which says what to do, not exit 9 (partial); nothing is deleted."""
    repo, digest = seeded
    token = sandbox.create_token("maintainer")
    listing = tmp_path / "list.txt"
    listing.write_text("v1\nv2\n")
    knobs = sandbox.ctx.knobs
    lifetime, knobs.registry_token_lifetime_s = knobs.registry_token_lifetime_s, 1  # the registry asks GitLab again
    try:
        proc = subprocess.Popen([sys.executable, "-m", "glcr", "tags", "apply", repo, "--from-file", str(listing),
                                 "--yes"], env={**sandbox_env, "GITLAB_TOKEN": token,
                                                "GLCR_TEST_PAUSE": f"snapshot={tmp_path}"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not (tmp_path / "snapshot.ready").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else ""
            time.sleep(0.02)
        for record in sandbox.world.tokens.values():
            if record.value == token:
                record.revoked = True
        time.sleep(2.2)  # the registry token glcr holds expires
        (tmp_path / "snapshot.go").write_text("")
        _, err = proc.communicate(timeout=120)
    finally:
        knobs.registry_token_lifetime_s = lifetime
    line = one_error_line(err)
    assert proc.returncode == ExitCode.AUTH, err
    assert "token was refused (401)" in line and "nothing was deleted" in line, line
    assert sorted(registry.tags(repo)) == ["v1", "v2"]
    assert registry.manifest(repo, "v1").digest == digest
