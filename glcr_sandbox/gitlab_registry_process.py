"""Run GitLab's own container registry (v3.86.0-gitlab, metadata database) for the sandbox.

What GitLab.com and every self-managed GitLab since 16.0 run: the registry with its metadata
database on PostgreSQL, Redis for the rename API, `/gitlab/v1/` routes and tag-only deletes.
Three children, all on 127.0.0.1 and free ports: a throwaway PostgreSQL cluster, redis-server
without persistence, and `registry serve`. Same interface as RegistryProcess.

Applying the registry's 154 migrations takes about 10 s, so a migrated, cleanly stopped
cluster is kept once per (registry binary, PostgreSQL version) in the user's cache directory
and each start unpacks it (well under a second). The running cluster lives in its own
temporary directory: PostgreSQL refuses to run as root, so as root it runs as the `postgres`
user, which cannot enter pytest's or $HOME's private directories. On stop the cluster is
saved to `<directory>/pgdata.tar`, so a sandbox restarted on the same state directory keeps
its images (the metadata database is the registry's source of truth for tags).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import glob
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator, cast

import yaml

from glcr_sandbox.registry_process import LoopbackRegistry, RegistryBinaryMissing, free_port, pid_alive, wait_until_serving

ENV_BINARY = "GLCR_GITLAB_REGISTRY"
START_TIMEOUT_S = 30.0
MIGRATE_TIMEOUT_S = 180.0  # 154 migrations: about 10 s here, slower on a loaded CI box
DB_USER = "registry"  # the cluster's bootstrap superuser; trust auth on loopback only
DB_NAME = "postgres"  # the database initdb creates; the registry's tables go there
SAVED_DATA = "pgdata.tar"  # <directory>/pgdata.tar: the cluster saved by stop()
SAVED_KEY = "pgdata.key"  # which binary and PostgreSQL version made it
PG_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",  # TCP only: the default socket directory may not exist
    "fsync": "off",  # throwaway data: durability costs time and buys nothing
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_locks_per_transaction": "256",  # the migrations touch 64 partitions per table at once
    # Frequent checkpoints and few kept segments (1 MB each, see initdb) keep the WAL, and so
    # the cached and saved cluster, small.
    "min_wal_size": "2MB",
    "max_wal_size": "8MB",
}


class GitlabRegistryUnavailable(RegistryBinaryMissing):
    """Something GitLab's registry needs (PostgreSQL, Redis, the postgres user) is missing."""


def repository_root() -> Path:
    return Path(__file__).resolve().parents[1]


def default_binary_path() -> Path:
    return repository_root().parent / "shared" / "gitlab-registry" / "bin" / "registry"


def find_binary(binary: str | None = None) -> str:
    """$GLCR_GITLAB_REGISTRY, else ../shared/gitlab-registry/bin/registry beside the repository."""
    candidate = binary or os.environ.get(ENV_BINARY) or str(default_binary_path())
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    raise RegistryBinaryMissing(
        f"GitLab's registry binary is not at {candidate}; set {ENV_BINARY}=/path/to/registry (see the README)"
    )


def _postgres_bindir() -> Path:
    """Debian keeps initdb and postgres in /usr/lib/postgresql/<major>/bin, off the PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(re.sub(r"\D", "", p.split("/")[4]) or 0)
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found and os.path.exists(os.path.join(os.path.dirname(os.path.realpath(found)), "postgres")):
        return Path(os.path.realpath(found)).parent
    raise GitlabRegistryUnavailable("PostgreSQL's initdb is missing; install it: apt-get install postgresql")


def _redis_binary() -> str:
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    if not found:
        raise GitlabRegistryUnavailable("redis-server is missing; install it: apt-get install redis-server")
    return found


@dataclass(frozen=True)
class _PgUser:
    """Who runs PostgreSQL: `postgres` when we are root (it refuses root), else ourselves."""

    uid: int
    gid: int
    name: str | None  # None: the current user

    @classmethod
    def pick(cls) -> "_PgUser":
        if os.geteuid() != 0:
            return cls(os.getuid(), os.getgid(), None)
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            raise GitlabRegistryUnavailable(
                "running as root, PostgreSQL needs the `postgres` user; install it: apt-get install postgresql"
            ) from None
        return cls(entry.pw_uid, entry.pw_gid, "postgres")

    def popen_kwargs(self) -> dict:
        if self.name is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path) -> None:
        if self.name is not None:
            os.chown(path, self.uid, self.gid)


def check_prerequisites(binary: str | None = None) -> str:
    """The registry binary, or RegistryBinaryMissing / GitlabRegistryUnavailable saying what is missing."""
    found = find_binary(binary)
    _postgres_bindir()
    _redis_binary()
    _PgUser.pick()
    return found


@functools.lru_cache(maxsize=8)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _cache_key(binary: str, bindir: Path) -> str:
    st = os.stat(binary)
    version = bindir.parent.name  # /usr/lib/postgresql/<major>/bin
    return f"{_file_digest(os.path.realpath(binary), st.st_size, st.st_mtime_ns)[:16]}-pg{version}"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "glcr" / "gitlab-registry"


def _pack(data: Path, archive: Path) -> None:
    """One tar file instead of the cluster's ~4,000 small files: writing those to a disk costs
    seconds, one file and the extraction into tmpfs a fraction of that. tar keeps the postgres
    user's ownership (as root) and the 0700 modes PostgreSQL insists on."""
    staging = archive.with_name(archive.name + f".tmp{os.getpid()}")
    subprocess.run(["tar", "-cf", str(staging), "-C", str(data.parent), data.name], check=True, stdin=subprocess.DEVNULL)
    os.replace(staging, archive)


