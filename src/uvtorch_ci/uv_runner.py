"""Running uv: find its binary (on PATH, else the `uv` Python package's), run `uv lock` in the
project, then verify the new lock."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from .errors import EXIT_PROBLEM, UvtorchError
from .paths import display_path


def find_uv(env: Mapping[str, str]) -> str:
    """The uv binary: on PATH, else the one the `uv` Python package ships."""
    import shutil

    uv = shutil.which("uv", path=env.get("PATH"))
    if uv is not None:
        return uv
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        raise UvtorchError(
            "--lock: uv is not installed (not on PATH, no `uv` Python package)",
            hint="install uv (https://docs.astral.sh/uv/), or leave --lock out and "
            "run `uv lock` yourself",
        ) from None


def lock_and_verify(
    uv: str, project_dir: Path, spec_file: Path | None, env: Mapping[str, str]
) -> int:
    """Run `uv lock` in the project, then verify the lock; exit 1 when either fails."""
    import subprocess

    from .commands import verify_command  # here, not at the top: commands imports this module

    click.echo(f"running: uv lock (in {display_path(project_dir)})", err=True)
    try:
        result = subprocess.run([uv, "lock"], cwd=project_dir, env=dict(env), check=False)
    except OSError as error:
        click.echo(f"error: uv lock could not run: {error}", err=True)
        return EXIT_PROBLEM
    if result.returncode != 0:
        click.echo(f"error: uv lock failed (exit {result.returncode})", err=True)
        return EXIT_PROBLEM
    return verify_command(project_dir, spec_file, env=env)
