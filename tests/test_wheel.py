"""The built wheel carries the templates, the release table and the smoke check, and works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]


def test_installed_wheel_renders_the_example_from_its_own_templates(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("uvtorch_ci-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for packaged in (
        "uvtorch_ci/templates/pyproject-blocks.toml.j2",
        "uvtorch_ci/templates/workflow.yml.j2",
        "uvtorch_ci/data/releases.toml",
        "uvtorch_ci/smoke.py",
    ):
        assert packaged in names

    # a venv that sees the machine's dependencies but has the wheel as uvtorch_ci
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "UVTORCH_CI_CACHE_DIR": "off"}
    env.pop("UVTORCH_INDEX_URL", None)
    where = subprocess.run(
        [str(python), "-c", "import uvtorch_ci.fingerprint as f; print(f.templates_dir())"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(venv))

    project = tmp_path / "seed"
    shutil.copytree(ROOT / "examples" / "seed", project)
    result = subprocess.run(
        [str(venv / "bin" / "uvtorch-ci"), "render", "--check"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pyproject.toml: up to date" in result.stderr
