"""`sync` and `run` end to end: a fake driver, the real uv against the local mirror, and the
build that really got installed, read from the project's venv."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from mirror import Mirror
from projects import uv, uvtorch, write_project

pytestmark = pytest.mark.e2e

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed"

EXTRAS = """
packages = ["torchvision"]
[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cpu"
[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu126"
[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu128"
[[tool.uvtorch.targets]]
platform = "macos-arm64"
backend = "mps"
"""


def installed(project: Path, package: str = "torch") -> str:
    """The version (with its local tag) of `package` installed in the project's venv, from its
    dist-info METADATA."""
    found = sorted((project / ".venv").glob(f"lib/python*/site-packages/{package}-*.dist-info"))
    assert len(found) == 1, found
    metadata = (found[0] / "METADATA").read_text()
    return next(
        line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Version: ")
    )


@pytest.fixture
def project(mirror: Mirror, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = mirror.uv_env(tmp_path / "cache")
    env["UVTORCH_PLATFORM"] = "linux-x86_64"  # the mirror's wheels are for this platform
    directory = write_project(
        tmp_path / "project",
        f'torch = "2.9.1"\npython = ["3.12"]\n{EXTRAS}',
        requires_python=">=3.10",
    )
    uvtorch(["render"], directory, env)
    uv(["lock"], directory, env)
    return directory, env


@pytest.mark.skipif(sys.platform != "linux", reason="the mirror's wheels here are Linux x86_64")
def test_sync_installs_the_build_the_driver_runs(project: tuple[Path, dict[str, str]]) -> None:
    directory, env = project
    cases = [
        ("570.86.10", [], "2.9.1+cu128", "cu128 is the newest of the spec's CUDA targets"),
        ("470.256.02", [], "2.9.1+cpu", "falling back to cpu"),
        ("none", [], "2.9.1+cpu", "needs an NVIDIA driver >= 525.60.13"),
        ("590.44.01", ["--backend", "cu126"], "2.9.1+cu126", "asked for with --backend"),
    ]
    for driver, flags, version, reason in cases:
        env["UVTORCH_CUDA_DRIVER_VERSION"] = driver
        result = uvtorch(["sync", *flags, "--", "--locked"], directory, env)
        assert installed(directory) == version, (driver, result.stderr)
        assert installed(directory, "torchvision") == "0.24.1+" + version.split("+")[1]
        first = result.stderr.splitlines()[0]
        assert first.startswith("uvtorch-ci: linux-x86_64-"), result.stderr
        assert reason in first, first


@pytest.mark.skipif(sys.platform != "linux", reason="the mirror's wheels here are Linux x86_64")
def test_run_keeps_the_chosen_build_and_passes_the_exit_code(
    project: tuple[Path, dict[str, str]],
) -> None:
    directory, env = project
    env["UVTORCH_CUDA_DRIVER_VERSION"] = "570.86.10"
    probe = "import torch; print(torch.__version__, torch.version.cuda)"
    for _ in range(2):  # a plain `uv run` would resync to the default build the second time
        result = uvtorch(["run", "--", "python", "-c", probe], directory, env)
        assert result.stdout.strip() == "2.9.1+cu128 12.8"
    assert installed(directory) == "2.9.1+cu128"
    uvtorch(["run", "--", "python", "-c", "raise SystemExit(3)"], directory, env, expect=3)


def test_dry_run_prints_the_command_and_installs_nothing(
    project: tuple[Path, dict[str, str]],
) -> None:
    directory, env = project
    env["UVTORCH_CUDA_DRIVER_VERSION"] = "570.86.10"
    result = uvtorch(["sync", "--dry-run", "--", "--locked"], directory, env)
    assert result.stdout == "uv sync --extra cu128 --locked\n"
    result = uvtorch(
        ["run", "--dry-run", "--project", str(directory), "--", "pytest"], directory.parent, env
    )
    assert result.stdout == "uv run --project project --extra cu128 -- pytest\n"
    # without `--`, what follows the command is the command's own
    result = uvtorch(["run", "--dry-run", "python", "-c", "pass", "--dry-run"], directory, env)
    assert result.stdout == "uv run --extra cu128 -- python -c pass --dry-run\n"
    assert not (directory / ".venv").exists()


@pytest.mark.skipif(sys.platform != "linux", reason="the mirror's wheels here are Linux x86_64")
def test_a_project_folder_named_like_an_option_is_a_folder_to_uv(
    project: tuple[Path, dict[str, str]],
) -> None:
    """`--project -x` reaches uv as the folder ./-x, never as its option -x."""
    directory, env = project
    env["UVTORCH_CUDA_DRIVER_VERSION"] = "570.86.10"
    dashed = directory.parent / "-x"
    directory.rename(dashed)
    result = uvtorch(["run", "--dry-run", "--project", "-x", "--", "pytest"], dashed.parent, env)
    assert result.stdout == "uv run --project ./-x --extra cu128 -- pytest\n"
    uvtorch(["sync", "--project", "-x", "--", "--locked"], dashed.parent, env)
    assert installed(dashed) == "2.9.1+cu128"


def test_a_platform_without_a_target_is_bad_input(project: tuple[Path, dict[str, str]]) -> None:
    directory, env = project
    env["UVTORCH_PLATFORM"] = "windows-x86_64"
    result = uvtorch(["sync"], directory, env, expect=2)
    assert "no target for this machine's platform, windows-x86_64" in result.stderr
    assert "linux-x86_64-cu126 (linux-x86_64, cu126)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (directory / ".venv").exists()


def test_a_stale_pyproject_is_refused(project: tuple[Path, dict[str, str]]) -> None:
    directory, env = project
    pyproject = directory / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('backend = "cu128"', 'backend = "cu130"'))
    result = uvtorch(["sync", "--dry-run"], directory, env, expect=1)
    assert "is not what the spec renders" in result.stderr
    assert "uvtorch-ci render" in result.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="the mirror's wheels here are Linux x86_64")
def test_markers_mode_syncs_the_platforms_build_without_an_extra(
    mirror: Mirror, tmp_path: Path
) -> None:
    env = mirror.uv_env(tmp_path / "cache")
    env["UVTORCH_PLATFORM"] = "linux-x86_64"
    project = tmp_path / "seed"
    shutil.copytree(SEED, project)
    uvtorch(["render"], project, env)
    env["UVTORCH_CUDA_DRIVER_VERSION"] = "550.54.15"
    result = uvtorch(["sync"], project, env)
    assert "no extra: the platform's markers select it" in result.stderr.splitlines()[0]
    assert installed(project) == "2.5.0+cu124"
    # no driver, and no cpu target to fall back to: the CUDA build, said so
    env["UVTORCH_CUDA_DRIVER_VERSION"] = "none"
    result = uvtorch(["sync", "--dry-run"], project, env)
    assert result.stdout == "uv sync\n"
    assert "the spec has no cpu target for it; cu124 is installed anyway" in result.stderr


GROUPS = """
selector = "groups"
default-group = "cpu"
packages = ["torchvision"]
[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cpu"
[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu126"
[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu128"
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the mirror's wheels here are Linux x86_64")
def test_groups_mode_syncs_the_group_the_driver_runs(mirror: Mirror, tmp_path: Path) -> None:
    """A project that selects backends by dependency group, the cpu one installed by a bare
    `uv sync` (default-groups): the chosen group is synced, and with it the default left out."""
    env = mirror.uv_env(tmp_path / "cache")
    env["UVTORCH_PLATFORM"] = "linux-x86_64"
    directory = write_project(
        tmp_path / "project",
        f'torch = "2.9.1"\npython = ["3.12"]\n{GROUPS}',
        requires_python=">=3.10",
    )
    uvtorch(["render"], directory, env)
    uv(["lock"], directory, env)
    env["UVTORCH_CUDA_DRIVER_VERSION"] = "570.86.10"
    result = uvtorch(["sync", "--dry-run"], directory, env)
    assert result.stdout == "uv sync --no-group cpu --group cu128\n"
    uvtorch(["sync"], directory, env)
    assert installed(directory) == "2.9.1+cu128"
    probe = "import torch; print(torch.__version__)"
    for _ in range(2):  # the group is passed on every run: no resync to the default
        assert uvtorch(["run", "python", "-c", probe], directory, env).stdout == "2.9.1+cu128\n"
    env["UVTORCH_CUDA_DRIVER_VERSION"] = "470.256.02"  # too old for either CUDA target
    result = uvtorch(["sync"], directory, env)
    assert "falling back to cpu" in result.stderr.splitlines()[0]
    assert "the default group: a bare sync installs it" in result.stderr.splitlines()[0]
    assert installed(directory) == "2.9.1+cpu"
