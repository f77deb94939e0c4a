"""Presentation of a migration: the preflight (stderr), progress (stderr, bars only on a TTY),
and the final report and status (stdout: a table, or JSON with `-o json`). No logic: it reads
plans and progress.
"""

from __future__ import annotations

from typing import Any, Sequence

from glcr.migrate.model import Finding, Level, MigrationPlan, Step, StepKind, StepUpdate
from glcr.migrate.replay import Progress
from glcr.migrate.report import report_rows
from glcr.reference import short_digest
from glcr.render.format import OutputFormat, human_size
from glcr.render.output import write_json, write_plain, write_table

LEVEL_STYLE = {Level.ERROR: "red", Level.WARNING: "yellow", Level.INFO: "dim"}


def describe_step(step: Step, plan: MigrationPlan) -> str:
    repo = plan.inventory.repositories[step.repo] if step.repo is not None else None
    name = (repo.path if repo else "")
    holding = plan.holding_paths.get(step.repo) if step.repo is not None else None
    where = holding or plan.backup_dir or "?"
    if repo is not None and step.kind is StepKind.BACKUP:
        return f"copy {len(repo.tags)} tag(s) of {name} to {where} and verify"
    if repo is not None and step.kind is StepKind.DELETE_TAGS:
        return f"delete {len(repo.tags)} tag(s) from {name}"
    if step.kind is StepKind.DELETE_REPOSITORY:
        return f"remove {len(step.args['repos'])} empty repository record(s)"
    if step.kind is StepKind.WAIT_NO_TAGS:
        return "wait until GitLab reports no tags"
    if step.kind is StepKind.TRANSFER:
        return f"transfer the project to {step.args['namespace']}"
    if step.kind is StepKind.RENAME:
        return f"change the project's path to {step.args['path']}"
    if repo is not None and step.kind is StepKind.RESTORE:
        from glcr.migrate.model import repository_path

        return f"restore {len(repo.tags)} tag(s) at {repository_path(step.args['project_path'], repo.name)} and verify"
    if step.kind is StepKind.DROP_HOLDING:
        held = [plan.holding_paths.get(i, "?") for i in step.args.get("repos", [])]
        return f"remove the holding copies {', '.join(held)}"
    if step.kind is StepKind.REMOVE_BACKUP:
        return f"remove the backup directory {plan.backup_dir}"
    return f"verify every tag under {step.args.get('project_path')}"


def _step_detail(progress: Progress, step: Step) -> str:
    """What the journal says of a finished or failed step ("" for the others)."""
    entry = progress.done.get(step.id) or progress.failed.get(step.id)
    return entry.detail if entry is not None else ""


def render_preflight(plan: MigrationPlan, findings: Sequence[Finding], console) -> None:
    inv = plan.inventory
    console.print(f"[bold]{plan.source}[/bold] -> [bold]{plan.target}[/bold]   registry {inv.registry_host} "
                  f"({'GitLab metadata DB' if inv.gitlab_api else 'third-party'}), mode: {plan.mode.value}")
    for repo in inv.repositories:
        untagged = len(set(repo.manifests) - set(repo.tags.values()))
        referrers = sum(1 for m in repo.manifests.values() if m.subject)
        console.print(f"  {repo.path or '(root)'}: {len(repo.tags)} tag(s), {len(set(repo.tags.values()))} "
                      f"digest(s), {untagged} untagged manifest(s) ({referrers} referrer(s)), "
                      f"{human_size(repo.size)}")
    console.print(f"  total: {len(inv.repositories)} repositories, {inv.tag_count} tag(s), {human_size(inv.size)}")
    for finding in findings:
        style = LEVEL_STYLE[finding.level]
        console.print(f"  [{style}]{finding.level.value}[/{style}] [{finding.code}] {finding.message}",
                      highlight=False)


def render_steps(plan: MigrationPlan, progress: Progress | None, console) -> None:
    for number, step in enumerate(progress.steps if progress else plan.steps, start=1):
        state = progress.state(step) if progress else "planned"
        console.print(f"  {number:>2}. [{state}] {describe_step(step, plan)}", highlight=False)


