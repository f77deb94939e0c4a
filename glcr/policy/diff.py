"""Merging policy changes into the current policy, and the rows to show before applying them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from glcr.errors import InvalidInputError
from glcr.models import ExpirationPolicy
from glcr.policy.values import POLICY_FIELDS


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any

    @property
    def changed(self) -> bool:
        return self.before != self.after or type(self.before) is not type(self.after)


@dataclass(frozen=True)
class PolicyChange:
    before: Mapping[str, Any]
    after: Mapping[str, Any]  # the merged attributes: validate these
    rows: tuple[FieldChange, ...]  # one per field given in the changes, in GitLab's field order

    @property
    def changed(self) -> bool:
        return any(r.changed for r in self.rows)

    def payload(self) -> dict[str, Any]:
        """`container_expiration_policy_attributes` to send: only the fields that change."""
        return {r.field: r.after for r in self.rows if r.changed}


def policy_attributes(policy: ExpirationPolicy | Mapping[str, Any] | None) -> dict[str, Any]:
    """The six writable fields of a policy (an ExpirationPolicy, the API's dict, or None)."""
    if policy is None:
        return {}
    if isinstance(policy, ExpirationPolicy):
        values = {f.name: getattr(policy, f.name) for f in fields(policy)}
    else:
        values = dict(policy)
    return {k: values[k] for k in POLICY_FIELDS if k in values}


def merge_policy(
    current: ExpirationPolicy | Mapping[str, Any] | None, changes: Mapping[str, Any]
) -> PolicyChange:
    """Apply `changes` (only the fields given change; None clears a nullable field)."""
    unknown = [k for k in changes if k not in POLICY_FIELDS]
    if unknown:
        raise InvalidInputError(
            f"unknown policy field `{unknown[0]}`; known fields: {', '.join(POLICY_FIELDS)}"
        )
    before = policy_attributes(current)
    after = dict(before)
    after.update(changes)
    rows = tuple(
        FieldChange(k, before.get(k), changes[k]) for k in POLICY_FIELDS if k in changes
    )
    return PolicyChange(before, {k: after[k] for k in POLICY_FIELDS if k in after}, rows)
