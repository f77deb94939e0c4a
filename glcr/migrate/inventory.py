"""Reads, before anything changes: the project's inventory and the facts the preflight checks.

The inventory is every repository, tag and digest, with every manifest reachable from a tag:
index children (recursively), and referrers (OCI artifacts with a `subject`), found through
their tags, through `sha256-<hex>` referrers-tag indexes (which are tags, and whose entries are
index children), or through the registry's referrers API when it has one.
"""

from __future__ import annotations

import json
import os
import shutil
from functools import partial
from pathlib import Path
from typing import Callable

from glcr.errors import AuthError, GlcrError, NotFoundError, PermissionDeniedError
from glcr.migrate.model import (
    BlobRef, HoldingFacts, Inventory, ManifestNode, PreflightFacts, ProjectRef, RepoInventory, Rule, repository_path,
    split_full_path,
)
from glcr.models import Digest, Manifest
from glcr.api.tags import registry_path
from glcr.registry.client import RegistryClient
from glcr.transport.concurrency import gather_bounded

Tick = Callable[[], None]


def node_from_manifest(manifest: Manifest) -> ManifestNode:
    blobs = ((manifest.config,) if manifest.config else ()) + manifest.layers
    try:
        artifact_type = json.loads(manifest.raw).get("artifactType")
    except ValueError:
        artifact_type = None
    return ManifestNode(
        digest=manifest.digest, media_type=manifest.media_type, size=len(manifest.raw),
        blobs=tuple(BlobRef(b.digest, b.size, b.media_type) for b in blobs),
        children=tuple(c.digest for c in manifest.children),
        subject=manifest.subject.digest if manifest.subject else None,
        artifact_type=artifact_type if isinstance(artifact_type, str) else None,
    )


async def _probe_referrers(session, client: RegistryClient, path: str, digest: Digest) -> bool:
    try:
        return await client.referrers(path, digest) is not None
    except GlcrError:
        return False


async def read_repository(session, client: RegistryClient, path: str, *, name: str, repository_id: int,
                          status: str | None, use_referrers_api: bool, problems: list[str],
                          tick: Tick | None = None) -> RepoInventory:
    jobs = session.settings.jobs
    tags = await client.list_tags(path)

    async def head(tag: str):
        found = await client.head_manifest(path, tag)
        if tick:
            tick()
        return tag, found

    heads = await gather_bounded(jobs, [partial(head, t) for t in tags])
    tag_digests = {t: h.digest for t, h in heads if h is not None}  # a tag deleted meanwhile drops out
    nodes: dict[Digest, ManifestNode] = {}
    frontier = sorted(set(tag_digests.values()))
    while frontier:
        async def fetch(digest: Digest):
            try:
                return digest, node_from_manifest(await client.get_manifest(path, digest))
            except NotFoundError:
                return digest, None

        fetched = await gather_bounded(jobs, [partial(fetch, d) for d in frontier])
        following: set[Digest] = set()
        for digest, node in fetched:
            if node is None:
                problems.append(f"{path}@{digest[:19]} is referenced but missing from the registry")
                continue
            nodes[digest] = node
            following.update(node.children)
        if use_referrers_api:
            async def refs(digest: Digest):
                return await client.referrers(path, digest) or []

            lists = await gather_bounded(jobs, [partial(refs, d) for d, n in fetched if n is not None])
            following.update(entry["digest"] for entries in lists for entry in entries)
        frontier = sorted(following - set(nodes) - {d for d, n in fetched if n is None})
    return RepoInventory(name, path, repository_id, tag_digests, nodes, status)


async def read_inventory(session, project_ref: str, *, tick: Tick | None = None,
                         problems: list[str] | None = None) -> Inventory:
    problems = problems if problems is not None else []
    data = await session.api.project(project_ref)
    project = ProjectRef(int(data["id"]), data["path_with_namespace"],
                         (data.get("namespace") or {}).get("full_path") or split_full_path(data["path_with_namespace"])[0],
                         data.get("path") or split_full_path(data["path_with_namespace"])[1])
    repos = await session.api.project_repositories(project.id, tags_count=False)
    prefix = data.get("container_registry_image_prefix") or ""
    host = repos[0].registry_host if repos else prefix.split("/", 1)[0]
    if not host:
        raise NotFoundError(f"project {project.full_path} has no container registry",
                            hint="is the registry enabled for the project?")
    client = session.registry(host)
    kind = await client.kind(registry_path(repos[0]) if repos else project.full_path.lower())
    use_api, probed = False, False
    read: list[RepoInventory] = []
    for repo in sorted(repos, key=lambda r: r.path):
        path = registry_path(repo)
        args = dict(name=repo.name, repository_id=repo.id, status=repo.status, problems=problems)
        inv = await read_repository(session, client, path, use_referrers_api=use_api, tick=tick, **args)
        if inv.manifests and not probed:  # probe the referrers API once, with a digest that exists
            probed = True
            use_api = await _probe_referrers(session, client, path, sorted(inv.manifests)[0])
            if use_api:  # read this repository again, now following the referrers API
                inv = await read_repository(session, client, path, use_referrers_api=True, **args)
        read.append(inv)
    return Inventory(project, host, kind.gitlab_api, kind.tag_delete, use_api, tuple(read))


