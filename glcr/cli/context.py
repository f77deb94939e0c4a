"""The application object each command receives through `ctx.obj` (no globals)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

import typer

from glcr.errors import AbortedError

T = TypeVar("T")

# Every environment variable glcr reads, in one place (also listed in --help and the man page).
ENVIRONMENT = {
    "GITLAB_URL": "GitLab base URL (default https://gitlab.com)",
    "GITLAB_TOKEN": "personal, project or group access token",
    "GITLAB_PRIVATE_TOKEN": "same as GITLAB_TOKEN",
    "CI_JOB_TOKEN": "inside GitLab CI: the job token (with CI_SERVER_URL, CI_REGISTRY_USER/PASSWORD)",
    "GLCR_JOBS": "default for --jobs",
    "GLCR_REGISTRY_JOBS": "default for --registry-jobs",
    "GLCR_INSECURE_REGISTRY": "1: plain http to the registry, as docker's insecure-registries",
    "PYTHON_GITLAB_CFG": "python-gitlab config file to read tokens from",
    "NO_COLOR": "disable colours",
    "GLCR_SANDBOX_REGISTRY_BIN": "`glcr sandbox`: the registry binary (default /usr/bin/docker-registry)",
}


@dataclass
class AppContext:
    url: str | None = None
    token: str | None = None
    gitlab_section: str | None = None
    jobs: int = 8
    registry_jobs: int = 16
    debug: bool = False
    insecure_registry: bool = False
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def credentials(self, *, require: bool = True):
        from glcr.credentials import CredentialRequest, require_token, resolve

        creds = resolve(CredentialRequest(token_flag=self.token, url_flag=self.url,
                                          config_section=self.gitlab_section), self.env)
        return require_token(creds) if require else creds

    def session(self):
        from glcr.session import Session, SessionOptions

        return Session(self.credentials(), SessionOptions(jobs=self.jobs, registry_jobs=self.registry_jobs,
                                                          debug=self.debug, insecure_registry=self.insecure_registry))

    def run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """Run async work with a fresh session that is closed afterwards."""
        import asyncio

        async def runner() -> T:
            async with self.session() as session:
                return await work(session)

        return asyncio.run(runner())

    def stderr(self):
        from rich.console import Console

        return Console(stderr=True, highlight=False, no_color="NO_COLOR" in self.env)

    def say(self, message: str) -> None:
        self.stderr().print(message)

    def confirm(self, question: str, yes: bool) -> None:
        """Ask on a terminal; refuse in scripts unless --yes was given. Nothing changes on 'no'."""
        if yes:
            return
        if not sys.stdin.isatty():
            raise AbortedError("refusing to change anything without confirmation",
                               hint="stdin is not a terminal: pass --yes to confirm in scripts")
        if not typer.confirm(question, default=False, err=True):
            raise AbortedError("nothing changed")


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):
        obj = AppContext()
        ctx.find_root().obj = obj
    return obj
