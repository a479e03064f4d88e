"""`detect`: this machine's backend, for the torch release of the project it runs in (the
spec's), else for the one --torch names, else for the newest in the release table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import click

from ..errors import EXIT_OK
from .terminal import safe, safe_json
from .workspace import read_project


def spec_torch(project_dir: Path, env: Mapping[str, str]) -> tuple[str, str] | None:
    """The torch release the project's spec plans, and the file that says so; None when
    the folder holds no pyproject.toml, or one without a spec (a project before `init`)."""
    from ..project import plan_project, spec_data
    from ..pyproject.data import parse_toml
    from ..releases.table import load_table

    if not (project_dir / "pyproject.toml").is_file():
        return None
    texts = read_project(project_dir, None, locate=False)
    pyproject = parse_toml(texts.pyproject, texts.pyproject_label)
    tool = pyproject.get("tool")
    if texts.spec is None and not (isinstance(tool, dict) and "uvtorch" in tool):
        return None
    _, file, _ = spec_data(pyproject, texts.pyproject_label, texts.spec, texts.spec_label, False)
    plan = plan_project(texts, env=env, table=load_table())
    return plan.builds[0].torch.partition("+")[0], file


def detect_command(
    project_dir: Path, torch: str | None, *, as_json: bool, env: Mapping[str, str]
) -> int:
    from ..detect.choice import detect
    from ..detect.report import detection_json, format_report

    if torch is None:
        found = spec_torch(project_dir, env)
        if found is not None:
            torch, file = found
            click.echo(safe(f"uvtorch-ci detect: for torch {torch}, the spec's ({file})"), err=True)
    detection = detect(env, torch=torch)
    click.echo(  # the report quotes what the machine's files say: escaped
        safe_json(json.dumps(detection_json(detection), indent=2))
        if as_json
        else safe(format_report(detection))
    )
    return EXIT_OK
