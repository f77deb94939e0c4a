"""The sandbox's in-memory GitLab world, persisted to JSON in the state directory.

Only what glcr touches: users, tokens, groups, projects with their registry settings,
memberships, container repository records and the registry application settings.
All access goes through `World`, whose lock makes it safe for the threaded HTTP server.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
ACCESS_LEVELS = {"guest": GUEST, "reporter": REPORTER, "developer": DEVELOPER, "maintainer": MAINTAINER, "owner": OWNER}
TOKEN_SCOPES = ("api", "read_api", "read_user", "read_registry", "write_registry", "read_repository",
                "admin_mode")  # admin_mode: see glcr_sandbox.permissions.acting_user
REGISTRY_ACCESS_LEVELS = ("enabled", "private", "disabled")

# ContainerRegistry::Path (lib/container_registry/path.rb) and Gitlab::Regex.container_repository_name_regex.
REPOSITORY_PATH_RE = re.compile(r"\A[a-z0-9]+(([._/]|__|-*)[a-z0-9])*\Z")
LEVELS_SUPPORTED = 3  # the project is looked up among the 3 longest prefixes of the path
MAX_PATH_COMPONENTS = 20  # Namespace::NUMBER_OF_ANCESTORS_ALLOWED

# ApplicationSettingImplementation.defaults, the container registry part (fact sheet §9).
DEFAULT_SETTINGS: dict[str, Any] = {
    "container_registry_token_expire_delay": 5,
    "admin_mode": False,  # Admin Mode (glcr_sandbox.permissions.acting_user)
    "container_registry_expiration_policies_worker_capacity": 4,
    "container_registry_delete_tags_service_timeout": 250,
    "container_registry_cleanup_tags_service_max_list_size": 200,
    "container_registry_expiration_policies_caching": True,
    "container_expiration_policies_enable_historic_entries": False,
    "container_registry_features": [],
    "container_registry_vendor": "",
    "container_registry_version": "",
    "container_registry_db_enabled": False,
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(value: dt.datetime) -> str:
    """Rails' JSON time format: milliseconds and a Z."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class User:
    id: int
    username: str
    name: str
    admin: bool = False
    created_at: str = ""


@dataclass
class Token:
    id: int
    name: str
    value: str
    user_id: int
    scopes: list[str]
    created_at: str
    expires_at: str | None = None  # a full timestamp so tests can expire a token mid-run
    revoked: bool = False
    kind: str = "personal"  # or "job": a CI job token, limited to project_id
    project_id: int | None = None

    def expired(self, now: dt.datetime | None = None) -> bool:
        expires = parse_time(self.expires_at)
        return expires is not None and (now or utcnow()) >= expires


@dataclass
class Namespace:
    id: int
    name: str
    path: str
    parent_id: int | None = None
    created_at: str = ""


@dataclass
class ExpirationPolicy:
    """Defaults of a new project's policy (ContainerExpirationPolicy columns; read it live on GitLab)."""

    cadence: str = "1d"
    enabled: bool = False
    keep_n: int | None = 10
    older_than: str | None = "90d"
    name_regex: str | None = ".*"
    name_regex_keep: str | None = None
    next_run_at: str | None = None


@dataclass
class Project:
    id: int
    name: str
    path: str
    namespace_id: int
    created_at: str
    container_registry_access_level: str = "enabled"
    container_expiration_policy: ExpirationPolicy = field(default_factory=ExpirationPolicy)
    description: str | None = None
    # Set on creation and by git pushes in GitLab (never by registry pushes); None: created_at.
    last_activity_at: str | None = None


@dataclass
class Member:
    user_id: int
    source: str  # "project" or "namespace"
    source_id: int
    access_level: int


@dataclass
class Repository:
    id: int
    project_id: int
    name: str
    created_at: str
    status: str | None = None  # None, delete_scheduled, delete_ongoing, delete_failed
    expiration_policy_started_at: str | None = None
    failed_deletion_count: int = 0
    next_delete_attempt_at: str | None = None


def valid_repository_path(path: str) -> bool:
    parts = path.split("/")
    return bool(REPOSITORY_PATH_RE.match(path)) and 1 < len(parts) < MAX_PATH_COMPONENTS and len(path) <= 255


