"""Where the project sits in its repository: the root git names (`git rev-parse
--show-toplevel`), since GitHub reads workflows only from `.github/workflows/` there.

Not in a git checkout, or without git, the project's own folder is taken as the root; the
spec's `repository-root` says otherwise when it must (render/project.py applies it).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path


def git_location(project_dir: Path, env: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """The project's folder relative to its git root ("" at the root or outside git), and
    the names of the folders from the file system's root down to the project."""
    absolute = project_dir.resolve()
    parents = absolute.parts[1:]
    try:
        found = subprocess.run(
            ["git", "-C", str(absolute), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            env={**env, "GIT_OPTIONAL_LOCKS": "0"},
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git: the project is its own root
        return "", parents
    top = found.stdout.strip()
    if found.returncode != 0 or not top:
        return "", parents
    try:
        relative = absolute.relative_to(Path(os.path.realpath(top)))
    except ValueError:
        return "", parents
    return relative.as_posix() if relative.parts else "", parents
