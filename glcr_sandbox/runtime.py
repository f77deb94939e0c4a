"""`Sandbox`: the registry process, the API server thread and the default world, as one object.

    sandbox = Sandbox.start(Path("/tmp/sb"))
    sandbox.url          # http://127.0.0.1:PORT   (GITLAB_URL)
    sandbox.token        # api token of `maintainer`, Maintainer of group `demo`
    sandbox.registry_host
    sandbox.stop()

State directory layout: world.json (the world, with the registry kind it was made with),
keys/ (signing key and certificate), gitlab-registry/ or registry/ (config, storage, logs;
GitLab's registry also its saved database), sandbox.json (written by the background daemon only).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from glcr_sandbox.context import Knobs, SandboxContext
from glcr_sandbox.jobs import Jobs
from glcr_sandbox.keys import SigningKey
from glcr_sandbox.latency_proxy import LatencyProxy
from glcr_sandbox.registry_gate import RegistryGate
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.registry_kinds import (
    DEFAULT_KIND,
    DISTRIBUTION,
    GITLAB,
    AnyRegistryProcess,
    check_kind,
    make_process,
    registry_settings,
)
from glcr_sandbox.seed import redate_tag
from glcr_sandbox.server import SandboxHTTPServer, ServerThread, reserved_port
from glcr_sandbox.tls import TlsFiles, verify_for
from glcr_sandbox.tls import ensure as ensure_tls
from glcr_sandbox.state import DEVELOPER, MAINTAINER, OWNER, REPORTER, Namespace, Project, World, utcnow
from glcr_sandbox.tag_details import TagInspector

log = logging.getLogger(__name__)

DEFAULT_GROUP = "demo"
# username -> access level in group `demo` (root is also an instance admin).
DEFAULT_USERS = {"root": OWNER, "maintainer": MAINTAINER, "developer": DEVELOPER, "reporter": REPORTER}
INFO_FILE = "sandbox.json"


@dataclass
class Sandbox:
    state_dir: Path
    ctx: SandboxContext
    registry_process: AnyRegistryProcess
    server: ServerThread
    tokens: dict[str, str] = field(default_factory=dict, repr=False)  # username -> api token
    proxy: LatencyProxy | None = None
    tls: TlsFiles | None = None  # https with a throwaway CA (tls.ca) for the API and the registry
    gate: RegistryGate | None = None

    def __repr__(self) -> str:  # no tokens in test reports
        return f"Sandbox(url={self.url!r}, registry_host={self.registry_host!r}, state_dir={str(self.state_dir)!r})"

    # --- lifecycle -----------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        state_dir: Path | str,
        *,
        port: int = 0,
        latency_ms: int = 0,
        registry_port: int = 0,
        token_expire_delay_minutes: int | None = None,
        registry_binary: str | None = None,
        registry_latency_ms: int = 0,
        registry_kind: str = DEFAULT_KIND,
        tls: bool = False,
    ) -> "Sandbox":
        """`registry_latency_ms`: put a relay that delays every registry request in front of the
        registry and name it in repository locations (benchmarks: latency on both sides).
        `registry_kind`: "gitlab" (GitLab's own registry, the default) or "distribution".
        `tls`: the API and the registry serve https, with a certificate signed by a throwaway CA
        kept in STATE_DIR/tls (`sandbox.tls.ca`: what clients are given as SSL_CERT_FILE)."""
        check_kind(registry_kind)
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        key = SigningKey.load_or_create(state_dir / "keys")
        world = World(state_dir / "world.json")
        if world.registry_kind not in (None, registry_kind):
            raise RuntimeError(
                f"the state directory {state_dir} holds images of the {world.registry_kind} registry; "
                f"start it with --registry {world.registry_kind}, or use another --state-dir"
            )
        tls_files = ensure_tls(state_dir / "tls") if tls else None
        scheme = "https" if tls_files else "http"
        # The API port must be known before the registry starts: it is the token realm.
        api_socket = None if port else reserved_port()
        api_port = int(api_socket.getsockname()[1]) if api_socket is not None else int(port)
        registry = make_process(
            registry_kind,
            state_dir,
            realm=f"{scheme}://127.0.0.1:{api_port}/jwt/auth",
            cert_path=key.cert_path,
            port=registry_port,
            binary=registry_binary,
        )
        registry.tls = tls_files
        registry.start()
        with world.lock:
            world.registry_kind = registry_kind
            world.settings.update(registry_settings(registry_kind))
            world.save()
        client = RegistryClient(registry.url, key, verify=verify_for(tls_files))
        jobs = Jobs()
        # Not GitLab, and only on distribution: tag protection rules there too (api_protection).
        knobs = Knobs(latency_ms=latency_ms, tag_rules_without_gitlab_api=registry_kind == DISTRIBUTION)
        ctx = SandboxContext(world, key, client, TagInspector(client), jobs, knobs, registry_kind=registry_kind)
        try:
            _ = ctx.mode  # ask the registry now, as GitLab would on its first request
        except Exception:
            jobs.stop()
            client.close()
            registry.stop()
            raise
        # GitLab's registry: tag protection enforced in its place, as its newer versions do
        # (registry_gate.py), for every client that goes by repository locations. A third-party
        # registry never reads the token's patterns. The latency relay goes before it. Not with
        # --tls: the gate reads plain HTTP (the https registry then does not enforce).
        gate = (RegistryGate("127.0.0.1", registry.port).start()
                if registry_kind == GITLAB and tls_files is None else None)
        upstream = gate.port if gate else registry.port
        if gate:
            ctx.public_registry_host = gate.host
        proxy = None
        if registry_latency_ms > 0:
            proxy = LatencyProxy("127.0.0.1", upstream, registry_latency_ms).start()
            ctx.public_registry_host = proxy.host
        try:
            server = ServerThread(SandboxHTTPServer(
                api_port, ctx, tls=tls_files.server_context() if tls_files else None, bound=api_socket))
        except OSError:
            jobs.stop()
            client.close()
            if gate:
                gate.stop()
            registry.stop()
            raise
        sandbox = cls(state_dir, ctx, registry, server, proxy=proxy, tls=tls_files, gate=gate)
        if registry_kind == GITLAB:
            ctx.push_time_setter = sandbox.set_push_times
        ctx.backdater = sandbox.backdate
        sandbox.tokens = sandbox._ensure_default_world()
        if token_expire_delay_minutes is not None:
            with world.lock:
                world.settings["container_registry_token_expire_delay"] = token_expire_delay_minutes
                world.save()
        server.start()
        ctx.info.update(sandbox.describe())
        return sandbox

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        if self.gate is not None:
            self.gate.stop()
        self.server.stop()
        self.ctx.jobs.stop()
        self.ctx.registry.close()
        self.registry_process.stop()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses and credentials -------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server.port}"

    @property
    def token(self) -> str:
        """The `maintainer` user's api token: Maintainer of group `demo`."""
        return self.tokens["maintainer"]

    @property
    def root_token(self) -> str:
        return self.tokens["root"]

    @property
    def registry_host(self) -> str:
        return self.ctx.registry_host

    @property
    def registry_url(self) -> str:
        return self.registry_process.url

    @property
    def registry_kind(self) -> str:
        return self.ctx.registry_kind

    @property
    def world(self) -> World:
        return self.ctx.world

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "token": self.token,
            "root_token": self.root_token,
            "tokens": dict(self.tokens),
            "registry_host": self.registry_host,
            "registry_url": self.registry_url,
            "registry_kind": self.registry_kind,
            "registry_mode": asdict(self.ctx.mode),  # what the GitLab side found the registry supports
            "state_dir": str(self.state_dir),
            **({"ca_file": str(self.tls.ca)} if self.tls else {}),
        }

    def registry_client(self) -> RegistryClient:
        """A new full-access registry client (tokens signed with the sandbox key). Close it."""
        return RegistryClient(self.registry_url, self.ctx.key, verify=verify_for(self.tls))

    # --- world helpers for tests (the control API offers the same over HTTP) -------------

    def create_project(self, path: str, namespace: str = DEFAULT_GROUP, *, name: str | None = None) -> Project:
        ns = self.world.find_namespace(namespace)
        if ns is None:
            raise ValueError(f"no namespace {namespace}")
        return self.world.add_project(ns, path, name=name)

    def create_group(self, path: str, parent: str | None = None) -> Namespace:
        parent_ns = self.world.find_namespace(parent) if parent else None
        return self.world.add_group(path, parent=parent_ns)

    def create_user(self, username: str, *, admin: bool = False) -> None:
        self.world.add_user(username, admin=admin)

    def create_token(
        self, username: str, scopes: tuple[str, ...] = ("api",), *, expires_in: float | None = None
    ) -> str:
        user = self.world.user_by_name(username)
        if user is None:
            raise ValueError(f"no user {username}")
        expires = utcnow() + dt.timedelta(seconds=expires_in) if expires_in is not None else None
        return self.world.add_token(user, scopes, expires_at=expires).value

    def create_job_token(self, username: str, project: str | int) -> str:
        user, proj = self.world.user_by_name(username), self.world.find_project(project)
        if user is None or proj is None:
            raise ValueError("unknown user or project")
        return self.world.add_token(user, [], kind="job", project=proj, name="ci-job").value

    def set_member(
        self, username: str, access_level: int, *, project: str | int | None = None, group: str | None = None
    ) -> None:
        user = self.world.user_by_name(username)
        if user is None:
            raise ValueError(f"no user {username}")
        proj = self.world.find_project(project) if project is not None else None
        grp = self.world.find_namespace(group) if group is not None else None
        self.world.set_member(user, access_level, project=proj, group=grp)

    def share_project(self, project: str | int, group: str, group_access: int) -> None:
        """Invite `group` to `project` with `group_access` (its members get at most that level)."""
        proj, grp = self.world.find_project(project), self.world.find_namespace(group)
        if proj is None or grp is None:
            raise ValueError("unknown project or group")
        self.world.share_project(proj, grp, group_access)

    def add_tag_rule(self, project: str | int, pattern: str, push: str | None = None,
                     delete: str | None = None) -> dict[str, Any]:
        """A tag protection rule straight into the world (both levels None: an immutable rule,
        which GitLab creates only through GraphQL)."""
        world = self.world
        proj = world.find_project(project)
        if proj is None:
            raise ValueError(f"no project {project}")
        with world.lock:
            rule_id = world._next_id("tag_rule")
            rule = {"id": rule_id, "project_id": proj.id, "tag_name_pattern": pattern,
                    "minimum_access_level_for_push": push, "minimum_access_level_for_delete": delete}
            world.tag_rules[rule_id] = rule
            world.save()
        return rule

    def backdate(self, repo: str, times: Mapping[str, dt.datetime | dt.timedelta]) -> dict[str, str]:
        """Make tags of `repo` look as old to GitLab as `times` says, on any registry:
        `{"v1": dt.timedelta(days=30)}` (30 days old) or `{"v1": a datetime}`.

        With the GitLab API (the metadata database) GitLab dates a tag by its push time: that is
        backdated in the registry's database, digests unchanged. Without it (GitLab's registry
        in legacy mode, distribution) GitLab dates a tag by its image config's `created`: the
        tag is re-pointed at a copy of its image saying so (seed.redate_tag: a new digest;
        tags given the same time share it again; tags left out keep the old image).
        Returns {tag: its digest now}."""
        now = utcnow()
        when = {tag: now - t if isinstance(t, dt.timedelta) else t for tag, t in times.items()}
        with self.registry_client() as registry:
            if not self.ctx.gitlab_api:
                return {tag: redate_tag(registry, repo, tag, at) for tag, at in when.items()}
            self.set_push_times(repo, when)
            found = {tag: registry.manifest(repo, tag) for tag in when}
            return {tag: fetched.digest for tag, fetched in found.items() if fetched is not None}

    def set_push_times(self, repo: str, times: dict[str, dt.datetime]) -> None:
        """Give tags of `repo` a history: on GitLab's registry with its database, backdate their
        push times (what its cleanup reads) in the registry's database. Elsewhere a no-op: there
        is no push time, GitLab reads the image config's `created`, which the seeder sets (to
        change it afterwards, use `backdate`)."""
        if self.registry_kind != GITLAB:
            return
        changed = self.registry_process.set_push_times(repo, times)  # type: ignore[union-attr]
        if changed != len(times):
            raise LookupError(f"{repo}: only {changed} of {len(times)} tags found to backdate")

    def set_latency(self, latency_ms: int) -> None:
        self.ctx.knobs.latency_ms = latency_ms

    def reset_leases(self) -> None:
        self.ctx.reset_cleanup_leases()

    def sync(self) -> None:
        self.ctx.sync_catalog()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        return self.ctx.jobs.wait_idle(timeout)

    # --- the default world ---------------------------------------------------------------

    def _ensure_default_world(self) -> dict[str, str]:
        """root (admin, Owner of demo), maintainer, developer, reporter; each with an api token."""
        world = self.world
        with world.lock:
            group = world.find_namespace(DEFAULT_GROUP) or world.add_group(DEFAULT_GROUP, name="Demo")
            tokens: dict[str, str] = {}
            for username, level in DEFAULT_USERS.items():
                user = world.user_by_name(username) or world.add_user(
                    username, admin=username == "root", name="Administrator" if username == "root" else None
                )
                if world.group_access(user, group) == 0:
                    world.set_member(user, level, group=group)
                usable = [
                    t for t in world.tokens.values()
                    if t.user_id == user.id and t.kind == "personal" and t.name == "default"
                    and not t.revoked and not t.expired()
                ]
                token = usable[0] if usable else world.add_token(user, ["api"], name="default")
                tokens[username] = token.value
            return tokens
