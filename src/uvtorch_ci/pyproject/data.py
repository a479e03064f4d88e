"""Pure and light: reading a pyproject.toml's data with tomllib, for the planner and verify.

The merge engine (merge.py and its passes) needs tomlkit; what only reads lives here, so
`verify` and the planner never load it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from ..errors import (
    HUGE_NUMBER_MESSAGE,
    NESTING_MESSAGE,
    PyprojectError,
    toml_deepest_line,
    toml_error_place,
    toml_huge_number_line,
)

FAMILY = ("torch", "torchvision", "torchaudio")
BOM = "\ufeff"  # a UTF-8 byte order mark, as decoded
PYTORCH_INDEX_URL = re.compile(r"/whl/(?:nightly/|test/)?(?:cpu|cu[0-9]+|rocm[0-9.]+|xpu)/?$")
PYTORCH_ROOT_URL = re.compile(r"^https?://download\.pytorch\.org/whl/?$")


def parse_toml(text: str, file: str) -> dict[str, Any]:
    """tomllib.loads with the error turned into a PyprojectError naming the line: a syntax
    error, or nesting too deep to read (tomllib recurses, and gives up at about a thousand
    levels). A UTF-8 byte order mark at the start is skipped, as uv skips it."""
    text = text.removeprefix(BOM)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message, where = toml_error_place(error, text)
        raise PyprojectError(f"not valid TOML: {message}", file=file, where=where) from None
    except RecursionError:
        raise nesting_error(text, file) from None
    except ValueError:  # int() refused a number of thousands of digits
        raise PyprojectError(
            f"not valid TOML here: {HUGE_NUMBER_MESSAGE}",
            file=file,
            where=f"line {toml_huge_number_line(text)}",
        ) from None


def nesting_error(text: str, file: str) -> PyprojectError:
    """The error for TOML nested deeper than a parser reads, at its deepest line."""
    return PyprojectError(
        f"not valid TOML here: {NESTING_MESSAGE}",
        file=file,
        where=f"line {toml_deepest_line(text)}",
        hint="nest fewer levels",
    )


def is_pytorch_index(url: str, base: str) -> bool:
    """True for an index URL of the PyTorch layout (<base>/<backend>) or under `base`, and
    for the root of the PyTorch indexes itself (download.pytorch.org/whl, or `base`)."""
    url = url.rstrip("/")
    base = base.rstrip("/")
    return (
        url == base
        or url.startswith(base + "/")
        or bool(PYTORCH_INDEX_URL.search(url) or PYTORCH_ROOT_URL.match(url))
    )


def requires_python(data: Mapping[str, Any]) -> str | None:
    project = data.get("project")
    value = project.get("requires-python") if isinstance(project, dict) else None
    return value if isinstance(value, str) else None


def source_entries(value: Any) -> list[Any]:
    """A [tool.uv.sources] value as a list of entries: one table, or an array of them."""
    return list(value) if isinstance(value, list) else [value]
