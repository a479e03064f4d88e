"""What the spec cannot own, refused by `render` (and so never written by `init`): torch-family
requirements it does not route, overrides and constraints that contradict it, and
`environments` that admit a platform without a wheel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from uvtorch_ci.errors import PyprojectError
from uvtorch_ci.project import ProjectTexts, render_project
from uvtorch_ci.releases.table import load_table

TABLE = load_table()
HEAD = '[project]\nname = "demo"\nversion = "1.0"\nrequires-python = ">=3.10"\n'
MARKERS = """
[tool.uvtorch]
torch = "2.9.1"

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu128"

[[tool.uvtorch.targets]]
platform = "macos-arm64"
backend = "mps"
"""
EXTRAS = """
[tool.uvtorch]
torch = "2.9.1"

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cpu"

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu128"
extra = "gpu"
"""


def render(text: str) -> str:
    rendered = render_project(
        ProjectTexts(text, "pyproject.toml"),
        env={},
        table=TABLE,
        check_environments=True,
        check_owned=True,
    )
    return rendered.pyproject.text


@pytest.mark.parametrize(
    ("body", "spec", "where", "message"),
    [
        (
            '[project.optional-dependencies]\namd = ["torch==2.9.1+rocm6.3"]\n',
            EXTRAS,
            "[project.optional-dependencies].amd[0]",
            "holds torch, which the spec routes only through its extras (cpu, gpu): "
            "`uv sync --extra amd` would install PyPI's build",
        ),
        (
            '[dependency-groups]\ndev = ["pytest", "torch"]\n',
            EXTRAS,
            "[dependency-groups].dev[1]",
            "`uv sync --group dev` would install PyPI's build",
        ),
        (
            '[dependency-groups]\ndev = ["torchvision"]\n',
            MARKERS,
            "[dependency-groups].dev[0]",
            "torchvision is required here but not in the spec's packages",
        ),
        (
            '[project.optional-dependencies]\namd = ["torch==2.7.0+rocm6.3"]\n',
            MARKERS,
            "[project.optional-dependencies].amd[0]",
            '"torch==2.7.0+rocm6.3" allows none of the builds the spec gives: '
            "2.9.1 (macos-arm64-mps), 2.9.1+cu128 (linux-x86_64-cu128)",
        ),
        (
            '[tool.uv]\noverride-dependencies = ["torch==2.8.0"]\n',
            MARKERS,
            "[tool.uv].override-dependencies[0]",
            '"torch==2.8.0" allows none of the builds the spec gives',
        ),
        (
            '[tool.uv]\nconstraint-dependencies = ["numpy<3", "torch<2.9"]\n',
            MARKERS,
            "[tool.uv].constraint-dependencies[1]",
            '"torch<2.9" allows none of the builds the spec gives',
        ),
        (
            "[tool.uv]\n"
            "environments = [\"sys_platform == 'darwin'\", \"sys_platform == 'linux'\"]\n",
            MARKERS,
            "[tool.uv].environments",
            "admits macos-x86_64, which the spec does not target and for which torch 2.9.1 "
            "has no wheel on PyPI either: uv lock would fail there",
        ),
    ],
)
def test_render_refuses_what_the_spec_cannot_own(
    body: str, spec: str, where: str, message: str
) -> None:
    with pytest.raises(PyprojectError) as caught:
        render(HEAD + "dependencies = []\n\n" + body + spec)
    assert caught.value.where == where
    assert message in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(
    "body",
    [
        '[dependency-groups]\ndev = ["torch"]\n',  # markers route it wherever it is required
        '[project.optional-dependencies]\nfast = ["torch>=2.9"]\n',
        "[dependency-groups]\nwin = [\"torch==2.5.0 ; sys_platform == 'win32'\"]\n",  # no target
        '[tool.uv]\noverride-dependencies = ["torch==2.9.1"]\n',
        "[tool.uv]\nenvironments = [\"sys_platform == 'darwin' and platform_machine == 'arm64'\", "
        "\"sys_platform == 'linux'\"]\n",
    ],
)
def test_what_the_spec_routes_or_allows_is_rendered(body: str) -> None:
    assert "[tool.uv.sources]" in render(HEAD + "dependencies = []\n\n" + body + MARKERS)


def test_a_targets_extra_is_owned_and_filled() -> None:
    text = HEAD + 'dependencies = []\n\n[project.optional-dependencies]\ngpu = ["onnx"]\n' + EXTRAS
    new = render(text)
    assert 'gpu = ["onnx", "torch==2.9.1"]\ncpu = [\n  "torch==2.9.1",\n]\n' in new
    assert '{ index = "pytorch-cu128", extra = "gpu", marker = ' in new


def test_render_exits_2_naming_the_key_and_changes_nothing(tmp_path: Path) -> None:
    text = HEAD + 'dependencies = []\n\n[tool.uv]\noverride-dependencies = ["torch==2.8.0"]\n'
    (tmp_path / "pyproject.toml").write_text(text + MARKERS)
    env = {k: v for k, v in os.environ.items() if k != "UVTORCH_INDEX_URL"}
    for command in (["render"], ["render", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "uvtorch_ci", *command],
            cwd=tmp_path,
            env={**env, "UVTORCH_CI_CACHE_DIR": "off"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 2
        assert result.stderr.startswith(
            'error: pyproject.toml: [tool.uv].override-dependencies[0]: "torch==2.8.0" allows '
        )
        assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


def test_init_never_writes_what_render_refuses(tmp_path: Path) -> None:
    text = (
        HEAD
        + 'dependencies = ["torch==2.9.1"]\n\n[tool.uv]\n'
        + "environments = [\"sys_platform == 'darwin'\"]\n\n[tool.uv.sources]\n"
        + 'torch = { index = "pytorch-cpu" }\n\n[[tool.uv.index]]\nname = "pytorch-cpu"\n'
        + 'url = "https://download.pytorch.org/whl/cpu"\nexplicit = true\n'
    )
    (tmp_path / "pyproject.toml").write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "UVTORCH_INDEX_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", "init"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "error: pyproject.toml: [tool.uv].environments: admits macos-x86_64" in result.stderr
    assert (tmp_path / "pyproject.toml").read_text() == text
