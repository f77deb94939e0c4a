"""`glcr migrate-project` end to end: the real docker-registry behind the GitLab API sandbox,
driven through the command line in a subprocess (so a kill is a real kill), with skopeo as an
independent witness of every digest at the new path.

The project: three repositories (root, api, web); tags sharing digests; a multi-arch index with
untagged children; an SBOM artifact tagged cosign-style; and an untagged artifact found only
through an OCI 1.1 referrers-tag index (`sha256-<hex>`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from glcr.models import MEDIA_OCI_INDEX, Project
from glcr_sandbox.registry_client import RegistryClient, sha256_digest
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_artifact, push_image, push_index, tag_existing

from glcr_runner import Result, glcr

SKOPEO = shutil.which("skopeo")


@dataclass
class World:
    sandbox: Sandbox
    project: Project
    registry: RegistryClient
    tags: dict[str, dict[str, str]]  # repository name ("" root) -> tag -> digest
    target: str  # new full path
    holding: str
    state: Path
    token: str
    user: str = "root"

    def glcr(self, *args: str, crash: str | None = None, check: bool = True) -> Result:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "GLCR_", "CI_"))}
        env.update(GITLAB_URL=self.sandbox.url, GITLAB_TOKEN=self.token, NO_COLOR="1")
        if crash:
            env["GLCR_MIGRATE_CRASH"] = crash
        # A fork of a process that has imported glcr (glcr_forkserver): the same process
        # boundary as `python -m glcr`, so a crash point's kill is a real exit 137, without
        # half a second of imports for each of the dozens of runs a kill matrix makes.
        result = glcr(env, "migrate-project", *args, "--state-dir", str(self.state), timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"glcr exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def path(self, base: str, name: str) -> str:
        return f"{base.lower()}/{name}" if name else base.lower()

    def skopeo_digest(self, path: str, tag: str) -> str:
        """The digest of the raw manifest as skopeo reads it through /jwt/auth, like any client."""
        raw = subprocess.run([SKOPEO, "inspect", "--raw", "--tls-verify=false", "--creds", f"{self.user}:{self.token}",
                              f"docker://{self.sandbox.registry_host}/{path}:{tag}"],
                             capture_output=True, check=True, timeout=60).stdout
        return "sha256:" + hashlib.sha256(raw).hexdigest()

    def assert_moved(self, base: str | None = None, *, skopeo: bool = True) -> None:
        """Every tag at `base` with its digest (skopeo as the witness, or the sandbox's own
        full-access client), none at the old path, no holding copy left."""
        base = base or self.target
        old_base = self.project.path_with_namespace
        for name, tags in self.tags.items():
            new = self.path(base, name)
            assert sorted(self.registry.tags(new) or []) == sorted(tags), new
            for tag, digest in tags.items():
                if skopeo:
                    assert self.skopeo_digest(new, tag) == digest, f"{new}:{tag}"
                else:
                    found = self.registry.manifest(new, tag)
                    assert found is not None and sha256_digest(found.raw) == digest, f"{new}:{tag}"
            if base.lower() != old_base.lower():
                assert not self.registry.tags(self.path(old_base, name)), f"tags left at the old path of {name!r}"
        held = [p for p in self.registry.catalog() if p.startswith(self.holding.lower() + "/")]
        assert held, "the migration used no holding repository"
        assert all(not self.registry.tags(p) for p in held), "holding copies left behind"


def _seed(registry: RegistryClient, base: str, *, oci_subjects: bool = False) -> dict[str, dict[str, str]]:
    """`oci_subjects`: the images the artifacts describe are OCI images (GitLab's registry
    v3.86 refuses a `subject` that is a Docker v2 manifest)."""
    root: dict[str, str] = {}
    root["v1"] = push_image(registry, base, "v1", size=512, seed="v1", oci=oci_subjects)
    root["latest"] = tag_existing(registry, base, "latest", root["v1"])  # tags sharing a digest
    root["stable"] = tag_existing(registry, base, "stable", root["v1"])
    root["v0"] = push_image(registry, base, "v0", size=512, seed="v0", oci=oci_subjects)
    sbom = root["v1"].replace(":", "-") + ".sbom"  # cosign-style tag of an artifact
    root[sbom] = push_artifact(registry, base, root["v1"], tag=sbom)
    # An untagged artifact of v0, listed by an OCI 1.1 referrers-tag index `sha256-<hex>`.
    untagged = push_artifact(registry, base, root["v0"], artifact_type="application/vnd.example.sig",
                             payload=b'{"sig":"v0"}')
    fetched = registry.manifest(base, untagged)
    assert fetched is not None
    referrers = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": [{
        "mediaType": fetched.media_type, "digest": untagged, "size": len(fetched.raw),
        "artifactType": "application/vnd.example.sig"}]}).encode()
    schema_tag = root["v0"].replace(":", "-")
    root[schema_tag] = registry.put_manifest(base, schema_tag, referrers, MEDIA_OCI_INDEX)

    api = {"1.0": push_image(registry, f"{base}/api", "1.0", oci=True, size=512, seed="api")}
    api["current"] = tag_existing(registry, f"{base}/api", "current", api["1.0"])
    web = {"2.0": push_index(registry, f"{base}/web", "2.0", size=512)}  # untagged children
    return {"": root, "api": api, "web": web}


@pytest.fixture(autouse=True)
def quick_workers(sandbox: Sandbox):
    """GitLab's repository-delete worker, made quick for these tests (the sandbox is shared)."""
    knobs = sandbox.ctx.knobs
    saved = knobs.repository_delete_delay_s, knobs.repository_delete_ongoing_s
    knobs.repository_delete_delay_s = knobs.repository_delete_ongoing_s = 0.02
    yield
    knobs.repository_delete_delay_s, knobs.repository_delete_ongoing_s = saved


