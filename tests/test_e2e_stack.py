"""The packages built against torch (xformers, torchao) end to end, with real uv against the
local index, which serves them as the real one does (mirror_stack.py): xformers' CUDA builds
untagged in their backends' folders, on Linux x86_64 and Windows, PyPI's being the cu128 build;
torchao's tagged builds on the Linux indexes, PyPI's a pure wheel. render routes xformers where
the release table confirms the index publishes it, leaves torchao (not confirmed there) to PyPI
and skips xformers on macOS (missing-builds); uv locks; verify proves every target's builds;
a swapped xformers build fails verify and the smoke check; upgrade moves xformers with torch."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from mirror import OTHER_HOST, SAME_HOST, Mirror
from projects import run, uv, uvtorch, write_project

pytestmark = pytest.mark.e2e

LINUX = "sys_platform == 'linux' and platform_machine == 'x86_64'"
WINDOWS = "sys_platform == 'win32' and platform_machine == 'AMD64'"
SPEC = """
torch = "2.9.1"
packages = ["torchvision", "xformers", "torchao"]
python = ["3.12"]
missing-builds = { xformers = "skip" }
[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu128"
[[tool.uvtorch.targets]]
platform = "macos-arm64"
backend = "mps"
[[tool.uvtorch.targets]]
platform = "windows-x86_64"
backend = "cu128"
"""


@pytest.fixture(params=[SAME_HOST, OTHER_HOST])
def served(request: pytest.FixtureRequest) -> Mirror:
    name = "mirror" if request.param == SAME_HOST else "other_host_mirror"
    found: Mirror = request.getfixturevalue(name)
    return found


def locked(mirror: Mirror, root: Path, spec: str = SPEC) -> Path:
    env = mirror.uv_env(root / "uv-cache")
    project = write_project(root / "project", spec, requires_python=">=3.10")
    result = uvtorch(["render"], project, env)
    assert "torchao 0.15.0 goes with torch 2.9.1" in result.stderr
    uv(["lock"], project, env)
    return project


def lock_packages(project: Path, name: str) -> list[dict[str, Any]]:
    lock = tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))
    return [p for p in lock["package"] if p["name"] == name]


def explain(mirror: Mirror, project: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """target -> package -> its explain row."""
    env = mirror.uv_env(project.parent / "uv-cache")
    data = json.loads(uvtorch(["explain", "--json"], project, env).stdout)
    assert data["ok"] is True, data
    return {t["target"]: {p["package"]: p for p in t["packages"]} for t in data["targets"]}


def test_xformers_follows_torchs_build_and_torchao_comes_from_pypi(
    served: Mirror, tmp_path: Path
) -> None:
    project = locked(served, tmp_path)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["dependencies"] == [
        "torch==2.9.1",
        "torchvision==0.24.1",
        f"xformers==0.0.33.post2 ; ({LINUX}) or ({WINDOWS})",
        "torchao==0.15.0",
    ]
    sources = pyproject["tool"]["uv"]["sources"]
    assert sources["xformers"] == [
        {"index": "pytorch-cu128", "marker": f"({LINUX}) or ({WINDOWS})"}
    ]
    assert "torchao" not in sources  # the index was never seen publishing it
    (xformers,) = lock_packages(project, "xformers")
    assert xformers["version"] == "0.0.33.post2"  # untagged, as on the real index
    assert xformers["source"] == {"registry": served.index_url("cu128")}
    for wheel in xformers["wheels"]:
        filename = unquote(wheel["url"].rsplit("/", 1)[-1])
        assert wheel["url"] == served.file_url("cu128", filename)  # the backend's folder
        assert wheel["url"].startswith(f"{served.files_url}/whl/cu128/xformers-")
    (torchao,) = lock_packages(project, "torchao")
    assert torchao["source"] == {"registry": served.pypi_url}
    env = served.uv_env(tmp_path / "uv-cache")
    for online in ([], ["--online"]):
        result = uvtorch(["verify", *online], project, env)
        assert result.stdout.splitlines()[-1].startswith("ok: ")
    rows = explain(served, project)
    for target in ("linux-x86_64-cu128", "windows-x86_64-cu128"):
        assert rows[target]["xformers"]["version"] == "0.0.33.post2"
        assert rows[target]["xformers"]["index"] == served.index_url("cu128")
        assert rows[target]["torchao"]["version"] == "0.15.0"
    assert "xformers" not in rows["macos-arm64-mps"]  # not installed there: skipped
    assert rows["macos-arm64-mps"]["torchao"]["index"] == served.pypi_url


def test_a_swapped_xformers_build_fails_verify_and_the_smoke_check(
    mirror: Mirror, tmp_path: Path
) -> None:
    project = locked(mirror, tmp_path)
    env = mirror.uv_env(tmp_path / "uv-cache")
    lock = project / "uv.lock"
    text = lock.read_text(encoding="utf-8")
    # the cu126 build in place of the cu128 one: same name, another backend's folder
    swapped = text.replace("/whl/cu128/xformers-", "/whl/cu126/xformers-")
    assert swapped != text
    lock.write_text(swapped, encoding="utf-8")
    result = uvtorch(["verify"], project, env, expect=1)
    assert "xformers" in result.stdout
    assert "comes from the cu126 folder" in result.stdout
    # torchao taken from the cu128 index, which the table never saw publishing it
    entry = f'name = "torchao"\nversion = "0.15.0"\nsource = {{ registry = "{mirror.pypi_url}" }}'
    assert entry in text
    moved = entry.replace(mirror.pypi_url, mirror.index_url("cu128"))
    lock.write_text(text.replace(entry, moved), encoding="utf-8")
    result = uvtorch(["verify"], project, env, expect=1)
    assert (
        f"comes from the cu128 index ({mirror.index_url('cu128')}); expected PyPI's build: the "
        "cu128 index does not publish torchao for linux-x86_64 (missing-builds)"
    ) in " ".join(result.stdout.split())
    lock.write_text(text, encoding="utf-8")
    # installed: this machine is Linux x86_64, the target linux-x86_64-cu128
    uv(["sync", "--locked"], project, env)
    python = project / ".venv" / "bin" / "python"
    smoke = Path(__file__).resolve().parents[1] / "src" / "uvtorch_ci" / "smoke.py"
    good = run([str(python), str(smoke), "--expect", "cu128"], project, env)
    assert "ok    xformers" in good.stdout, good.stdout
    assert "built for torch 2.9.1+cu128 (CUDA 12.8)" in good.stdout
    (wheel,) = [
        w
        for w in mirror.wheels("cu126", "xformers")
        if w.filename.startswith("xformers-0.0.33.post2-") and "manylinux" in w.filename
    ]
    path = mirror.wheel_path("cu126", wheel.filename)
    uv(
        ["pip", "install", "--python", str(python), "--no-deps", "--reinstall", str(path)],
        project,
        env,
    )
    bad = run([str(python), str(smoke), "--expect", "cu128"], project, env, expect=1)
    assert "FAIL  xformers" in bad.stdout, bad.stdout
    assert "torch is built for CUDA 12.8, xformers for CUDA 12.6" in bad.stdout


def test_upgrade_moves_xformers_with_torch_and_names_it(mirror: Mirror, tmp_path: Path) -> None:
    spec = SPEC.replace("cu128", "cu126")
    project = locked(mirror, tmp_path, spec)
    env = mirror.uv_env(tmp_path / "uv-cache")
    plan = uvtorch(["upgrade", "--torch", "2.13.0"], project, env)
    assert "xformers 0.0.33.post2 -> 0.0.35" in plan.stdout, plan.stdout
    assert "torchao 0.15.0 -> 0.17.0" in plan.stdout
    uvtorch(["upgrade", "--torch", "2.13.0", "--write"], project, env)
    uv(["lock"], project, env)
    (xformers,) = lock_packages(project, "xformers")
    assert xformers["version"] == "0.0.35"
    assert xformers["source"] == {"registry": mirror.index_url("cu126")}
    result = uvtorch(["verify"], project, env)
    assert result.stdout.splitlines()[-1].startswith("ok: ")


def routes_xformers_by_markers(mirror: Mirror) -> str:
    """A project as real ones route xformers (NeMo Export-Deploy to cu130, others to cu128):
    torch and xformers to cu128 on Linux and Windows by markers, macOS on the cpu index, and
    xformers left out on macOS by its own marker."""
    pt = mirror.pytorch_url
    both = "sys_platform == 'linux' or sys_platform == 'win32'"
    return f"""\
[project]
name = "adopted"
version = "1.0"
requires-python = ">=3.10"
dependencies = [
  "torch==2.9.1",
  "xformers==0.0.33.post2; sys_platform != 'darwin'",
]

[tool.uv]
environments = [
  "sys_platform == 'linux' and platform_machine == 'x86_64'",
  "sys_platform == 'win32' and platform_machine == 'AMD64'",
  "sys_platform == 'darwin' and platform_machine == 'arm64'",
]

[tool.uv.sources]
torch = [
  {{ index = "pytorch-cu128", marker = "{both}" }},
  {{ index = "pytorch-cpu", marker = "sys_platform == 'darwin'" }},
]
xformers = [{{ index = "pytorch-cu128", marker = "{both}" }}]

[[tool.uv.index]]
name = "pytorch-cu128"
url = "{pt}/cu128"
explicit = true

[[tool.uv.index]]
name = "pytorch-cpu"
url = "{pt}/cpu"
explicit = true
"""


def test_init_adopts_a_project_that_routes_xformers_by_markers(
    mirror: Mirror, tmp_path: Path
) -> None:
    env = mirror.uv_env(tmp_path / "uv-cache")
    project = tmp_path / "adopted"
    project.mkdir()
    (project / "pyproject.toml").write_text(routes_xformers_by_markers(mirror))
    uv(["lock"], project, env)  # the project locks as it was
    before = lock_packages(project, "xformers")
    result = uvtorch(["init", "--lock"], project, env)
    assert "packages: xformers, which the project routes to a PyTorch index (pytorch-cu128" in (
        result.stderr
    )
    assert 'missing-builds: xformers = "skip"' in result.stderr
    assert "this spec describes what uv.lock already installs" in result.stderr, result.stderr
    assert "gets the same builds, from the same indexes" in result.stderr
    spec = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["uvtorch"]
    assert spec["packages"] == ["xformers"]
    assert spec["missing-builds"] == {"xformers": "skip"}
    assert {(t["platform"], t["backend"]) for t in spec["targets"]} == {
        ("linux-x86_64", "cu128"),
        ("windows-x86_64", "cu128"),
        ("macos-arm64", "cpu"),
    }
    assert lock_packages(project, "xformers") == before  # the same build, from cu128
    uvtorch(["render", "--check"], project, env)
    verified = uvtorch(["verify"], project, env)
    assert verified.stdout.splitlines()[-1].startswith("ok: ")
