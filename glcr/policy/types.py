"""The values of GitLab's tag cleanup: variants, params, decisions, reasons and the summary.

Decided by glcr.policy.stages; explained in words by glcr.policy.explanations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, NamedTuple, Protocol, runtime_checkable

from glcr.errors import InvalidInputError
from glcr.models import ExpirationPolicy, RegistryKind
from glcr.policy.regex import delete_pattern

# GitLab's defaults; each is a constant or setting in GitLab, named here so callers can match a
# server configured differently.
GITLAB_TAGS_PAGE_SIZE = 1000  # Gitlab::CleanupTagsService::TAGS_PAGE_SIZE
DEFAULT_MAX_LIST_SIZE = 200  # container_registry_cleanup_tags_service_max_list_size; 0 disables
LATEST = "latest"  # ContainerRegistry::Tag#latest?


class Variant(str, Enum):
    """Which of GitLab's two cleanup services runs for a repository."""

    GITLAB_API = "gitlab_api"  # the registry answers GET /gitlab/v1/ (GitLab registry + metadata DB)
    THIRD_PARTY = "third_party"

    @classmethod
    def for_registry(cls, kind: RegistryKind) -> Variant:
        return cls.GITLAB_API if kind.gitlab_api else cls.THIRD_PARTY

    @property
    def timestamp_label(self) -> str:
        return "pushed" if self is Variant.GITLAB_API else "built"


class Action(str, Enum):
    DELETE = "delete"
    KEEP = "keep"


class Reason(str, Enum):
    LATEST = "latest"
    NOT_MATCHING = "not_matching"
    MATCHES_KEEP_REGEX = "matches_keep_regex"
    WITHIN_KEEP_N = "within_keep_n"
    NEWER_THAN_OLDER_THAN = "newer_than_older_than"
    NO_DATE = "no_date"
    EXPIRED = "expired"
    PROTECTED = "protected"  # a tag protection rule keeps it (set by glcr.policy.protection)
    IN_USE = "in_use"  # glcr's --keep-* flags: deployed, in an open MR, released... (glcr.inuse)
    # glcr's referrer cascade (glcr.referrers): a signature, attestation or SBOM stays while its
    # image keeps a tag, and goes after the image when the run deletes the image's last tag.
    REFERRER_OF_KEPT = "referrer_of_kept"
    ORPHANED_REFERRER = "orphaned_referrer"

    @property
    def text(self) -> str:
        return _REASON_TEXT[self]

    @property
    def action(self) -> Action:
        return Action.DELETE if self in (Reason.EXPIRED, Reason.ORPHANED_REFERRER) else Action.KEEP


_REASON_TEXT = {
    Reason.LATEST: "tag `latest` is never deleted",
    Reason.NOT_MATCHING: "does not match the delete regex",
    Reason.MATCHES_KEEP_REGEX: "matches name_regex_keep (keep wins over delete)",
    Reason.WITHIN_KEEP_N: "within the newest keep_n",
    Reason.NEWER_THAN_OLDER_THAN: "newer than older_than",
    Reason.NO_DATE: "no date, so older_than keeps it",
    Reason.EXPIRED: "matches the delete regex, beyond keep_n and older than older_than",
    Reason.PROTECTED: "protected by a tag protection rule",
    Reason.IN_USE: "in use",
    Reason.REFERRER_OF_KEPT: "a signature, attestation or SBOM of an image that keeps a tag",
    Reason.ORPHANED_REFERRER: "a signature, attestation or SBOM of an image whose last tag this run deletes",
}


@runtime_checkable
class TagLike(Protocol):
    """What the engine reads from a tag; glcr.models.TagDetails fits. `digest` and `total_size`
    are read with getattr and may be missing. Read-only, so frozen dataclasses fit."""

    @property
    def name(self) -> str: ...

    @property
    def created_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class PolicyTag:
    name: str
    created_at: datetime | None  # GitLab API: push time; third party: image config `created`
    digest: str | None = None
    total_size: int | None = None


