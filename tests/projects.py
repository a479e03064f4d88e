"""Shared by the tests: run a command and check its exit code, write a project, snapshot a tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mirror import uv_binary


def run(
    args: list[str], cwd: Path, env: dict[str, str], expect: int = 0
) -> subprocess.CompletedProcess[str]:
    """Run `args`; fail the test, with its output, unless it exits `expect`."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == expect, (
        f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result


def uvtorch(
    args: list[str], cwd: Path, env: dict[str, str], expect: int = 0
) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "uvtorch_ci", *args], cwd, env, expect)


def uv(
    args: list[str], cwd: Path, env: dict[str, str], expect: int = 0
) -> subprocess.CompletedProcess[str]:
    return run([str(uv_binary()), *args], cwd, env, expect)


def write_project(
    directory: Path, spec: str, *, requires_python: str = ">=3.11", name: str = "demo"
) -> Path:
    """A virtual project whose [tool.uvtorch] table is `spec` (indentation stripped)."""
    directory.mkdir(parents=True)
    body = "\n".join(line.strip() for line in spec.strip().splitlines())
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\n'
        f'requires-python = "{requires_python}"\ndependencies = []\n\n'
        f"[tool.uvtorch]\n{body}\n"
    )
    return directory


def snapshot(directory: Path, *, directories: bool = False) -> dict[str, bytes | None]:
    """Every file under `directory` (its bytes) by relative path; with `directories`, every
    directory too (as None), so that one made and left behind shows."""
    return {
        str(path.relative_to(directory)): path.read_bytes() if path.is_file() else None
        for path in sorted(directory.rglob("*"))
        if directories or path.is_file()
    }
