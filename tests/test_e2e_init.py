"""End to end: `init` leaves a project the real uv locks against the local mirror, and that
`render --check` and `verify` accept; `init --lock` does the locking itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mirror import Mirror, uv_binary

from uvtorch_ci.lock.reader import parse_lock
from uvtorch_ci.platforms import PLATFORMS

pytestmark = pytest.mark.e2e


def run(
    args: list[str], cwd: Path, env: dict[str, str], *, code: int = 0
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: init asks nothing
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == code, (
        f"{args} exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result


def uvtorch(
    args: list[str], cwd: Path, env: dict[str, str], *, code: int = 0
) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "uvtorch_ci", *args], cwd, env, code=code)


def resolved(project: Path, platform: str, python: str) -> dict[str, tuple[str, str]]:
    lock = parse_lock((project / "uv.lock").read_text())
    packages = lock.resolve(PLATFORMS[platform].marker_environment(python))
    return {name: (p.version, p.source) for name, p in packages.items()}


@pytest.fixture
def env(mirror: Mirror, tmp_path: Path) -> dict[str, str]:
    """The hermetic uv environment; UVTORCH_INDEX_URL points at the mirror."""
    return mirror.uv_env(tmp_path / "uv-cache")


EXPECTED_291 = {  # init's default targets for torch 2.9.1: platform -> (index, local tag)
    "linux-x86_64": ("cu130", "+cu130"),
    "macos-arm64": ("cpu", ""),
    "linux-aarch64": ("cpu", "+cpu"),  # the cpu index tags recent aarch64 torch
    "windows-x86_64": ("cu130", "+cu130"),
}


def check_lock(project: Path, mirror: Mirror) -> None:
    for platform, (backend, tag) in EXPECTED_291.items():
        got = resolved(project, platform, "3.12")
        assert got["torch"] == ("2.9.1" + tag, mirror.index_url(backend)), platform
        companion = mirror.tag("2.9.1", platform, backend, "torchvision")  # untagged on aarch64
        assert got["torchvision"] == ("0.24.1" + companion, mirror.index_url(backend)), platform


def test_init_in_an_empty_folder_then_uv_lock(
    mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "demo"
    project.mkdir()
    result = uvtorch(["init", "--torch", "2.9.1", "--package", "torchvision"], project, env)
    assert "next:\n  uv lock\n  uv sync\n  uvtorch-ci verify\n" in result.stderr
    assert f'url = "{mirror.index_url("cu130")}"' in (project / "pyproject.toml").read_text()
    run([str(uv_binary()), "lock"], project, env)
    check_lock(project, mirror)
    assert "up to date" in uvtorch(["render", "--check"], project, env).stderr
    uvtorch(["verify"], project, env)
    run([str(uv_binary()), "lock", "--check"], project, env)


def test_init_with_lock(mirror: Mirror, env: dict[str, str], tmp_path: Path) -> None:
    project = tmp_path / "locked"
    result = uvtorch(
        ["init", str(project), "--torch", "2.9.1", "--package", "torchvision", "--lock"],
        tmp_path,
        env,
    )
    assert "running: uv lock" in result.stderr
    assert result.stderr.endswith("next:\n  cd locked\n  uv sync\n")
    assert "linux-x86_64-cu130" in result.stdout  # the verify table
    assert (project / "uv.lock").is_file()
    check_lock(project, mirror)
    uvtorch(["render", "--check"], project, env)
    run([str(uv_binary()), "lock", "--check"], project, env)
    run([str(uv_binary()), "sync", "--locked"], project, env)
    probe = "import torch; print(torch.__version__, torch.version.cuda)"
    out = run([str(project / ".venv" / "bin" / "python"), "-c", probe], project, env).stdout
    assert out.split() == ["2.9.1+cu130", "13.0"]


def test_init_with_lock_in_an_existing_project_in_extras_mode(
    mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "existing"
    project.mkdir()
    original = (
        '[project]\nname = "existing"\nversion = "1.0"\nrequires-python = ">=3.11"\n'
        "dependencies = []\n\n# keep me\n[tool.example]\nkey = 1\n"
    )
    (project / "pyproject.toml").write_text(original)
    result = uvtorch(
        [
            "init",
            "--torch",
            "2.9.1",
            "--target",
            "linux-x86_64:cpu",
            "--target",
            "linux-x86_64:cu126",
            "--target",
            "macos-arm64:mps",
            "--python",
            "3.12",
            "--lock",
        ],
        project,
        env,
    )
    assert "  uv sync --extra cu126    # linux-x86_64-cu126\n" in result.stderr
    text = (project / "pyproject.toml").read_text()
    assert text.startswith(original.split("dependencies")[0])
    assert "# keep me\n[tool.example]\nkey = 1\n" in text
    uvtorch(["render", "--check"], project, env)
    uvtorch(["verify"], project, env)
    run([str(uv_binary()), "lock", "--check"], project, env)


def test_init_lock_failure_is_exit_1(mirror: Mirror, env: dict[str, str], tmp_path: Path) -> None:
    # torch 2.6.0 is in the release table but not on the mirror: uv lock cannot resolve it.
    project = tmp_path / "unserved"
    project.mkdir()
    result = uvtorch(
        ["init", "--torch", "2.6.0", "--target", "linux-x86_64:cpu", "--lock"],
        project,
        env,
        code=1,
    )
    assert "uv lock failed" in result.stderr
    assert (project / "pyproject.toml").is_file()
    assert not (project / "uv.lock").exists()