def plan_json(plan: MigrationPlan, progress: Progress | None = None) -> dict[str, Any]:
    route = next((f.message for f in plan.findings if f.code == "route"), None)
    data = {"id": plan.id, "source": plan.source, "target": plan.target, "mode": plan.mode.value, "route": route,
            "continues": plan.continues,
            "holding_project": plan.holding_project, "backup_dir": plan.backup_dir,
            "repositories": [{"path": r.path, "tags": r.tags, "manifests": len(r.manifests), "bytes": r.size}
                             for r in plan.inventory.repositories],
            "findings": [f.to_json() for f in plan.findings],
            "steps": [{"id": s.id, "kind": s.kind.value, "description": describe_step(s, plan),
                       **({"state": progress.state(s)} if progress else {})}
                      for s in (progress.steps if progress else plan.steps)]}
    if progress is not None:
        data["state"] = state_name(progress)
    return data


def state_name(progress: Progress) -> str:
    if progress.fallback is not None:
        return f"refused in place; continued by {progress.fallback.data.get('id')}"
    if progress.finished:
        return "rolled back" if progress.rolled_back else "done"
    if progress.failed:
        return "failed"
    return "rolling back" if progress.rolled_back else "unfinished"


def render_dry_run(plan: MigrationPlan, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.JSON:
        write_json(plan_json(plan))
    elif fmt is OutputFormat.PLAIN:
        write_plain(describe_step(s, plan) for s in plan.steps)
    else:
        write_table(None, ["#", "STEP"], [(n, describe_step(s, plan)) for n, s in enumerate(plan.steps, 1)],
                    justify_right=["#"])


def render_report(plan: MigrationPlan, progress: Progress, fmt: OutputFormat) -> None:
    rows, checks = report_rows(plan, progress)
    if fmt is OutputFormat.JSON:
        write_json({**plan_json(plan, progress),
                    "report": [vars(r) for r in rows],
                    "tags": [{"repository": c.repository, "tag": c.tag, "old": c.old, "new": c.new,
                              "verified": c.ok} for c in checks]})
        return
    if fmt is OutputFormat.PLAIN:
        write_plain(f"{c.repository}:{c.tag} {c.old} {c.new or '-'} {'ok' if c.ok else 'MISMATCH'}" for c in checks)
        return
    write_table(f"Migration {plan.id}: {state_name(progress)}",
                ["REPOSITORY", "NOW AT", "TAGS", "BYTES", "VERIFIED", "UPLOADED"],
                [(r.old_path, r.new_path, r.tags, human_size(r.bytes), f"{r.verified}/{r.tags}",
                  human_size(r.uploaded)) for r in rows], justify_right=["TAGS", "BYTES", "VERIFIED", "UPLOADED"])
    write_table(None, ["IMAGE", "OLD DIGEST", "NEW DIGEST", "OK"],
                [(f"{c.repository}:{c.tag}", short_digest(c.old), short_digest(c.new), "yes" if c.ok else "NO")
                 for c in checks])


def render_status(items: Sequence[tuple[MigrationPlan, Progress]], fmt: OutputFormat, console) -> None:
    if fmt is OutputFormat.JSON:
        write_json([plan_json(plan, progress) for plan, progress in items])
        return
    if len(items) == 1:
        plan, progress = items[0]
        write_table(None, ["MIGRATION", "FROM", "TO", "MODE", "STATE"],
                    [(plan.id, plan.source, plan.target, plan.mode.value, state_name(progress))])
        write_table(None, ["#", "STEP", "STATE", "DETAIL"],
                    [(n, describe_step(s, plan), progress.state(s), _step_detail(progress, s))
                     for n, s in enumerate(progress.steps, 1)], justify_right=["#"])
        return
    write_table(None, ["MIGRATION", "FROM", "TO", "MODE", "STATE", "STEPS DONE"],
                [(p.id, p.source, p.target, p.mode.value, state_name(pr), f"{len(pr.done)}/{len(pr.steps)}")
                 for p, pr in items])


def render_step_update(update: StepUpdate, console) -> None:
    """A step's line on stderr as it starts (`[3/9] delete 4 tag(s) from g/app`), its detail as it ends."""
    if update.state == "start":
        console.print(f"[{update.number}/{update.total}] {describe_step(update.step, update.plan)}", highlight=False)
    elif update.state == "done":
        if update.detail:
            console.print(f"      [green]done[/green]: {update.detail}", highlight=False)
    else:
        console.print(f"      [red]{update.state}[/red]: {update.detail}", highlight=False)
