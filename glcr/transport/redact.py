"""Redaction of secrets in anything that could be printed or logged. Pure."""

from __future__ import annotations

import re
from typing import Iterable, Mapping, TypeVar

V = TypeVar("V")  # a header value: str (httpx) or str | bytes (requests)

SECRET_HEADERS = frozenset(
    {"authorization", "private-token", "job-token", "proxy-authorization", "cookie", "set-cookie"}
)
_QUERY_SECRET = re.compile(r"(?i)((?:private_token|access_token|job_token|token|password)=)[^&\s]+")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_GL_TOKEN = re.compile(r"\b(glpat|gldt|glcbt|glptt|glrt|gloas|glsoat|glffct)-[A-Za-z0-9_\-.]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


def redact_headers(headers: Mapping[str, V] | Iterable[tuple[str, V]]) -> dict[str, V | str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: ("***" if k.lower() in SECRET_HEADERS else v) for k, v in items}


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask known secret values, token-looking strings, URL userinfo and token query params."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _USERINFO.sub("***@", text)
    text = _QUERY_SECRET.sub(r"\1***", text)
    text = _GL_TOKEN.sub(r"\1-***", text)
    return _JWT.sub("eyJ***", text)
