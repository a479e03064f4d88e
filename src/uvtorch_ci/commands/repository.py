"""Where the project sits in its repository: the root git names (`git rev-parse
--show-toplevel`), since GitHub reads workflows only from `.github/workflows/` there.

The root is a boundary: render writes there. So git is asked with its own safe options (a
bare repository is used only when named explicitly: `safe.bareRepository=explicit`, so one
committed as plain files in the project is refused), the top level it names must hold the
project (both resolved), and the git directory it found must be the regular repository of
that checkout: its top level's `.git` (a folder, or a file naming it, as worktrees and
submodules have). Anything else, such as a `.git` folder inside the project whose
`core.worktree` names an ancestor, is refused (exit 2), naming it.

Not in a git checkout, or without git, the project's own folder is taken as the root; the
spec's `repository-root` says otherwise when it must (project.py applies it, within git's
top level).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ..errors import UvtorchError

# git's own safe options: no bare repository found by walking up (only one named with
# GIT_DIR or --git-dir), and no file-system monitor command run from a repository's config
SAFE_OPTIONS = ("-c", "safe.bareRepository=explicit", "-c", "core.fsmonitor=false")
QUESTIONS = ("--show-toplevel", "--absolute-git-dir")
HINT = (
    "render writes the workflow at the repository's root, so uvtorch-ci uses only the "
    "repository of a regular checkout: remove what git found, or run in a clone"
)


class RepositoryError(UvtorchError):
    """git names a repository the tool does not trust as the project's."""


def git_location(project_dir: Path, env: Mapping[str, str]) -> tuple[str, tuple[str, ...], bool]:
    """The project's folder relative to its git root ("" at the root or outside git), the
    names of the folders from the file system's root down to the project, and whether git
    knows a repository holding it. RepositoryError (exit 2) for a repository not to trust."""
    absolute = project_dir.resolve()
    parents = absolute.parts[1:]
    try:
        found = subprocess.run(
            ["git", *SAFE_OPTIONS, "-C", str(absolute), "rev-parse", *QUESTIONS],
            capture_output=True,
            text=True,
            env={**env, "GIT_OPTIONAL_LOCKS": "0"},
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git: the project is its own root
        return "", parents, False
    if "safe.bareRepository" in found.stderr:
        raise RepositoryError(
            f"git found a bare repository for the project and refuses it "
            f"(safe.bareRepository=explicit): {found.stderr.strip().removeprefix('fatal: ')}",
            file=str(absolute),
            hint=HINT,
        )
    lines = found.stdout.splitlines()
    if found.returncode != 0 or len(lines) != 2 or not lines[0]:
        return "", parents, False  # no repository here (or a bare one named explicitly)
    top, git_dir = (Path(os.path.realpath(line)) for line in lines)
    try:
        relative = absolute.relative_to(top)
    except ValueError:
        raise RepositoryError(
            f"git names {top} as the top level of its repository, which does not hold the project",
            file=str(absolute),
            hint=HINT,
        ) from None
    if not _regular(top, git_dir, env):
        raise RepositoryError(
            f"git found the repository {git_dir}, which is not the .git of the checkout it "
            f"names ({top}): a repository inside the project is not trusted",
            file=str(absolute),
            hint=HINT,
        )
    return (relative.as_posix() if relative.parts else ""), parents, True


def _regular(top: Path, git_dir: Path, env: Mapping[str, str]) -> bool:
    """Whether `git_dir` is the regular repository of the checkout at `top`: its `.git`
    folder, or what its `.git` file names (a worktree, a submodule), or the one GIT_DIR
    names explicitly."""
    dot_git = top / ".git"
    if os.path.realpath(dot_git) == str(git_dir) and dot_git.is_dir():
        return True
    if dot_git.is_file() and not dot_git.is_symlink():
        try:
            with open(dot_git, encoding="utf-8", errors="replace") as file:
                first = file.readline(4096)  # "gitdir: <path>"
        except OSError:
            return False
        named = first.removeprefix("gitdir:").strip()
        if named and os.path.realpath(top / named) == str(git_dir):
            return True
    return bool(env.get("GIT_DIR"))
