"""Parsing of repository paths and image references, GitLab's naming rules, digests shortened for
reading. Pure.

Rules follow lib/gitlab/regex.rb (container_repository_name_regex), lib/container_registry/path.rb
and distribution's reference/regexp.go.
"""

from __future__ import annotations

import re

from glcr.errors import InvalidInputError
from glcr.models import ImageRef

# distribution: a tag is [\w][\w.-]{0,127}; GitLab's routes use the same.
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
# GitLab's newest container_repository_name_regex (lowercase, separators . _ / __ or runs of -).
REPOSITORY_PATH_RE = re.compile(r"^[a-z0-9]+(?:(?:[._/]|__|-*)[a-z0-9]+)*$")
MAX_NAME_LENGTH = 255  # distribution NameTotalLengthMax
MAX_LEVELS_BELOW_PROJECT = 2  # docs: "up to two levels deep" after the project path
# lib/container_registry/path.rb: GitLab looks for an image's project among the 3 longest
# prefixes of its path (LEVELS_SUPPORTED = 3).
LEVELS_SUPPORTED = 3


def short_digest(digest: str | None) -> str:
    """The first 12 hex digits (`0123456789ab`, as docker shows image ids), for tables and
    messages; `-` when unknown."""
    if not digest:
        return "-"
    return digest.split(":", 1)[-1][:12]


def project_candidates(path: str) -> list[str]:
    """The paths GitLab would take for the project of an image path, longest first."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/".join(parts[:n]) for n in range(len(parts), max(1, len(parts) - LEVELS_SUPPORTED), -1)]


def is_valid_tag(name: str) -> bool:
    return bool(TAG_RE.fullmatch(name))


def validate_tag(name: str) -> str:
    if not is_valid_tag(name):
        raise InvalidInputError(
            f"{name!r} is not a valid tag name",
            hint="letters, digits, _ . -; at most 128 characters; no leading . or -",
        )
    return name


def _looks_like_host(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def parse_image_ref(text: str) -> ImageRef:
    """Accept `group/project[/image]`, `host[:port]/group/project[/image]`, with `:tag` and/or `@digest`."""
    raw = text.strip()
    if not raw:
        raise InvalidInputError("empty image reference", hint="give group/project[/image][:tag]")
    digest = None
    if "@" in raw:
        raw, digest = raw.split("@", 1)
        if not DIGEST_RE.fullmatch(digest):
            raise InvalidInputError(f"{digest!r} is not a sha256 digest")
    host = None
    first, _, rest = raw.partition("/")
    if rest and _looks_like_host(first):
        host, raw = first, rest
    tag = None
    last_slash = raw.rfind("/")
    colon = raw.rfind(":")
    if colon > last_slash:
        raw, tag = raw[:colon], raw[colon + 1:]
        validate_tag(tag)
    path = raw.strip("/")
    if not path or "/" not in path and host is None and not path:
        raise InvalidInputError(f"{text!r} has no repository path")
    return ImageRef(path=path, host=host, tag=tag, digest=digest)


def name_problems(path: str, project_path: str | None = None) -> list[str]:
    """What is wrong with a repository path by GitLab's and distribution's rules (empty: fine)."""
    problems = []
    lowered = path.lower()
    if lowered != path:
        problems.append("GitLab stores image paths in lower case: use " + lowered)
    if len(path) > MAX_NAME_LENGTH:
        problems.append(f"longer than {MAX_NAME_LENGTH} characters (registry limit)")
    if not REPOSITORY_PATH_RE.match(lowered):
        problems.append("not a valid path: lowercase letters and digits, separated by one '.', '_', "
                        "'/', '__' or dashes; it must start and end with a letter or digit")
    for component in lowered.split("/"):
        if component.startswith("_"):
            problems.append(f"component {component!r} starts with an underscore: docker fails with "
                            "'invalid reference format'; rename the group or project")
        if component.endswith("-"):
            problems.append(f"component {component!r} ends with a hyphen: registry connections fail; "
                            "rename the group, project or branch")
    if project_path is not None:
        project = project_path.lower().strip("/")
        if lowered != project and not lowered.startswith(project + "/"):
            problems.append(f"not under the project path {project}")
        else:
            extra = lowered[len(project):].strip("/")
            levels = len(extra.split("/")) if extra else 0
            if levels > MAX_LEVELS_BELOW_PROJECT:
                problems.append(f"{levels} levels below the project: GitLab allows at most "
                                f"{MAX_LEVELS_BELOW_PROJECT}; /jwt/auth silently grants nothing for it")
    return problems
