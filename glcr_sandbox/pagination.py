"""Offset pagination as GitLab answers it (Gitlab::Pagination::OffsetHeaderBuilder).

`page` default 1; `per_page` default 20, capped at 100 (Kaminari max_per_page), 0 rejected
(`except_values: [0]`). Headers: X-Per-Page, X-Page, X-Next-Page, X-Prev-Page (empty when
there is none), X-Total, X-Total-Pages (at least 1), Link with prev/next/first/last.
Link hrefs carry Grape's whole `params` (route params, declared defaults, the query), sorted
by key as Rails' Hash#to_query does, with the page replaced.
Past Kaminari's count limit (10,000) GitLab drops X-Total, X-Total-Pages and rel="last"
(Gitlab::Pagination::OffsetPagination): for in-memory arrays such as the tag list from 10,000
items on, for database lists above 10,000.
"""

from __future__ import annotations

import math
from typing import Any, Sequence, TypeVar
from urllib.parse import quote_plus

from glcr_sandbox.web import Request, grape_error

T = TypeVar("T")
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_COUNT_LIMIT = 10_000  # Kaminari::ActiveRecordRelationMethods::MAX_COUNT_LIMIT


def _int_param(params: dict[str, Any], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise grape_error(f"{name} is invalid") from None


def paginate(
    req: Request,
    items: Sequence[T],
    link_params: dict[str, Any],
    *,
    array: bool = False,
) -> tuple[list[T], dict[str, str]]:
    """The page's items and the headers. `link_params`: route params and declared defaults;
    `array`: the items are an in-memory array (Kaminari.paginate_array), not a database query."""
    params = req.params
    page = _int_param(params, "page", 1)
    per_page_raw = _int_param(params, "per_page", DEFAULT_PER_PAGE)
    if per_page_raw == 0:
        raise grape_error("per_page has a value not allowed")
    per_page = min(per_page_raw, MAX_PER_PAGE) if per_page_raw > 0 else DEFAULT_PER_PAGE
    page = max(page, 1)

    total = len(items)
    total_pages = max(math.ceil(total / per_page), 1)
    chunk = list(items[(page - 1) * per_page : page * per_page])
    next_page = page + 1 if page < total_pages else None
    prev_page = page - 1 if page > 1 else None

    query: dict[str, Any] = {**{k: v for k, v in link_params.items()}, **req.params}
    query.setdefault("page", 1)
    query.setdefault("per_page", DEFAULT_PER_PAGE)

    def href(target: int) -> str:
        merged = {**query, "page": target}
        encoded = "&".join(f"{quote_plus(str(k))}={quote_plus(_to_param(v))}" for k, v in sorted(merged.items()))
        return f"{req.base_url}{req.raw_path}?{encoded}"

    links = []
    if prev_page:
        links.append(f'<{href(prev_page)}>; rel="prev"')
    if next_page:
        links.append(f'<{href(next_page)}>; rel="next"')
    links.append(f'<{href(1)}>; rel="first"')
    without_counts = total >= MAX_COUNT_LIMIT if array else total > MAX_COUNT_LIMIT
    if not without_counts:
        links.append(f'<{href(total_pages)}>; rel="last"')
    headers = {
        "X-Per-Page": str(per_page),
        "X-Page": str(page),
        "X-Next-Page": str(next_page or ""),
        "X-Prev-Page": str(prev_page or ""),
        "Link": ", ".join(links),
    }
    if not without_counts:
        headers["X-Total"] = str(total)
        headers["X-Total-Pages"] = str(total_pages)
    return chunk, headers


def _to_param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
