"""What a token's scopes and expiry mean for glcr. Pure.

glcr reads through the REST API (read_api or api), deletes through the REST API and the
registry (api only: /jwt/auth grants `delete` to the `api` scope alone,
app/services/auth/container_registry_authentication_service.rb), and
changes settings through the REST API (api).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from glcr.doctor.model import CheckResult, fail, ok, warn
from glcr.errors import ExitCode

CHECK = "token"
# A week's notice: enough to rotate a token used by a scheduled CI job before it breaks.
EXPIRY_WARNING = timedelta(days=7)
NEW_TOKEN = ("create a token with the `api` scope (User settings > Access tokens, or a project "
             "access token with the Maintainer role) and set GITLAB_TOKEN or run `glcr auth login`")


def evaluate_personal_token(info: dict[str, Any], today: date) -> list[CheckResult]:
    """Results for the JSON of GET /personal_access_tokens/self."""
    scopes = sorted(info.get("scopes") or [])
    if info.get("revoked"):
        return [fail(CHECK, "the token is revoked", NEW_TOKEN, ExitCode.AUTH)]
    expires = _parse_date(info.get("expires_at"))
    if info.get("active") is False or (expires is not None and expires < today):
        return [fail(CHECK, f"the token expired on {info.get('expires_at')}", NEW_TOKEN, ExitCode.AUTH)]
    results = [_scopes(scopes)]
    if expires is not None and expires - today <= EXPIRY_WARNING:
        days = (expires - today).days
        results.append(warn(CHECK, f"the token expires on {expires.isoformat()} "
                                   f"({'today' if days == 0 else f'in {days} day(s)'})",
                            "rotate it (Access tokens > Rotate) and update GITLAB_TOKEN or CI variables"))
    return results


def _scopes(scopes: list[str]) -> CheckResult:
    shown = ", ".join(scopes) or "none"
    if "api" in scopes:
        return ok(CHECK, f"scopes {shown}: enough for everything glcr does (deleting also needs the "
                         "Maintainer role)")
    if "read_api" in scopes:
        return warn(CHECK, f"scopes {shown}: read-only; listing works, but deleting tags, cleanup, policy "
                           "changes and `glcr registry` need the `api` scope", NEW_TOKEN)
    return fail(CHECK, f"scopes {shown}: glcr reads through GitLab's REST API, which needs `read_api` "
                       "(read-only) or `api`", NEW_TOKEN, ExitCode.PERMISSION)


def _parse_date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
