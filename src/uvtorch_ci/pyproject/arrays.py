"""Pure: a multi-line TOML array edited as text, so that what the user wrote around its
elements keeps its form: the comment lines above an element go with it, comments after the
last element stay at the end, and kept elements keep their own lines byte for byte.

Takes an array's text (tomlkit's `as_string()` of the value, one element or more per line
block); gives its elements with their comments, and the new array text built from kept
elements and new ones.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .tomltext import _State


@dataclass(frozen=True)
class Element:
    """One element of the array: its lines (up to and with its comma and inline comment),
    the comment and blank lines directly above it, and its value."""

    lines: tuple[str, ...]
    comments: tuple[str, ...]
    value: Any


@dataclass(frozen=True)
class Layout:
    """An array split into its opening line, elements, trailing comments and closing line."""

    opening: str
    elements: tuple[Element, ...]
    trailing: tuple[str, ...]
    closing: str
    indent: str  # the indent of the first element

    def text(self, elements: list[tuple[tuple[str, ...], str]]) -> str:
        """The array with `elements` (the lines above, then the element's text), in the order
        given, each ending with a comma."""
        body: list[str] = []
        for comments, text in elements:
            lines = text.rstrip("\n").split("\n")
            code, hash_, comment = _split_comment(lines[-1])
            if not code.rstrip().endswith(","):
                lines[-1] = code.rstrip() + "," + (f"  #{comment}" if hash_ else "")
            body += [*comments, *(line + "\n" for line in lines)]
        return self.opening + "".join(body) + "".join(self.trailing) + self.closing


def split_array(text: str) -> Layout | None:
    """The layout of a multi-line array whose `[` ends its first line and whose `]` starts its
    last; None for any other shape (a one-line array is rewritten whole)."""
    lines = text.splitlines(keepends=True)
    if len(lines) < 2 or _split_comment(lines[0])[0].strip() != "[":
        return None
    if not lines[-1].lstrip().startswith("]"):
        return None
    elements: list[Element] = []
    pending: list[str] = []
    current: list[str] = []
    state = _State()
    indent = ""
    for line in lines[1:-1]:
        if not current:
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                pending.append(line)
                continue
            indent = indent or line[: len(line) - len(line.lstrip())]
        current.append(line)
        state.feed(line)
        if state.at_top():
            value = _value("".join(current))
            if value is None:
                return None
            elements.append(Element(tuple(current), tuple(pending), value))
            current, pending = [], []
    if current:
        return None
    return Layout(lines[0], tuple(elements), tuple(pending), lines[-1], indent or "  ")


def _value(text: str) -> Any:
    try:
        values = tomllib.loads(f"x = [\n{text}\n]")["x"]
    except tomllib.TOMLDecodeError:
        return None
    return values[0] if len(values) == 1 else None


def _split_comment(line: str) -> tuple[str, str, str]:
    """A line's code, "#" and comment (a "#" outside strings); (line, "", "") without one."""
    for i, char in enumerate(line):
        if char == "#" and _comment_at(line, i):
            return line[:i].rstrip(), "#", line[i + 1 :]
    return line, "", ""


def _comment_at(line: str, index: int) -> bool:
    """Whether the "#" at `index` is outside every string on the line."""
    quote: str | None = None
    i = 0
    while i < index:
        char = line[i]
        if quote is None and char in "\"'":
            quote = char
        elif quote == '"' and char == "\\":
            i += 1
        elif char == quote:
            quote = None
        i += 1
    return quote is None


def renew(
    old_text: str,
    new_text: str,
    *,
    same: Callable[[Any, Any], bool],
    keep: Callable[[Any], bool],
    near: Callable[[Any, Any], bool] = lambda old, new: False,
) -> str | None:
    """The old array's text with the new array's elements: the old elements `keep` accepts
    stay first, as they were; then each new element, in its order, under the comment lines
    and with the inline comment of the first unused old element `same` pairs it with, or
    else `near` (in the old array's indent). Old elements neither kept nor paired go, with
    their comments; the comments after the last element stay. None when either array has
    another shape."""
    old = split_array(old_text)
    new = split_array(new_text)
    if old is None or new is None:
        return None
    kept = [e for e in old.elements if keep(e.value)]
    free = [e for e in old.elements if not keep(e.value)]
    out: list[tuple[tuple[str, ...], str]] = [(e.comments, "".join(e.lines)) for e in kept]
    pairs: dict[int, Element] = {}
    for test in (same, near):
        for i, element in enumerate(new.elements):
            if i in pairs:
                continue
            pair = next((e for e in free if test(e.value, element.value)), None)
            if pair is not None:
                free.remove(pair)
                pairs[i] = pair
    for i, element in enumerate(new.elements):
        pair = pairs.get(i)
        lines = [_reindent(line, new.indent, old.indent) for line in element.lines]
        comments: tuple[str, ...] = ()
        if pair is not None:
            comments = pair.comments
            _, hash_, comment = _split_comment(pair.lines[-1].rstrip("\n"))
            if hash_ and len(lines) == 1:
                code = lines[0].rstrip("\n")
                lines = [f"{code if code.endswith(',') else code + ','}  #{comment}\n"]
        out.append((comments, "".join(lines)))
    return old.text(out)


def _reindent(line: str, rendered: str, wanted: str) -> str:
    """A rendered line in the user's indent: its leading spaces scaled from the rendered
    array's indent to the user's."""
    body = line.lstrip(" ")
    leading = len(line) - len(body)
    if not rendered or set(wanted) - {" "}:
        return wanted + line.lstrip() if leading == len(rendered) else line
    return " " * (leading * len(wanted) // len(rendered)) + body
