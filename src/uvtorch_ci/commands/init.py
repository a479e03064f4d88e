"""`init`'s disk and terminal side: refuse what no answer can fix, ask for what the flags leave
out, render everything in memory, then write it all at once (and lock and verify with --lock)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import click
from packaging.utils import canonicalize_name

from ..errors import EXIT_OK, SpecError, UvtorchError
from ..init import answers as init_answers
from ..init import compare as init_compare
from ..init import infer as init_infer
from ..init import project as init_project
from ..project import ProjectTexts, render_project
from ..pyproject.data import parse_toml, requires_python
from ..releases.table import load_table
from ..resources import smoke_source
from ..spec.reader import quoted
from ..spec.values import is_project_name
from .adopt import prove, read_project_lock
from .files import Output, read_text, write_all, write_atomic
from .init_defaults import default_lines
from .paths import display_path
from .repository import git_location
from .terminal import safe
from .toolsource import tool_requirement
from .uv import find_uv
from .verify import lock_and_verify
from .workspace import ci_outputs, echo_builds, tree_root
from .writelock import writes_project


@writes_project()
def init_command(
    directory: Path,
    *,
    torch: str | None,
    targets: tuple[str, ...],
    packages: tuple[str, ...],
    python: tuple[str, ...],
    name: str | None,
    lock: bool,
    interactive: bool,
    env: Mapping[str, str],
) -> int:
    """Bootstrap `directory`: a new virtual project holding the spec, or the spec appended to
    an existing pyproject.toml; then render, and with `lock` run `uv lock` and verify.

    Flags left out are asked for when `interactive`, else take their defaults. Everything is
    validated and rendered in memory first: on exit 2 nothing on disk has changed. `uv lock`
    failing, or the lock failing verification, is exit 1 (the files are written by then).
    All of it holds the project's writer lock (writelock.py).
    """

    def ask(question: str, default: str, check: Callable[[str], object]) -> str:
        def value_proc(text: str) -> str:
            try:
                check(text)
            except ValueError as error:
                raise click.BadParameter(str(error)) from None
            return text

        return str(click.prompt(question, default=default, value_proc=value_proc, err=True))

    table = load_table()
    pyproject_path = directory / "pyproject.toml"
    label = display_path(pyproject_path)
    standalone = directory / "uvtorch.toml"
    if standalone.is_file():
        raise init_project.existing_spec(display_path(standalone), "uvtorch.toml")
    # Refuse what no answer can fix before asking anything.
    old = read_text(pyproject_path, label, root=directory)
    existing = parse_toml(old, label) if old is not None else None
    if existing is not None:
        if init_project.has_spec(existing):
            raise init_project.existing_spec(label, "[tool.uvtorch]")
        if name is not None:
            raise SpecError(
                f"{label} already names the project", where="--name", hint="leave --name out"
            )
    project_lock = read_project_lock(directory, existing) if existing is not None else None
    inferred = (
        init_infer.infer(
            existing,
            old or "",
            label,
            table,
            torch,
            project_lock.view if project_lock is not None else None,
        )
        if existing is not None
        else None
    )
    if project_lock is not None and project_lock.note:
        click.echo(safe(f"note: {project_lock.note}"), err=True)
    if inferred is not None and inferred.notes:
        click.echo(  # the notes quote the project's names and URLs
            safe(
                f"{label}: inferred from the project's torch setup"
                + (f" and {project_lock.label}" if project_lock and project_lock.view else "")
                + ":\n"
                + "".join(f"  {note}\n" for note in inferred.notes)
            ),
            err=True,
            nl=False,
        )
    if inferred is not None and inferred.warnings:
        click.echo(
            safe("".join(f"warning: {warning}\n" for warning in inferred.warnings)),
            err=True,
            nl=False,
        )
    answers = init_answers.gather_answers(
        torch=torch,
        targets=targets,
        packages=packages,
        python=python,
        table=table,
        ask=ask if interactive else None,
        requires_python=requires_python(existing) if existing is not None else None,
        inferred=inferred,
    )
    if old is None:
        if name is not None and not is_project_name(name):
            raise SpecError(
                f"{quoted(name)} is not a project name uv accepts",
                where="--name",
                hint="letters, digits, '.', '_' and '-', starting and ending with a letter "
                "or digit (PEP 508), e.g. --name my-project",
            )
        name = name or init_project.project_name(directory.resolve().name)
        if canonicalize_name(name) in (canonicalize_name(p) for p in ("torch", *answers.packages)):
            raise SpecError(
                f'the project cannot be named "{name}": it depends on a package of that name',
                where="--name",
                hint="pass --name with another name",
            )
        new = init_project.new_pyproject(name, answers, table)
    else:
        new = init_project.append_spec(old, answers, file=label)
    try:
        rendered = render_project(
            ProjectTexts(new, label, None, None, False, *git_location(directory, env)),
            env=env,
            table=table,
            smoke_source=smoke_source(),
            check_environments=True,  # init never writes what its own render refuses
            check_owned=True,
            tool=tool_requirement(),
        )
    except SpecError as error:
        raise init_answers.flag_error(error, answers) from None
    outputs = [Output(pyproject_path, label, old, rendered.pyproject.text)]
    for output in ci_outputs(directory, rendered):
        if output.old is not None and output.changed:
            raise UvtorchError(
                "already exists, and init does not overwrite it",
                file=output.label,
                hint="move it away and run init again, or add the spec by hand and run "
                "`uvtorch-ci render`",
            )
        outputs.append(output)
    uv = find_uv(env) if lock else None
    if answers.defaults:
        click.echo(
            safe(
                "defaults taken (no terminal to ask; the flags choose otherwise):\n"
                + "".join(f"  {line}\n" for line in default_lines(answers, rendered.plan, table))
            ),
            err=True,
            nl=False,
        )
    if project_lock is not None and project_lock.view is not None and old is not None:
        proof = prove(rendered.plan, project_lock, old, label)
        click.echo(safe("\n".join(proof.lines)), err=True)
        if interactive and not click.confirm("Write the spec and render?", default=True, err=True):
            click.echo("nothing written", err=True)
            return EXIT_OK
    before = (
        _lock_as_it_was(uv, directory, old, env)
        if uv is not None and old is not None and inferred is not None and inferred.has_torch
        else None
    )

    write_all(
        [(o.path, o.new, o.label) for o in outputs if o.changed],
        root=tree_root(directory, rendered),
    )
    for output in outputs:
        if output.changed:
            done = "spec added, rendered" if output.old is not None else "created"
            click.echo(safe(f"{output.label}: {done}"), err=True)
    echo_builds(rendered, indent="  ")

    code = EXIT_OK
    if uv is not None:
        code = lock_and_verify(uv, directory, None, env)
        after = read_text(directory / "uv.lock", display_path(directory / "uv.lock"))
        if before is not None and after is not None and code == EXIT_OK:
            rows = init_compare.compare_locks(rendered.plan, before, after)
            click.echo(  # the lines name indexes and versions from the locks
                safe(
                    "builds before and after init:\n"
                    + "".join(f"  {line}\n" for line in init_compare.comparison_lines(rows))
                ),
                err=True,
                nl=False,
            )
    here = directory.resolve() == Path.cwd().resolve()
    steps = init_project.next_steps(
        rendered.plan, cd=None if here else display_path(directory), locked=uv is not None
    )
    click.echo(safe("next:\n" + "".join(f"  {step}\n" for step in steps)), err=True, nl=False)
    return code


def _lock_as_it_was(uv: str, directory: Path, old: str, env: Mapping[str, str]) -> str | None:
    """`uv lock` on a copy of the project as it was (its pyproject.toml, and its uv.lock when
    there is one) in a temporary folder: the lock to compare init's with. None, with a note,
    when the old project does not lock there."""
    import subprocess
    import tempfile

    lock_path = directory / "uv.lock"
    old_lock = read_text(lock_path, display_path(lock_path), root=directory)
    with tempfile.TemporaryDirectory(prefix="uvtorch-before-") as folder:
        copy = Path(folder)
        write_atomic(copy / "pyproject.toml", old, "pyproject.toml (a copy, before init)")
        if old_lock is not None:
            write_atomic(copy / "uv.lock", old_lock, "uv.lock (a copy, before init)")
        click.echo("running: uv lock (on a copy of the project as it was)", err=True)
        try:
            result = subprocess.run(
                [uv, "lock"], cwd=copy, env=dict(env), capture_output=True, text=True, check=False
            )
            last = result.stderr.strip().splitlines()[-1:] or [""]
            reason = f"uv lock exit {result.returncode}: {last[0]}" if result.returncode else ""
        except OSError as error:
            reason = f"uv lock could not run: {error}"
        if reason:
            click.echo(  # the reason quotes uv's last line
                safe(
                    f"note: the project as it was does not lock ({reason}), so there are no "
                    "builds to compare with"
                ),
                err=True,
            )
            return None
        return read_text(copy / "uv.lock", "uv.lock (before init)")
