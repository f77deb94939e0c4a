"""A relay in front of the sandbox's GitLab registry that enforces tag protection as newer GitLab
registries do, since the binary the sandbox runs (v3.86) does not. (Third-party registries never
read the token's patterns: the sandbox puts no gate before distribution.)

What newer registries do (gitlab-org/container-registry v4.x, handlers/manifests.go and
api/v2/errors.go, read through gitlab-facts-2.md area 3): the token's repository scope carries
`meta.tag_deny_access_patterns` {"push": [...], "delete": [...]} and `meta.tag_immutable_patterns`
(written by GitLab's auth service, see jwt_auth.py); patterns are matched with an unanchored RE2
search.
* PUT /v2/<name>/manifests/<tag>: a "push" pattern -> 401 PROTECTED_TAG; an immutable pattern on a
  tag that already exists -> 401 IMMUTABLE_TAG (a new tag may be pushed).
* DELETE /v2/<name>/manifests/<tag>: a "delete" pattern -> 401 PROTECTED_TAG; an immutable one ->
  401 IMMUTABLE_TAG.
* DELETE /v2/<name>/manifests/<digest>: 401 PROTECTED_MANIFEST whenever the scope has a delete
  deny pattern or an immutable pattern (a digest may carry a protected tag).
The answers are the registry's own (api/v2/errors.go `ErrorCodeProtectedTag` /
`ErrorCodeImmutableTag` / `ErrorCodeProtectedManifest`, handlers/manifests.go `WithDetail`):
  PROTECTED_TAG      "insufficient permissions to push or delete protected tag", detail `tag "x" is protected`
  IMMUTABLE_TAG      "tag is immutable", detail `tag "x" is immutable`
  PROTECTED_MANIFEST "insufficient permissions to delete manifest due to tag protection or immutability
                     policies", no detail (errcode's `detail` is omitempty)
all 401, without a WWW-Authenticate challenge (the handler's error, not the access controller's).
Everything else is relayed untouched. The token's signature is the registry's to check: the gate
only reads the claims of a token the registry will verify anyway.

Each request head is read to find these three; bodies are passed on by their length (Content-Length
or chunked), so keep-alive connections work. Loopback only.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any
from urllib.parse import unquote

from glcr_sandbox.keys import decode_unverified
from glcr_sandbox.latency_proxy import LoopbackRelay
from glcr_sandbox.untrusted_regexp import InvalidRegexp, compile_untrusted, matches

CHUNK = 65536
_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")


MESSAGES = {
    "PROTECTED_TAG": "insufficient permissions to push or delete protected tag",
    "IMMUTABLE_TAG": "tag is immutable",
    "PROTECTED_MANIFEST": "insufficient permissions to delete manifest due to tag protection or immutability policies",
}


def refusal_body(code: str, detail: str) -> dict[str, Any]:
    """The registry's JSON error for `code`; `detail` "" is left out, as errcode's omitempty does."""
    error: dict[str, Any] = {"code": code, "message": MESSAGES[code]}
    if detail:
        error["detail"] = detail
    return {"errors": [error]}


def _refusal(code: str, detail: str) -> bytes:
    body = json.dumps(refusal_body(code, detail)).encode()
    head = (f"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Docker-Distribution-Api-Version: registry/2.0\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def _scope_meta(authorization: str, name: str) -> dict[str, Any]:
    if not authorization.lower().startswith("bearer "):
        return {}
    try:
        claims = decode_unverified(authorization[7:].strip())
    except (ValueError, IndexError):
        return {}
    for entry in claims.get("access") or []:
        if isinstance(entry, dict) and entry.get("type") == "repository" and entry.get("name") == name:
            return entry.get("meta") or {}
    return {}


def _any_match(patterns: Any, tag: str) -> bool:
    for pattern in patterns if isinstance(patterns, list) else []:
        try:
            if matches(compile_untrusted(str(pattern)), tag):
                return True
        except InvalidRegexp:
            continue
    return False


def decide(method: str, path: str, authorization: str, tag_exists: bool | None = None) -> tuple[str, str] | None:
    """(code, detail) when a newer registry would refuse this request, else None. `tag_exists`:
    for an immutable pattern on a PUT (None: not asked yet -> ("?", "") to ask)."""
    m = _MANIFEST.match(path.split("?", 1)[0])
    if m is None or method not in ("PUT", "DELETE"):
        return None
    name, ref = m.group("name"), unquote(m.group("ref"))
    meta = _scope_meta(authorization, name)
    deny = meta.get("tag_deny_access_patterns")
    if not isinstance(deny, dict):
        deny = {}
    immutable = meta.get("tag_immutable_patterns") or []
    if method == "DELETE" and ":" in ref:  # by digest
        if deny.get("delete") or immutable:
            return "PROTECTED_MANIFEST", ""  # validateManifestDeleteRestriction: the bare code
        return None
    action = "push" if method == "PUT" else "delete"
    if _any_match(deny.get(action), ref):
        return "PROTECTED_TAG", f"tag {json.dumps(ref)} is protected"  # Go's %q
    if _any_match(immutable, ref):
        if method == "PUT" and tag_exists is None:
            return "?", ""
        if method == "DELETE" or tag_exists:
            return "IMMUTABLE_TAG", f"tag {json.dumps(ref)} is immutable"
    return None


class RegistryGate(LoopbackRelay):
    what = "registry protection gate"

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__(target_host, target_port)
        self.refused: list[tuple[str, str, str]] = []  # (method, path, code), for tests

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        back = asyncio.ensure_future(self._pipe(up_r, client_w))
        try:
            # A TLS ClientHello (record type 0x16) on this plain-http port: close at once, as the
            # registry's own Go server answers such bytes with 400 at once; a client trying
            # https first (skopeo with --tls-verify=false) then falls back to http without
            # waiting out its 10 s handshake timeout.
            first = await client_r.readexactly(1)
            if first == b"\x16":
                return
            pending = first
            while True:
                head = pending + await client_r.readuntil(b"\r\n\r\n")
                pending = b""
                method, path, headers = _parse_head(head)
                verdict = decide(method, path, headers.get("authorization", ""))
                if verdict and verdict[0] == "?":
                    exists = await self._tag_exists(path, headers.get("authorization", ""))
                    verdict = decide(method, path, headers.get("authorization", ""), exists)
                if verdict:
                    await _skip_body(client_r, headers)
                    self.refused.append((method, path, verdict[0]))
                    client_w.write(_refusal(*verdict))
                    await client_w.drain()
                    continue
                up_w.write(head)
                await _copy_body(client_r, up_w, headers)
                await up_w.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
            pass
        finally:
            up_w.close()
            await asyncio.gather(back, return_exceptions=True)
            client_w.close()

    async def _tag_exists(self, path: str, authorization: str) -> bool:
        """HEAD the manifest upstream with the same token (a push token also pulls)."""
        try:
            r, w = await asyncio.open_connection(*self.target)
        except OSError:
            return True  # cannot tell: refuse, as the registry would for an existing tag
        w.write(f"HEAD {path} HTTP/1.1\r\nHost: {self.target[0]}\r\nAuthorization: {authorization}\r\n"
                "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
                "application/vnd.docker.distribution.manifest.v2+json, "
                "application/vnd.docker.distribution.manifest.list.v2+json\r\nConnection: close\r\n\r\n".encode())
        await w.drain()
        status = await r.readline()
        w.close()
        return b" 200 " in status

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    return method.upper(), path, headers


async def _copy_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None,
                     headers: dict[str, str]) -> None:
    """Pass the request body on (writer None: drop it), by Content-Length or chunk by chunk."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            data = await reader.readexactly(size + 2)  # the chunk and its CRLF
            if writer is not None:
                writer.write(size_line + data)
            if size == 0:
                return  # (no trailers from the clients the sandbox serves)
        return
    left = int(headers.get("content-length", "0") or 0)
    while left > 0:
        data = await reader.read(min(CHUNK, left))
        if not data:
            raise asyncio.IncompleteReadError(b"", left)
        left -= len(data)
        if writer is not None:
            writer.write(data)
            await writer.drain()


async def _skip_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> None:
    await _copy_body(reader, None, headers)
