"""The release workflow's publishing jobs (GitHub release, major tag), run step by step as a
runner runs them (tests/runner.py) against a stand-in of `gh` and GitHub's API
(tests/github_api.py) that answers as GitHub does, its 404s, 403s and 422s included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from runner import Job, Machine, Step

REPO = Path(__file__).resolve().parents[1]
RELEASE = REPO / ".github" / "workflows" / "release.yml"
FIRST, SECOND = "1" * 40, "2" * 40  # v1.0.0's commit; v1.1.0's, whose workflows changed
APP_TOKEN, GITHUB_TOKEN = "app-token", "github-token"
DIST = ["uvtorch_ci-1.1.0-py3-none-any.whl", "uvtorch_ci-1.1.0.tar.gz"]


class GitHub:
    """The repository as the stand-in keeps it, and a runner whose `gh` talks to it."""

    def __init__(self, tmp_path: Path, refs: dict[str, str]) -> None:
        self.state_file = tmp_path / "github.json"
        self.write(
            {
                "refs": refs,
                "releases": {},
                "tokens": {GITHUB_TOKEN: ["contents"], APP_TOKEN: ["contents", "workflows"]},
                "workflow_commits": [SECOND],
            }
        )
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        gh = bin_dir / "gh"
        gh.write_text(
            f'#!/bin/sh\nexec "{sys.executable}" "{REPO / "tests" / "github_api.py"}" "$@"\n'
        )
        gh.chmod(0o755)
        workspace, temp = tmp_path / "workspace", tmp_path / "runner-temp"
        workspace.mkdir()
        temp.mkdir()
        self.machine = Machine(
            workspace=workspace,
            env={
                "PATH": f"{bin_dir}:/usr/bin:/bin",
                "GH_STANDIN_STATE": str(self.state_file),
                "GITHUB_REPOSITORY": "me/uvtorch-ci",
                "GITHUB_SHA": SECOND,
            },
            uv_dir=bin_dir,
            actions={},
            temp=temp,
            github={
                "event_name": "push",
                "ref": "refs/tags/v1.1.0",
                "ref_name": "v1.1.0",
                "token": GITHUB_TOKEN,
            },
            stand_ins={
                "actions/download-artifact": self.download,
                "actions/create-github-app-token": self.app_token,
            },
        )

    def read(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.state_file.read_text())
        return state

    def write(self, state: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(state))

    def download(self, with_: Any) -> Step:
        folder = self.machine.workspace / with_["path"]
        folder.mkdir(parents=True, exist_ok=True)
        for name in DIST:
            (folder / name).write_text(name)
        return Step("download-artifact", "success", f"{with_['name']} into {with_['path']}")

    def app_token(self, with_: Any) -> Step:
        assert with_["permission-workflows"] == "write"
        assert with_["client-id"]
        assert with_["private-key"]
        return Step("create-github-app-token", "success", "", {"token": APP_TOKEN})

    def run(self, job: str) -> Job:
        return self.machine.run_job(RELEASE, job)


def release_app(github: GitHub) -> None:
    github.machine.secrets = {"RELEASE_APP_CLIENT_ID": "Iv1.0", "RELEASE_APP_PRIVATE_KEY": "k"}


def test_the_first_release_creates_the_major_tag(tmp_path: Path) -> None:
    github = GitHub(tmp_path, {"refs/tags/v1.0.0": FIRST, "refs/tags/v1.1.0": SECOND})
    released = github.run("github-release")
    assert released.conclusion == "success", released.log
    tagged = github.run("major-tag")
    assert tagged.conclusion == "success", tagged.log
    state = github.read()
    assert state["releases"] == {"v1.1.0": DIST}
    # v1.0.0 starts with v1: only the singular git/ref/ tells that v1 itself is missing
    assert state["refs"]["refs/tags/v1"] == SECOND
    assert f"v1 created at {SECOND} (v1.1.0)" in tagged.summary


def test_moving_the_tag_over_changed_workflows_needs_the_release_app(tmp_path: Path) -> None:
    github = GitHub(tmp_path, {"refs/tags/v1": FIRST, "refs/tags/v1.1.0": SECOND})
    refused = github.run("major-tag")  # GITHUB_TOKEN alone: GitHub refuses, and it says why
    assert refused.conclusion == "failure"
    assert "without `workflows` permission (HTTP 403)" in refused.log
    assert "configure the release app (RELEASE_APP_CLIENT_ID, RELEASE_APP_PRIVATE_KEY)" in (
        refused.log
    )
    assert github.read()["refs"]["refs/tags/v1"] == FIRST
    release_app(github)
    moved = github.run("major-tag")
    assert moved.conclusion == "success", moved.log
    assert github.read()["refs"]["refs/tags/v1"] == SECOND
    assert f"v1 moved at {SECOND} (v1.1.0)" in moved.summary


def test_a_rerun_after_a_partial_failure_completes(tmp_path: Path) -> None:
    github = GitHub(tmp_path, {"refs/tags/v1": FIRST, "refs/tags/v1.1.0": SECOND})
    assert github.run("github-release").conclusion == "success"
    assert github.run("major-tag").conclusion == "failure"  # no app yet: the run stops here
    release_app(github)
    for job in ("github-release", "major-tag"):  # "Re-run all jobs" after the fix
        again = github.run(job)
        assert again.conclusion == "success", again.log
    assert "the release v1.1.0 exists (an earlier attempt): uploading its files again" in (
        github.run("github-release").log
    )
    state = github.read()
    assert state["releases"] == {"v1.1.0": DIST}
    assert state["refs"]["refs/tags/v1"] == SECOND
    assert github.run("major-tag").conclusion == "success"  # a tag already there: no change


def gh(github: GitHub, *args: str, token: str = GITHUB_TOKEN) -> subprocess.CompletedProcess[str]:
    env = {**github.machine.env, "GH_TOKEN": token}
    return subprocess.run(["gh", *args], env=env, capture_output=True, text=True, check=False)


def test_the_stand_in_answers_as_github_does(tmp_path: Path) -> None:
    github = GitHub(tmp_path, {"refs/tags/v1.0.0": FIRST})
    refs = "repos/me/uvtorch-ci/git/refs"
    listed = gh(github, "api", f"{refs}/tags/v1")  # plural: a prefix match, a list
    assert [r["ref"] for r in json.loads(listed.stdout)] == ["refs/tags/v1.0.0"]
    missing = gh(github, "api", "repos/me/uvtorch-ci/git/ref/tags/v1")
    assert (missing.returncode, missing.stderr) == (1, "gh: Not Found (HTTP 404)\n")
    patched = gh(github, "api", "--method", "PATCH", f"{refs}/tags/v1", "-f", f"sha={FIRST}")
    assert "Reference does not exist (HTTP 422)" in patched.stderr
    created = gh(
        github, "api", "--method", "POST", refs, "-f", "ref=refs/tags/v1", "-f", f"sha={FIRST}"
    )
    assert created.returncode == 0, created.stderr
    again = gh(
        github, "api", "--method", "POST", refs, "-f", "ref=refs/tags/v1", "-f", f"sha={FIRST}"
    )
    assert "Reference already exists (HTTP 422)" in again.stderr
    unknown = gh(
        github,
        "api",
        "--method",
        "POST",
        refs,
        "-f",
        "ref=refs/tags/v2",
        "-f",
        f"sha={FIRST}",
        token="nobody",
    )
    assert "(HTTP 403)" in unknown.stderr


@pytest.mark.parametrize("job", ["github-release", "major-tag"])
def test_the_publishing_jobs_hold_only_what_they_use(job: str) -> None:
    import yaml

    spec = yaml.safe_load(RELEASE.read_text())["jobs"][job]
    assert spec["permissions"] == {"contents": "write"}
    if job == "major-tag":
        assert spec["environment"] == "release"  # the app's secrets live in that environment
