"""A project's `container_registry_access_level` (`enabled`, `private`, `disabled`; PUT /projects/:id). Pure."""

from __future__ import annotations

from enum import Enum
from typing import Any, Mapping


class AccessLevel(str, Enum):
    ENABLED = "enabled"  # the default: as visible as the project
    PRIVATE = "private"  # project members with Reporter or above only
    DISABLED = "disabled"  # /jwt/auth grants nothing; images stay stored but unreachable


MEANING = {
    AccessLevel.ENABLED: "enabled (as visible as the project)",
    AccessLevel.PRIVATE: "private (project members, Reporter and above)",
    AccessLevel.DISABLED: "disabled (no pulls or pushes; images stay stored)",
}


def level_of(project: Mapping[str, Any]) -> AccessLevel:
    """The level, also from GitLab releases that only send the deprecated boolean."""
    value = project.get("container_registry_access_level")
    if value in {level.value for level in AccessLevel}:
        return AccessLevel(value)
    return AccessLevel.ENABLED if project.get("container_registry_enabled", True) else AccessLevel.DISABLED
