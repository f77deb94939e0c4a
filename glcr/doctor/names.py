"""Image-name rules, each broken rule with its fix. Pure.

Sources:
* GitLab's container_repository_name_regex (lib/gitlab/regex.rb), via glcr.reference;
* lib/container_registry/path.rb: the project is found among the 3 longest prefixes of an
  image path, so an image is at most two levels below its project, and a path has fewer than
  20 components (Namespace::NUMBER_OF_ANCESTORS_ALLOWED);
* the registry's 255-character name limit (distribution's NameTotalLengthMax);
* the troubleshooting docs' "Docker connection error": a leading underscore or a trailing
  hyphen in a group, project or branch name breaks docker (`invalid reference format`,
  gitlab-org/gitlab#336369); the admin docs add a double hyphen.
"""

from __future__ import annotations

from glcr.doctor.model import CheckResult, fail, ok, warn
from glcr.errors import ExitCode
from glcr.reference import MAX_LEVELS_BELOW_PROJECT, MAX_NAME_LENGTH, REPOSITORY_PATH_RE

CHECK = "names"
MAX_COMPONENTS = 20  # Namespace::NUMBER_OF_ANCESTORS_ALLOWED
_COMPONENT_RE = REPOSITORY_PATH_RE  # same alphabet and separators, without the '/'

RENAME_NAMESPACE = ("change the {what} path in GitLab (Settings > General > Advanced > Change path; "
                    "a project with images must be emptied first: glcr migrate-project helps)")
RENAME_IMAGE = "push the image under a different name"


def _roles(path: str, project_path: str | None) -> list[tuple[str, str]]:
    """(component, role) with role group, project or image (image only when the project is known)."""
    parts = path.split("/")
    if project_path is None:
        return [(p, "path component") for p in parts]
    project_parts = project_path.lower().strip("/").split("/")
    roles = []
    for index, part in enumerate(parts):
        if index < len(project_parts) - 1:
            roles.append((part, "group"))
        elif index == len(project_parts) - 1:
            roles.append((part, "project"))
        else:
            roles.append((part, "image"))
    return roles


def _fix_for(role: str) -> str:
    if role in ("group", "project"):
        return RENAME_NAMESPACE.format(what=role)
    if role == "image":
        return RENAME_IMAGE
    return "rename the group, project or image"


def check_image_name(path: str, project_path: str | None = None) -> list[CheckResult]:
    """Every rule `path` breaks, or one OK. `project_path` (when known) places the project in it."""
    results: list[CheckResult] = []
    text = path.strip().strip("/")
    lowered = text.lower()
    if text != lowered:
        results.append(warn(CHECK, f"{text} has upper case; GitLab stores the images of this path as {lowered} "
                                   "and docker refuses upper case in image names",
                            f"use {lowered} in docker and CI"))
    if len(lowered) > MAX_NAME_LENGTH:
        results.append(fail(CHECK, f"{lowered} is {len(lowered)} characters; the registry allows {MAX_NAME_LENGTH}",
                            "shorten the group, project or image names", ExitCode.INVALID_INPUT))
    components = lowered.split("/")
    if len(components) >= MAX_COMPONENTS:
        results.append(fail(CHECK, f"{lowered} has {len(components)} components; GitLab allows fewer than "
                                   f"{MAX_COMPONENTS}", "use a shorter path", ExitCode.INVALID_INPUT))
    component_trouble = False
    for component, role in _roles(lowered, project_path):
        where = f"{role} {component!r}" if component else f"an empty {role}"
        if component.startswith("_"):
            component_trouble = True
            results.append(fail(CHECK, f"{where} starts with an underscore: docker fails with "
                                       "'invalid reference format' (troubleshooting docs: Docker connection error)",
                                _fix_for(role), ExitCode.INVALID_INPUT))
        if component.endswith("-"):
            component_trouble = True
            results.append(fail(CHECK, f"{where} ends with a hyphen: registry connections fail "
                                       "(troubleshooting docs: Docker connection error)",
                                _fix_for(role), ExitCode.INVALID_INPUT))
        if "--" in component and not component.endswith("-"):
            results.append(warn(CHECK, f"{where} contains a double hyphen, which GitLab's admin docs list among "
                                       "names that can break Docker connections (older registries refuse it)",
                                _fix_for(role)))
        if component and not component.startswith("_") and not component.endswith("-") \
                and not _COMPONENT_RE.match(component):
            component_trouble = True
            results.append(fail(CHECK, f"{where} is not a valid image path component: lowercase letters and "
                                       "digits, separated by one '.', '_', '__' or dashes, starting and ending "
                                       "with a letter or digit", _fix_for(role), ExitCode.INVALID_INPUT))
        if not component:
            component_trouble = True
            results.append(fail(CHECK, f"{lowered} has an empty component (//)", "remove the doubled '/'",
                                ExitCode.INVALID_INPUT))
    if not component_trouble and not REPOSITORY_PATH_RE.match(lowered):
        results.append(fail(CHECK, f"{lowered} does not match GitLab's image path rules",
                            "lowercase letters and digits, separated by '.', '_', '/', '__' or dashes",
                            ExitCode.INVALID_INPUT))
    levels = _levels_below(lowered, project_path)
    if levels is not None and levels > MAX_LEVELS_BELOW_PROJECT:
        results.append(fail(
            CHECK,
            f"{lowered} is {levels} levels below the project {project_path}; GitLab looks for the project "
            f"among the image path's 3 longest prefixes only, so /jwt/auth grants nothing and pushes fail "
            f"with 'denied'",
            f"use at most {MAX_LEVELS_BELOW_PROJECT} levels below the project (group/project/a/b), or move "
            "the variant into the tag (app:1.0-amd64)", ExitCode.INVALID_INPUT))
    if not results:
        where = ("the project's root image" if levels == 0 else
                 f"{levels} level{'s' if levels != 1 else ''} below the project" if levels is not None else
                 "project not known: levels not checked")
        results.append(ok(CHECK, f"{lowered} follows GitLab's image-name rules ({where})"))
    return results


def _levels_below(path: str, project_path: str | None) -> int | None:
    if project_path is None:
        return None
    project = project_path.lower().strip("/")
    if path != project and not path.startswith(project + "/"):
        return None
    rest = path[len(project):].strip("/")
    return len(rest.split("/")) if rest else 0