class World:
    """Every read and write of the world happens under `lock` (an RLock: helpers nest)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.users: dict[int, User] = {}
        self.tokens: dict[int, Token] = {}
        self.namespaces: dict[int, Namespace] = {}
        self.projects: dict[int, Project] = {}
        self.members: list[Member] = []
        # Projects shared with (invited) groups: ProjectGroupLink {project_id, group_id, group_access}.
        self.group_links: list[dict[str, int]] = []
        self.repositories: dict[int, Repository] = {}
        self.tag_rules: dict[int, dict[str, Any]] = {}  # container tag protection rules (api_protection.py)
        self.history: dict[str, dict[str, list]] = {}  # per project id: branches, deployments... (api_inuse.py)
        self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        self.sequences: dict[str, int] = {}
        # Which registry holds this world's images (registry_kinds.KINDS); None: not yet
        # chosen. A state directory keeps its kind: the other registry cannot read its images.
        self.registry_kind: str | None = None
        self._batching = 0  # inside batch(): saves wait for its end
        if path is not None and path.exists():
            self._load(json.loads(path.read_text()))

    # --- persistence ---------------------------------------------------------------------

    def _next_id(self, kind: str) -> int:
        self.sequences[kind] = self.sequences.get(kind, 0) + 1
        return self.sequences[kind]

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "users": [asdict(u) for u in self.users.values()],
                "tokens": [asdict(t) for t in self.tokens.values()],
                "namespaces": [asdict(n) for n in self.namespaces.values()],
                "projects": [asdict(p) for p in self.projects.values()],
                "members": [asdict(m) for m in self.members],
                "group_links": [dict(link) for link in self.group_links],
                "repositories": [asdict(r) for r in self.repositories.values()],
                "settings": dict(self.settings),
                "tag_rules": [dict(r) for r in self.tag_rules.values()],
                "history": {k: {kind: list(v) for kind, v in h.items()} for k, h in self.history.items()},
                "sequences": dict(self.sequences),
                "registry_kind": self.registry_kind,
            }

    def _load(self, data: dict[str, Any]) -> None:
        self.users = {u["id"]: User(**u) for u in data.get("users", [])}
        self.tokens = {t["id"]: Token(**t) for t in data.get("tokens", [])}
        self.namespaces = {n["id"]: Namespace(**n) for n in data.get("namespaces", [])}
        self.projects = {}
        for raw in data.get("projects", []):
            policy = ExpirationPolicy(**raw.pop("container_expiration_policy", {}))
            self.projects[raw["id"]] = Project(**raw, container_expiration_policy=policy)
        self.members = [Member(**m) for m in data.get("members", [])]
        self.group_links = [dict(link) for link in data.get("group_links", [])]
        self.repositories = {r["id"]: Repository(**r) for r in data.get("repositories", [])}
        self.settings = {**DEFAULT_SETTINGS, **data.get("settings", {})}
        self.tag_rules = {r["id"]: dict(r) for r in data.get("tag_rules", [])}
        self.history = dict(data.get("history", {}))
        self.sequences = dict(data.get("sequences", {}))
        # Worlds saved before the sandbox had a choice ran on distribution.
        self.registry_kind = data.get("registry_kind", "distribution")

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many changes, one save at the end. Every save writes the whole world, so seeding 1,000
        projects one save each wrote it 1,000 times over (quadratic: minutes for a big group)."""
        with self.lock:
            self._batching += 1
            try:
                yield
            finally:
                self._batching -= 1
                self.save()

    def save(self) -> None:
        if self.path is None or self._batching:
            return
        with self.lock:
            text = json.dumps(self.to_dict(), indent=1)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(text)
            os.replace(tmp, self.path)  # atomic: a crash never leaves half a file

    # --- users and tokens ----------------------------------------------------------------

    def add_user(self, username: str, *, admin: bool = False, name: str | None = None) -> User:
        with self.lock:
            if self.user_by_name(username):
                raise ValueError(f"user {username} already exists")
            user = User(self._next_id("users"), username, name or username.title(), admin, iso(utcnow()))
            self.users[user.id] = user
            self.save()
            return user

    def user_by_name(self, username: str) -> User | None:
        with self.lock:
            return next((u for u in self.users.values() if u.username == username), None)

    def add_token(
        self,
        user: User,
        scopes: Iterable[str],
        *,
        expires_at: dt.datetime | None = None,
        name: str = "glcr-sandbox",
        kind: str = "personal",
        project: Project | None = None,
    ) -> Token:
        scopes = list(scopes)
        unknown = [s for s in scopes if s not in TOKEN_SCOPES]
        if unknown:
            raise ValueError(f"unknown token scopes: {', '.join(unknown)}")
        prefix = "glcbt-" if kind == "job" else "glpat-"  # GitLab's token prefixes
        with self.lock:
            token = Token(
                id=self._next_id("tokens"),
                name=name,
                value=prefix + secrets.token_urlsafe(15),
                user_id=user.id,
                scopes=scopes,
                created_at=iso(utcnow()),
                expires_at=iso(expires_at) if expires_at else None,
                kind=kind,
                project_id=project.id if project else None,
            )
            self.tokens[token.id] = token
            self.save()
            return token

    def find_token(self, value: str) -> Token | None:
        with self.lock:
            return next((t for t in self.tokens.values() if secrets.compare_digest(t.value, value)), None)

    # --- namespaces and projects ---------------------------------------------------------

    def add_group(self, path: str, *, parent: Namespace | None = None, name: str | None = None) -> Namespace:
        with self.lock:
            full = f"{self.namespace_full_path(parent)}/{path}" if parent else path
            if self.find_namespace(full):
                raise ValueError(f"group {full} already exists")
            parent_id = parent.id if parent else None
            ns = Namespace(self._next_id("namespaces"), name or path, path, parent_id, iso(utcnow()))
            self.namespaces[ns.id] = ns
            self.save()
            return ns

    def namespace_full_path(self, ns: Namespace) -> str:
        parts = [ns.path]
        while ns.parent_id is not None:
            ns = self.namespaces[ns.parent_id]
            parts.append(ns.path)
        return "/".join(reversed(parts))

    def namespace_full_name(self, ns: Namespace) -> str:
        """Namespace#full_name (the route's name): the names of the chain, joined by " / "."""
        return " / ".join(n.name for n in reversed(self.namespace_ancestors(ns)))

    def namespace_ancestors(self, ns: Namespace) -> list[Namespace]:
        """The namespace itself and its parents, nearest first."""
        chain = [ns]
        while ns.parent_id is not None:
            ns = self.namespaces[ns.parent_id]
            chain.append(ns)
        return chain

    def namespace_descendants(self, ns: Namespace) -> list[Namespace]:
        found = [ns]
        for candidate in self.namespaces.values():
            if candidate.id != ns.id and ns in self.namespace_ancestors(candidate):
                found.append(candidate)
        return found

    def find_namespace(self, ref: str | int) -> Namespace | None:
        """By id or full path (case-insensitive, as GitLab's routes are)."""
        with self.lock:
            text = str(ref)
            if text.isdigit():
                return self.namespaces.get(int(text))
            wanted = text.strip("/").lower()
            return next((n for n in self.namespaces.values() if self.namespace_full_path(n).lower() == wanted), None)

    def add_project(self, namespace: Namespace, path: str, *, name: str | None = None) -> Project:
        with self.lock:
            full = f"{self.namespace_full_path(namespace)}/{path}"
            if self.find_project(full):
                raise ValueError(f"project {full} already exists")
            project = Project(self._next_id("projects"), name or path, path, namespace.id, iso(utcnow()))
            self.projects[project.id] = project
            self.save()
            return project

    def project_full_path(self, project: Project) -> str:
        return f"{self.namespace_full_path(self.namespaces[project.namespace_id])}/{project.path}"

    def find_project(self, ref: str | int) -> Project | None:
        with self.lock:
            text = str(ref)
            if text.isdigit():
                return self.projects.get(int(text))
            wanted = text.strip("/").lower()
            return next((p for p in self.projects.values() if self.project_full_path(p).lower() == wanted), None)

    def projects_in(self, namespaces: Iterable[Namespace]) -> list[Project]:
        ids = {n.id for n in namespaces}
        return sorted((p for p in self.projects.values() if p.namespace_id in ids), key=lambda p: p.id)

    # --- memberships ---------------------------------------------------------------------

    def set_member(
        self, user: User, access_level: int, *, project: Project | None = None, group: Namespace | None = None
    ) -> None:
        if project is not None and group is None:
            source, source_id = "project", project.id
        elif group is not None and project is None:
            source, source_id = "namespace", group.id
        else:
            raise ValueError("give exactly one of project or group")
        with self.lock:
            key = (user.id, source, source_id)
            self.members = [m for m in self.members if (m.user_id, m.source, m.source_id) != key]
            if access_level > 0:
                self.members.append(Member(user.id, source, source_id, access_level))
            self.save()

    def group_access(self, user: User, ns: Namespace) -> int:
        """Highest membership in the group or any ancestor (memberships are inherited downwards)."""
        with self.lock:
            ids = {n.id for n in self.namespace_ancestors(ns)}
            levels = [m.access_level for m in self.members if m.user_id == user.id and m.source == "namespace"
                      and m.source_id in ids]  # fmt: skip
            return max(levels, default=0)

    def direct_project_access(self, user: User, project: Project) -> int:
        with self.lock:
            key = (user.id, "project", project.id)
            return max((m.access_level for m in self.members if (m.user_id, m.source, m.source_id) == key), default=0)

    def project_access(self, user: User, project: Project) -> int:
        """Direct membership, inherited from the namespace chain, or through a group the project
        is shared with, whichever is higher (`project.team.max_member_access`: project
        authorizations include invited groups, each capped at the link's `group_access`)."""
        with self.lock:
            inherited = self.group_access(user, self.namespaces[project.namespace_id])
            return max(self.direct_project_access(user, project), inherited, self.shared_access(user, project))

    def shared_access(self, user: User, project: Project) -> int:
        """The best of min(link's group_access, the user's level in that group) over the groups
        the project is shared with."""
        with self.lock:
            return max((min(link["group_access"], self.group_access(user, self.namespaces[link["group_id"]]))
                        for link in self.group_links
                        if link["project_id"] == project.id and link["group_id"] in self.namespaces), default=0)

    def share_project(self, project: Project, group: Namespace, group_access: int) -> None:
        """POST /projects/:id/share (Projects::GroupLinks::CreateService), one link per group."""
        with self.lock:
            self.group_links = [link for link in self.group_links
                                if (link["project_id"], link["group_id"]) != (project.id, group.id)]
            self.group_links.append({"project_id": project.id, "group_id": group.id, "group_access": group_access})
            self.save()

    def authorized_projects(self, user: User, min_access_level: int = GUEST) -> list[Project]:
        """User#authorized_projects(min_access_level): direct or inherited membership, by id."""
        with self.lock:
            return [p for p in sorted(self.projects.values(), key=lambda p: p.id)
                    if self.project_access(user, p) >= min_access_level]  # fmt: skip

    def authorized_groups(self, user: User) -> list[Namespace]:
        """GroupsFinder's `current_user.authorized_groups.self_and_ancestors`: the groups the user
        is a member of with their subgroups, the groups of projects the user is a direct member
        of, and every ancestor of those."""
        with self.lock:
            found = {ns.id: ns for ns in self.namespaces.values() if self.group_access(user, ns) > 0}
            for project in self.projects.values():
                if self.direct_project_access(user, project) > 0:
                    ns = self.namespaces[project.namespace_id]
                    found[ns.id] = ns
            for ns in list(found.values()):
                found.update((a.id, a) for a in self.namespace_ancestors(ns))
            return sorted(found.values(), key=lambda n: n.id)

    def groups_with_min_access_level(self, user: User, level: int) -> list[Namespace]:
        """GroupsFinder#groups_with_min_access_level: groups the user is a direct member of at
        `level` or above, and their subgroups (no ancestors, no public groups)."""
        with self.lock:
            direct = [self.namespaces[m.source_id] for m in self.members
                      if m.user_id == user.id and m.source == "namespace" and m.access_level >= level
                      and m.source_id in self.namespaces]  # fmt: skip
            found = {d.id: d for ns in direct for d in self.namespace_descendants(ns)}
            return sorted(found.values(), key=lambda n: n.id)

    # --- container repositories ----------------------------------------------------------

    def repository_path(self, repo: Repository) -> str:
        base = self.project_full_path(self.projects[repo.project_id]).lower()
        return f"{base}/{repo.name}" if repo.name else base

    def project_for_path(self, path: str) -> tuple[Project, str] | None:
        """ContainerRegistry::Path#repository_project: the longest of the 3 longest prefixes that is a project."""
        path = path.lower()
        if not valid_repository_path(path):
            return None
        parts = path.split("/")
        with self.lock:
            for size in range(len(parts), max(len(parts) - LEVELS_SUPPORTED, 0), -1):
                project = self.find_project("/".join(parts[:size]))
                if project is not None:
                    return project, "/".join(parts[size:])
        return None

    def find_repository_by_path(self, path: str) -> Repository | None:
        with self.lock:
            return next((r for r in self.repositories.values() if self.repository_path(r) == path.lower()), None)

    def ensure_repository(self, project: Project, name: str) -> Repository:
        """ContainerRepository.find_or_create_from_path!: ids are stable, never reused."""
        with self.lock:
            for repo in self.repositories.values():
                if repo.project_id == project.id and repo.name == name:
                    return repo
            repo = Repository(self._next_id("repositories"), project.id, name, iso(utcnow()))
            self.repositories[repo.id] = repo
            self.save()
            return repo

    def project_repositories(self, project: Project) -> list[Repository]:
        with self.lock:
            return sorted((r for r in self.repositories.values() if r.project_id == project.id), key=lambda r: r.id)

    def remove_repository(self, repo_id: int) -> None:
        with self.lock:
            self.repositories.pop(repo_id, None)
            self.save()
