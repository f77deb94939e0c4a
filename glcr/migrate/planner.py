"""The migration planner. PURE: inventory and facts in, findings and ordered steps out; no I/O
(tests/unit/test_layering.py checks the imports).

Order, and why:
1. BACKUP every repository first, verified, before anything is deleted: a kill at any later
   point leaves every image in the holding place.
2. DELETE_TAGS, DELETE_REPOSITORY, WAIT_NO_TAGS: GitLab checks "has tags" by asking the
   registry, and a repository record left in `delete_scheduled` would have its deletion worker
   run against the project's *new* path after the move; so records are removed and waited for.
3. TRANSFER before RENAME (both when the namespace and the path change): a refused transfer
   then leaves the project where it was, under its original path.
4. RESTORE each repository, verifying each tag's digest equals the original one.
5. DROP_HOLDING only after every RESTORE is done (steps run in order, and a step runs only when
   every earlier one is done).
6. VERIFY: every tag at the final path with its original digest, none left at the old path.

If the move is refused, `rollback_steps` replace what is left: restore under the project's
*current* path (the original one when the transfer was refused), drop the holding copies, verify.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from glcr.migrate.model import (
    Finding, Inventory, Level, ManifestNode, MigrationPlan, Mode, PreflightFacts, RepoInventory, Step, StepKind,
    repository_path, split_full_path,
)
from glcr.errors import ExitCode
from glcr.models import Digest
from glcr.reference import MAX_NAME_LENGTH, REPOSITORY_PATH_RE

# GitLab access levels (Gitlab::Access); "admin" ranks above every member.
ACCESS = {"guest": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50, "admin": 60}
MAINTAINER, OWNER = 40, 50
# app/policies/project_policy.rb: change_namespace needs Owner, rename_project Maintainer;
# creating (or transferring) projects in a group needs Maintainer by default.
TRANSFER_ROLE, RENAME_ROLE, TARGET_GROUP_ROLE = OWNER, MAINTAINER, MAINTAINER
# A path component: distribution's reference grammar (and GitLab's project path rules are stricter).
PROJECT_PATH_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"


# --- target and holding paths ----------------------------------------------------------------


def parse_target(source: str, target: str) -> tuple[str, str]:
    """"NEWGROUP/NEWPATH" -> (namespace, path). ValueError with a readable reason."""
    import re

    text = target.strip().strip("/")
    namespace, path = split_full_path(text)
    if not namespace or not path:
        raise ValueError(f"{target!r}: give the full new path, NAMESPACE/PROJECT")
    for part in text.split("/"):
        if not re.fullmatch(PROJECT_PATH_PART, part) or part.endswith((".git", ".atom")):
            raise ValueError(f"{target!r}: {part!r} is not a valid GitLab path component")
    if text == source.strip("/"):
        raise ValueError(f"{target!r} is where the project already is: nothing to do")
    return namespace, path


def holding_path(holding_project: str, migration_id: str, index: int, name: str) -> str:
    """Where repository `index` is held: `<holding>/glcr-<id>/<index>-<name>`.

    Two levels below the holding project (GitLab resolves at most two, lib/container_registry/path.rb); the index
    keeps names unique even when `a/b` and `a-b` both exist; the migration id keeps two
    migrations through one holding project apart.
    """
    slug = (name or "root").replace("/", "-")
    base = f"{holding_project.strip('/').lower()}/glcr-{migration_id.lower()}/{index}-"
    room = MAX_NAME_LENGTH - len(base)
    if room < 4:
        raise ValueError(f"the holding project path {holding_project!r} is too long")
    slug = slug[:room].rstrip("-._") or "r"
    path = base + slug
    if not REPOSITORY_PATH_RE.match(path):
        raise ValueError(f"{path!r} is not a valid registry path")
    return path


def target_paths(inventory: Inventory, target_full_path: str) -> list[str]:
    return [repository_path(target_full_path, r.name) for r in inventory.repositories]


# --- preflight --------------------------------------------------------------------------------


def choose_mode(inventory: Inventory, target: str, *, holding: str | None, backup_dir: str | None) -> Mode:
    """GitLab moves the images itself with the metadata database inside one top-level namespace
    (transfer_service.rb; a rename never changes it); with no tags there is nothing to move."""
    same_top = inventory.project.top_level == target.split("/", 1)[0].lower()
    if inventory.tag_count == 0 or (inventory.gitlab_api and same_top):
        return Mode.NATIVE
    if holding:
        return Mode.HOLDING
    if backup_dir:
        return Mode.DIRECTORY
    return Mode.HOLDING  # evaluate() reports that a holding place is missing


def _level(name: str | None) -> int | None:
    return ACCESS.get(name.lower()) if isinstance(name, str) else None


def _glob(pattern: str, text: str) -> bool:
    """Repository rules: SQL ILIKE with `*` as the wildcard (case-insensitive)."""
    import fnmatch

    return fnmatch.fnmatchcase(text.lower(), pattern.lower().replace("[", "[[]"))


# The README's exit code of each preflight error, by its code (the first error decides how the
# command ends). Where one code covers two causes, `evaluate` passes the exit code itself.
EXIT_CODES: dict[str, ExitCode] = {
    "token-scope": ExitCode.PERMISSION,
    "project-role": ExitCode.PERMISSION,
    "target-namespace": ExitCode.PERMISSION,  # not found: NOT_FOUND, passed where found
    "registry-delete": ExitCode.PERMISSION,
    "protected-tags": ExitCode.PERMISSION,
    "protected-repository": ExitCode.PERMISSION,
    "holding": ExitCode.INVALID_INPUT,  # a holding project not found (4) or not granted (6): passed
    "backup-dir": ExitCode.INVALID_INPUT,  # a file, not writable, or too little room
    # the target path taken, images already there, a repository GitLab is busy with,
    # an unreadable inventory: the state of the server refuses the move
    "target-taken": ExitCode.REFUSED,
    "target-registry": ExitCode.REFUSED,
    "repository-status": ExitCode.REFUSED,
    "inventory": ExitCode.REFUSED,
}


def evaluate(inventory: Inventory, facts: PreflightFacts, *, target: str, mode: Mode,
             holding: str | None = None, backup_dir: str | None = None) -> list[Finding]:
    """Everything that would make the migration fail half-way, found before anything changes."""
    out: list[Finding] = []
    source = inventory.project.full_path
    new_ns, new_path = split_full_path(target)
    old_ns, old_path = split_full_path(source)
    transfer, rename = new_ns.lower() != old_ns.lower(), new_path != old_path
    def add(level: Level, code: str, message: str, exit_code: ExitCode | None = None) -> None:
        out.append(Finding(level, code, message, int(exit_code or EXIT_CODES.get(code, ExitCode.REFUSED))))

    role = 60 if facts.is_admin else facts.project_access

    if facts.token_scopes is None:
        add(Level.WARNING, "token-scope", "could not read the token's scopes; the move needs `api`")
    elif "api" not in facts.token_scopes:
        add(Level.ERROR, "token-scope", f"the token has scopes {', '.join(facts.token_scopes) or 'none'}; "
            "transferring a project and deleting registry tags need `api`")
    if transfer and role < TRANSFER_ROLE:
        add(Level.ERROR, "project-role", "transferring a project needs the Owner role in it")
    elif rename and role < RENAME_ROLE:
        add(Level.ERROR, "project-role", "renaming a project's path needs the Maintainer role")
    if transfer:
        if facts.target_namespace_found is False:
            add(Level.ERROR, "target-namespace", f"namespace {new_ns} does not exist or is not visible to you",
                ExitCode.NOT_FOUND)
        elif facts.is_admin:
            pass
        elif facts.target_namespace_access is None:
            add(Level.WARNING, "target-namespace",
                f"could not check your role in {new_ns}; moving a project there needs Maintainer")
        elif facts.target_namespace_access < TARGET_GROUP_ROLE:
            add(Level.ERROR, "target-namespace", f"moving a project into {new_ns} needs the Maintainer role there")
    if facts.target_project_taken:
        add(Level.ERROR, "target-taken", f"{target} is already taken by another project")
    for path, count in sorted(facts.target_registry_tags.items()):
        if count:
            add(Level.ERROR, "target-registry", f"the registry already holds {count} tag(s) at {path}; "
                "restoring would overwrite them")

    for problem in facts.problems:
        add(Level.ERROR, "inventory", problem)
    for repo in inventory.repositories:
        if repo.status:
            add(Level.ERROR, "repository-status", f"{repo.path} is {repo.status}; wait until GitLab is done with it")

    if mode is Mode.NATIVE:
        if inventory.tag_count == 0:
            add(Level.INFO, "native", "no tags in the project's registry: GitLab accepts the move as it is")
        else:
            add(Level.INFO, "native", "the registry has GitLab's metadata database and the move stays in "
                f"{inventory.project.top_level}: GitLab moves the images itself, glcr just transfers and verifies")
        return out

    for path, granted in sorted(facts.delete_granted.items()):
        if not granted:
            add(Level.ERROR, "registry-delete", f"the registry grants no delete on {path}; deleting tags needs "
                "the Maintainer role and a token with `api`")
    if mode is Mode.HOLDING:
        h = facts.holding
        if not holding or h is None:
            add(Level.ERROR, "holding", "GitLab refuses the move while tags exist: give a holding place, "
                "--via GROUP/HOLDING-PROJECT (same registry, no layer bytes move) or --backup-dir DIR")
        elif not h.exists:
            add(Level.ERROR, "holding", f"the holding project {holding} does not exist or is not visible to you",
                ExitCode.NOT_FOUND)
        else:
            if h.project_id == inventory.project.id:
                add(Level.ERROR, "holding", "the holding project cannot be the project being moved")
            if h.registry_host and h.registry_host != inventory.registry_host:
                add(Level.ERROR, "holding", f"the holding project's registry is {h.registry_host}, not "
                    f"{inventory.registry_host}: blobs can only be mounted within one registry")
            if h.delete_granted is False:
                add(Level.ERROR, "holding", f"the registry grants no push/delete in {holding}; it needs the "
                    "Maintainer role there", ExitCode.PERMISSION)
            elif h.delete_granted is None:
                add(Level.WARNING, "holding", f"could not check push/delete rights in {holding}")
    if mode is Mode.DIRECTORY:
        if facts.backup_dir_conflict:
            add(Level.ERROR, "backup-dir", facts.backup_dir_conflict)
        if facts.backup_dir_free is not None and facts.backup_dir_free < inventory.size:
            add(Level.ERROR, "backup-dir", f"{backup_dir} has {facts.backup_dir_free} bytes free; the backup "
                f"needs {inventory.size}")

    _protection(inventory, facts, role, target, out)
    if not inventory.referrers_api:
        add(Level.INFO, "referrers", "the registry has no referrers API: artifacts are found through their "
            "tags and `sha256-<hex>` referrers-tag indexes only")
    return out


def _protection(inventory: Inventory, facts: PreflightFacts, role: int, target: str, out: list[Finding]) -> None:
    """Protected and immutable tags block the delete step; so do repository delete rules."""
    # Tag rules of the project (delete, and push for the restore) and of the holding project:
    # glcr.policy.protection.migration_checks decides, one finding per rule.
    from glcr.policy.protection import Caller, migration_checks

    h = facts.holding if facts.holding is not None and facts.holding.exists else None
    checks = migration_checks(
        [(r.path, t) for r in inventory.repositories for t in r.tags], facts.tag_rules,
        Caller(facts.project_access, facts.is_admin), project=inventory.project.full_path, target=target,
        rules_note=facts.tag_rules_note, holding=h.path if h else None, holding_rules=h.tag_rules if h else (),
        holding_caller=Caller(h.access, facts.is_admin) if h else None, holding_note=h.rules_note if h else "")
    for level, message in checks:
        out.append(Finding(Level.ERROR if level == "error" else Level.WARNING, "protected-tags", message,
                           int(ExitCode.PERMISSION)))
    for rule in facts.repository_rules or ():
        needed = _level(rule.min_delete)
        if needed is not None and needed > role:
            hits = [r.path for r in inventory.repositories if r.tags and _glob(rule.pattern, r.path)]
            if hits:
                out.append(Finding(Level.ERROR, "protected-repository", f"{hits[0]} is protected by rule "
                                   f"`{rule.pattern}` (delete needs {rule.min_delete})", int(ExitCode.PERMISSION)))
        pushed = _level(rule.min_push)
        if pushed is not None and pushed > role:
            out.append(Finding(Level.WARNING, "protected-repository", f"rule `{rule.pattern}` limits pushes "
                               f"to {rule.min_push}; check that it allows restoring under {target}"))


def blocking(findings: Iterable[Finding], skip: Iterable[str] = ()) -> list[Finding]:
    skipped = set(skip)
    return [f for f in findings if f.level is Level.ERROR and f.code not in skipped]


# --- the plan ---------------------------------------------------------------------------------


def build_plan(inventory: Inventory, *, migration_id: str, created_at: str, target: str, mode: Mode,
               holding: str | None = None, backup_dir: str | None = None, remove_backup: bool = False,
               keep_records: bool = False, findings: Sequence[Finding] = ()) -> MigrationPlan:
    """`keep_records`: leave GitLab's (empty) repository records in place; they follow the
    project, so their ids stay, and no wait for GitLab's delete worker is needed."""
    source = inventory.project.full_path
    new_ns, new_path = split_full_path(target)
    old_ns, old_path = split_full_path(source)
    repos = inventory.repositories
    tagged = [i for i, r in enumerate(repos) if r.tags]
    steps: list[Step] = []
    holding_paths: dict[int, str] = {}

    if mode is Mode.HOLDING:
        if not holding:
            raise ValueError("a holding migration needs a holding project")
        holding_paths = {i: holding_path(holding, migration_id, i, repos[i].name) for i in tagged}
    if mode is not Mode.NATIVE or backup_dir:
        steps += [Step(f"backup:{i}", StepKind.BACKUP, i) for i in tagged]
    if mode is not Mode.NATIVE:
        steps += [Step(f"delete-tags:{i}", StepKind.DELETE_TAGS, i) for i in tagged]
        records = [] if keep_records else [i for i, r in enumerate(repos) if r.repository_id]
        if records:  # one step: GitLab's workers remove them in parallel, waiting once is enough
            steps.append(Step("delete-repositories", StepKind.DELETE_REPOSITORY, args={"repos": records}))
        steps.append(Step("wait-no-tags", StepKind.WAIT_NO_TAGS))
    if new_ns.lower() != old_ns.lower():
        steps.append(Step("transfer", StepKind.TRANSFER, args={"namespace": new_ns}))
    if new_path != old_path:
        steps.append(Step("rename", StepKind.RENAME, args={"path": new_path}))
    if mode is not Mode.NATIVE:
        steps += [Step(f"restore:{i}", StepKind.RESTORE, i, {"project_path": target}) for i in tagged]
        if mode is Mode.HOLDING:
            steps.append(Step("drop-holding", StepKind.DROP_HOLDING, args={"repos": tagged}))
    if backup_dir and remove_backup:
        steps.append(Step("remove-backup", StepKind.REMOVE_BACKUP))
    steps.append(Step("verify", StepKind.VERIFY, args={"project_path": target}))
    return MigrationPlan(migration_id, created_at, source, target, mode, inventory, tuple(steps),
                         holding if mode is Mode.HOLDING else None, holding_paths, backup_dir, tuple(findings))


