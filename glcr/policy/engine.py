"""GitLab's tag cleanup, decided locally: one decision with its reason for every tag.

Follows app/services/projects/container_repository/:
  cleanup_tags_base_service.rb   filter_out_latest!, filter_by_name!, partition_by_keep_n,
                                 partition_by_older_than, order_by_date_desc
  gitlab/cleanup_tags_service.rb        Variant.GITLAB_API: pages of 1,000 tags in name order,
                                        each page filtered on its own; timestamp = push time
                                        (`updated_at || created_at` from the metadata DB)
  third_party/cleanup_tags_service.rb   Variant.THIRD_PARTY: all tags sorted by name, a random
                                        sample of max_list_size + keep_n when there are more
                                        candidates; timestamp = the image config's `created`

The steps, per page (GitLab API) or for the whole repository (third party):
  1. `latest` is kept (keep_latest, true except when GitLab deletes a whole repository).
  2. a tag must match the delete regex and not the keep regex (the keep regex wins).
  3. keep_n: candidates sorted newest first, a tag without a date counting as "now"; equal
     times come out in descending name order (`sort_by { ... }.reverse!` read as a stable sort of
     the name-ordered tags, then reversed: what GitLab's spec expects, `%w[Bb Ba C]`); the
     first keep_n stay.
  4. older_than: of the rest, only tags with a date strictly before now - older_than go;
     a tag without a date is kept.
"""

from __future__ import annotations

import gc
import operator
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from itertools import compress, repeat
from typing import Any, NamedTuple, Protocol, runtime_checkable

from glcr.errors import InvalidInputError
from glcr.models import ExpirationPolicy, RegistryKind
from glcr.policy.duration import format_timedelta, parse_older_than
from glcr.policy.regex import TagRegex, delete_pattern

# GitLab's defaults; each is a constant or setting in GitLab, named here so callers can match a
# server configured differently.
GITLAB_TAGS_PAGE_SIZE = 1000  # Gitlab::CleanupTagsService::TAGS_PAGE_SIZE
DEFAULT_MAX_LIST_SIZE = 200  # container_registry_cleanup_tags_service_max_list_size; 0 disables
LATEST = "latest"  # ContainerRegistry::Tag#latest?
# Above this many estimated runs the estimate stops counting (tiny max_list_size, huge repos).
RUNS_ESTIMATE_CAP = 100_000


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

    @property
    def text(self) -> str:
        return _REASON_TEXT[self]

    @property
    def action(self) -> Action:
        return Action.DELETE if self is Reason.EXPIRED else Action.KEEP


_REASON_TEXT = {
    Reason.LATEST: "tag `latest` is never deleted",
    Reason.NOT_MATCHING: "does not match the delete regex",
    Reason.MATCHES_KEEP_REGEX: "matches name_regex_keep (keep wins over delete)",
    Reason.WITHIN_KEEP_N: "within the newest keep_n",
    Reason.NEWER_THAN_OLDER_THAN: "newer than older_than",
    Reason.NO_DATE: "no date, so older_than keeps it",
    Reason.EXPIRED: "matches the delete regex, beyond keep_n and older than older_than",
    Reason.PROTECTED: "protected by a tag protection rule",
}


