"""GitLab's tag cleanup, decided locally, stage by stage: one decision with its reason for every tag.

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
import random
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from itertools import repeat

from glcr.errors import InvalidInputError
from glcr.policy.duration import parse_older_than
from glcr.policy.estimate import summarize
from glcr.policy.explanations import DecisionContext
from glcr.policy.regex import TagRegex
from glcr.policy.types import (
    DEFAULT_MAX_LIST_SIZE,
    GITLAB_TAGS_PAGE_SIZE,
    LATEST,
    Action,
    CleanupParams,
    CleanupResult,
    Reason,
    SimulatedRun,
    TagDecision,
    TagLike,
    Variant,
)


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
    converge: bool = True,
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

    `converge`: GITLAB_API repositories of more than one page with keep_n are decided as GitLab's
    repeated runs leave them, not as its first run does (see _converge_pages); False: one run.
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
    summary = summarize(
        actions, reasons, digests, sizes, variant, candidates, n_pages, page_size, truncated,
        max_list_size, sample_size, keep_n, now, cutoff,
    )
    result = CleanupResult(decisions, summary, params, simulated, tuple(batches))
    if gitlab and converge and keep_n is not None and n_pages > 1:
        return _converge_pages(tags, result, params, now=now, page_size=page_size, listing_order=listing_order)
    return result


def _converge_pages(tags: list, first: CleanupResult, params: CleanupParams, *, now: datetime, page_size: int,
                    listing_order: str) -> CleanupResult:
    """Where GitLab's repeated runs end on a repository of several pages.

    Each run re-lists the repository (gitlab/cleanup_tags_service.rb `each_tags_page`, every
    cadence, and again after its 250 s timeout) and keeps keep_n tags PER PAGE. The survivors of
    one run fall into fewer pages at the next, which then deletes more: 2,000 matching tags with
    keep_n 10 keep 20 after the first run, and 10 after the second. Decided here run after run
    on the survivors, in listing order, until a run deletes nothing; each tag's decision is the
    one of the last run that saw it. The summary gives the first run's count too.
    """
    final = list(first.decisions)
    batches = list(first.delete_batches)
    per_run = [first.summary.delete]
    survivors = [i for i, d in enumerate(final) if d.action is Action.KEEP]
    cutoff = first.summary.cutoff

    def could_go(decision: TagDecision) -> bool:
        # Only a tag keep_n kept can go at a later run, and only if older_than would let it.
        return decision.reason is Reason.WITHIN_KEEP_N and (
            cutoff is None or (decision.created_at is not None and decision.created_at < cutoff))

    while per_run[-1] and survivors and any(could_go(final[i]) for i in survivors):
        run = decide([tags[i] for i in survivors], params, variant=Variant.GITLAB_API, now=now,
                     page_size=page_size, listing_order=listing_order, converge=False)
        if not run.summary.delete:
            break
        per_run.append(run.summary.delete)
        for index, decision in zip(survivors, run.decisions):
            final[index] = decision
        batches += run.delete_batches
        survivors = [i for i, d in zip(survivors, run.decisions) if d.action is Action.KEEP]
    if len(per_run) == 1:
        return first
    s = first.summary
    summary = summarize(
        [d.action for d in final], [d.reason for d in final], [d.digest for d in final],
        [d.total_size for d in final], Variant.GITLAB_API, s.candidates, s.pages, page_size, False,
        s.max_list_size, None, params.keep_n, s.now, s.cutoff,
    )
    later = ", ".join(f"run {n}: {count}" for n, count in enumerate(per_run[1:], start=2))
    note = (f"GitLab's first run deletes {per_run[0]} tags; the tags each page keeps fall into fewer pages at its "
            f"next runs (one per cadence), which delete more ({later}): shown is where {len(per_run)} runs end")
    summary = replace(summary, runs_needed=len(per_run), first_run_delete=per_run[0], notes=(note, *summary.notes))
    return replace(first, decisions=tuple(final), summary=summary, delete_batches=tuple(batches))


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
