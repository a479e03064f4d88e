"""The generated workflow's jobs, run the way a GitHub runner runs them (tests/runner.py),
against the local index mirror, for every shape a spec can take.

Each shape is a repository: the spec rendered by the tool (the workflow lands at the
repository root), locked by the real uv, then the check job and every matrix entry run step by
step. The job of this machine's platform must pass; one for another platform must fail the
smoke check's --platform; and after the project's index for the target's backend is swapped
for the CPU one (and the lock refreshed to match), the same job must fail on the build.
"""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from mirror import Mirror, uv_binary
from projects import run, uv, uvtorch, write_project
from runner import Job, Machine
from validators import actionlint, schema, zizmor
from wheels import installed_closure, repack_installed

from uvtorch_ci.github.workflow import CHECKOUT, SETUP_UV

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (sys.platform == "linux" and platform.machine() == "x86_64"),
        reason="the jobs' builds are linux-x86_64 ones: this machine cannot run them",
    ),
]

REPO = Path(__file__).resolve().parents[1]
HOST = "linux-x86_64"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"  # what the jobs' uv finds
SHA = "0123456789abcdef0123456789abcdef01234567"
OWN_RUNNER = 'runner = ["self-hosted", "linux", "x64", "gpu"]'


@dataclass(frozen=True)
class Shape:
    """A spec (the body of [tool.uvtorch]), where the project sits in its repository, the
    target whose backend gets swapped, and whether the mirror's CUDA builds find a GPU."""

    spec: str
    location: str = ""
    swapped: str = "linux-x86_64-cu126"
    device: bool = False


def targets(*pairs: str) -> str:
    lines = []
    for pair in pairs:
        platform_, backend, *rest = pair.split(":")
        lines += ["[[tool.uvtorch.targets]]", f'platform = "{platform_}"', f'backend = "{backend}"']
        lines += rest
    return "\n".join(lines)


BASE = f'torch = "2.9.1"\npython = ["{PYTHON}"]\npackages = ["torchvision"]\n'
MARKERS = targets("linux-x86_64:cu126", "linux-aarch64:cpu", "macos-arm64:mps")
SHAPES = {
    "inline": Shape(BASE + MARKERS),
    "action": Shape(BASE + f'action = "my-org/uvtorch-ci@{SHA}"\n' + MARKERS),
    "extras": Shape(BASE + targets("linux-x86_64:cpu", "linux-x86_64:cu126")),
    "gpu": Shape(
        BASE + targets("linux-x86_64:cu126:gpu = true:" + OWN_RUNNER + ':name = "gpu"'),
        swapped="gpu",
        device=True,
    ),
    "subfolder": Shape(BASE + MARKERS, location="LLM/PyTorch"),
    "subfolder-action": Shape(
        BASE + f'action = "my-org/uvtorch-ci@{SHA}"\n' + MARKERS, location="LLM/PyTorch"
    ),
    "groups": Shape(
        BASE + 'selector = "groups"\n' + targets("linux-x86_64:cpu", "linux-x86_64:cu126")
    ),
    "groups-default": Shape(  # the cu126 job is a bare `uv sync`: default-groups installs it
        BASE
        + 'selector = "groups"\ndefault-group = "cu126"\n'
        + targets("linux-x86_64:cpu", "linux-x86_64:cu126")
    ),
}


@pytest.fixture(scope="module")
def device_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    with Mirror(tmp_path_factory.mktemp("device-mirror"), ("2.9.1",), device=True) as served:
        yield served


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tool's dependencies (for the check-mode action's `uv run --with`) and its build
    backend (for `uvx --from` a checkout of it) as wheels: find-links for a runner offline."""
    names = installed_closure(["click", "jinja2", "packaging", "pyyaml", "tomlkit", "hatchling"])
    return repack_installed(names, tmp_path_factory.mktemp("wheels"))


@dataclass
class Repository:
    root: Path
    project: Path
    workflow: Path
    machine: Machine
    env: dict[str, str]


def repository(tmp_path: Path, shape: Shape, mirror: Mirror, wheels: Path) -> Repository:
    """A git repository holding the shape's project, rendered and locked."""
    root = tmp_path / "repo"
    project = root / shape.location if shape.location else root
    write_project(project, shape.spec, requires_python=">=3.10")
    run(["git", "init", "-q", str(root)], tmp_path, {"PATH": "/usr/bin:/bin"})
    env = mirror.uv_env(tmp_path / "uv-cache")
    env["UVTORCH_CI_CACHE_DIR"] = "off"
    uvtorch(["render"], project, env)
    uv(["lock"], project, env)
    pythons = tmp_path / "pythons"  # what uv finds for python-version on the runner's PATH
    pythons.mkdir()
    for name in (f"python{PYTHON}", "python3", "python"):
        (pythons / name).symlink_to(sys.executable)
    machine_env = {key: value for key, value in env.items() if key != "UV_PYTHON"}
    machine_env["PATH"] = f"{pythons}:/usr/bin:/bin"
    machine_env["UV_FIND_LINKS"] = str(wheels)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    machine = Machine(
        workspace=root,
        env=machine_env,
        uv_dir=uv_binary().parent,
        actions={"my-org/uvtorch-ci": REPO, "my-org/uvtorch-ci/check": REPO / "check"},
        temp=temp,
        github={"event_name": "push", "repository": "me/project", "ref": "refs/heads/main"},
    )
    # the check job's uvtorch-ci (the copy that rendered the workflow, fetched from GitHub) is
    # this checkout, GitHub being out of reach
    machine.env_overrides = {"UVTORCH_CI": str(REPO)}
    (workflow,) = (root / ".github" / "workflows").glob("*.yml")  # at the repository root
    return Repository(root, project, workflow, machine, env)


