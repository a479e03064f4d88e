"""Pure: values -> text, through the Jinja2 templates in templates/ (one environment for all).

The pyproject blocks (pyproject/blocks.py) and the workflow (github/workflow.py) render here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from functools import cache

import jinja2

from .resources import templates_folder

# `{= =}` around values in every template: GitHub's own `${{ }}` fills the workflow, and one
# set of delimiters means one Jinja2 environment (one lexer to build) for all of them.
VARIABLE_START, VARIABLE_END = "{=", "=}"


def toml_string(value: object) -> str:
    """A TOML basic string: JSON's escaping is a valid subset of TOML's for text."""
    return json.dumps(str(value), ensure_ascii=False)


def yaml_scalar(value: object) -> str:
    """A YAML flow value: JSON is a subset of YAML, and every string comes out double-quoted.

    A character YAML does not allow in a stream (C1 controls such as U+0080, U+FFFE, lone
    surrogates; JSON lets them through raw) is written as a \\u escape, which YAML's double
    quotes read back as the same character."""
    return _NOT_YAML_PRINTABLE.sub(
        lambda match: f"\\u{ord(match.group()):04x}", json.dumps(value, ensure_ascii=False)
    )


# what YAML 1.2 allows in a stream (c-printable), negated; tab, LF and CR cannot occur here
# (JSON escapes them)
_NOT_YAML_PRINTABLE = re.compile(
    "[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja2's compiled-template cache on disk; one that cannot be written only costs speed."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):  # e.g. the folder is a file: compile anew
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)


@cache
def environment(bytecode_dir: str | None = None) -> jinja2.Environment:
    """The templates of templates/, with the `toml` and `yaml` quoting filters.

    With `bytecode_dir`, compiled templates are kept there, keyed by each template's source
    (Jinja2's own FileSystemBytecodeCache): a later process skips lexing and compiling.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_folder()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        variable_start_string=VARIABLE_START,
        variable_end_string=VARIABLE_END,
        bytecode_cache=_QuietBytecodeCache(bytecode_dir) if bytecode_dir else None,
        auto_reload=False,
    )
    env.filters["toml"] = toml_string
    env.filters["yaml"] = yaml_scalar
    return env


_bytecode_dir: str | None = None


def keep_compiled_templates(folder: str | None) -> None:
    """Where later renders in this process keep compiled templates (None: nowhere). The
    disk side chooses it (the user's cache folder); the core itself never touches disk."""
    global _bytecode_dir
    _bytecode_dir = folder


def template(name: str) -> jinja2.Template:
    return environment(_bytecode_dir).get_template(name)
