"""GitLab's cleanup, both variants (Projects::ContainerRepository::CleanupTagsService picks
Gitlab:: when the registry supports the GitLab API, else ThirdParty::).

Third-party (every registry without the GitLab API: distribution, and GitLab's own without
its metadata database): an independent implementation of the order of operations in the fact
sheet §3.2-§3.3: all tags (sorted by name) -> drop `latest` -> name filter -> random truncation
to max_list_size + keep_n -> keep the newest keep_n -> keep the ones not older than older_than
-> delete the rest (by tag when the registry supports it, else the dummy-manifest workaround).
Timestamps are the config's `created`.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from glcr_sandbox.durations import parse_duration
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.tag_delete import PROTECTED_TAGS_ERROR, delete_tags_gitlab, delete_tags_service
from glcr_sandbox.tag_details import TagInfo, TagInspector
from glcr_sandbox.untrusted_regexp import InvalidRegexp, anchored, compile_untrusted, matches

INSPECT_CONCURRENCY = 8
GITLAB_CLEANUP_PAGE_SIZE = 1000  # Gitlab::CleanupTagsService::TAGS_PAGE_SIZE


@dataclass(frozen=True)
class CleanupParams:
    name_regex_delete: str | None = None
    name_regex: str | None = None  # deprecated alias; `name_regex_delete || name_regex`
    name_regex_keep: str | None = None
    keep_n: int | None = None
    older_than: str | None = None
    keep_latest: bool = True  # only repository deletion passes false

    @classmethod
    def from_api(cls, params: dict[str, Any]) -> "CleanupParams":
        keep_n = params.get("keep_n")
        return cls(
            name_regex_delete=params.get("name_regex_delete"),
            name_regex=params.get("name_regex"),
            name_regex_keep=params.get("name_regex_keep"),
            keep_n=int(keep_n) if keep_n is not None else None,
            older_than=params.get("older_than"),
        )


@dataclass
class CleanupResult:
    status: str  # "success" or "error"
    deleted: list[str] = field(default_factory=list)
    original_size: int = 0
    before_truncate_size: int = 0
    after_truncate_size: int = 0
    before_delete_size: int = 0
    message: str | None = None

    @property
    def deleted_size(self) -> int:
        return len(self.deleted)


@dataclass
class _Tag:
    name: str
    created: dt.datetime | None = None


def cleanup_tags(
    registry: RegistryClient,
    inspector: TagInspector,
    repo: str,
    params: CleanupParams,
    *,
    max_list_size: int,
    now: dt.datetime | None = None,
    rng: random.Random | None = None,
    protected: Callable[[str], bool] | None = None,
    tag_delete: bool = False,
    timeout_s: float = 0,
) -> CleanupResult:
    """ThirdParty::CleanupTagsService: what GitLab runs on every registry without the GitLab
    API, GitLab's own without its database included. `tag_delete` (supports_tag_delete?) picks
    how the chosen tags are deleted; `timeout_s` bounds the by-tag deletes only."""
    now = now or dt.datetime.now(dt.timezone.utc)
    for pattern in (params.name_regex_delete, params.name_regex, params.name_regex_keep):
        if pattern:
            try:
                compile_untrusted(pattern)
            except InvalidRegexp:
                return CleanupResult("error", message="invalid regex")

    tags = [_Tag(name) for name in registry.tags(repo) or []]
    result = CleanupResult("success", original_size=len(tags))

    if params.keep_latest:
        tags = [t for t in tags if t.name != "latest"]

    # Ruby `||`: an empty name_regex_delete ("") still wins over name_regex, and deletes nothing.
    delete_re = anchored(params.name_regex_delete if params.name_regex_delete is not None else params.name_regex)
    keep_re = anchored(params.name_regex_keep)
    tags = [t for t in tags if matches(delete_re, t.name) and not matches(keep_re, t.name)]

    result.before_truncate_size = len(tags)
    limit = max_list_size + (params.keep_n or 0)
    if max_list_size > 0 and len(tags) > limit:
        tags = (rng or random).sample(tags, max(limit, 0))  # Array#sample: random, not oldest
    result.after_truncate_size = len(tags)

    if params.keep_n is not None or params.older_than is not None:
        _load_created(inspector, repo, tags)

    if params.keep_n is not None:
        # Sort ascending by time (undated = now), then reverse: newest first; ties end up in
        # descending name order, as GitLab's specs expect.
        ordered = list(reversed(sorted(tags, key=lambda t: t.created or now)))
        tags = ordered[max(params.keep_n, 0) :]

    if params.older_than is not None:
        seconds = parse_duration(params.older_than)
        if seconds is None:
            return CleanupResult("error", message=f"invalid older_than: {params.older_than}")
        cutoff = now - dt.timedelta(seconds=seconds)
        tags = [t for t in tags if t.created is not None and t.created < cutoff]  # undated: always kept

    result.before_delete_size = len(tags)
    # CleanupTagsBaseService#delete_tags -> DeleteTagsService: by tag on GitLab's registry
    # without its database, the dummy manifest on a third-party one.
    result.deleted, message = delete_tags_service(
        registry, repo, [t.name for t in tags], tag_delete=tag_delete, protected=protected, timeout_s=timeout_s
    )
    if message:
        result.status, result.message = "error", message
    if result.after_truncate_size != result.before_truncate_size:
        result.status = "error"  # truncated: the caller should run again
    return result


def _load_created(inspector: TagInspector, repo: str, tags: list[_Tag]) -> None:
    def load(tag: _Tag) -> None:
        info = inspector.inspect(repo, tag.name)
        tag.created = info.created if info else None

    with ThreadPoolExecutor(max_workers=INSPECT_CONCURRENCY) as pool:
        list(pool.map(load, tags))


def cleanup_tags_gitlab(
    registry: RegistryClient,
    repo: str,
    params: CleanupParams,
    *,
    timeout_s: float = 0,
    disable_timeout: bool = False,
    now: dt.datetime | None = None,
    protected: Callable[[str], bool] | None = None,
) -> CleanupResult:
    """Gitlab::CleanupTagsService, for GitLab's own registry: pages of 1,000 tags by name; on
    each page on its own: drop `latest`, the name filter, keep the newest keep_n by push time
    (`updated_at || created_at`), keep what is not older than older_than, delete the rest
    tag by tag. No truncation. `timeout_s` (container_registry_delete_tags_service_timeout) is
    checked after each page; repository deletion disables it."""
    now = now or dt.datetime.now(dt.timezone.utc)
    for pattern in (params.name_regex_delete, params.name_regex, params.name_regex_keep):
        if pattern:
            try:
                compile_untrusted(pattern)
            except InvalidRegexp:
                return CleanupResult("error", message="invalid regex")
    seconds = parse_duration(params.older_than) if params.older_than is not None else None
    if params.older_than is not None and seconds is None:
        return CleanupResult("error", message=f"invalid older_than: {params.older_than}")
    delete_re = anchored(params.name_regex_delete if params.name_regex_delete is not None else params.name_regex)
    keep_re = anchored(params.name_regex_keep)

    result = CleanupResult("success")
    start = time.monotonic()
    for page in registry.gitlab_each_tags_page(repo, GITLAB_CLEANUP_PAGE_SIZE):
        result.original_size += len(page)
        infos = [TagInfo.from_gitlab(raw) for raw in page]
        tags = [_Tag(i.name, i.updated or i.created) for i in infos]
        if params.keep_latest:
            tags = [t for t in tags if t.name != "latest"]
        tags = [t for t in tags if matches(delete_re, t.name) and not matches(keep_re, t.name)]
        if params.keep_n is not None:
            ordered = list(reversed(sorted(tags, key=lambda t: t.created or now)))
            tags = ordered[max(params.keep_n, 0) :]
        if seconds is not None:
            cutoff = now - dt.timedelta(seconds=seconds)
            tags = [t for t in tags if t.created is not None and t.created < cutoff]
        result.before_delete_size += len(tags)
        names = [t.name for t in tags]
        if protected is not None:  # Gitlab::DeleteTagsService#filter_out_protected!
            names = [n for n in names if not protected(n)]
            if tags and not names:
                result.status, result.message = "error", PROTECTED_TAGS_ERROR
                continue
        deleted, message = delete_tags_gitlab(registry, repo, names, timeout_s=timeout_s)
        result.deleted += deleted
        if message:
            result.status, result.message = "error", message
        if not disable_timeout and timeout_s > 0 and time.monotonic() - start > timeout_s:
            result.status = "error"  # TimeoutError: what was deleted so far stays deleted
            break
    return result
