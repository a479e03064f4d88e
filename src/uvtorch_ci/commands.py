"""The render, verify and explain commands' disk and terminal side: read the project, call the
pure core, write or report. (init_command.py is init's; uv_runner.py runs `uv lock`.)"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .errors import EXIT_OK, EXIT_PROBLEM, PyprojectError, UvtorchError
from .fastcheck import cache_dir
from .files import Output, read_text, write_all
from .paths import display_path
from .project import ProjectTexts, Rendered, render_project
from .releases import load_table
from .uv_runner import find_uv, lock_and_verify

if TYPE_CHECKING:
    from .verify import Verdicts


def read_project(project_dir: Path, spec_file: Path | None) -> ProjectTexts:
    """pyproject.toml and the spec file (when there is one); errors when either is missing."""
    pyproject_path = project_dir / "pyproject.toml"
    pyproject_label = display_path(pyproject_path)
    text = read_text(pyproject_path, pyproject_label)
    if text is None:
        raise PyprojectError(
            "not found", file=pyproject_label, hint="run in a project, or pass --project DIR"
        )
    explicit = spec_file is not None
    spec_path = spec_file if spec_file is not None else project_dir / "uvtorch.toml"
    spec_label = display_path(spec_path)
    spec_text = read_text(spec_path, spec_label)
    if spec_text is None and explicit:
        raise PyprojectError(
            "not found",
            file=spec_label,
            hint="--spec names a uvtorch.toml; without it [tool.uvtorch] in pyproject.toml is used",
        )
    return ProjectTexts(text, pyproject_label, spec_text, spec_label, explicit)


def load_and_render(
    project_dir: Path, spec_file: Path | None, env: Mapping[str, str], *, strict: bool = True
) -> tuple[Rendered, list[Output]]:
    """Read the project, render everything, and pair each output with what is on disk."""
    from .render import keep_compiled_templates

    texts = read_project(project_dir, spec_file)
    cache = cache_dir(env)
    keep_compiled_templates(os.path.join(cache, "templates") if cache is not None else None)
    rendered = render_project(
        texts,
        env=env,
        table=load_table(),
        smoke_source=smoke_source(),
        check_environments=strict,
    )
    outputs = [pyproject_output(project_dir, texts, rendered.pyproject.text)]
    return rendered, outputs + ci_outputs(project_dir, rendered)


def ci_outputs(project_dir: Path, rendered: Rendered) -> list[Output]:
    """The generated CI files, each paired with what is on disk now."""
    outputs = []
    for relative, new in rendered.ci_files.items():
        path = project_dir / relative
        label = display_path(path)
        outputs.append(Output(path, label, read_text(path, label), new))
    return outputs


def echo_builds(rendered: Rendered, indent: str = "") -> None:
    """What each target gets and from where, then what was taken over (on stderr)."""
    for build in rendered.plan.builds:
        packages = ", ".join(f"{name} {version}" for name, version in build.versions.items())
        click.echo(f"{indent}{build.target.name}: {packages} from {build.index.url}", err=True)
    for note in rendered.pyproject.notes:
        click.echo(f"  {note}", err=True)


def pyproject_output(project_dir: Path, texts: ProjectTexts, new: str) -> Output:
    return Output(project_dir / "pyproject.toml", texts.pyproject_label, texts.pyproject, new)


def smoke_source() -> str:
    """The standalone smoke check's own source, as shipped in the package."""
    return (Path(__file__).parent / "smoke.py").read_text(encoding="utf-8")


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
    from .fingerprint import hand_edit

    uv = find_uv(env) if lock and not check else None
    rendered, outputs = load_and_render(project_dir, spec_file, env)
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
                f"error: {output.label}: {reason}; nothing was written.\n"
                "  hint: to keep the edit, make it in the spec or in a workflow file of your "
                "own (set `workflow` in the spec to another path), then render again; "
                "`uvtorch-ci render --force` overwrites it",
                err=True,
            )
        return EXIT_PROBLEM
    if show_diff:
        for output in changed:
            click.echo(output.diff(), nl=False)
    echo_builds(rendered)
    if not check:  # all or nothing: a write that fails leaves every file as it was
        write_all([(o.path, o.new, o.label) for o in outputs if o.changed])
    for output in outputs:
        if not output.changed:
            state = "up to date"
        elif check:
            state = "would change"
        else:
            state = "updated" if output.old is not None else "created"
        click.echo(f"{output.label}: {state}", err=True)
    if check and changed:
        return EXIT_PROBLEM
    from .fastcheck import remember

    remember(project_dir, spec_file, env, list(rendered.ci_files))  # all current now
    if uv is not None:
        return lock_and_verify(uv, project_dir, spec_file, env)
    return EXIT_OK


# verify and explain


def verify_project(project_dir: Path, spec_file: Path | None, env: Mapping[str, str]) -> Verdicts:
    """Plan, read uv.lock and check it; LockError (exit 2) when uv.lock is missing or
    unreadable. The lock is compared with pyproject.toml as it is on disk; a pyproject.toml
    the spec would render differently is a note. When the fast check's record says a render
    with these very inputs changed nothing, the plan alone is enough: no rendering."""
    from .errors import LockError
    from .fastcheck import up_to_date
    from .project import plan_project
    from .verify import verify

    if up_to_date(project_dir, spec_file, env):
        texts = read_project(project_dir, spec_file)
        plan = plan_project(texts, env=env, table=load_table())
        pyproject = pyproject_output(project_dir, texts, texts.pyproject)
    else:
        rendered, outputs = load_and_render(project_dir, spec_file, env, strict=False)
        plan, pyproject = rendered.plan, outputs[0]
    lock_path = project_dir / "uv.lock"
    lock_label = display_path(lock_path)
    hint = "run `uv lock` in the project to create it, then verify again"
    try:
        lock_text = read_text(lock_path, lock_label)
    except UvtorchError as error:
        raise LockError(error.message, file=lock_label, where=error.where, hint=hint) from None
    if lock_text is None:
        raise LockError("not found", file=lock_label, hint=hint)
    verdicts = verify(
        plan,
        lock_text,
        pyproject.old or "",
        lock_file=lock_label,
        pyproject_file=pyproject.label,
    )
    if pyproject.changed:
        verdicts = verdicts.with_notes(
            f"{pyproject.label} is not what the spec renders: "
            "run `uvtorch-ci render`, then `uv lock`"
        )
    return verdicts


def verify_command(project_dir: Path, spec_file: Path | None, *, env: Mapping[str, str]) -> int:
    """Print the per-target table; exit 1 when a target gets the wrong build or uv.lock is
    stale."""
    from .verify_report import format_report

    verdicts = verify_project(project_dir, spec_file, env)
    click.echo(format_report(verdicts), nl=False)
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

    from .verify_report import as_json as verdicts_json
    from .verify_report import format_report

    verdicts = verify_project(project_dir, spec_file, env)
    if as_json:
        click.echo(json.dumps(verdicts_json(verdicts), indent=2))
    else:
        click.echo(format_report(verdicts, sizes=True), nl=False)
    return EXIT_OK


def _annotations(verdicts: Verdicts) -> list[str]:
    """GitHub Actions error annotations, one per problem (the job log shows them on top)."""
    file = f" file={verdicts.lock_file}"
    if verdicts.stale:
        return [f"::error{file}::uv.lock is stale: {reason}" for reason in verdicts.stale]
    return [
        f"::error{file}::{target.name} (Python {target.python}): {problem}"
        for target in verdicts.targets
        for problem in (
            *target.problems,
            *(f"{p.package}: {text}" for p in target.packages for text in p.problems),
        )
    ]
