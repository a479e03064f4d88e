"""Pure: the spec reader's helpers: typed access to a spec table's keys, and errors that name
the file and the key (with its prefix, tool.uvtorch in pyproject.toml) and suggest a fix."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import SpecError, did_you_mean


class Reader:
    """Validation context: the file and key prefix every message names."""

    def __init__(self, file: str, prefix: str) -> None:
        self.file = file
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, where: str, message: str, hint: str = "") -> SpecError:
        return SpecError(message, file=self.file, where=self.key(where), hint=hint)

    def check_keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for name in table:
            if name not in allowed:
                quoted = json.dumps(name, ensure_ascii=False)  # a TOML basic string too
                key = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else quoted
                place = f"{where}.{key}" if where else key
                raise self.fail(
                    place,
                    f"unknown key {quoted}{did_you_mean(name, allowed)}",
                    f"valid keys: {', '.join(allowed)}",
                )

    def string(self, table: Mapping[str, Any], name: str, where: str) -> str | None:
        value = table.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(where, f"must be a string, not {kind(value)}")
        return value

    def strings(self, table: Mapping[str, Any], name: str, where: str) -> tuple[str, ...] | None:
        value = table.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(where, f"must be a string or a list of strings, not {kind(value)}")
        return tuple(value)


def quoted(text: str) -> str:
    """A value in double quotes for a message, a newline or a control character in it
    escaped ("cu124\\n"), so that a message line is never split by a value."""
    return json.dumps(text, ensure_ascii=False)


def kind(value: object) -> str:
    """A TOML value's type in words, for messages ("a string", "a table" ...)."""
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
