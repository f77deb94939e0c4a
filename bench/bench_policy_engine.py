"""Time glcr.policy.decide on 100,000 synthetic tags, for each variant.

Run: .venv/bin/python bench/bench_policy_engine.py
Prints each variant's time, its ratio to two baselines measured in the same run (sorting the
100k names; compiling the delete regex and matching it over every name with google-re2's public
`search`), and the target: well under 1 s per variant.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import re2  # noqa: E402

from glcr.policy import CleanupParams, PolicyTag, Variant, anchored, decide  # noqa: E402

N = 100_000
TARGET_S = 1.0
REPEAT = 3
NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


def synthetic_tags(n: int, seed: int = 7) -> list[PolicyTag]:
    rng = random.Random(seed)
    kinds = ("main", "release", "feature", "mr")
    tags = [PolicyTag("latest", NOW - timedelta(hours=1), "sha256:" + "0" * 64, 1000)]
    for i in range(n - 1):
        kind = kinds[i % len(kinds)]
        name = f"{kind}-{i:06d}" if kind != "release" else f"v{i // 1000}.{i % 1000}.{i % 7}"
        created = None if i % 97 == 0 else NOW - timedelta(seconds=rng.randrange(0, 400 * 86400))
        digest = f"sha256:{rng.randrange(n // 2):064x}"
        tags.append(PolicyTag(name, created, digest, rng.randrange(10_000, 500_000_000)))
    rng.shuffle(tags)
    return tags


def best_of(fn, repeat: int = REPEAT) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    tags = synthetic_tags(N)
    names = [t.name for t in tags]
    params = CleanupParams(
        name_regex_delete="(?:feature|mr)-.*|v.+",
        name_regex_keep="(?:main-.*|v\\d+\\.0\\.\\d+)",
        keep_n=10,
        older_than="90d",
    )
    options = re2.Options()
    options.log_errors = False

    def regex_baseline() -> None:
        compiled = re2.compile(anchored(params.delete_regex), options)
        for name in names:
            compiled.search(name)

    sort_s = best_of(lambda: sorted(names))
    regex_s = best_of(regex_baseline)
    print(f"{N:,} tags; baselines: sort names {sort_s * 1000:.1f} ms, "
          f"compile + re2.search over all names {regex_s * 1000:.1f} ms")
    print(f"target: < {TARGET_S:.1f} s per variant")
    failed = False
    # Shuffled input is the worst case (the engine sorts); registry listings arrive in name order.
    inputs = (("shuffled", tags), ("name order", sorted(tags, key=lambda t: t.name)))
    for label, data in inputs:
        for variant in Variant:
            result = None

            def run(variant=variant, data=data):
                nonlocal result
                result = decide(data, params, variant=variant, now=NOW, rng=random.Random(1))

            seconds = best_of(run)
            s = result.summary
            ok = seconds < TARGET_S
            failed |= not ok
            print(
                f"{variant.value:12s} {label:10s} {seconds * 1000:7.1f} ms  "
                f"x{seconds / sort_s:5.1f} sort  x{seconds / regex_s:4.2f} regex baseline  "
                f"{'OK' if ok else 'TOO SLOW'}  "
                f"(delete {s.delete:,}, keep {s.keep:,}, pages {s.pages}, truncated {s.truncated}, "
                f"runs {s.runs_needed})"
            )
    # Growth: 10x the tags must cost about 10x the time (an accidental O(n^2) would be 100x).
    small = synthetic_tags(N // 10)
    for variant in Variant:
        small_s = best_of(lambda v=variant: decide(small, params, variant=v, now=NOW))
        large_s = best_of(lambda v=variant: decide(tags, params, variant=v, now=NOW))
        growth = large_s / small_s
        ok = growth < 40  # n log n and caches: 12-20x here; quadratic would be 100x
        failed |= not ok
        print(f"{variant.value:12s} growth {N // 10:,} -> {N:,} tags: x{growth:.1f} (linear x10, quadratic x100) "
              f"{'OK' if ok else 'TOO SLOW'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
