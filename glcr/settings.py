"""What one run of glcr is configured with: built once, from flags, environment and the defaults here.

The CLI's root callback builds a `Settings` from its options (each option also reads its
environment variable, so a bad GLCR_JOBS is reported like a bad --jobs, before anything runs)
and never changes it; a command that needs other values makes a copy (`with_jobs`). A Session
is built from it (`Session(creds, settings)`). Nothing here reads the environment at import
time, and nothing here imports the session.
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


@dataclass(frozen=True)
class EnvVar:
    """One environment variable glcr reads: what it means, and the option it gives a default to."""

    help: str
    option: str | None = None  # the Settings field (and root option) it sets the default of

    def __str__(self) -> str:
        return self.help


# Every environment variable glcr reads, in one place: `--help` and the man page print this
# table, and the root options take their `envvar=` from it (`envvar("jobs")`).
ENVIRONMENT: Mapping[str, EnvVar] = {
    "GITLAB_URL": EnvVar("GitLab base URL (default https://gitlab.com)"),
    "GITLAB_TOKEN": EnvVar("personal, project or group access token"),
    "GITLAB_PRIVATE_TOKEN": EnvVar("same as GITLAB_TOKEN"),
    "CI_JOB_TOKEN": EnvVar("inside GitLab CI: the job token (with CI_SERVER_URL, CI_REGISTRY_USER/PASSWORD)"),
    "GLCR_JOBS": EnvVar("default for --jobs (a whole number, 1-64)", "jobs"),
    "GLCR_REGISTRY_JOBS": EnvVar("default for --registry-jobs (a whole number, 1-128)", "registry_jobs"),
    "GLCR_INSECURE_REGISTRY": EnvVar("1 (or true/yes/on): plain http to the registry, as docker's "
                                     "insecure-registries", "insecure_registry"),
    "GLCR_INSECURE": EnvVar("1 (or true/yes/on): default for --insecure, plain http to a GitLab not on this machine",
                            "insecure"),
    "GLCR_CA_FILE": EnvVar("default for --ca-file: the CA bundle (PEM) that GitLab's and the registry's "
                           "certificates are checked against", "ca_file"),
    "SSL_CERT_FILE": EnvVar("CA bundle (PEM) for every https call when --ca-file is not given "
                            "(SSL_CERT_DIR: a directory of them); default: certifi's public CAs"),
    "HTTPS_PROXY": EnvVar("http://[USER:PASSWORD@]HOST:PORT: the proxy for every https call, GitLab's API "
                          "and the registry alike (a CONNECT tunnel; TLS is still checked end to end). "
                          "HTTP_PROXY for http://, ALL_PROXY for both; NO_PROXY: hosts (and CIDR blocks) "
                          "reached directly. Read as python-gitlab's requests reads them"),
    "PYTHON_GITLAB_CFG": EnvVar("python-gitlab config file to read tokens from"),
    "NO_COLOR": EnvVar("disable colours"),
    "GLCR_SANDBOX_REGISTRY_BIN": EnvVar("`glcr sandbox --registry distribution`: the registry binary "
                                        "(default /usr/bin/docker-registry)"),
    "GLCR_GITLAB_REGISTRY": EnvVar("`glcr sandbox` (default --registry gitlab): GitLab's registry binary "
                                   "(default ../shared/gitlab-registry/bin/registry beside the checkout)"),
}


def envvar(option: str) -> str:
    """The environment variable that sets the default of the root option `option`."""
    return next(name for name, var in ENVIRONMENT.items() if var.option == option)


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
    # --ca-file / GLCR_CA_FILE: the CA bundle for every https call (see `ca_bundle`).
    ca_file: str | None = None
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

    def ca_bundle(self) -> str | None:
        """The one CA source of every https call, httpx's and python-gitlab's alike: --ca-file /
        GLCR_CA_FILE, else SSL_CERT_FILE, else SSL_CERT_DIR (of the run's environment); None:
        certifi's public CAs. The HTTP layer always hands a path on, so that requests
        (python-gitlab) does not fall back to its own REQUESTS_CA_BUNDLE and httpx does not read
        os.environ beside the settings. A path that does not exist is invalid input, said before
        anything is sent."""
        import os

        from glcr.errors import InvalidInputError

        for name, value in (("--ca-file / GLCR_CA_FILE", self.ca_file), ("SSL_CERT_FILE", self.env.get("SSL_CERT_FILE")),
                            ("SSL_CERT_DIR", self.env.get("SSL_CERT_DIR"))):
            if value:
                if not os.path.exists(value):
                    raise InvalidInputError(f"{name}: {value} does not exist",
                                            hint="give the PEM file of the CA that signed GitLab's certificate")
                return value
        return None
