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


def yaml_scalar(value: object) -> str:
    """A YAML flow value: JSON is a subset of YAML, and every string comes out double-quoted."""
    return json.dumps(value, ensure_ascii=False)


@cache
def template(name: str, variable_start: str = "{{", variable_end: str = "}}") -> jinja2.Template:
    """A template of templates/, with the `toml` and `yaml` quoting filters.

    The workflow template changes the variable delimiters, since GitHub's own `${{ }}`
    expressions fill it.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        variable_start_string=variable_start,
        variable_end_string=variable_end,
    )
    env.filters["toml"] = toml_string
    env.filters["yaml"] = yaml_scalar
    return env.get_template(name)


def render_blocks(plan: Plan) -> str:
    """The TOML document of every pyproject.toml entry the tool owns."""
    return template("pyproject-blocks.toml.j2").render(plan=plan)
