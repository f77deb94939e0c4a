"""Semantic versions in tag names, for `PlanRules.keep_semver_latest`. Pure.

A tag is a version when it is `MAJOR.MINOR.PATCH` with an optional `-prerelease`, per SemVer 2.0,
optionally prefixed with `v` or `V` (`v1.2.3`, `1.2.3-rc.1`). Build metadata (`+build`) cannot
occur: `+` is not allowed in a tag. Partial versions (`1.2`, `v1`) and date tags are not versions.

Ordering is SemVer precedence (§11): numeric parts compare as numbers; a prerelease ranks below
its release (`1.0.0-rc.1 < 1.0.0`); prerelease identifiers compare numerically when all digits,
else by ASCII, digits below letters; more identifiers rank higher when the rest are equal.
Beware flavour tags: `1.2.3-alpine` is, by that grammar, a prerelease of 1.2.3.
Equal versions (`v1.2.3` and `1.2.3`) tie; callers break ties by name. (`keep_semver_latest`
goes further and ranks every release above every prerelease; see `glcr.plan.build`.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_NUMBER = r"0|[1-9][0-9]*"
_IDENTIFIER = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    rf"[vV]?(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>{_IDENTIFIER}(?:\.{_IDENTIFIER})*))?"
)


@total_ordering
@dataclass(frozen=True, eq=False)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    def _key(self) -> tuple[int, int, int, bool, tuple[tuple[int, int, str], ...]]:
        pre = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in self.prerelease)
        # A release (no prerelease) outranks every prerelease of the same version.
        return (self.major, self.minor, self.patch, not self.prerelease, pre)

    @property
    def is_release(self) -> bool:
        return not self.prerelease

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SemVer) and self._key() == other._key()

    def __lt__(self, other: SemVer) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return f"{text}-{'.'.join(self.prerelease)}" if self.prerelease else text


def parse_semver(tag: str) -> SemVer | None:
    match = _SEMVER.fullmatch(tag)
    if match is None:
        return None
    pre = match["pre"]
    return SemVer(int(match["major"]), int(match["minor"]), int(match["patch"]),
                  tuple(pre.split(".")) if pre else ())