@pytest.fixture
def world(sandbox: Sandbox, project: Project, registry: RegistryClient, tmp_path: Path) -> World:
    if SKOPEO is None:
        pytest.skip("skopeo is not installed")
    suffix = uuid.uuid4().hex[:6]
    group = sandbox.create_group(f"moved-{suffix}")
    holding = sandbox.create_project(f"holding-{suffix}")
    tags = _seed(registry, project.path_with_namespace.lower(), oci_subjects=sandbox.registry_kind != "distribution")
    sandbox.sync()
    return World(sandbox, project, registry, tags, f"{group.path}/{project.path}-new",
                 sandbox.world.project_full_path(holding), tmp_path / "state", sandbox.root_token)


def test_a_tag_pushed_during_the_migration_stops_it_before_any_delete(world: World) -> None:
    args = (world.project.path_with_namespace, "--to", world.target, "--via", world.holding, "--yes")
    assert world.glcr(*args, crash="delete-tags:0:before", check=False).returncode == 137
    api = world.path(world.project.path_with_namespace, "api")
    world.tags["api"]["late"] = push_image(world.registry, api, "late", size=256, seed="late")
    stopped = world.glcr("--resume", check=False)
    assert stopped.returncode == 11, stopped.stderr  # ExitCode.STALE
    assert "changed since the plan" in stopped.stderr and "--abort" in stopped.stderr
    assert sorted(world.registry.tags(world.project.path_with_namespace.lower())) == sorted(world.tags[""])
    world.glcr("--resume", "--abort")
    world.assert_moved(world.project.path_with_namespace, skopeo=False)


def _journal(world: World) -> list[dict]:
    [directory] = list(world.state.iterdir())
    return [json.loads(line) for line in (directory / "journal.jsonl").read_text().splitlines() if line.strip()]


