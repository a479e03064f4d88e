"""`upgrade`: plan moving the spec to another torch release and print the plan; with --write,
write the spec's new values (nothing else in the file changes) and render; with --lock, then
lock and verify."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import click

from ..errors import EXIT_OK, EXIT_PROBLEM, UvtorchError
from ..releases.table import load_table
from .files import write_all
from .terminal import safe
from .toolsource import tool_requirement
from .workspace import ci_outputs, hand_edited, read_project
from .writelock import writes_project

LATEST = "latest"


@writes_project(when=lambda options: bool(options["write"]))
def upgrade_command(
    project_dir: Path,
    spec_file: Path | None,
    *,
    torch: str | None,
    write: bool,
    lock: bool,
    env: Mapping[str, str],
) -> int:
    """Print the plan (exit 0); with `write`, also write and render it (render's exit code),
    with `lock` then `uv lock` and verify. Bad input (exit 2) changes nothing on disk.
    Writing holds the project's writer lock (writelock.py) from reading the spec to the end
    of the render, so that no render in between leaves a workflow of the old spec."""
    from ..detect.choice import select_release
    from ..project import render_project
    from ..resources import smoke_source
    from ..upgrade.moves import plan_upgrade, read_spec
    from ..upgrade.report import format_upgrade
    from ..upgrade.rewrite import rewrite_spec
    from .render import render_command
    from .uv import find_uv

    if lock and not write:
        raise UvtorchError("--lock needs --write", where="--lock", hint="upgrade --write --lock")
    if lock:
        find_uv(env)  # before anything is written

    table = load_table()
    release = select_release(table, None if torch in (None, LATEST) else torch)
    texts = read_project(project_dir, spec_file)
    spec, requires, python_written = read_spec(texts, env=env, table=table)
    upgrade = plan_upgrade(
        spec, table, release, requires_python=requires, python_written=python_written
    )
    in_pyproject = spec.file == texts.pyproject_label
    old_text = texts.pyproject if in_pyproject else texts.spec
    assert old_text is not None  # the spec was read from it
    # a file tomlkit cannot edit is refused before the plan is printed
    changing = write and upgrade.changed
    new_text = rewrite_spec(old_text, spec.prefix, upgrade, spec.file) if changing else old_text
    click.echo(safe(format_upgrade(upgrade)), nl=False)
    if not write:
        if upgrade.changed:
            click.echo("\nnothing written: --write writes the spec's new values and renders")
        return EXIT_OK
    if not upgrade.changed:
        click.echo("\nthe spec is already there: nothing to write")
        return EXIT_OK

    new_texts = (
        replace(texts, pyproject=new_text) if in_pyproject else replace(texts, spec=new_text)
    )
    # rendered in memory first: an upgraded spec the table refuses writes nothing, and
    # neither does a generated file edited by hand (which render would not overwrite)
    rendered = render_project(
        new_texts,
        env=env,
        table=table,
        smoke_source=smoke_source(),
        check_environments=True,
        tool=tool_requirement(),
    )
    edited = hand_edited(ci_outputs(project_dir, rendered))
    if edited:
        for output, reason in edited:
            click.echo(safe(f"error: {output.label}: {reason}; nothing was written."), err=True)
        click.echo(
            "  hint: `uvtorch-ci render --force` overwrites it; then upgrade again", err=True
        )
        return EXIT_PROBLEM
    path = project_dir / "pyproject.toml" if in_pyproject else _spec_path(project_dir, spec_file)
    write_all([(path, new_text, spec.file)], root=project_dir)
    click.echo(safe(f"\n{spec.file}: the spec moved to torch {upgrade.torch}"), err=True)
    return render_command(project_dir, spec_file, check=False, show_diff=False, env=env, lock=lock)


def _spec_path(project_dir: Path, spec_file: Path | None) -> Path:
    return spec_file if spec_file is not None else project_dir / "uvtorch.toml"
