"""Migrate a project of 50 tagged images through a holding repository, beside a skopeo-copy loop
doing the same copies, on the GitLab API sandbox over a real registry (GitLab's own by default,
`--registry distribution` for docker-registry). The move leaves the top-level namespace, so
GitLab refuses it while tags exist on either registry and glcr copies the images away.

Run: .venv/bin/python bench/bench_migrate.py [--registry gitlab|distribution] [--tags 50] [--layers 2]
     [--layer-size 524288] [--jobs 8]

Both tools talk to the registry through one byte-counting TCP relay, so "bytes sent" is measured
the same way for both (request bytes, HTTP headers included). glcr's own counter of blob bytes it
uploaded is printed too; the target is 0: every layer is mounted across repositories, in both
directions (project -> holding, holding -> new path).

The skopeo loop does what a careful person does by hand without glcr: copy each tag to the
holding repository, then from there to the new path (`skopeo copy docker://... docker://...`,
one process per tag and direction, with a fresh blob-info cache). glcr's "copy time" is the
time of its backup and restore steps; its total also deletes the tags, removes the records,
transfers, renames, drops the holding copies and verifies everything.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from glcr.cli.context import AppContext  # noqa: E402
from glcr.migrate import service  # noqa: E402
from glcr.api.ui import QuietUI  # noqa: E402
from glcr.migrate.model import StepUpdate  # noqa: E402
from glcr.migrate.model import StepKind  # noqa: E402
from glcr.registry.auth import RegistryAuth  # noqa: E402
from glcr.registry.client import RegistryClient  # noqa: E402
from glcr_sandbox.runtime import Sandbox  # noqa: E402
from glcr_sandbox.seed import push_image  # noqa: E402
from glcr.transport.factory import build_async_client  # noqa: E402


class StepTimer(QuietUI):
    """Wall time of every step (the journal's stamps have one-second resolution)."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.took: dict[str, float] = {}

    def review(self, item: object) -> None:
        if not isinstance(item, StepUpdate):
            return
        if item.state == "start":
            self.started[item.step.id] = time.perf_counter()
        elif item.state == "done":
            self.took[item.step.id] = time.perf_counter() - self.started[item.step.id]


class CountingRelay:
    """127.0.0.1:<port> -> the registry; counts the bytes clients send (requests, headers included)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.sent = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(src, dst, count: bool) -> None:
            try:
                while data := await src.read(256 * 1024):
                    if count:
                        self.sent += len(data)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))


def seed_project(sandbox: Sandbox, name: str, tags: int, layers: int, size: int) -> str:
    project = sandbox.create_project(name)
    path = sandbox.world.project_full_path(project)
    with sandbox.registry_client() as reg:
        for i in range(tags):
            push_image(reg, path, f"v{i:03d}", layers=layers, size=size, seed=f"{name}-{i}")
    sandbox.sync()
    return path


def run_glcr(sandbox: Sandbox, relay: CountingRelay, source: str, target: str, holding: str, jobs: int,
             state: Path) -> dict:
    app = AppContext(url=sandbox.url, token=sandbox.root_token, jobs=jobs, env={})

    async def work(session):
        # Route glcr's registry traffic through the relay: the same client, another address.
        http = build_async_client(session.http, base_url=f"http://127.0.0.1:{relay.port}",
                                  auth=RegistryAuth(session.tokens))
        session._registry_http.append(http)
        session._registries[sandbox.registry_host] = RegistryClient(http, sandbox.registry_host)
        prepared = await service.prepare(session, source, target, holding=holding, state_root=state)
        assert not prepared.blocking(), prepared.blocking()
        directory = service.start(state, prepared.plan)
        before = relay.sent
        timer = StepTimer()
        started = time.perf_counter()
        plan, progress = await service.execute(session, directory, ui=timer)
        total = time.perf_counter() - started
        return {"plan": plan, "progress": progress, "total": total, "sent": relay.sent - before,
                "entries": directory.entries(), "steps": timer.took}

    result = app.run(work)
    assert result["progress"].finished and result["progress"].rolled_back is None
    done = [e for e in result["entries"] if e.event.value == "done"]
    result["uploaded"] = sum(int(e.data.get("uploaded_bytes", 0)) for e in done)
    result["mounted"] = sum(int(e.data.get("mounted", 0)) for e in done)
    kinds = {s.id: s.kind for s in result["progress"].steps}
    result["copy_time"] = sum(t for step, t in result["steps"].items()
                              if kinds[step] in (StepKind.BACKUP, StepKind.RESTORE))
    return result


def run_skopeo(sandbox: Sandbox, relay: CountingRelay, source: str, holding: str, new: str, tags: int,
               home: Path) -> tuple[float, int]:
    env = dict(os.environ, HOME=str(home))  # a fresh blob-info cache
    creds = f"root:{sandbox.root_token}"
    host = f"127.0.0.1:{relay.port}"
    before = relay.sent
    started = time.perf_counter()
    for i in range(tags):
        tag = f"v{i:03d}"
        for src, dst in ((source, holding), (holding, new)):
            subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
                            "--src-creds", creds, "--dest-creds", creds,
                            f"docker://{host}/{src}:{tag}", f"docker://{host}/{dst}:{tag}"],
                           env=env, check=True, capture_output=True)
    return time.perf_counter() - started, relay.sent - before


def mib(n: float) -> str:
    return f"{n / 1048576:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", choices=("gitlab", "distribution"), default="gitlab")
    parser.add_argument("--tags", type=int, default=50)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--layer-size", type=int, default=512 * 1024)
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("skopeo") is None:
        sys.exit("skopeo is not installed")
    with tempfile.TemporaryDirectory(prefix="glcr-bench-migrate-") as tmp:
        root = Path(tmp)
        sandbox = Sandbox.start(root / "sandbox", registry_kind=args.registry)
        relay = CountingRelay(sandbox.registry_process.port)
        relay.start()
        try:
            sandbox.create_group("moved")
            sandbox.create_project("holding")
            image_bytes = args.tags * args.layers * args.layer_size
            print(f"registry: {args.registry}; {args.tags} tags, {args.layers} layer(s) of {args.layer_size} bytes each: "
                  f"{mib(image_bytes)} of layers per copy, jobs={args.jobs}")

            source = seed_project(sandbox, "app", args.tags, args.layers, args.layer_size)
            glcr = run_glcr(sandbox, relay, source, "moved/app", "demo/holding", args.jobs, root / "state")

            skopeo_source = seed_project(sandbox, "app-skopeo", args.tags, args.layers, args.layer_size)
            skopeo_time, skopeo_sent = run_skopeo(sandbox, relay, skopeo_source, "demo/holding/skopeo",
                                                  "demo/app-skopeo/new", args.tags, root / "home")
        finally:
            relay.stop()
            sandbox.stop()

    print()
    print(f"glcr migrate-project, whole migration ({len(glcr['progress'].steps)} steps):  {glcr['total']:.2f} s, "
          f"{glcr['mounted']:.0f} blob mounts, blob bytes uploaded by glcr: {glcr['uploaded']} "
          f"(target 0), bytes sent to the registry: {mib(glcr['sent'])}")
    glcr_copy = glcr["copy_time"]
    print(f"glcr copies only (backup and restore steps, {2 * args.tags} tag copies):  {glcr_copy:.2f} s")
    print("glcr steps: " + ", ".join(f"{step} {took:.2f}s" for step, took in glcr["steps"].items()))
    print(f"skopeo copy loop ({2 * args.tags} copies, one process each):  {skopeo_time:.2f} s, "
          f"bytes sent to the registry: {mib(skopeo_sent)}")
    print(f"ratio skopeo / glcr, copies:          {skopeo_time / glcr_copy:.1f}x time")
    print(f"ratio skopeo / glcr, whole migration: {skopeo_time / glcr['total']:.1f}x time "
          f"(glcr also deletes, transfers, renames, restores, verifies)")
    print(f"bytes sent, skopeo / glcr:            {skopeo_sent / max(glcr['sent'], 1):.0f}x "
          f"({mib(skopeo_sent)} vs {mib(glcr['sent'])})")


if __name__ == "__main__":
    main()
