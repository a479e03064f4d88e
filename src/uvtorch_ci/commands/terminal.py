"""What reaches the terminal and the CI log: text with its values escaped, so that none can
steer the terminal (ESC, OSC, CR, U+202E) or forge a GitHub workflow command (a line that
starts with `::`); and GitHub's `::error` annotations, built with GitHub's own escaping.

Takes message text (any number of lines); gives text safe to print.
"""

from __future__ import annotations


def safe_line(line: str) -> str:
    """One line as it may be printed: every control or invisible formatting character as a
    visible escape (\\x1b, \\u202e; tab kept), and a leading `::` (after blanks) as `\\::`,
    which GitHub's runner does not read as a workflow command."""
    if not line.isprintable():  # str.isprintable: False for every control and format char
        line = "".join(_escape(char) for char in line)
    stripped = line.lstrip()
    if stripped.startswith("::"):
        line = line[: len(line) - len(stripped)] + "\\" + stripped
    return line


def safe(text: str) -> str:
    """`text` with every line made safe (see safe_line); its line breaks kept. A CR before
    a line break (a CRLF file in a diff) is kept too; any other CR is escaped."""
    lines = text.split("\n")
    out = []
    for line in lines:
        crlf = line.endswith("\r")
        out.append(safe_line(line[:-1] if crlf else line) + ("\r" if crlf else ""))
    return "\n".join(out)


def _escape(char: str) -> str:
    """The character, or its escape when it is a control, format (bidirectional, zero-width)
    or line-separating character; tab and spaces (U+00A0 too) stay as they are."""
    import unicodedata  # only for a line with something unprintable in it

    if char == "\t" or char.isprintable() or unicodedata.category(char) == "Zs":
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