def torch_jobs(repo: Repository) -> list[tuple[str, dict[str, object]]]:
    jobs = repo.machine.jobs(repo.workflow)
    return [
        (job, entry)
        for job in jobs
        if job != "check"
        for entry in repo.machine.entries(repo.workflow, job)
    ]


def passed(job: Job) -> None:
    assert job.conclusion == "success", job.log


@pytest.mark.parametrize("name", SHAPES)
def test_every_job_runs_as_on_a_runner(
    name: str, tmp_path: Path, mirror: Mirror, device_mirror: Mirror, wheels: Path
) -> None:
    shape = SHAPES[name]
    repo = repository(tmp_path, shape, device_mirror if shape.device else mirror, wheels)
    for persona in ("regular", "auditor"):
        assert zizmor([repo.workflow], persona=persona) == []
    labels = ["self-hosted", "linux", "x64", "gpu"]
    assert actionlint(repo.workflow, extra_labels=labels) == []
    assert schema(repo.workflow, "workflow") == []

    check = repo.machine.run_job(repo.workflow, "check")
    passed(check)
    # the check-mode action in action mode, else the tool that rendered the workflow: both
    # run render --check and verify, and neither needs a PyPI release
    assert f"workflows/{repo.workflow.name}: up to date" in check.log
    assert "each the build the spec asks for" in check.log

    ran = 0
    for job_id, entry in torch_jobs(repo):
        job = repo.machine.run_job(repo.workflow, job_id, entry)
        if entry["platform"] == HOST:
            passed(job)
            assert f"### torch smoke check: {entry['backend']} passed" in job.summary
            if entry["gpu"]:
                assert "device compute" in job.log
                assert "uvtorch-ci fake GPU" in job.log
            ran += 1
        else:  # a runner of another OS or architecture: --platform makes that fail
            assert job.conclusion == "failure", job.log
            assert f"expected {entry['platform']}, this interpreter runs on linux-x86_64" in (
                job.log
            )
    assert ran >= 1


@pytest.mark.parametrize("name", SHAPES)
def test_a_swapped_backend_fails_its_job(
    name: str, tmp_path: Path, mirror: Mirror, device_mirror: Mirror, wheels: Path
) -> None:
    shape = SHAPES[name]
    served = device_mirror if shape.device else mirror
    repo = repository(tmp_path, shape, served, wheels)
    pyproject = repo.project / "pyproject.toml"
    text = pyproject.read_text()
    swapped = text.replace(
        f'url = "{served.index_url("cu126")}"', f'url = "{served.index_url("cpu")}"'
    )
    assert swapped != text
    pyproject.write_text(swapped)
    uv(["lock"], repo.project, repo.env)  # a lock that matches the swap: uv lock --check passes
    check = repo.machine.run_job(repo.workflow, "check")
    assert check.conclusion == "failure", check.log
    outcomes = {step.name: step.outcome for step in check.steps}
    assert outcomes["uv lock --check"] == "success"
    if "action" in shape.spec:  # the check mode stops at render --check
        assert "pyproject.toml: would change" in check.log
    else:  # render --check fails on the swapped index; verify still runs, and fails too
        assert outcomes["uvtorch-ci render --check"] == "failure"
        assert outcomes["uvtorch-ci verify (each target's build, from uv.lock)"] == "failure"
        assert "pyproject.toml: would change" in check.log
        assert f"FAIL: 1 of {len(torch_jobs(repo))} target x Python environments" in (
            check.steps[-1].log
        )
        assert f"{shape.swapped} (Python {PYTHON}): torch: comes from the cpu index" in (
            check.steps[-1].log
        )
    ((job_id, entry),) = [(j, e) for j, e in torch_jobs(repo) if e["target"] == shape.swapped]
    job = repo.machine.run_job(repo.workflow, job_id, entry)
    assert job.conclusion == "failure", job.log
    assert "expected a CUDA 12.6 build, found a CPU-only build" in job.log
    assert "### torch smoke check: cu126 FAILED" in job.summary
    if shape.device:
        assert "device" in job.log


