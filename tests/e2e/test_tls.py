"""Every command family over TLS: the GitLab API sandbox and GitLab's registry serve https with
a throwaway CA (`glcr sandbox up --tls`), given to glcr only through SSL_CERT_FILE, or only
through --ca-file; without it, every command fails on the certificate (nothing goes unverified).

One sandbox (GitLab's registry only, to keep the suite fast), one small project. glcr runs in
this process with the environment replaced (as a subprocess would get it): thirty subprocesses
would spend most of a minute importing glcr.
"""

from __future__ import annotations

import contextlib
import io
import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from glcr_runner import Result
from glcr_sandbox.registry_kinds import GITLAB
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_image, tag_existing
from loopback_http import running_proxy
from sandbox_fixtures import require_registry_binary

# The environment variables that could hand glcr (httpx or requests) a CA behind the test's back.
CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(scope="module")
def tls_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    require_registry_binary(GITLAB)
    started = Sandbox.start(tmp_path_factory.mktemp("glcr-sandbox-tls"), registry_kind=GITLAB, tls=True)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def world(tls_sandbox: Sandbox) -> dict[str, str]:
    return new_world(tls_sandbox)


def new_world(tls_sandbox: Sandbox) -> dict[str, str]:
    """A project with three tags, and a group to migrate it to."""
    suffix = uuid.uuid4().hex[:6]
    created = tls_sandbox.create_project(f"tls-{suffix}")
    path = tls_sandbox.world.project_full_path(created)
    with tls_sandbox.registry_client() as registry:
        push_image(registry, path.lower(), "v1", size=256, seed=f"v1-{suffix}", oci=True)
        digest = push_image(registry, path.lower(), "v2", size=256, seed=f"v2-{suffix}", oci=True)
        tag_existing(registry, path.lower(), "latest", digest)
    tls_sandbox.sync()
    group = tls_sandbox.create_group(f"tls-moved-{suffix}")
    return {"project": path, "repo": path.lower(), "target": f"{group.path}/{created.path}"}


def env_for(sandbox: Sandbox, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITLAB_", "CI_", "GLCR_")) and k not in CA_VARIABLES}
    # root: migrate's transfer needs the Owner role.
    return {**env, "GITLAB_URL": sandbox.url, "GITLAB_TOKEN": sandbox.root_token, "NO_COLOR": "1",
            "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"), **extra}


def glcr(env: dict[str, str], *args: str, timeout: float = 0) -> Result:
    """`glcr ARGS` with exactly `env` as its environment; its exit code and output."""
    from glcr.cli.main import main

    saved_env, saved_umask = dict(os.environ), os.umask(0o022)
    os.umask(saved_umask)  # main() tightens it for the run
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.umask(saved_umask)
    token = env.get("GITLAB_TOKEN")
    assert not token or (token not in out.getvalue() and token not in err.getvalue()), "token leaked into output"
    return Result(code, out.getvalue(), err.getvalue())


def commands(world: dict[str, str], state: Path) -> list[tuple[str, list[str]]]:
    """(family, arguments): every family, through httpx (GitLab API and registry) and python-gitlab."""
    project, repo = world["project"], world["repo"]
    return [
        ("repos list", ["repos", "list", "--project", project, "-o", "json"]),
        ("tags list", ["tags", "list", repo, "-o", "json"]),
        ("policy show", ["policy", "show", project, "-o", "json"]),
        ("policy set", ["policy", "set", project, "--keep-n", "5", "--yes"]),
        ("protection list", ["protection", "list", project, "-o", "json"]),
        ("registry show", ["registry", "show", project, "-o", "json"]),
        ("bulk delete", ["tags", "bulk-delete", repo, "--name-regex-delete", "v1", "--dry-run"]),
        ("cleanup dry-run", ["cleanup", "dry-run", project, "--name-regex", "v.*", "--keep-n", "1"]),
        ("migrate", ["migrate-project", project, "--to", world["target"], "--backup-dir", str(state / "backup"),
                     "--state-dir", str(state / "migrations"), "--dry-run", "-o", "json"]),
        ("doctor", ["doctor", repo, "-o", "json"]),
    ]


