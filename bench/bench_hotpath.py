"""The registry hot path (issue 22): CPU per registry request, and wall time against the floor,
for --registry-jobs 8, 16, 32 and 64 in one run, at 20 ms latency on every GitLab API answer and
every registry request (the sandbox's latency relay).

Two operations, each beside its baseline measured in the same run:
- `glcr tags list` of 2,000 tags (python-gitlab's sequential loop: list, then GET each tag);
- `glcr tags apply --from-file list.txt --yes` deleting 1,000 tags named in a list (the docs'
  curl loop, one DELETE and `sleep 0.1` a tag; run on --curl-sample tags and scaled).

For each: registry requests (counted once from a --debug run at 16 jobs; the same work at every
job count), CPU seconds of the whole command per 1,000 registry requests, the same net of the
command's fixed cost (the same command on one tag: a 1-tag listing, a 1-tag delete from a list;
interpreter start, imports, GitLab calls, and for a delete its plan, protection rules and journal),
wall time, and the floor = registry requests / jobs x one registry round trip (measured in the
same run). "registry" is what HTTP/1.1 written by hand on asyncio streams needs for as many HEADs
at the same concurrency: the registry's (and relay's) own throughput on this machine, which no
client can beat; on a shared 2-core machine it, not the round trip, is often the real floor.
Last, the CPU of glcr's registry client alone (stack_cpu): HEADs against a loopback server that
answers from memory, and on httpx.MockTransport (httpx's own share).

Targets: <= 0.5 ms CPU a registry request; wall time never grows with more jobs; listing >= 20x
python-gitlab and within 1.5x of the floor; deleting >= 30x the curl loop (50x on GitLab's
registry).
Run: .venv/bin/python bench/bench_hotpath.py [--registry distribution|gitlab-legacy|gitlab] [--tags 2000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_bulk_delete import DOCS_LOOP, repository_ids, round_trip  # noqa: E402
from bench_tags_list import PROJECT as LIST_PROJECT, python_gitlab_loop  # noqa: E402
from sandbox_bench import ensure_project, glcr_env, running_sandbox  # noqa: E402

from glcr_sandbox.seed import seed_many_tags  # noqa: E402

JOBS = (8, 16, 32, 64)
TINY = "bench/one"
TINY_DELETE = "bench/one-del"  # FIXED_RUNS tags, one deleted a run: the fixed cost of a delete
FIXED_RUNS = 3
# GitLab's registry without its database deletes like distribution (a placeholder a batch).
DELETE_TARGETS = {"distribution": 30, "gitlab-legacy": 30, "gitlab": 50}
LIST_TARGETS = {"distribution": 20, "gitlab-legacy": 20, "gitlab": 50}
STACK_REQUESTS = 3000


def run_glcr(args: list[str], env: dict[str, str], *, debug: bool = False) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, stderr)."""
    cmd = [sys.executable, "-m", "glcr", *(["--debug"] if debug else []), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args[:4])}… failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stderr


