"""The command line: click commands; the one place errors become exit codes and text."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .. import __version__
from ..errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_PROBLEM, UvtorchError

if TYPE_CHECKING:
    from pathlib import Path

F = TypeVar("F", bound=Callable[..., Any])


def as_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Path | None:
    """Paths arrive as pathlib.Path, imported only once a command runs (not for --help)."""
    from pathlib import Path

    return None if value is None else Path(value)


def project_option(function: F) -> F:
    return click.option(
        "--project",
        "project_dir",
        type=click.Path(file_okay=False),
        default=".",
        callback=as_path,
        show_default=True,
        help="The project directory (where pyproject.toml is).",
    )(function)


def spec_option(function: F) -> F:
    return click.option(
        "--spec",
        "spec_file",
        type=click.Path(dir_okay=False),
        default=None,
        callback=as_path,
        help="A standalone uvtorch.toml (default: [tool.uvtorch] in pyproject.toml, "
        "else uvtorch.toml in the project).",
    )(function)


def help_width() -> int:
    """The width click gives help (the terminal's, at most 78 columns, at least 50), found
    without click's way, which loads shutil (and zlib, bz2, lzma) on every --help."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        stdout = sys.__stdout__
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns if stdout else 80
        except (ValueError, OSError):  # not a terminal, or a closed stream
            columns = 80
    return max(min(columns, 80) - 2, 50)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "terminal_width": help_width()}
)
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
@click.option("--lock", is_flag=True, help="Then run `uv lock` and verify the lock.")
@click.option(
    "--allow-unpinned",
    is_flag=True,
    help="Accept an `action` not pinned to a commit (a tag or branch), with a warning.",
)
def render(
    project_dir: Path,
    spec_file: Path | None,
    check: bool,
    show_diff: bool,
    force: bool,
    lock: bool,
    allow_unpinned: bool,
) -> None:
    """Write the torch blocks into pyproject.toml, and the workflow."""
    from .render import render_command

    sys.exit(
        render_command(
            project_dir,
            spec_file,
            check=check,
            show_diff=show_diff,
            force=force,
            lock=lock,
            allow_unpinned=allow_unpinned,
            env=os.environ,
        )
    )


@cli.command("matrix")
@project_option
@spec_option
def matrix_command(project_dir: Path, spec_file: Path | None) -> None:
    """Print the GitHub Actions matrix as JSON: one entry per target x Python."""
    import json

    from ..github.workflow import matrix
    from .workspace import load_and_render

    rendered, _ = load_and_render(project_dir, spec_file, os.environ)
    click.echo(json.dumps({"include": matrix(rendered.plan)}, indent=2))


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def smoke(args: tuple[str, ...]) -> None:
    """Check the installed torch build: smoke --expect BACKEND [--gpu] [--json FILE]."""
    from .. import smoke as smoke_check

    sys.exit(smoke_check.main(list(args)))


@cli.command("verify")
@project_option
@spec_option
def verify_cli(project_dir: Path, spec_file: Path | None) -> None:
    """Prove from uv.lock that every target x Python gets the torch build the spec asks for.

    Exit 1 with the per-target table when one does not, or when uv.lock is stale.
    """
    from .verify import verify_command

    sys.exit(verify_command(project_dir, spec_file, env=os.environ))


@cli.command("explain")
@project_option
@spec_option
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON (stable keys).")
def explain_cli(project_dir: Path, spec_file: Path | None, as_json: bool) -> None:
    """Show what uv.lock installs for each target x Python, and its download size."""
    from .verify import explain_command

    sys.exit(explain_command(project_dir, spec_file, as_json=as_json, env=os.environ))


@cli.command("detect")
@click.option(
    "--torch",
    "torch_version",
    metavar="VERSION",
    default=None,
    help="The torch release to choose for (default: the newest in the release table).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the detection as JSON (stable keys).")
def detect_cli(torch_version: str | None, as_json: bool) -> None:
    """Detect this machine's platform and the torch backend it should use.

    Reads the NVIDIA driver, ROCm and GPUs. Overrides: UVTORCH_PLATFORM,
    UVTORCH_CUDA_DRIVER_VERSION and UVTORCH_ROCM_VERSION ("none" for none).
    """
    import json

    from ..detect.choice import detect
    from ..detect.report import detection_json, format_report

    detection = detect(os.environ, torch=torch_version)
    click.echo(
        json.dumps(detection_json(detection), indent=2) if as_json else format_report(detection)
    )


