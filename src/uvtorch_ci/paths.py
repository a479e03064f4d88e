"""How the tool names a file to the user: relative to the working directory when inside it."""

from __future__ import annotations

from pathlib import Path


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # outside the cwd, unreadable, a symlink loop
        return str(path)