def raw_burst(info: dict, registry, path: str, names: list[str], jobs: int) -> float:
    """Seconds for one HEAD per name over `jobs` kept-alive connections, HTTP/1.1 written by hand
    on asyncio streams (no httpx, no pool): what the registry and the relay serve on this
    machine, a floor below every client."""
    import asyncio

    auth = registry._auth("repository", path)["Authorization"]  # noqa: SLF001 - the sandbox's own signed token
    host, port = info["registry_host"].rsplit(":", 1)

    async def worker(todo: list[str]) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        while todo:
            name = todo.pop()
            writer.write(f"HEAD /v2/{path}/manifests/{name} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n"
                         "Accept: application/vnd.docker.distribution.manifest.v2+json\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head[:40]
        writer.close()

    async def run() -> float:
        todo = list(names)
        start = time.perf_counter()
        await asyncio.gather(*(worker(todo) for _ in range(jobs)))
        return time.perf_counter() - start

    return asyncio.run(run())


def stack_cpu(jobs: int = 16, n: int = STACK_REQUESTS) -> dict[str, float]:
    """Microseconds of CPU per request of glcr's registry client alone, `n` manifest HEADs at
    `jobs` concurrency: against a loopback server that answers from memory (another process), and
    with httpx.MockTransport under the same httpx client (no sockets: httpx's own share)."""
    import asyncio
    import dataclasses

    import httpx

    from glcr.registry.client import RegistryClient
    from glcr.transport.factory import HttpOptions, build_async_client

    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.distribution.manifest.v2+json\r\n"
            b"Docker-Content-Digest: sha256:" + b"b" * 64 + b"\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
            b"Content-Length: 527\r\nDate: Mon, 07 Dec 2026 05:00:00 GMT\r\n\r\n")
    server = subprocess.Popen([sys.executable, "-c", f"""
import asyncio, sys
async def serve(reader, writer):
    try:
        while True:
            await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write({head!r})
    except Exception:
        writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port = int(server.stdout.readline())
    digest = {"Docker-Content-Digest": "sha256:" + "b" * 64, "Content-Type": "application/json"}

    async def run(options: HttpOptions) -> float:
        async with build_async_client(options, base_url=f"http://127.0.0.1:{port}") as http:
            client = RegistryClient(http, "127.0.0.1", jobs=jobs)
            await asyncio.gather(*(client.head_manifest("a/b", f"t{i}") for i in range(100)))  # warm
            start = time.process_time()
            await asyncio.gather(*(client.head_manifest("a/b", f"t{i}") for i in range(n)))
            return (time.process_time() - start) / n * 1e6

    try:
        options = HttpOptions(jobs=jobs)
        mock = dataclasses.replace(options, wire=httpx.MockTransport(lambda r: httpx.Response(200, headers=digest)))
        return {"loopback": asyncio.run(run(options)), "mock": asyncio.run(run(mock))}
    finally:
        server.terminate()


def registry_requests(stderr: str, registry_host: str) -> int:
    return sum(1 for line in stderr.splitlines() if line.startswith("debug: > ") and f"//{registry_host}/" in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registry", choices=sorted(DELETE_TARGETS), default="distribution")
    parser.add_argument("--tags", type=int, default=2000, help="listed")
    parser.add_argument("--delete", type=int, default=1000, help="deleted from a list")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--curl-sample", type=int, default=100)
    parser.add_argument("--jobs", type=int, nargs="+", default=list(JOBS))
    parser.add_argument("--skip-baselines", action="store_true", help="no python-gitlab / curl loop")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="glcr-bench-hotpath-"))
    names = [f"t{i:05d}" for i in range(args.delete)]
    listing = work / "list.txt"
    listing.write_text("".join(f"{n}\n" for n in names))

    with running_sandbox(args.latency_ms, args.latency_ms, args.registry) as (info, registry, _):
        env = glcr_env(info)
        host = info["registry_host"]
        delete_repos = {j: f"bench/del-{j}" for j in ["count", *args.jobs]}
        t0 = time.perf_counter()
        for path, n in [(LIST_PROJECT, args.tags), (TINY, 1), (TINY_DELETE, FIXED_RUNS + 1),
                        ("bench/curl", args.delete + 10),
                        *((p, args.delete + 10) for p in delete_repos.values())]:
            ensure_project(info["url"], path)
            seed_many_tags(registry, path, n)
        print(f"seeded in {time.perf_counter() - t0:.0f} s; {args.latency_ms} ms on every API answer and registry request")

        rtt = round_trip(info, registry, LIST_PROJECT)
        fixed_wall, fixed_cpu, _ = min((run_glcr(["tags", "list", TINY, "-o", "json"], env)
                                        for _ in range(FIXED_RUNS)), key=lambda r: r[1])
        one_tag_runs = []
        for i in range(FIXED_RUNS):
            one = work / f"one-{i}.txt"
            one.write_text(f"t{i:05d}\n")
            one_tag_runs.append(run_glcr(["tags", "apply", TINY_DELETE, "--from-file", str(one), "--yes"], env))
        fixed_delete_wall, fixed_delete_cpu, _ = min(one_tag_runs, key=lambda r: r[1])
        fixed = {"list": fixed_cpu, "delete": fixed_delete_cpu}
        _, _, err = run_glcr(["--registry-jobs", "16", "tags", "list", LIST_PROJECT, "-o", "json"], env, debug=True)
        list_requests = registry_requests(err, host)
        _, _, err = run_glcr(["--registry-jobs", "16", "tags", "apply", delete_repos["count"], "--from-file",
                              str(listing), "--yes"], env, debug=True)
        delete_requests = registry_requests(err, host)

        rows = []
        for jobs in args.jobs:
            burst = raw_burst(info, registry, LIST_PROJECT, [f"t{i:05d}" for i in range(args.tags)], jobs)
            wall, cpu, _ = run_glcr(["--registry-jobs", str(jobs), "tags", "list", LIST_PROJECT, "-o", "json"], env)
            rows.append(("list", jobs, list_requests, wall, cpu, burst * list_requests / args.tags))
            path = delete_repos[jobs]
            wall, cpu, _ = run_glcr(["--registry-jobs", str(jobs), "tags", "apply", path, "--from-file",
                                     str(listing), "--yes"], env)
            left = registry.tags(path) or []
            assert len(left) == 10, len(left)
            rows.append(("delete", jobs, delete_requests, wall, cpu, burst * delete_requests / args.tags))

        baselines = {}
        if not args.skip_baselines:
            t0 = time.perf_counter()
            assert python_gitlab_loop(info["url"], info["root_token"]) == args.tags
            baselines["list"] = time.perf_counter() - t0
            sample = names[: args.curl_sample]
            curl_list = work / "curl-list.txt"
            curl_list.write_text("".join(f"{n}\n" for n in sample))
            project_id, repo_id = repository_ids(info["url"], info["root_token"], "bench/curl")
            t0 = time.perf_counter()
            subprocess.run(["bash", "-c", DOCS_LOOP], check=True, env={
                **env, "TOKEN": info["root_token"], "API": f"{info['url']}/api/v4", "PROJECT_ID": str(project_id),
                "REPO_ID": str(repo_id), "LIST": str(curl_list), "LOG": str(work / "delete.logs")})
            baselines["delete"] = (time.perf_counter() - t0) / len(sample) * args.delete

    print(f"registry: {args.registry}; one registry round trip through the relay {rtt * 1000:.1f} ms; "
          f"the command's fixed cost: a 1-tag listing {fixed_cpu:.2f} s CPU, {fixed_wall:.2f} s wall; "
          f"a 1-tag delete {fixed_delete_cpu:.2f} s CPU, {fixed_delete_wall:.2f} s wall")
    if baselines:
        print(f"baselines: python-gitlab loop listing {args.tags} tags {baselines['list']:.1f} s; docs' curl loop "
              f"deleting {args.delete} tags {baselines['delete']:.1f} s (measured on {args.curl_sample}, scaled)")
    print(f"{'':7} {'jobs':>4} {'reg.req':>7} {'CPU s':>6} {'ms/req':>6} {'net':>5} {'wall s':>6} "
          f"{'floor':>5} {'/floor':>6} {'registry':>8} {'vs base':>8}")
    for op, jobs, requests, wall, cpu, burst in rows:
        floor = requests / jobs * rtt
        ratio = f"{baselines[op] / wall:7.1f}x" if op in baselines else "       -"
        if requests < 100:  # GitLab's registry lists 1,000 tags a request: no per-request figures
            print(f"{op:7} {jobs:4d} {requests:7d} {cpu:6.2f} {'-':>6} {'-':>5} {wall:6.2f} {'-':>5} {'-':>6} "
                  f"{'-':>8} {ratio}")
            continue
        print(f"{op:7} {jobs:4d} {requests:7d} {cpu:6.2f} {cpu / requests * 1000:6.2f} "
              f"{max(0.0, cpu - fixed[op]) / requests * 1000:5.2f} {wall:6.2f} {floor:5.2f} {wall / floor:5.1f}x "
              f"{burst:7.2f}s {ratio}")
    print("ms/req: whole command's CPU per registry request; net: less the same command's fixed cost. "
          "registry: raw HTTP/1.1 on asyncio streams, as many HEADs at the same concurrency.")
    stack = stack_cpu()
    print(f"glcr's registry client alone, {STACK_REQUESTS} HEADs at 16 jobs: {stack['loopback']:.0f} us CPU a request "
          f"against a loopback server answering from memory; {stack['mock']:.0f} us of it is httpx's client "
          "(the same client on httpx.MockTransport)")
    print(f"targets: <= 0.5 ms/req; listing >= {LIST_TARGETS[args.registry]}x and <= 1.5x the floor; deleting >= "
          f"{DELETE_TARGETS[args.registry]}x; wall not growing with jobs")
    print(json.dumps({"rtt": rtt, "fixed_cpu": fixed, "baselines": baselines, "rows": rows, "stack": stack}))


if __name__ == "__main__":
    main()
