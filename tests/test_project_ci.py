"""The project's own CI and pre-commit hooks: held to the same checks as generated workflows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from validators import actionlint, schema, zizmor

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_the_project_has_its_own_ci() -> None:
    assert ROOT / ".github" / "workflows" / "ci.yml" in WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_own_workflow_is_clean(path: Path) -> None:
    assert schema(path, "workflow") == []
    assert actionlint(path) == []
    assert zizmor([path]) == []


def test_action_yml_is_clean() -> None:
    assert schema(ROOT / "action.yml", "action") == []
    assert zizmor([ROOT / "action.yml"]) == []


def test_ci_runs_lint_tests_zizmor_and_the_action_on_three_platforms_gated_by_one_job() -> None:
    workflow: dict[Any, Any] = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    jobs = workflow["jobs"]
    assert workflow["permissions"] == {"contents": "read"}
    runs = {job: " ".join(s.get("run", "") for s in jobs[job]["steps"]) for job in jobs}
    assert "ruff check" in runs["lint"]
    assert "mypy" in runs["lint"]
    assert "python -m pip install nox && python -m nox -s tests" in runs["tests"]
    assert "workflow_call" in workflow[True]  # release.yml gates publishing on it
    assert "zizmor" in runs["zizmor"]
    runners = [entry["runner"] for entry in jobs["action"]["strategy"]["matrix"]["include"]]
    assert runners == ["ubuntu-latest", "ubuntu-24.04-arm", "macos-15"]
    assert any(step.get("uses") == "./" for step in jobs["action"]["steps"])
    assert any(step.get("uses") == "./check" for step in jobs["action"]["steps"])
    assert "check/action.yml" in runs["zizmor"]
    gate = jobs["all-passed"]
    assert set(gate["needs"]) == set(jobs) - {"all-passed"}
    assert gate["if"] == "always()"
    for job in jobs.values():
        for step in job["steps"]:
            if "actions/checkout" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False


def test_pre_commit_manifest_is_valid_and_runs_render() -> None:
    manifest = ROOT / ".pre-commit-hooks.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {hook["id"]: hook for hook in yaml.safe_load(manifest.read_text())}
    assert hooks["uvtorch-ci-check"]["entry"] == "uvtorch-ci render --check"
    assert hooks["uvtorch-ci-render"]["entry"] == "uvtorch-ci render"
    assert all(hook["pass_filenames"] is False for hook in hooks.values())
