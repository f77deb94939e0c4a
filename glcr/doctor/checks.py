"""`glcr doctor`'s checks against a live GitLab and registry. Each returns typed results.

Every check keeps going after a failure where it can, so one run shows every problem; a
check that needs something an earlier one could not provide reports SKIP with the reason.
Raw answers (status, headers, Date) come from `Probe`, built by the one HTTP client factory;
the registry token flow is glcr's own (`Session.tokens`), so the doctor tests what the
commands will really do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Mapping

import httpx

from glcr.credentials import Credentials, TokenKind
from glcr.doctor import clock, names
from glcr.doctor.model import CheckResult, DoctorReport, Status, fail, ok, skip, warn
from glcr.doctor.token import NEW_TOKEN, evaluate_personal_token
from glcr.errors import AuthError, ExitCode, GlcrError, InvalidInputError, NotFoundError, PermissionDeniedError
from glcr.gitlab.convert import encode_id
from glcr.reference import LEVELS_SUPPORTED, parse_image_ref, project_candidates
from glcr.registry.client import registry_base_url
from glcr.registry.auth import origin as origin_of
from glcr.registry.scope import Challenge, jwt_claims, parse_challenge
from glcr.transport.factory import HttpOptions, build_async_client
from glcr.transport.redact import redact_text

# lib/container_registry/path.rb: the project is among an image path's 3 longest prefixes.
MAINTAINER = 40
ROLES = {10: "Guest", 15: "Planner", 20: "Reporter", 30: "Developer", 40: "Maintainer", 50: "Owner"}
NETWORK_FIX = ("check --url / GITLAB_URL, DNS and proxy settings (HTTPS_PROXY); for a private CA "
               "set SSL_CERT_FILE or pass --ca-file")


@dataclass(frozen=True)
class DoctorRequest:
    path: str | None = None  # project, repository or image name to check
    registry: str | None = None  # registry host[:port], when GitLab does not tell
    env: Mapping[str, str] = field(default_factory=dict)  # for CI_REGISTRY
    today: date | None = None  # the clock is a parameter (tests)


@dataclass(frozen=True)
class Seen:
    """One raw answer: what the doctor saw, never an exception."""

    status: int | None  # None: no answer at all
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or None
    error: str | None  # transport failure, redacted
    observation: clock.Observation


class Probe:
    """Raw GETs to GitLab's API and to a registry's /v2/, with the timing for clock checks."""

    def __init__(self, creds: Credentials, options: HttpOptions, *, insecure_registry: bool = False,
                 now: Callable[[], float] = time.time) -> None:
        self._creds = creds
        self._options = options
        self._insecure = insecure_registry
        self._now = now
        self._gitlab = build_async_client(options, base_url=f"{creds.url}/api/v4/", headers=creds.api_headers())
        self._registries: dict[str, httpx.AsyncClient] = {}

    async def __aenter__(self) -> "Probe":
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in [self._gitlab, *self._registries.values()]:
            await client.aclose()

    async def gitlab(self, path: str, params: dict[str, Any] | None = None) -> Seen:
        return await self._get(self._gitlab, path, params)

    async def registry(self, host: str, path: str = "/v2/") -> Seen:
        client = self._registries.get(host)
        if client is None:
            client = self._registries[host] = build_async_client(
                self._options, base_url=registry_base_url(host, insecure=self._insecure, gitlab_url=self._creds.url))
        return await self._get(client, path, None)

    async def _get(self, client: httpx.AsyncClient, path: str, params: dict[str, Any] | None) -> Seen:
        sent = self._now()
        try:
            response = await client.get(path, params=params)
        except httpx.HTTPError as exc:
            detail = redact_text(f"{type(exc).__name__}: {exc}"[:200], self._creds.secrets())
            return Seen(None, {}, None, detail, clock.Observation(None, sent, self._now()))
        received = self._now()
        try:
            body = response.json()
        except ValueError:
            body = None
        return Seen(response.status_code, dict(response.headers), body, None,
                    clock.Observation(response.headers.get("Date"), sent, received))


# --------------------------------------------------------------------------- url


async def check_url(probe: Probe, url: str) -> tuple[list[CheckResult], Seen | None]:
    results: list[CheckResult] = []
    if url.rstrip("/").endswith("/api/v4"):
        base = url.rstrip("/")[: -len("/api/v4")]
        return [fail("url", f"{url} is the API address, not GitLab's", f"use --url {base}",
                     ExitCode.INVALID_INPUT)], None
    parsed = httpx.URL(url)
    if parsed.scheme == "http" and parsed.host not in ("localhost", "127.0.0.1", "::1"):
        results.append(warn("url", f"{url} is plain http: the token travels unencrypted", "use https://"))
    seen = await probe.gitlab("version")
    if seen.status is None:
        results.append(fail("url", f"cannot reach {url} ({seen.error})", NETWORK_FIX, ExitCode.NETWORK))
        return results, None
    body = seen.body if isinstance(seen.body, dict) else None
    if 300 <= seen.status < 400:
        location = seen.headers.get("location", "?")
        results.append(fail("url", f"{url}/api/v4/version redirects to {location}",
                            "use the URL GitLab redirects to as --url (GitLab's API does not follow redirects)",
                            ExitCode.INVALID_INPUT))
    elif seen.status == 200 and body and body.get("version"):
        results.append(ok("url", f"GitLab {body['version']} answers at {url}"))
    elif seen.status in (401, 403) and body is not None:
        results.append(ok("url", f"GitLab answers at {url} (its version is shown only to a valid token)"))
    elif seen.status == 404:
        results.append(fail("url", f"no GitLab API at {url}/api/v4 (404)",
                            "give GitLab's base URL, the address of its web UI", ExitCode.NOT_FOUND))
    else:
        results.append(fail("url", f"{url}/api/v4/version answered {seen.status}"
                                   f"{'' if body is not None else ' without JSON'}: not GitLab's API?",
                            "give GitLab's base URL, the address of its web UI", ExitCode.NETWORK))
    return results, seen


# --------------------------------------------------------------------------- token


async def check_token(probe: Probe, creds: Credentials, today: date) -> list[CheckResult]:
    source = f"from {creds.source}"
    if creds.token is None:
        return [fail("token", "no token: GitLab answers anonymously (public projects only, nothing can be "
                              "deleted)", NEW_TOKEN, ExitCode.AUTH)]
    if creds.kind is TokenKind.JOB:
        seen = await probe.gitlab("job")
        if seen.status == 200 and isinstance(seen.body, dict):
            job = seen.body
            project = (job.get("pipeline") or {}).get("project_id") or "its project"
            return [ok("token", f"CI job token {source}: job {job.get('id')} (project {project}); it can delete "
                                "images of its own project only and cannot change settings")]
        if seen.status == 401:
            return [fail("token", f"GitLab rejects the CI job token {source} (job finished?)",
                         "CI job tokens are valid only while their job runs", ExitCode.AUTH)]
        return [warn("token", f"CI job token {source} could not be checked (GET /job: {seen.status or seen.error})")]
    user = await probe.gitlab("user")
    if user.status == 401:
        return [fail("token", f"GitLab rejects the token {source} (expired, revoked or mistyped)", NEW_TOKEN,
                     ExitCode.AUTH)]
    if user.status != 200 or not isinstance(user.body, dict):
        return [fail("token", f"reading the current user with the token {source}: "
                              f"{user.status or user.error}", NEW_TOKEN, ExitCode.AUTH)]
    who = user.body.get("username") or "?"
    admin = " (administrator)" if user.body.get("is_admin") else ""
    if creds.kind is TokenKind.OAUTH:
        return [ok("token", f"OAuth token {source} works for {who}{admin}; scopes not checked")]
    pat = await probe.gitlab("personal_access_tokens/self")
    if pat.status != 200 or not isinstance(pat.body, dict):
        return [warn("token", f"token {source} works for {who}{admin}, but its scopes could not be read "
                              f"(GET /personal_access_tokens/self: {pat.status or pat.error})",
                     "GitLab 15.5 or later shows them; make sure the token has the `api` scope")]
    results = evaluate_personal_token(pat.body, today)
    name = f" {pat.body['name']!r}" if pat.body.get("name") else ""
    first = results[0]
    results[0] = CheckResult(first.check, first.status, f"{who}{admin}, token{name} {source}: {first.message}",
                             first.fix, first.kind)
    return results


# --------------------------------------------------------------------------- project


async def check_project(probe: Probe, path: str, *, job_token: bool = False) -> tuple[list[CheckResult], dict | None]:
    """The project PATH belongs to. GitLab looks only at the 3 longest prefixes; the doctor
    then looks further, so an image nested too deep is explained instead of "not found"."""
    tried = []
    parts = [p for p in path.lower().strip("/").split("/") if p]
    beyond = ["/".join(parts[:n]) for n in range(len(parts) - LEVELS_SUPPORTED, 1, -1)]
    for candidate in project_candidates(path.lower()) + beyond:
        seen = await probe.gitlab(f"projects/{encode_id(candidate)}")
        if seen.status == 200 and isinstance(seen.body, dict):
            return _project_results(seen.body), seen.body
        # A CI job token is ignored on routes that do not take it: GitLab then answers as to an
        # anonymous caller (404 for a private project); the sandbox answers 401.
        if seen.status in (401, 403, 404) and job_token:
            # GET /projects/:id does not take a CI job token; its registry endpoints do.
            repos = await probe.gitlab(f"projects/{encode_id(candidate)}/registry/repositories", {"per_page": 1})
            if repos.status == 200 and isinstance(repos.body, list):
                project = {"path_with_namespace": candidate}
                if repos.body:
                    project["container_registry_image_prefix"] = repos.body[0].get("location", "")
                return [ok("project", f"{candidate}: its registry answers this CI job token "
                                      "(a job token cannot read the project itself)")], project
            if repos.status == 404:
                tried.append(candidate)
                continue
        if seen.status == 404:
            tried.append(candidate)
            continue
        return [fail("project", f"reading project {candidate}: {seen.status or seen.error}",
                     "check the token (see the token check above)",
                     ExitCode.NETWORK if seen.status is None else ExitCode.PERMISSION)], None
    return [fail("project", f"no project found for {path} (tried {', '.join(tried) or 'nothing'})",
                 "check the path; the token's user must be a member, or the project public",
                 ExitCode.NOT_FOUND)], None


def _project_results(project: dict) -> list[CheckResult]:
    name = project.get("path_with_namespace", "?")
    level = project.get("container_registry_access_level")
    if level is None:  # before GitLab 14.x: only the deprecated boolean
        level = "enabled" if project.get("container_registry_enabled", True) else "disabled"
    results = []
    if level == "disabled":
        results.append(fail("project", f"{name}: the container registry is disabled",
                            f"glcr registry enable {name}", ExitCode.NOT_FOUND))
    elif level == "private":
        results.append(ok("project", f"{name}: container registry enabled, visible to project members "
                                     "(Reporter and above) only"))
    else:
        results.append(ok("project", f"{name}: container registry {level}"))
    role = _access_level(project)
    if role is not None and role < MAINTAINER:
        results.append(warn("project", f"your role in {name} is {ROLES.get(role, role)}: deleting tags, cleanup "
                                       "and registry settings need Maintainer",
                            "ask an Owner for the Maintainer role, or use a project access token with it"))
    return results


def _access_level(project: dict) -> int | None:
    permissions = project.get("permissions") or {}
    levels = [int(p["access_level"]) for p in (permissions.get("project_access"), permissions.get("group_access"))
              if isinstance(p, dict) and p.get("access_level") is not None]
    return max(levels) if levels else None


# --------------------------------------------------------------------------- registry


def registry_host_for(request: DoctorRequest, image_host: str | None, project: dict | None) -> tuple[str, str] | None:
    """(host, where it came from), in order: --registry, the image name, the project, CI_REGISTRY."""
    if request.registry:
        return request.registry, "--registry"
    if image_host:
        return image_host, "the image name"
    prefix = (project or {}).get("container_registry_image_prefix")
    if prefix:
        return prefix.split("/", 1)[0], f"project {project.get('path_with_namespace')}"
    if request.env.get("CI_REGISTRY"):
        return request.env["CI_REGISTRY"], "CI_REGISTRY"
    return None


async def any_registry_host(probe: Probe) -> tuple[str, str] | None:
    """The registry of one of the user's projects, when nothing else names it."""
    seen = await probe.gitlab("projects", {"membership": "true", "per_page": 1, "order_by": "last_activity_at"})
    if seen.status == 200 and isinstance(seen.body, list) and seen.body:
        prefix = seen.body[0].get("container_registry_image_prefix")
        if prefix:
            return prefix.split("/", 1)[0], f"project {seen.body[0].get('path_with_namespace')}"
    return None


