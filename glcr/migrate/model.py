"""The migration's value types and their JSON form. Pure: no I/O, no HTTP, no presentation.

A migration directory holds `plan.json` (a `MigrationPlan`, written once before anything
changes) and `journal.jsonl` (`JournalEntry` lines appended before and after every step). The
plan keeps the whole inventory, so a resumed run needs nothing but the directory and the
registry: it never has to re-read tags that are already gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from glcr.models import Digest

PLAN_KIND = "glcr/migration"
PLAN_VERSION = 1


class Mode(StrEnum):
    NATIVE = "native"  # GitLab moves the images itself (metadata DB, same top-level namespace)
    HOLDING = "holding"  # a holding repository in the same registry; blobs are mounted
    DIRECTORY = "directory"  # a local OCI image layout directory; blobs are pulled once


class Level(StrEnum):
    ERROR = "error"  # the migration would fail half-way: refuse to start
    WARNING = "warning"  # could not be checked, or may need attention
    INFO = "info"


class StepKind(StrEnum):
    BACKUP = "backup"  # copy a repository's tags to the holding place and verify them there
    DELETE_TAGS = "delete-tags"  # delete the tags at the old path (only the inventoried ones)
    DELETE_REPOSITORY = "delete-repositories"  # remove the now empty repository records (one step)
    WAIT_NO_TAGS = "wait-no-tags"  # until GitLab reports no tags for the project
    TRANSFER = "transfer"  # PUT /projects/:id/transfer
    RENAME = "rename"  # PUT /projects/:id path=...
    RESTORE = "restore"  # copy back under the (new) path and verify every digest
    DROP_HOLDING = "drop-holding"  # delete the holding copies, after every restore verified (one step)
    REMOVE_BACKUP = "remove-backup"  # delete the backup directory (only when asked)
    VERIFY = "verify"  # every tag at the final path with its digest; none left at the old one


@dataclass(frozen=True)
class BlobRef:
    digest: Digest
    size: int
    media_type: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "size": self.size, "media_type": self.media_type}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BlobRef:
        return cls(data["digest"], int(data["size"]), data.get("media_type", ""))


@dataclass(frozen=True)
class ManifestNode:
    """One manifest of a repository: tagged, an index child, or a referrer (has a `subject`)."""

    digest: Digest
    media_type: str
    size: int
    blobs: tuple[BlobRef, ...] = ()  # config and layers of an image manifest
    children: tuple[Digest, ...] = ()  # entries of an index
    subject: Digest | None = None
    artifact_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "media_type": self.media_type, "size": self.size,
                "blobs": [b.to_json() for b in self.blobs], "children": list(self.children),
                "subject": self.subject, "artifact_type": self.artifact_type}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ManifestNode:
        return cls(data["digest"], data["media_type"], int(data["size"]),
                   tuple(BlobRef.from_json(b) for b in data.get("blobs") or []),
                   tuple(data.get("children") or []), data.get("subject"), data.get("artifact_type"))


@dataclass(frozen=True)
class RepoInventory:
    """A registry repository of the project, as it was before anything changed."""

    name: str  # GitLab's repository name; "" for the project's root image
    path: str  # the registry path, e.g. "group/project/api"
    repository_id: int  # GitLab's record id (0 when GitLab had no record)
    tags: dict[str, Digest]
    manifests: dict[Digest, ManifestNode]
    status: str | None = None  # GitLab's delete status of the record (None: usable)

    @property
    def unique_blobs(self) -> dict[Digest, BlobRef]:
        return {b.digest: b for node in self.manifests.values() for b in node.blobs}

    @property
    def size(self) -> int:
        """Bytes stored for this repository: every distinct blob and manifest, counted once."""
        return sum(b.size for b in self.unique_blobs.values()) + sum(m.size for m in self.manifests.values())

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "repository_id": self.repository_id,
                "status": self.status, "tags": dict(sorted(self.tags.items())),
                "manifests": [self.manifests[d].to_json() for d in sorted(self.manifests)]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RepoInventory:
        nodes = [ManifestNode.from_json(m) for m in data.get("manifests") or []]
        return cls(data["name"], data["path"], int(data.get("repository_id") or 0), dict(data.get("tags") or {}),
                   {n.digest: n for n in nodes}, data.get("status"))


@dataclass(frozen=True)
class ProjectRef:
    id: int
    full_path: str  # as GitLab spells it (case kept): "Group/Sub/Project"
    namespace: str  # the namespace's full path: "Group/Sub"
    path: str  # the project's own path: "Project"

    @property
    def top_level(self) -> str:
        return self.full_path.split("/", 1)[0].lower()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "full_path": self.full_path, "namespace": self.namespace, "path": self.path}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProjectRef:
        return cls(int(data["id"]), data["full_path"], data["namespace"], data["path"])


@dataclass(frozen=True)
class Inventory:
    project: ProjectRef
    registry_host: str
    gitlab_api: bool  # the registry has GitLab's API (metadata database)
    tag_delete: bool
    referrers_api: bool
    repositories: tuple[RepoInventory, ...]

    @property
    def tag_count(self) -> int:
        return sum(len(r.tags) for r in self.repositories)

    @property
    def size(self) -> int:
        """Bytes across repositories, each distinct blob counted once (what a directory backup holds)."""
        blobs: dict[Digest, int] = {}
        manifests: dict[Digest, int] = {}
        for repo in self.repositories:
            blobs.update({d: b.size for d, b in repo.unique_blobs.items()})
            manifests.update({d: m.size for d, m in repo.manifests.items()})
        return sum(blobs.values()) + sum(manifests.values())

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project.to_json(), "registry_host": self.registry_host,
                "gitlab_api": self.gitlab_api, "tag_delete": self.tag_delete,
                "referrers_api": self.referrers_api,
                "repositories": [r.to_json() for r in self.repositories]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inventory:
        return cls(ProjectRef.from_json(data["project"]), data["registry_host"], bool(data["gitlab_api"]),
                   bool(data["tag_delete"]), bool(data.get("referrers_api")),
                   tuple(RepoInventory.from_json(r) for r in data.get("repositories") or []))


@dataclass(frozen=True)
class Rule:
    """A protection rule (tag or repository) as GitLab returns it; levels are names or None."""

    pattern: str
    min_push: str | None = None
    min_delete: str | None = None


class TagRuleFacts(Protocol):
    """A tag protection rule as the preflight reads it (glcr.policy.protection.TagRule fits;
    migration_checks reads these fields)."""

    @property
    def pattern(self) -> str: ...

    @property
    def min_push(self) -> str | None: ...

    @property
    def min_delete(self) -> str | None: ...


@dataclass(frozen=True)
class HoldingFacts:
    path: str  # the holding project's full path
    exists: bool
    project_id: int = 0
    registry_host: str | None = None
    delete_granted: bool | None = None  # registry delete (implies push) on the holding path
    tag_rules: tuple[TagRuleFacts, ...] | None = ()  # its tag protection rules; None: they could not be read
    access: int = 0  # the caller's access level in the holding project
    rules_note: str = ""  # why its rules could not be read


@dataclass(frozen=True)
class PreflightFacts:
    """What the checks need, read before anything changes. None means "could not be read"."""

    token_scopes: tuple[str, ...] | None = None
    is_admin: bool = False
    project_access: int = 0  # the user's highest access level in the project (50 = Owner)
    target_namespace_found: bool | None = None
    target_namespace_access: int | None = None
    target_project_taken: bool = False
    target_registry_tags: dict[str, int] = field(default_factory=dict)  # new path -> tags already there
    delete_granted: dict[str, bool] = field(default_factory=dict)  # old path -> registry delete granted
    holding: HoldingFacts | None = None
    backup_dir: str | None = None
    backup_dir_free: int | None = None  # free bytes on its file system
    backup_dir_conflict: str | None = None  # not empty and not a glcr layout, or not writable
    tag_rules: tuple[TagRuleFacts, ...] | None = None  # None: the API did not answer (older GitLab)
    tag_rules_note: str = ""  # why the tag rules could not be read
    repository_rules: tuple[Rule, ...] | None = None
    problems: tuple[str, ...] = ()  # what the inventory could not read (a missing index child)


@dataclass(frozen=True)
class Finding:
    level: Level
    code: str  # stable: `--skip-check CODE` and tests match on it
    message: str
    # The README's exit code when this error stops the migration (glcr.errors.ExitCode);
    # None: refused (8). Not kept in the plan file: it only decides how this run ends.
    exit_code: int | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level.value, "code": self.code, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(Level(data["level"]), data["code"], data["message"])


@dataclass(frozen=True)
class Step:
    id: str  # unique in the plan: "backup:0", "transfer", "rollback:restore:1"
    kind: StepKind
    repo: int | None = None  # index into inventory.repositories (`args["repos"]` for batch steps)
    args: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "repo": self.repo, "args": dict(self.args)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(data["id"], StepKind(data["kind"]), data.get("repo"), dict(data.get("args") or {}))


@dataclass(frozen=True)
class StepUpdate:
    """A step started (`state` "start") or ended ("done", "failed", "refused"), for `UI.review`.
    `plan`: the migration it belongs to (the copy-away one, once it takes over)."""

    plan: MigrationPlan
    step: Step
    number: int  # 1-based, of `total`
    total: int
    state: str
    detail: str = ""


@dataclass(frozen=True)
class MigrationPlan:
    id: str
    created_at: str
    source: str  # project full path before
    target: str  # project full path after
    mode: Mode
    inventory: Inventory
    steps: tuple[Step, ...]
    holding_project: str | None = None
    holding_paths: dict[int, str] = field(default_factory=dict)  # repo index -> holding repository path
    backup_dir: str | None = None
    findings: tuple[Finding, ...] = ()
    # A native plan with tags: where the images go if GitLab refuses to move them itself
    # ({"holding": project or None, "backup_dir": dir or None}); the copy-away migration that
    # then takes over records the native one's id in `continues`.
    fallback: dict[str, str | None] | None = None
    continues: str | None = None

    @property
    def transfer(self) -> bool:
        return split_full_path(self.source)[0].lower() != split_full_path(self.target)[0].lower()

    @property
    def rename(self) -> bool:
        return split_full_path(self.source)[1] != split_full_path(self.target)[1]

    def to_json(self) -> dict[str, Any]:
        return {"kind": PLAN_KIND, "version": PLAN_VERSION, "id": self.id, "created_at": self.created_at,
                "source": self.source, "target": self.target, "mode": self.mode.value,
                "holding_project": self.holding_project,
                "holding_paths": {str(k): v for k, v in sorted(self.holding_paths.items())},
                "backup_dir": self.backup_dir, "findings": [f.to_json() for f in self.findings],
                "fallback": self.fallback, "continues": self.continues,
                "steps": [s.to_json() for s in self.steps], "inventory": self.inventory.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MigrationPlan:
        if data.get("kind") != PLAN_KIND or data.get("version") != PLAN_VERSION:
            raise ValueError(f"not a {PLAN_KIND} version {PLAN_VERSION} plan")
        return cls(data["id"], data["created_at"], data["source"], data["target"], Mode(data["mode"]),
                   Inventory.from_json(data["inventory"]), tuple(Step.from_json(s) for s in data["steps"]),
                   data.get("holding_project"), {int(k): v for k, v in (data.get("holding_paths") or {}).items()},
                   data.get("backup_dir"), tuple(Finding.from_json(f) for f in data.get("findings") or []),
                   data.get("fallback"), data.get("continues"))


class Event(StrEnum):
    START = "start"  # about to run the step; a kill after it means "outcome unknown: run it again"
    DONE = "done"
    FAILED = "failed"  # retried by --resume
    ROLLBACK = "rollback"  # the move was refused: `data.steps` replace what is left of the plan
    NOTE = "note"  # something worth keeping (e.g. "resumed"); changes nothing
    # GitLab refused the native move; the copy-away migration `data.id` takes over from here
    FALLBACK = "fallback"


@dataclass(frozen=True)
class JournalEntry:
    ts: str
    step: str
    event: Event
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ts": self.ts, "step": self.step, "event": self.event.value, "detail": self.detail,
                "data": self.data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        if not isinstance(data, dict) or not isinstance(data.get("step"), str):
            raise ValueError("not a journal entry")
        return cls(str(data.get("ts", "")), data["step"], Event(data["event"]), str(data.get("detail") or ""),
                   dict(data.get("data") or {}))


def split_full_path(full_path: str) -> tuple[str, str]:
    """"group/sub/project" -> ("group/sub", "project")."""
    namespace, _, path = full_path.strip("/").rpartition("/")
    return namespace, path


def repository_path(project_full_path: str, name: str) -> str:
    """Registry path of a project's repository: lower-case project path, then the image name."""
    base = project_full_path.strip("/").lower()
    return f"{base}/{name}" if name else base
