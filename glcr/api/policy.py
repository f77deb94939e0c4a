"""A project's cleanup policy (container_expiration_policy): read it, change it after review."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from glcr.policy import PolicyChange
    from glcr.policy.field_meanings import PolicyLine
    from glcr.policy.validate import ValidationResult
    from glcr.session import Session



@dataclass(frozen=True)
class ProjectPolicy:
    project_id: int
    project_path: str
    policy: Mapping[str, Any] | None  # GitLab's container_expiration_policy fields; None when unset
    checks: ValidationResult | None  # glcr.policy.validate's findings on the saved policy (None when unset)
    described: tuple[PolicyLine, ...]  # what each field means (glcr.policy.describe_policy)


def _frozen(value: Any) -> Mapping[str, Any] | None:
    return MappingProxyType(dict(value)) if value else None


async def read_policy(session: Session, project: str) -> ProjectPolicy:
    from glcr.policy import describe_policy, validate_policy

    data = await session.rest.project(project)
    policy = data.get("container_expiration_policy")
    checks = validate_policy({k: v for k, v in (policy or {}).items() if k != "next_run_at"}) if policy else None
    return ProjectPolicy(int(data["id"]), data.get("path_with_namespace", project), _frozen(policy), checks,
                         tuple(describe_policy(policy)) if policy else ())


@dataclass(frozen=True)
class PolicyUpdate:
    project_path: str
    change: PolicyChange  # before, after, the payload
    sent: bool
    next_run_at: str | None = None


async def update_policy(session: Session, project: str, changes: Mapping[str, Any], *,
                  review: Callable[[PolicyChange, ValidationResult], None], confirm: Callable[[str], None],
                  dry_run: bool = False) -> PolicyUpdate:
    """Merge `changes` into the saved policy, `review(change, checks)`, refuse what GitLab would
    refuse, `confirm(question)` (raises to stop), then send only the changed fields."""
    from glcr.policy import merge_policy, validate_policy
    from glcr.policy.validate import validate_policy_fields

    # The given fields on their own first (an invalid RE2 too, enabled or not): nothing is read or saved.
    validate_policy_fields(changes).raise_for_errors("the policy was not sent")
    rest = session.rest
    data = await rest.project(project)
    path = data.get("path_with_namespace", project)
    change = merge_policy(data.get("container_expiration_policy"), dict(changes))
    checks = validate_policy(change.after)
    review(change, checks)
    checks.raise_for_errors("the policy was not sent")
    if not change.changed or dry_run:
        return PolicyUpdate(path, change, False)
    confirm(f"Update the cleanup policy of {path}?")
    updated = await rest.update_project(data["id"], {"container_expiration_policy_attributes": change.payload()})
    return PolicyUpdate(path, change, True, (updated.get("container_expiration_policy") or {}).get("next_run_at"))
