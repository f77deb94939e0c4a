"""Delete 1,000 tags named in a list through the sandbox at 20 ms injected API latency:
`glcr tags apply --from-file list.txt --yes` beside the docs' loop (one curl DELETE per tag,
then `sleep 0.1`), in the same run, as a ratio.

Targets: glcr at least 30x faster, and on GitLab's registry (tag-only deletes, `--registry
gitlab`, the default) within 1.5x of the floor 1,000 / registry-jobs x one registry round trip
(the round trip measured in the same run). The curl loop takes about 2-3 minutes for 1,000 tags,
so by default it runs on the first --curl-sample tags and its per-tag time is scaled up (printed
as such); --full runs it on all of them.
Run: .venv/bin/python bench/bench_bulk_delete.py [--registry gitlab|distribution]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sandbox_bench import ensure_project, glcr_env, running_sandbox  # noqa: E402

from glcr.sandbox.seed import seed_many_tags  # noqa: E402

# Against the docs' curl loop, on either registry kind (issue 8).
TARGETS = {"gitlab": 30, "distribution": 30}
DOCS_LOOP = r"""
while read -r LINE || [[ -n $LINE ]]; do echo ${LINE}; curl --silent --request DELETE --header "PRIVATE-TOKEN: $TOKEN" "$API/projects/$PROJECT_ID/registry/repositories/$REPO_ID/tags/${LINE}"; sleep 0.1; echo; done < "$LIST" > "$LOG"
"""


def repository_ids(url: str, token: str, path: str) -> tuple[int, int]:
    import httpx

    headers = {"PRIVATE-TOKEN": token}
    project = httpx.get(f"{url}/api/v4/projects/{path.replace('/', '%2F')}", headers=headers).json()
    repos = httpx.get(f"{url}/api/v4/projects/{project['id']}/registry/repositories", headers=headers).json()
    return project["id"], next(r["id"] for r in repos if r["path"] == path)


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
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="glcr-bench-delete-"))

    with running_sandbox(args.latency_ms, args.registry_latency_ms, args.registry) as (info, registry, _):
        env = glcr_env(info)
        for path in ("bench/glcr", "bench/curl"):
            ensure_project(info["url"], path)
            seed_many_tags(registry, path, args.tags + 10)  # 10 tags stay
        names = [f"t{i:05d}" for i in range(args.tags)]
        listing = work / "list.txt"
        listing.write_text("".join(f"{n}\n" for n in names))

        rtt = round_trip(info, registry)
        burst = bare_burst(info, registry, names, args.registry_jobs)
        glcr_s, phase = timed_deletes([sys.executable, "-u", "-m", "glcr", "--debug", "--registry-jobs",
                                       str(args.registry_jobs), "tags", "apply", "bench/glcr", "--from-file",
                                       str(listing), "--yes"], env)
        left = registry.tags("bench/glcr") or []
        assert sorted(left) == [f"t{i:05d}" for i in range(args.tags, args.tags + 10)], len(left)

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
    print(f"glcr tags apply, {args.tags} tags:  {glcr_s:7.1f} s  (--registry-jobs {args.registry_jobs}; "
          f"{curl_total / glcr_s:.0f}x faster; target >= {TARGETS[args.registry]}x)")
    if phase[0] >= args.tags:  # tag-only deletes (GitLab's registry): one DELETE per tag
        print(f"  of which the {phase[0]} DELETE requests: {phase[1]:.2f} s; floor {args.tags} / {args.registry_jobs} x "
              f"{rtt * 1000:.1f} ms = {floor:.2f} s: {phase[1] / floor:.2f}x the floor (target <= 1.5x); "
              f"whole command {glcr_s / floor:.2f}x")
        print(f"  what this machine's registry serves: {args.tags} HEADs from a bare httpx client at concurrency "
              f"{args.registry_jobs} took {burst:.2f} s ({burst / floor:.1f}x the round-trip floor); glcr's delete "
              f"phase is {phase[1] / burst:.2f}x that (it sends a HEAD and a DELETE per tag)")
    else:  # the placeholder route: tags re-pointed, then one DELETE by digest per batch
        print(f"  placeholder route ({phase[0]} DELETE by digest); whole command {glcr_s / floor:.2f}x the floor "
              f"{floor:.2f} s; {args.tags} bare HEADs at concurrency {args.registry_jobs} take {burst:.2f} s here")

def round_trip(info: dict, registry) -> float:
    """Median time of an authenticated registry request through the relay glcr uses (HEAD of a
    manifest): what one DELETE costs at best."""
    import statistics

    import httpx

    headers = registry._auth("repository", "bench/glcr")  # noqa: SLF001 - the sandbox's own signed token
    times = []
    with httpx.Client(base_url=f"http://{info['registry_host']}", headers=headers) as client:
        for _ in range(20):
            start = time.perf_counter()
            client.head("/v2/bench/glcr/manifests/t00000")
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare_burst(info: dict, registry, names: list[str], jobs: int) -> float:
    """Seconds a bare async httpx client needs for one HEAD per tag at `jobs` concurrency through
    the same relay: the registry's own throughput on this machine, a floor no client can beat."""
    import asyncio

    import httpx

    headers = registry._auth("repository", "bench/glcr")  # noqa: SLF001 - the sandbox's own signed token

    async def run() -> float:
        gate = asyncio.Semaphore(jobs)
        async with httpx.AsyncClient(base_url=f"http://{info['registry_host']}", headers=headers,
                                     limits=httpx.Limits(max_connections=jobs)) as client:
            async def one(name: str) -> None:
                async with gate:
                    (await client.head(f"/v2/bench/glcr/manifests/{name}")).raise_for_status()

            start = time.perf_counter()
            await asyncio.gather(*(one(n) for n in names))
            return time.perf_counter() - start

    return asyncio.run(run())


def timed_deletes(cmd: list[str], env: dict[str, str]) -> tuple[float, tuple[int, float]]:
    """(whole command seconds, (DELETE requests, seconds from the first DELETE sent to the last
    answered)), stamping glcr's --debug lines as they arrive."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    sent, answered, tail = [], [], []
    for line in proc.stderr:
        now = time.perf_counter()
        if line.startswith("debug: > DELETE "):
            sent.append(now)
        elif line.startswith("debug: < ") and " DELETE " in line:
            answered.append(now)
        tail = (tail + [line])[-20:]
    if proc.wait() != 0:
        sys.exit(f"glcr failed ({proc.returncode}):\n{''.join(tail)}")
    elapsed = time.perf_counter() - start
    return elapsed, (len(sent), (answered[-1] - sent[0]) if sent and answered else 0.0)

if __name__ == "__main__":
    main()
