"""End to end with the real uv binary: rendered projects lock and sync to each target's build."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mirror import Mirror
from projects import run, uv, uvtorch, write_project

from uvtorch_ci.lock.reader import parse_lock
from uvtorch_ci.platforms import PLATFORMS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed"
HAND_WRITTEN = ROOT / "tests" / "data" / "seed-hand-written" / "pyproject.toml"
PUBLIC = "https://download.pytorch.org/whl"


def resolved(project: Path, platform: str, python: str = "3.12") -> dict[str, tuple[str, str]]:
    """package -> (version, registry) that uv.lock installs for CPython `python` on `platform`."""
    lock = parse_lock((project / "uv.lock").read_text())
    packages = lock.resolve(PLATFORMS[platform].marker_environment(python))
    return {name: (p.version, p.source) for name, p in packages.items()}


def make_project(tmp_path: Path, name: str, text: str) -> Path:
    project = tmp_path / name
    project.mkdir()
    (project / "pyproject.toml").write_text(text)
    return project


@pytest.fixture
def env(mirror: Mirror, tmp_path: Path) -> dict[str, str]:
    return mirror.uv_env(tmp_path / "uv-cache")


def test_seed_locks_like_the_hand_written_seed_and_syncs_cu124(
    mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    rendered = tmp_path / "seed"
    shutil.copytree(SEED, rendered)
    uvtorch(["render"], rendered, env)
    uv(["lock"], rendered, env)
    hand = make_project(
        tmp_path, "hand", HAND_WRITTEN.read_text().replace(PUBLIC, mirror.pytorch_url)
    )
    uv(["lock"], hand, env)

    cu124 = mirror.index_url("cu124")
    cpu = mirror.index_url("cpu")
    assert resolved(rendered, "linux-x86_64")["torch"] == ("2.5.0+cu124", cu124)
    assert resolved(rendered, "macos-arm64")["torch"] == ("2.5.0", cpu)
    assert resolved(rendered, "linux-aarch64")["torch"] == ("2.5.0", cpu)
    for platform in ("linux-x86_64", "macos-arm64", "linux-aarch64", "windows-x86_64"):
        for python in ("3.11", "3.12"):
            assert resolved(rendered, platform, python) == resolved(hand, platform, python)

    # rendering again after the lock changes nothing, and the lock is current
    assert "up to date" in uvtorch(["render", "--check"], rendered, env).stderr
    uv(["lock", "--check"], rendered, env)

    uv(["sync", "--locked"], rendered, env)
    probe = (
        "import torch; print(torch.__version__, torch.version.cuda, torch.backends.mps.is_built())"
    )
    out = run([str(rendered / ".venv" / "bin" / "python"), "-c", probe], rendered, env).stdout
    assert out.split() == ["2.5.0+cu124", "12.4", "False"]


SPECS = {
    "seed-torchvision": (
        """
        torch = "2.5.0"
        packages = ["torchvision"]
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "cu124"
        [[tool.uvtorch.targets]]
        platform = "macos-arm64"
        backend = "mps"
        [[tool.uvtorch.targets]]
        platform = "linux-aarch64"
        backend = "cpu"
        """,
        {
            "linux-x86_64": ("cu124", "+cu124"),
            "macos-arm64": ("cpu", ""),
            "linux-aarch64": ("cpu", ""),
        },
        "2.5.0",
        {"torchvision": "0.20.0"},
        "12.4",
    ),
    # 2.9: aarch64 gets CUDA builds too, and CUDA 13 on x86_64; Windows CUDA must not fall
    # back to PyPI's CPU build.
    "2.9-cuda-everywhere": (
        """
        torch = "2.9.1"
        packages = ["torchvision", "torchaudio"]
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "cu130"
        [[tool.uvtorch.targets]]
        platform = "linux-aarch64"
        backend = "cu128"
        [[tool.uvtorch.targets]]
        platform = "macos-arm64"
        backend = "mps"
        [[tool.uvtorch.targets]]
        platform = "windows-x86_64"
        backend = "cu126"
        """,
        {
            "linux-x86_64": ("cu130", "+cu130"),
            "linux-aarch64": ("cu128", "+cu128"),
            "macos-arm64": ("cpu", ""),
            "windows-x86_64": ("cu126", "+cu126"),
        },
        "2.9.1",
        {"torchvision": "0.24.1", "torchaudio": "2.9.1"},
        "13.0",
    ),
    # 2.13: plain PyPI serves a CUDA 13 build on aarch64, so a cpu aarch64 target must come
    # from the cpu index (+cpu there in recent releases).
    "2.13-cpu-aarch64": (
        """
        torch = "2.13.0"
        packages = ["torchvision"]
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "cpu"
        [[tool.uvtorch.targets]]
        platform = "linux-aarch64"
        backend = "cpu"
        """,
        {"linux-x86_64": ("cpu", "+cpu"), "linux-aarch64": ("cpu", "+cpu")},  # as the index has it
        "2.13.0",
        {"torchvision": "0.28.0"},
        "None",
    ),
}


@pytest.mark.parametrize("case", SPECS)
def test_rendered_spec_locks_each_target_to_its_build(
    case: str, mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    spec, expected, torch, companions, cuda = SPECS[case]
    project = write_project(tmp_path / case, spec)
    uvtorch(["render"], project, env)
    uv(["lock"], project, env)
    for platform, (backend, tag) in expected.items():
        got = resolved(project, platform)
        index = mirror.index_url(backend)
        assert got["torch"] == (torch + tag, index), platform
        for package, version in companions.items():
            companion = mirror.tag(torch, platform, backend, package)  # the index's habit
            assert got[package] == (version + companion, index), (platform, package)
        # uv itself agrees on what this platform installs
        tree = uv(
            [
                "tree",
                "--frozen",
                "--python-platform",
                PLATFORMS[platform].triple,
                "--python-version",
                "3.12",
            ],
            project,
            env,
        ).stdout
        assert f"torch v{torch}{tag}" in tree, tree
    uv(["sync", "--locked"], project, env)
    probe = "import torch; print(torch.__version__, torch.version.cuda)"
    out = run([str(project / ".venv" / "bin" / "python"), "-c", probe], project, env).stdout.split()
    assert out == [torch + expected["linux-x86_64"][1], cuda]
