"""Options and arguments shared by several commands, declared once."""

from __future__ import annotations

import re
from typing import Optional

import typer

from glcr.cli.complete import complete_project
from glcr.render.format import OutputFormat

OUTPUT = typer.Option(OutputFormat.TABLE, "--output", "-o", help="table for people, json for scripts, plain: one name a line")
YES = typer.Option(False, "--yes", "-y", help="do not ask for confirmation (scripts)")

# A GitLab namespace or project path component (lib/gitlab/path_regex.rb: a letter, digit, `_`
# or `.` first, then those and `-`). Checked before any request: a path that cannot exist is
# invalid input (exit 3), not "not found" after a round trip.
_PATH_PART = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*")


def check_project(value: str, what: str = "project") -> str:
    """`value` if it can name a GitLab project or group (a numeric id or a full path), else exit 3."""
    from glcr.errors import InvalidInputError

    text = value.strip()
    if text.isdigit():
        return text
    parts = text.strip("/").split("/")
    bad = next((p for p in parts if not _PATH_PART.fullmatch(p)), None)
    if not text.strip("/") or bad is not None:
        shown = repr(bad) if bad else "an empty component"
        raise InvalidInputError(f"{value!r} is not a {what} path or id: {shown} is not a GitLab path component",
                                hint=f"write the full path, e.g. mygroup/app, or the numeric {what} id")
    return text.strip("/")


def refuse_empty(option: str, value: str | None, consequence: str) -> None:
    """Exit 3 when a flag that narrows a deletion is given empty (`--keep-regex "$UNSET"`):
    it fails closed instead of silently keeping nothing or selecting everything."""
    from glcr.errors import InvalidInputError

    if value is not None and not value.strip():
        raise InvalidInputError(f"{option} is empty: {consequence}", hint=f"give a value, or leave {option} out")


def read_input_file(path, option: str) -> bytes:
    """The bytes of a file named on the command line; a missing, unreadable file or a directory
    is invalid input (3), like any other value that cannot be used, not a usage error."""
    from glcr.errors import InvalidInputError

    try:
        return path.read_bytes()
    except IsADirectoryError:
        problem = "it is a directory"
    except FileNotFoundError:
        problem = "it does not exist"
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
    raise InvalidInputError(f"{option} {path}: {problem}", hint=f"give the file to read with {option}")


def _project(value: Optional[str]) -> Optional[str]:
    return None if value is None else check_project(value)


PROJECT = typer.Argument(..., help="project path (group/project) or id", autocompletion=complete_project,
                         callback=_project)
# Commands that also take --group GROUP instead of one project.
PROJECT_OR_GROUP = typer.Argument(None, help="project path (group/project) or id; or give --group",
                                  autocompletion=complete_project, callback=_project, show_default=False)
