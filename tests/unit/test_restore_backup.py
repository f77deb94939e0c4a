"""The saved manifests of a delete (glcr/plan/backup.py): round trip, where they go, `--last`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from glcr.api.restore import gc_note, referenced_blobs, restore_line
from glcr.errors import InvalidInputError
from glcr.models import RegistryKind
from glcr.plan.backup import (COMMAND_ID, BackupWriter, SavedManifest, SavedTag, backup_path, find_backup,
                              last_command, latest_per_tag, read_backup)

UTC = dt.timezone.utc
IMAGE = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "c", "digest": "sha256:" + "c" * 64, "size": 2},
                    "layers": [{"mediaType": "l", "digest": "sha256:" + "1" * 64, "size": 3},
                               {"mediaType": "l", "digest": "sha256:" + "1" * 64, "size": 3}]}).encode()


def saved(tag: str, digest: str = "sha256:" + "a" * 64, command: str = COMMAND_ID) -> SavedTag:
    child = SavedManifest("sha256:" + "b" * 64, "application/vnd.oci.image.manifest.v1+json", IMAGE)
    return SavedTag("g/p", "reg.example/g/p", tag, SavedManifest(digest, "application/vnd.oci.image.index.v1+json",
                                                                 b'{"manifests":[]}\x00\xff'),
                    (child,), "gitlab", command, "run", dt.datetime(2026, 12, 1, tzinfo=UTC))


@pytest.mark.parametrize("given, expected", [
    ("plan.json.journal.jsonl", "plan.json.manifests.jsonl"),
    ("list.txt.journal.jsonl", "list.txt.manifests.jsonl"),
    ("my.journal", "my.journal.manifests.jsonl"),
])
def test_side_file_sits_beside_the_journal(tmp_path, given, expected):
    assert backup_path(tmp_path / given) == tmp_path / expected


def test_round_trip_is_byte_exact_private_and_found_from_plan_journal_or_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = backup_path(tmp_path / "plan.json.journal.jsonl")
    BackupWriter(path).write([saved("v1"), saved("v2")])
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = read_backup(path)
    assert loaded.tags == (saved("v1"), saved("v2"))  # bytes that are not UTF-8 survive (base64)
    for name in ("plan.json", "plan.json.journal.jsonl", "plan.json.manifests.jsonl"):
        assert find_backup(tmp_path / name) == path
    with pytest.raises(InvalidInputError):
        find_backup(tmp_path / "other.json")


def test_cut_off_last_line_is_skipped_other_damage_reported(tmp_path):
    path = tmp_path / "x.manifests.jsonl"
    path.write_text("garbage\n" + saved("v1").to_line() + "\n" + saved("v2").to_line()[:40])
    loaded = read_backup(path)
    assert [t.tag for t in loaded.tags] == ["v1"] and loaded.damaged_lines == (1,)


def test_last_is_every_file_of_the_last_command_only(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    index = tmp_path / "state" / "glcr" / "restore" / "index.jsonl"
    index.parent.mkdir(parents=True)
    index.write_text("".join(json.dumps({"command": c, "file": f}) + "\n"
                             for c, f in [("old", "/a"), ("new", "/b"), ("new", "/c"), ("new", "/b")]))
    assert last_command(env) == ("new", (Path("/b"), Path("/c")))
    with pytest.raises(InvalidInputError):
        last_command({"XDG_STATE_HOME": str(tmp_path / "none")})


def test_latest_record_of_a_tag_wins():
    first, second = saved("v1", "sha256:" + "1" * 64), saved("v1", "sha256:" + "2" * 64)
    assert latest_per_tag([first, saved("v2"), second]) == [second, saved("v2")]


def test_blobs_a_manifest_needs_and_the_undo_line():
    assert referenced_blobs(SavedManifest("sha256:x", "application/vnd.oci.image.manifest.v1+json", IMAGE)) == (
        "sha256:" + "c" * 64, "sha256:" + "1" * 64)
    assert "24 h" in gc_note(RegistryKind(gitlab_api=True, tag_delete=True))
    assert "offline GC" in gc_note(RegistryKind(gitlab_api=False, tag_delete=True, gitlab_vendor=True))
    assert "administrator" in gc_note(RegistryKind(gitlab_api=False, tag_delete=False))
    assert restore_line(None) == "glcr tags restore --last"