async def check_registry(probe: Probe, host: str, origin: str, gitlab_url: str
                         ) -> tuple[list[CheckResult], Seen | None, Challenge | None]:
    seen = await probe.registry(host)
    where = f"registry {host} (from {origin})"
    if seen.status is None:
        return [fail("registry", f"cannot reach the {where}: {seen.error}",
                     "check the host and port; use --insecure-registry if it speaks plain http",
                     ExitCode.NETWORK)], None, None
    # GitLab's registry sends its Gitlab-Container-Registry-* headers only to a valid token, so
    # its /v2/ 401 cannot tell which registry this is; check_registry_mode asks with a token.
    about = _registry_about(seen.headers)
    if seen.status == 200:
        return [warn("registry", f"{where} answers /v2/ without authentication{about}: glcr will not need "
                                 "GitLab tokens there, but this is not how GitLab's registry is set up",
                     "point --registry at the registry GitLab integrates with")], seen, None
    if seen.status != 401:
        return [fail("registry", f"{where} answered /v2/ with {seen.status}{about}",
                     "check that this host runs the registry (its /v2/ answers 401 with a Bearer challenge)",
                     ExitCode.NETWORK)], seen, None
    challenge = parse_challenge(seen.headers.get("www-authenticate", ""))
    if challenge is None or challenge.scheme != "bearer":
        return [fail("registry", f"{where} asks for {seen.headers.get('www-authenticate') or 'no'} "
                                 "authentication instead of GitLab's Bearer tokens",
                     "configure the registry's token auth with realm https://<gitlab>/jwt/auth",
                     ExitCode.AUTH)], seen, None
    realm = httpx.URL(challenge.realm)
    gitlab_host = httpx.URL(gitlab_url).host
    if origin_of(realm) != origin_of(gitlab_url):  # scheme, host and port, as glcr.registry.auth checks
        return [fail("registry", f"{where} sends clients to {realm.scheme}://{realm.netloc.decode()} for tokens, "
                                 f"not to {gitlab_url} ({gitlab_host}): "
                                 "glcr refuses to send your GitLab credentials there",
                     f"use --url {realm.scheme}://{realm.netloc.decode()} if that is your GitLab",
                     ExitCode.AUTH)], seen, challenge
    results = [ok("registry", f"{where} answers, token realm {challenge.realm}{about}")]
    if "docker-distribution-api-version" not in {k.lower() for k in seen.headers}:
        results.append(warn("registry", f"{where} sends no Docker-Distribution-API-Version header",
                            "a proxy in front of the registry may strip headers; check its configuration"))
    return results, seen, challenge


