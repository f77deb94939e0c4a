"""A group cleanup dry-run (`glcr cleanup dry-run --group`) against the per-project loop a user
would write today (`for p in $projects; do glcr cleanup dry-run $p ...; done`), in the same run,
at 20 ms latency on every GitLab API answer and every registry request.

The loop is glcr's own single-project dry-run, not python-gitlab: python-gitlab has no cleanup
simulation, so a loop over it would first have to re-implement GitLab's policy (and would then be
slower still: one API call per tag). glcr per project is the fastest loop a user can write, so
the ratio is what `--group` adds (one process, one connection pool and token cache, projects
worked on 4 at a time), not what glcr adds over python-gitlab.

Both sides get the same policy as flags (`--name-regex v.* --keep-n 5`), so every project is
decided on both sides (a saved policy that is off would make the group run skip half the
projects, which the loop cannot). The loop's answers for the sampled projects are checked
against the group run's rows.

The group is built by seed_group (`glcr sandbox seed --projects N --tags M`): N projects x M
tags over a few shared images. The loop is timed on a sample of `--loop-sample` projects and
scaled to N (each of its iterations is the same work: a process start, one project's policy and
tags), so a 1,000-project comparison does not take an hour of the loop.

Memory as the group grows: the same group dry-run's peak RSS on a tenth, a half and all of the
group (`--shard 1/10`, `--shard 1/2`, the whole), in the same run. A group run keeps a small row a
project and one repository's tags at a time (glcr.api.group), so the peak should not grow with
the number of projects.

Run: .venv/bin/python bench/bench_group.py [--projects 1000] [--tags 20] [--loop-sample 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from sandbox_bench import glcr_env, running_sandbox, timed  # noqa: E402

from glcr_sandbox.seed import seed_group  # noqa: E402

GROUP = "fleet"
POLICY = ["--name-regex", "v.*", "--keep-n", "5"]  # on both sides: every project decided


def peak_rss_mib(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MiB, wall seconds) of one run of `cmd` (its own rusage, from wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 9):
        sys.exit(f"{' '.join(cmd[:6])}… failed ({proc.returncode})")
    return usage.ru_maxrss / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--loop-sample", type=int, default=20)
    args = parser.parse_args()
    # The registry relay's latency is on from the start (seeding goes around it); the API's is
    # turned on after seeding, so seeding is not slowed.
    with running_sandbox(0, registry_latency_ms=args.latency_ms) as (info, registry, _state):
        started = time.perf_counter()
        seeded = seed_group(info["url"], registry, token=info["root_token"], group=GROUP, projects=args.projects,
                            tags=args.tags)
        print(f"seeded {args.projects} projects x {args.tags} tags in {time.perf_counter() - started:.1f} s",
              flush=True)
        httpx.put(f"{info['url']}/-/sandbox/config", json={"latency_ms": args.latency_ms}, timeout=30).raise_for_status()
        env = glcr_env(info)
        group_s, proc = timed([sys.executable, "-m", "glcr", "cleanup", "dry-run", "--group", GROUP, *POLICY,
                               "-o", "json"], env, timeout=3600)
        rows = {r["project"]: r for r in (json.loads(line) for line in proc.stdout.splitlines() if line.strip())}
        assert len(rows) == args.projects and all(r["status"] == "done" for r in rows.values())
        sample = seeded["projects"][:: max(1, args.projects // args.loop_sample)][: args.loop_sample]
        loop_s = 0.0
        for path in sample:
            elapsed, one = timed([sys.executable, "-m", "glcr", "cleanup", "dry-run", path, *POLICY, "-o", "json"],
                                 env, timeout=600)
            loop_s += elapsed
            decided = json.loads(one.stdout)
            assert sum(d["action"] == "delete" for d in decided) == rows[path]["to_delete"], path
        loop_estimate = loop_s / len(sample) * args.projects
        print(f"group dry-run: {group_s:.1f} s for {args.projects} projects "
              f"({sum(r['to_delete'] for r in rows.values())} tags to delete)")
        print(f"per-project loop: {loop_s / len(sample):.2f} s a project over {len(sample)} projects, "
              f"{loop_estimate:.0f} s for {args.projects}")
        print(f"ratio: {loop_estimate / group_s:.1f}x")
        group_cmd = [sys.executable, "-m", "glcr", "cleanup", "dry-run", "--group", GROUP, *POLICY, "-o", "json"]
        for part, extra in (("a tenth", ["--shard", "1/10"]), ("a half", ["--shard", "1/2"]), ("all", [])):
            rss, wall = peak_rss_mib([*group_cmd, *extra], env)
            print(f"peak RSS, group dry-run on {part} of the projects: {rss:.0f} MiB ({wall:.1f} s)")

if __name__ == "__main__":
    main()