def test_migrate_transfer_and_rename_through_holding(world: World) -> None:
    dry = world.glcr(world.project.path_with_namespace, "--to", world.target, "--via", world.holding,
                     "--dry-run", "-o", "json")
    plan = json.loads(dry.stdout)
    assert [s["kind"] for s in plan["steps"]][:3] == ["backup"] * 3
    assert world.registry.tags(world.project.path_with_namespace.lower()), "a dry run changed nothing"
    assert not world.state.exists(), "a dry run keeps no state"

    result = world.glcr(world.project.path_with_namespace, "--to", world.target, "--via", world.holding,
                        "--yes", "-o", "json")
    report = json.loads(result.stdout)
    assert report["state"] == "done"
    assert all(t["verified"] for t in report["tags"]) and len(report["tags"]) == sum(map(len, world.tags.values()))
    assert sum(r["uploaded"] for r in report["report"]) == 0, "every blob was mounted, none uploaded"
    world.assert_moved()
    # The untagged children and the untagged referrer came along (the index and the
    # referrers-tag index could not have been pushed without them).
    web = world.path(world.target, "web")
    index = json.loads(world.registry.manifest(web, world.tags["web"]["2.0"]).raw)
    assert all(world.registry.manifest(web, child["digest"]) for child in index["manifests"])
    status = world.glcr("status", "-o", "json")
    assert json.loads(status.stdout)[0]["state"] == "done"
    # The token never reaches output or the migration directory.
    written = [dry.stdout, dry.stderr, result.stdout, result.stderr, status.stdout, status.stderr]
    written += [f.read_text() for f in world.state.rglob("*") if f.is_file() and f.name != "lock"]
    assert not [text for text in written if world.token in text]