def rollback_steps(plan: MigrationPlan, current_full_path: str) -> list[Step]:
    """After a refused move: restore under the path the project has now, drop the holding copies.

    In native mode nothing was deleted: GitLab moves the images with the project or not at all,
    so only the check is left."""
    if plan.mode is Mode.NATIVE:
        return [Step("rollback:verify", StepKind.VERIFY, args={"project_path": current_full_path})]
    tagged = [i for i, r in enumerate(plan.inventory.repositories) if r.tags]
    steps = [Step(f"rollback:restore:{i}", StepKind.RESTORE, i, {"project_path": current_full_path}) for i in tagged]
    if plan.mode is Mode.HOLDING and tagged:
        steps.append(Step("rollback:drop-holding", StepKind.DROP_HOLDING, args={"repos": tagged}))
    steps.append(Step("rollback:verify", StepKind.VERIFY, args={"project_path": current_full_path}))
    return steps


def copy_levels(repo: RepoInventory) -> list[list[Digest]]:
    """Manifests in copy order, grouped: each level only needs earlier levels.

    A registry checks that an index's children exist in the repository before it accepts the
    index (distribution's manifestlist handler), so children come first; a referrer comes after
    its subject, so a registry with the referrers API indexes it on push.
    """
    nodes = repo.manifests
    depth: dict[Digest, int] = {}

    def deps(node: ManifestNode) -> list[Digest]:
        found = [c for c in node.children if c in nodes]
        if node.subject and node.subject in nodes:
            found.append(node.subject)
        return found

    def visit(digest: Digest, trail: frozenset[Digest]) -> int:
        if digest in depth:
            return depth[digest]
        if digest in trail:  # a cycle cannot exist in content-addressed data; be safe anyway
            return 0
        below = [visit(d, trail | {digest}) for d in deps(nodes[digest])]
        depth[digest] = 1 + max(below, default=-1)
        return depth[digest]

    for digest in sorted(nodes):
        visit(digest, frozenset())
    levels: list[list[Digest]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for digest in sorted(nodes):
        levels[depth[digest]].append(digest)
    return levels


def tags_by_digest(repo: RepoInventory) -> dict[Digest, list[str]]:
    out: dict[Digest, list[str]] = {}
    for tag, digest in sorted(repo.tags.items()):
        out.setdefault(digest, []).append(tag)
    return out