def _registry_about(headers: Mapping[str, str]) -> str:
    lower = {k.lower(): v for k, v in headers.items()}
    version = lower.get("gitlab-container-registry-version")
    features = lower.get("gitlab-container-registry-features", "")
    if version:
        return f" (GitLab container registry {version}" + (f", features: {features})" if features else ")")
    return ""


async def check_registry_mode(session: Any, host: str, repository: str | None) -> CheckResult:
    """Which of the three registries this is, asked with a token as GitLab asks it
    (glcr.registry.client.RegistryClient.kind), and what that means for glcr's work there."""
    try:
        kind = await session.registry(host).kind(repository or "")
    except GlcrError as exc:
        return warn("registry-mode", f"could not tell which registry {host} is: {exc.one_line()}",
                    "glcr asks again at the first command; check the token flow above")
    meaning = {
        "gitlab": "tag lists with push times from /gitlab/v1, tag-only deletes, GitLab's own-registry "
                  "cleanup variant, renames in place",
        "gitlab-legacy": "tags read through /v2 (a manifest and config per tag), tag-only deletes, GitLab's "
                         "third-party cleanup variant (image created dates), and GitLab refuses to rename or "
                         "move a project with tags (glcr migrate-project copies them away instead)",
        "third-party": "tags read through /v2, deletes through a placeholder manifest, GitLab's third-party "
                       "cleanup variant",
    }[kind.mode]
    return ok("registry-mode", f"{host}: {kind.label}: {meaning}")


