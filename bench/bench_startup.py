#!/usr/bin/env python3
"""Start-up time of `glcr --version`, `glcr --help` and a TAB, against `python3 -c pass`.

    python bench/bench_startup.py              # 20 runs each, median and min in ms, ratios
    python bench/bench_startup.py --runs 50 --json

glcr is run the way its console script runs it: the entry point named in pyproject.toml
(`[project.scripts] glcr`), called from a fresh interpreter, so the figures hold for an
installed `glcr` whether or not the local script has been regenerated. Two baselines:
`python3 -c pass` as found on PATH (what the issue names; on pyenv machines that is a shell
shim that adds its own ~60 ms), and this interpreter's `-c pass` (the floor glcr can reach).
Targets: `glcr --version` within 150 ms wall; every TAB case (a command name, a sub-command,
an option, an option's choices) within 200 ms median. Dynamic completion of projects,
repositories and tags asks GitLab (or a cache) and is not measured here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_VERSION_MS = 150.0
TARGET_TAB_MS = 200.0


def entry_point() -> tuple[str, str]:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, func = scripts["glcr"].partition(":")
    return module, func


def glcr_command(*args: str) -> list[str]:
    module, func = entry_point()
    # What pip's generated console script does, minus its `re` import.
    code = f"import sys; from {module} import {func} as m; sys.argv[0] = 'glcr'; sys.exit(m())"
    return [sys.executable, "-c", code, *args]


def tab(words: str) -> dict[str, str]:
    """bash's completion request for the command line `words` (TAB pressed at its end)."""
    return {"_GLCR_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}


TAB_CASES = {
    "glcr ta<TAB>": "glcr ta",
    "glcr tags li<TAB>": "glcr tags li",
    "glcr tags list --so<TAB>": "glcr tags list --so",
    "glcr tags list --sort <TAB>": "glcr tags list --sort ",
    "glcr tags plan --ke<TAB>": "glcr tags plan --ke",
}


def cases() -> list[tuple[str, list[str], dict[str, str]]]:
    python3 = shutil.which("python3") or sys.executable
    return [
        ("python3 -c pass", [python3, "-c", "pass"], {}),
        ("interpreter -c pass", [sys.executable, "-c", "pass"], {}),
        ("glcr --version", glcr_command("--version"), {}),
        ("glcr --help", glcr_command("--help"), {}),
        *((name, glcr_command(), tab(words)) for name, words in TAB_CASES.items()),
        ("glcr tags --help", glcr_command("tags", "--help"), {}),
    ]


def measure(argv: list[str], extra_env: dict[str, str], runs: int, warmup: int = 2) -> list[float]:
    env = {**os.environ, **extra_env, "PYTHONPATH": str(ROOT)}
    times = []
    for index in range(warmup + runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        elapsed = (time.perf_counter() - start) * 1000
        if index >= warmup:
            times.append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    rows = []
    for name, command, env in cases():
        times = measure(command, env, args.runs)
        rows.append({"case": name, "median_ms": statistics.median(times), "min_ms": min(times)})
    base_shim = rows[0]["median_ms"]
    base_python = rows[1]["median_ms"]
    for row in rows:
        row["x_python3"] = row["median_ms"] / base_shim
        row["x_interpreter"] = row["median_ms"] / base_python
    version = next(r for r in rows if r["case"] == "glcr --version")
    tabs = [r for r in rows if r["case"] in TAB_CASES]
    slowest_tab = max(tabs, key=lambda r: r["median_ms"])
    version_ok = version["median_ms"] <= TARGET_VERSION_MS
    tab_ok = slowest_tab["median_ms"] <= TARGET_TAB_MS
    if args.json:
        print(json.dumps({"entry_point": ":".join(entry_point()), "runs": args.runs, "rows": rows,
                          "target_version_ms": TARGET_VERSION_MS, "target_tab_ms": TARGET_TAB_MS,
                          "within_target": version_ok and tab_ok}, indent=2))
    else:
        print(f"entry point {':'.join(entry_point())}, {args.runs} runs each, wall time")
        print(f"{'case':<28} {'median':>9} {'min':>9} {'x python3':>10} {'x interp.':>10}")
        for row in rows:
            print(f"{row['case']:<28} {row['median_ms']:>7.1f}ms {row['min_ms']:>7.1f}ms "
                  f"{row['x_python3']:>10.2f} {row['x_interpreter']:>10.2f}")
        print(f"glcr --version: {version['median_ms']:.0f} ms, target {TARGET_VERSION_MS:.0f} ms: "
              f"{'ok' if version_ok else 'OVER'}")
        print(f"slowest TAB ({slowest_tab['case']}): {slowest_tab['median_ms']:.0f} ms median, "
              f"target {TARGET_TAB_MS:.0f} ms: {'ok' if tab_ok else 'OVER'}")
    return 0 if version_ok and tab_ok else 1


if __name__ == "__main__":
    sys.exit(main())
