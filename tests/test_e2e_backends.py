"""Every backend on every platform, locked by real uv: each target and extra gets its build."""

from __future__ import annotations

from pathlib import Path

import pytest
from mirror import Mirror
from projects import run, uv, uvtorch, write_project

from uvtorch_ci.platforms import PLATFORMS

pytestmark = pytest.mark.e2e

# spec body, then for each target: (platform, extra or None, index backend, local tag)
CASES: dict[str, tuple[str, str, list[tuple[str, str | None, str, str]]]] = {
    "cpu-and-cu126-on-linux-x86_64": (
        "2.9.1",
        """
        packages = ["torchvision"]
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "cpu"
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "cu126"
        [[tool.uvtorch.targets]]
        platform = "macos-arm64"
        backend = "mps"
        """,
        [
            ("linux-x86_64", "cpu", "cpu", "+cpu"),
            ("linux-x86_64", "cu126", "cu126", "+cu126"),
            ("macos-arm64", "cpu", "cpu", ""),
        ],
    ),
    "windows-cu124": (
        "2.5.0",
        """
        packages = ["torchvision"]
        [[tool.uvtorch.targets]]
        platform = "windows-x86_64"
        backend = "cu124"
        """,
        [("windows-x86_64", None, "cu124", "+cu124")],
    ),
    "aarch64-cu128-torch-2.7": (
        "2.7.0",
        """
        packages = ["torchvision"]
        [[tool.uvtorch.targets]]
        platform = "linux-aarch64"
        backend = "cu128"
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "cu128"
        """,
        [("linux-aarch64", None, "cu128", "+cu128"), ("linux-x86_64", None, "cu128", "+cu128")],
    ),
    "rocm": (
        "2.5.0",
        """
        packages = ["torchvision"]
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "rocm6.2"
        """,
        [("linux-x86_64", None, "rocm6.2", "+rocm6.2")],
    ),
    "xpu": (
        "2.5.0",
        """
        packages = ["torchvision"]
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "xpu"
        """,
        [("linux-x86_64", None, "xpu", "+xpu")],
    ),
    "rocm-beside-cuda-and-cpu": (
        "2.5.0",
        """
        packages = ["torchvision"]
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "rocm6.2"
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "cu124"
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "cpu"
        """,
        [
            ("linux-x86_64", "rocm6-2", "rocm6.2", "+rocm6.2"),
            ("linux-x86_64", "cu124", "cu124", "+cu124"),
            ("linux-x86_64", "cpu", "cpu", "+cpu"),
        ],
    ),
    "all-four-platforms": (
        "2.9.1",
        """
        packages = ["torchvision", "torchaudio"]
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "cpu"
        [[tool.uvtorch.targets]]
        platform = "linux-x86_64"
        backend = "cu128"
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
        [
            ("linux-x86_64", "cpu", "cpu", "+cpu"),
            ("linux-x86_64", "cu128", "cu128", "+cu128"),
            ("linux-aarch64", "cu128", "cu128", "+cu128"),
            ("macos-arm64", "cpu", "cpu", ""),
            ("windows-x86_64", "cu126", "cu126", "+cu126"),
        ],
    ),
}


def installed(project: Path, env: dict[str, str], platform: str, extra: str | None) -> str:
    """What uv itself would install on `platform` from uv.lock (a dry-run sync, frozen)."""
    args = ["sync", "--frozen", "--dry-run", "--python-platform", PLATFORMS[platform].triple]
    result = uv([*args, "--extra", extra] if extra else args, project, env)
    return result.stdout + result.stderr


def make(tmp_path: Path, env: dict[str, str], torch: str, body: str) -> Path:
    spec = f'torch = "{torch}"\npython = ["3.12"]\n{body}'
    project = write_project(tmp_path / "project", spec, requires_python=">=3.10")
    uvtorch(["render"], project, env)
    uv(["lock"], project, env)
    return project


@pytest.mark.parametrize("case", CASES)
def test_every_target_locks_to_its_build(case: str, mirror: Mirror, tmp_path: Path) -> None:
    env = mirror.uv_env(tmp_path / "cache")
    torch, body, targets = CASES[case]
    project = make(tmp_path, env, torch, body)
    lock = (project / "uv.lock").read_text()
    for platform, extra, backend, tag in targets:
        tree = installed(project, env, platform, extra)
        assert f" + torch=={torch}{tag}\n" in tree, (platform, extra, tree)
        # the build really comes from its own index
        wheel = f"{mirror.index_url(backend)}/torch-{torch}{tag.replace('+', '%2B')}-cp311"
        assert wheel in lock, (platform, extra)
        version = {"2.5.0": "0.20.0", "2.7.0": "0.22.0", "2.9.1": "0.24.1"}[torch]
        companion = mirror.tag(torch, platform, backend, "torchvision")  # the index's habit
        assert f" + torchvision=={version}{companion}\n" in tree, (platform, extra, tree)
    if "rocm" in case:  # its Triton from the rocm6.2 index, the file under the index root
        assert (
            'name = "pytorch-triton-rocm"\nversion = "3.1.0"\n'
            f'source = {{ registry = "{mirror.index_url("rocm6.2")}" }}'
        ) in lock
        assert f'{{ url = "{mirror.pytorch_url}/pytorch_triton_rocm-3.1.0-cp312' in lock


def test_switching_extras_reinstalls_the_build(mirror: Mirror, tmp_path: Path) -> None:
    env = mirror.uv_env(tmp_path / "cache")
    torch, body, _ = CASES["cpu-and-cu126-on-linux-x86_64"]
    project = make(tmp_path, env, torch, body)
    python = str(project / ".venv" / "bin" / "python")
    probe = "import torch; print(torch.__version__, torch.version.cuda)"
    for extra, expected in (
        ("cpu", "2.9.1+cpu None"),
        ("cu126", "2.9.1+cu126 12.6"),
        ("cpu", "2.9.1+cpu None"),
    ):
        uv(["sync", "--locked", "--extra", extra], project, env)
        assert run([python, "-c", probe], project, env).stdout.strip() == expected
        smoke = ["run", "--no-sync", "python", ".github/uvtorch/smoke.py"]
        uv([*smoke, "--expect", extra], project, env)
