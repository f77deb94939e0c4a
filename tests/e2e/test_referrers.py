"""Issue 20 end to end: signatures follow their image in `cleanup run`; the dry-run stays
GitLab's and flags what GitLab's run would break."""

from __future__ import annotations

import datetime as dt

from glcr_sandbox.seed import cosign_tag, push_image, push_signature

from glcr_runner import glcr, skopeo_digest, skopeo_tags

UTC = dt.timezone.utc


def test_cleanup_keeps_signatures_of_kept_images_and_deletes_those_of_deleted_ones(
        sandbox, project, registry, sandbox_env, tmp_path):
    env = {**sandbox_env, "XDG_STATE_HOME": str(tmp_path / "state")}
    repo = project.path_with_namespace.lower()
    now = dt.datetime.now(UTC)
    ages = {}
    digests = {}
    for name, image_age, sig_age in [("v1", 100, 100), ("old-1", 100, 100), ("old-2", 90, 3), ("old-3", 5, 4)]:
        digests[name] = push_image(registry, repo, name, created=now - dt.timedelta(days=image_age), seed=name)
        signature = cosign_tag(digests[name])
        digests[signature] = push_signature(registry, repo, digests[name], created=now - dt.timedelta(days=sig_age))
        ages.update({name: image_age, signature: sig_age})
    sandbox.set_push_times(repo, {t: now - dt.timedelta(days=a) for t, a in ages.items()})
    sandbox.sync()
    sig = {name: cosign_tag(digests[name]) for name in ("v1", "old-1", "old-2", "old-3")}
    policy = ["--name-regex", "(?:old|sha256)-.*", "--keep-n", "1", "--older-than", "30d"]

    listed = glcr(env, "tags", "list", repo, "-o", "json")
    assert listed.code == 0, listed.stderr
    by_name = {t["name"]: t for t in listed.json()}
    assert by_name[sig["v1"]]["referrer_of"] == digests["v1"] and by_name["v1"]["referrers"] == [sig["v1"]]

    dry = glcr(env, "cleanup", "dry-run", project.path_with_namespace, *policy, "-o", "json")
    assert dry.code == 0, dry.stderr
    gitlab_deletes = sorted(d["name"] for d in dry.json() if d["action"] == "delete")
    # GitLab's own decisions, unchanged: the signature of kept v1 goes, old-2's young one stays.
    assert gitlab_deletes == sorted(["old-1", "old-2", sig["v1"], sig["old-1"]])
    stderr = " ".join(dry.stderr.split())
    assert f"deletes {sig['v1']}, a referrer of" in stderr and "while the image stays (v1)" in stderr
    assert f"deletes old-2 and leaves its referrer(s) {sig['old-2']} behind" in stderr

    run = glcr(env, "cleanup", "run", project.path_with_namespace, *policy, "--yes",
               "--state-dir", str(tmp_path / "cleanup"))
    assert run.code == 0, run.stderr
    kept = sorted(["v1", sig["v1"], "old-3", sig["old-3"]])
    assert skopeo_tags(sandbox, repo) == kept
    for name in kept:
        assert skopeo_digest(sandbox, f"{repo}:{name}") == digests[name]
    assert "To undo: glcr tags restore" in " ".join(run.stderr.split())


def test_tags_apply_keeps_a_listed_signature_of_a_kept_image_and_takes_the_signature_of_a_deleted_one(
        sandbox, project, registry, sandbox_env, tmp_path):
    env = {**sandbox_env, "XDG_STATE_HOME": str(tmp_path / "state")}
    repo = project.path_with_namespace.lower()
    keep = push_image(registry, repo, "keep", seed="apply-keep")
    gone = push_image(registry, repo, "gone", seed="apply-gone")
    keep_sig = cosign_tag(keep)
    push_signature(registry, repo, keep)
    push_signature(registry, repo, gone)
    sandbox.sync()
    listing = tmp_path / "list.txt"
    listing.write_text(f"gone\n{keep_sig}\n")
    applied = glcr(env, "tags", "apply", repo, "--from-file", str(listing), "--yes")
    assert applied.code == 0, applied.stderr
    assert skopeo_tags(sandbox, repo) == sorted(["keep", keep_sig])
    restored = glcr(env, "tags", "restore", "--last", "--yes", "-o", "json")
    assert {r["tag"]: r["outcome"] for r in restored.json()} == {"gone": "restored", cosign_tag(gone): "restored"}