@runtime_checkable
class TagLike(Protocol):
    """What the engine reads from a tag; glcr.models.TagDetails fits. `digest` and `total_size`
    are read with getattr and may be missing."""

    name: str
    created_at: datetime | None


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
    context: DecisionContext | None = None  # shared by one run's decisions; builds `detail`

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


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st, 112th."""
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def decide(
    tags: Iterable[TagLike],
    params: CleanupParams,
    *,
    variant: Variant,
    now: datetime,
    max_list_size: int = DEFAULT_MAX_LIST_SIZE,
    page_size: int = GITLAB_TAGS_PAGE_SIZE,
    rng: random.Random | None = None,
    listing_order: str = "name",
) -> CleanupResult:
    """Decide every tag as GitLab's cleanup would.

    `now` is the clock (naive datetimes are taken as UTC). For THIRD_PARTY repositories with
    more candidates than max_list_size + keep_n, decisions are the eventual outcome of repeated
    runs (each run samples at random; the newest keep_n are never touched, so runs converge on
    the whole-repository decision) and the summary estimates how many runs GitLab needs; pass
    `rng` to also see one simulated run.

    `listing_order` decides how GITLAB_API pages are cut: "name" sorts the tags by name (byte
    order, as the registry lists them); "input" takes the tags in the order given, for a caller
    that passes the registry's own listing order. THIRD_PARTY always sorts by name, as GitLab does.
    """
    tags = list(tags)
    if not isinstance(variant, Variant):
        variant = Variant(variant)
    if page_size < 1:
        raise InvalidInputError(f"page_size must be at least 1, got {page_size}")
    if max_list_size < 0:
        raise InvalidInputError(f"max_list_size must be 0 (no truncation) or more, got {max_list_size}")
    keep_n = params.keep_n
    if keep_n is not None:
        if isinstance(keep_n, bool) or not isinstance(keep_n, int):
            raise InvalidInputError(f"keep_n must be an integer, got {keep_n!r}")
        if keep_n < 0:
            raise InvalidInputError(f"keep_n must not be negative, got {keep_n}")
    delete_re = TagRegex.compile(params.delete_regex, field=params.delete_field)
    keep_re = TagRegex.compile(params.name_regex_keep, field="name_regex_keep")
    now = _aware(now)
    cutoff = None
    if params.older_than is not None:
        cutoff = now - parse_older_than(params.older_than)

    n = len(tags)
    names = [t.name for t in tags]
    stamps = [t.created_at for t in tags]
    if not all(dt is None or dt.tzinfo is not None for dt in stamps):
        stamps = [None if dt is None else _aware(dt) for dt in stamps]
    digests, sizes = _optional_fields(tags)
    if listing_order not in ("name", "input"):
        raise InvalidInputError(f"listing_order must be `name` or `input`, got `{listing_order}`")
    gitlab = variant is Variant.GITLAB_API
    # Work in listing order ("position" p below): the registry lists tags by name, and Python's
    # str order is code point order, i.e. the UTF-8 byte order the registry (and Ruby's
    # String#<=> in the third-party service) sorts by. Registry listings arrive sorted already.
    if (gitlab and listing_order == "input") or all(a < b for a, b in zip(names, names[1:])):
        order = None
    else:
        order = sorted(range(n), key=names.__getitem__)
        input_names, input_stamps = names, stamps
        names = [input_names[i] for i in order]
        stamps = [input_stamps[i] for i in order]
    if order is not None or listing_order == "input":
        if len(set(names)) != n:
            dupes = sorted(k for k, v in Counter(names).items() if v > 1)
            raise InvalidInputError(f"duplicate tag names: {', '.join(dupes[:5])}")

    # Steps 1-2: latest, then the delete regex, then the keep regex (which wins).
    latest, not_matching, keep_regex = Reason.LATEST, Reason.NOT_MATCHING, Reason.MATCHES_KEEP_REGEX
    keep_latest = params.keep_latest
    deletable = list(map(delete_re.matcher, names))
    reasons: list[Reason | None] = [
        latest if keep_latest and name == LATEST else (None if ok else not_matching)
        for name, ok in zip(names, deletable)
    ]
    open_positions = [p for p, r in enumerate(reasons) if r is None]
    if not keep_re.matches_nothing:
        keep_match = keep_re.matcher
        kept = [p for p in open_positions if keep_match(names[p])]
        for p in kept:
            reasons[p] = keep_regex
        if kept:
            kept_set = set(kept)
            open_positions = [p for p in open_positions if p not in kept_set]
    n_pages = max(1, -(-n // page_size)) if gitlab else 1
    if gitlab:
        groups: list[list[int]] = [[] for _ in range(n_pages)]
        for p in open_positions:
            groups[p // page_size].append(p)
        pages = [p // page_size + 1 for p in range(n)]
    else:
        groups = [open_positions]
        pages = [None] * n

    # Steps 3-4, per page (GitLab API) or for the whole repository (third party).
    ranks: list[int | None] = [None] * n
    keyed = [now if stamp is None else stamp for stamp in stamps]
    candidates = len(open_positions)
    batches = []
    for group in groups:
        batch = _decide_group(group, stamps, keyed, reasons, ranks, keep_n, cutoff)
        if batch:
            batches.append(tuple(names[p] for p in batch))

    # third-party truncation (third_party/cleanup_tags_service.rb#truncate)
    sample_size = max_list_size + (keep_n or 0) if max_list_size else None
    truncated = (not gitlab) and sample_size is not None and candidates > sample_size
    simulated = None
    if not gitlab and rng is not None:
        simulated = _simulate_run(groups[0], names, stamps, keyed, keep_n, cutoff, sample_size, rng)

    if order is not None:  # back to input order: position of each input tag
        inverse = sorted(range(n), key=order.__getitem__)
        names, stamps = input_names, input_stamps
        reasons, ranks, pages = ([column[p] for p in inverse] for column in (reasons, ranks, pages))
    context = DecisionContext(params, variant, n_pages, cutoff)
    expired, delete, keep = Reason.EXPIRED, Action.DELETE, Action.KEEP
    actions = [delete if r is expired else keep for r in reasons]
    with _gc_paused():
        decisions = tuple(
            map(TagDecision, names, actions, reasons, stamps, digests, sizes, ranks, pages, repeat(context))
        )
    summary = _summarize(
        actions, reasons, digests, sizes, variant, candidates, n_pages, page_size, truncated,
        max_list_size, sample_size, keep_n, now, cutoff,
    )
    return CleanupResult(decisions, summary, params, simulated, tuple(batches))


def _decide_group(group, stamps, keyed, reasons, ranks, keep_n, cutoff) -> list[int]:
    """Decide one page (or the whole repository); returns the expired tags in GitLab's order.

    `keyed` is the timestamp with "now" for tags without one (`pushed_at(tag) || now`)."""
    if not group:
        return []
    if keep_n is not None:
        # `sort_by { pushed_at || now }.reverse!`: a stable ascending sort of the listing order,
        # then reversed, so equal times come out in reverse listing (name) order.
        group = sorted(group, key=keyed.__getitem__)
        group.reverse()
        for rank, p in enumerate(group, 1):
            ranks[p] = rank
        within = Reason.WITHIN_KEEP_N
        for p in group[:keep_n]:
            reasons[p] = within
        rest = group[keep_n:]
    else:
        rest = group
    expired_reason = Reason.EXPIRED
    if cutoff is None:
        for p in rest:
            reasons[p] = expired_reason
        return list(rest)
    expired = []
    no_date, newer = Reason.NO_DATE, Reason.NEWER_THAN_OLDER_THAN
    for p in rest:
        stamp = stamps[p]
        if stamp is None:
            reasons[p] = no_date
        elif stamp < cutoff:
            reasons[p] = expired_reason
            expired.append(p)
        else:
            reasons[p] = newer
    return expired


def _simulate_run(candidates, names, stamps, keyed, keep_n, cutoff, sample_size, rng) -> SimulatedRun:
    """One run: `tags.sample(n)` (random order), then the stable sort + reverse of keep_n."""
    truncated = sample_size is not None and len(candidates) > sample_size
    sample = rng.sample(candidates, sample_size) if truncated else list(candidates)
    if keep_n is not None:
        ordered = sorted(sample, key=keyed.__getitem__)
        ordered.reverse()
        rest = ordered[keep_n:]
    else:
        rest = sample
    deleted = [
        p for p in rest
        if cutoff is None or (stamps[p] is not None and stamps[p] < cutoff)
    ]
    return SimulatedRun(tuple(names[p] for p in sample), tuple(names[p] for p in deleted), truncated)


class DecisionContext:
    """What every decision of one run shares: the texts built from the params. Decisions keep a
    reference and build their `detail` sentence on demand, so deciding 100k tags formats none."""

    __slots__ = ("keep_n", "n_pages", "on_page", "_fixed", "_matched", "_beyond", "_key")

    def __init__(self, params: CleanupParams, variant: Variant, n_pages: int, cutoff: datetime | None):
        self._key = (params, variant, n_pages, cutoff)
        delete_field = params.delete_field
        delete_regex = params.delete_regex
        older = params.older_than
        self.keep_n = params.keep_n
        self.n_pages = n_pages
        self.on_page = variant is Variant.GITLAB_API and n_pages > 1
        self._matched = f"matches {delete_field} `{delete_regex}`"
        self._beyond = f" and older than {older}" if older is not None else ""
        self._fixed = {
            Reason.LATEST: "tag `latest` is never deleted (keep_latest)",
            Reason.NOT_MATCHING: (
                f"does not match {delete_field} `{delete_regex}`" if delete_regex
                else f"{delete_field} is empty, which matches no tag"
            ),
            Reason.MATCHES_KEEP_REGEX: f"matches name_regex_keep `{params.name_regex_keep}` (keep wins over delete)",
            Reason.NO_DATE: "has no date, so older_than keeps it",
            Reason.NEWER_THAN_OLDER_THAN: (
                f"newer than older_than={older} (cutoff {cutoff.isoformat(timespec='seconds')})"
                if cutoff else ""
            ),
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DecisionContext) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def detail(self, reason: Reason, rank: int | None, page: int | None) -> str:
        where = f" on page {page} of {self.n_pages}" if self.on_page else ""
        keep_n = self.keep_n
        if reason is Reason.WITHIN_KEEP_N:
            return f"{ordinal(rank)} newest{where}, within keep_n={keep_n}"
        if reason is Reason.EXPIRED:
            if rank is not None:
                return f"{self._matched}, {ordinal(rank)} newest{where} so beyond keep_n={keep_n}{self._beyond}"
            return f"{self._matched}{self._beyond}"
        text = self._fixed[reason]
        if rank is not None:  # NO_DATE / NEWER_THAN_OLDER_THAN, after keep_n let them through
            text = f"{text}; {ordinal(rank)} newest{where}, beyond keep_n={keep_n}"
        return text


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while creating one object per tag.

    Each new TagDecision counts towards the collector's thresholds, and with 100k of them plus
    the caller's tags alive, CPython runs repeated full collections that traverse them all:
    that tripled the cost of building the decisions. They form no cycles, so nothing is lost by
    collecting afterwards; the previous state is restored even on error.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _optional_fields(tags) -> tuple[list, list]:
    """`digest` and `total_size` of every tag; None where a TagLike lacks them."""
    try:
        return [t.digest for t in tags], [t.total_size for t in tags]
    except AttributeError:
        return ([getattr(t, "digest", None) for t in tags], [getattr(t, "total_size", None) for t in tags])


def estimate_runs(candidates: int, deletable: int, sample_size: int, keep_n: int) -> tuple[int, bool]:
    """Expected number of third-party runs until every deletable candidate is gone.

    A run samples `sample_size` of the `candidates`. Every tag that is not deletable is newer
    than every deletable one (it is in the newest keep_n, newer than older_than, or has no date
    and counts as now), so a run deletes the sampled deletable tags except those that fill the
    sample's keep_n: on average min(sample_size * d / n, sample_size - keep_n). Once no more
    than sample_size candidates remain, one run finishes. Returns (runs, capped).
    """
    if deletable <= 0:
        return 0, False
    n = float(candidates)
    d = float(deletable)
    m = float(sample_size - keep_n)
    runs = 0
    while d >= 0.5:
        if runs >= RUNS_ESTIMATE_CAP:
            return runs, True
        runs += 1
        if n <= sample_size:
            break
        gone = min(sample_size * d / n, m)
        n -= gone
        d -= gone
    return runs, False


def _summarize(actions, reasons, digests, sizes, variant, candidates, n_pages, page_size, truncated,
               max_list_size, sample_size, keep_n, now, cutoff) -> CleanupSummary:
    by_reason = Counter(reasons)
    delete = by_reason[Reason.EXPIRED]
    freed: dict[str, int | None] = {}
    still_tagged: set[str] = set()
    loose_sizes: list[int | None] = []
    if delete:
        is_kept = list(map(operator.is_, actions, repeat(Action.KEEP)))
        kept_digests = set(compress(digests, is_kept))
        is_deleted = [not k for k in is_kept]
        for digest, size in zip(compress(digests, is_deleted), compress(sizes, is_deleted)):
            if digest is None:
                loose_sizes.append(size)
            elif digest in kept_digests:
                still_tagged.add(digest)
            elif freed.get(digest) is None:
                freed[digest] = size
    all_sizes = list(freed.values()) + loose_sizes
    bytes_freed = sum(s for s in all_sizes if s is not None)
    unknown = sum(1 for s in all_sizes if s is None)

    notes = []
    gitlab = variant is Variant.GITLAB_API
    if gitlab and n_pages > 1:
        notes.append(
            f"GitLab handles this repository in {n_pages} pages of {page_size} tags in name order and "
            "applies keep_n and the date order to each page on its own, so up to keep_n tags are kept "
            "per page, not per repository"
        )
    if truncated:
        runs, capped = estimate_runs(candidates, delete, sample_size, keep_n or 0)
        more = "more than " if capped else "about "
        notes.append(
            f"{candidates} tags match, more than max_list_size + keep_n = {sample_size}: each GitLab run "
            f"handles a random sample of {sample_size}, so it takes {more}{runs} runs (policy runs, or "
            "bulk-delete calls at most once an hour) to reach the decisions shown"
        )
    else:
        runs, capped = (1 if delete else 0), False
    if delete:
        notes.append(
            "bytes freed is an estimate: total_size of deleted tags, each digest once, leaving out "
            "digests a kept tag still points to; layers shared with kept images are not freed, and "
            "nothing is freed until the registry's garbage collection runs"
        )
    return CleanupSummary(
        variant=variant,
        tags=len(reasons),
        delete=delete,
        keep=len(reasons) - delete,
        by_reason={r: by_reason[r] for r in Reason if by_reason[r]},
        candidates=candidates,
        bytes_freed_estimate=bytes_freed,
        digests_freed=len(freed),
        digests_still_tagged=len(still_tagged),
        sizes_unknown=unknown,
        pages=n_pages,
        page_size=page_size,
        truncated=truncated,
        max_list_size=max_list_size,
        sample_size=sample_size if not gitlab else None,
        runs_needed=runs,
        runs_estimate_capped=capped,
        now=now,
        cutoff=cutoff,
        notes=tuple(notes),
    )


def describe_params(params: CleanupParams) -> str:
    """`name_regex_delete=.* keep_n=5 older_than=90d (90 days)`, for headers and logs."""
    parts = [f"{params.delete_field}={params.delete_regex!s}"]
    if params.name_regex_keep is not None:
        parts.append(f"name_regex_keep={params.name_regex_keep}")
    if params.keep_n is not None:
        parts.append(f"keep_n={params.keep_n}")
    if params.older_than is not None:
        parts.append(f"older_than={params.older_than} ({format_timedelta(parse_older_than(params.older_than))})")
    if not params.keep_latest:
        parts.append("keep_latest=false")
    return " ".join(parts)


__all__ = [
    "Action",
    "CleanupParams",
    "CleanupResult",
    "CleanupSummary",
    "DEFAULT_MAX_LIST_SIZE",
    "GITLAB_TAGS_PAGE_SIZE",
    "PolicyTag",
    "Reason",
    "SimulatedRun",
    "TagDecision",
    "TagLike",
    "Variant",
    "decide",
    "describe_params",
    "estimate_runs",
    "ordinal",
]
