"""`init` in a project that already has a uv.lock: the lock read for inference, and the proof,
offline and before anything is written, that the spec init wrote describes what that lock
already installs (verify's verdicts on the project's own lock and pyproject.toml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LockError, UvtorchError
from .files import read_text
from .paths import display_path

if TYPE_CHECKING:
    from ..init.locked import LockView
    from ..plan.planner import Plan

PROOF_SHOWN = 6  # problems listed before "and N more"


@dataclass(frozen=True)
class ProjectLock:
    """The project's uv.lock: its text and label, and the view inference asks (None, with
    `note` saying why, when it cannot be read for this project)."""

    text: str
    label: str
    view: LockView | None
    note: str | None


def read_project_lock(directory: Path, pyproject: dict[str, Any]) -> ProjectLock | None:
    """The uv.lock beside pyproject.toml, or None when there is none. A lock that is not uv's,
    or was made for another project, is set aside with a note: init then reads pyproject.toml
    alone, as without a lock."""
    from ..init.locked import LockView, locked_project
    from ..lock.reader import parse_lock

    path = directory / "uv.lock"
    label = display_path(path)
    text = read_text(path, label, root=directory)
    if text is None:
        return None
    project = pyproject.get("project")
    name = locked_project(project.get("name") if isinstance(project, dict) else None)
    try:
        view = LockView(parse_lock(text, label), text, name)
    except (LockError, RecursionError) as error:
        why = error.message if isinstance(error, UvtorchError) else "nested too deep"
        return ProjectLock(
            text, label, None, f"{label} set aside ({why}): read pyproject.toml alone"
        )
    return ProjectLock(text, label, view, None)


@dataclass(frozen=True)
class Proof:
    """What verify says of the spec against the project's own lock: `ok`, and the lines."""

    ok: bool
    lines: tuple[str, ...]


def prove(plan: Plan, lock: ProjectLock, old_pyproject: str, pyproject_label: str) -> Proof:
    """Verify the plan against the lock the project has, with the pyproject.toml that lock was
    made from: no index, no `uv lock`. Either every target x Python already gets the build the
    spec asks for, or each difference is listed (what the next `uv lock` changes)."""
    from ..verify.verdicts import verify

    try:
        verdicts = verify(
            plan,
            lock.text,
            old_pyproject,
            lock_file=lock.label,
            pyproject_file=pyproject_label,
        )
    except (UvtorchError, RecursionError) as error:
        why = error.message if isinstance(error, UvtorchError) else "nested too deep"
        return Proof(False, (f"not proven: {lock.label} could not be checked ({why})",))
    checked = len(verdicts.targets)
    if verdicts.ok:
        return Proof(
            True,
            (
                f"this spec describes what {lock.label} already installs: every target x "
                f"Python ({checked}) gets the build the spec asks for",
            ),
        )
    if verdicts.stale:
        head = (
            f"not proven: {lock.label} predates pyproject.toml, so it cannot show what this "
            "project installs (run `uv lock` first):"
        )
        problems = list(verdicts.stale)
    else:
        failed = sum(1 for t in verdicts.targets if not t.ok)
        head = (
            f"{lock.label} differs from this spec in {failed} of {checked} target x Python "
            "environments; after `uv lock`:"
        )
        problems = [
            f"{t.name}, Python {t.python}: {text}"
            for t in verdicts.targets
            for text in (
                *t.problems,
                *(f"{p.package}: {q}" for p in t.packages for q in p.problems),
            )
        ]
    shown = problems[:PROOF_SHOWN]
    more = [f"... and {len(problems) - len(shown)} more"] if len(problems) > len(shown) else []
    return Proof(False, (head, *(f"  {p}" for p in shown), *more))
