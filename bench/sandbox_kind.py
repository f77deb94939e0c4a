"""The sandbox on a chosen registry kind, for the benchmarks that compare both (bench_tags_list,
bench_bulk_delete); like sandbox_bench.running_sandbox, which starts the default kind."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Iterator

from glcr.sandbox import daemon
from glcr.sandbox.keys import SigningKey
from glcr.sandbox.registry_client import RegistryClient

# Speed targets per registry kind (issue 8): GitLab's registry answers tag details 1,000 a request
# and deletes tags one by one, so the bar is higher there.
TARGETS = {
    "gitlab": {"tags_list": 50, "bulk_delete": 30},
    "distribution": {"tags_list": 10, "bulk_delete": 30},
}


@contextlib.contextmanager
def sandbox_of_kind(kind: str, latency_ms: int, registry_latency_ms: int = 0) -> Iterator[tuple[dict, RegistryClient, Path]]:
    state = Path(tempfile.mkdtemp(prefix=f"glcr-bench-{kind}-"))
    info = daemon.spawn(state, latency_ms=latency_ms, seed=False, registry_latency_ms=registry_latency_ms,
                        registry_kind=kind)
    registry = RegistryClient(info["registry_url"], SigningKey.load_or_create(state / "keys"))
    try:
        yield info, registry, state
    finally:
        registry.close()
        daemon.stop(state)
