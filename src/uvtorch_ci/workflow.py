"""Pure: plan -> the GitHub Actions matrix and workflow text, through templates/workflow.yml.j2."""

from __future__ import annotations

import json
from functools import cache
from pathlib import PurePath
from typing import Any

import jinja2

from .plan import Plan
from .render import templates_dir

# Pinned by commit, the version in the comment (setup-uv has no moving major tags since v8).
CHECKOUT = "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0"
SETUP_UV = "astral-sh/setup-uv@20cfd1bf945f4377ade1205e4dbc17946fc9a30d # v10.0.1"
UV_VERSION = "0.13.9"
SMOKE_PATH = ".github/uvtorch/smoke.py"


def matrix(plan: Plan) -> list[dict[str, Any]]:
    """One entry per target x Python: what `uvtorch-ci matrix` prints and the workflow holds."""
    entries = []
    for job in plan.jobs:
        target = job.build.target
        entries.append(
            {
                "name": f"{target.platform} {target.backend} py{job.python} ({target.name})",
                "target": target.name,
                "platform": target.platform,
                "backend": target.backend,
                "python": job.python,
                "runs-on": target.runs_on,
                "gpu": target.gpu,
                "sync-args": " ".join(job.sync_args),
                "torch": plan.spec.exact_torch or "",
            }
        )
    return entries


def yaml_scalar(value: object) -> str:
    """A YAML flow value: JSON is a subset of YAML, and every string comes out double-quoted."""
    return json.dumps(value, ensure_ascii=False)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        variable_start_string="{=",
        variable_end_string="=}",
    )
    env.filters["yaml"] = yaml_scalar
    return env


def render_workflow(plan: Plan) -> str:
    spec = plan.spec
    return (
        _environment()
        .get_template("workflow.yml.j2")
        .render(
            # named as in the project, whatever directory render ran from
            spec_file=(
                f"[{spec.prefix}] in pyproject.toml" if spec.prefix else PurePath(spec.file).name
            ),
            checkout=CHECKOUT,
            setup_uv=SETUP_UV,
            uv_version=UV_VERSION,
            matrix=matrix(plan),
            action=spec.action,
            ci_tool=spec.ci_tool,
            smoke_path=SMOKE_PATH,
        )
    )
