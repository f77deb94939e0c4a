"""Who the token is: the user it acts as, its scopes and expiry."""

from __future__ import annotations

from dataclasses import dataclass

from glcr.session import Session


@dataclass(frozen=True)
class TokenInfo:
    username: str | None
    scopes: tuple[str, ...] | None  # None: not a personal access token (or not readable)
    expires_at: str | None


async def token_info(session: Session) -> TokenInfo:
    user = await session.api.get_json("user", "reading the current user")
    try:
        pat = await session.api.get_json("personal_access_tokens/self", "reading the token")
    except Exception:  # noqa: BLE001 - a job or OAuth token has no such record: the user alone
        pat = {}
    if not pat:
        return TokenInfo(user.get("username"), None, None)
    return TokenInfo(user.get("username"), tuple(pat.get("scopes") or ()), pat.get("expires_at"))