def test_migrate_rename_through_backup_dir(world: World, tmp_path: Path) -> None:
    new = f"{world.project.path_with_namespace}-renamed"
    backup = tmp_path / "backup"
    project = world.sandbox.world.find_project(world.project.id)
    ids = {r.name: r.id for r in world.sandbox.world.project_repositories(project)}
    world.glcr(world.project.path_with_namespace, "--to", new, "--backup-dir", str(backup), "--yes",
               "--keep-repository-records")
    # The records stayed (same ids) and follow the project's new path.
    assert {r.name: r.id for r in world.sandbox.world.project_repositories(project)} == ids
    for name, tags in world.tags.items():
        assert sorted(world.registry.tags(world.path(new, name)) or []) == sorted(tags)
        for tag, digest in tags.items():
            assert world.skopeo_digest(world.path(new, name), tag) == digest
        assert not world.registry.tags(world.path(world.project.path_with_namespace, name))
    # The backup is a valid OCI layout, kept, and every blob in it matches its digest.
    layout = json.loads((backup / "index.json").read_text())
    refs = {m["annotations"]["org.opencontainers.image.ref.name"] for m in layout["manifests"]
            if "org.opencontainers.image.ref.name" in m.get("annotations", {})}
    assert len(refs) == sum(map(len, world.tags.values()))
    for blob in (backup / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name


def as_owner_without_rights_in_the_target(world: World) -> None:
    """Owner of the project, Maintainer of the holding project, only Developer in the target
    group: GitLab refuses the transfer ("You don't have permission to transfer projects into
    that namespace"). The preflight reads that role (GET /groups/:id/members/all/:user_id) and
    refuses first; these tests pass `--skip-check target-namespace` (SKIP_TARGET_CHECK) to get
    GitLab's own refusal half-way."""
    user = f"mover-{uuid.uuid4().hex[:6]}"
    world.sandbox.create_user(user)
    world.sandbox.set_member(user, 50, project=world.project.id)
    world.sandbox.set_member(user, 40, project=world.holding)
    world.sandbox.set_member(user, 30, group=world.target.split("/")[0])
    world.token, world.user = world.sandbox.create_token(user), user


SKIP_TARGET_CHECK = ("--skip-check", "target-namespace")


def test_migrate_refused_transfer_restores_at_the_old_path(world: World) -> None:
    """An Owner of the project without permission in the target group: GitLab refuses the
    transfer after the tags are gone, and glcr puts every image back under the original path."""
    as_owner_without_rights_in_the_target(world)
    result = world.glcr(world.project.path_with_namespace, "--to", world.target, "--via", world.holding, "--yes",
                        *SKIP_TARGET_CHECK, check=False)
    assert result.returncode == 8, result.stderr  # ExitCode.REFUSED
    assert "back under" in result.stderr
    world.assert_moved(world.project.path_with_namespace)
    assert any(e["event"] == "rollback" for e in _journal(world))


def test_migrate_killed_during_the_rollback_then_resumed(world: World) -> None:
    """The transfer is refused, the run dies while putting the images back; --resume ends it."""
    as_owner_without_rights_in_the_target(world)
    args = (world.project.path_with_namespace, "--to", world.target, "--via", world.holding, "--yes",
            *SKIP_TARGET_CHECK)
    killed = world.glcr(*args, crash="rollback:restore:1:after", check=False)
    assert killed.returncode == 137, killed.stderr
    resumed = world.glcr("--resume", check=False)
    assert resumed.returncode == 8, resumed.stderr
    world.assert_moved(world.project.path_with_namespace)


def test_migrate_abort_puts_the_images_back(world: World) -> None:
    """Stopped after some tags were deleted; `--resume --abort` restores them where they were."""
    args = (world.project.path_with_namespace, "--to", world.target, "--via", world.holding, "--yes")
    killed = world.glcr(*args, crash="delete-tags:1:after", check=False)
    assert killed.returncode == 137
    assert not world.registry.tags(world.project.path_with_namespace.lower())  # gone from the old path
    status = json.loads(world.glcr("status", "-o", "json").stdout)
    assert status[0]["state"] == "unfinished"
    world.glcr("--resume", "--abort")
    world.assert_moved(world.project.path_with_namespace)
    assert world.sandbox.world.find_project(world.project.id).namespace_id != world.sandbox.world.find_namespace(
        world.target.split("/")[0]).id


@pytest.mark.parametrize("phase", ["before", "after"])
@pytest.mark.registry_kinds("gitlab", "distribution")  # gitlab-legacy migrates like distribution (copy-away) and deletes like gitlab (a tag DELETE): both covered
def test_migrate_killed_at_every_step_then_resumed(sandbox: Sandbox, registry: RegistryClient, tmp_path: Path,
                                                  phase: str) -> None:
    """Killed in every step in turn: right after its `start` entry (before: nothing done yet) or
    after its work (after: done, but no `done` entry). Each `--resume` is killed again at the
    next step, so every step is both interrupted and re-run by a resumed process; the last
    `--resume` finishes, and the end state is the same as an uninterrupted run."""
    if SKOPEO is None:
        pytest.skip("skopeo is not installed")
    suffix = uuid.uuid4().hex[:6]
    created = sandbox.create_project(f"killed-{phase}-{suffix}")
    path = sandbox.world.project_full_path(created)
    tags = {"": {"v1": push_image(registry, path, "v1", size=256, seed="k1")},
            "web": {"2.0": push_index(registry, f"{path}/web", "2.0", size=256)}}
    tags[""]["same"] = tag_existing(registry, path, "same", tags[""]["v1"])
    sandbox.sync()
    group = sandbox.create_group(f"to-{suffix}")
    holding = sandbox.world.project_full_path(sandbox.create_project(f"hold-{suffix}"))
    w = World(sandbox, Project(created.id, path, created.name, created.path), registry, tags,
              f"{group.path}/{created.path}-2", holding, tmp_path / "state", sandbox.root_token)
    first = (path, "--to", w.target, "--via", holding, "--yes")
    killed = w.glcr(*first, crash=f"1:{phase}", check=False)
    assert killed.returncode == 137, killed.stderr
    [plan] = w.state.glob("*/plan.json")
    steps = [step["id"] for step in json.loads(plan.read_text())["steps"]]
    assert len(steps) == 12  # 2 backups, 2 deletes, records, wait, transfer, rename, 2 restores, drop, verify
    for number in range(1, len(steps) + 1):
        if number > 1:
            killed = w.glcr("--resume", crash=f"{number}:{phase}", check=False)
            assert killed.returncode == 137, (number, killed.stderr)
        last = _journal(w)[-1]
        assert (last["step"], last["event"]) == (steps[number - 1], "start")  # no outcome written
    w.glcr("--resume")
    w.assert_moved()


def test_migrate_without_a_holding_place_copies_away_through_the_state_dir(world: World, registry_kind: str) -> None:
    """Out of the top-level namespace (GitLab refuses that while tags exist) and neither --via nor
    --backup-dir: glcr takes the copy-away path unasked, through a local OCI layout beside the
    migration's journal, and says which path it took and why."""
    result = world.glcr(world.project.path_with_namespace, "--to", world.target, "--yes", "-o", "json")
    report = json.loads(result.stdout)
    assert report["state"] == "done" and report["mode"] == "directory"
    why = "leaves the top-level namespace" if registry_kind == "gitlab" else "no GitLab API"
    assert why in report["route"] and "no --via or --backup-dir" in report["route"]
    assert why in result.stderr
    [directory] = [p for p in world.state.iterdir() if p.is_dir()]
    assert report["backup_dir"] == str((directory / "images").resolve())
    assert (directory / "images" / "oci-layout").exists()
    for name, tags in world.tags.items():
        new = world.path(world.target, name)
        assert sorted(world.registry.tags(new) or []) == sorted(tags)
        for tag, digest in tags.items():
            assert world.skopeo_digest(new, tag) == digest
        assert not world.registry.tags(world.path(world.project.path_with_namespace, name))


def _assert_at(world: World, new: str, *, extra: dict[str, list[str]] | None = None) -> None:
    """Every seeded tag at `new` with its digest (skopeo), none left at the old path."""
    for name, tags in world.tags.items():
        path = world.path(new, name)
        assert sorted(world.registry.tags(path) or []) == sorted([*tags, *(extra or {}).get(name, [])])
        for tag, digest in tags.items():
            assert world.skopeo_digest(path, tag) == digest
        assert not world.registry.tags(world.path(world.project.path_with_namespace, name))


def _plans(world: World) -> list[dict]:
    return sorted((json.loads(p.read_text()) for p in world.state.glob("*/plan.json")), key=lambda p: p["id"])


def test_migrate_rename_in_the_same_top_level_namespace_asks_gitlab_first(world: World, registry_kind: str) -> None:
    """A rename never leaves the top-level namespace. On GitLab's registry, whose rename check
    accepts a free name, GitLab moves the images itself: one native migration, nothing copied. On
    a third-party registry glcr copies away at once."""
    new = f"{world.project.path_with_namespace}-renamed"
    result = world.glcr(world.project.path_with_namespace, "--to", new, "--yes", "-o", "json")
    report = json.loads(result.stdout)
    assert report["state"] == "done"
    plans = _plans(world)
    if registry_kind == "gitlab":
        assert [p["mode"] for p in plans] == ["native"] and "asks by asking for the move" in result.stderr
        assert report["mode"] == "native" and not list(world.state.glob("*/images"))
    else:
        assert [p["mode"] for p in plans] == ["directory"] and "no GitLab API" in report["route"]
    _assert_at(world, new)


def test_migrate_rename_refused_by_the_registry_copies_away_unasked(world: World, registry_kind: str) -> None:
    """GitLab's registry refuses the rename when a repository already sits at the new path
    ("Name Taken"); GitLab then refuses the move without changing anything, and glcr continues
    with a copy-away migration, unasked, keeping what was already at the new path."""
    if registry_kind != "gitlab":
        pytest.skip("the registry's rename check exists only on GitLab's registry")
    new = f"{world.project.path_with_namespace}-taken"
    orphan = push_image(world.registry, new.lower(), "orphan", size=256, seed="orphan", oci=True)
    result = world.glcr(world.project.path_with_namespace, "--to", new, "--yes", "-o", "json")
    report = json.loads(result.stdout)
    assert report["state"] == "done"
    [second] = [p for p in _plans(world) if p.get("continues")]  # ids of one second do not sort in time
    [first] = [p for p in _plans(world) if p["id"] == second["continues"]]
    assert first["mode"] == "native" and second["mode"] == "directory"
    assert "GitLab refused to move the images in place" in report["route"]
    status = {m["id"]: m["state"] for m in json.loads(world.glcr("status", "-o", "json").stdout)}
    assert status[first["id"]] == f"refused in place; continued by {second['id']}"
    _assert_at(world, new, extra={"": ["orphan"]})
    assert world.skopeo_digest(new.lower(), "orphan") == orphan
