"""`smoke`: the standalone smoke check (uvtorch_ci/smoke.py), run on the project's interpreter.

The tool usually runs on an interpreter of its own (`uv tool install`, uvx), which has no
torch: in a project, the check is about the project's environment, so without `--python` it
takes the `.venv` of the project it runs in (the nearest folder with a pyproject.toml), and
says so. Outside a project it checks its own interpreter, and names it when torch is missing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import click

from .. import smoke
from .paths import display_path
from .terminal import safe

PROG = "uvtorch-ci smoke"
_HELP = ("-h", "--help")


def project_python(start: Path) -> Path | None:
    """The interpreter of the project's .venv: the project is the nearest folder from
    `start` up that holds a pyproject.toml; None outside a project or without its .venv."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            python = Path(smoke.venv_python(str(folder / ".venv")))
            return python if python.is_file() else None
    return None


def smoke_command(args: Sequence[str], *, cwd: Path) -> int:
    """Run the check; without --python (or --help), on the project's .venv when there is one."""
    given = [*args]
    chosen = any(a == "--python" or a.startswith("--python=") for a in given)
    if not chosen and not any(a in _HELP for a in given):
        python = project_python(cwd)
        if python is not None:
            shown = display_path(python)
            click.echo(safe(f"{PROG}: checking the project's environment, {shown}"), err=True)
            given = ["--python", os.fspath(python), *given]
    return smoke.main(given, prog=PROG)
