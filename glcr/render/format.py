"""Small formatting helpers shared by every table. Pure."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum


class OutputFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    PLAIN = "plain"


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def when(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "-"
    now = now or datetime.now(timezone.utc)
    age = now - value
    days = age.days
    stamp = value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    if days >= 1:
        return f"{stamp} ({days}d ago)"
    hours = int(age.total_seconds() // 3600)
    return f"{stamp} ({hours}h ago)"
