"""List 2,000 tags with details through the sandbox at 20 ms injected latency on every GitLab
API call and every registry request: `glcr tags list -o json` beside python-gitlab's sequential
loop, in the same run, as a ratio.

On GitLab's registry (`--registry gitlab`, the default: what GitLab users have) glcr reads the
registry's /gitlab/v1 tag list, 1,000 tags a request; target >= 50x. On a third-party registry
(`--registry distribution`) it reads each tag's manifest and config; target >= 10x.
Run: .venv/bin/python bench/bench_tags_list.py [--registry gitlab|distribution] [--tags N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sandbox_bench import ensure_project, glcr_env, running_sandbox, timed  # noqa: E402

from glcr_sandbox.seed import seed_many_tags  # noqa: E402

PROJECT = "bench/tags"
# GitLab's registry answers tag details 1,000 a request (issue 8: >= 50x); a third-party registry
# needs a manifest and a config read per tag (>= 10x).
# Issue 22 asks 20x on the registries read through /v2 (a manifest and config a tag).
TARGETS = {"gitlab": 50, "gitlab-legacy": 20, "distribution": 20}


def python_gitlab_loop(url: str, token: str) -> int:
    """What users write today: list the tags, then GET each tag's details, one after another."""
    import gitlab

    gl = gitlab.Gitlab(url, private_token=token)
    project = gl.projects.get(PROJECT)
    count = 0
    for repo in project.repositories.list(get_all=True):
        for tag in repo.tags.list(get_all=True):
            details = repo.tags.get(id=tag.name)
            assert details.digest
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registry", choices=sorted(TARGETS), default="gitlab")
    parser.add_argument("--tags", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=20, help="on every GitLab API answer")
    parser.add_argument("--registry-latency-ms", type=int, default=20,
                        help="on every registry request too, so going to the registry is no free lunch")
    parser.add_argument("--jobs", type=int, default=16, help="glcr --registry-jobs")
    args = parser.parse_args()

    with running_sandbox(args.latency_ms, args.registry_latency_ms, args.registry) as (info, registry, _):
        ensure_project(info["url"], PROJECT)
        t0 = time.perf_counter()
        seed_many_tags(registry, PROJECT, args.tags)
        print(f"seeded {args.tags} tags in {time.perf_counter() - t0:.1f}s; latency {args.latency_ms} ms per API call, "
              f"{args.registry_latency_ms} ms per registry request")
        env = glcr_env(info)

        glcr_s, proc = timed([sys.executable, "-m", "glcr", "--debug", "--registry-jobs", str(args.jobs), "tags", "list",
                              PROJECT, "-o", "json"], env)
        tags = json.loads(proc.stdout)
        assert len(tags) == args.tags and all(t["digest"] for t in tags)
        requests = [line for line in proc.stderr.splitlines() if line.startswith("debug: > ")]
        per_tag_api = [r for r in requests if "/registry/repositories/" in r and "/tags/" in r]
        # Never one GitLab API call a tag: the registry is read directly on every mode.
        assert not per_tag_api, f"{len(per_tag_api)} per-tag GitLab API calls"

        t0 = time.perf_counter()
        count = python_gitlab_loop(info["url"], info["root_token"])
        baseline_s = time.perf_counter() - t0
        assert count == args.tags, count

    target = TARGETS[args.registry]
    print(f"registry: {args.registry}; glcr made {len(requests)} requests ({len(per_tag_api)} per-tag GitLab API calls)")
    print(f"python-gitlab sequential loop: {baseline_s:7.2f} s  (baseline)")
    print(f"glcr tags list --registry-jobs {args.jobs}: {glcr_s:7.2f} s  ({baseline_s / glcr_s:.1f}x faster; "
          f"target >= {target}x)")


if __name__ == "__main__":
    main()
