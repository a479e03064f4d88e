"""The built wheel carries the templates, the release table and the smoke check, and works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
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

    # A venv with the wheel as uvtorch_ci that borrows the running environment's dependencies
    # (click, Jinja2 ...) through a .pth line. Not --system-site-packages: inside a venv (nox's,
    # a user's) that would see the base interpreter's packages, not this environment's. A
    # folder named in a .pth file is not a site folder, so the editable install of this
    # checkout that lives there is never activated: uvtorch_ci comes from the wheel.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "borrowed.pth").write_text("".join(f"{p}\n" for p in sorted(borrowed)))
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "UVTORCH_CI_CACHE_DIR": "off"}
    env.pop("UVTORCH_INDEX_URL", None)
    where = subprocess.run(
        [str(python), "-c", "import uvtorch_ci.resources as r; print(r.templates_folder())"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(venv))
    origin = subprocess.run(
        [str(python), "-c", "import click, uvtorch_ci; print(uvtorch_ci.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert origin.startswith(str(venv)), origin  # the wheel's copy, not this checkout

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
