"""The CI job, run here: render, lock, `uv sync --locked`, then the rendered smoke check.

The builds come from the local mirror (fake wheels that answer like the real ones), so this
proves the workflow's own steps find a matched build and reject a mismatched one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from mirror import Mirror, uv_binary
from projects import run, uv, uvtorch, write_project

from uvtorch_ci.resources import SMOKE_PATH

pytestmark = pytest.mark.e2e
TARGET = '[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cpu"\n'


def synced_project(tmp_path: Path, env: dict[str, str], torch: str, backend: str) -> Path:
    """A project whose only target is linux-x86_64 with `backend`, rendered, locked and synced."""
    spec = (
        f'torch = "{torch}"\npackages = ["torchvision"]\n'
        f'[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "{backend}"\n'
    )
    project = write_project(tmp_path / backend, spec)
    uvtorch(["render"], project, env)
    assert (project / SMOKE_PATH).is_file()
    uv(["lock"], project, env)
    uv(["sync", "--locked"], project, env)
    return project


def smoke(project: Path, env: dict[str, str], *args: str, expect: int) -> str:
    result = uv(["run", "--no-sync", "python", SMOKE_PATH, *args], project, env, expect)
    return result.stdout + result.stderr


@pytest.fixture
def env(mirror: Mirror, tmp_path: Path) -> dict[str, str]:
    return mirror.uv_env(tmp_path / "cache")


@pytest.mark.parametrize(
    ("torch", "backend", "wrong", "reason"),
    [
        ("2.5.0", "cu124", "cpu", "CUDA 12.4 build"),
        ("2.5.0", "cpu", "cu124", "CPU-only build"),
        ("2.5.0", "rocm6.2", "cu124", "ROCm build"),
        ("2.9.1", "cu130", "cu128", "CUDA 13.0 build"),
    ],
)
def test_job_steps_accept_the_matched_build_and_reject_another(
    tmp_path: Path, env: dict[str, str], torch: str, backend: str, wrong: str, reason: str
) -> None:
    project = synced_project(tmp_path, env, torch, backend)
    out = smoke(project, env, "--expect", backend, "--torch-version", torch, expect=0)
    assert "FAIL" not in out
    report = project / "report.json"
    smoke(project, env, "--expect", backend, "--json", str(report), expect=0)
    data = json.loads(report.read_text())
    assert data["ok"] is True
    assert data["torch_version"].startswith(torch)

    out = smoke(project, env, "--expect", wrong, expect=1)
    assert reason in out, out
    # a device is required but there is no GPU here: exit 1, and it says so
    out = smoke(project, env, "--expect", backend, "--gpu", expect=1)
    assert "FAIL" in out


def test_macos_build_passes_as_mps_and_fails_as_cuda(
    mirror: Mirror, tmp_path: Path, env: dict[str, str]
) -> None:
    # The macOS wheel is pure Python in the mirror: install it for macOS into a folder and
    # import it here, as the macOS job's interpreter would.
    target = tmp_path / "macos-site"
    run(
        [
            str(uv_binary()),
            "pip",
            "install",
            "--target",
            str(target),
            "--python-platform",
            "aarch64-apple-darwin",
            "--python-version",
            "3.11",
            "--index-url",
            mirror.index_url("cpu"),
            "torch==2.5.0",
        ],
        tmp_path,
        env,
    )
    smoke_py = Path(__file__).resolve().parents[1] / "src" / "uvtorch_ci" / "smoke.py"

    with_site = {**env, "PYTHONPATH": str(target)}
    here = run([sys.executable, str(smoke_py), "--expect", "mps"], tmp_path, with_site, 1)
    assert "expected an MPS build, which needs macOS; this is linux" in here.stdout

    # Pose as the macOS arm64 interpreter the macOS job runs.
    posing = tmp_path / "as-macos"
    posing.mkdir()
    (posing / "sitecustomize.py").write_text(
        "import platform, sys\nsys.platform = 'darwin'\nplatform.machine = lambda: 'arm64'\n"
    )
    as_macos = {**env, "PYTHONPATH": f"{posing}:{target}"}
    ok = run([sys.executable, str(smoke_py), "--expect", "mps"], tmp_path, as_macos, 0)
    assert "FAIL" not in ok.stdout
    bad = run([sys.executable, str(smoke_py), "--expect", "cu124"], tmp_path, as_macos, 1)
    assert "CPU-only build" in bad.stdout + bad.stderr


def test_the_command_checks_the_projects_environment(tmp_path: Path, env: dict[str, str]) -> None:
    """`uvtorch-ci smoke` runs on the tool's interpreter, which has no torch: in a project it
    takes the project's .venv, says so, and checks that; --python names another one."""
    project = synced_project(tmp_path, env, "2.5.0", "cu124")
    python = project / ".venv" / "bin" / "python"
    inside = uvtorch(["smoke", "--expect", "cu124"], project / ".github", env)
    assert "checking the project's environment" in inside.stderr
    assert "ok    build          CUDA 12.4 build" in inside.stdout
    wrong = uvtorch(["smoke", "--expect", "cpu"], project, env, expect=1)
    assert "expected a CPU build, found a CUDA 12.4 build" in wrong.stdout

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    named = uvtorch(["smoke", "--expect", "cu124", "--python", str(python)], elsewhere, env)
    assert "ok    build          CUDA 12.4 build" in named.stdout
    # outside a project: the tool's own interpreter, named, and the command for the project
    alone = uvtorch(["smoke", "--expect", "cu124"], elsewhere, env, expect=1)
    assert f"(interpreter: {sys.executable})" in alone.stdout
    assert f"smoke: no torch in {sys.executable}, the interpreter this check ran on" in (
        alone.stderr
    )
    assert "run `uvtorch-ci smoke --python .venv/bin/python --expect cu124`" in alone.stderr
    # a project whose .venv has no torch yet: the hint is to sync it
    bare = write_project(tmp_path / "bare", 'torch = "2.5.0"\n' + TARGET)
    uv(["venv", "-q"], bare, env)
    empty = uvtorch(["smoke", "--expect", "cpu"], bare, env, expect=1)
    assert "install the project's torch into it: `uv sync`" in empty.stderr
    missing = uvtorch(["smoke", "--expect", "cpu", "--python", "nowhere"], elsewhere, env, 2)
    assert "--python nowhere: no such interpreter" in missing.stderr


def test_smoke_help_names_the_subcommand(tmp_path: Path) -> None:
    shown = uvtorch(["smoke", "--help"], tmp_path, {"PATH": "/usr/bin:/bin"})
    assert shown.stdout.startswith("usage: uvtorch-ci smoke [-h] --expect BACKEND")
    assert "--python PYTHON" in shown.stdout
