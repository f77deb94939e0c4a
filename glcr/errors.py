"""One exception tree. Each kind knows its exit code; only the CLI edge prints it.

Tests match on the kind (the class), never on message text. Messages say what was being
done and what to do next, in one line.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes (README, man page). Stable: scripts depend on them."""

    OK = 0
    INTERNAL = 1  # a bug in glcr: please report it
    USAGE = 2  # click/typer's own code for a bad command line
    INVALID_INPUT = 3  # bad regex, unknown cadence, malformed list/plan file
    NOT_FOUND = 4  # project, group, repository or tag does not exist
    AUTH = 5  # no token, bad or expired token (401)
    PERMISSION = 6  # 403, missing token scope, registry action dropped by /jwt/auth
    NETWORK = 7  # host unreachable, timeouts, retries exhausted
    REFUSED = 8  # the server refused a valid request (rate limit window, transfer blocked)
    PARTIAL = 9  # some items failed or did not verify; see the journal
    ABORTED = 10  # the user declined a confirmation
    STALE = 11  # a plan no longer matches the registry (digest moved, other repository)


class GlcrError(Exception):
    """Base of every error glcr raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message.replace("\n", " ").strip()
        if self.hint:
            text = f"{text} ({self.hint})" if not text.endswith(")") else f"{text}; {self.hint}"
        return text


class UsageError(GlcrError):
    """Options that do not go together, or one a command needs that is missing (exit 2, as
    click's own usage errors). A value that is well-formed but unusable is InvalidInputError."""

    exit_code = ExitCode.USAGE


class InvalidInputError(GlcrError):
    exit_code = ExitCode.INVALID_INPUT


class NotFoundError(GlcrError):
    exit_code = ExitCode.NOT_FOUND


class AuthError(GlcrError):
    exit_code = ExitCode.AUTH


class PermissionDeniedError(GlcrError):
    exit_code = ExitCode.PERMISSION


class NetworkError(GlcrError):
    exit_code = ExitCode.NETWORK


class RefusedError(GlcrError):
    exit_code = ExitCode.REFUSED


class PartialFailureError(GlcrError):
    exit_code = ExitCode.PARTIAL


class AbortedError(GlcrError):
    exit_code = ExitCode.ABORTED


class StaleError(GlcrError):
    exit_code = ExitCode.STALE


class HTTPStatusError(GlcrError):
    """A response we did not expect, mapped to a kind by status (see `for_status`)."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


def for_status(status: int, doing: str, detail: str = "") -> GlcrError:
    """Map an HTTP status to the error kind a user can act on."""
    detail = detail.strip()
    if detail.startswith(str(status)):
        detail = detail[len(str(status)):].strip()  # GitLab's "401 Unauthorized" already says it
    what = f"{doing}: {status}" + (f" {detail}" if detail else "")
    if status == 401:
        return AuthError(what, hint="check the token (expired or revoked?) with `glcr auth status`")
    if status == 403:
        return PermissionDeniedError(what, hint="the token or user lacks the permission for this")
    if status == 404:
        return NotFoundError(what, hint="check the path, and that the token can see it")
    if status in (400, 409, 422):
        return RefusedError(what)
    if status == 429 or status >= 500:
        return NetworkError(what, hint="the server is overloaded or failing; try again later")
    return HTTPStatusError(what, status=status)
