"""What `glcr doctor` finds: one typed result per check, and the report. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterable

from glcr.errors import ExitCode


class Status(str, Enum):
    OK = "ok"
    WARN = "warn"  # works, but something will bite later (expiring token, read-only scopes)
    FAIL = "fail"  # glcr cannot work this way; `fix` says what to change
    SKIP = "skip"  # not checked: it needs something an earlier check did not provide


@dataclass(frozen=True)
class CheckResult:
    check: str  # url, token, project, registry, token-flow, clock, names
    status: Status
    message: str
    fix: str | None = None
    # For a FAIL: the error kind, so the exit code says what went wrong (5 token, 7 network...).
    kind: int | None = None  # an ExitCode (GlcrError.exit_code)

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status.value, "message": self.message,
                "fix": self.fix}


def ok(check: str, message: str) -> CheckResult:
    return CheckResult(check, Status.OK, message)


def warn(check: str, message: str, fix: str | None = None) -> CheckResult:
    return CheckResult(check, Status.WARN, message, fix)


def fail(check: str, message: str, fix: str | None = None, kind: int = ExitCode.PARTIAL) -> CheckResult:
    return CheckResult(check, Status.FAIL, message, fix, kind)


def skip(check: str, message: str, fix: str | None = None) -> CheckResult:
    return CheckResult(check, Status.SKIP, message, fix)


@dataclass(frozen=True)
class DoctorReport:
    results: tuple[CheckResult, ...]

    @classmethod
    def of(cls, results: Iterable[CheckResult]) -> "DoctorReport":
        return cls(tuple(results))

    def with_status(self, status: Status) -> list[CheckResult]:
        return [r for r in self.results if r.status is status]

    @property
    def failed(self) -> bool:
        return any(r.status is Status.FAIL for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 unless a check failed; then the kind of the first failure (warnings never fail)."""
        for result in self.results:
            if result.status is Status.FAIL:
                return int(result.kind or ExitCode.PARTIAL)
        return int(ExitCode.OK)

    def to_dict(self) -> dict[str, Any]:
        counts = {s.value: len(self.with_status(s)) for s in Status}
        return {"ok": not self.failed, "exit_code": self.exit_code, "counts": counts,
                "checks": [r.to_dict() for r in self.results]}
