"""Pure: find the table headers of a TOML text by line, so tables can be cut and added in place.

tomlkit attaches the comments above a table header to the table before it, so removing or
adding whole tables through it moves other people's comments around. The structural edits
are done on lines instead, with this scanner telling headers from values. It assumes the
text already parsed as TOML.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Header:
    """One `[table]` or `[[array.of.tables]]` header and the lines that belong to it."""

    path: tuple[str, ...]
    is_array: bool
    first: int  # first line of the comment block directly above the header (or the header)
    line: int  # the header line itself
    body_end: int  # one past the last non-blank, non-comment line of the table


def _header_path(line: str) -> tuple[tuple[str, ...], bool]:
    data: Any = tomllib.loads(line)
    path: list[str] = []
    is_array = False
    while isinstance(data, dict) and data:
        key = next(iter(data))
        path.append(key)
        data = data[key]
        if isinstance(data, list):
            is_array = True
            data = data[-1]
    return tuple(path), is_array


def scan(lines: list[str]) -> list[Header]:
    """Headers of `lines` (as from str.splitlines(keepends=True)), in file order."""
    starts: list[int] = []
    state = _State()
    for number, line in enumerate(lines):
        if state.at_top() and line.lstrip().startswith("["):
            starts.append(number)
            continue
        state.feed(line)
    headers: list[Header] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(lines)
        body_end = start + 1
        for number in range(start + 1, end):
            if not _is_trivia(lines[number]):
                body_end = number + 1
        first = start
        while first - 1 >= 0 and lines[first - 1].lstrip().startswith("#"):
            if i > 0 and first - 1 < headers[-1].body_end:
                break
            first -= 1
        path, is_array = _header_path(lines[start])
        headers.append(Header(path, is_array, first, start, body_end))
    return headers


def _is_trivia(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


class _State:
    """Tracks multi-line strings and open brackets across lines."""

    def __init__(self) -> None:
        self.depth = 0
        self.string: str | None = None  # the closing delimiter of an open multi-line string

    def at_top(self) -> bool:
        return self.depth == 0 and self.string is None

    def feed(self, line: str) -> None:
        i = 0
        n = len(line)
        while i < n:
            if self.string is not None:
                close = line.find(self.string, i)
                while close != -1 and self.string == '"""' and _escaped(line, close):
                    close = line.find(self.string, close + 1)
                if close == -1:
                    return
                i = close + 3
                while i < n and line[i] == self.string[0]:
                    i += 1  # up to two quotes may end the string's content
                self.string = None
                continue
            char = line[i]
            if char == "#":
                return
            if line.startswith('"""', i) or line.startswith("'''", i):
                self.string = line[i : i + 3]
                i += 3
                continue
            if char == '"':
                i = _skip_basic(line, i + 1)
                continue
            if char == "'":
                close = line.find("'", i + 1)
                i = n if close == -1 else close + 1
                continue
            if char in "[{":
                self.depth += 1
            elif char in "]}":
                self.depth -= 1
            i += 1


def _escaped(line: str, index: int) -> bool:
    backslashes = 0
    while index - 1 - backslashes >= 0 and line[index - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _skip_basic(line: str, i: int) -> int:
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == '"':
            return i + 1
        i += 1
    return i


def key_texts(body: list[str]) -> dict[str, str]:
    """Split a table body written one key per top-level line into key -> its lines.

    Used on the rendered blocks only, whose layout the templates fix: a key starts at
    column 0; its value's continuation lines are indented or close a bracket.
    """
    texts: dict[str, str] = {}
    key = ""
    for line in body:
        if line[:1].strip() and line[:1] not in "]}#":
            key = tomllib.loads(line.split("=", 1)[0] + "= 0\n").popitem()[0]
            texts[key] = ""
        if (key and not _is_trivia(line)) or (key and line.strip()):
            texts[key] += line
    return texts


def key_spans(lines: list[str], start: int, end: int) -> dict[str, tuple[int, int]]:
    """The line range of each top-level key in lines[start:end] (a table's body)."""
    spans: dict[str, tuple[int, int]] = {}
    state = _State()
    current: str | None = None
    for number in range(start, end):
        line = lines[number]
        if state.at_top():
            current = None
            if not _is_trivia(line):
                current = next(iter(tomllib.loads(line.split("=", 1)[0] + "= 0\n")))
                spans[current] = (number, number + 1)
        elif current is not None:
            spans[current] = (spans[current][0], number + 1)
        state.feed(line)
    return spans
