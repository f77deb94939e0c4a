"""Instance settings for administrators: the cleanup limits."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from glcr.session import Session
    from glcr.project_settings.cleanup_limits import Change



@dataclass(frozen=True)
class CleanupLimits:
    """Each cleanup limit's value by GitLab attribute (None: this GitLab does not have it)."""

    values: Mapping[str, Any]


def _limits(settings: Mapping[str, Any]) -> CleanupLimits:
    from glcr.project_settings.cleanup_limits import current

    return CleanupLimits(MappingProxyType(current(settings)))


async def read_cleanup_limits(session: Session) -> CleanupLimits:
    return _limits(await session.rest.settings())


@dataclass(frozen=True)
class LimitsChange:
    before: CleanupLimits
    changes: tuple[Change, ...]
    after: CleanupLimits | None  # None: nothing sent (no change, or a dry run)


async def change_cleanup_limits(session: Session, wanted: Mapping[str, Any], *,
                          review: Callable[[tuple[Change, ...]], None], confirm: Callable[[str], None],
                          dry_run: bool = False) -> LimitsChange:
    """Send the `wanted` values (validated by cleanup_limits.validate) that differ, after
    `review(changes)` and `confirm(question)` (raises to stop); GitLab's answer is checked."""
    from glcr.errors import RefusedError
    from glcr.project_settings.cleanup_limits import diff, unapplied

    rest = session.rest
    before = _limits(await rest.settings())
    changes = tuple(diff(dict(before.values), wanted))
    if not changes:
        return LimitsChange(before, (), None)
    review(changes)
    if dry_run:
        return LimitsChange(before, changes, None)
    confirm(f"Change {len(changes)} instance setting(s) on {session.creds.url}?")
    sent = {c.key: c.after for c in changes}
    answer = await rest.update_settings(sent)
    missed = unapplied(sent, answer)
    if missed:
        raise RefusedError(f"GitLab did not apply {', '.join(missed)}",
                           hint="this GitLab release may not have the setting; see `glcr admin cleanup-limits show`")
    return LimitsChange(before, changes, _limits(answer))
