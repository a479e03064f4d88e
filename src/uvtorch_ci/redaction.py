"""Secrets never print: a URL's user info (a user, a password, a token) and its query and
fragment (`?token=...`, a presigned signature) replaced by `***`, in one URL or in every URL
inside free text. Every message, diff, report and JSON document the tool prints goes through
here (commands/terminal.py), as do the messages that quote a URL the tool refuses.
"""

from __future__ import annotations

import re

MASK = "***"

# A URL inside free text: a scheme and `://`, then its authority up to the first / ? # (the
# user info, when there is some, is everything in it up to its last @), then the rest (an
# IPv6 host in brackets first) up to a blank, a quote or a bracket, which in a message close
# the URL rather than belong to it.
_URL_IN_TEXT = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)"
    r"(?P<userinfo>[^\s/?#\"'`<>()\[\]{}]*@)?"
    r"(?P<rest>(?:\[[0-9A-Za-z:.%]*\])?[^\s\"'`<>()\[\]{}]*)"
)


def redact_url(url: str) -> str:
    """`url` as a message may show it: what comes before the host's @ (user, password,
    token) and any query or fragment replaced by ***. A text without `://` is taken as the
    part after it (`TOKEN@host/whl`)."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    authority_end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:authority_end], rest[authority_end:]
    if "@" in authority:
        authority = f"{MASK}@{authority.rpartition('@')[2]}"
    return f"{scheme}{separator}{authority}{_mask_query(tail)}"


def _mask_query(tail: str) -> str:
    """A URL's path, with its query and fragment (when there are) as ?*** and #***."""
    cut = min((i for i in map(tail.find, "?#") if i >= 0), default=-1)
    return tail if cut < 0 else f"{tail[:cut]}{tail[cut]}{MASK}"


def redact_text(text: str) -> str:
    """`text` with every URL in it redacted (see redact_url); the rest as it was."""
    if "://" not in text:  # the common case: nothing to look for
        return text
    return _URL_IN_TEXT.sub(_redact_match, text)


def _redact_match(match: re.Match[str]) -> str:
    userinfo = f"{MASK}@" if match["userinfo"] else ""
    rest = match["rest"]
    url = rest.rstrip(".,;:!")  # what ends a sentence ends the URL, not its query
    return f"{match['scheme']}{userinfo}{_mask_query(url)}{rest[len(url) :]}"


def holds_secret(url: str) -> bool:
    """Whether redacting `url` would hide something: user info, a query or a fragment."""
    return redact_url(url) != url
