"""Dynamic shell completion: project, group and repository paths and tag names from GitLab.

A TAB must never hang and never print an error (whatever a completion prints lands in the
shell's list), so every lookup here:

* answers from a small on-disk cache when it can (projects and repositories for 5 minutes,
  tags for 1 minute: fresh enough to type against, old enough to make repeated TABs free);
* otherwise asks GitLab under one deadline per TAB (1.5 s in all, credentials included: a
  keyring that waits on D-Bus counts against it), and on timeout or any error returns the
  stale cache entry or nothing;
* uses the standard library's urllib, not glcr's httpx stack: a completion is one
  best-effort GET that must not retry or back off, and httpx alone costs ~60 ms to import.

The cache is keyed by GitLab URL and a hash of the token, so one identity never completes
another's private paths; the file is created 0600 in $XDG_CACHE_HOME/glcr (default ~/.cache).

Attach with `typer.Argument(..., autocompletion=complete_repository)` and the like.
"""

from __future__ import annotations

import json
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable

# One TAB's total budget. People notice ~100 ms; past ~1.5 s a TAB feels broken and gets
# pressed again, so give up then and let the shell fall back.
DEADLINE_SECONDS = 1.5
# Paths change rarely; tags change with every pipeline.
TTL_SECONDS = {"projects": 300.0, "groups": 300.0, "repositories": 300.0, "tags": 60.0}
# Enough to fill a screen of candidates; more only slows the TAB.
MAX_CANDIDATES = 100
# Tag lists can be long; ten pages of 100 cover nearly every repository within the deadline.
MAX_TAG_PAGES = 10
# Bound the cache file: keep the most recently written entries.
MAX_CACHE_ENTRIES = 300


# --------------------------------------------------------------------------- cache


def cache_file(env: dict[str, str] | None = None) -> str:
    from glcr.statedir import cache_path

    return cache_path("completion.json", env=env)


