"""The values GitLab accepts for a cleanup policy, and which GitLab versions accept which.

Source: app/models/container_expiration_policy.rb (`cadence_options`, `keep_n_options`,
`older_than_options`, the validations) and the GraphQL enums built from them
(app/graphql/types/container_expiration_policy_older_than_enum.rb). The server is the last word:
glcr accepts the union of every set GitLab has shipped and surfaces the server's own error.
"""

from __future__ import annotations

from datetime import timedelta

# `container_expiration_policy_attributes` sub-params (lib/api/helpers/projects_helpers.rb), in the
# order GitLab's entity lists them. There is no `name_regex_delete` here: Grape drops it.
POLICY_FIELDS: tuple[str, ...] = (
    "enabled",
    "cadence",
    "keep_n",
    "older_than",
    "name_regex",
    "name_regex_keep",
)
# Read-only field of the policy entity (GET /projects/:id); tolerated in policy files, never sent.
READ_ONLY_POLICY_FIELDS: tuple[str, ...] = ("next_run_at",)

# Params of DELETE /projects/:id/registry/repositories/:repository_id/tags
# (lib/api/project_container_repositories.rb). `name_regex` is the deprecated alias.
BULK_DELETE_FIELDS: tuple[str, ...] = (
    "name_regex_delete",
    "name_regex",
    "name_regex_keep",
    "keep_n",
    "older_than",
)

CADENCES: tuple[str, ...] = ("1d", "7d", "14d", "1month", "3month")
# What the cadence means in days: ChronicDuration with GitLab's 30-day month.
CADENCE_DAYS: dict[str, int] = {"1d": 1, "7d": 7, "14d": 14, "1month": 30, "3month": 90}

KEEP_N_VALUES: tuple[int, ...] = (1, 5, 10, 25, 50, 100)

# Newest GitLab (the model's `older_than_options`, mirrored by the GraphQL enum ONE_DAY ...
# ONE_THOUSAND_NINETY_FIVE_DAYS).
OLDER_THAN_NEWEST: tuple[str, ...] = (
    "1d", "3d", "7d", "14d", "30d", "60d", "90d", "180d", "365d", "730d", "1095d",
)
# The original set; 60d was added in 14.4 (commit c7be549c, 2021-09-29).
OLDER_THAN_LEGACY: tuple[str, ...] = ("7d", "14d", "30d", "90d")
OLDER_THAN_60D_SINCE = "14.4"
OLDER_THAN_ALL: tuple[str, ...] = OLDER_THAN_NEWEST  # the newest set is a superset of the others

OLDER_THAN_HISTORY = (
    "GitLab first accepted older_than 7d, 14d, 30d and 90d; 14.4 added 60d; newer releases accept "
    "1d, 3d, 7d, 14d, 30d, 60d, 90d, 180d, 365d, 730d and 1095d. An older server rejects a newer "
    "value with `Container expiration policy older than is not included in the list`."
)

# Defaults the GitLab UI proposes (ContainerExpirationPoliciesHelper); the live policy may differ.
UI_DEFAULTS: dict[str, object] = {"cadence": "1d", "keep_n": 10, "older_than": "90d"}


def older_than_days(value: str) -> int:
    """`"90d"` -> 90. Only for the policy values above (all are whole days)."""
    return int(value[:-1])


def older_than_timedelta(value: str) -> timedelta:
    return timedelta(days=older_than_days(value))


def older_than_support(value: str) -> str:
    """Which GitLab versions accept `value` as a policy's older_than (one short phrase)."""
    if value in OLDER_THAN_LEGACY:
        return "accepted by every GitLab version"
    if value == "60d":
        return f"accepted since GitLab {OLDER_THAN_60D_SINCE}"
    if value in OLDER_THAN_NEWEST:
        return "accepted only by recent GitLab versions (older ones: 7d, 14d, 30d, 60d, 90d)"
    return "not accepted by any GitLab version"


def allowed_text(values: tuple[object, ...], *, nullable: bool = False) -> str:
    """`1, 5, 10` or `1, 5, 10 or null`, for one-line error messages."""
    text = ", ".join(str(v) for v in values)
    return f"{text} or null" if nullable else text