@cli.command("init")
@click.argument(
    "directory", type=click.Path(file_okay=False), default=".", callback=as_path, required=False
)
@click.option(
    "--torch",
    "torch_version",
    metavar="VERSION",
    default=None,
    help="The torch version or specifier (default: the newest in the release table).",
)
@click.option(
    "--target",
    "targets",
    metavar="PLATFORM:BACKEND[:RUNNER]",
    multiple=True,
    help="A CI target, repeatable (default: linux-x86_64 and windows-x86_64 with the newest "
    "CUDA, macos-arm64:mps, linux-aarch64:cpu).",
)
@click.option(
    "--package",
    "packages",
    metavar="NAME",
    multiple=True,
    help="A companion package (torchvision, torchaudio), repeatable (default: none).",
)
@click.option(
    "--python",
    "pythons",
    metavar="3.X",
    multiple=True,
    help="A Python version for the CI jobs, repeatable (default: one the torch release allows).",
)
@click.option(
    "--name",
    default=None,
    help="The name of a new project (default: derived from the directory's name).",
)
@click.option("--lock", is_flag=True, help="Then run `uv lock` and verify the lock.")
def init_cli(
    directory: Path,
    torch_version: str | None,
    targets: tuple[str, ...],
    packages: tuple[str, ...],
    pythons: tuple[str, ...],
    name: str | None,
    lock: bool,
) -> None:
    """Bootstrap DIRECTORY (default: here): write a spec, render it, optionally lock.

    With no pyproject.toml it creates a minimal virtual project; otherwise it appends
    [tool.uvtorch] to the existing pyproject.toml. Flags left out are asked for when a
    terminal is attached, and take their defaults otherwise.
    """
    from .init import init_command

    sys.exit(
        init_command(
            directory,
            torch=torch_version,
            targets=targets,
            packages=packages,
            python=pythons,
            name=name,
            lock=lock,
            interactive=sys.stdin is not None and sys.stdin.isatty(),
            env=os.environ,
        )
    )


@cli.group("releases", invoke_without_command=True)
@click.option(
    "--torch",
    "torch_spec",
    metavar="SPEC",
    default=None,
    help='Only the releases a version or specifier selects ("2.5.1", "2.5", ">=2.9").',
)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON (the table's keys).")
@click.pass_context
def releases_cli(ctx: click.Context, torch_spec: str | None, as_json: bool) -> None:
    """Show the release table: torch, companions, Pythons, backends per platform.

    `releases refresh` rebuilds it from the PyTorch indexes and PyPI.
    """
    if ctx.invoked_subcommand is not None:
        if torch_spec is not None or as_json:
            raise click.UsageError("--torch and --json show the table; give them without refresh")
        return
    from .releases import releases_command

    sys.exit(releases_command(torch_spec, json_output=as_json, echo=click.echo))


@releases_cli.command("refresh")
@click.option(
    "--index-url",
    metavar="URL",
    default=None,
    help="The base of the PyTorch indexes (default: $UVTORCH_INDEX_URL, "
    "else https://download.pytorch.org/whl).",
)
@click.option(
    "--pypi-url",
    metavar="URL",
    default=None,
    help="PyPI, for its JSON API (default: https://pypi.org).",
)
@click.option(
    "--table",
    "table_path",
    type=click.Path(dir_okay=False),
    default=None,
    callback=as_path,
    help="The table file to compare and write (default: the one shipped in the package).",
)
@click.option("--write", is_flag=True, help="Write the table when it changed (else only diff).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    default=30.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
def releases_refresh_cli(
    index_url: str | None,
    pypi_url: str | None,
    table_path: Path | None,
    write: bool,
    timeout: float,
) -> None:
    """Rebuild the release table from the indexes and print the diff.

    Exit 0 when the table is current, 1 when it changed (written with --write), 2 on errors.
    """
    from .releases import refresh_command

    sys.exit(
        refresh_command(
            index_url=index_url,
            pypi_url=pypi_url,
            table_path=table_path,
            write=write,
            timeout=timeout,
            env=os.environ,
            echo=click.echo,
            progress=lambda message: click.echo(message, err=True),
        )
    )


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
