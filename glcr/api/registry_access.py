"""A project's container registry on, private or off (container_registry_access_level)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from glcr.session import Session

from glcr.project_settings.access import AccessLevel, level_of


@dataclass(frozen=True)
class RegistryAccess:
    project_id: int | None
    project_path: str | None
    level: AccessLevel
    image_prefix: str | None


def _access(project: Mapping[str, Any]) -> RegistryAccess:
    return RegistryAccess(project.get("id"), project.get("path_with_namespace"), level_of(project),
                          project.get("container_registry_image_prefix"))


async def registry_access(session: Session, project: str) -> RegistryAccess:
    return _access((await session.rest.project_object(project)).attributes)


@dataclass(frozen=True)
class AccessChange:
    before: RegistryAccess
    after: RegistryAccess | None  # None: a dry run, nothing sent

    @property
    def changed(self) -> bool:
        return self.after is not None and self.after.level is not self.before.level


async def change_registry_access(session: Session, project: str, level: AccessLevel, *,
                           review: Callable[[RegistryAccess], None], confirm: Callable[[str], None],
                           dry_run: bool = False) -> AccessChange:
    """Set the level after `review(before)`; a change that takes access away asks
    `confirm(question)` (raises to stop). GitLab's answer is checked."""
    from glcr.errors import RefusedError

    rest = session.rest
    found = await rest.project_object(project)
    before = _access(found.attributes)
    path = before.project_path or project
    review(before)
    if before.level is level:
        return AccessChange(before, before)
    if dry_run:
        return AccessChange(before, None)
    if level is AccessLevel.DISABLED or (level is AccessLevel.PRIVATE and before.level is AccessLevel.ENABLED):
        count = await rest.count_repositories(found)
        held = f" Its {count} image repositories stay stored." if count else ""
        who = "nobody" if level is AccessLevel.DISABLED else "only project members"
        confirm(f"Restrict the registry of {path}?{held} Afterwards {who} can pull or push; CI jobs "
                "that use it may fail. Continue?")
    after = _access(await rest.set_registry_access(found, level.value))
    if after.level is not level:
        raise RefusedError(f"GitLab kept the container registry of {path} {after.level.value}, not {level.value}",
                           hint="GitLab releases before 14.x only know container_registry_enabled")
    return AccessChange(before, after)
