"""Issue 20 end to end: a delete is undone from the manifests glcr saved before it."""

from __future__ import annotations

import json

from glcr_sandbox.seed import push_image, push_index

from glcr_runner import glcr, skopeo_digest, skopeo_tags


def test_apply_20_tags_then_restore_last_puts_every_tag_back(sandbox, project, registry, sandbox_env, tmp_path):
    env = {**sandbox_env, "XDG_STATE_HOME": str(tmp_path / "state")}
    repo = project.path_with_namespace.lower()
    digests = {f"r{i:02d}": push_image(registry, repo, f"r{i:02d}", seed=f"restore-{i}") for i in range(19)}
    digests["multi"] = push_index(registry, repo, "multi")  # a multi-arch index: children by digest only
    push_image(registry, repo, "keep", seed="restore-keep")
    sandbox.sync()
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{t}\n" for t in digests))

    applied = glcr(env, "tags", "apply", repo, "--from-file", str(listing), "--yes")
    assert applied.code == 0, applied.stderr
    assert skopeo_tags(sandbox, repo) == ["keep"]
    saved = tmp_path / "list.txt.manifests.jsonl"
    assert f"To undo: glcr tags restore {saved}" in applied.stderr
    assert ("24 h" if sandbox.registry_kind == "gitlab" else "garbage collection") in applied.stderr \
        or "offline GC" in applied.stderr
    assert oct(saved.stat().st_mode & 0o777) == "0o600"

    dry = glcr(env, "tags", "restore", "--last", "--dry-run", "-o", "json")
    assert dry.code == 0, dry.stderr
    assert {r["tag"]: r["outcome"] for r in dry.json()} == {t: "would_restore" for t in digests}
    assert skopeo_tags(sandbox, repo) == ["keep"]  # a dry run puts nothing back

    refused = glcr(env, "tags", "restore", "--last")  # no terminal, no --yes
    assert refused.code == 10, refused.stderr

    restored = glcr(env, "tags", "restore", "--last", "--yes", "-o", "json")
    assert restored.code == 0, restored.stderr
    assert {r["tag"]: r["outcome"] for r in restored.json()} == {t: "restored" for t in digests}
    assert skopeo_tags(sandbox, repo) == sorted([*digests, "keep"])
    for tag, digest in digests.items():
        assert skopeo_digest(sandbox, f"{repo}:{tag}") == digest, tag
    multi = json.loads(registry.manifest(repo, "multi").raw)
    assert all(registry.manifest(repo, c["digest"]) is not None for c in multi["manifests"])

    # Pushed again on another image: the restore leaves it alone and says so.
    moved = push_image(registry, repo, "r00", seed="restore-moved")
    glcr(env, "tags", "delete", repo, "r01", "--yes")
    again = glcr(env, "tags", "restore", str(saved), "--tag", "r00", "--tag", "r01", "--yes", "-o", "json")
    assert again.code == 0, again.stderr
    assert {r["tag"]: r["outcome"] for r in again.json()} == {"r00": "stale", "r01": "restored"}
    assert skopeo_digest(sandbox, f"{repo}:r00") == moved
    assert skopeo_digest(sandbox, f"{repo}:r01") == digests["r01"]


def test_restore_names_the_blob_garbage_collection_removed(sandbox, project, registry, sandbox_env, tmp_path):
    env = {**sandbox_env, "XDG_STATE_HOME": str(tmp_path / "state")}
    repo = project.path_with_namespace.lower()
    digests = {t: push_image(registry, repo, t, seed=f"gc-{t}") for t in ("a", "b")}
    sandbox.sync()
    deleted = glcr(env, "tags", "delete", repo, "a", "b", "--yes")
    assert deleted.code == 0, deleted.stderr
    assert "To undo: glcr tags restore " in " ".join(deleted.stderr.split())
    # What GC does to an unreferenced blob, without waiting 24 h for it: the registry unlinks it.
    layer = json.loads(registry.manifest(repo, digests["a"]).raw)["layers"][0]["digest"]
    assert registry.delete_blob(repo, layer)

    restored = glcr(env, "tags", "restore", "--last", "--yes", "-o", "json")
    assert restored.code == 9, restored.stderr
    outcomes = {r["tag"]: (r["outcome"], r["missing"]) for r in restored.json()}
    assert outcomes == {"a": ("missing", [layer]), "b": ("restored", [])}
    assert "missing " + layer in restored.stderr.replace("\n", " ") or layer[:19] in restored.stderr
    assert skopeo_tags(sandbox, repo) == ["b"]
    assert skopeo_digest(sandbox, f"{repo}:b") == digests["b"]