async def _tag_count(client: RegistryClient, path: str) -> int | None:
    try:
        return len(await client.list_tags(path))
    except (PermissionDeniedError, AuthError, NotFoundError):
        return None  # no project at that path yet: GitLab grants nothing there


def _repository_rules(data: list[dict] | None) -> tuple[Rule, ...] | None:
    if data is None:
        return None
    return tuple(Rule(str(d.get("repository_path_pattern") or ""), d.get("minimum_access_level_for_push"),
                      d.get("minimum_access_level_for_delete")) for d in data)


async def read_facts(session, inventory: Inventory, *, target: str, holding: str | None,
                     backup_dir: str | None, problems: list[str] | None = None) -> PreflightFacts:
    from glcr.gitlab.protection import read_caller, read_protection

    project = inventory.project
    client = session.registry(inventory.registry_host)
    user = await session.api.current_user()
    scopes = await session.api.token_scopes()
    # The role as GitLab computes it (glcr.gitlab.caller): invited groups count, and an
    # administrator acts as one only in Admin Mode (with it on, a token needs the admin_mode scope).
    caller = await read_caller(session.api, session.memo, project.id)
    access = caller.level or 0

    new_ns, _ = split_full_path(target)
    old_ns, _ = split_full_path(project.full_path)
    ns_found = ns_access = None
    if new_ns.lower() != old_ns.lower():
        ns = await session.api.namespace(new_ns)
        ns_found = ns is not None
        ns_access = await session.api.namespace_access(ns, user) if ns else None
    other = await session.api.project_or_none(target)
    taken = other is not None and int(other.get("id", 0)) != project.id

    target_tags: dict[str, int] = {}
    for repo in inventory.repositories:
        new = repository_path(target, repo.name)
        if new != repo.path:
            count = await _tag_count(client, new)
            if count:
                target_tags[new] = count
    actions = "delete" if inventory.tag_delete else "pull,push,delete"
    granted = {}
    for repo in inventory.repositories:
        if repo.tags:
            granted[repo.path] = await session.registry_grants(inventory.registry_host, repo.path, actions)

    holding_facts = None
    if holding:
        hdata = await session.api.project_or_none(holding)
        if hdata is None:
            holding_facts = HoldingFacts(holding, False)
        else:
            hprefix = hdata.get("container_registry_image_prefix") or ""
            # `delete` only: asking for `push` would make GitLab create a repository record.
            try:
                hgrant = await session.registry_grants(inventory.registry_host, hdata["path_with_namespace"].lower(),
                                                       "delete")
            except GlcrError:
                hgrant = None
            hrules = await read_protection(session.api, session.memo, int(hdata["id"]), quiet=True, session=session)
            haccess = (await read_caller(session.api, session.memo, int(hdata["id"]))).level or 0
            holding_facts = HoldingFacts(holding, True, int(hdata["id"]), hprefix.split("/", 1)[0] or None, hgrant,
                                         hrules.rules if hrules.readable else None, haccess, hrules.note)

    free = conflict = None
    if backup_dir:
        free, conflict = _backup_dir_facts(Path(backup_dir))
    protection = await read_protection(session.api, session.memo, project.id, quiet=True,
                                       session=session)  # the preflight says it once
    tag_rules = protection.rules if protection.readable else None
    repo_rules = _repository_rules(await session.api.protection_rules(project.id, "repository"))
    return PreflightFacts(
        token_scopes=scopes, is_admin=caller.admin, project_access=access,
        target_namespace_found=ns_found, target_namespace_access=ns_access, target_project_taken=taken,
        target_registry_tags=target_tags, delete_granted=granted, holding=holding_facts,
        backup_dir=backup_dir, backup_dir_free=free, backup_dir_conflict=conflict,
        tag_rules=tag_rules, tag_rules_note=protection.note, repository_rules=repo_rules, problems=tuple(problems or ()),
    )


def _backup_dir_facts(root: Path) -> tuple[int | None, str | None]:
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free if existing.exists() else None
    if root.exists():
        if not root.is_dir():
            return free, f"{root} exists and is not a directory"
        if any(root.iterdir()) and not (root / "oci-layout").exists():
            return free, f"{root} is not empty and not an OCI image layout; give an empty or new directory"
        if not os.access(root, os.W_OK):
            return free, f"{root} is not writable"
    elif not os.access(existing, os.W_OK):
        return free, f"cannot create {root}: {existing} is not writable"
    return free, None