# --------------------------------------------------------------------------- token flow


async def check_token_flow(session: Any, challenge: Challenge, repository: str | None,
                           creds: Credentials, project_path: str | None = None
                           ) -> tuple[list[CheckResult], float | None]:
    """A registry token from /jwt/auth, then pull and delete on `repository` (never push:
    an authorized push scope creates the repository's database row,
    app/services/auth/container_registry_authentication_service.rb)."""
    tokens = session.tokens
    try:
        token = await tokens.token((), challenge)
    except GlcrError as exc:
        return [_flow_failure(exc)], None
    claims = jwt_claims(token)
    lifetime = _lifetime(claims)
    shown = f"{lifetime / 60:.0f} min" if lifetime else "unknown lifetime"
    who = claims.get("sub") or ("CI job" if creds.kind is TokenKind.JOB else "anonymous")
    results = [ok("token-flow", f"GitLab issues registry tokens for {who} ({shown})")]
    if repository is None:
        results.append(skip("token-flow", "no PATH given: pull and delete rights not checked",
                            "run `glcr doctor GROUP/PROJECT[/IMAGE]`"))
        return results, lifetime
    for action in ("pull", "delete"):
        try:
            await tokens.token((f"repository:{repository}:{action}",), challenge)
            results.append(ok("token-flow", f"{action} on {repository}: granted"))
        except PermissionDeniedError as exc:
            if action == "pull":
                fix = exc.hint or "pulling needs the Reporter role and read_registry, read_api or api"
                if project_path and repository.count("/") - project_path.count("/") > LEVELS_SUPPORTED - 1:
                    fix = "GitLab does not map this image path to its project: see the names check below"
                results.append(fail("token-flow", f"pull on {repository}: not granted", fix, ExitCode.PERMISSION))
                break
            hint = ("a CI job token deletes only in its own project" if creds.kind is TokenKind.JOB
                    else "deleting needs the Maintainer role and a token with the `api` scope")
            results.append(warn("token-flow", f"delete on {repository}: not granted (listing works; "
                                              "deleting will not)", hint))
        except GlcrError as exc:
            results.append(_flow_failure(exc))
            break
    return results, lifetime


