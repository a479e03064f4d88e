"""The project on disk: read its pyproject.toml and spec, render them through the pure core, and
pair each output with what is on disk now. render, init and verify all start here."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import click

from ..errors import PyprojectError
from ..plan.planner import Plan
from ..project import ProjectTexts, Rendered, render_project
from ..releases.table import accepted_tags, load_table
from ..resources import smoke_source
from .fastcheck import cache_dir
from .files import Output, read_text
from .paths import display_path
from .repository import git_location
from .terminal import safe
from .toolsource import tool_requirement


def read_project(project_dir: Path, spec_file: Path | None, *, locate: bool = True) -> ProjectTexts:
    """pyproject.toml and the spec file (when there is one); errors when either is missing.
    With `locate`, also where the project sits in its git repository (a `git` run), which
    only the generated CI files need: planning alone does without it."""
    pyproject_path = project_dir / "pyproject.toml"
    pyproject_label = display_path(pyproject_path)
    text = read_text(pyproject_path, pyproject_label, root=project_dir)
    if text is None:
        raise PyprojectError(
            "not found", file=pyproject_label, hint="run in a project, or pass --project DIR"
        )
    explicit = spec_file is not None
    spec_path = spec_file if spec_file is not None else project_dir / "uvtorch.toml"
    spec_label = display_path(spec_path)
    spec_text = read_text(spec_path, spec_label, root=project_dir)
    if spec_text is None and explicit:
        raise PyprojectError(
            "not found",
            file=spec_label,
            hint="--spec names a uvtorch.toml; without it [tool.uvtorch] in pyproject.toml is used",
        )
    location, parents, in_git = git_location(project_dir, os.environ) if locate else ("", (), False)
    return ProjectTexts(
        text,
        pyproject_label,
        spec_text,
        spec_label,
        explicit,
        location=location,
        parents=parents,
        in_git=in_git,
    )


def load_and_render(
    project_dir: Path,
    spec_file: Path | None,
    env: Mapping[str, str],
    *,
    strict: bool = True,
    texts: ProjectTexts | None = None,
) -> tuple[Rendered, list[Output]]:
    """Read the project (unless `texts` holds it, as read already), render everything, and
    pair each output with what is on disk."""
    from ..templating import keep_compiled_templates

    texts = texts or read_project(project_dir, spec_file)
    cache = cache_dir(env)
    keep_compiled_templates(os.path.join(cache, "templates") if cache is not None else None)
    rendered = render_project(
        texts,
        env=env,
        table=load_table(),
        smoke_source=smoke_source(),
        check_environments=strict,
        check_owned=strict,
        tool=tool_requirement(),
    )
    outputs = [pyproject_output(project_dir, texts, rendered.pyproject.text)]
    return rendered, outputs + ci_outputs(project_dir, rendered)


def tree_root(project_dir: Path, rendered: Rendered) -> Path:
    """The folder the path policy keeps reads and writes in: the repository's root, where
    the workflow goes (the project itself when it sits at the root, or outside git)."""
    depth = len(rendered.location.split("/")) if rendered.location else 0
    return project_dir.joinpath(*[".."] * depth)


def ci_outputs(project_dir: Path, rendered: Rendered) -> list[Output]:
    """The generated CI files, each paired with what is on disk now."""
    root = tree_root(project_dir, rendered)
    outputs = []
    for relative, new in rendered.ci_files.items():
        path = project_dir / relative
        label = display_path(path)
        outputs.append(Output(path, label, read_text(path, label, root=root), new))
    return outputs


def hand_edited(outputs: Iterable[Output]) -> list[tuple[Output, str]]:
    """The generated files among `outputs` that would change but are not the tool's to
    overwrite (edited by hand since, or never generated), each with the reason."""
    from ..github.fingerprint import hand_edit

    return [
        (output, reason)
        for output in outputs
        if output.changed
        and output.old is not None
        and (reason := hand_edit(output.old)) is not None
    ]


def echo_builds(rendered: Rendered, indent: str = "") -> None:
    """What each target gets and from where, then what was taken over (on stderr)."""
    for build in rendered.plan.builds:
        packages = ", ".join(
            f"{name} {version.partition('+')[0]}" for name, version in build.versions.items()
        )
        tags = accepted_tags(build.target.backend)
        line = f"{indent}{build.target.name}: {packages} (local tag {tags}) from {build.index.url}"
        if build.from_pypi:
            line = (
                f"{indent}{build.target.name}: {packages}, PyPI's build ({build.check_backend} "
                "there), from the default index"
            )
        elif build.elsewhere:
            line += "; " + ", ".join(
                f"{name} {version or '(unpinned)'}" for name, version in build.elsewhere.items()
            )
            line += " from PyPI"
        click.echo(safe(line), err=True)
    for note in rendered.plan.notes:  # what the index does not publish, and what it gets then
        click.echo(safe(f"{indent}  note: {note}"), err=True)
    for note in rendered.pyproject.notes:  # they quote the user's names and URLs
        click.echo(safe(f"  {note}"), err=True)


def pyproject_output(project_dir: Path, texts: ProjectTexts, new: str) -> Output:
    return Output(project_dir / "pyproject.toml", texts.pyproject_label, texts.pyproject, new)


def sync_commands(plan: Plan, *, locked: bool = False) -> list[str]:
    """What to run after render, for the spec's mode: in markers mode a plain `uv sync`
    installs each platform's build; with extras or groups a bare one installs none (or the
    default group's), so each target's selecting arguments are named, with `uvtorch-ci sync`,
    which picks this machine's."""
    first = "" if locked else "uv lock, then "
    if plan.mode == "markers":
        return [f"next: {first}uv sync (the platform markers pick each target's build)"]
    by_args: dict[str, list[str]] = {}
    for job in plan.jobs:
        names = by_args.setdefault(" ".join(("uv", "sync", *job.sync_args)), [])
        if job.build.target.name not in names:
            names.append(job.build.target.name)
    default = plan.default_groups[0] if plan.default_groups else None
    bare = f"the {default} group's" if default else "no torch"
    rows = [
        ("uvtorch-ci sync", "the build this machine runs"),
        *((command, ", ".join(names)) for command, names in by_args.items()),
    ]
    width = max(len(command) for command, _ in rows)
    return [
        f"next: {first}install one target's build (a bare `uv sync` installs {bare}):",
        *(f"  {command:<{width}}  {what}" for command, what in rows),
    ]
