"""Run GitLab's container registry without its metadata database ("legacy" metadata).

What most self-managed GitLab installs run: Omnibus and the Helm chart ship GitLab's registry
with `database: enabled: false` unless the administrator opted in (GA in 17.3), so tags and
manifests live as files in the storage backend. Same binary as `GitlabRegistryProcess`
(v3.86.0-gitlab), one child process, filesystem storage, no PostgreSQL and no Redis: it
starts in about half a second.

What this binary answers in that mode (probed on 127.0.0.1, 2026-12-07; tokens signed like
GitLab's, `access_token({})` meaning a token with an empty `access` list):
- `GET /v2/` without a token: 401, no Gitlab-* headers. With any valid token: 200 and
  `Gitlab-Container-Registry-Features: tag_delete`,
  `Gitlab-Container-Registry-Database-Enabled: false`,
  `Gitlab-Container-Registry-Version: 3.86.0-gitlab-4-g343c8ff1`.
- `GET /gitlab/v1/` without a token: 401 (as with the database); with a valid token: 404
  (empty body). GitLab's `GitlabApiClient#supports_gitlab_api?` sends the token, so it sees
  404: no GitLab API. (`/gitlab/v1` without the slash: 404 from the router.)
- `GET /gitlab/v1/repositories/<path>/tags/list/` and `GET /gitlab/v1/repositories/<path>/?size=self`
  with a full-access token: the handler dereferences the missing database, panics, and the
  connection is closed without a response (newer registries answer 404 there).
- `PATCH /gitlab/v1/repositories/<path>/?dry_run=true`: 404 `NOT_IMPLEMENTED` "the server is
  missing the dependency 'redis'" (GitLab never sends it here: no GitLab API, no rename).
- `OPTIONS /v2/name/manifests/tag` with a token: 200, `Allow: DELETE, GET, HEAD, PUT`, which is
  what `ContainerRegistry::Client#supports_tag_delete?` looks for (without a token: 401).
- `DELETE /v2/<path>/manifests/<tag>` with `:delete`: 202 and only that tag goes (a sibling on
  the same digest stays); again: 404 `MANIFEST_UNKNOWN`; with pull,push only: 401
  `insufficient_scope` asking for `repository:<path>:delete`.
- `/v2/<path>/tags/list`, manifests, blobs and `/v2/_catalog` work as on distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from glcr_sandbox.gitlab_registry_process import find_binary, registry_config
from glcr_sandbox.registry_process import RegistryProcess


@dataclass
class GitlabLegacyRegistryProcess(RegistryProcess):
    """`registry serve` with the database off; `start()` returns once `/v2/` answers 401."""

    kind: str = field(default="gitlab-legacy", init=False)
    what = "GitLab's registry (no metadata database)"

    def find_binary(self) -> str:
        return find_binary(self.binary)

    def config(self) -> dict:
        return registry_config(storage=self.directory / "storage", port=self.port, realm=self.realm,
                               cert_path=self.cert_path, pg_port=None, redis_port=None)