def _unpack(archive: Path, parent: Path) -> None:
    subprocess.run(["tar", "-xf", str(archive), "-C", str(parent)], check=True, stdin=subprocess.DEVNULL)


def _temp_parent() -> str | None:
    """tmpfs when it has room (the cluster is ~70 MB, much quicker there), else the default."""
    with contextlib.suppress(OSError):
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize > 1 << 30:
            return "/dev/shm"
    return None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _wait_port(port: int, deadline: float, alive: "subprocess.Popen", what: str, log: Path) -> None:
    while time.monotonic() < deadline:
        if alive.poll() is not None:
            raise RuntimeError(f"{what} exited with {alive.returncode}; see {log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} in time; see {log}")


def _pg_ready(data: Path) -> bool:
    """postmaster.pid's 8th line reads `ready` once the cluster accepts connections."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[7].strip() == "ready"


TEMP_PREFIX = "glcr-gitlab-registry-"
OWNER_FILE = "owner.json"  # who started the children in a temporary directory, and their command lines


def _executable(pid: int) -> str | None:
    """The program a process runs (its command line is no guide: Redis and PostgreSQL rewrite it)."""
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def reap_orphans() -> list[Path]:
    """Clean up after a launcher that was killed (SIGKILL, OOM) before it could stop its children:
    for each of our temporary directories whose owner process is gone, stop the children it
    recorded (only a process still running the recorded program) and remove the
    directory (tmpfs holds it in memory). Returns the directories removed."""
    removed = []
    for parent in {_temp_parent() or tempfile.gettempdir(), tempfile.gettempdir()}:
        for tmp in Path(parent).glob(f"{TEMP_PREFIX}*"):
            try:
                owner = json.loads((tmp / OWNER_FILE).read_text())
            except (OSError, ValueError):
                continue
            if owner.get("uid") != os.getuid() or pid_alive(int(owner.get("pid", 0))):
                continue
            for pid, program in owner.get("children", {}).values():
                if _executable(int(pid)) == program:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def registry_config(
    *, storage: Path, port: int, realm: str, cert_path: Path, pg_port: int | None, redis_port: int | None
) -> dict:
    """../shared/gitlab-registry/config.yml.tmpl, filled in; quieter logs, no debug server.
    `pg_port` None: the legacy mode, database off (metadata as files in the storage) and no Redis."""
    storage_config: dict[str, object] = {
        "filesystem": {"rootdirectory": str(storage)},
        "delete": {"enabled": True},
        "maintenance": {"uploadpurging": {"enabled": False}},
    }
    config = {
        "version": 0.1,
        "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": True}, "fields": {"service": "registry"}},
        "storage": storage_config,
        "database": {
            "enabled": True,
            "host": "127.0.0.1",
            "port": pg_port,
            "user": DB_USER,
            "password": "unused-trust-auth",
            "dbname": DB_NAME,
            "sslmode": "disable",
            # Keep connections open: a new PostgreSQL backend per request costs tens of ms.
            "pool": {"maxidle": 16, "maxopen": 32},
        },
        "auth": {
            "token": {
                "realm": realm,
                "service": "container_registry",
                "issuer": "gitlab-issuer",
                "rootcertbundle": str(cert_path),
                "autoredirect": False,
            }
        },
        "http": {
            "addr": f"127.0.0.1:{port}",
            "secret": secrets.token_hex(8),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
    }
    if pg_port is None:
        config["database"] = {"enabled": False}
        # omnibus-gitlab's default for its registry (storage.cache.blobdescriptor), which is what
        # the self-managed installs without the database run; with it, metadata is PostgreSQL's.
        storage_config["cache"] = {"blobdescriptor": "inmemory"}
    else:
        config["redis"] = {"cache": {"enabled": True, "addr": f"127.0.0.1:{redis_port}"}}
    return config


@dataclass
class GitlabRegistryProcess(LoopbackRegistry):
    """PostgreSQL + Redis + `registry serve`; `start()` returns once `/v2/` answers 401."""

    directory: Path
    realm: str
    cert_path: Path
    port: int = 0
    binary: str | None = None
    kind: str = field(default="gitlab", init=False)
    _procs: dict[str, subprocess.Popen] = field(default_factory=dict, init=False, repr=False)
    _logs: list[IO[bytes]] = field(default_factory=list, init=False, repr=False)
    _tmp: Path | None = field(default=None, init=False, repr=False)
    _pg_user: _PgUser | None = field(default=None, init=False, repr=False)
    _saved_key: str | None = field(default=None, init=False, repr=False)
    _pg_port: int = field(default=0, init=False, repr=False)
    _bindir: Path | None = field(default=None, init=False, repr=False)

    @property
    def pid(self) -> int | None:
        proc = self._procs.get("registry")
        return proc.pid if proc is not None else None

    @property
    def pids(self) -> dict[str, int]:
        """Every child's pid (tests check that stop() leaves none behind)."""
        return {name: proc.pid for name, proc in self._procs.items()}

    @property
    def temp_dir(self) -> Path | None:
        return self._tmp

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        binary = check_prerequisites(self.binary)
        bindir, redis = _postgres_bindir(), _redis_binary()
        self._bindir = bindir
        self._pg_user = _PgUser.pick()
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        reap_orphans()
        self._tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=_temp_parent()))
        self._pg_user.own(self._tmp)
        self._record_children()
        try:
            key = _cache_key(binary, bindir)
            self._prepare_cluster(binary, bindir, key)
            pg_port = self._pg_port = self._start_postgres(bindir)
            redis_port = self._start_redis(redis)
            config_path = self.directory / "config.yml"
            config = self.with_tls(registry_config(
                storage=self.directory / "storage",
                port=self.port,
                realm=self.realm,
                cert_path=self.cert_path,
                pg_port=pg_port,
                redis_port=redis_port,
            ))
            config_path.write_text(yaml.safe_dump(config, sort_keys=False))
            # Idempotent: nothing to do on the cached cluster; applies what a newer binary adds.
            self._run([binary, "database", "migrate", "up", str(config_path)], "migrate", MIGRATE_TIMEOUT_S)
            self._saved_key = key
            log = open(self.log_path, "ab")
            self._logs.append(log)
            self._procs["registry"] = subprocess.Popen(
                [binary, "serve", str(config_path)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
            self._record_children()
            self._wait_ready()
        except BaseException:
            self.stop(save=False)
            raise

    def _prepare_cluster(self, binary: str, bindir: Path, key: str) -> None:
        """Put a migrated cluster at <tmp>/data: the one saved by the last stop(), else the
        cached template (built here once, under a lock, when missing)."""
        assert self._tmp is not None
        saved, saved_key = self.directory / SAVED_DATA, self.directory / SAVED_KEY
        if saved.exists() and saved_key.exists() and saved_key.read_text().strip() == key:
            _unpack(saved, self._tmp)
            return
        template = cache_root() / f"{key}.tar"
        with _locked(cache_root() / f"{key}.lock"):
            if not template.exists():
                self._build_template(binary, bindir, template)
                return
        _unpack(template, self._tmp)

    def _build_template(self, binary: str, bindir: Path, template: Path) -> None:
        """initdb, migrate up, stop cleanly, pack into the cache; leaves the cluster in place."""
        assert self._tmp is not None and self._pg_user is not None
        data = self._tmp / "data"
        self._run(
            [str(bindir / "initdb"), "-D", str(data), "-U", DB_USER, "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync", "--wal-segsize=1"],
            "initdb",
            120,
            as_pg=True,
        )  # fmt: skip
        pg_port = self._start_postgres(bindir)
        config_path = self._tmp / "migrate.yml"
        config = registry_config(
            storage=self._tmp / "storage", port=free_port(), realm="http://127.0.0.1:1/jwt/auth",
            cert_path=self.cert_path, pg_port=pg_port, redis_port=free_port(),
        )  # fmt: skip
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self._run([binary, "database", "migrate", "up", str(config_path)], "migrate", MIGRATE_TIMEOUT_S)
        self._stop_postgres()
        template.parent.mkdir(parents=True, exist_ok=True)
        _pack(data, template)

    def _record_children(self) -> None:
        """<tmp>/owner.json: this process and its children, for reap_orphans after a SIGKILL."""
        assert self._tmp is not None
        children = {
            name: [proc.pid, os.path.realpath(cast("list[str]", proc.args)[0])]  # each started from a list
            for name, proc in self._procs.items()
            if proc.poll() is None
        }
        owner = {"pid": os.getpid(), "uid": os.getuid(), "children": children}
        (self._tmp / OWNER_FILE).write_text(json.dumps(owner))

    def _open_log(self, name: str) -> IO[bytes]:
        assert self._tmp is not None
        log = open(self._tmp / f"{name}.log", "ab")
        self._logs.append(log)
        return log

    def _run(self, cmd: list[str], name: str, timeout: float, *, as_pg: bool = False) -> None:
        assert self._pg_user is not None
        log_path = self.directory / f"{name}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                cwd=self._tmp,
                **(self._pg_user.popen_kwargs() if as_pg else {}),
            )
        if proc.returncode != 0:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"{name} failed ({proc.returncode}): {tail[0][:300]}; see {log_path}")

    def _start_postgres(self, bindir: Path) -> int:
        assert self._tmp is not None and self._pg_user is not None
        data, port = self._tmp / "data", free_port()
        settings = [arg for k, v in PG_SETTINGS.items() for arg in ("-c", f"{k}={v}")]
        log_path = self._tmp / "postgres.log"
        proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), "-p", str(port), *settings],
            stdin=subprocess.DEVNULL,
            stdout=self._open_log("postgres"),
            stderr=subprocess.STDOUT,
            cwd=self._tmp,
            **self._pg_user.popen_kwargs(),
        )
        self._procs["postgres"] = proc
        self._record_children()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _pg_ready(data):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
                raise RuntimeError(f"PostgreSQL did not start: {tail[0][:300]}")
            time.sleep(0.05)
        _wait_port(port, deadline, proc, "PostgreSQL", log_path)
        return port

    def _start_redis(self, redis: str) -> int:
        assert self._tmp is not None
        port = free_port()
        log_path = self._tmp / "redis.log"
        proc = subprocess.Popen(
            [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self._tmp), "--protected-mode", "yes"],
            stdin=subprocess.DEVNULL,
            stdout=self._open_log("redis"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._procs["redis"] = proc
        self._record_children()
        _wait_port(port, time.monotonic() + START_TIMEOUT_S, proc, "redis-server", log_path)
        return port

    def _wait_ready(self) -> None:
        wait_until_serving(self.url, self._procs["registry"], "GitLab's registry", self.log_path, START_TIMEOUT_S,
                           self.verify)

    # --- test support ----------------------------------------------------------------------

    def sql(self, statement: str) -> str:
        """Run SQL in the registry's database (psql over loopback); its output."""
        if not self._pg_port or self._bindir is None:
            raise RuntimeError("GitLab's registry is not running")
        psql = self._bindir / "psql"
        proc = subprocess.run(
            [str(psql if psql.exists() else "psql"), "-h", "127.0.0.1", "-p", str(self._pg_port), "-U", DB_USER,
             "-d", DB_NAME, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", statement],
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed: {proc.stderr.strip()[:300]}")
        return proc.stdout

    def set_push_times(self, repo: str, times: dict[str, dt.datetime]) -> int:
        """Backdate tags as if pushed at `times` (the registry records the real push time, and
        tests of GitLab's cleanup need history). Returns how many tags were changed."""
        def quote(text: str) -> str:
            return "'" + text.replace("'", "''") + "'"

        rows = ", ".join(f"({quote(name)}, {quote(when.isoformat())}::timestamptz)" for name, when in times.items())
        if not rows:
            return 0
        out = self.sql(
            "WITH t(name, at) AS (VALUES " + rows + "), changed AS ("
            " UPDATE tags SET created_at = t.at, updated_at = NULL FROM t, repositories r"
            " WHERE tags.name = t.name AND tags.repository_id = r.id"
            " AND tags.top_level_namespace_id = r.top_level_namespace_id AND r.path = " + quote(repo.lower()) +
            " RETURNING 1) SELECT count(*) FROM changed"
        )  # fmt: skip
        return int(out.strip() or 0)

    def _stop_postgres(self) -> None:
        proc = self._procs.pop("postgres", None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(2)  # SIGINT: PostgreSQL's "fast" shutdown, a clean checkpoint
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop(self, *, save: bool = True) -> None:
        """Stop the registry, Redis and PostgreSQL; keep the cluster in <directory>/pgdata.tar; remove
        the temporary directory. Safe to call twice."""
        for name in ("registry", "redis"):
            proc = self._procs.pop(name, None)
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self._stop_postgres()
        for log in self._logs:
            log.close()
        self._logs.clear()
        tmp, self._tmp = self._tmp, None
        if tmp is None:
            return
        data = tmp / "data"
        if save and self._saved_key and (data / "PG_VERSION").exists() and not (data / "postmaster.pid").exists():
            self._save_cluster(data, self._saved_key)
        shutil.rmtree(tmp, ignore_errors=True)

    def _save_cluster(self, data: Path, key: str) -> None:
        _pack(data, self.directory / SAVED_DATA)
        (self.directory / SAVED_KEY).write_text(key)
