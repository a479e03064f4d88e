"""The release workflow (.github/workflows/release.yml): clean under every checker, and its
build job (tag check, `uv build`, twine check, check-wheel-contents) run here step by step as
a runner runs it (tests/runner.py), on a copy of this repository, without a network: the
build backend and the two checkers come from this environment's installed copies, through
uv's find-links. The jobs that publish (PyPI, the GitHub release, the major tag) need GitHub
and are checked for their shape only."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from mirror import Mirror, uv_binary
from runner import Machine
from validators import actionlint, schema, zizmor
from wheels import installed_closure, repack_installed

from uvtorch_ci.resources import REPOSITORY

REPO = Path(__file__).resolve().parents[1]
RELEASE = REPO / ".github" / "workflows" / "release.yml"
WORKFLOW: dict[Any, Any] = yaml.safe_load(RELEASE.read_text())
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]


def test_release_workflow_passes_every_checker() -> None:
    assert schema(RELEASE, "workflow") == []
    assert actionlint(RELEASE) == []
    assert zizmor([RELEASE]) == []
    assert zizmor([RELEASE], persona="auditor") == []


def test_it_runs_on_version_tags_and_publishes_without_a_token() -> None:
    assert WORKFLOW[True] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}  # YAML's `on`
    assert WORKFLOW["permissions"] == {}
    jobs = WORKFLOW["jobs"]
    assert jobs["pypi"]["permissions"] == {"id-token": "write"}
    assert jobs["pypi"]["environment"]["name"] == "pypi"
    (publish,) = [s for s in jobs["pypi"]["steps"] if "gh-action-pypi-publish" in s["uses"]]
    assert publish["with"] == {"skip-existing": True}, "trusted publishing: no password, no token"
    assert jobs["github-release"]["needs"] == "pypi"
    assert jobs["github-release"]["permissions"] == {"contents": "write"}
    assert jobs["major-tag"]["needs"] == "github-release"


def test_nothing_is_published_before_the_whole_ci_passed() -> None:
    jobs = WORKFLOW["jobs"]
    assert jobs["tests"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["tests"]["permissions"] == {"contents": "read"}
    assert jobs["build"]["needs"] == "tests"
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    assert "workflow_call" in ci[True]
    assert "${{ github.workflow }}" not in ci["concurrency"]["group"]  # not the caller's group


def test_the_checkers_it_pins_are_the_test_extras() -> None:
    script = WORKFLOW["jobs"]["build"]["steps"][4]["run"]
    pins = re.findall(r"--from ([a-z-]+==[0-9.]+)", script)
    assert pins == ["twine==7.0.0", "check-wheel-contents==0.6.3"]
    assert set(pins) <= set(PYPROJECT["project"]["optional-dependencies"]["test"])


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory, mirror: Mirror) -> Machine:
    """A runner whose workspace is this repository as git would check it out."""
    workspace = tmp_path_factory.mktemp("checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (workspace / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, workspace / name)
    wheels = repack_installed(
        installed_closure(["hatchling", "twine", "check-wheel-contents"]),
        tmp_path_factory.mktemp("wheels"),
    )
    pythons = tmp_path_factory.mktemp("pythons")
    for name in (f"python{sys.version_info.major}.{sys.version_info.minor}", "python3"):
        (pythons / name).symlink_to(sys.executable)
    env = mirror.uv_env(tmp_path_factory.mktemp("uv-cache"))
    del env["UV_PYTHON"]
    env.update(PATH=f"{pythons}:/usr/bin:/bin", UV_NO_INDEX="1", UV_FIND_LINKS=str(wheels))
    # the tool's own repository (the release refuses any other)
    env.update(
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REPOSITORY=REPOSITORY.removeprefix("https://github.com/"),
    )
    return Machine(
        workspace=workspace,
        env=env,
        uv_dir=uv_binary().parent,
        actions={},
        temp=tmp_path_factory.mktemp("runner-temp"),
        github={"event_name": "push", "repository": "me/uvtorch-ci"},
    )


@pytest.mark.e2e
def test_the_build_job_builds_and_checks_both_distributions(machine: Machine) -> None:
    machine.github.update(ref=f"refs/tags/v{VERSION}", ref_name=f"v{VERSION}")
    job = machine.run_job(RELEASE, "build")
    assert job.conclusion == "success", job.log
    dist = sorted(path.name for path in job.artifacts["dist"])
    assert dist == [f"uvtorch_ci-{VERSION}-py3-none-any.whl", f"uvtorch_ci-{VERSION}.tar.gz"]
    assert "PASSED" in job.log  # twine check, for each
    assert job.log.count("PASSED") == 2
    assert re.search(r"uvtorch_ci-[0-9.]+-py3-none-any\.whl: OK", job.log)
    wheel = next(path for path in job.artifacts["dist"] if path.suffix == ".whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "uvtorch_ci/templates/workflow.yml.j2" in names
    assert "uvtorch_ci/smoke.py" in names


@pytest.mark.e2e
def test_a_tag_that_is_not_the_version_stops_the_release(machine: Machine) -> None:
    machine.github.update(ref="refs/tags/v9.9.9", ref_name="v9.9.9")
    job = machine.run_job(RELEASE, "build")
    assert job.conclusion == "failure"
    assert f"the tag v9.9.9 is not v{VERSION}, the version in pyproject.toml" in job.log
    assert [s.outcome for s in job.steps][3:] == ["skipped"] * 3  # nothing built or uploaded


@pytest.mark.e2e
def test_a_release_from_another_repository_is_refused(machine: Machine) -> None:
    """Generated check jobs install uvtorch-ci from [project.urls] Repository's tags."""
    machine.github.update(ref=f"refs/tags/v{VERSION}", ref_name=f"v{VERSION}")
    elsewhere = {
        **machine.env,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "a/b",
    }
    job = Machine(**{**machine.__dict__, "env": elsewhere}).run_job(RELEASE, "build")
    assert job.conclusion == "failure"
    home = PYPROJECT["project"]["urls"]["Repository"]
    assert f"[project.urls] Repository is {home}, not https://github.com/a/b" in job.log


def test_the_repository_url_is_the_one_the_tool_installs_itself_from() -> None:
    assert PYPROJECT["project"]["urls"]["Repository"] == REPOSITORY
