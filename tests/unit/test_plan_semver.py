"""Semantic versions in tag names (SemVer 2.0 precedence, optional v prefix)."""

from __future__ import annotations

import pytest

from glcr.plan.semver import SemVer, parse_semver


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("1.2.3", SemVer(1, 2, 3)),
        ("v1.2.3", SemVer(1, 2, 3)),
        ("V0.0.0", SemVer(0, 0, 0)),
        ("1.2.3-rc.1", SemVer(1, 2, 3, ("rc", "1"))),
        ("1.2.3-alpine", SemVer(1, 2, 3, ("alpine",))),  # a flavour tag reads as a prerelease
        ("10.20.30-0a.-x", SemVer(10, 20, 30, ("0a", "-x"))),
    ],
)
def test_parses(tag: str, version: SemVer) -> None:
    assert parse_semver(tag) == version


@pytest.mark.parametrize(
    "tag", ["1.2", "v1", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01", "1.2.3-a..b", "vv1.2.3",
            "latest", "1.2.3_build", "x1.2.3", "1.2.3\n", "١.٢.٣"])
def test_not_versions(tag: str) -> None:
    assert parse_semver(tag) is None


def test_precedence_follows_semver_spec_example() -> None:
    # SemVer 2.0 §11: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta < 1.0.0-beta.2
    #                 < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
               "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0-rc.1", "2.0.0"]
    versions = [parse_semver(t) for t in ordered]
    assert sorted(reversed(versions)) == versions
    assert all(a < b for a, b in zip(versions, versions[1:]))


def test_v_prefix_ties_and_hash() -> None:
    assert parse_semver("v1.2.3") == parse_semver("1.2.3")
    assert len({parse_semver("v1.2.3"), parse_semver("1.2.3")}) == 1
    assert str(parse_semver("v1.2.3-rc.1")) == "1.2.3-rc.1"
    assert parse_semver("1.0.0").is_release and not parse_semver("1.0.0-rc.1").is_release
