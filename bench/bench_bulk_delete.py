"""Delete 1,000 tags named in a list through the sandbox at 20 ms injected API latency:
`glcr tags apply --from-file list.txt --yes` beside the docs' loop (one curl DELETE per tag,
then `sleep 0.1`), in the same run, as a ratio.

Targets: glcr at least 30x faster, and on GitLab's registry (tag-only deletes, `--registry
gitlab`, the default) within 1.5x of the floor 1,000 / registry-jobs x one registry round trip
(the round trip measured in the same run). The curl loop takes about 2-3 minutes for 1,000 tags,
so by default it runs on the first --curl-sample tags and its per-tag time is scaled up (printed
as such); --full runs it on all of them.

On GitLab's registry glcr re-reads the tags before deleting them, in windows of names with one
tag-list request each (registry/delete.py). The strategy it replaced, a HEAD per tag right
before its DELETE, runs in the same run as a second baseline on its own repository: this file
runs glcr with TagDeleter's windowed route pointed at the HEAD-per-tag route (which glcr keeps
for registries with tag delete but no GitLab API), so it needs no old copy of glcr.
Run: .venv/bin/python bench/bench_bulk_delete.py [--registry gitlab|distribution]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# `python bench/bench_bulk_delete.py --glcr-head-per-tag ARGS...` is glcr with the HEAD-per-tag
# strategy on GitLab's registry: the baseline the windowed re-read is measured against.
HEAD_PER_TAG = "--glcr-head-per-tag"
if __name__ == "__main__" and sys.argv[1:2] == [HEAD_PER_TAG]:
    from glcr.registry.delete import TagDeleter

    async def _head_per_tag(self, todo, before, progress):
        return await self._delete_by_tag(todo, before, progress)

    TagDeleter._delete_in_windows = _head_per_tag  # type: ignore[method-assign]
    sys.argv = ["glcr", *sys.argv[2:]]
    from glcr.cli.entry import main as glcr_main

    glcr_main()
    sys.exit(0)

from sandbox_bench import ensure_project, glcr_env, running_sandbox  # noqa: E402

from glcr_sandbox.seed import seed_many_tags  # noqa: E402

# Against the docs' curl loop, on either registry kind (issue 8).
TARGETS = {"gitlab": 50, "gitlab-legacy": 30, "distribution": 30}
DOCS_LOOP = r"""
while read -r LINE || [[ -n $LINE ]]; do echo ${LINE}; curl --silent --request DELETE --header "PRIVATE-TOKEN: $TOKEN" "$API/projects/$PROJECT_ID/registry/repositories/$REPO_ID/tags/${LINE}"; sleep 0.1; echo; done < "$LIST" > "$LOG"
"""


def repository_ids(url: str, token: str, path: str) -> tuple[int, int]:
    import httpx

    headers = {"PRIVATE-TOKEN": token}
    project = httpx.get(f"{url}/api/v4/projects/{path.replace('/', '%2F')}", headers=headers).json()
    repos = httpx.get(f"{url}/api/v4/projects/{project['id']}/registry/repositories", headers=headers).json()
    return project["id"], next(r["id"] for r in repos if r["path"] == path)


@dataclass
class Run:
    """One `glcr tags apply` of the list: seconds, and what it sent to the registry."""

    label: str
    seconds: float
    deletes: int = 0
    delete_phase: float = 0.0  # from the first DELETE sent to the last answered
    heads: int = 0
    tag_reads: int = 0  # tag-list requests, the snapshot and verification included


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registry", choices=sorted(TARGETS), default="gitlab")
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20, help="on every GitLab API answer")
    parser.add_argument("--registry-latency-ms", type=int, default=20,
                        help="on every registry request too, so going to the registry is no free lunch")
    parser.add_argument("--curl-sample", type=int, default=100)
    parser.add_argument("--full", action="store_true", help="run the curl loop on every tag")
    parser.add_argument("--registry-jobs", type=int, default=16, help="glcr --registry-jobs")
    parser.add_argument("--rounds", type=int, default=1,
                        help="on GitLab's registry: times to run both strategies, alternating (median shown)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="glcr-bench-delete-"))
    both = args.registry == "gitlab"  # the HEAD-per-tag baseline only differs where windows apply
    strategies = ["windowed", "head-per-tag"] if both else ["glcr"]
    rounds = args.rounds if both else 1

    with running_sandbox(args.latency_ms, args.registry_latency_ms, args.registry) as (info, registry, _):
        env = glcr_env(info)
        names = [f"t{i:05d}" for i in range(args.tags)]
        listing = work / "list.txt"
        listing.write_text("".join(f"{n}\n" for n in names))
        repos = {(k, s): f"bench/{s}-{k}" for k in range(rounds) for s in strategies}
        for path in [*repos.values(), "bench/curl"]:
            ensure_project(info["url"], path)
            seed_many_tags(registry, path, args.tags + 10)  # 10 tags stay

        rtt = round_trip(info, registry, repos[(0, strategies[0])])
        burst = bare_burst(info, registry, repos[(0, strategies[0])], names, args.registry_jobs)
        runs: dict[str, list[Run]] = {s: [] for s in strategies}
        for k in range(rounds):
            # Alternate which goes first: the machine's load drifts during a run.
            for strategy in (strategies if k % 2 == 0 else strategies[::-1]):
                path = repos[(k, strategy)]
                prefix = [sys.executable, "-u", __file__, HEAD_PER_TAG] if strategy == "head-per-tag" else \
                    [sys.executable, "-u", "-m", "glcr"]
                run = timed_deletes(strategy, prefix + ["--debug", "--registry-jobs", str(args.registry_jobs), "tags",
                                                        "apply", path, "--from-file", str(listing), "--yes"], env)
                left = registry.tags(path) or []
                assert sorted(left) == [f"t{i:05d}" for i in range(args.tags, args.tags + 10)], len(left)
                runs[strategy].append(run)

        # Again now, on the repository the curl loop has not touched yet: the registry's pace
        # drifts with the machine's load (and right after seeding, the database's own work).
        burst = min(burst, bare_burst(info, registry, "bench/curl", names, args.registry_jobs))

        sample = names if args.full else names[: args.curl_sample]
        curl_list = work / "curl-list.txt"
        curl_list.write_text("".join(f"{n}\n" for n in sample))
        project_id, repo_id = repository_ids(info["url"], info["root_token"], "bench/curl")
        t0 = time.perf_counter()
        subprocess.run(["bash", "-c", DOCS_LOOP], check=True, env={
            **env, "TOKEN": info["root_token"], "API": f"{info['url']}/api/v4", "PROJECT_ID": str(project_id),
            "REPO_ID": str(repo_id), "LIST": str(curl_list), "LOG": str(work / "delete.logs")})
        curl_s = time.perf_counter() - t0
        assert not set(sample) & set(registry.tags("bench/curl") or [])

    per_tag = curl_s / len(sample)
    curl_total = per_tag * args.tags
    how = "measured" if len(sample) == args.tags else f"{per_tag * 1000:.0f} ms/tag measured on {len(sample)}, scaled"
    floor = args.tags / args.registry_jobs * rtt
    print(f"registry: {args.registry}; one registry round trip through the relay: {rtt * 1000:.1f} ms")
    print(f"docs' curl loop, {args.tags} tags:  {curl_total:7.1f} s  ({how}; baseline)")
    print(f"what this machine's registry serves: {args.tags} HEADs from a bare httpx client at concurrency "
          f"{args.registry_jobs} took {burst:.2f} s (the faster of two runs) ({burst / floor:.1f}x the round-trip floor "
          f"{args.tags} / {args.registry_jobs} x {rtt * 1000:.1f} ms = {floor:.2f} s)")
    chosen = {}
    for strategy in strategies:
        run = chosen[strategy] = sorted(runs[strategy], key=lambda r: r.seconds)[len(runs[strategy]) // 2]
        label = {"windowed": "glcr tags apply (windowed re-read, glcr's)",
                 "head-per-tag": "glcr tags apply (a HEAD per tag, before)"}.get(strategy, "glcr tags apply")
        spread = "" if len(runs[strategy]) == 1 else \
            f"; median of {len(runs[strategy])}: {', '.join(f'{r.seconds:.1f}' for r in runs[strategy])} s"
        print(f"{label}, {args.tags} tags: {run.seconds:7.1f} s  (--registry-jobs {args.registry_jobs}; "
              f"{curl_total / run.seconds:.0f}x faster than the curl loop; target >= {TARGETS[args.registry]}x{spread})")
        if run.deletes >= args.tags:  # tag-only deletes (GitLab's registry): one DELETE per tag
            print(f"  registry requests per tag: {(run.deletes + run.heads + run.tag_reads) / args.tags:.3f} "
                  f"({run.deletes} DELETE, {run.heads} HEAD, {run.tag_reads} tag-list reads incl. snapshot and check)")
            print(f"  the DELETE phase: {run.delete_phase:.2f} s = {run.delete_phase / floor:.2f}x the floor "
                  f"(target <= 1.5x), {run.delete_phase / burst:.2f}x the bare client's burst; whole command "
                  f"{run.seconds / floor:.2f}x the floor")
        else:  # the placeholder route: tags re-pointed, then one DELETE by digest per batch
            print(f"  placeholder route ({run.deletes} DELETE by digest); whole command {run.seconds / floor:.2f}x "
                  f"the floor {floor:.2f} s")
    if both:
        new, old = chosen["windowed"], chosen["head-per-tag"]
        print(f"windowed re-read vs a HEAD per tag: whole command {old.seconds / new.seconds:.2f}x faster, "
              f"DELETE phase {old.delete_phase / new.delete_phase:.2f}x faster")


def round_trip(info: dict, registry, path: str) -> float:
    """Median time of an authenticated registry request through the relay glcr uses (HEAD of a
    manifest): what one DELETE costs at best."""
    import statistics

    import httpx

    headers = registry._auth("repository", path)  # noqa: SLF001 - the sandbox's own signed token
    times = []
    with httpx.Client(base_url=f"http://{info['registry_host']}", headers=headers) as client:
        for _ in range(20):
            start = time.perf_counter()
            client.head(f"/v2/{path}/manifests/t00000")
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare_burst(info: dict, registry, path: str, names: list[str], jobs: int) -> float:
    """Seconds a bare async httpx client needs for one HEAD per tag at `jobs` concurrency through
    the same relay: the registry's own throughput on this machine, a floor no client can beat."""
    import asyncio

    import httpx

    headers = registry._auth("repository", path)  # noqa: SLF001 - the sandbox's own signed token

    async def run() -> float:
        gate = asyncio.Semaphore(jobs)
        async with httpx.AsyncClient(base_url=f"http://{info['registry_host']}", headers=headers,
                                     limits=httpx.Limits(max_connections=jobs)) as client:
            async def one(name: str) -> None:
                async with gate:
                    (await client.head(f"/v2/{path}/manifests/{name}")).raise_for_status()

            start = time.perf_counter()
            await asyncio.gather(*(one(n) for n in names))
            return time.perf_counter() - start

    return asyncio.run(run())


def timed_deletes(label: str, cmd: list[str], env: dict[str, str]) -> Run:
    """The whole command's seconds and its registry requests, stamping glcr's --debug lines as
    they arrive."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    sent, answered, tail = [], [], []
    heads = reads = 0
    for line in proc.stderr:
        now = time.perf_counter()
        if line.startswith("debug: > DELETE "):
            sent.append(now)
        elif line.startswith("debug: < ") and " DELETE " in line:
            answered.append(now)
        elif line.startswith("debug: > HEAD ") and "/v2/" in line:
            heads += 1
        elif line.startswith("debug: > GET ") and "/tags/list" in line:
            reads += 1
        tail = (tail + [line])[-20:]
    if proc.wait() != 0:
        sys.exit(f"glcr failed ({proc.returncode}):\n{''.join(tail)}")
    elapsed = time.perf_counter() - start
    phase = (answered[-1] - sent[0]) if sent and answered else 0.0
    return Run(label, elapsed, len(sent), phase, heads, reads)


if __name__ == "__main__":
    main()