@dataclass(frozen=True)
class CleanupParams:
    """The params of a cleanup run, with GitLab's names and Ruby's nil-vs-"" distinctions."""

    name_regex_delete: str | None = None
    name_regex: str | None = None  # a policy's name_regex; the bulk API's deprecated alias
    name_regex_keep: str | None = None
    keep_n: int | None = None
    older_than: str | None = None  # a ChronicDuration string: 90d, 1h, `2 weeks`, 1month
    keep_latest: bool = True

    @classmethod
    def from_policy(cls, policy: ExpirationPolicy | Mapping[str, Any]) -> CleanupParams:
        """What a policy run passes: `policy_params` = older_than, keep_n, name_regex,
        name_regex_keep (ContainerExpirationPolicy::POLICY_PARAMS); no name_regex_delete."""
        get = policy.get if isinstance(policy, Mapping) else lambda k: getattr(policy, k, None)
        return cls(
            name_regex=get("name_regex"),
            name_regex_keep=get("name_regex_keep"),
            keep_n=get("keep_n"),
            older_than=get("older_than"),
        )

    @classmethod
    def from_bulk_delete(cls, params: Mapping[str, Any]) -> CleanupParams:
        """The bulk delete's params (validate them first with `validate_bulk_delete`)."""
        keep_n = params.get("keep_n")
        if keep_n is not None and not isinstance(keep_n, int):
            try:
                keep_n = int(str(keep_n).strip())
            except ValueError:
                raise InvalidInputError(f"keep_n must be an integer, got {keep_n!r}") from None
        return cls(
            name_regex_delete=params.get("name_regex_delete"),
            name_regex=params.get("name_regex"),
            name_regex_keep=params.get("name_regex_keep"),
            keep_n=keep_n,
            older_than=params.get("older_than"),
        )

    @property
    def delete_regex(self) -> str | None:
        return delete_pattern(self.name_regex_delete, self.name_regex)

    @property
    def delete_field(self) -> str:
        return "name_regex_delete" if self.name_regex_delete is not None else "name_regex"


class DetailSource(Protocol):
    """Builds a decision's one-sentence detail: the engine's explanations.DecisionContext, or
    a stand-in for decisions changed after the engine (tag protection, images in use)."""

    def detail(self, reason: Reason, rank: int | None, page: int | None) -> str: ...


class TagDecision(NamedTuple):
    """The decision for one tag. An immutable NamedTuple rather than a dataclass: building 100k of
    them is the engine's largest cost, and a tuple is built several times faster."""

    name: str
    action: Action
    reason: Reason
    created_at: datetime | None
    digest: str | None
    total_size: int | None = None
    rank: int | None = None  # 1 = newest among the candidates (of its page, GitLab API variant)
    page: int | None = None  # GitLab API variant: 1-based page of page_size tags in name order
    context: DetailSource | None = None  # shared by one run's decisions; builds `detail`

    @property
    def detail(self) -> str:
        """The reason in one sentence, with this tag's rank, page and the params."""
        if self.context is None:
            return self.reason.text
        return self.context.detail(self.reason, self.rank, self.page)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (datetimes as ISO 8601 strings)."""
        return {
            "name": self.name,
            "action": self.action.value,
            "reason": self.reason.value,
            "detail": self.detail,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "digest": self.digest,
            "total_size": self.total_size,
            "rank": self.rank,
            "page": self.page,
        }

    def __repr__(self) -> str:
        return (
            f"TagDecision(name={self.name!r}, action={self.action.value}, reason={self.reason.value}, "
            f"rank={self.rank}, page={self.page})"
        )


@dataclass(frozen=True)
class SimulatedRun:
    """One run of the third-party service with a given random generator: which tags it samples
    and which of them it deletes. GitLab's own sample will differ (another generator)."""

    sampled: tuple[str, ...]  # in sample order
    deleted: tuple[str, ...]  # in the order GitLab would hand them to the delete service
    truncated: bool


@dataclass(frozen=True)
class CleanupSummary:
    variant: Variant
    tags: int
    delete: int
    keep: int
    by_reason: Mapping[Reason, int]
    candidates: int  # tags left after the latest and name filters
    bytes_freed_estimate: int
    digests_freed: int  # distinct digests of deleted tags that no kept tag points to
    digests_still_tagged: int  # digests of deleted tags that a kept tag still points to
    sizes_unknown: int  # freed digests (or digest-less tags) without a total_size
    pages: int
    page_size: int
    truncated: bool
    max_list_size: int
    sample_size: int | None  # max_list_size + keep_n when truncation is on
    runs_needed: int  # 0 if nothing is deleted; estimate for a truncated third-party repository
    runs_estimate_capped: bool
    now: datetime
    cutoff: datetime | None  # now - older_than
    notes: tuple[str, ...]
    # The GitLab-registry variant decided on times that are not push times (GitLab's REST API
    # answered, not the registry): the caller sets it, the decisions are then approximate.
    approximate: bool = False
    # GitLab-registry variant over several pages with keep_n: what GitLab's FIRST run deletes
    # (the decisions show where its repeated runs end); None when one run is all there is.
    first_run_delete: int | None = None


@dataclass(frozen=True)
class CleanupResult:
    decisions: tuple[TagDecision, ...]  # one per input tag, in input order
    summary: CleanupSummary
    params: CleanupParams
    simulated_run: SimulatedRun | None = None
    # The deleted names as GitLab hands them to its delete service: one batch per page with
    # deletions (GitLab API variant) or one batch (third party, the eventual outcome), each in
    # GitLab's order (newest first when keep_n is set, else listing order).
    delete_batches: tuple[tuple[str, ...], ...] = ()

    def deleted(self) -> list[TagDecision]:
        return [d for d in self.decisions if d.action is Action.DELETE]

    def kept(self) -> list[TagDecision]:
        return [d for d in self.decisions if d.action is Action.KEEP]

    def by_name(self) -> dict[str, TagDecision]:
        return {d.name: d for d in self.decisions}
