"""`verify` and `explain`: plan the project, read uv.lock and judge what every target x Python
installs; `render --lock` and `init --lock` end here after running `uv lock`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import (
    EXIT_OK,
    EXIT_PROBLEM,
    NESTING_MESSAGE,
    UvtorchError,
    toml_deepest_line,
)
from ..releases.table import load_table
from .files import PathError, read_text
from .paths import display_path
from .terminal import annotation, safe, safe_json
from .workspace import load_and_render, pyproject_output, read_project

if TYPE_CHECKING:
    from ..lock.model import Lock
    from ..plan.planner import Plan
    from ..verify.verdicts import Verdicts


ONLINE_TIMEOUT = 120.0  # seconds for every index page `verify --online` reads, in total


def verify_project(
    project_dir: Path,
    spec_file: Path | None,
    env: Mapping[str, str],
    *,
    online: bool = False,
    timeout: float = ONLINE_TIMEOUT,
) -> Verdicts:
    """Plan, read uv.lock and check it; LockError (exit 2) when uv.lock is missing or
    unreadable. The lock is compared with pyproject.toml as it is on disk; a pyproject.toml
    the spec would render differently is a note. When the fast check's record says a render
    with these very inputs changed nothing, the plan alone is enough: no rendering. With
    `online`, every locked file of the family is also proven against its index's page."""
    from ..errors import LockError
    from ..lock.reader import parse_lock
    from ..project import plan_project
    from ..verify.verdicts import verify_lock
    from .fastcheck import up_to_date

    if up_to_date(project_dir, spec_file, env):
        texts = read_project(project_dir, spec_file, locate=False)  # the plan is enough
        plan = plan_project(texts, env=env, table=load_table())
        pyproject = pyproject_output(project_dir, texts, texts.pyproject)
    else:
        rendered, outputs = load_and_render(project_dir, spec_file, env, strict=False)
        plan, pyproject = rendered.plan, outputs[0]
    lock_path = project_dir / "uv.lock"
    lock_label = display_path(lock_path)
    hint = "run `uv lock` in the project to create it, then verify again"
    try:
        lock_text = read_text(lock_path, lock_label, root=project_dir)
    except PathError:
        raise  # its own hint says what to do with such a path
    except UvtorchError as error:
        raise LockError(error.message, file=lock_label, where=error.where, hint=hint) from None
    if lock_text is None:
        raise LockError("not found", file=lock_label, hint=hint)
    try:
        lock = parse_lock(lock_text, lock_label)
        verdicts = verify_lock(plan, lock, pyproject.old or "", pyproject_file=pyproject.label)
    except RecursionError:  # pyproject.toml was read above: the lock nests too deep for tomllib
        raise LockError(
            f"not valid TOML here: {NESTING_MESSAGE}",
            file=lock_label,
            where=f"line {toml_deepest_line(lock_text)}",
            hint=hint,
        ) from None
    if pyproject.changed:
        verdicts = verdicts.with_notes(
            f"{pyproject.label} is not what the spec renders: "
            "run `uvtorch-ci render`, then `uv lock`"
        )
    if online:
        verdicts = _online(plan, lock, verdicts, timeout)
    return verdicts


def _online(plan: Plan, lock: Lock, verdicts: Verdicts, timeout: float) -> Verdicts:
    """Read the index page of every torch-family package locked from the spec's indexes, and
    judge each locked file against it."""
    from ..verify.locations import file_hosts
    from ..verify.online import judge_pages, pages_to_read
    from .pages import read_pages

    hosts = file_hosts(plan.spec.index_url, plan.spec.file_hosts)
    wanted = pages_to_read(lock, plan.packages, hosts)
    pages = read_pages((w.url for w in wanted), timeout=timeout)
    found = judge_pages(wanted, pages)
    verdicts = verdicts.with_findings(found.problems, found.warnings)
    return verdicts.with_notes(
        f"--online: {found.files} locked files checked against {found.pages} index pages"
        + ("" if found.problems else ", each listed there at its URL with its hash")
    )


def verify_command(
    project_dir: Path,
    spec_file: Path | None,
    *,
    env: Mapping[str, str],
    online: bool = False,
    timeout: float = ONLINE_TIMEOUT,
) -> int:
    """Print the per-target table; exit 1 when a target gets the wrong build or uv.lock is
    stale (or, `online`, a locked file is not one its index lists)."""
    from ..verify.report import format_report

    verdicts = verify_project(project_dir, spec_file, env, online=online, timeout=timeout)
    click.echo(safe(format_report(verdicts)), nl=False)
    if env.get("GITHUB_ACTIONS") == "true":
        for line in _annotations(verdicts):
            click.echo(line)
    return EXIT_OK if verdicts.ok else EXIT_PROBLEM


def explain_command(
    project_dir: Path, spec_file: Path | None, *, as_json: bool, env: Mapping[str, str]
) -> int:
    """Print what each target x Python installs and its download size (JSON for machines).
    Explaining is not checking: exit 0 whatever the verdicts, 2 on bad input."""
    import json

    from ..verify.report import as_json as verdicts_json
    from ..verify.report import format_report

    verdicts = verify_project(project_dir, spec_file, env)
    if as_json:
        click.echo(safe_json(json.dumps(verdicts_json(verdicts), indent=2)))
    else:
        click.echo(safe(format_report(verdicts, sizes=True)), nl=False)
    return EXIT_OK


def _annotations(verdicts: Verdicts) -> list[str]:
    """GitHub Actions error annotations, one per problem (the job log shows them on top)."""
    file = verdicts.lock_file
    stale = [annotation(f"uv.lock is stale: {reason}", file=file) for reason in verdicts.stale]
    rows = [
        annotation(f"{target.name} (Python {target.python}): {problem}", file=file)
        for target in verdicts.targets
        for problem in (
            *target.problems,
            *(f"{p.package}: {text}" for p in target.packages for text in p.problems),
        )
    ]
    files = [annotation(problem, file=file) for problem in verdicts.problems]
    return [*stale, *rows, *files]


def lock_and_verify(
    uv: str, project_dir: Path, spec_file: Path | None, env: Mapping[str, str]
) -> int:
    """Run `uv lock` in the project, then verify the lock; exit 1 when either fails."""
    import subprocess

    click.echo(safe(f"running: uv lock (in {display_path(project_dir)})"), err=True)
    try:
        result = subprocess.run([uv, "lock"], cwd=project_dir, env=dict(env), check=False)
    except OSError as error:
        click.echo(safe(f"error: uv lock could not run: {error}"), err=True)
        return EXIT_PROBLEM
    if result.returncode != 0:
        click.echo(safe(f"error: uv lock failed (exit {result.returncode})"), err=True)
        return EXIT_PROBLEM
    return verify_command(project_dir, spec_file, env=env)
