"""HTTP plumbing shared by the sandbox's endpoints: request, response, errors, routing.

Grape merges query string and body (JSON or form) into one `params`; `Request.params` does too.
Error bodies follow GitLab: `render_api_error!` gives {"message": ...}, Grape's own
validation errors give {"error": ...}.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def json_response(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(obj, separators=(",", ":")).encode(), dict(headers or {}))


class ApiError(Exception):
    """Raised anywhere in a handler; the server turns it into the response."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.response = (
            Response(status, b"", dict(headers or {}))
            if body is None
            else json_response(status, body, headers)
        )


def api_message(status: int, message: Any) -> ApiError:
    """render_api_error!: {"message": <text or hash>}."""
    return ApiError(status, {"message": message})


def not_found(resource: str | None = None) -> ApiError:
    """not_found!('Project') -> {"message": "404 Project Not Found"}."""
    return api_message(404, f"404 {resource} Not Found" if resource else "404 Not Found")


def record_not_found() -> ApiError:
    """ActiveRecord::RecordNotFound, rescued by API::API."""
    return api_message(404, "404 Not found")


def forbidden(reason: str | None = None) -> ApiError:
    return api_message(403, f"403 Forbidden - {reason}" if reason else "403 Forbidden")


def unauthorized() -> ApiError:
    return api_message(401, "401 Unauthorized")


def bad_request(reason: str | None = None) -> ApiError:
    return api_message(400, f"400 Bad request - {reason}" if reason else "400 Bad request")


def grape_error(message: str, status: int = 400) -> ApiError:
    """Grape::Exceptions::ValidationErrors, rendered by `error!(e.message)`: {"error": ...}."""
    return ApiError(status, {"error": message})


@dataclass
class Request:
    method: str
    raw_path: str
    query_string: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    client_host: str = "127.0.0.1"
    query: list[tuple[str, str]] = field(init=False)
    _params: dict[str, Any] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.query = parse_qsl(self.query_string, keep_blank_values=True)

    @property
    def host(self) -> str:
        return self.headers.get("host", "127.0.0.1")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_all(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]

    @property
    def params(self) -> dict[str, Any]:
        """Query + body, body winning; `a[b]=c` form keys become nested dicts, as in Rack."""
        if self._params is None:
            merged: dict[str, Any] = {}
            for key, value in self.query:
                _set_nested(merged, key, value)
            ctype = self.headers.get("content-type", "")
            if self.body:
                if "json" in ctype:
                    try:
                        data = json.loads(self.body)
                    except ValueError as exc:
                        raise grape_error(f"There was a problem with the JSON: {exc}") from None
                    if isinstance(data, dict):
                        merged.update(data)
                elif "form" in ctype or not ctype:
                    for key, value in parse_qsl(self.body.decode(errors="replace"), keep_blank_values=True):
                        _set_nested(merged, key, value)
            self._params = merged
        return self._params


def _set_nested(target: dict[str, Any], key: str, value: str) -> None:
    match = re.fullmatch(r"([^\[\]]+)\[([^\[\]]+)\]", key)
    if match:
        inner = target.setdefault(match.group(1), {})
        if isinstance(inner, dict):
            inner[match.group(2)] = value
        return
    target[key] = value


Handler = Callable[..., Response]


class Router:
    """Routes are patterns like `/api/v4/projects/:id/registry/repositories/:repository_id`.

    A `:name` segment matches one raw path segment (no slash: GitLab's NO_SLASH_URL_PART_REGEX),
    URL-decoded before the handler sees it, so `demo%2Fapp` arrives as `demo/app`.
    """

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = "^" + re.sub(r":(\w+)", r"(?P<\1>[^/]+)", pattern) + "$"
        self._routes.append((method, re.compile(regex), handler))

    def match(self, method: str, raw_path: str) -> tuple[Handler, dict[str, str]] | None:
        """The handler and its URL-decoded params; HEAD is served by the GET route."""
        for route_method, regex, handler in self._routes:
            found = regex.match(raw_path)
            if found and (route_method == method or (method == "HEAD" and route_method == "GET")):
                return handler, {k: unquote(v) for k, v in found.groupdict().items()}
        return None
