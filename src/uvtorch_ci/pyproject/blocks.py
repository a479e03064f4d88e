"""Pure: plan -> the TOML document of every pyproject.toml entry the tool owns."""

from __future__ import annotations

from ..plan.planner import Plan
from ..templating import template


def render_blocks(plan: Plan) -> str:
    """The tool's entries (dependencies, indexes, sources, extras, conflicts) as one TOML text,
    through templates/pyproject-blocks.toml.j2; merge.py then fits them into the user's file."""
    return template("pyproject-blocks.toml.j2").render(plan=plan)
