"""The commands' disk and terminal side: read the project, call the pure core, write or report."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import click

from .errors import EXIT_OK, EXIT_PROBLEM, PyprojectError
from .files import Output, read_text, write_atomic
from .project import Rendered, render_project
from .releases import load_table


def _label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_and_render(
    project_dir: Path, spec_file: Path | None, env: Mapping[str, str]
) -> tuple[Rendered, list[Output]]:
    """Read the project, render everything, and pair each output with what is on disk."""
    pyproject_path = project_dir / "pyproject.toml"
    pyproject_label = _label(pyproject_path)
    text = read_text(pyproject_path, pyproject_label)
    if text is None:
        raise PyprojectError(
            "not found", file=pyproject_label, hint="run in a project, or pass --project DIR"
        )
    explicit = spec_file is not None
    spec_path = spec_file if spec_file is not None else project_dir / "uvtorch.toml"
    spec_label = _label(spec_path)
    spec_text = read_text(spec_path, spec_label)
    if spec_text is None and explicit:
        raise PyprojectError("not found", file=spec_label)
    rendered = render_project(
        text,
        pyproject_label,
        spec_text=spec_text,
        spec_label=spec_label,
        spec_explicit=explicit,
        env=env,
        table=load_table(),
        smoke_source=smoke_source(),
    )
    outputs = [Output(pyproject_path, pyproject_label, text, rendered.pyproject.text)]
    for relative, new in rendered.ci_files.items():
        path = project_dir / relative
        label = _label(path)
        outputs.append(Output(path, label, read_text(path, label), new))
    return rendered, outputs


def smoke_source() -> str:
    """The standalone smoke check's own source, as shipped in the package."""
    return resources.files("uvtorch_ci").joinpath("smoke.py").read_text(encoding="utf-8")


def render_command(
    project_dir: Path,
    spec_file: Path | None,
    *,
    check: bool,
    show_diff: bool,
    env: Mapping[str, str],
) -> int:
    rendered, outputs = load_and_render(project_dir, spec_file, env)
    changed = [output for output in outputs if output.changed]
    if show_diff:
        for output in changed:
            click.echo(output.diff(), nl=False)
    for build in rendered.plan.builds:
        packages = ", ".join(f"{name} {version}" for name, version in build.versions.items())
        click.echo(f"{build.target.name}: {packages} from {build.index.url}", err=True)
    for note in rendered.pyproject.notes:
        click.echo(f"  {note}", err=True)
    for output in outputs:
        if not output.changed:
            click.echo(f"{output.label}: up to date", err=True)
        elif check:
            click.echo(f"{output.label}: would change", err=True)
        else:
            write_atomic(output.path, output.new, output.label)
            click.echo(
                f"{output.label}: {'updated' if output.old is not None else 'created'}", err=True
            )
    if check and changed:
        return EXIT_PROBLEM
    return EXIT_OK
