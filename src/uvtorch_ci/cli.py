"""The command line: click commands; the one place errors become exit codes and text."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_PROBLEM, UvtorchError

F = TypeVar("F", bound=Callable[..., Any])


def project_option(function: F) -> F:
    return click.option(
        "--project",
        "project_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="The project directory (where pyproject.toml is).",
    )(function)


def spec_option(function: F) -> F:
    return click.option(
        "--spec",
        "spec_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="A standalone uvtorch.toml (default: [tool.uvtorch] in pyproject.toml, "
        "else uvtorch.toml in the project).",
    )(function)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="uvtorch-ci")
def cli() -> None:
    """Render per-platform PyTorch builds for uv, and the CI that proves them."""


@cli.command()
@project_option
@spec_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any output would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the unified diff of every change.")
@click.option(
    "--force", is_flag=True, help="Overwrite generated files even where they were edited by hand."
)
def render(
    project_dir: Path, spec_file: Path | None, check: bool, show_diff: bool, force: bool
) -> None:
    """Write the torch blocks into pyproject.toml, and the workflow."""
    from .commands import render_command

    sys.exit(
        render_command(
            project_dir,
            spec_file,
            check=check,
            show_diff=show_diff,
            force=force,
            env=os.environ,
        )
    )


@cli.command("matrix")
@project_option
@spec_option
def matrix_command(project_dir: Path, spec_file: Path | None) -> None:
    """Print the GitHub Actions matrix as JSON: one entry per target x Python."""
    import json

    from .commands import load_and_render
    from .workflow import matrix

    rendered, _ = load_and_render(project_dir, spec_file, os.environ)
    click.echo(json.dumps({"include": matrix(rendered.plan)}, indent=2))


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def smoke(args: tuple[str, ...]) -> None:
    """Check the installed torch build: smoke --expect BACKEND [--gpu] [--json FILE]."""
    from . import smoke as smoke_check

    sys.exit(smoke_check.main(list(args)))


@cli.command("verify")
@project_option
@spec_option
def verify_cli(project_dir: Path, spec_file: Path | None) -> None:
    """Prove from uv.lock that every target x Python gets the torch build the spec asks for.

    Exit 1 with the per-target table when one does not, or when uv.lock is stale.
    """
    from .commands import verify_command

    sys.exit(verify_command(project_dir, spec_file, env=os.environ))


@cli.command("explain")
@project_option
@spec_option
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON (stable keys).")
def explain_cli(project_dir: Path, spec_file: Path | None, as_json: bool) -> None:
    """Show what uv.lock installs for each target x Python, and its download size."""
    from .commands import explain_command

    sys.exit(explain_command(project_dir, spec_file, as_json=as_json, env=os.environ))


def _report(error: UvtorchError) -> None:
    text = str(error)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        first, _, rest = text.partition("\n")
        file = f" file={error.file}" if error.file else ""
        click.echo(f"::error{file}::{first}{' ' + rest.strip() if rest else ''}", err=True)
    else:
        click.echo(f"error: {text}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user mistakes become a short message and exit code 2, never a traceback."""
    try:
        cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except UvtorchError as error:
        _report(error)
        return error.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_PROBLEM
    except click.ClickException as error:
        error.show()
        return EXIT_BAD_INPUT
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
