"""Runs the real `glcr` command (a subprocess, as a user would) and checks no token leaks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from glcr_forkserver import run_glcr


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def returncode(self) -> int:  # the name subprocess.CompletedProcess gives it
        return self.code

    def json(self):
        return json.loads(self.stdout)


def glcr(env: dict[str, str], *args: str, input: str | None = None, timeout: float = 120) -> Result:
    """`python -m glcr ARGS` in its own process. By default a fork of a process that has imported
    glcr already (glcr_forkserver: the same process boundary, without 0.5 s of imports per call);
    GLCR_TEST_FORK=0 starts a fresh interpreter for every call instead."""
    if os.environ.get("GLCR_TEST_FORK", "1") == "0":
        proc = subprocess.run([sys.executable, "-m", "glcr", *args], env=env, input=input, capture_output=True,
                              text=True, timeout=timeout)
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        code, stdout, stderr = run_glcr(list(args), env, input=input, timeout=timeout)
    for secret in (env.get("GITLAB_TOKEN"),):
        if secret:
            assert secret not in stdout and secret not in stderr, "token leaked into output"
    return Result(code, stdout, stderr)


def skopeo_digest(sandbox, image: str) -> str | None:
    """The digest skopeo (an independent client) sees for `image`, or None when it is absent."""
    proc = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", f"maintainer:{sandbox.token}",
         f"docker://{sandbox.registry_host}/{image}"],
        capture_output=True, timeout=60)
    if proc.returncode != 0:
        stderr = proc.stderr.decode()
        assert "manifest unknown" in stderr or "not found" in stderr.lower(), stderr
        return None
    import hashlib

    return "sha256:" + hashlib.sha256(proc.stdout).hexdigest()


def skopeo_tags(sandbox, repo: str) -> list[str]:
    proc = subprocess.run(
        ["skopeo", "list-tags", "--tls-verify=false", "--creds", f"maintainer:{sandbox.token}",
         f"docker://{sandbox.registry_host}/{repo}"], capture_output=True, timeout=60, check=True)
    return sorted(json.loads(proc.stdout)["Tags"] or [])
