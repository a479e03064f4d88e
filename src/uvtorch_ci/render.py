"""Pure: plan -> text, through the Jinja2 templates in templates/."""

from __future__ import annotations

import json
from functools import cache

import jinja2

from .fingerprint import templates_dir
from .plan import Plan


def toml_string(value: object) -> str:
    """A TOML basic string: JSON's escaping is a valid subset of TOML's for text."""
    return json.dumps(str(value), ensure_ascii=False)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["toml"] = toml_string
    return env


def render_blocks(plan: Plan) -> str:
    """The TOML document of every pyproject.toml entry the tool owns."""
    return environment().get_template("pyproject-blocks.toml.j2").render(plan=plan)
