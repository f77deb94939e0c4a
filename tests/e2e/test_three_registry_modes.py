"""Issue 15 end to end: on each of the three registries (GitLab's with its metadata database,
without it, and distribution), glcr's cleanup dry-run is exactly what GitLab's own cleanup then
deletes, dated the way GitLab dates tags there: the push time with the database (a tag re-pushed
today is new, however old its first push), the image's `created` elsewhere (a Docker manifest
list by its linux/amd64 image, an OCI index undated)."""

from __future__ import annotations

import datetime as dt
import json

from glcr_sandbox.seed import push_image, push_index

from glcr_runner import glcr, skopeo_tags

UTC = dt.timezone.utc
POLICY = ("--keep-n", "1", "--older-than", "30d")


def test_dry_run_is_what_gitlabs_own_cleanup_then_deletes(sandbox, project, registry, sandbox_env):
    repo = project.path_with_namespace.lower()
    now = dt.datetime.now(UTC)
    for name in ("old-a", "old-b", "main", "new-c"):
        push_image(registry, repo, name, created=now - dt.timedelta(days=200), seed=name)
    sandbox.backdate(repo, {"old-a": dt.timedelta(days=100), "old-b": dt.timedelta(days=60),
                            "main": dt.timedelta(days=200)})
    # `main` rebuilt and pushed again today: its first push stays 200 days back on GitLab's
    # registry (created_at), its last push is now (updated_at); its new image is new everywhere.
    push_image(registry, repo, "main", created=now, seed="main-rebuilt")
    push_image(registry, repo, "new-c", created=now - dt.timedelta(days=2), seed="new-c2")
    push_index(registry, repo, "multi", docker=True, created=now - dt.timedelta(days=90))
    push_index(registry, repo, "oci-multi", created=now - dt.timedelta(days=90))
    sandbox.sync()

    listed = glcr(sandbox_env, "tags", "list", repo, "-o", "json")
    assert listed.code == 0, listed.stderr
    ages = {t["name"]: t for t in listed.json()}
    mode = {"distribution": "third-party"}.get(sandbox.registry_kind, sandbox.registry_kind)
    assert {t["registry_mode"] for t in ages.values()} == {mode}
    assert {t["age_source"] for t in ages.values()} == {"pushed" if mode == "gitlab" else "created"}
    table = glcr(sandbox_env, "tags", "list", repo)
    assert ("PUSHED" if mode == "gitlab" else "CREATED") in table.stdout
    assert ("with its metadata database" if mode == "gitlab" else "registry") in table.stderr

    # glcr's own age rules read the same date: `main` is new, whatever its first push.
    old = glcr(sandbox_env, "tags", "list", repo, "--older-than", "30d", "-o", "plain")
    assert "main" not in old.stdout.split() and "old-a" in old.stdout.split()

    dry = glcr(sandbox_env, "cleanup", "dry-run", project.path_with_namespace, "--name-regex", ".*", *POLICY,
               "-o", "json")
    assert dry.code == 0, dry.stderr
    decided = {d["name"]: d for d in dry.json()}
    deleted = {name for name, d in decided.items() if d["action"] == "delete"}
    assert "old-a" in deleted and "old-b" in deleted and "main" not in deleted and "new-c" not in deleted
    # A Docker manifest list: GitLab dates it by its amd64 image without the database (90 days:
    # deleted), by its push (today: kept) with it. An OCI index is undated without the database.
    assert ("multi" in deleted) == (mode != "gitlab")
    assert "oci-multi" not in deleted
    assert {d["variant"] for d in decided.values()} == {"gitlab_api" if mode == "gitlab" else "third_party"}

    # GitLab's own cleanup (the bulk delete API runs the same service) deletes exactly that.
    before = set(skopeo_tags(sandbox, repo))
    sent = glcr(sandbox_env, "tags", "bulk-delete", repo, "--name-regex-delete", ".*", *POLICY, "--yes")
    assert sent.code == 0, sent.stderr
    assert sandbox.wait_idle()
    assert set(skopeo_tags(sandbox, repo)) == before - deleted, json.dumps(sorted(deleted))
