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


def finite(param: click.Parameter, value: float) -> float:
    """`value`, unless it is NaN (which passes every range)."""
    if value != value:
        raise click.BadParameter(f"{value} is not a number of seconds.", param=param)
    return value


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
    from .terminal import safe_json
    from .workspace import load_and_render

    rendered, _ = load_and_render(project_dir, spec_file, os.environ)
    click.echo(safe_json(json.dumps({"include": matrix(rendered.plan)}, indent=2)))


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def smoke(args: tuple[str, ...]) -> None:
    """Check the installed torch build: smoke --expect BACKEND [--gpu] [--python PYTHON].

    In a project, the torch of its .venv; elsewhere, of this interpreter.
    """
    from pathlib import Path

    from .smoke import smoke_command

    sys.exit(smoke_command(args, cwd=Path.cwd()))


@cli.command("verify")
@project_option
@spec_option
@click.option(
    "--online",
    is_flag=True,
    help="Also read each PyTorch index's page for every locked torch-family package and prove "
    "each locked URL and hash is one the index serves.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1, max=3600),
    default=120,
    show_default=True,
    help="With --online: seconds for reading every page, in total.",
)
def verify_cli(project_dir: Path, spec_file: Path | None, online: bool, timeout: float) -> None:
    """Prove from uv.lock that every target x Python gets the torch build the spec asks for.

    Exit 1 with the per-target table when one does not, or when uv.lock is stale.
    """
    from .verify import verify_command

    sys.exit(verify_command(project_dir, spec_file, env=os.environ, online=online, timeout=timeout))


@cli.command("explain")
@project_option
@spec_option
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON (stable keys).")
def explain_cli(project_dir: Path, spec_file: Path | None, as_json: bool) -> None:
    """Show what uv.lock installs for each target x Python, and its download size."""
    from .verify import explain_command

    sys.exit(explain_command(project_dir, spec_file, as_json=as_json, env=os.environ))


@cli.command("detect")
@project_option
@click.option(
    "--torch",
    "torch_version",
    metavar="VERSION",
    default=None,
    help="The torch release to choose for (default: the project's spec's, else the newest "
    "in the release table).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the detection as JSON (stable keys).")
def detect_cli(project_dir: Path, torch_version: str | None, as_json: bool) -> None:
    """Detect this machine's platform and the torch backend it should use.

    Reads the NVIDIA driver, ROCm and GPUs. Overrides: UVTORCH_PLATFORM,
    UVTORCH_CUDA_DRIVER_VERSION and UVTORCH_ROCM_VERSION ("none" for none).
    """
    from .detect import detect_command

    sys.exit(detect_command(project_dir, torch_version, as_json=as_json, env=os.environ))


def backend_options(function: F) -> F:
    function = click.option(
        "--dry-run", is_flag=True, help="Print the uv command instead of running it."
    )(function)
    return click.option(
        "--backend",
        metavar="BACKEND",
        default=None,
        help="Use the spec's target with this backend (cpu, cu126, ...) instead of detecting.",
    )(function)


@cli.command("sync")
@project_option
@spec_option
@backend_options
@click.argument("uv_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- UV SYNC ARGS]")
def sync_cli(
    project_dir: Path,
    spec_file: Path | None,
    backend: str | None,
    dry_run: bool,
    uv_args: tuple[str, ...],
) -> None:
    """Run `uv sync` with the build of the spec's target this machine runs.

    Detects the machine as `detect` does, picks the target (the newest CUDA build the driver
    runs, else ROCm, XPU, MPS, else cpu) and passes its extra. Arguments after -- go to uv.
    """
    from .sync import sync_command

    sys.exit(
        sync_command(
            "sync",
            project_dir,
            spec_file,
            uv_args,
            backend=backend,
            dry_run=dry_run,
            env=os.environ,
        )
    )


@cli.command("run", context_settings={"allow_interspersed_args": False})
@project_option
@spec_option
@backend_options
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="-- COMMAND")
def run_cli(
    project_dir: Path,
    spec_file: Path | None,
    backend: str | None,
    dry_run: bool,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND with `uv run` and the build of the spec's target this machine runs.

    Exits with the command's own exit code (2 when the spec has no target for this machine).
    """
    from .sync import sync_command

    sys.exit(
        sync_command(
            "run", project_dir, spec_file, command, backend=backend, dry_run=dry_run, env=os.environ
        )
    )


@cli.command("upgrade")
@project_option
@spec_option
@click.option(
    "--torch",
    "torch_version",
    metavar="VERSION|latest",
    default=None,
    help="The torch release to move to (default: latest, the newest in the release table).",
)
@click.option(
    "--write", is_flag=True, help="Write the spec's new values (nothing else), then render."
)
@click.option("--lock", is_flag=True, help="With --write: then run `uv lock` and verify the lock.")
def upgrade_cli(
    project_dir: Path, spec_file: Path | None, torch_version: str | None, write: bool, lock: bool
) -> None:
    """Plan moving the spec to another torch release, and print the plan as a table.

    Per target: the same backend where the release publishes it, else the nearest (cu124 ->
    cu126), the NVIDIA driver minimum that implies and the GPUs it drops; the companions'
    versions and the Python axis.
    """
    from .upgrade import upgrade_command

    sys.exit(
        upgrade_command(
            project_dir, spec_file, torch=torch_version, write=write, lock=lock, env=os.environ
        )
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
    from .terminal import safe, safe_json

    sys.exit(
        releases_command(
            torch_spec,
            json_output=as_json,
            echo=lambda text: click.echo(safe_json(text) if as_json else safe(text)),
        )
    )


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
    type=click.FloatRange(min=0.1, max=3600),
    callback=lambda ctx, param, value: finite(param, value),
    metavar="SECONDS",
    default=30.0,
    show_default=True,
    help="Seconds each answer may take, whole (the refresh stops after 15 minutes).",
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
    from .terminal import safe

    sys.exit(
        refresh_command(
            index_url=index_url,
            pypi_url=pypi_url,
            table_path=table_path,
            write=write,
            timeout=timeout,
            env=os.environ,
            echo=lambda text: click.echo(safe(text)),  # names and URLs from the indexes
            progress=lambda message: click.echo(safe(message), err=True),
        )
    )


def _report(error: UvtorchError) -> None:
    """The error on stderr, every line made safe (no value steers the terminal or forges a
    workflow command); under GitHub Actions also as an `::error` annotation on the file and
    line it names."""
    import re

    from .terminal import annotation, safe

    text = str(error)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        place = re.match(r"line (\d+)(?:, column (\d+))?", error.where or "")
        line, column = place.groups() if place else (None, None)
        click.echo(
            annotation(
                text,
                file=error.file,
                line=int(line) if line else None,
                column=int(column) if column else None,
            ),
            err=True,
        )
    click.echo(safe(f"error: {text}"), err=True)


def _show_usage_error(error: click.ClickException) -> None:
    """click's own message (usage and error), made safe like ours: it repeats what was typed."""
    import io

    from .terminal import safe

    buffer = io.StringIO()
    error.show(file=buffer)
    click.echo(safe(buffer.getvalue()), err=True, nl=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user mistakes become a short message and exit code 2, never a traceback."""
    try:
        args = list(argv) if argv is not None else None
        cli.main(args=args, prog_name="uvtorch-ci", standalone_mode=False)
    except UvtorchError as error:
        _report(error)
        return error.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_PROBLEM
    except click.ClickException as error:
        _show_usage_error(error)
        return EXIT_BAD_INPUT
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
