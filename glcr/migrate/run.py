"""How a preflight's findings end a migration before anything changes (glcr.api.migrate.start)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from glcr.errors import GlcrError
    from glcr.migrate.service import Prepared


def refuse_blocked(prepared: Prepared, skip_checks: Sequence[str] = ()) -> None:
    """Raise for the first problem that would stop the migration half-way, unless skipped."""
    blocked = prepared.blocking(list(skip_checks))
    if blocked:
        # The first problem's own exit code (README, migrate section): not found 4, permission 6,
        # invalid input 3, else refused 8.
        raise preflight_error(blocked[0].exit_code)(
            f"the preflight found {len(blocked)} problem(s) that would stop the migration half-way: "
            f"{blocked[0].message}", hint=f"nothing changed; `--skip-check {blocked[0].code}` overrides it")


def preflight_error(exit_code: int | None) -> type[GlcrError]:
    """The error kind that ends the command with `exit_code` (RefusedError when None)."""
    from glcr.errors import (
        ExitCode, InvalidInputError, NotFoundError, PermissionDeniedError, RefusedError,
    )

    kinds: dict[int | None, type[GlcrError]] = {ExitCode.INVALID_INPUT: InvalidInputError,
                                                ExitCode.NOT_FOUND: NotFoundError,
                                                ExitCode.PERMISSION: PermissionDeniedError}
    return kinds.get(exit_code, RefusedError)