def _flow_failure(exc: GlcrError) -> CheckResult:
    text = exc.one_line()
    if isinstance(exc, AuthError):
        return fail("token-flow", f"/jwt/auth refused the credentials: {text}",
                    "a personal or project access token needs read_registry, read_api or api; with "
                    "two-factor authentication a password never works", ExitCode.AUTH)
    if isinstance(exc, NotFoundError):
        return fail("token-flow", f"/jwt/auth: {text}", "the container registry is not enabled on this GitLab",
                    ExitCode.NOT_FOUND)
    return fail("token-flow", f"/jwt/auth: {text}", exc.hint, exc.exit_code)


def _lifetime(claims: dict) -> float | None:
    try:
        exp = float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        return None
    for key, backdate in (("iat", 0.0), ("nbf", clock.NBF_BACKDATE_SECONDS)):
        if claims.get(key) is not None:
            return exp - float(claims[key]) - backdate
    return None


# --------------------------------------------------------------------------- all


async def run_doctor(session: Any, probe: Probe, request: DoctorRequest) -> DoctorReport:
    creds: Credentials = session.creds
    today = request.today or date.today()
    results: list[CheckResult] = []

    url_results, gitlab_seen = await check_url(probe, creds.url)
    results += url_results
    reachable = gitlab_seen is not None and not any(r.status is Status.FAIL for r in url_results)
    results += await check_token(probe, creds, today) if reachable else [
        skip("token", "GitLab is not reachable: token not checked")]

    image_host = repository = typed_path = None
    name_results: list[CheckResult] = []
    if request.path:
        try:
            ref = parse_image_ref(request.path)
            image_host, typed_path, repository = ref.host, ref.path, ref.path.lower()
        except InvalidInputError as exc:
            name_results.append(fail("names", exc.one_line(), "write group/project[/image][:tag]",
                                     ExitCode.INVALID_INPUT))

    project = None
    if repository and reachable:
        project_results, project = await check_project(probe, repository, job_token=creds.kind is TokenKind.JOB)
        results += project_results
    elif not request.path:
        results.append(skip("project", "no PATH given: project not checked", "run `glcr doctor GROUP/PROJECT`"))

    found = registry_host_for(request, image_host, project)
    if found is None and reachable and creds.token is not None:
        found = await any_registry_host(probe)
    registry_seen = challenge = None
    lifetime = None
    if found is None:
        results.append(skip("registry", "registry host unknown: registry not checked",
                            "give a PATH, or --registry HOST[:PORT]"))
    else:
        reg_results, registry_seen, challenge = await check_registry(probe, found[0], found[1], creds.url)
        results += reg_results
        realm_ok = not any(r.status is Status.FAIL for r in reg_results)
        if challenge is not None and realm_ok and reachable:
            flow, lifetime = await check_token_flow(session, challenge, repository if project else None, creds,
                                                    project.get("path_with_namespace") if project else None)
            results += flow
            if not any(r.status is Status.FAIL for r in flow):
                results.append(await check_registry_mode(session, found[0], repository if project else None))
        else:
            results.append(skip("token-flow", "registry token flow not checked (see the registry check)"))

    if registry_seen is not None:
        results += clock.check_clocks(registry_seen.observation,
                                      gitlab_seen.observation if gitlab_seen else None, lifetime)
    else:
        results.append(skip("clock", "no answer from the registry: clock skew not checked"))

    if repository:
        project_path = project.get("path_with_namespace") if project else None
        name_results += names.check_image_name(typed_path or repository, project_path)
    elif not request.path:
        name_results.append(skip("names", "no PATH given: image names not checked"))
    results += name_results
    return DoctorReport.of(results)
