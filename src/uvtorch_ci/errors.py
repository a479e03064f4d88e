"""One exception family: each error knows its exit code, its place and what would be valid."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tomllib

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_BAD_INPUT = 2


class UvtorchError(Exception):
    """Base of every error the tool reports to a user instead of a traceback."""

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self, message: str, *, file: str | None = None, where: str | None = None, hint: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        place = ": ".join(part for part in (self.file, self.where) if part)
        message = _bounded(self.message)
        text = f"{place}: {message}" if place else message
        return f"{text}\n  hint: {_bounded(self.hint)}" if self.hint else text


MAX_MESSAGE = 2000  # characters: a message quoting a huge value shows its start, not 3 MB


def _bounded(text: str) -> str:
    if len(text) <= MAX_MESSAGE:
        return text
    return f"{text[:MAX_MESSAGE]}... ({len(text) - MAX_MESSAGE} more characters left out)"


def shown(value: object) -> str:
    """`value` as a message quotes it: its repr, with long strings and containers cut short
    (a value of a million elements is named by its first few)."""
    import reprlib

    short = reprlib.Repr()
    short.maxstring = short.maxother = 80
    short.maxlist = short.maxdict = short.maxtuple = 6
    return short.repr(value)


class SpecError(UvtorchError):
    """The spec is missing, malformed, or asks for something the release table rules out."""


class PyprojectError(UvtorchError):
    """pyproject.toml is not valid TOML or holds something the tool cannot take over."""


class LockError(UvtorchError):
    """uv.lock is missing or unreadable."""


class WriteError(UvtorchError):
    """A file could not be written (permissions, a missing directory)."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean "x"?)' suffix when `word` is close to one of `choices`, else ''."""
    import difflib

    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{matches[0]}"?)' if matches else ""


def one_of(choices: Iterable[str]) -> str:
    """Render the valid choices for a message: 'one of: a, b, c'."""
    return "one of: " + ", ".join(choices)


def toml_error_place(error: tomllib.TOMLDecodeError, text: str) -> tuple[str, str]:
    """tomllib's message without its place, and the place as "line L, column C"."""
    import re

    message = str(error)
    match = re.match(r"(.*) \(at (line \d+, column \d+)\)$", message, re.DOTALL)
    if match:
        return match.group(1), match.group(2)
    match = re.match(r"(.*) \(at end of document\)$", message, re.DOTALL)
    if match:
        line = text.count("\n") + 1
        column = len(text) - text.rfind("\n")
        return match.group(1), f"line {line}, column {column}"
    return message, "line 1"


NESTING_MESSAGE = "arrays or inline tables nested too deeply to read"
HUGE_NUMBER_MESSAGE = "a number of more digits than Python converts (4300)"


def toml_huge_number_line(text: str) -> int:
    """The line of the first run of digits too long for int() (tomllib raises a plain
    ValueError for it, without a place)."""
    import re

    found = re.search(r"[0-9_]{4300,}", text)
    return text.count("\n", 0, found.start()) + 1 if found else 1


def toml_deepest_line(text: str) -> int:
    """The line where TOML text nests its arrays and inline tables deepest (outside strings
    and comments): where to point when a parser gave up on the depth (tomllib's
    RecursionError names no place)."""
    depth = deepest = 0
    line = deepest_line = 1
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char == "\n":
            line += 1
        elif char == "#":
            i = text.find("\n", i)
            if i < 0:
                break
            continue
        elif char in "\"'":
            quote = char * 3 if text.startswith(char * 3, i) else char
            j = i + len(quote)
            while j < end and not text.startswith(quote, j):
                if char == '"' and text[j] == "\\":
                    j += 1
                elif text[j] == "\n" and len(quote) == 1:
                    break
                j += 1
            line += text.count("\n", i, j)
            i = j + len(quote)
            continue
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, deepest_line = depth, line
        elif char in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return deepest_line
