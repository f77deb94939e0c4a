"""Which way a migration goes, and why. PURE: no I/O.

GitLab decides whether it moves a project's images itself (app/services/projects/
update_service.rb for a path change, transfer_service.rb for a new namespace): with no tags there
is nothing to move; with tags it needs the registry's GitLab API (the metadata database), the
same top-level namespace for a transfer, and an accepted dry run of the registry's rename
(`PATCH /gitlab/v1/repositories/<path>/?dry_run=true`). It runs those checks before it changes
anything, and refuses with a message otherwise ("Cannot rename project because it contains
container registry tags!", "...the container registry path rename validation failed: ...").

glcr can read the first three itself. The dry run it cannot ask for a user: GitLab grants no
`repository:<path>/*` scope through /jwt/auth (`*` is no valid path), and asking for `push` on
the project path would make GitLab create a repository record. So where GitLab may move the
images itself, glcr asks GitLab by asking for the move: accepted, the images moved with the
project and nothing was copied; refused, nothing changed, and glcr copies the images away (a
holding project, or a local OCI layout) without being asked again. Where GitLab surely refuses
(a third-party registry, another top-level namespace), glcr copies away from the start.
"""

from __future__ import annotations

from dataclasses import dataclass

from glcr.migrate.model import Inventory, Mode


@dataclass(frozen=True)
class Route:
    mode: Mode
    holding: str | None
    backup_dir: str | None
    fallback: dict[str, str | None] | None  # native with tags: where images go if GitLab refuses
    why: str  # one sentence for the preflight, the report and the journal


def _where(holding: str | None, backup_dir: str | None, defaulted: bool) -> str:
    if holding:
        return f"the holding project {holding} (blobs mounted, no layer bytes move)"
    if defaulted:
        return (f"a local OCI layout at {backup_dir} (no --via or --backup-dir was given; --via "
                "GROUP/PROJECT keeps them in the registry instead)")
    return f"the local OCI layout {backup_dir}"


def choose_route(inventory: Inventory, target: str, *, holding: str | None, backup_dir: str | None,
                 default_backup_dir: str, refused: str | None = None) -> Route:
    """`refused`: GitLab's message when it already refused to move this project in place."""
    top = inventory.project.top_level
    same_top = top == target.strip("/").split("/", 1)[0].lower()
    defaulted = not holding and not backup_dir
    away_dir = None if holding else (backup_dir or default_backup_dir)
    where = _where(holding, away_dir, defaulted)
    mode = Mode.HOLDING if holding else Mode.DIRECTORY

    if inventory.tag_count == 0:
        return Route(Mode.NATIVE, None, backup_dir, None, "the project's registry has no tags: GitLab moves "
                     "the project as it is")
    if refused:
        return Route(mode, holding, away_dir, None, f"GitLab refused to move the images in place ({refused}); "
                     f"glcr copies them away through {where}, then moves the project")
    if not inventory.gitlab_api:
        return Route(mode, holding, away_dir, None, "the registry has no GitLab API (GitLab's registry without its "
                     "metadata database, or a third-party one), so GitLab refuses to move a project with tags "
                     "(\"Cannot rename project because it contains container registry tags!\"); glcr copies the "
                     f"images away "
                     f"through {where}, then moves the project")
    if not same_top:
        return Route(mode, holding, away_dir, None, f"the move leaves the top-level namespace {top}, which "
                     f"GitLab refuses while tags exist; glcr copies the images away through {where}, then "
                     "moves the project")
    return Route(Mode.NATIVE, None, backup_dir, {"holding": holding, "backup_dir": away_dir},
                 f"GitLab's registry has its metadata database and the move stays in {top}: GitLab moves the "
                 "images itself if the registry's rename check accepts it; glcr asks by asking for the move "
                 f"(a refusal changes nothing) and, if GitLab refuses, copies them away through {where}")
