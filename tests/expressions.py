"""GitHub Actions expressions, for the runner-like harness (tests/runner.py): `${{ }}` in a
value, or a bare `if:`, evaluated against contexts given as dicts.

The contexts (`matrix`, `inputs`, `steps`, `github`, `env`, `runner`, `needs`), literals, the
operators `! == != && ||` (GitHub's loose string equality, ignoring case; `||` and `&&` give an
operand, not a boolean), `success()`, `failure()`, `always()`, `join`, `fromJSON`, `toJSON` and
`contains`. Anything else is an ExpressionError: a test then fails, never passes by accident.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_-]*)|(==|!=|&&|\|\||[!().\[\],*]))"
)
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(ValueError):
    """An expression this runner does not understand (a test must then say so, not pass)."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"cannot read {text[position:]!r} in {text!r}")
        string, number, name, operator = match.groups()
        if string is not None:
            tokens.append(("value", string[1:-1].replace("''", "'")))
        elif number is not None:
            tokens.append(("value", float(number) if "." in number else int(number)))
        elif name in ("true", "false", "null"):
            tokens.append(("value", {"true": True, "false": False, "null": None}[name]))
        elif name is not None:
            tokens.append(("name", name))
        else:
            tokens.append(("op", operator))
        position = match.end()
    return tokens


def truthy(value: Any) -> bool:
    return value not in (False, 0, "", None)


def as_text(value: Any) -> str:
    """How GitHub turns a value into a string (env values, inputs, interpolation)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()  # GitHub compares strings ignoring case
    return bool(a == b)


class _Parser:
    def __init__(self, text: str, context: Mapping[str, Any], status: str) -> None:
        self.tokens = _tokens(text)
        self.text = text
        self.context = context
        self.status = status  # "success" or "failure": what success()/failure() answer

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[0] if self.tokens else None

    def take(self, op: str | None = None) -> tuple[str, Any]:
        if not self.tokens or (op is not None and self.tokens[0] != ("op", op)):
            raise ExpressionError(f"expected {op or 'more'} in {self.text!r}")
        return self.tokens.pop(0)

    def parse(self) -> Any:
        value = self.either()
        if self.tokens:
            raise ExpressionError(f"unexpected {self.tokens[0][1]!r} in {self.text!r}")
        return value

    def either(self) -> Any:
        value = self.both()
        while self.peek() == ("op", "||"):
            self.take()
            other = self.both()
            value = value if truthy(value) else other
        return value

    def both(self) -> Any:
        value = self.comparison()
        while self.peek() == ("op", "&&"):
            self.take()
            other = self.comparison()
            value = other if truthy(value) else value
        return value

    def comparison(self) -> Any:
        value = self.unary()
        token = self.peek()
        if token in (("op", "=="), ("op", "!=")):
            self.take()
            other = self.unary()
            same = _equal(value, other)
            return same if token == ("op", "==") else not same
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, value = self.take()
        if kind == "value":
            return value
        if (kind, value) == ("op", "("):
            inner = self.either()
            self.take(")")
            return inner
        if kind != "name":
            raise ExpressionError(f"unexpected {value!r} in {self.text!r}")
        if self.peek() == ("op", "("):
            return self.call(value)
        if value not in self.context:
            raise ExpressionError(f"unknown context {value!r} in {self.text!r}")
        current: Any = self.context[value]
        while self.peek() in (("op", "."), ("op", "[")):
            _, op = self.take()
            if op == ".":
                _, key = self.take()
            else:
                key = self.either()
                self.take("]")
            current = current.get(key) if isinstance(current, dict) else None
        return current

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek() != ("op", ")"):
            args.append(self.either())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        if name == "success":
            return self.status == "success"
        if name == "failure":
            return self.status == "failure"
        if name == "always":
            return True
        if name == "join":
            items = args[0] if isinstance(args[0], list) else [args[0]]
            return (args[1] if len(args) > 1 else ",").join(as_text(x) for x in items)
        if name == "fromJSON":
            return json.loads(args[0])
        if name == "toJSON":
            return json.dumps(args[0])
        if name == "contains":
            haystack, needle = args
            if isinstance(haystack, list):
                return any(_equal(item, needle) for item in haystack)
            return as_text(needle).lower() in as_text(haystack).lower()
        raise ExpressionError(f"unknown function {name}() in {self.text!r}")


def evaluate(expression: str, context: Mapping[str, Any], status: str = "success") -> Any:
    """The value of one expression (the text inside `${{ }}`, or a bare `if:`)."""
    return _Parser(expression, context, status).parse()


def interpolate(value: Any, context: Mapping[str, Any]) -> str:
    """A YAML value with every `${{ }}` in it replaced by its value, as text."""
    if not isinstance(value, str):
        return as_text(value)
    return EXPRESSION.sub(lambda m: as_text(evaluate(m.group(1), context)), value)


def condition(text: Any, context: Mapping[str, Any], status: str) -> bool:
    """An `if:`: a bare expression or one in `${{ }}`; no `if:` means success()."""
    if text is None:
        return status == "success"
    if isinstance(text, bool):
        return text and status == "success"
    inner = text.strip()
    whole = EXPRESSION.fullmatch(inner)
    expression = whole.group(1) if whole else inner
    uses_status = re.search(r"\b(always|failure|success|cancelled)\(", expression)
    if not uses_status and status != "success":
        return False
    return truthy(evaluate(expression, context, status))
