"""`glcr ci-template --group --shards` (issue 21): the pipeline validates against GitLab's CI
schema (check-jsonschema's vendor.gitlab-ci) and has the shape the issue asks for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from glcr.cli import ci_cmd

runner = CliRunner()


def template(*args: str) -> str:
    result = runner.invoke(ci_cmd.app, ["--group", "acme/platform", "--image", "reg.example/tools/glcr:1", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_the_group_pipeline_validates_against_gitlabs_ci_schema(tmp_path):
    good = tmp_path / ".gitlab-ci.yml"
    good.write_text(template("--shards", "4", "--include-subgroups"))
    checked = validate(good)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The schema does reject things: the same file with a wrong `parallel` fails.
    bad = tmp_path / "bad.yml"
    bad.write_text(good.read_text().replace("parallel: 4", "parallel: many"))
    assert validate(bad).returncode != 0


def test_the_group_pipeline_shape():
    doc = yaml.safe_load(template("--shards", "5"))
    job, merge = doc["glcr-group-cleanup"], doc["glcr-group-report"]
    assert job["parallel"] == 5
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert job["variables"]["GITLAB_URL"] == "$CI_SERVER_URL" and job["variables"]["GITLAB_TOKEN"] == "$GLCR_TOKEN"
    command = job["script"][-1]
    assert '--group "acme/platform"' in command and '--shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"' in command
    assert '--run-id "$CI_PIPELINE_ID"' in command and "--include-subgroups" not in command
    assert "$CI_NODE_INDEX" in job["cache"]["key"] and job["cache"]["when"] == "always"
    assert any(".glcr-state" in p for p in job["cache"]["paths"])
    assert job["artifacts"]["reports"]["junit"] == "glcr-reports/shard-*.xml"
    assert merge["needs"] == [{"job": "glcr-group-cleanup", "artifacts": True}]
    assert merge["rules"][0]["when"] == "always"  # the summary is made when a shard failed too
    assert merge["script"][0].startswith("glcr cleanup merge-reports glcr-reports/shard-*.jsonl")


@pytest.mark.parametrize("args", [["--shards", "2"], ["--group", "a b"]])
def test_bad_combinations_are_refused(args):
    from glcr.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["ci-template", *args])
    assert exit_info.value.code in (2, 3)
