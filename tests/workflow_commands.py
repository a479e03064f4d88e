"""The GitHub runner's reading of workflow commands in a step's output, as the tests' model of
it, written from actions/runner's source (src/Runner.Common/ActionCommand.cs, TryParseV2 and
TryParse; src/Runner.Worker/ActionCommandManager.cs; src/Runner.Sdk/ProcessInvoker.cs):

- the output is read line by line with StreamReader.ReadLine: CR, LF and CRLF end a line;
- a line is a command when, with leading white space trimmed (char.IsWhiteSpace), it starts
  with `::`, holds a second `::` after that, and the name before the first blank between them
  is a registered command (TryParseV2); or else when it holds `##[` anywhere and a `]` after
  it, and the name after `##[` up to the first blank is registered (TryParse, the legacy
  syntax);
- names compare ignoring case, and the runner registers stop-commands besides its command
  extensions;
- `IndexOf` and `StartsWith` there are culture-sensitive: ICU's collation skips the characters
  it ignores (default-ignorable code points, control and format characters), so the model
  removes them before it looks.
"""

from __future__ import annotations

import re
import unicodedata

REGISTERED = frozenset(
    {
        "stop-commands",
        "add-mask",
        "add-matcher",
        "add-path",
        "debug",
        "echo",
        "remove-matcher",
        "save-state",
        "set-env",
        "set-output",
        "warning",
        "error",
        "notice",
        "group",
        "endgroup",
    }
)
# .NET's char.IsWhiteSpace
WHITE_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
WHITE_SPACE += "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt)
_DEFAULT_IGNORABLE = re.compile(
    "[\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def read_lines(output: str) -> list[str]:
    """The lines StreamReader.ReadLine gives for `output`."""
    return re.split(r"\r\n|\r|\n", output)


def _as_collation_sees(line: str) -> str:
    """The line without what ICU's collation ignores (tab, LF, VT, FF and CR have weights)."""
    line = _DEFAULT_IGNORABLE.sub("", line)
    return "".join(
        c for c in line if c in "\t\n\v\f\r" or unicodedata.category(c) not in ("Cc", "Cf")
    )


def _registered(name: str) -> bool:
    return name.lower() in REGISTERED


def parse_v2(line: str) -> str | None:
    """TryParseV2: the command's name, or None."""
    message = _as_collation_sees(line).lstrip(WHITE_SPACE)
    if not message.startswith("::"):
        return None
    end = message.find("::", 2)
    if end < 0:
        return None
    name = message[2:end].split(" ", 1)[0]
    return name if _registered(name) else None


def parse_legacy(line: str) -> str | None:
    """TryParse, the `##[name ...]` syntax: the command's name, or None."""
    message = _as_collation_sees(line)
    prefix = message.find("##[")
    if prefix < 0:
        return None
    bracket = message.find("]", prefix)
    if bracket < 0:
        return None
    name = message[prefix + 3 : bracket].split(" ", 1)[0]
    return name if _registered(name) else None


def commands_in(output: str) -> list[str]:
    """The name of every command the runner would act on in `output`, in order."""
    found = []
    for line in read_lines(output):
        name = parse_v2(line) or parse_legacy(line)
        if name is not None:
            found.append(name)
    return found