class Cache:
    """A tiny JSON cache: {key: {"at": unix time, "values": [...]}}. Never raises."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._data: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            try:
                with open(self.path, encoding="utf-8") as handle:
                    data = json.load(handle)
                self._data = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self._data = {}
        return self._data

    def get(self, key: str, ttl: float) -> tuple[list[Any] | None, bool]:
        """(values, fresh). values is None when nothing was ever cached."""
        entry = self._load().get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("values"), list):
            return None, False
        return entry["values"], self.clock() - float(entry.get("at", 0)) < ttl

    def put(self, key: str, values: list[Any]) -> None:
        data = self._load()
        data[key] = {"at": self.clock(), "values": values}
        if len(data) > MAX_CACHE_ENTRIES:
            newest = sorted(data.items(), key=lambda kv: kv[1].get("at", 0), reverse=True)
            self._data = data = dict(newest[:MAX_CACHE_ENTRIES])
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            tmp = f"{self.path}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only home only costs the cache


# --------------------------------------------------------------------------- GitLab access


class Lookup:
    """Credentials, cache and deadline for one completion request."""

    def __init__(self, url: str | None, token: str | None, section: str | None, *,
                 env: dict[str, str] | None = None, cache: Cache | None = None,
                 deadline: float | None = None, opener: Callable[..., Any] | None = None,
                 ca_file: str | None = None, insecure: bool = False) -> None:
        self.env = dict(os.environ if env is None else env)
        self.request = (url, token, section)
        self.ca_file = ca_file or self.env.get("GLCR_CA_FILE") or None
        self.insecure = insecure or self.env.get("GLCR_INSECURE", "").lower() in ("1", "true", "yes", "on")
        self.cache = cache or Cache(cache_file(self.env))
        self.deadline = time.monotonic() + (DEADLINE_SECONDS if deadline is None else deadline)
        self._opener = opener
        self._creds: Any = None
        self._identity: str | None = None

    @classmethod
    def from_context(cls, ctx: Any, **kwargs: Any) -> "Lookup":
        """Read --url/--token/--gitlab from the root command line (callbacks do not run in completion)."""
        params = getattr(ctx.find_root(), "params", None) or {}
        return cls(params.get("url"), params.get("token"), params.get("gitlab"), ca_file=params.get("ca_file"),
                   insecure=bool(params.get("insecure")), **kwargs)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def identity(self) -> str:
        """URL plus a hash of the token: the cache namespace (the token itself is never stored)."""
        if self._identity is None:
            import hashlib

            from glcr.credentials import CredentialRequest, resolve

            url, token, section = self.request
            self._creds = resolve(CredentialRequest(token_flag=token, url_flag=url, config_section=section,
                                                    insecure=self.insecure), self.env)
            secret = self._creds.token.reveal() if self._creds.token else ""
            digest = hashlib.sha256(f"{self._creds.url}\0{secret}".encode()).hexdigest()[:16]
            self._identity = f"{self._creds.url}#{digest}"
        return self._identity

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """One GET under the remaining deadline; raises on anything but 200."""
        from urllib.parse import urlencode
        from urllib.request import Request, urlopen

        from glcr import __version__

        self.identity()
        timeout = self.remaining()
        if timeout <= 0.05:
            raise TimeoutError("completion deadline reached")
        query = f"?{urlencode(params)}" if params else ""
        request = Request(f"{self._creds.url}/api/v4/{path}{query}",
                          headers={"User-Agent": f"glcr/{__version__} (completion)", **self._creds.api_headers()})
        if self._opener is not None:
            opened = self._opener(request, timeout=timeout)
        else:
            opened = urlopen(request, timeout=timeout, context=self._tls())
        with opened as response:
            return json.loads(response.read().decode("utf-8"))

    def _tls(self) -> Any:
        """The CA the commands use (glcr.settings.Settings.ca_bundle), so a TAB trusts what they trust."""
        import ssl

        from glcr.settings import Settings

        from glcr.transport.factory import tls_context

        return tls_context(Settings(ca_file=self.ca_file, env=self.env).ca_bundle())

    def cached(self, kind: str, key: str, fetch: Callable[[], list[Any]]) -> list[Any]:
        """Fresh cache, else fetch within the deadline, else stale cache, else nothing."""
        # Credentials can come from the OS keyring, which may wait on D-Bus: inside the deadline too.
        identity = self._identity or _within(self.remaining(), self.identity)
        if identity is None:
            return []
        full_key = f"{identity}|{kind}|{key}"
        values, fresh = self.cache.get(full_key, TTL_SECONDS[kind])
        if fresh and values is not None:
            return values
        result = _within(self.remaining(), fetch)
        if result is None:
            return values or []
        self.cache.put(full_key, result)
        return result

    # ---- the lookups -----------------------------------------------------------------

    def projects(self, search: str) -> list[list[str]]:
        """[[path_with_namespace, name], ...] of member projects whose path contains `search`."""
        def fetch() -> list[list[str]]:
            params = {"membership": "true", "simple": "true", "per_page": MAX_CANDIDATES,
                      "order_by": "last_activity_at"}
            if search:
                params.update(search=search, search_namespaces="true")
            return [[p["path_with_namespace"], p.get("name") or ""]
                    for p in self.get_json("projects", params) if p.get("path_with_namespace")]

        return self.cached("projects", search, fetch)

    def groups(self, search: str) -> list[list[str]]:
        def fetch() -> list[list[str]]:
            params: dict[str, Any] = {"per_page": MAX_CANDIDATES, "order_by": "path"}
            if search:
                params["search"] = search
            return [[g["full_path"], g.get("name") or ""] for g in self.get_json("groups", params)
                    if g.get("full_path")]

        return self.cached("groups", search, fetch)

    def repositories(self, project: str) -> list[list[Any]]:
        """[[path, repository id, project id], ...]; [] when `project` is no project."""
        from urllib.error import HTTPError
        from urllib.parse import quote

        def fetch() -> list[list[Any]]:
            try:
                data = self.get_json(f"projects/{quote(project, safe='')}/registry/repositories",
                                     {"per_page": 100})
            except HTTPError as exc:
                if exc.code in (403, 404):
                    return []  # not a project (or no registry): remember that too
                raise
            return [[r["path"], r["id"], r.get("project_id")] for r in data if r.get("path")]

        return self.cached("repositories", project.lower(), fetch)

    def tags(self, project_id: Any, repository_id: Any) -> list[str]:
        def fetch() -> list[str]:
            names: list[str] = []
            for page in range(1, MAX_TAG_PAGES + 1):
                batch = self.get_json(f"projects/{project_id}/registry/repositories/{repository_id}/tags",
                                      {"per_page": 100, "page": page})
                names.extend(t["name"] for t in batch if t.get("name"))
                if len(batch) < 100 or self.remaining() < 0.2:
                    break
            return names

        return self.cached("tags", f"{project_id}/{repository_id}", fetch)

    def repository(self, path: str) -> list[Any] | None:
        """[path, id, project_id] of the repository at exactly `path`, if GitLab knows it."""
        lowered = path.strip("/").lower()
        for project in reversed(project_prefixes(lowered)):
            for repo in self.repositories(project):
                if repo[0] == lowered:
                    return repo
        return None


def _within(seconds: float, fetch: Callable[[], Any]) -> Any:
    """Run `fetch` in a daemon thread for at most `seconds`; None on timeout or error."""
    import threading

    box: list[Any] = []

    def run() -> None:
        try:
            box.append(fetch())
        except Exception:  # noqa: BLE001 - a completion never fails loudly
            pass

    if seconds <= 0:
        return None
    worker = threading.Thread(target=run, name="glcr-complete", daemon=True)
    worker.start()
    worker.join(seconds)
    return box[0] if box else None


def project_prefixes(path: str) -> list[str]:
    """The project paths an image path can belong to, longest first (at most 3, as GitLab)."""
    from glcr.reference import project_candidates

    return project_candidates(path)


def _safely(fn: Callable[..., list[Any]], *args: Any) -> list[Any]:
    """Whatever goes wrong, a completion returns a list (possibly empty) and prints nothing."""
    try:
        return fn(*args)[:MAX_CANDIDATES]
    except Exception:  # noqa: BLE001
        return []


# --------------------------------------------------------------------------- callbacks
# Typer matches `ctx` by name and `incomplete` by its `str` annotation, and evaluates the
# annotations: keep them to built-ins. Each returns (value, help) pairs or plain values.


def _complete_project(ctx: Any, incomplete: str) -> list[Any]:
    """Project paths (group/project) of projects you are a member of."""
    lookup = Lookup.from_context(ctx)
    return [(p, name) for p, name in lookup.projects(incomplete) if p.startswith(incomplete)]


def _complete_group(ctx: Any, incomplete: str) -> list[Any]:
    """Group paths."""
    lookup = Lookup.from_context(ctx)
    return [(g, name) for g, name in lookup.groups(incomplete) if g.startswith(incomplete)]


def _repository_candidates(lookup: Lookup, incomplete: str) -> list[Any]:
    typed = incomplete.lower()
    found: dict[str, str] = {}
    # Inside a project (group/app/...): its repositories. Shortest prefix first: nothing below a
    # project can be a project, so the first hit is the project, and a cached one costs nothing.
    for project in reversed(project_prefixes(typed.rstrip("/"))):
        repositories = lookup.repositories(project)
        for path, _id, _pid in repositories:
            if path.startswith(typed):
                found.setdefault(path, "repository")
        if repositories:
            break
    # On the way to a project: projects whose path starts with what is typed; when exactly one
    # does, its repositories too, so one TAB can go from `grou` to `group/app/api`.
    projects = [(p.lower(), name) for p, name in lookup.projects(typed.rstrip("/")) if p.lower().startswith(typed)]
    for path, name in projects:
        found.setdefault(path, f"project {name}".strip())
    if len(projects) == 1 and not typed.startswith(projects[0][0] + "/"):
        for path, _id, _pid in lookup.repositories(projects[0][0]):
            found.setdefault(path, "repository")
    return sorted(found.items())


def _complete_repository(ctx: Any, incomplete: str) -> list[Any]:
    """Repository paths (group/project[/image]); project paths while on the way there."""
    return _repository_candidates(Lookup.from_context(ctx), incomplete)


def _complete_ref(ctx: Any, incomplete: str) -> list[Any]:
    """PATH:TAG references: repository paths, then tags once a ':' is typed (zsh, fish).

    bash splits words at ':' (COMP_WORDBREAKS), so there only the path part completes.
    """
    lookup = Lookup.from_context(ctx)
    if ":" not in incomplete:
        return _repository_candidates(lookup, incomplete)
    path, _, prefix = incomplete.partition(":")
    repo = lookup.repository(path)
    if repo is None:
        return []
    return [f"{path}:{t}" for t in lookup.tags(repo[2], repo[1]) if t.startswith(prefix)]


def _complete_tag(ctx: Any, incomplete: str) -> list[Any]:
    """Tag names of the repository given earlier on the command line (the `path` argument)."""
    params = getattr(ctx, "params", None) or {}
    path = params.get("path") or params.get("repository")
    if not path:
        return []
    lookup = Lookup.from_context(ctx)
    repo = lookup.repository(path)
    if repo is None:
        return []
    already = set(params.get("tags") or ())
    return [t for t in lookup.tags(repo[2], repo[1]) if t.startswith(incomplete) and t not in already]


def complete_project(ctx, incomplete: str) -> list:
    """Project paths (group/project) of projects you are a member of."""
    return _safely(_complete_project, ctx, incomplete)


def complete_group(ctx, incomplete: str) -> list:
    """Group paths."""
    return _safely(_complete_group, ctx, incomplete)


def complete_repository(ctx, incomplete: str) -> list:
    """Repository paths (group/project[/image]); project paths while on the way there."""
    return _safely(_complete_repository, ctx, incomplete)


def complete_ref(ctx, incomplete: str) -> list:
    """PATH:TAG references; tags complete after the ':' in zsh and fish (bash splits at ':')."""
    return _safely(_complete_ref, ctx, incomplete)


def complete_tag(ctx, incomplete: str) -> list:
    """Tag names of the repository named by the command's `path` argument."""
    return _safely(_complete_tag, ctx, incomplete)