def test_own_runners_never_run_a_forks_pull_request(
    tmp_path: Path, device_mirror: Mirror, wheels: Path
) -> None:
    repo = repository(tmp_path, SHAPES["gpu"], device_mirror, wheels)
    ((job_id, entry),) = torch_jobs(repo)
    assert job_id == "torch-own-runners"
    fork = {"head": {"repo": {"full_name": "stranger/project"}}, "number": 7}
    repo.machine.github = {"event_name": "pull_request", "repository": "me/project"}
    repo.machine.github["event"] = {"pull_request": fork}
    assert repo.machine.run_job(repo.workflow, job_id, entry).conclusion == "skipped"
    fork["head"] = {"repo": {"full_name": "me/project"}}  # a branch of this repository
    passed(repo.machine.run_job(repo.workflow, job_id, entry))


def test_switching_to_action_mode_removes_the_smoke_copy_it_wrote(
    tmp_path: Path, mirror: Mirror
) -> None:
    env = mirror.uv_env(tmp_path / "uv-cache")
    project = write_project(tmp_path / "p", BASE + MARKERS)
    uvtorch(["render"], project, env)
    smoke = project / ".github" / "uvtorch" / "smoke.py"
    assert smoke.is_file()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("[tool.uvtorch]\n", f'[tool.uvtorch]\naction = "o/a@{SHA}"\n')
    )
    check = uvtorch(["render", "--check"], project, env, expect=1)
    assert ".github/uvtorch/smoke.py: would be removed (this spec no longer uses it)" in (
        check.stderr
    )
    assert smoke.is_file()
    done = uvtorch(["render"], project, env)
    assert ".github/uvtorch/smoke.py: removed" in done.stderr
    assert not smoke.exists()
    assert not smoke.parent.exists()


def test_a_renamed_workflow_is_removed_and_an_edited_one_named(
    tmp_path: Path, mirror: Mirror
) -> None:
    env = mirror.uv_env(tmp_path / "uv-cache")
    project = write_project(tmp_path / "p", BASE + MARKERS)
    uvtorch(["render"], project, env)
    old = project / ".github" / "workflows" / "torch.yml"
    other = project / ".github" / "workflows" / "other.yml"  # the user's own: never touched
    other.write_text("name: mine\n")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    renamed = text.replace(
        "[tool.uvtorch]\n", '[tool.uvtorch]\nworkflow = ".github/workflows/gpu.yml"\n'
    )
    pyproject.write_text(renamed)
    old.write_text(old.read_text() + "# my note\n")
    edited = uvtorch(["render"], project, env)
    assert re.search(
        r"warning: .*torch\.yml: generated for an earlier spec and edited", edited.stderr
    )
    assert old.is_file()
    assert other.read_text() == "name: mine\n"
    old.unlink()
    pyproject.write_text(text)
    uvtorch(["render"], project, env)
    pyproject.write_text(renamed)
    moved = uvtorch(["render"], project, env)
    assert ".github/workflows/torch.yml: removed" in moved.stderr
    assert not old.exists()
    assert (project / ".github/workflows/gpu.yml").is_file()
    assert other.is_file()


def test_the_readmes_own_workflow_runs_on_the_matrix(
    tmp_path: Path, mirror: Mirror, wheels: Path
) -> None:
    """The docs' workflow built on `uvtorch-ci matrix`, as a user copies it: the matrix job's
    output feeds the torch job's matrix, and each entry runs the action."""
    page = (REPO / "docs" / "github.md").read_text()
    heading = "\n## A workflow of your own on `uvtorch-ci matrix`\n"
    (text,) = re.findall(r"```yaml\n(.*?)```", page.split(heading, 1)[1].split("\n## ")[0], re.S)
    repo = repository(tmp_path, SHAPES["extras"], mirror, wheels)
    own = repo.root / ".github" / "workflows" / "own.yml"
    own.write_text(text.replace("OWNER/uvtorch-ci@<commit>", f"my-org/uvtorch-ci@{SHA}"))
    matrix = repo.machine.run_job(own, "matrix")
    passed(matrix)
    entries = repo.machine.entries(own, "torch", {"matrix": matrix})
    assert [e["target"] for e in entries] == ["linux-x86_64-cpu", "linux-x86_64-cu126"]
    assert [e["sync-args"] for e in entries] == ["--extra cpu", "--extra cu126"]
    for entry in entries:
        job = repo.machine.run_job(own, "torch", entry, {"matrix": matrix})
        passed(job)
        assert f"2.9.1+{entry['backend']}" in job.steps[-1].log  # the user's own step


