"""Everything an endpoint needs, in one object passed to every handler (no module globals)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from glcr_sandbox.cleanup import CleanupResult
from glcr_sandbox.jobs import Jobs
from glcr_sandbox.keys import SigningKey
from glcr_sandbox.ratelimit import RateLimiter
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.state import Project, Repository, World
from glcr_sandbox.tag_details import TagInspector

CLEANUP_LEASE_S = 3600  # ExclusiveLease "container_repository:cleanup_tags:<id>", timeout: 1.hour


@dataclass(frozen=True)
class RegistryMode:
    """What GitLab asks its registry before choosing how to list and delete, as answered."""

    gitlab_api: bool  # GET /gitlab/v1/ with a token: 2xx or 401
    options_allow_delete: bool  # OPTIONS /v2/name/manifests/tag: 2xx, Allow has DELETE
    features: tuple[str, ...]  # Gitlab-Container-Registry-Features of GET /v2/

    @classmethod
    def detect(cls, registry: RegistryClient) -> "RegistryMode":
        return cls(
            gitlab_api=registry.supports_gitlab_api(),
            options_allow_delete=registry.supports_tag_delete(),
            features=tuple(registry.registry_features()),
        )


@dataclass
class Knobs:
    """Runtime settings the control API can change."""

    latency_ms: int = 0
    repository_delete_delay_s: float = 0.3  # delete_scheduled -> delete_ongoing
    repository_delete_ongoing_s: float = 0.2  # how long delete_ongoing stays visible before the work
    bulk_delete_delay_s: float = 0.1  # 202 -> the cleanup worker starts
    # Not GitLab: overrides container_registry_token_expire_delay (whole minutes) so tests can
    # get tokens that expire within seconds. The registry still allows 60 s of leeway.
    registry_token_lifetime_s: int | None = None
    # The GitLab version the sandbox acts as, for tag protection (facts: gitlab-facts-2.md N6/N7):
    # 17.9 protected tags (the flag `container_registry_protected_tags` taken as enabled, as on
    # GitLab.com from 17.10 and everywhere from 17.11), patterns in registry tokens, GraphQL rules
    # without `immutable`; 17.11 the GraphQL field `immutable`; 18.2 immutable tags (Ultimate);
    # 18.7 the REST rules API (GET), 18.8 POST, 18.9 PATCH/DELETE.
    gitlab_version: str = "18.9"
    # "ultimate": immutable rules are enforced (licensed_feature_available?(
    # :container_registry_immutable_tag_rules)); anything else: they are ignored (the `mutable` scope).
    licence: str = "ultimate"
    # Not GitLab: create and enforce tag protection rules on a registry without the GitLab API
    # (GitLab refuses: "GitLab container registry API not supported"). On for distribution, so
    # glcr's protected-tag handling is tested there too; off for GitLab's registry, either mode.
    tag_rules_without_gitlab_api: bool = False
    # True: pick the delete route on the OPTIONS probe alone, as GitLab does, which sends
    # tag deletes that distribution 2.8 refuses (see SandboxContext.tag_delete).
    trust_tag_delete_probe: bool = False
    # Not GitLab: every /api/v4/projects/:id/... call for these project ids answers 500, so a
    # group run can be shown going on past a project that fails.
    failing_projects: list[int] = field(default_factory=list)

    def at_least(self, version: str) -> bool:
        return _version(self.gitlab_version) >= _version(version)

    @property
    def tag_rules_api(self) -> bool:
        """The REST rules API (18.7+); setting False acts as a GitLab with no tag protection at all."""
        return self.at_least("18.7")

    @tag_rules_api.setter
    def tag_rules_api(self, value: bool) -> None:
        self.gitlab_version = "18.9" if value else "17.8"

    @property
    def protected_tags(self) -> bool:
        return self.at_least("17.9")

    @property
    def immutable_tags(self) -> bool:
        """Immutable rules exist and are enforced: 18.2+ (beta) with the Ultimate licence."""
        return self.at_least("18.2") and self.licence == "ultimate"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in str(text).split(".")[:2] if p.isdigit())


@dataclass
class SandboxContext:
    world: World
    key: SigningKey
    registry: RegistryClient
    inspector: TagInspector
    jobs: Jobs
    knobs: Knobs = field(default_factory=Knobs)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    _leases: dict[int, float] = field(default_factory=dict)
    _lease_lock: threading.Lock = field(default_factory=threading.Lock)
    _sync_lock: threading.Lock = field(default_factory=threading.Lock)
    cleanup_log: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # what GET /-/sandbox/info shows
    # The host:port repositories' `location` names: a latency proxy's when there is one.
    public_registry_host: str | None = None
    # The registry the sandbox started ("gitlab", "gitlab-legacy", "distribution"): shown and
    # saved, never used to decide GitLab's behaviour (that is `mode`, asked of the registry).
    registry_kind: str = "distribution"
    # Sandbox.set_push_times, for the control API (None: a registry without push times).
    push_time_setter: Callable[[str, dict[str, dt.datetime]], None] | None = None
    # Sandbox.backdate, for the control API: make tags look old on any registry.
    backdater: Callable[[str, dict[str, dt.datetime]], dict[str, str]] | None = None
    _mode: RegistryMode | None = field(default=None, repr=False)

    @property
    def mode(self) -> RegistryMode:
        """What the running registry supports, asked once (GitLab asks on every use; the
        sandbox's registry cannot change under it, and a probe per request would double the
        round trips)."""
        if self._mode is None:
            self._mode = RegistryMode.detect(self.registry)
        return self._mode

    @property
    def gitlab_api(self) -> bool:
        """ContainerRegistry::GitlabApiClient.supports_gitlab_api?: the GitLab cleanup variant,
        tags and sizes from /gitlab/v1, native rename/transfer, tag protection rules."""
        return self.mode.gitlab_api

    @property
    def tag_delete(self) -> bool:
        """ContainerRegistry::Client#supports_tag_delete?: tags deleted one by one by name
        (Gitlab::DeleteTagsService), else the dummy-manifest workaround (ThirdParty::).

        GitLab decides on the OPTIONS answer alone. Debian's distribution 2.8 answers it with
        `Allow: DELETE, GET, HEAD, PUT` as well, yet refuses a DELETE by tag (400
        DIGEST_INVALID), so a real GitLab fails every tag delete on it (reported with GitLab
        17.4 and registry:2.8). Not GitLab, unless `trust_tag_delete_probe` is on: the sandbox
        also wants `tag_delete` among the registry's announced features (GitLab's registry
        announces it in both modes), and keeps the dummy-manifest route for distribution."""
        mode = self.mode
        return mode.options_allow_delete and (self.knobs.trust_tag_delete_probe or "tag_delete" in mode.features)

    @property
    def registry_host(self) -> str:
        return self.public_registry_host or self.registry.host

    # --- the hourly bulk-delete lease ----------------------------------------------------

    def try_obtain_cleanup_lease(self, repo_id: int) -> bool:
        now = time.monotonic()
        with self._lease_lock:
            if self._leases.get(repo_id, 0) > now:
                return False
            self._leases[repo_id] = now + CLEANUP_LEASE_S
            return True

    def reset_cleanup_leases(self, repo_id: int | None = None) -> None:
        with self._lease_lock:
            if repo_id is None:
                self._leases.clear()
            else:
                self._leases.pop(repo_id, None)

    def record_cleanup(self, repo_id: int, path: str, result: CleanupResult) -> None:
        """Keep the bulk-delete outcomes (GitLab logs them) for tests and `GET /-/sandbox/state`."""
        entry = {"repository_id": repo_id, "path": path, **asdict(result), "deleted_size": result.deleted_size}
        with self._lease_lock:
            self.cleanup_log.append(entry)
            del self.cleanup_log[:-100]

    # --- repository records --------------------------------------------------------------

    def sync_catalog(self) -> None:
        """Create records for repositories pushed straight to the registry (the seeder).

        GitLab only learns of a repository when /jwt/auth grants a push. Pushes that bypass
        /jwt/auth are discovered here; only paths that have tags get a record, so a repository
        deleted through the API does not come back from the catalog's leftover directory.
        """
        with self._sync_lock:
            found = []
            for path in self.registry.catalog():
                if self.world.find_repository_by_path(path):
                    continue
                owner = self.world.project_for_path(path)
                if owner is None:
                    continue
                if self.registry.tags(path):
                    found.append(owner)
            if found:
                with self.world.batch():  # one save for a seeded group's 1,000 repositories
                    for owner in found:
                        self.world.ensure_repository(*owner)

    def repository_path(self, repo: Repository) -> str:
        return self.world.repository_path(repo)

    def tag_names(self, path: str) -> list[str]:
        """ContainerRepository#tags, by name: GitLab's registry pages them through
        /gitlab/v1 (each_tags_page, 100 a page); a third-party registry lists /v2 tags."""
        if self.gitlab_api:
            return [t["name"] for t in self.registry.gitlab_tags(path)]
        return self.registry.tags(path) or []

    def has_tags(self, project: Project) -> bool:
        """Project#has_container_registry_tags?: any repository (or the root image) has tags."""
        self.sync_catalog()
        paths = [self.world.repository_path(r) for r in self.world.project_repositories(project)]
        root = self.world.project_full_path(project).lower()
        return any(self.tag_names(p) for p in sorted({*paths, root}))
