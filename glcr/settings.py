"""What one run of glcr is configured with: built once, from flags, environment and the defaults here.

The CLI's root callback builds a `Settings` from its options (each option also reads its
environment variable, so a bad GLCR_JOBS is reported like a bad --jobs, before anything runs)
and never changes it; a command that needs other values makes a copy (`with_jobs`). The session
turns it into `SessionOptions`. Nothing here reads the environment at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

# 8 concurrent GitLab API requests: enough to hide 20-50 ms of latency per call (8x fewer
# round-trip waits), low enough to stay far below GitLab.com's 2,000 requests/minute API limit
# and not to crowd a self-managed instance's Puma workers. `--jobs` / GLCR_JOBS change it.
DEFAULT_JOBS = 8
MAX_JOBS = 64
# 16 concurrent registry requests: the registry answers manifest and tag reads itself (Go, no
# Rails worker, outside GitLab's API rate limits), and per-tag work (details, digest checks,
# deletes) is where the round trips add up. With 20 ms per request on both sides, listing 2,000
# tags took 8.1 s at 8 and 5.3 s at 16 (bench/bench_tags_list.py). `--registry-jobs` changes it.
DEFAULT_REGISTRY_JOBS = 16
MAX_REGISTRY_JOBS = 128

# The environment variables that set option defaults, by option (the Typer `envvar=` of each).
ENVVARS = {
    "jobs": "GLCR_JOBS",
    "registry_jobs": "GLCR_REGISTRY_JOBS",
    "insecure_registry": "GLCR_INSECURE_REGISTRY",
    "insecure": "GLCR_INSECURE",
}


@dataclass(frozen=True)
class Settings:
    """One run's configuration. Frozen: pass it down, copy it to change it."""

    url: str | None = None
    # The --token flag's value; never shown (repr=False keeps it out of reprs and tracebacks).
    token: str | None = field(default=None, repr=False)
    gitlab_section: str | None = None
    jobs: int = DEFAULT_JOBS
    registry_jobs: int = DEFAULT_REGISTRY_JOBS
    insecure_registry: bool = False
    # Plain http to a GitLab that is not on this machine (glcr.credentials.check_url refuses it otherwise).
    insecure: bool = False
    debug: bool = False
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        from glcr.errors import InvalidInputError

        if not 1 <= self.jobs <= MAX_JOBS:
            raise InvalidInputError(f"jobs must be between 1 and {MAX_JOBS}, not {self.jobs}")
        if not 1 <= self.registry_jobs <= MAX_REGISTRY_JOBS:
            raise InvalidInputError(f"registry jobs must be between 1 and {MAX_REGISTRY_JOBS}, not {self.registry_jobs}")

    def with_jobs(self, jobs: int | None) -> "Settings":
        """These settings with another GitLab API concurrency (None: unchanged)."""
        return self if jobs is None else replace(self, jobs=jobs)

    def session_options(self, **overrides):
        """The session's options for these settings (`http=` for a command's own HTTP policy)."""
        from glcr.session import SessionOptions

        values = dict(jobs=self.jobs, registry_jobs=self.registry_jobs, debug=self.debug,
                      insecure_registry=self.insecure_registry)
        values.update(overrides)
        return SessionOptions(**values)
