"""The caller's role for tag protection as GitLab computes it: Admin Mode and invited groups."""

from __future__ import annotations

import asyncio

from glcr.errors import PermissionDeniedError, NotFoundError
from glcr.gitlab.protection import read_caller
from glcr.session import SessionMemo


class FakeApi:
    def __init__(self, answers: dict) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def get_json(self, url: str, doing: str, params=None):
        self.asked.append(url)
        answer = self.answers.get(url)
        if isinstance(answer, Exception):
            raise answer
        if answer is None:
            raise NotFoundError(f"{doing}: 404")
        return answer

    async def project(self, project_id):
        return await self.get_json(f"projects/{project_id}", "reading the project")


def caller(answers: dict):
    return asyncio.run(read_caller(FakeApi(answers), SessionMemo(), 5))


PROJECT = {"projects/5": {"permissions": {"project_access": {"access_level": 30}, "group_access": None}}}


def test_an_admin_without_admin_mode_is_not_acting_as_one() -> None:
    denied = PermissionDeniedError("checking Admin Mode: 403 Forbidden")
    found = caller({"user": {"id": 1, "is_admin": True}, "personal_access_tokens/self": {"scopes": ["api"]},
                    "application/settings": denied, **PROJECT})
    assert not found.admin and found.level == 30


def test_an_admin_with_the_admin_mode_scope_or_admin_mode_off_is() -> None:
    assert caller({"user": {"id": 1, "is_admin": True}, "personal_access_tokens/self": {"scopes": ["api", "admin_mode"]},
                   **PROJECT}).admin
    assert caller({"user": {"id": 1, "is_admin": True}, "personal_access_tokens/self": {"scopes": ["api"]},
                   "application/settings": {"admin_mode": False}, **PROJECT}).admin


def test_an_invited_groups_membership_counts() -> None:
    found = caller({"user": {"id": 9, "is_admin": False}, "projects/5/members/all/9": {"access_level": 40}, **PROJECT})
    assert found.level == 40 and not found.admin
    assert caller({"user": {"id": 9}, **PROJECT}).level == 30  # no such route: the project's permissions


def test_who_the_caller_is_is_read_once_a_session_and_a_handed_over_project_is_not_read_again() -> None:
    """A group run asks for every project: /user and the Admin Mode check are the same for all of
    them (read once, even by projects asked at the same time); the project a group run has just
    read for its policy is not read a second time."""
    from glcr.gitlab.protection import remember_project

    api = FakeApi({"user": {"id": 9, "is_admin": True}, "personal_access_tokens/self": {"scopes": ["admin_mode"]},
                   **PROJECT, "projects/6": PROJECT["projects/5"], "projects/7": PROJECT["projects/5"]})
    memo = SessionMemo()
    remember_project(memo, 7, {"permissions": {"project_access": {"access_level": 50}}})

    async def three():
        return await asyncio.gather(*(read_caller(api, memo, pid) for pid in (5, 6, 7)))

    found = asyncio.run(three())
    assert [(c.level, c.admin) for c in found] == [(30, True), (30, True), (50, True)]
    assert api.asked.count("user") == 1 and api.asked.count("personal_access_tokens/self") == 1
    assert "projects/7" not in api.asked and api.asked.count("projects/5") == 1
