"""Pure: the merge's line pass: keys and whole tables added and cut on lines, as tomlkit cannot
without moving other people's comments (it attaches the comments above a header to the table
before it; see tomltext.py). Also the rendered blocks cut into the texts that get inserted, and
the arrays of tables hidden from the tomlkit pass, which would regroup them."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import PyprojectError
from .tomltext import Header, key_spans, key_texts, scan

PROJECT = ("project",)
EXTRAS = ("project", "optional-dependencies")
GROUPS = ("dependency-groups",)
UV = ("tool", "uv")
SOURCES = ("tool", "uv", "sources")
INDEX = ("tool", "uv", "index")


@dataclass(frozen=True)
class Pieces:
    """The rendered blocks cut into the texts that get inserted: key lines and tables."""

    keys: dict[tuple[str, ...], dict[str, str]]  # table path -> key -> its lines
    indexes: dict[str, str]  # index name -> its [[tool.uv.index]] table

    def table(self, path: tuple[str, ...], keys: list[str]) -> str:
        header = "[" + ".".join(path) + "]\n"
        return header + "".join(self.keys[path][key] for key in keys)


def cut(blocks_text: str, blocks: Mapping[str, Any]) -> Pieces:
    """The rendered blocks' key lines, by table, and their index tables, by index name."""
    lines = blocks_text.splitlines(keepends=True)
    headers = scan(lines)
    keys = {h.path: key_texts(lines[h.line + 1 : h.body_end]) for h in headers if not h.is_array}
    index_headers = [h for h in headers if h.path == INDEX]
    names = [index["name"] for index in blocks["tool"]["uv"]["index"]]
    indexes = {
        name: "".join(lines[h.line : h.body_end])
        for name, h in zip(names, index_headers, strict=True)
    }
    return Pieces(keys, indexes)


def edit_lines(
    text: str,
    data: Mapping[str, Any],
    pieces: Pieces,
    *,
    existing: list[dict[str, Any]],
    removals: list[int],
    replaced: dict[int, str],
    missing: Mapping[tuple[str, ...], list[str]],
    deleted: list[str],
    file: str,
    indexes_inline: bool = False,
    placed: tuple[str, ...] = (),
) -> str:
    """`text` (the file after the tomlkit pass) with the line edits made: the `existing`
    [[tool.uv.index]] tables at the positions in `removals` cut and those in `replaced`
    rewritten (keeping the comment lines in them; the tool's indexes in `placed` are written
    so), the tool's new indexes added, the `deleted` [tool.uv] keys cut, and the
    `missing` keys of each table added (the table made where it reads best when missing).
    With `indexes_inline`, the indexes are an inline array the tomlkit pass has edited."""

    def fail(where: str, message: str, hint: str = "") -> PyprojectError:
        return PyprojectError(message, file=file, where=where, hint=hint)

    lines = text.splitlines(keepends=True)
    headers = scan(lines)
    index_headers = [h for h in headers if h.path == INDEX and h.is_array]
    if existing and len(index_headers) != len(existing):
        raise fail(
            "[tool.uv].index",
            "is written as an inline array; uvtorch-ci edits [[tool.uv.index]] tables",
            "write each index as its own [[tool.uv.index]] table",
        )
    edits: list[tuple[int, int, str]] = []  # replace lines[start:end] with text
    for position, table in replaced.items():
        header = index_headers[position]
        old = lines[header.line : header.body_end]
        edits.append((header.line, header.body_end, _with_comments(table, old)))
    for position in removals:
        header = index_headers[position]
        end = header.body_end
        before_blank = header.first == 0 or _blank(lines[header.first - 1])
        if before_blank and end < len(lines) and _blank(lines[end]):
            end += 1
        edits.append((header.first, end, ""))

    if deleted:
        uv_header = _find(headers, UV)
        if uv_header is None:
            raise fail("[tool.uv]", "is written inline; uvtorch-ci edits a [tool.uv] table")
        spans = key_spans(lines, uv_header.line + 1, uv_header.body_end)
        for key in deleted:
            edits.append((*spans[key], ""))

    # New keys go at the end of their table; a missing table is made where it reads best.
    after: dict[int, list[str]] = {}  # line -> new tables inserted there
    project = _find(headers, PROJECT)
    if project is None:
        raise fail(
            "[project]",
            "is written inline; uvtorch-ci edits a [project] table",
            "write it as a [project] table",
        )
    first_uv = next((h.first for h in headers if h.path[:2] == UV), len(lines))
    for path in (PROJECT, EXTRAS, GROUPS, UV, SOURCES):
        keys = missing.get(path)
        if not keys:
            continue
        found = _find(headers, path)
        if found is not None:
            text_of_keys = "".join(pieces.keys[path][key] for key in keys)
            edits.append((found.body_end, found.body_end, text_of_keys))
        elif path == EXTRAS and not _dotted(data, EXTRAS, headers):
            after.setdefault(project.body_end, []).append(pieces.table(path, keys))
        elif path == GROUPS or (path == UV and not _uv_has_dotted_keys(data)):
            after.setdefault(first_uv, []).append(pieces.table(path, keys))
        elif path == SOURCES and not _dotted(data, SOURCES, headers):
            uv_header = _find(headers, UV)
            anchor = uv_header.body_end if uv_header is not None else first_uv
            after.setdefault(anchor, []).append(pieces.table(path, keys))
        else:
            raise fail(
                "[" + ".".join(path) + "]",
                "is written with dotted keys, where uvtorch-ci cannot add to it",
                f"write it as a [{'.'.join(path)}] table",
            )

    placed_names = {index.get("name") for index in existing} | set(placed)
    new_indexes = [t for name, t in pieces.indexes.items() if name not in placed_names]
    if indexes_inline:
        new_indexes = []
    kept = [h for i, h in enumerate(index_headers) if i not in removals]
    if new_indexes and kept:
        edits.append((kept[-1].body_end, kept[-1].body_end, "\n" + "\n".join(new_indexes)))
    elif new_indexes:
        sources = _find(headers, SOURCES)
        if sources is not None:
            edits.append((sources.body_end, sources.body_end, "\n" + "\n".join(new_indexes)))
        else:
            anchor = next(
                (a for a, ts in after.items() if any("[tool.uv.sources]" in t for t in ts)),
                len(lines),
            )
            after.setdefault(anchor, []).extend(new_indexes)

    for anchor, tables in after.items():
        starts_table = anchor < len(lines) and anchor == next(
            (h.first for h in headers if h.first == anchor), None
        )
        if starts_table:
            edits.append((anchor, anchor, "\n".join(tables) + "\n"))
        else:
            edits.append((anchor, anchor, "\n" + "\n".join(tables)))

    # Bottom up, so line numbers stay valid; edits at one line land in the order made.
    order = sorted(range(len(edits)), key=lambda i: (edits[i][0], edits[i][1], i))
    for start, end, new in (edits[i] for i in reversed(order)):
        if new and start > 0 and not lines[start - 1].endswith("\n"):
            new = "\n" + new
        lines[start:end] = [new] if new else []
    return "".join(lines)


