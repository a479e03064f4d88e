"""The `uvtorch-ci` entry point: answers the cheapest questions before loading the CLI.

`--version` and an up-to-date `render --check` (see fastcheck.py) need neither click nor the
rendering stack; everything else goes to cli.main.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .paths import display_path


def _render_check_paths(args: list[str]) -> tuple[Path, Path | None] | None:
    """(project, spec) when `args` is exactly `render --check [--project D] [--spec F]`."""
    if args[:1] != ["render"] or "--check" not in args:
        return None
    project, spec = Path("."), None
    rest = [a for a in args[1:] if a != "--check"]
    while rest:
        flag = rest.pop(0)
        name, _, value = flag.partition("=")
        if name not in ("--project", "--spec"):
            return None
        if not value:
            if not rest:
                return None
            value = rest.pop(0)
        if name == "--project":
            project = Path(value)
        else:
            spec = Path(value)
    return project, spec


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from . import __version__

        print(f"uvtorch-ci, version {__version__}")
        return 0
    paths = _render_check_paths(args)
    if paths is not None:
        from .fastcheck import up_to_date

        if up_to_date(paths[0], paths[1], os.environ):
            label = display_path(paths[0] / "pyproject.toml")
            print(f"{label} and the generated files: up to date (unchanged)", file=sys.stderr)
            return 0
    from .cli import main as cli_main

    return cli_main(args)