CHECK_ONLY = f"""\
on: push
jobs:
  check:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - uses: {SETUP_UV}
      - uses: my-org/uvtorch-ci/check@{SHA}
"""


def test_the_check_action_runs_nothing_of_the_project_it_checks(
    tmp_path: Path, mirror: Mirror, wheels: Path
) -> None:
    """A project that ships its own uvtorch_ci/ (or click.py, or a sitecustomize.py, or an
    executable .venv/bin/python) cannot stand in for the checker: the check action's step
    runs uvtorch-ci's own code, and the project's never."""
    repo = repository(tmp_path, SHAPES["action"], mirror, wheels)
    ran = tmp_path / "hostile-ran"
    hostile = f"import pathlib\npathlib.Path({str(ran)!r}).write_text(__name__)\n"
    hostile += "raise SystemExit(0)\n"
    for relative in ("uvtorch_ci/__init__.py", "uvtorch_ci/__main__.py", "click.py"):
        (repo.project / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo.project / relative).write_text(hostile)
    (repo.project / "sitecustomize.py").write_text(hostile)
    venv = repo.project / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "python").write_text(f"#!/bin/sh\necho venv > {ran}\nexit 1\n")
    (venv / "bin" / "python").chmod(0o755)
    workflow = tmp_path / "check-only.yml"
    workflow.write_text(CHECK_ONLY)
    check = repo.machine.run_job(workflow, "check")
    passed(check)
    assert "workflows/torch.yml: up to date" in check.log
    assert "each the build the spec asks for" in check.log
    assert not ran.exists(), ran.read_text()


def test_the_device_check_runs_on_python_3_8(tmp_path: Path) -> None:
    """The smoke check is copied into projects whose interpreter may be 3.8: its --gpu matmul
    comparison too (a fake device torch, the mirror's, on PYTHONPATH)."""
    python38 = Path("/root/.pyenv/versions/3.8.18/bin/python")
    if not python38.is_file():
        pytest.skip("no Python 3.8 here")
    from mirror import torch_sources

    site = tmp_path / "site"
    for name, text in torch_sources("2.9.1+cu126", "cu126", HOST, "cu126", device=True).items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(text)
    result = subprocess.run(
        [
            str(python38),
            str(REPO / "src" / "uvtorch_ci" / "smoke.py"),
            "--expect",
            "cu126",
            "--gpu",
        ],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2x3 @ 3x2 matmul on cuda gives the exact result" in result.stdout


def test_two_projects_in_one_repository_keep_their_own_workflows(
    tmp_path: Path, mirror: Mirror, wheels: Path
) -> None:
    """Each project gets a workflow named after its folder, with its own concurrency group:
    neither overwrites nor cancels the other's, and each one's jobs run in its folder."""
    repo = repository(tmp_path, SHAPES["subfolder"], mirror, wheels)
    other = write_project(repo.root / "vision", BASE + targets("linux-x86_64:cpu"))
    uvtorch(["render"], other, repo.env)
    uv(["lock"], other, repo.env)
    folder = repo.root / ".github" / "workflows"
    assert sorted(p.name for p in folder.iterdir()) == ["torch-LLM-PyTorch.yml", "torch-vision.yml"]
    first, second = (folder / "torch-LLM-PyTorch.yml"), (folder / "torch-vision.yml")
    for workflow in (first, second):
        assert zizmor([workflow]) == []
        assert actionlint(workflow) == []
    loaded = [yaml.safe_load(workflow.read_text()) for workflow in (first, second)]
    assert [w["name"] for w in loaded] == ["torch (LLM/PyTorch)", "torch (vision)"]
    groups = [w["concurrency"]["group"].split("${{")[0] for w in loaded]
    assert groups == ["torch-LLM-PyTorch-", "torch-vision-"]
    # a second render of either changes nothing and removes nothing of the other's
    for project in (repo.project, other):
        checked = uvtorch(["render", "--check"], project, repo.env)
        assert "would be removed" not in checked.stderr
    for workflow, location in ((first, "LLM/PyTorch"), (second, "vision")):
        check = repo.machine.run_job(workflow, "check")
        passed(check)
        assert f"workflows/{workflow.name}: up to date" in check.log
        (entry,) = [e for e in repo.machine.entries(workflow, "torch") if e["platform"] == HOST]
        passed(repo.machine.run_job(workflow, "torch", entry))
        assert repo.machine.jobs(workflow)["torch"]["defaults"]["run"]["working-directory"] == (
            location
        )