@pytest.mark.parametrize("given", ["SSL_CERT_FILE", "--ca-file"])
def test_every_command_family_verifies_against_the_given_ca(tls_sandbox: Sandbox, world: dict[str, str],
                                                            tmp_path: Path, given: str) -> None:
    assert tls_sandbox.url.startswith("https://") and tls_sandbox.tls is not None
    ca = str(tls_sandbox.tls.ca)
    env = env_for(tls_sandbox, tmp_path, **({"SSL_CERT_FILE": ca} if given == "SSL_CERT_FILE" else {}))
    root = ["--ca-file", ca] if given == "--ca-file" else []
    for family, args in commands(world, tmp_path):
        result = glcr(env, *root, *args)
        assert result.code == 0, f"{family} over TLS ({given}): exit {result.code}\n{result.stderr}"
    listed = glcr(env, *root, "tags", "list", world["repo"], "-o", "json").json()
    assert {t["name"] for t in listed} >= {"v1", "v2", "latest"}  # through the registry, over https


def test_without_the_ca_every_command_fails_on_the_certificate(tls_sandbox: Sandbox, world: dict[str, str],
                                                               tmp_path: Path) -> None:
    env = env_for(tls_sandbox, tmp_path)
    for family, args in commands(world, tmp_path):
        result = glcr(env, *args)
        assert result.code == 7, f"{family} without the CA: exit {result.code}\n{result.stdout}\n{result.stderr}"
        text = result.stdout + result.stderr
        # Said as a certificate problem, with the fix (doctor: its url check, in its report).
        assert ("cannot be verified" in text and "--ca-file" in text) or "CERTIFICATE_VERIFY_FAILED" in text, (family, text)


def test_a_real_migration_over_tls(tls_sandbox: Sandbox, world: dict[str, str], tmp_path: Path) -> None:
    """Copy to a local OCI layout, delete, transfer (python-gitlab), restore, verify: all over https."""
    env = env_for(tls_sandbox, tmp_path, SSL_CERT_FILE=str(tls_sandbox.tls.ca))
    result = glcr(env, "migrate-project", world["project"], "--to", world["target"], "--backup-dir",
                  str(tmp_path / "backup"), "--state-dir", str(tmp_path / "migrations"), "--yes", "-o", "json")
    assert result.code == 0, result.stderr
    assert result.json()["state"] == "done"
    moved = glcr(env, "tags", "list", world["target"].lower(), "-o", "json").json()
    assert {t["name"] for t in moved} == {"v1", "v2", "latest"}


def test_behind_a_proxy_every_call_goes_through_it(tls_sandbox: Sandbox, tmp_path: Path) -> None:
    """HTTPS_PROXY as a corporate network sets it: every command family works through it, GitLab's
    API (httpx and python-gitlab alike) and the registry through CONNECT tunnels, TLS checked end
    to end against the CA; the proxy's password is sent to the proxy only and never shown. With
    NO_PROXY naming the host, nothing goes through it."""
    import base64

    auth = b"Basic " + base64.b64encode(b"corp:pr0xy-pass")
    world = new_world(tls_sandbox)  # its own: another test of this module migrates the shared one
    with running_proxy(require=auth) as proxy:
        env = env_for(tls_sandbox, tmp_path, SSL_CERT_FILE=str(tls_sandbox.tls.ca),
                      HTTPS_PROXY=f"http://corp:pr0xy-pass@{proxy.address}", NO_PROXY="")
        for family, args in commands(world, tmp_path):
            result = glcr(env, *args)
            assert result.code == 0, f"{family} through the proxy: exit {result.code}\n{result.stderr}"
            assert "pr0xy-pass" not in result.stdout + result.stderr, family
        tunnels = {target for method, target, given in proxy.seen if method == "CONNECT" and given == auth}
        api = tls_sandbox.url.removeprefix("https://").rstrip("/")
        registry = glcr(env, "registry", "show", world["project"], "-o", "json").json()
        assert api in tunnels, (api, tunnels)
        assert len(tunnels) == 2, tunnels  # GitLab's API and the registry, both tunnelled
        assert all(method == "CONNECT" for method, _, _ in proxy.seen)
        assert registry

        seen = len(proxy.seen)
        direct = glcr({**env, "NO_PROXY": "127.0.0.1"}, "tags", "list", world["repo"], "-o", "json")
        assert direct.code == 0 and len(proxy.seen) == seen, direct.stderr

        wrong = {**env, "HTTPS_PROXY": f"http://corp:wrong@{proxy.address}"}
        refused = glcr(wrong, "tags", "list", world["repo"])  # httpx
        assert refused.code == 7, refused.stderr
        assert "407" in refused.stderr and proxy.address in refused.stderr and "wrong" not in refused.stderr
        refused = glcr(wrong, "policy", "show", world["project"])  # python-gitlab
        assert refused.code == 7 and "407" in refused.stderr and "wrong" not in refused.stderr, refused.stderr
