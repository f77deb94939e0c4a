"""The sandbox's HTTP server: http.server, threaded, HTTP/1.1 keep-alive.

Keep-alive matters: benchmarks send thousands of requests over a few connections. Every
response therefore carries a Content-Length, and every request body is read in full.
Injected latency and the rate limit apply to /api/v4 and /jwt/auth, never to /-/sandbox.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from glcr_sandbox import api_graphql, api_inuse, api_lists, api_projects, api_protection, api_registry, control
from glcr_sandbox.context import SandboxContext
from glcr_sandbox.jwt_auth import jwt_auth
from glcr_sandbox.registry_client import RegistryError
from glcr_sandbox.web import ApiError, Request, Response, Router, json_response

log = logging.getLogger(__name__)
API = "/api/v4"


def build_router() -> Router:
    router = Router()
    add = router.add
    add("GET", f"{API}/version", api_projects.get_version)
    add("GET", f"{API}/user", api_projects.get_user)
    add("GET", f"{API}/personal_access_tokens/self", api_projects.get_token_self)
    add("GET", f"{API}/application/settings", api_projects.get_settings)
    add("PUT", f"{API}/application/settings", api_projects.put_settings)
    add("GET", f"{API}/job", api_lists.get_job)
    add("GET", f"{API}/projects", api_lists.list_projects)
    add("GET", f"{API}/projects/:id", api_projects.get_project)
    add("GET", f"{API}/projects/:id/members/all/:user_id", api_projects.get_member_all)
    add("GET", f"{API}/groups/:id/members/all/:user_id", api_projects.get_group_member_all)
    add("PUT", f"{API}/projects/:id", api_projects.put_project)
    add("PUT", f"{API}/projects/:id/transfer", api_projects.transfer_project)
    add("GET", f"{API}/groups", api_lists.list_groups)
    add("GET", f"{API}/groups/:id", api_projects.get_group)
    repos = f"{API}/projects/:id/registry/repositories"
    add("GET", repos, api_registry.list_project_repositories)
    add("DELETE", f"{repos}/:repository_id", api_registry.delete_repository)
    add("GET", f"{repos}/:repository_id/tags", api_registry.list_tags)
    add("DELETE", f"{repos}/:repository_id/tags", api_registry.delete_tags_bulk)
    add("GET", f"{repos}/:repository_id/tags/:tag_name", api_registry.get_tag)
    add("DELETE", f"{repos}/:repository_id/tags/:tag_name", api_registry.delete_tag)
    add("GET", f"{API}/groups/:id/registry/repositories", api_registry.list_group_repositories)
    add("GET", f"{API}/registry/repositories/:id", api_registry.get_repository)
    api_protection.register(router, API)
    api_inuse.register(router, API)
    api_graphql.register(router)
    add("GET", "/jwt/auth", jwt_auth)
    control.register(router)
    return router


def _failing_project(ctx, raw_path: str) -> bool:
    """Whether `raw_path` is under /api/v4/projects/:id/ of a project the failing_projects knob names."""
    from urllib.parse import unquote

    rest = raw_path[len(f"{API}/projects/"):] if raw_path.startswith(f"{API}/projects/") else ""
    ref = unquote(rest.split("/", 1)[0]) if rest else ""
    project = ctx.world.find_project(ref) if ref else None
    return project is not None and project.id in ctx.knobs.failing_projects


def reserved_port() -> socket.socket:
    """A socket bound to a free loopback port and held: the port the API will serve on, known
    before the registry starts (it is the token realm). A port picked, released and bound again
    seconds later can meanwhile be taken by any outgoing connection's ephemeral port (it was, in
    the suite: "Address already in use"); a bound socket keeps the kernel from handing it out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, port: int, ctx: SandboxContext, *, tls: ssl.SSLContext | None = None,
                 bound: socket.socket | None = None) -> None:
        """`tls`: serve https with this server context (`glcr sandbox up --tls`). `bound`: a socket
        already bound to the port (reserved_port), served instead of binding the port again."""
        self.ctx = ctx
        self.router = build_router()
        self.tls = tls
        super().__init__(("127.0.0.1", port), SandboxHandler, bind_and_activate=bound is None)
        if bound is not None:
            self.socket.close()
            self.socket = bound
            self.server_address = bound.getsockname()
            host, self.server_port = bound.getsockname()[:2]
            self.server_name = str(host)
            self.server_activate()

    def get_request(self) -> tuple:
        sock, address = super().get_request()
        if self.tls is not None:
            # The handshake happens in the request's own thread (process_request_thread), so a
            # client that connects and says nothing does not stop the accepting thread.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def process_request_thread(self, request, client_address) -> None:
        if self.tls is not None:
            try:
                request.settimeout(10)
                request.do_handshake()
                request.settimeout(None)
            except (ssl.SSLError, OSError):
                # A client that does not trust the CA ends the handshake; as GitLab's nginx would.
                self.shutdown_request(request)
                return
        super().process_request_thread(request, client_address)


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer
    server_version = "glcr-sandbox"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        req = Request(
            method=self.command,
            raw_path=split.path,
            query_string=split.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        resp = self._dispatch(req)
        self._send(resp, head=self.command == "HEAD")

    def _dispatch(self, req: Request) -> Response:
        ctx = self.server.ctx
        gitlab_route = req.raw_path.startswith(f"{API}/") or req.raw_path == "/jwt/auth"
        if gitlab_route:
            if ctx.knobs.latency_ms:
                time.sleep(ctx.knobs.latency_ms / 1000)
            if req.raw_path.startswith(f"{API}/"):
                throttled = ctx.limiter.check()
                if throttled is not None:
                    return throttled
                if ctx.knobs.failing_projects and _failing_project(ctx, req.raw_path):
                    return json_response(500, {"message": "500 Internal Server Error"})
        found = self.server.router.match(req.method, req.raw_path)
        if found is None:
            if not req.raw_path.startswith(f"{API}/"):
                return Response(404, b"Not Found\n", content_type="text/plain")
            # API::API's `route :any, '*path'` wins over Grape's 405, whatever the method.
            return json_response(404, {"error": "404 Not Found"})
        handler, params = found
        try:
            return handler(ctx, req, **params)
        except ApiError as exc:
            return exc.response
        except RegistryError as exc:
            log.warning("registry error on %s %s: %s", req.method, req.raw_path, exc)
            return json_response(500, {"message": "500 Internal Server Error"})
        except Exception:
            log.exception("sandbox error on %s %s", req.method, req.raw_path)
            return json_response(500, {"message": "500 Internal Server Error"})

    def _send(self, resp: Response, *, head: bool) -> None:
        self.send_response(resp.status)
        if resp.status not in (204, 304):
            self.send_header("Content-Type", resp.content_type)
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if not head and resp.body:
            self.wfile.write(resp.body)

    do_GET = _handle
    do_HEAD = _handle
    do_POST = _handle
    do_PUT = _handle
    do_DELETE = _handle
    do_PATCH = _handle


class ServerThread:
    """Runs the server in a daemon thread; `stop()` shuts it down and closes the socket."""

    def __init__(self, server: SandboxHTTPServer) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="sandbox-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
