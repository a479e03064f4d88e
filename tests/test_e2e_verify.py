"""End to end: render, lock with the real uv against the mirror, verify; uv itself agrees; then
damage the lock or the pyproject the way people do and verify names the target and the reason."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lock_texts import CPU_SOURCE, EXTRAS_SPEC, LINUX_X86_64, SEED_SPEC, spec
from mirror import Mirror
from projects import uv, uvtorch, write_project

from uvtorch_ci.platforms import PLATFORMS

pytestmark = pytest.mark.e2e

SPECS = {
    "seed": SEED_SPEC,  # with torchvision and two Pythons
    "2.9-cuda-arm-and-windows": spec(
        "2.9.1",
        ["3.12", "3.13"],
        [("linux-aarch64", "cu128"), ("windows-x86_64", "cu126")],
        packages=["torchvision"],
    ),
    "extras": EXTRAS_SPEC,  # two backends on Linux x86_64: extras and conflicts
}


def make_locked(directory: Path, spec_text: str, env: dict[str, str]) -> Path:
    write_project(directory, spec_text)
    uvtorch(["render"], directory, env)
    uv(["lock"], directory, env)
    return directory


def explain(project: Path, env: dict[str, str]) -> dict[str, Any]:
    result = uvtorch(["explain", "--json"], project, env)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def uv_says_torch(project: Path, env: dict[str, str], target: dict[str, Any]) -> str:
    """The torch version uv itself installs for a target: `uv tree` in markers mode; in extras
    mode `uv sync --dry-run` (uv tree takes no --extra)."""
    triple = PLATFORMS[target["platform"]].triple
    if target["extra"] is None:
        args = ["tree", "--frozen", "--python-platform", triple]
        out = uv([*args, "--python-version", target["python"]], project, env).stdout
        found = re.search(r"torch v(\S+)", out)
    else:
        args = ["sync", "--frozen", "--dry-run", "--python-platform", triple]
        result = uv([*args, "--extra", target["extra"]], project, env)
        found = re.search(r"\+ torch==(\S+)", result.stderr + result.stdout)
    assert found, out if target["extra"] is None else result.stderr
    return found.group(1)


@pytest.fixture(scope="module")
def module_env(mirror: Mirror, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return mirror.uv_env(tmp_path_factory.mktemp("uv-cache"))


@pytest.mark.parametrize("case", SPECS)
def test_a_fresh_lock_verifies_and_uv_agrees(
    case: str, module_env: dict[str, str], tmp_path: Path
) -> None:
    project = make_locked(tmp_path / case, SPECS[case], module_env)
    result = uvtorch(["verify"], project, module_env)
    assert result.stdout.splitlines()[-1].startswith("ok: ")
    data = explain(project, module_env)
    assert data["ok"] is True
    for target in data["targets"]:
        torch = next(p for p in target["packages"] if p["package"] == "torch")
        assert torch["version"].partition("+")[0] == torch["expected_version"]
        assert uv_says_torch(project, module_env, target) == torch["version"], target["target"]


@pytest.fixture(scope="module")
def seed_locked(module_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_locked(tmp_path_factory.mktemp("seed") / "seed", SPECS["seed"], module_env)


def edit(path: Path, old: str, new: str, count: int = -1) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count))


def remove_lines(path: Path, *needles: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not any(needle in line for needle in needles)]
    assert len(kept) < len(lines)
    path.write_text("".join(kept))


def source_removed(project: Path, mirror: Mirror, env: dict[str, str]) -> None:
    """The cpu source deleted from pyproject.toml, and locked again."""
    edit(project / "pyproject.toml", CPU_SOURCE, "")
    uv(["lock"], project, env)


def marker_narrowed(project: Path, mirror: Mirror, env: dict[str, str]) -> None:
    """The cu124 source narrowed to Python < 3.12, and locked again."""
    edit(
        project / "pyproject.toml",
        f'marker = "{LINUX_X86_64}"',
        f"marker = \"{LINUX_X86_64} and python_version < '3.12'\"",
    )
    uv(["lock"], project, env)


def index_swapped(project: Path, mirror: Mirror, env: dict[str, str]) -> None:
    """uv.lock edited: the cu124 builds recorded as coming from the cpu index."""
    edit(
        project / "uv.lock",
        f'registry = "{mirror.index_url("cu124")}"',
        f'registry = "{mirror.index_url("cpu")}"',
    )


def torchvision_from_pypi(project: Path, mirror: Mirror, env: dict[str, str]) -> None:
    """uv.lock edited: the cu124 torchvision recorded as coming from PyPI."""
    lock = project / "uv.lock"
    cu124, pypi = mirror.index_url("cu124"), mirror.pypi_url
    edit(
        lock,
        f'{{ name = "torchvision", version = "0.20.0+cu124", source = {{ registry = "{cu124}" }}',
        f'{{ name = "torchvision", version = "0.20.0+cu124", source = {{ registry = "{pypi}" }}',
    )
    edit(
        lock,
        f'name = "torchvision"\nversion = "0.20.0+cu124"\nsource = {{ registry = "{cu124}" }}',
        f'name = "torchvision"\nversion = "0.20.0+cu124"\nsource = {{ registry = "{pypi}" }}',
    )


def no_cp312_on_macos(project: Path, mirror: Mirror, env: dict[str, str]) -> None:
    """uv.lock edited: the cp312 macOS wheels deleted."""
    remove_lines(project / "uv.lock", "cp312-cp312-macosx")


def stale(project: Path, mirror: Mirror, env: dict[str, str]) -> None:
    """The spec moved to torch 2.5.1 and was rendered; nobody ran uv lock."""
    edit(project / "pyproject.toml", 'torch = "2.5.0"', 'torch = "2.5.1"')
    uvtorch(["render"], project, env)


def spec_changed(project: Path, mirror: Mirror, env: dict[str, str]) -> None:
    """The spec moved to torch 2.5.1; nobody rendered or locked."""
    edit(project / "pyproject.toml", 'torch = "2.5.0"', 'torch = "2.5.1"')


Damage = Callable[[Path, Mirror, dict[str, str]], None]
DAMAGES: dict[str, tuple[Damage, list[str], list[str]]] = {
    # name: (damage, lines the output must hold, texts it must not)
    "source-removed": (
        source_removed,
        [
            "macos-arm64-mps, Python 3.12, torch: comes from {pypi}, which is not a PyTorch "
            "index: macos-arm64 falls back to the default index (PyPI); expected the cpu index",
            "linux-aarch64-cpu, Python 3.11, torchvision: comes from {pypi}",
            "FAIL: 4 of 6 target x Python environments (macos-arm64-mps, linux-aarch64-cpu)",
        ],
        ["linux-x86_64-cu124, Python", "stale"],
    ),
    "marker-narrowed": (
        marker_narrowed,
        [
            "linux-x86_64-cu124, Python 3.12, torch: comes from {pypi}, which is not a PyTorch "
            "index: linux-x86_64 falls back to the default index (PyPI); expected the cu124 index",
            "FAIL: 1 of 6 target x Python environments (linux-x86_64-cu124)",
        ],
        ["linux-x86_64-cu124, Python 3.11", "stale", "local tag"],
    ),
    "index-swapped": (
        index_swapped,
        [
            "linux-x86_64-cu124, Python 3.11, torch: comes from the cpu index ({cpu}); "
            "expected the cu124 index ({cu124})",
            "linux-x86_64-cu124, Python 3.12, torchvision: comes from the cpu index",
        ],
        ["macos-arm64-mps, Python", "stale"],
    ),
    "torchvision-from-pypi": (
        torchvision_from_pypi,
        [
            "linux-x86_64-cu124, Python 3.12, torchvision: comes from {pypi}, which is not a "
            "PyTorch index",
            "FAIL: 2 of 6 target x Python environments (linux-x86_64-cu124)",
        ],
        ["linux-x86_64-cu124, Python 3.12, torch:"],
    ),
    "no-cp312-wheels-on-macos": (
        no_cp312_on_macos,
        [
            "macos-arm64-mps, Python 3.12, torch: no wheel for cp312 on macos-arm64 in uv.lock "
            "(it has cp311-cp311-macosx_11_0_arm64, cp311-cp311-manylinux_2_28_aarch64, "
            "cp312-cp312-manylinux_2_28_aarch64)",
            "macos-arm64-mps, Python 3.12, torchvision: no wheel for cp312 on macos-arm64",
            "FAIL: 1 of 6 target x Python environments (macos-arm64-mps)",
        ],
        ["Python 3.11, torch"],
    ),
    "stale": (
        stale,
        [
            "uv.lock is stale: pyproject.toml changed since it was locked",
            "torch on linux-x86_64: pyproject.toml declares torch==2.5.1 from {cu124}, "
            "uv.lock was locked with torch==2.5.0 from {cu124}",
            "stale: uv.lock predates pyproject.toml (and 6 of its target x Python environments "
            "FAIL); run `uv lock`, then verify again",
            # the rows still show what the old lock installs, judged against the spec
            "linux-x86_64-cu124, Python 3.12, torch: version 2.5.0, expected 2.5.1",
        ],
        ["ok:"],
    ),
    "spec-changed-not-rendered": (
        spec_changed,
        [
            "linux-x86_64-cu124, Python 3.11, torch: version 2.5.0, expected 2.5.1 "
            "(the spec's torch)",
            "note: pyproject.toml is not what the spec renders: run `uvtorch-ci render`, "
            "then `uv lock`",
        ],
        ["stale"],
    ),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_damage_is_named_with_its_target_and_reason(
    damage: str, seed_locked: Path, mirror: Mirror, module_env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "seed"
    shutil.copytree(seed_locked, project)
    uvtorch(["verify"], project, module_env)
    change, expected, absent = DAMAGES[damage]
    change(project, mirror, module_env)
    result = uvtorch(["verify"], project, module_env, expect=1)
    urls = {"pypi": mirror.pypi_url, "cpu": mirror.index_url("cpu")}
    urls["cu124"] = mirror.index_url("cu124")
    for text in expected:
        assert text.format(**urls) in result.stdout, result.stdout
    for text in absent:
        assert text not in result.stdout, result.stdout


def test_verify_and_uv_tree_agree_after_a_fallback(
    seed_locked: Path, mirror: Mirror, module_env: dict[str, str], tmp_path: Path
) -> None:
    """With Python 3.12 on Linux x86_64 falling back to PyPI, both name the untagged torch."""
    project = tmp_path / "seed"
    shutil.copytree(seed_locked, project)
    marker_narrowed(project, mirror, module_env)
    for target in explain(project, module_env)["targets"]:
        torch = next(p for p in target["packages"] if p["package"] == "torch")
        assert uv_says_torch(project, module_env, target) == torch["version"]
        if target["target"] == "linux-x86_64-cu124":
            assert torch["version"] == ("2.5.0" if target["python"] == "3.12" else "2.5.0+cu124")


def test_render_lock_renders_locks_and_verifies(mirror: Mirror, tmp_path: Path) -> None:
    env = mirror.uv_env(tmp_path / "uv-cache")
    project = tmp_path / "seed"
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "seed", project)
    result = uvtorch(["render", "--lock"], project, env)
    assert (project / "uv.lock").is_file()
    assert "running: uv lock" in result.stderr
    assert "2.5.0+cu124" in result.stdout + result.stderr
    uvtorch(["verify"], project, env)
