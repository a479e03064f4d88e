"""`sync` and `run`: choose the spec's target for this machine (detect/target.py), say which
and why in one line, then run `uv sync` or `uv run` with the arguments that select its build
(`--dry-run` prints the command instead)."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from ..errors import EXIT_OK, EXIT_PROBLEM, UvtorchError
from ..releases.table import load_table
from .paths import display_path
from .terminal import safe
from .uv import find_uv
from .workspace import load_and_render


class StaleError(UvtorchError):
    """pyproject.toml lags behind the spec: a check found a problem (exit 1)."""

    exit_code = EXIT_PROBLEM


def uv_command(
    verb: str,
    project_dir: Path,
    spec_file: Path | None,
    args: Sequence[str],
    *,
    backend: str | None,
    env: Mapping[str, str],
) -> list[str]:
    """Choose the target, print the one-line choice (stderr), and return the uv arguments
    after the binary, to run from here: `sync|run [--project DIR] <selector> <args>`.
    StaleError (exit 1) when pyproject.toml is not what the spec renders: uv would install
    another build."""
    from ..detect.machine import read_machine
    from ..detect.target import choose_target, describe

    rendered, outputs = load_and_render(project_dir, spec_file, env, strict=False)
    if outputs[0].changed:
        raise StaleError(
            "is not what the spec renders, so uv would not install the chosen build",
            file=outputs[0].label,
            hint="run `uvtorch-ci render` first",
        )
    choice = choose_target(rendered.plan, read_machine(env), load_table(), backend=backend)
    click.echo(safe(describe(choice)), err=True)
    for note in choice.notes:
        click.echo(safe(f"  note: {note}"), err=True)
    folder = display_path(project_dir)
    if folder.startswith("-"):  # "-x" would be an option to uv: "./-x" is the same folder
        folder = f".{os.sep}{folder}"
    project = [] if project_dir == Path() else ["--project", folder]
    if verb == "run":
        return ["run", *project, *choice.uv_args, "--", *args]
    return ["sync", *project, *choice.uv_args, *args]


def sync_command(
    verb: str,
    project_dir: Path,
    spec_file: Path | None,
    args: Sequence[str],
    *,
    backend: str | None,
    dry_run: bool,
    env: Mapping[str, str],
) -> int:
    """`sync` exits 0, or 1 when uv sync fails; `run` exits with the command's own code, as
    `uv run` does; 2 on bad input (no target for this platform, an unknown --backend)."""
    if verb == "run" and not args:
        raise UvtorchError(
            "run needs a command", where="COMMAND", hint="uvtorch-ci run -- python train.py"
        )
    uv_args = uv_command(verb, project_dir, spec_file, args, backend=backend, env=env)
    if dry_run:
        click.echo(safe(shlex.join(["uv", *uv_args])))
        return EXIT_OK
    uv = find_uv(env, needed_for=verb)
    try:
        result = subprocess.run([uv, *uv_args], env=dict(env), check=False)
    except OSError as error:
        click.echo(safe(f"error: uv {verb} could not run: {error}"), err=True)
        return EXIT_PROBLEM
    if verb == "run":
        return result.returncode
    if result.returncode != 0:
        click.echo(safe(f"error: uv sync failed (exit {result.returncode})"), err=True)
        return EXIT_PROBLEM
    return EXIT_OK
