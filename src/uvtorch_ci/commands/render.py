"""`render`: write the torch entries, the workflow and the smoke copy, or with --check and
--diff say what would change. Hand-edited generated files are not overwritten without --force."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from ..errors import EXIT_OK, EXIT_PROBLEM
from .files import remove_leftovers, write_all
from .terminal import safe
from .uv import find_uv
from .verify import lock_and_verify
from .workspace import echo_builds, load_and_render, read_project


def render_command(
    project_dir: Path,
    spec_file: Path | None,
    *,
    check: bool,
    show_diff: bool,
    env: Mapping[str, str],
    force: bool = False,
    lock: bool = False,
) -> int:
    """Render; with `lock`, then run `uv lock` and verify the result."""
    from ..github.fingerprint import hand_edit

    uv = find_uv(env) if lock and not check else None
    texts = read_project(project_dir, spec_file)
    rendered, outputs = load_and_render(project_dir, spec_file, env, texts=texts)
    changed = [output for output in outputs if output.changed]
    edited = [
        (output, reason)
        for output in outputs[1:]  # the CI files; pyproject.toml is merged, never overwritten
        if output.changed
        and output.old is not None
        and (reason := hand_edit(output.old)) is not None
    ]
    if edited and not force:
        for output, reason in edited:
            click.echo(
                safe(f"error: {output.label}: {reason}; nothing was written.")
                + "\n  hint: to keep the edit, make it in the spec or in a workflow file of your "
                "own (set `workflow` in the spec to another path), then render again; "
                "`uvtorch-ci render --force` overwrites it",
                err=True,
            )
        return EXIT_PROBLEM
    if show_diff:
        for output in changed:
            click.echo(safe(output.diff()), nl=False)
    echo_builds(rendered)
    if not check:  # all or nothing: a write that fails leaves every file as it was
        remove_leftovers([o.path for o in outputs], root=project_dir)
        write_all([(o.path, o.new, o.label) for o in outputs if o.changed], root=project_dir)
    for output in outputs:
        if not output.changed:
            state = "up to date"
        elif check:
            state = "would change"
        else:
            state = "updated" if output.old is not None else "created"
        click.echo(safe(f"{output.label}: {state}"), err=True)
    if check and changed:
        return EXIT_PROBLEM
    from .fastcheck import remember

    left = [output.new if output.changed else output.old or "" for output in outputs]
    remember(  # all current now: what this render read and left
        project_dir,
        spec_file,
        env,
        pyproject=left[0],
        spec=texts.spec,
        generated=dict(zip(rendered.ci_files, left[1:], strict=True)),
    )
    if uv is not None:
        return lock_and_verify(uv, project_dir, spec_file, env)
    return EXIT_OK
