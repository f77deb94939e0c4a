"""The sandbox's world saves once per batch: seeding a 1,000-project group used to write the whole
world once per project (quadratic). Pure: a World on a temporary file, no server."""

from __future__ import annotations

import json
from pathlib import Path

from glcr_sandbox.state import World


def test_a_batch_saves_once_at_its_end_and_a_lone_change_saves_at_once(tmp_path: Path, monkeypatch) -> None:
    world = World(tmp_path / "world.json")
    group = world.add_group("fleet")
    writes: list[str] = []
    import glcr_sandbox.state as state

    real_replace = state.os.replace
    monkeypatch.setattr(state.os, "replace", lambda src, dst: (writes.append(str(dst)), real_replace(src, dst)))
    with world.batch():
        for i in range(5):
            world.add_project(group, f"p{i}")
        assert len(json.loads((tmp_path / "world.json").read_text())["projects"]) == 0  # not yet written
    assert len(writes) == 1
    assert len(json.loads((tmp_path / "world.json").read_text())["projects"]) == 5
    world.add_project(group, "lone")
    assert len(writes) == 2 and len(json.loads((tmp_path / "world.json").read_text())["projects"]) == 6
