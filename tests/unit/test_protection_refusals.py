"""A bare 403 from GitLab's single-tag delete (TagPolicy refusing a protected tag, gitlab-facts-2.md
N12) is explained as a protected tag for a caller who may delete tags, never for one who may not."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from glcr.api import protection as api_protection
from glcr.errors import PermissionDeniedError, for_status
from glcr.policy.protection import Caller, Protection, ProtectedTagError, TagRule
from glcr.registry.delete import DeleteResult, Outcome
from glcr.session import SessionMemo

REPO = SimpleNamespace(project_id=7, path="g/app")


def refused(tag: str, detail: str = "403 Forbidden") -> DeleteResult:
    error = for_status(403, f"deleting tag g/app:{tag} through the GitLab API", detail)
    return DeleteResult(tag, Outcome.FAILED, None, error.one_line(), error)


@pytest.fixture
def caller(monkeypatch):
    def use(level: int | None):
        async def read_caller(api, memo, project_id):
            return Caller(level)

        async def read_protection(api, memo, project_id, **kw):
            return Protection((TagRule(r"^v1\.", "maintainer", "owner"),))

        monkeypatch.setattr(api_protection, "read_caller", read_caller)
        monkeypatch.setattr(api_protection, "read_protection", read_protection)
    return use


def explain(results):
    return asyncio.run(api_protection.explain_refusals(SimpleNamespace(api=object(), memo=SessionMemo()), REPO, results))


def test_a_developer_refused_on_one_tag_hears_which_rule(caller) -> None:
    caller(30)
    with pytest.raises(ProtectedTagError) as raised:
        explain([refused("v1.0")])
    assert "v1.0" in raised.value.message and r"^v1\." in raised.value.message
    out = explain([refused("v1.0"), DeleteResult("v2.0", Outcome.DELETED)])
    assert isinstance(out[0].error, ProtectedTagError) and r"^v1\." in out[0].detail


def test_a_reporter_or_a_scope_refusal_stays_a_permission_error(caller) -> None:
    caller(20)
    out = explain([refused("v1.0"), DeleteResult("v2.0", Outcome.DELETED)])
    assert type(out[0].error) is PermissionDeniedError
    caller(30)
    scope = refused("v1.0", '{"error": "insufficient_scope"}')
    out = explain([scope, DeleteResult("v2.0", Outcome.DELETED)])
    assert type(out[0].error) is PermissionDeniedError
