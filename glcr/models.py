"""Value types shared by every layer. Frozen dataclasses; no I/O here.

Field names follow GitLab's REST entities (lib/api/entities/container_registry.rb) so JSON
output can use them unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

Digest = str  # "sha256:<64 hex>"

MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
INDEX_MEDIA_TYPES = frozenset({MEDIA_DOCKER_LIST, MEDIA_OCI_INDEX})
MANIFEST_MEDIA_TYPES = (MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST, MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST)


@dataclass(frozen=True)
class Project:
    id: int
    path_with_namespace: str
    name: str = ""
    path: str = ""
    container_registry_image_prefix: str | None = None
    container_registry_access_level: str | None = None
    web_url: str | None = None


@dataclass(frozen=True)
class Repository:
    """A registry repository as GitLab's API presents it."""

    id: int
    name: str  # "" for the project's root image
    path: str  # always lower-case, e.g. "group/project/image"
    project_id: int
    location: str  # "<registry host[:port]>/<path>"
    created_at: datetime | None = None
    cleanup_policy_started_at: datetime | None = None
    status: str | None = None  # None, delete_scheduled, delete_ongoing, delete_failed
    tags_count: int | None = None
    size: int | None = None

    @property
    def registry_host(self) -> str:
        return self.location.split("/", 1)[0]


@dataclass(frozen=True)
class Tag:
    """A tag as listed (GitLab's `Tag` entity): no details."""

    name: str
    path: str
    location: str


@dataclass(frozen=True)
class TagDetails:
    """GitLab's `TagDetails` entity. `created_at` is None when the image has no date."""

    name: str
    path: str
    location: str
    digest: Digest | None
    created_at: datetime | None
    total_size: int | None
    revision: str | None = None
    short_revision: str | None = None
    # GitLab's registry only: when the tag was last re-pointed (GitLab's cleanup uses
    # updated_at || created_at as the push time), and when it was last published (pushed).
    updated_at: datetime | None = None
    published_at: datetime | None = None
    # True when created_at/updated_at are the registry's push times (GitLab's /gitlab/v1 tag
    # list); False when created_at is an image's build time or came from GitLab's REST API.
    push_times: bool = False

    @property
    def pushed_at(self) -> datetime | None:
        """The push time GitLab's own-registry cleanup reads (gitlab/cleanup_tags_service.rb:
        `tag.updated_at || tag.created_at`); None when this listing has no push times."""
        if not self.push_times:
            return None
        return self.updated_at or self.created_at

    @property
    def age_at(self) -> datetime | None:
        """The one time a tag's age is judged by, everywhere in glcr: GitLab's, for the registry
        at hand. With push times (GitLab's registry with its database) the last push,
        `updated_at || created_at`, so `main` re-pushed today is new even when it was first
        pushed in March; elsewhere `created_at`, the image config's `created` (what GitLab's
        third-party cleanup reads), or GitLab's REST created_at where nothing better was read.
        None: undated (GitLab counts it newest and never old)."""
        return self.pushed_at if self.push_times else self.created_at

    @property
    def age_source(self) -> str:
        """What `age_at` is: "pushed" (the registry's push time) or "created" (the image's)."""
        return "pushed" if self.push_times else "created"


class Cadence(str, Enum):
    DAILY = "1d"
    WEEKLY = "7d"
    BIWEEKLY = "14d"
    MONTHLY = "1month"
    QUARTERLY = "3month"


@dataclass(frozen=True)
class ExpirationPolicy:
    """`container_expiration_policy` of a project (API::Entities::ContainerExpirationPolicy)."""

    cadence: str = "1d"
    enabled: bool = False
    keep_n: int | None = 10
    older_than: str | None = "90d"
    name_regex: str | None = None
    name_regex_keep: str | None = None
    next_run_at: datetime | None = None


@dataclass(frozen=True)
class RegistryKind:
    """Which of the three registries GitLab users run sits behind a repository; decides the
    cleanup variant, the listing and the delete route.

    gitlab_api: the registry has GitLab's `/gitlab/v1` API, i.e. GitLab's registry WITH its
    metadata database. GitLab decides this with `GET /gitlab/v1/` sent with a token, 2xx or 401
    (ContainerRegistry::GitlabApiClient#supports_gitlab_api?); without the database every v1
    route answers 404 to a valid token. The authenticated `GET /v2/` says the same in
    `Gitlab-Container-Registry-Database-Enabled` (registry/handlers/app.go distributionAPIBase).
    tag_delete: `GET /v2/` announces `tag_delete` in Gitlab-Container-Registry-Features
    (tag-only `DELETE /v2/<name>/manifests/<tag>`), with or without the database.
    gitlab_vendor: the registry is GitLab's (it sends Gitlab-Container-Registry-* headers), so
    without the API it is GitLab's registry in its legacy mode, not a third-party one.
    """

    gitlab_api: bool
    tag_delete: bool
    gitlab_vendor: bool = False

    @property
    def mode(self) -> str:
        """The mode's short name, as `glcr sandbox up --registry` spells it."""
        if self.gitlab_api:
            return "gitlab"
        return "gitlab-legacy" if self.gitlab_vendor else "third-party"

    @property
    def label(self) -> str:
        """The mode in words, wherever the user sees it (doctor, dry-run header, repos show)."""
        if self.gitlab_api:
            return "GitLab container registry with its metadata database"
        if self.gitlab_vendor:
            return "GitLab container registry without its metadata database (legacy metadata)"
        return "third-party registry (tag delete)" if self.tag_delete else "third-party registry"

    @property
    def dates(self) -> str:
        """What a tag's age is on this registry, as GitLab's cleanup reads it."""
        return "push times" if self.gitlab_api else "the images' created times"


@dataclass(frozen=True)
class ImageRef:
    """`[host/]path[:tag][@digest]`; host is None when the input was a bare repository path."""

    path: str
    host: str | None = None
    tag: str | None = None
    digest: Digest | None = None

    def __str__(self) -> str:
        text = f"{self.host}/{self.path}" if self.host else self.path
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    platform: dict | None = None


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry served it: `raw` bytes keep the digest stable."""

    raw: bytes
    media_type: str
    digest: Digest
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    children: tuple[Descriptor, ...] = ()  # entries of an index
    subject: Descriptor | None = None
    annotations: dict = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES
