"""GitLab's instance settings that bound registry cleanup: names, meaning, validation. Pure.

Source: GitLab's application_setting validations (app/models/application_setting.rb), defaults
from ApplicationSettingImplementation.defaults and the troubleshooting docs, which suggest raising
the token lifetime or the cleanup limits when cleanup of large repositories times out.
Everything is validated here, before anything is sent: GitLab answers a bad value with a 400
(or, for an attribute an older release does not know, silently ignores it; see `unapplied`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from glcr.errors import InvalidInputError, UsageError


@dataclass(frozen=True)
class LimitSpec:
    key: str  # GitLab's application setting
    option: str  # glcr's option name, without --
    kind: type  # int or bool
    minimum: int | None
    default: int | bool
    unit: str
    meaning: str


LIMITS: tuple[LimitSpec, ...] = (
    LimitSpec("container_registry_expiration_policies_worker_capacity", "worker-capacity", int, 0, 4, "workers",
              "cleanup-policy workers running at once; 0 stops all cleanup policies"),
    LimitSpec("container_registry_delete_tags_service_timeout", "delete-timeout", int, 0, 250, "seconds",
              "time limit of one cleanup run or delete batch on GitLab's registry; 0 disables it"),
    LimitSpec("container_registry_cleanup_tags_service_max_list_size", "max-list-size", int, 0, 200, "tags",
              "third-party registries: most tags one cleanup run looks at; 0 disables the limit"),
    LimitSpec("container_registry_expiration_policies_caching", "caching", bool, None, True, "",
              "cache tag creation times during cleanup (third-party registries)"),
    LimitSpec("container_registry_token_expire_delay", "token-expire-delay", int, 1, 5, "minutes",
              "lifetime of registry tokens (GitLab.com: 15); longer helps big cleanups, delays revocation"),
)
BY_KEY = {spec.key: spec for spec in LIMITS}
BY_OPTION = {spec.option: spec for spec in LIMITS}

# Above an hour a revoked user keeps pulling and pushing for that long; allowed, but said.
LONG_TOKEN_MINUTES = 60
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _coerce(spec: LimitSpec, value: Any) -> tuple[Any, str | None]:
    """(value, problem)."""
    if spec.kind is bool:
        if isinstance(value, bool):
            return value, None
        text = str(value).strip().lower()
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
        return None, f"--{spec.option} must be true or false, not {value!r}"
    if isinstance(value, bool):
        return None, f"--{spec.option} must be an integer, not {value!r}"
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not text.lstrip("-").isdigit():
            return None, f"--{spec.option} must be an integer, not {value!r}"
        number = int(text)
    if spec.minimum is not None and number < spec.minimum:
        return None, f"--{spec.option} must be at least {spec.minimum} {spec.unit}, not {number}".replace("  ", " ")
    return number, None


def validate(changes: Mapping[str, Any]) -> dict[str, Any]:
    """{setting key or option name: value} -> {setting key: typed value}; every problem at once."""
    clean: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in changes.items():
        spec = BY_KEY.get(name) or BY_OPTION.get(name.removeprefix("--"))
        if spec is None:
            problems.append(f"unknown setting {name!r} (known: {', '.join(s.option for s in LIMITS)})")
            continue
        typed, problem = _coerce(spec, value)
        if problem:
            problems.append(problem)
        else:
            clean[spec.key] = typed
    if problems:
        raise InvalidInputError("; ".join(problems), hint="nothing was sent")
    if not clean:
        raise UsageError("no setting to change",
                                hint="give at least one of " + ", ".join(f"--{s.option}" for s in LIMITS))
    return clean


def advice(values: Mapping[str, Any]) -> list[str]:
    """Valid but worth a second look."""
    notes = []
    if values.get("container_registry_expiration_policies_worker_capacity") == 0:
        notes.append("worker capacity 0 stops every project's cleanup policy")
    if values.get("container_registry_delete_tags_service_timeout") == 0:
        notes.append("delete timeout 0 removes the time limit: one huge cleanup can hold a worker for hours")
    if values.get("container_registry_cleanup_tags_service_max_list_size") == 0:
        notes.append("max list size 0: third-party registries list every tag in one run")
    delay = values.get("container_registry_token_expire_delay")
    if isinstance(delay, int) and delay > LONG_TOKEN_MINUTES:
        notes.append(f"registry tokens valid for {delay} minutes: revoked access keeps working that long")
    return notes


@dataclass(frozen=True)
class Change:
    key: str
    before: Any
    after: Any


def diff(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[Change]:
    """Only the settings whose value would change, in LIMITS order."""
    return [Change(spec.key, current.get(spec.key), wanted[spec.key])
            for spec in LIMITS if spec.key in wanted and current.get(spec.key) != wanted[spec.key]]


def unapplied(sent: Mapping[str, Any], answer: Mapping[str, Any]) -> list[str]:
    """Settings GitLab's answer does not show with the value sent (ignored by an older release)."""
    return [key for key, value in sent.items() if answer.get(key) != value]


def current(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The cleanup limits out of the full application settings (None: this GitLab has no such setting)."""
    return {spec.key: settings.get(spec.key) for spec in LIMITS}
