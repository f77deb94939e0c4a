"""Which token scope a registry request needs. Pure.

Mirrors distribution's registry/handlers/app.go: GET/HEAD need pull, POST/PUT/PATCH need
pull+push, DELETE needs delete. A cross-repository mount also needs pull on the source.

GitLab's registry adds the /gitlab/v1 API (container-registry's registry/handlers/app.go,
gitlab/v1 routes), whose scopes are mapped here too, so a token for exactly the right scope is
asked for before the first request: repository details and tag lists need pull on the
repository; the rename (PATCH .../repositories/<p>/) push+pull on <p> and pull on <p>/*; the
sub-repository list pull on <p> and <p>/*. A route not listed here still works: the 401
challenge names the scope the registry wants, and the auth flow asks for exactly that.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Iterable

# The name may itself contain `tags`, `blobs` or `manifests` components (group/tags is a valid
# project), so the route is matched from the end, as distribution's router does.
_REPO_PATH = re.compile(
    r"^/v2/(?P<name>.+?)/(?:tags/list|manifests/[^/]+|blobs/uploads/[^/]*|blobs/[^/]+|referrers/[^/]+)$")
# /gitlab/v1/repositories/<name>/ and /gitlab/v1/repositories/<name>/tags/list/ (trailing slash:
# the registry redirects without it, and a redirect would lose the token).
_GITLAB_TAGS = re.compile(r"^/gitlab/v1/repositories/(?P<name>.+?)/tags/list/?$")
_GITLAB_REPOSITORY = re.compile(r"^/gitlab/v1/repositories/(?P<name>.+?)/?$")
_GITLAB_SUBREPOSITORIES = re.compile(r"^/gitlab/v1/repository-paths/(?P<name>.+?)/repositories/list/?$")


def actions_for_method(method: str) -> tuple[str, ...]:
    method = method.upper()
    if method in ("GET", "HEAD", "OPTIONS"):
        return ("pull",)
    if method == "DELETE":
        return ("delete",)
    return ("pull", "push")


def _gitlab_v1_scopes(method: str, path: str) -> tuple[str, ...]:
    match = _GITLAB_TAGS.match(path)
    if match:
        return (f"repository:{match.group('name')}:pull",)
    match = _GITLAB_SUBREPOSITORIES.match(path)
    if match:
        name = match.group("name")
        return (f"repository:{name}:pull", f"repository:{name}/*:pull")
    match = _GITLAB_REPOSITORY.match(path)
    if match:
        name = match.group("name")
        if method.upper() == "PATCH":  # rename or move (and its dry run): GitLab's own token shape
            return (f"repository:{name}:push,pull", f"repository:{name}/*:pull")
        return (f"repository:{name}:pull",)
    return ()  # /gitlab/v1/ itself: any valid token


def scopes_for_request(method: str, path: str, query: dict[str, str]) -> tuple[str, ...]:
    if path.rstrip("/") == "/v2/_catalog":
        return ("registry:catalog:*",)
    if path.startswith("/gitlab/v1/"):
        return _gitlab_v1_scopes(method, path)
    match = _REPO_PATH.match(path)
    if not match:
        return ()
    name = match.group("name")
    scopes = [f"repository:{name}:{','.join(actions_for_method(method))}"]
    source = query.get("from")
    if source and source != name:
        scopes.append(f"repository:{source}:pull")
    return tuple(scopes)


@dataclass(frozen=True)
class Challenge:
    scheme: str
    realm: str
    service: str | None
    scope: str | None
    error: str | None

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes the registry asked for (space-separated in the challenge), in its order."""
        return tuple(self.scope.split()) if self.scope else ()


_PARAM = re.compile(r'(\w+)="([^"]*)"')


def parse_challenge(header: str) -> Challenge | None:
    scheme, _, rest = header.strip().partition(" ")
    params = dict(_PARAM.findall(rest))
    if "realm" not in params:
        return None
    return Challenge(scheme.lower(), params["realm"], params.get("service"), params.get("scope"), params.get("error"))


def jwt_claims(token: str) -> dict:
    """The claims of a JWT, unverified: we only read `exp` and `access` of our own token."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError):
        return {}


def missing_actions(claims: dict, scopes: Iterable[str]) -> list[tuple[str, str, list[str]]]:
    """[(type, name, [missing actions])] for every requested scope the token does not grant."""
    granted: dict[tuple[str, str], set[str]] = {}
    for entry in claims.get("access") or []:
        key = (entry.get("type", ""), entry.get("name", ""))
        granted.setdefault(key, set()).update(entry.get("actions") or [])
    missing = []
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        have = granted.get((kind, name), set())
        if "*" in have:
            continue
        lacking = [a for a in actions.split(",") if a and a not in have and not (a == "*" and have)]
        if lacking:
            missing.append((kind, name, lacking))
    return missing
