"""What reaches the terminal and the CI log: text with its secrets redacted (redaction.py:
user info, query and fragment of every URL) and its values escaped, so that none can steer
the terminal (ESC, OSC, CR, U+202E) or forge a command of GitHub's runner; and GitHub's
`::error` annotations, built with GitHub's own escaping.

The runner reads a command from a line of a step's output two ways (actions/runner,
ActionCommand.TryParseV2 and TryParse, on each line as StreamReader.ReadLine splits them: at
CR, LF or CRLF): a line that starts with `::` once leading white space is trimmed, and the
legacy `##[name ...]` anywhere in a line. Both compare with the culture's rules, which skip
characters the collation ignores (U+00AD, zero-width and variation selectors): so those are
escaped with the control characters, a leading `::` becomes `\\::`, every `##[` becomes
`##\\[`, and a lone CR never ends a line.

Takes message text (any number of lines); gives text safe to print.
"""

from __future__ import annotations

import re

from ..redaction import redact_text

# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties) that str.isprintable lets
# through: combining and variation selectors, Hangul fillers. ICU's collation ignores them,
# so "#\ufe0f#[" would read as "##[" to the runner.
_IGNORABLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)
LEGACY_COMMAND = "##["


def safe_line(line: str) -> str:
    """One line as it may be printed: every control, invisible formatting or ignorable
    character as a visible escape (\\x1b, \\u202e, \\ufe0f; tab kept), a leading `::`
    (after blanks) as `\\::` and every `##[` as `##\\[`, neither of which GitHub's runner
    reads as a workflow command."""
    if not line.isprintable() or _IGNORABLE.search(line):
        line = "".join(_escape(char) for char in line)
    if LEGACY_COMMAND in line:
        line = line.replace(LEGACY_COMMAND, "##\\[")
    stripped = line.lstrip()
    if stripped.startswith("::"):
        line = line[: len(line) - len(stripped)] + "\\" + stripped
    return line


def safe(text: str) -> str:
    """`text` with every URL in it redacted (redaction.redact_text) and every line made
    safe (see safe_line); its line breaks kept. A CR before a line break (a CRLF file in a
    diff) is kept too; any other CR is escaped."""
    lines = redact_text(text).split("\n")
    out = []
    for line in lines:
        crlf = line.endswith("\r")
        out.append(safe_line(line[:-1] if crlf else line) + ("\r" if crlf else ""))
    return "\n".join(out)


def safe_json(text: str) -> str:
    """A JSON document (json.dumps with its default ensure_ascii: no raw control or
    non-ASCII character) as it may be printed: every URL in it redacted, and every `##[`
    (only ever inside a string) written `##\\u005b`, the same JSON value, which the runner
    does not read as a command. No line of such a document starts with `::`."""
    return redact_text(text).replace(LEGACY_COMMAND, "##\\u005b")


def _escape(char: str) -> str:
    """The character, or its escape when it is a control, format (bidirectional, zero-width)
    or line-separating character; tab and spaces (U+00A0 too) stay as they are."""
    import unicodedata  # only for a line with something unprintable in it

    if (char.isprintable() and not _IGNORABLE.match(char)) or char == "\t":
        return char
    if unicodedata.category(char) == "Zs":
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def annotation(
    message: str, *, file: str | None = None, line: int | None = None, column: int | None = None
) -> str:
    """A GitHub `::error` workflow command: the message on one line (GitHub's escaping of %,
    CR and LF, after safe()), its properties escaped as GitHub reads them (% CR LF : ,)."""
    properties = []
    if file:
        properties.append(f"file={_property(file)}")
    if line is not None:
        properties.append(f"line={line}")
        if column is not None:
            properties.append(f"col={column}")
    head = "::error " + ",".join(properties) if properties else "::error"
    return f"{head}::{_data(safe(message))}"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(safe_line(text)).replace(":", "%3A").replace(",", "%2C")
