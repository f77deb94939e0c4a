"""Model validations the sandbox repeats: ContainerExpirationPolicy, project path, settings.

Errors are returned as ActiveModel's `errors.messages` hash, which GitLab's
`render_validation_error!` sends as {"message": {<attribute>: [<message>, ...]}} with 400.
"""

from __future__ import annotations

import re
from typing import Any

from glcr_sandbox.untrusted_regexp import InvalidRegexp, compile_untrusted

CADENCES = ("1d", "7d", "14d", "1month", "3month")
KEEP_N = (1, 5, 10, 25, 50, 100)
OLDER_THAN = ("1d", "3d", "7d", "14d", "30d", "60d", "90d", "180d", "365d", "730d", "1095d")
CADENCE_SECONDS = {"1d": 86400, "7d": 7 * 86400, "14d": 14 * 86400, "1month": 30 * 86400, "3month": 90 * 86400}
POLICY_STRING_FIELDS = ("cadence", "older_than", "name_regex", "name_regex_keep")

# Gitlab::PathRegex.project_path_format_regex and its message, simplified.
PROJECT_PATH_RE = re.compile(r"\A[a-zA-Z0-9_.][a-zA-Z0-9_\-.]*\Z")
PROJECT_PATH_MESSAGE = (
    "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"
)

Errors = dict[str, list[str]]


def validate_policy(policy: dict[str, Any], prefix: str = "container_expiration_policy.") -> Errors:
    """app/models/container_expiration_policy.rb; keys are prefixed as nested-attribute errors are."""
    errors: Errors = {}

    def add(attr: str, message: str) -> None:
        errors.setdefault(prefix + attr, []).append(message)

    if policy.get("enabled") not in (True, False):
        add("enabled", "is not included in the list")
    cadence = policy.get("cadence")
    if not cadence:
        add("cadence", "can't be blank")
    if cadence not in CADENCES:
        add("cadence", "is not included in the list")
    if policy.get("older_than") is not None and policy["older_than"] not in OLDER_THAN:
        add("older_than", "is not included in the list")
    if policy.get("keep_n") is not None and policy["keep_n"] not in KEEP_N:
        add("keep_n", "is not included in the list")
    if policy.get("enabled"):
        if not policy.get("name_regex"):
            add("name_regex", "can't be blank")
        for attr in ("name_regex", "name_regex_keep"):
            value = policy.get(attr)
            if value is None:
                continue
            try:
                compile_untrusted(value)
            except InvalidRegexp as exc:
                add(attr, f"not valid RE2 syntax: {exc}")
    return errors


def validate_project_path(path: str) -> Errors:
    if not path:
        return {"path": ["can't be blank"]}
    if not PROJECT_PATH_RE.match(path) or path.endswith((".git", ".atom")) or path.startswith("-"):
        return {"path": [PROJECT_PATH_MESSAGE]}
    return {}


# ApplicationSetting validations for the registry settings (fact sheet §9).
INTEGER_SETTINGS = {
    "container_registry_token_expire_delay": 1,  # minimum
    "container_registry_expiration_policies_worker_capacity": 0,
    "container_registry_delete_tags_service_timeout": 0,
    "container_registry_cleanup_tags_service_max_list_size": 0,
}
BOOLEAN_SETTINGS = (
    "container_registry_expiration_policies_caching",
    "container_expiration_policies_enable_historic_entries",
    "admin_mode",
)
_TRUE = {"true", "1", "t", "yes", "on"}
_FALSE = {"false", "0", "f", "no", "off"}


def to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def coerce_settings(raw: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    """Cast like ActiveRecord would, then validate; unknown keys are ignored (Grape drops them)."""
    values: dict[str, Any] = {}
    errors: Errors = {}
    for key, minimum in INTEGER_SETTINGS.items():
        if key not in raw:
            continue
        value = raw[key]
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None:
            errors.setdefault(key, []).append("is not a number")
        elif number < minimum:
            comparison = "greater than 0" if minimum == 1 else "greater than or equal to 0"
            errors.setdefault(key, []).append(f"must be {comparison}")
        else:
            values[key] = number
    for key in BOOLEAN_SETTINGS:
        if key in raw:
            flag = to_bool(raw[key])
            if flag is None:
                errors.setdefault(key, []).append("is not included in the list")
            else:
                values[key] = flag
    return values, errors
