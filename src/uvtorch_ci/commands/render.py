"""`render`: write the torch entries, the workflow and the smoke copy, or with --check and
--diff say what would change. Hand-edited generated files are not overwritten without --force.
Files an earlier shape had it write (the smoke copy before action mode, a workflow under its
old name) are removed when they are still as generated, and named when edited by hand. An
`action` not pinned to a commit is refused, or only warned about with --allow-unpinned (and
under --check, which writes nothing)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import click

from ..errors import EXIT_OK, EXIT_PROBLEM, SpecError, UvtorchError
from ..project import Rendered
from .files import read_text, remove_files, remove_leftovers, write_all
from .paths import display_path
from .terminal import safe
from .uv import find_uv
from .verify import lock_and_verify
from .workspace import (
    echo_builds,
    hand_edited,
    load_and_render,
    read_project,
    sync_commands,
    tree_root,
)
from .writelock import project_lock


def render_command(
    project_dir: Path,
    spec_file: Path | None,
    *,
    check: bool,
    show_diff: bool,
    env: Mapping[str, str],
    force: bool = False,
    lock: bool = False,
    allow_unpinned: bool = False,
) -> int:
    """Render; with `lock`, then run `uv lock` and verify the result. Writing holds the
    project's writer lock (writelock.py), from reading the project to the last write."""
    uv = find_uv(env) if lock and not check else None
    with project_lock(project_dir, display_path(project_dir)) if not check else nullcontext():
        code, record = _render(
            project_dir, spec_file, check, show_diff, env, force, allow_unpinned, uv is not None
        )
    if record is not None:  # the cache's record, outside the lock: it checks the disk itself
        record()
    if uv is not None and code == EXIT_OK:
        return lock_and_verify(uv, project_dir, spec_file, env)
    return code


def _render(
    project_dir: Path,
    spec_file: Path | None,
    check: bool,
    show_diff: bool,
    env: Mapping[str, str],
    force: bool,
    allow_unpinned: bool,
    locking: bool,
) -> tuple[int, Callable[[], None] | None]:
    """The exit code, and when everything is current the record to leave for the fast
    check (fastcheck.remember, bound to what this render read and left); `locking`: uv lock
    runs next."""
    from ..plan.gpus import gpu_warnings
    from ..releases.table import load_table
    from ..spec.parse import unpinned_action

    texts = read_project(project_dir, spec_file)
    rendered, outputs = load_and_render(project_dir, spec_file, env, texts=texts)
    root = tree_root(project_dir, rendered)
    unpinned = unpinned_action(rendered.plan.spec)
    if unpinned is not None:
        spec = rendered.plan.spec
        if not (allow_unpinned or check):
            raise SpecError(
                unpinned,
                file=spec.file,
                where=spec.key("action"),
                hint="pin it to the 40-hex commit of a release (OWNER/REPO@<sha>), "
                "or pass --allow-unpinned to accept the risk",
            )
        click.echo(safe(f"warning: {spec.key('action')}: {unpinned}"), err=True)
    for warning in gpu_warnings(rendered.plan.builds, load_table()):
        click.echo(safe(f"warning: {rendered.plan.spec.file}: {warning}"), err=True)
    retired, kept = leftovers(project_dir, rendered, root)
    changed = [output for output in outputs if output.changed]
    edited = hand_edited(outputs[1:])  # the CI files; pyproject.toml is merged, never overwritten
    if edited and not force:
        for output, reason in edited:
            click.echo(
                safe(f"error: {output.label}: {reason}; nothing was written.")
                + "\n  hint: to keep the edit, make it in the spec or in a workflow file of your "
                "own (set `workflow` in the spec to another path), then render again; "
                "`uvtorch-ci render --force` overwrites it",
                err=True,
            )
        return EXIT_PROBLEM, None
    if show_diff:
        for output in changed:
            click.echo(safe(output.diff()), nl=False)
    echo_builds(rendered)
    if not check:  # all or nothing: a write that fails leaves every file as it was
        remove_leftovers([o.path for o in outputs], root=root)
        write_all([(o.path, o.new, o.label) for o in outputs if o.changed], root=root)
        remove_files(retired, root=root)
    for _, label in retired:
        state = "would be removed" if check else "removed"
        click.echo(safe(f"{label}: {state} (this spec no longer uses it)"), err=True)
    for label in kept:
        click.echo(
            safe(
                f"warning: {label}: generated for an earlier spec and edited since; this spec "
                "no longer uses it: remove it unless something else does"
            ),
            err=True,
        )
    for output in outputs:
        if not output.changed:
            state = "up to date"
        elif check:
            state = "would change"
        else:
            state = "updated" if output.old is not None else "created"
        click.echo(safe(f"{output.label}: {state}"), err=True)
    if check and (changed or retired):
        return EXIT_PROBLEM, None
    from .fastcheck import remember

    left = [output.new if output.changed else output.old or "" for output in outputs]
    record = partial(
        remember,  # all current now: what this render read and left
        project_dir,
        spec_file,
        env,
        pyproject=left[0],
        spec=texts.spec,
        generated=dict(zip(rendered.ci_files, left[1:], strict=True)),
    )
    if not check:
        for line in sync_commands(rendered.plan, locked=locking):
            click.echo(safe(line), err=True)
    return EXIT_OK, record


def leftovers(
    project_dir: Path, rendered: Rendered, root: Path
) -> tuple[list[tuple[Path, str]], list[str]]:
    """Generated files this spec no longer uses: those still as generated (to remove, as
    (path, label)), and the labels of those edited since (to name). Candidates are the
    retired paths (the smoke copy in action mode) and workflows in .github/workflows/ whose
    header names this project's spec, under a name other than the current one."""
    from ..github.fingerprint import hand_edit

    current = {(project_dir / relative).resolve() for relative in rendered.ci_files}
    candidates = [project_dir / relative for relative in rendered.retired]
    folder = project_dir / rendered.workflows_dir
    if folder.is_dir():
        candidates += sorted(
            path
            for path in folder.iterdir()
            if path.suffix in (".yml", ".yaml") and path.resolve() not in current
        )
    retired, kept = [], []
    for path in candidates:
        label = display_path(path)
        try:
            text = read_text(path, label, root=root)
        except UvtorchError:  # unreadable: not ours to judge
            continue
        if text is None or not text.startswith(rendered.stamp_line):
            continue
        if hand_edit(text) is None:
            retired.append((path, label))
        else:
            kept.append(label)
    return retired, kept
