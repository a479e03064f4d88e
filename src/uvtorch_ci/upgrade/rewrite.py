"""The spec's text with the upgrade's values written in: `torch`, each moved target's `backend`
and, when the spec names its Pythons, `python`. tomlkit edits the values in place, so every
other byte (comments, order, quoting of the rest, line endings) stays as it was."""

from __future__ import annotations

from typing import Any

import tomlkit
from tomlkit.items import Array, String

from ..pyproject.data import BOM
from ..pyproject.merge import tomlkit_refusal
from .moves import Upgrade


def rewrite_spec(text: str, prefix: str, upgrade: Upgrade, file: str) -> str:
    """`text` (pyproject.toml, or a standalone uvtorch.toml when `prefix` is "") with the
    spec's values moved to `upgrade`'s; PyprojectError (exit 2) for a file tomlkit cannot
    edit (`file` names it)."""
    bom = BOM if text.startswith(BOM) else ""  # uv reads past it, tomlkit not; it stays
    try:
        document = tomlkit.parse(text.removeprefix(bom))
    except tomlkit.exceptions.ParseError as error:
        raise tomlkit_refusal(error, file) from None
    table: Any = document
    for part in prefix.split(".") if prefix else ():
        table = table[part]
    if table["torch"] != upgrade.torch:
        _set_string(table, "torch", upgrade.torch)
    for move in upgrade.moves:
        if move.changed:
            _set_string(table["targets"][move.index], "backend", move.new)
    if upgrade.python_written and upgrade.python_old != upgrade.python_new:
        _set_python(table, upgrade.python_new)
    result: str = document.as_string()
    return bom + result


def _set_string(table: Any, key: str, value: str) -> None:
    """Write a string in the quoting the user chose for the old value ('...' stays '...'),
    whatever tomlkit's release does by default when a value is replaced."""
    old = table[key]
    literal = isinstance(old, String) and old.as_string().startswith("'")
    table[key] = tomlkit.string(value, literal=literal)


def _set_python(table: Any, python: tuple[str, ...]) -> None:
    current = table["python"]
    if isinstance(current, Array) and set(python) <= set(current):
        # only Pythons dropped: remove them from the array itself, keeping its layout
        for i in reversed(range(len(current))):
            if current[i] not in python:
                del current[i]
        return
    table["python"] = list(python)
