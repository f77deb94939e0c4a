"""Doctor's pure rules: image names, clock skew, token scopes and expiry, the report's exit code."""

from __future__ import annotations

from datetime import date

import pytest

from glcr.doctor.clock import Observation, check_clocks
from glcr.doctor.model import CheckResult, DoctorReport, Status, fail, ok, warn
from glcr.doctor.names import check_image_name
from glcr.doctor.token import evaluate_personal_token
from glcr.errors import ExitCode


def statuses(results: list[CheckResult]) -> list[Status]:
    return [r.status for r in results]


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("path, project", [
    ("group/app", "group/app"),
    ("group/app/api", "group/app"),
    ("group/sub/app/tools/builder", "group/sub/app"),
    ("group/my-app__x.y", "group/my-app__x.y"),
    ("group/a--b", None),  # valid, but warned (below)
])
def test_valid_names_pass(path: str, project: str | None) -> None:
    results = check_image_name(path, project)
    assert Status.FAIL not in statuses(results)


def test_leading_underscore_is_the_docs_trap_with_a_rename_fix() -> None:
    [result] = [r for r in check_image_name("_group/app/api", "_group/app") if r.status is Status.FAIL]
    assert "underscore" in result.message and "group '_group'" in result.message
    assert "change the group path" in result.fix
    assert result.kind is ExitCode.INVALID_INPUT


def test_trailing_hyphen_in_the_project_names_the_project() -> None:
    failures = [r for r in check_image_name("group/app-/api", "group/app-") if r.status is Status.FAIL]
    assert len(failures) == 1
    assert "project 'app-'" in failures[0].message and "hyphen" in failures[0].message
    assert "change the project path" in failures[0].fix


def test_trailing_hyphen_in_an_image_component_says_rename_the_image() -> None:
    failures = [r for r in check_image_name("group/app/api-", "group/app") if r.status is Status.FAIL]
    assert failures and failures[0].fix.startswith("push the image")


def test_three_levels_below_the_project_fail_with_the_levels_rule() -> None:
    results = check_image_name("group/app/a/b/c", "group/app")
    [failure] = [r for r in results if r.status is Status.FAIL]
    assert "3 levels below the project" in failure.message and "at most 2" in failure.fix


def test_two_levels_below_is_fine_and_says_so() -> None:
    [result] = check_image_name("group/app/a/b", "group/app")
    assert result.status is Status.OK and "2 levels below" in result.message


def test_upper_case_warns_with_the_lowercase_name() -> None:
    results = check_image_name("MyGroup/App", "MyGroup/App")
    assert statuses(results) == [Status.WARN]
    assert "mygroup/app" in results[0].fix


def test_double_hyphen_warns_only() -> None:
    results = check_image_name("group/my--app", "group/my--app")
    assert statuses(results) == [Status.WARN]
    assert "double hyphen" in results[0].message


@pytest.mark.parametrize("path", ["group/.app", "group/app.", "group/a..b", "group/a___b", "group//app", "group/ap p"])
def test_invalid_components_fail(path: str) -> None:
    assert Status.FAIL in statuses(check_image_name(path, None))


def test_too_long_and_too_deep() -> None:
    assert Status.FAIL in statuses(check_image_name("g/" + "a" * 260, None))
    assert Status.FAIL in statuses(check_image_name("/".join(["g"] * 20), None))


# --------------------------------------------------------------------------- clock

T0 = 1_800_000_000.0  # local time of every request below


def http_date(epoch: float) -> str:
    from email.utils import formatdate

    return formatdate(epoch, usegmt=True)


def obs(server_offset: float) -> Observation:
    return Observation(http_date(T0 + server_offset), T0 - 0.05, T0 + 0.05)


def test_clocks_in_sync_are_ok() -> None:
    assert statuses(check_clocks(obs(0), obs(1))) == [Status.OK, Status.OK]


def test_registry_behind_gitlab_beyond_the_leeway_fails_as_auth() -> None:
    results = check_clocks(registry=obs(-120), gitlab=obs(0))
    assert results[0].status is Status.FAIL and results[0].kind is ExitCode.AUTH
    assert "not yet valid" in results[0].message
    assert "NTP" in results[0].fix


def test_registry_behind_within_the_leeway_warns() -> None:
    assert check_clocks(registry=obs(-40), gitlab=obs(0))[0].status is Status.WARN


def test_registry_ahead_shortens_tokens_then_kills_them() -> None:
    shortened = check_clocks(registry=obs(200), gitlab=obs(0), token_lifetime=300)[0]
    assert shortened.status is Status.WARN and "140 s less" in shortened.message
    dead = check_clocks(registry=obs(400), gitlab=obs(0), token_lifetime=300)[0]
    assert dead.status is Status.FAIL and "already expired" in dead.message


def test_local_clock_off_only_warns() -> None:
    results = check_clocks(registry=obs(-45), gitlab=obs(-45))
    assert results[0].status is Status.OK  # GitLab and registry agree
    assert results[1].status is Status.WARN and "ahead of the registry" in results[1].message


def test_missing_date_header_skips() -> None:
    assert statuses(check_clocks(Observation(None, T0, T0), obs(0))) == [Status.SKIP]
    assert statuses(check_clocks(obs(0), Observation("garbage", T0, T0))) == [Status.SKIP, Status.OK]


# --------------------------------------------------------------------------- token

TODAY = date(2026, 11, 27)


def pat(**overrides) -> dict:
    return {"name": "ci", "scopes": ["api"], "active": True, "revoked": False, "expires_at": None, **overrides}


def test_api_scope_is_ok() -> None:
    assert statuses(evaluate_personal_token(pat(), TODAY)) == [Status.OK]


def test_read_api_is_read_only_warning() -> None:
    [result] = evaluate_personal_token(pat(scopes=["read_api", "read_registry"]), TODAY)
    assert result.status is Status.WARN and "read-only" in result.message


def test_registry_scopes_alone_fail() -> None:
    [result] = evaluate_personal_token(pat(scopes=["read_registry", "write_registry"]), TODAY)
    assert result.status is Status.FAIL and result.kind is ExitCode.PERMISSION


def test_expired_revoked_and_soon_expiring() -> None:
    assert evaluate_personal_token(pat(expires_at="2026-11-01"), TODAY)[0].kind is ExitCode.AUTH
    assert evaluate_personal_token(pat(revoked=True), TODAY)[0].status is Status.FAIL
    soon = evaluate_personal_token(pat(expires_at="2026-11-30"), TODAY)
    assert statuses(soon) == [Status.OK, Status.WARN] and "in 3 day(s)" in soon[1].message


# --------------------------------------------------------------------------- report


def test_exit_code_is_the_first_failures_kind_and_warnings_never_fail() -> None:
    assert DoctorReport.of([ok("a", "x"), warn("b", "y")]).exit_code == 0
    report = DoctorReport.of([ok("a", "x"), fail("b", "y", kind=ExitCode.NETWORK), fail("c", "z", kind=ExitCode.AUTH)])
    assert report.failed and report.exit_code == ExitCode.NETWORK
    data = report.to_dict()
    assert data["ok"] is False and data["counts"] == {"ok": 1, "warn": 0, "fail": 2, "skip": 0}
