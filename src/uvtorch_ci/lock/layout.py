"""Pure: uv.lock read by its canonical layout, fast. uv writes every lock the same way: a header,
then one `[[package]]` table per package with each key on a line of its own, and every
dependency and every file an inline table on a line of its own. Read that way, a package's name,
version, source and dependencies cost a regular expression a line, and its wheels and sdist (the
bulk of a lock: URLs and hashes) are kept as lines, read only if someone asks for them.

Whatever this module does not recognise, a multi-line string, a key out of place, a line not in
uv's form, it gives up on (None) and reader.py reads it all with tomllib instead, which takes
any shape and refuses what uv would not write. tests/test_lock.py checks that both ways read
every lock the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PACKAGE = "[[package]]"
_STRING = r'"([^"\\\n]*)"'
_NAME = re.compile(_STRING)
_SOURCE = re.compile(r"\{ (registry|url|git|path|editable|directory|virtual) = " + _STRING + r" \}")
_DEPENDENCY = re.compile(
    r"    \{ name = " + _STRING + r"(?:, version = " + _STRING + r")?"
    r"(?:, source = \{ (registry|url|git|path|editable|directory|virtual) = " + _STRING + r" \})?"
    r"(?:, extra = \[((?:\"[^\"\\\n]*\"(?:, )?)*)\])?"
    r"(?:, marker = " + _STRING + r")? \},?"
)
_SUBTABLE = re.compile(r"\[package\.(optional-dependencies|dev-dependencies)\]")
_KEY = re.compile(r"([A-Za-z0-9_-]+|" + _STRING + r") = \[\]?")
_EXTRA = re.compile(_STRING)

# name, version, (source kind, value), extras, marker: one line of a `dependencies` array
ScannedDependency = tuple[str, str | None, tuple[str, str] | None, tuple[str, ...], str | None]


@dataclass(frozen=True)
class Scanned:
    """One [[package]] table read by layout: everything but its files, which stay as lines."""

    name: str
    version: str
    source: tuple[str, str] | None
    dependencies: tuple[ScannedDependency, ...]
    optional: dict[str, tuple[ScannedDependency, ...]] = field(hash=False)
    groups: dict[str, tuple[ScannedDependency, ...]] = field(hash=False)
    files: tuple[str, ...]  # the sdist line and the wheels array, as uv.lock holds them


def split(text: str) -> tuple[str, list[str]] | None:
    """The header (before the first [[package]]) and each package table's text; None when the
    text may hold a `[[package]]` that is not a table header (a multi-line string)."""
    if '"""' in text or "'''" in text or "\r" in text:
        return None
    if text.startswith(PACKAGE + "\n"):
        text = "\n" + text
    header, *blocks = text.split(f"\n{PACKAGE}\n")
    return header, blocks


def scan(block: str) -> Scanned | None:
    """A package table in uv's layout; None when it is not (reader.py then reads it with
    tomllib): its metadata (the project's own tables), or any line out of the ordinary."""
    files = []
    for key, end in (("\nsdist = ", "\n"), ("\nwheels = [\n", "\n]\n")):
        start = block.find(key)  # cut out unread: the bulk of a lock
        if start != -1:
            stop = block.find(end, start + len(key) - 1)
            if stop == -1:
                return None
            files.append(block[start + 1 : stop + len(end) - 1])
            block = block[:start] + block[stop + len(end) - 1 :]
    lines = block.split("\n")
    values: dict[str, str] = {}
    arrays: dict[str, list[str]] = {}
    subtables: dict[str, dict[str, list[str]]] = {}
    current: list[str] | None = None  # the array whose lines are being read
    table: dict[str, list[str]] | None = None  # the subtable being read
    for line in lines:
        if current is not None:
            if line == "]":
                current = None
            else:
                current.append(line)
            continue
        if not line:
            continue
        if line[0] == "[":
            found = _SUBTABLE.fullmatch(line)
            if found is None:
                return None  # [package.metadata] and the like: the project's own table
            table = subtables.setdefault(found.group(1), {})
            continue
        key, equals, value = line.partition(" = ")
        if not equals:
            return None
        if table is not None:
            name = _KEY.fullmatch(line)
            if name is None:
                return None
            current = table.setdefault(name.group(2) or name.group(1), [])
            if value == "[]":
                current = None
            elif value != "[":
                return None
        elif key in ("dependencies", "resolution-markers"):
            if value == "[]":
                arrays[key] = []
            elif value == "[":
                current = arrays.setdefault(key, [])
            else:
                return None
        elif key in ("name", "version", "source") and key not in values:
            values[key] = value
        else:
            return None
    if current is not None:
        return None
    name = _NAME.fullmatch(values.get("name", ""))
    version = _NAME.fullmatch(values.get("version", '""'))
    source = _SOURCE.fullmatch(values["source"]) if "source" in values else None
    if name is None or version is None or ("source" in values and source is None):
        return None
    dependencies = _dependencies(arrays.get("dependencies", []))
    optional = {k: _dependencies(v) for k, v in subtables.get("optional-dependencies", {}).items()}
    groups = {k: _dependencies(v) for k, v in subtables.get("dev-dependencies", {}).items()}
    if dependencies is None or None in optional.values() or None in groups.values():
        return None
    return Scanned(
        name.group(1),
        version.group(1),
        (source.group(1), source.group(2)) if source else None,
        dependencies,
        {k: v for k, v in optional.items() if v is not None},
        {k: v for k, v in groups.items() if v is not None},
        tuple(files),
    )


def _dependencies(lines: list[str]) -> tuple[ScannedDependency, ...] | None:
    out = []
    for line in lines:
        found = _DEPENDENCY.fullmatch(line)
        if found is None:
            return None
        name, version, kind, value, extras, marker = found.groups()
        out.append(
            (
                name,
                version,
                (kind, value) if kind else None,
                tuple(_EXTRA.findall(extras)) if extras else (),
                marker,
            )
        )
    return tuple(out)