def _with_comments(table: str, old: list[str]) -> str:
    """The new table text with what the user wrote in the `old` table it replaces: each
    comment line above the key it stood above (when the new table has that key; the others
    at its end), and a key line whose value stays, as it was (its trailing comment with it)."""
    above: dict[str, list[str]] = {}
    kept: dict[str, str] = {}
    pending: list[str] = []
    for line in old[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(line)
        elif "=" in stripped:
            key = _key_of(line)
            above.setdefault(key, []).extend(pending)
            kept[key] = line
            pending = []
    new = table.splitlines(keepends=True)
    out = new[:1]
    for line in new[1:]:
        key = _key_of(line) if "=" in line else ""
        out += above.pop(key, [])
        old_line = kept.get(key)
        same = old_line is not None and _value_of(old_line) == _value_of(line)
        if same and old_line is not None:
            line = (
                old_line if old_line.endswith("\n") or not line.endswith("\n") else old_line + "\n"
            )
        out.append(line)
    rest = [c for comments in above.values() for c in comments] + pending
    if rest and out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    return "".join(out + rest)


def _key_of(line: str) -> str:
    return line.split("=", 1)[0].strip().strip("\"'")


def _value_of(line: str) -> object:
    """The value of a `key = value` line, as TOML reads it (None when it does not parse)."""
    try:
        return tomllib.loads("x =" + line.split("=", 1)[1]).get("x")
    except tomllib.TOMLDecodeError:
        return None


def _dotted(data: Mapping[str, Any], path: tuple[str, ...], headers: list[Header]) -> bool:
    """The table at `path` has no header but keys that no header under it makes: they are
    dotted keys in another table, and a [table] header of its own may not follow."""
    table: Any = data
    for part in path:
        table = table.get(part) if isinstance(table, dict) else None
    if not isinstance(table, dict) or _find(headers, path) is not None:
        return False
    made = {h.path[len(path)] for h in headers if h.path[: len(path)] == path and h.path != path}
    return any(key not in made for key in table)


def _uv_has_dotted_keys(data: Mapping[str, Any]) -> bool:
    """[tool.uv] keys written as `uv.key = ...` under [tool]: no [tool.uv] header can follow."""
    uv = data.get("tool", {}).get("uv", {})
    return any(not isinstance(v, dict | list) for v in uv.values())


def hide_arrays_of_tables(text: str) -> tuple[str, dict[str, str]]:
    """`text` with each [[array.of.tables]] the tomlkit pass does not edit (all but those
    under [project] and [tool.uv.sources]) swapped for a placeholder comment line, and the
    placeholders with the lines they stand for.

    tomlkit regroups the tables of an array split by another table of the same parent
    ([[tool.uv.index]], [tool.uv.sources], [[tool.uv.index]]) when it writes a document
    back, which would move the user's lines; those tables are edited on lines anyway.
    """
    lines = text.splitlines(keepends=True)
    headers = scan(lines)
    token = "#uvtorch-ci-hidden-"
    while token in text:
        token += "-"
    hidden: dict[str, str] = {}
    arrays: list[tuple[str, ...]] = []
    out: list[str] = lines[: headers[0].line] if headers else lines
    for i, header in enumerate(headers):
        end = headers[i + 1].line if i + 1 < len(headers) else len(lines)
        section = lines[header.line : end]
        edited = header.path[:1] == PROJECT or header.path[:3] == SOURCES
        if header.is_array and not edited:
            arrays.append(header.path)
        child = any(header.path[: len(a)] == a for a in arrays)
        if not child:
            out += section
            continue
        if hidden and out and out[-1] in hidden:  # one placeholder for adjacent sections
            hidden[out[-1]] += "".join(section)
            continue
        last = section[-1]
        newline = last[len(last.rstrip("\r\n")) :]
        placeholder = f"{token}{len(hidden)}{newline}"
        hidden[placeholder] = "".join(section)
        out.append(placeholder)
    return "".join(out), hidden


def unhide(text: str, hidden: Mapping[str, str]) -> str | None:
    """`text` with the hidden lines back in place; None when a placeholder went missing."""
    for placeholder, section in hidden.items():
        if text.count(placeholder) != 1:
            return None
        text = text.replace(placeholder, section)
    return text


def _blank(line: str) -> bool:
    return not line.strip()


def _find(headers: list[Header], path: tuple[str, ...]) -> Header | None:
    for header in headers:
        if header.path == path and not header.is_array:
            return header
    return None
