"""One big repository: `glcr cleanup dry-run` on 5,000 tags (the baseline) and on 50,000 tags, in
the same run, on GitLab's registry with its metadata database, at 20 ms latency on every GitLab
API answer and every registry request. Wall time and peak RSS of the glcr process, as ratios
against the 5,000-tag run: how both grow with the repository.

Seeding: `seed_many_tags` pushes one manifest per tag over a few shared images (a config and a
layer uploaded once per image), straight to the registry (around the latency relay), 8 writers.
Every tag is a real PUT /v2/<repo>/manifests/<tag> on GitLab's registry, so the registry's
database holds them exactly as a push would; nothing is written behind its back.

The policy, saved on both projects: name_regex `t.*`, keep_n 10, older_than off (so GitLab's
per-page keep_n and its repeated runs are in play: 50 pages of 1,000 keep 10 each at the first
run, and the 500 left keep 10 at the second).

Peak RSS is the child's ru_maxrss (resource.getrusage(RUSAGE_CHILDREN) read right after each
run: each run is a fresh process, so the maximum so far is the larger of the runs so far; the
5,000-tag run goes first, so the second reading is the 50,000-tag run's own unless it is smaller).

Run: .venv/bin/python bench/bench_big_repo.py [--small 5000] [--big 50000]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from sandbox_bench import ensure_project, glcr_env, running_sandbox, timed  # noqa: E402

from glcr_sandbox.seed import seed_many_tags  # noqa: E402

POLICY = {"enabled": True, "name_regex": "t.*", "keep_n": 10, "older_than": None, "cadence": "1d"}


def save_policy(info: dict, project: str) -> None:
    """Through GitLab's API, as a user saves it (a flag cannot turn older_than off)."""
    httpx.put(f"{info['url']}/api/v4/projects/{quote(project, safe='')}", headers={"PRIVATE-TOKEN": info["root_token"]},
              json={"container_expiration_policy_attributes": POLICY}, timeout=30).raise_for_status()


def dry_run(env: dict[str, str], project: str) -> tuple[float, int, list]:
    """(seconds, peak RSS in KiB so far among children, the JSON document)."""
    seconds, proc = timed([sys.executable, "-m", "glcr", "cleanup", "dry-run", project, "-o", "json"],
                          env, timeout=3600)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak, json.loads(proc.stdout)


def to_delete(doc: list) -> int:
    return sum(1 for t in doc if t["action"] == "delete")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=5000)
    parser.add_argument("--big", type=int, default=50000)
    parser.add_argument("--latency-ms", type=int, default=20)
    args = parser.parse_args()
    with running_sandbox(0, registry_latency_ms=args.latency_ms) as (info, registry, _state):
        sizes = {"bench/small": args.small, "bench/big": args.big}
        for project, n in sizes.items():
            ensure_project(info["url"], project)
            save_policy(info, project)
            started = time.perf_counter()
            seed_many_tags(registry, project, n)
            print(f"seeded {n:,} tags in {time.perf_counter() - started:.1f} s", flush=True)
        httpx.put(f"{info['url']}/-/sandbox/config", json={"latency_ms": args.latency_ms}, timeout=30).raise_for_status()
        env = glcr_env(info)
        small_s, small_rss, small_doc = dry_run(env, "bench/small")
        big_s, big_rss, big_doc = dry_run(env, "bench/big")
    for doc, n in ((small_doc, args.small), (big_doc, args.big)):
        assert len(doc) == n and to_delete(doc) == n - 10, (len(doc), to_delete(doc), n)
    print(f"{args.small:,} tags: {small_s:.2f} s, peak RSS {small_rss / 1024:.0f} MiB, "
          f"{to_delete(small_doc):,} to delete (baseline)")
    print(f"{args.big:,} tags: {big_s:.2f} s, peak RSS {big_rss / 1024:.0f} MiB, {to_delete(big_doc):,} to delete")
    print(f"{args.big / args.small:.0f}x the tags: {big_s / small_s:.1f}x the time, {big_rss / small_rss:.1f}x the peak RSS")


if __name__ == "__main__":
    main()
