"""Runs a migration plan step by step: journal `start`, do it, journal `done` (with what it found).

Every step is idempotent, so a step whose `start` has no `done` (the process was killed) is simply
run again by `--resume`: copies skip what is already there, deletes treat "already gone" as done,
transfer and rename first look where the project is now. A step that fails is journaled `failed`
and stops the run; `--resume` retries it. A move GitLab refuses (transfer or rename) is journaled
with a `rollback`: its steps restore every image under the project's current path (the original
one, when the transfer was refused) and drop the holding copies.

Test hook: GLCR_MIGRATE_CRASH="<step id or 1-based number>:<before|after>" ends the process
hard (os._exit, as a kill -9) right after the step's `start` entry (before) or after its work but
before its `done` entry (after).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator

from glcr.errors import (
    GlcrError, NotFoundError, PartialFailureError, PermissionDeniedError, RefusedError, StaleError,
)
from glcr.migrate.copy import (
    CopyStats, LayoutDest, LayoutSource, OciLayout, RegistryDest, RegistrySource, copy_repository,
    remove_layout,
)
from glcr.migrate.journal import MigrationDir
from glcr.migrate.model import (
    Event, MigrationPlan, Mode, RepoInventory, Step, StepKind, StepUpdate, repository_path, split_full_path,
)
from glcr.migrate.planner import rollback_steps
from glcr.migrate.replay import Progress, replay
from glcr.models import Digest, Repository
from glcr.api.tags import execute_delete, preview_delete, save_for_restore
from glcr.api.ui import UI, QuietUI
from glcr.registry.delete import (DeleteRequest, Outcome, PlaceholderCheck, TagDeleter, finish_placeholders,
                                  snapshot)
from glcr.registry.manifest import is_dummy_manifest
from glcr.transport.concurrency import gather_bounded

CRASH_ENV = "GLCR_MIGRATE_CRASH"
# GitLab deletes a repository record in a background worker; a busy Sidekiq takes minutes.
DEFAULT_WAIT_TIMEOUT = 600.0
# Polls start fast (an idle worker is done in well under a second) and back off to 5 s, so a
# long wait costs GitLab a request every few seconds, not a stream of them.
FIRST_POLL_INTERVAL = 0.1
MAX_POLL_INTERVAL = 5.0


class MoveRefusedError(RefusedError):
    """GitLab refused the transfer or rename; the images go back under the current path."""


@dataclass
class ExecOptions:
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    first_poll: float = FIRST_POLL_INTERVAL
    max_poll: float = MAX_POLL_INTERVAL
    crash: str | None = None  # the test hook, see the module docstring


class Executor:
    def __init__(self, session, directory: MigrationDir, plan: MigrationPlan, *,
                 ui: UI | None = None, options: ExecOptions | None = None) -> None:
        self.session = session
        self.dir = directory
        self.plan = plan
        self.ui: UI = ui or QuietUI()
        self.options = options or ExecOptions(crash=os.environ.get(CRASH_ENV))
        self.inventory = plan.inventory
        self.client = session.registry(plan.inventory.registry_host)
        self.jobs = session.settings.jobs
        self.layout = OciLayout(Path(plan.backup_dir)) if plan.backup_dir else None

    # --- the loop --------------------------------------------------------------------------

    async def run(self, *, abort: bool = False) -> Progress:
        progress = replay(self.plan, self.dir.entries())
        with self.dir.journal() as journal:
            if abort and progress.rolled_back is None and not progress.finished:
                current = await self._current_path()
                self._rollback(journal, "abort", f"aborted by the user; images go back under {current}", current)
                progress = replay(self.plan, self.dir.entries())
            while progress.pending:
                step = progress.pending[0]
                number = progress.steps.index(step) + 1
                total = len(progress.steps)
                journal.write(step.id, Event.START)
                self._tell(step, number, total, "start")
                self._maybe_crash(step, number, "before")
                try:
                    data = await self._run_step(step, progress)
                except MoveRefusedError as exc:
                    journal.write(step.id, Event.FAILED, exc.one_line())
                    current = await self._current_path()
                    self._rollback(journal, step.id, exc.one_line(), current)
                    self._tell(step, number, total, "refused", exc.one_line())
                    if self.plan.mode is Mode.NATIVE:  # nothing was copied or deleted
                        self.ui.note(f"GitLab refused to move the project in place ({exc.one_line()}); "
                                           f"nothing was deleted, the images are under {current}")
                    else:
                        self.ui.note(f"GitLab refused to move the project ({exc.one_line()}); putting every "
                                           f"image back under {current}")
                    progress = replay(self.plan, self.dir.entries())
                    continue
                except GlcrError as exc:
                    journal.write(step.id, Event.FAILED, exc.one_line())
                    self._tell(step, number, total, "failed", exc.one_line())
                    raise
                except OSError as exc:  # a full disk, a backup directory gone: say so, keep the journal
                    error = PartialFailureError(f"{step.id}: {type(exc).__name__}: {exc}")
                    journal.write(step.id, Event.FAILED, error.one_line())
                    self._tell(step, number, total, "failed", error.one_line())
                    raise error from None
                self._maybe_crash(step, number, "after")
                entry = journal.write(step.id, Event.DONE, data.pop("_detail", ""), data)
                progress.done[step.id] = entry
                progress.started.discard(step.id)
                self._tell(step, number, total, "done", entry.detail)
        return progress

    def _tell(self, step: Step, number: int, total: int, state: str, detail: str = "") -> None:
        self.ui.review(StepUpdate(self.plan, step, number, total, state, detail))

    def _rollback(self, journal, step_id: str, detail: str, current: str) -> None:
        steps = rollback_steps(self.plan, current)
        journal.write(step_id, Event.ROLLBACK, detail, {"path": current, "steps": [s.to_json() for s in steps]})

    def _maybe_crash(self, step: Step, number: int, phase: str) -> None:
        if not self.options.crash:
            return
        where, _, when = self.options.crash.rpartition(":")  # step ids contain colons
        if when == phase and where in (step.id, str(number)):
            os._exit(137)

    async def _current_path(self) -> str:
        data = await self.session.api.project(self.inventory.project.id)
        return data["path_with_namespace"]

    async def _run_step(self, step: Step, progress: Progress) -> dict[str, Any]:
        handler: Callable = {
            StepKind.BACKUP: self._backup,
            StepKind.DELETE_TAGS: self._delete_tags,
            StepKind.DELETE_REPOSITORY: self._delete_repository,
            StepKind.WAIT_NO_TAGS: self._wait_no_tags,
            StepKind.TRANSFER: self._transfer,
            StepKind.RENAME: self._rename,
            StepKind.RESTORE: self._restore,
            StepKind.DROP_HOLDING: self._drop_holding,
            StepKind.REMOVE_BACKUP: self._remove_backup,
            StepKind.VERIFY: self._verify,
        }[step.kind]
        return await handler(step, progress)

    def _repo(self, step: Step) -> RepoInventory:
        assert step.repo is not None
        return self.inventory.repositories[step.repo]

    # --- copies ----------------------------------------------------------------------------

    def _holding(self, step: Step) -> str:
        assert step.repo is not None
        return self.plan.holding_paths[step.repo]

    async def _copy(self, source, dest, repo: RepoInventory, description: str) -> dict[str, Digest]:
        with self.ui.progress(description) as counter:
            return await copy_repository(source, dest, repo, jobs=self.jobs, counter=counter)

    async def _backup(self, step: Step, progress: Progress) -> dict[str, Any]:
        repo = self._repo(step)
        source = RegistrySource(self.client, repo.path)
        with tempfile.TemporaryDirectory(prefix="glcr-migrate-") as workdir:
            if self.layout is not None:
                self.layout.init()
                dest: Any = LayoutDest(self.layout, repo.path)
                where = str(self.layout.root)
            else:
                dest = RegistryDest(self.client, self._holding(step), workdir=Path(workdir))
                where = self._holding(step)
            found = await self._copy(source, dest, repo, f"backing up {repo.path}")
        return self._copy_data(dest.stats, found, f"{len(found)} tag(s) verified in {where}")

    async def _restore(self, step: Step, progress: Progress) -> dict[str, Any]:
        repo = self._repo(step)
        target = repository_path(step.args["project_path"], repo.name)
        if self.plan.mode is Mode.HOLDING:
            source: Any = RegistrySource(self.client, self._holding(step))
        else:
            assert self.layout is not None
            source = LayoutSource(self.layout)
        # A delete killed half-way leaves tags on its placeholder: finish it, then copy back.
        await finish_placeholders(self.client, target, self.jobs, repo.tags)
        with tempfile.TemporaryDirectory(prefix="glcr-migrate-") as workdir:
            dest = RegistryDest(self.client, target, workdir=Path(workdir))
            found = await self._already_there(dest, repo)
            if found is None:
                found = await self._copy(source, dest, repo, f"restoring {target}")
        return self._copy_data(dest.stats, found, f"{len(found)} tag(s) at {target}, every digest as before")

    async def _already_there(self, dest: RegistryDest, repo: RepoInventory) -> dict[str, Digest] | None:
        """Every tag and manifest already at the destination (an abort before any delete, or a
        restore that finished just before a kill): nothing to copy, and nothing needed from the
        holding place, which may never have been filled."""
        try:
            if not set(repo.tags) <= set(await self.client.list_tags(dest.path)):
                return None
            found = await dest.found_tags(repo, self.jobs)
        except (PartialFailureError, PermissionDeniedError, NotFoundError):
            return None
        return found if all(found.get(t) == d for t, d in repo.tags.items()) else None

    @staticmethod
    def _copy_data(stats: CopyStats, found: dict[str, Digest], detail: str) -> dict[str, Any]:
        return {"tags": found, **stats.to_json(), "_detail": detail}

    # --- deletes ---------------------------------------------------------------------------

    def _repository_model(self, repo: RepoInventory) -> Repository:
        return Repository(id=repo.repository_id, name=repo.name, path=repo.path,
                          project_id=self.inventory.project.id, location=f"{self.inventory.registry_host}/{repo.path}")

    async def _check_unchanged(self, step: Step, progress: Progress) -> None:
        """Before the first delete, every repository; before each later one, its own: it still has
        exactly the planned tags (a tag pushed since would block the move, a moved one be lost)."""
        first = not any(s.kind is StepKind.DELETE_TAGS and s.id in progress.done for s in progress.steps)
        for index, repo in enumerate(self.inventory.repositories):
            if not repo.tags or f"delete-tags:{index}" in progress.done or (not first and index != step.repo):
                continue
            now = await snapshot(self.client, repo.path, self.jobs)
            extra = sorted(t for t in now if t not in repo.tags)
            moved = [t for t, d in now.items() if t in repo.tags and repo.tags[t] != d]
            # A killed delete's placeholders, one read per distinct digest, not one per tag.
            held = await PlaceholderCheck(self.client, repo.path, self.jobs).many([now[t] for t in moved])
            moved = sorted(t for t in moved if now[t] not in held)
            if extra or moved:
                example = (extra or moved)[0]
                raise StaleError(
                    f"{repo.path} changed since the plan: {len(extra)} new tag(s), {len(moved)} moved "
                    f"(e.g. {example}); nothing more is deleted",
                    hint="`glcr migrate-project --resume --abort` puts back what was deleted; then start again")

    async def _is_placeholder(self, path: str, digest: Digest) -> bool:
        """A tag left on a delete placeholder by a killed delete: the delete re-run finishes it."""
        try:
            return is_dummy_manifest(await self.client.get_manifest(path, digest))
        except GlcrError:
            return False

    async def _delete_tags(self, step: Step, progress: Progress) -> dict[str, Any]:
        repo = self._repo(step)
        await self._check_unchanged(step, progress)
        requests = [DeleteRequest(tag, digest) for tag, digest in sorted(repo.tags.items())]
        model = self._repository_model(repo)
        if repo.repository_id:
            preview = await preview_delete(self.session, model, requests)
            # Saved beside the migration's journal first, so `glcr tags restore` can undo it too.
            from glcr.plan.backup import backup_path

            await save_for_restore(self.session, preview, backup_path(self.dir.journal_path), self.dir.id)
            report = await execute_delete(self.session, preview)
            results, damage, method = report.results, report.damage, report.method
        else:  # no GitLab record: straight to the registry
            kind = await self.client.kind(repo.path)
            deleter = TagDeleter(self.client, repo.path, kind, jobs=self.jobs)
            before = await snapshot(self.client, repo.path, self.jobs)
            results = await deleter.delete(requests, before)
            results, damage = await deleter.verify(results, before)
            method = "registry"
        bad = [r for r in results if r.outcome in (Outcome.FAILED, Outcome.STALE)]
        if bad or damage:
            first = bad[0] if bad else None
            raise PartialFailureError(
                f"deleting tags of {repo.path}: {len(bad)} failed, {len(damage)} other tag(s) changed"
                + (f" ({first.tag}: {first.detail})" if first else ""), hint="fix it and re-run with --resume")
        left = await self.client.list_tags(repo.path)
        if left:
            raise StaleError(f"{repo.path} still has {len(left)} tag(s) after the delete, e.g. {left[0]}")
        deleted = sum(1 for r in results if r.outcome is Outcome.DELETED)
        if step.id in progress.started:  # a killed run deleted the rest: count the whole step
            deleted = len(results)
        return {"deleted": deleted, "already_absent": len(results) - deleted, "method": method,
                "_detail": f"{deleted} tag(s) deleted from {repo.path} ({method})"}

    def _polls(self) -> Iterator[float]:
        """Waits between polls, until the timeout: 0.1 s, doubling up to 5 s."""
        deadline = time.monotonic() + self.options.wait_timeout
        wait = self.options.first_poll
        while True:  # at least one check, however short the timeout
            yield wait
            if time.monotonic() >= deadline:
                return
            wait = min(wait * 2, self.options.max_poll)

    async def _wait_repository_gone(self, repository_id: int, path: str) -> None:
        for wait in self._polls():
            if await self.session.api.repository_status(repository_id) is None:
                return
            await asyncio.sleep(wait)
        raise RefusedError(f"GitLab has not removed the repository record of {path} after "
                           f"{self.options.wait_timeout:.0f}s", hint="re-run with --resume later")

    async def _delete_repository(self, step: Step, progress: Progress) -> dict[str, Any]:
        repos = [self.inventory.repositories[i] for i in step.args["repos"]]

        async def one(repo: RepoInventory) -> None:
            current = await self.session.api.repository_status(repo.repository_id)
            if current is None:
                return  # gone already (an earlier run)
            if current.project_id != self.inventory.project.id:
                raise StaleError(f"repository record {repo.repository_id} is no longer {repo.path}")
            if current.status is None:
                left = await self.client.list_tags(repo.path)
                if left:  # GitLab would delete these with the record: never
                    raise StaleError(f"{repo.path} has tags again ({left[0]}); not deleting its record")
                await self.session.api.delete_repository(current)
            await self._wait_repository_gone(repo.repository_id, repo.path)

        await gather_bounded(self.jobs, [partial(one, r) for r in repos])
        return {"_detail": f"{len(repos)} empty repository record(s) removed"}

    async def _wait_no_tags(self, step: Step, progress: Progress) -> dict[str, Any]:
        """GitLab's own check (has_container_registry_tags?) asks the registry for every repository
        record and the root path; wait until it would answer "no"."""
        project = self.inventory.project
        root = project.full_path.lower()
        left: dict[str, list[str]] = {}
        for wait in self._polls():
            repos = await self.session.api.project_repositories(project.id, tags_count=True)
            paths = {r.path for r in repos} | {root} | {r.path for r in self.inventory.repositories}
            left = {}
            for path in sorted(paths):
                tags = await self.client.list_tags(path)
                if tags:
                    left[path] = tags
            if not left:
                return {"_detail": "GitLab reports no tags for the project"}
            await asyncio.sleep(wait)
        path, tags = next(iter(left.items()))
        raise StaleError(f"{path} still has {len(tags)} tag(s), e.g. {tags[0]}",
                         hint="someone pushed during the migration? delete them or --abort, then --resume")

    # --- the move --------------------------------------------------------------------------

    async def _move(self, doing: str, call) -> dict:
        try:
            return await call()
        except (RefusedError, PermissionDeniedError, NotFoundError) as exc:
            raise MoveRefusedError(exc.message, hint=exc.hint) from None

    async def _transfer(self, step: Step, progress: Progress) -> dict[str, Any]:
        namespace = step.args["namespace"]
        project_id = self.inventory.project.id
        data = await self.session.api.project(project_id)
        now = split_full_path(data["path_with_namespace"])[0]
        if now.lower() == namespace.lower():
            return {"path": data["path_with_namespace"], "_detail": f"already in {namespace}"}
        if now.lower() != split_full_path(self.plan.source)[0].lower():
            raise StaleError(f"the project is now in {now}, neither {split_full_path(self.plan.source)[0]} "
                             f"nor {namespace}; someone else moved it")
        data = await self._move("transfer",
                                lambda: self.session.rest.transfer_project(project_id, namespace))
        return {"path": data.get("path_with_namespace"), "_detail": f"moved to {data.get('path_with_namespace')}"}

    async def _rename(self, step: Step, progress: Progress) -> dict[str, Any]:
        path = step.args["path"]
        project_id = self.inventory.project.id
        data = await self.session.api.project(project_id)
        if data.get("path") == path:
            return {"path": data["path_with_namespace"], "_detail": f"path is already {path}"}
        data = await self._move("rename",
                                lambda: self.session.rest.update_project(project_id, {"path": path}))
        return {"path": data.get("path_with_namespace"), "_detail": f"renamed to {data.get('path_with_namespace')}"}

    # --- after the move --------------------------------------------------------------------

    def _restored_path(self, index: int, progress: Progress) -> str:
        restore = next(s for s in reversed(progress.steps) if s.kind is StepKind.RESTORE and s.repo == index)
        if restore.id not in progress.done:
            raise PartialFailureError(f"{restore.id} is not done; the holding copies stay")
        return repository_path(restore.args["project_path"], self.inventory.repositories[index].name)

    async def _drop_holding(self, step: Step, progress: Progress) -> dict[str, Any]:
        indices = list(step.args["repos"])
        for index in indices:  # never drop the last copy of an image: re-check every restore first
            repo = self.inventory.repositories[index]
            restored = self._restored_path(index, progress)
            now = await snapshot(self.client, restored, self.jobs, list(repo.tags))
            wrong = [t for t, d in repo.tags.items() if now.get(t) != d]
            if wrong:
                raise PartialFailureError(f"{restored}:{wrong[0]} does not have its original digest; "
                                          "the holding copies stay")
        records = {r.path: r for r in await self._holding_records()}

        async def one(index: int) -> None:
            repo = self.inventory.repositories[index]
            holding = self.plan.holding_paths[index]
            record = records.get(holding)
            requests = [DeleteRequest(tag, digest) for tag, digest in sorted(repo.tags.items())]
            if record is not None:
                report = await execute_delete(self.session, await preview_delete(self.session, record, requests))
                results = report.results
            else:
                kind = await self.client.kind(holding)
                deleter = TagDeleter(self.client, holding, kind, jobs=self.jobs)
                before = await snapshot(self.client, holding, self.jobs)
                results, _ = await deleter.verify(await deleter.delete(requests, before), before)
            failed = [r for r in results if r.outcome is Outcome.FAILED]
            if failed:
                raise PartialFailureError(f"deleting the holding copy {holding}:{failed[0].tag}: {failed[0].detail}")
            if record is not None and not await self.client.list_tags(holding):
                await self.session.api.delete_repository(record)
                await self._wait_repository_gone(record.id, holding)

        await gather_bounded(self.jobs, [partial(one, i) for i in indices])
        return {"_detail": f"{len(indices)} holding cop{'y' if len(indices) == 1 else 'ies'} removed"}

    async def _holding_records(self) -> list[Repository]:
        if not self.plan.holding_project:
            return []
        try:
            return await self.session.api.project_repositories(self.plan.holding_project, tags_count=False)
        except NotFoundError:
            return []

    async def _remove_backup(self, step: Step, progress: Progress) -> dict[str, Any]:
        if self.layout is not None:
            remove_layout(self.layout.root)
        return {"_detail": f"backup directory {self.plan.backup_dir} removed"}

    async def _verify(self, step: Step, progress: Progress) -> dict[str, Any]:
        final = step.args["project_path"]
        found: dict[str, dict[str, Digest]] = {}
        leftover: dict[str, list[str]] = {}
        problems = []
        for index, repo in enumerate(self.inventory.repositories):
            path = repository_path(final, repo.name)
            now = await snapshot(self.client, path, self.jobs)
            found[path] = now
            wrong = sorted(t for t, d in repo.tags.items() if now.get(t) != d)
            if wrong:
                problems.append(f"{path}:{wrong[0]} is {(now.get(wrong[0]) or 'missing')[:19]}, "
                                f"was {repo.tags[wrong[0]][:19]}")
            for old in {p for p in (repo.path, self.plan.holding_paths.get(index)) if p is not None} - {path}:
                try:
                    tags = await self.client.list_tags(old)
                except (PermissionDeniedError, NotFoundError):
                    continue  # no project there any more: GitLab grants nothing, nothing is served
                if tags:
                    leftover[old] = tags
        for old, tags in sorted(leftover.items()):
            problems.append(f"{old} still has {len(tags)} tag(s), e.g. {tags[0]}")
        if problems:
            raise PartialFailureError(f"verification failed: {problems[0]}"
                                      + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        count = sum(len(r.tags) for r in self.inventory.repositories)
        return {"found": found, "_detail": f"{count} tag(s) at {final} with their original digests"}
