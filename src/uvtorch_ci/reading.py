"""Reading a file without surprises: only a regular file is opened (a FIFO, a device or a
socket is refused before the open, and the open itself never blocks or takes a terminal),
and at most `limit` bytes are read. The path policy (commands/files.py), the fast check and
detection (a driver's version file) all read through here.

Only os here: the fast `render --check` reads through it too.
"""

from __future__ import annotations

import os

_TYPE, _REGULAR = 0o170000, 0o100000  # S_IFMT and S_IFREG: no stat module on the fast path
# O_NONBLOCK: what was swapped for a FIFO since the stat must not block the open;
# O_NOCTTY: a terminal swapped in never becomes our controlling terminal
_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)


class NotRegular(Exception):
    """The path is there but is not a regular file; `mode` is its st_mode."""

    def __init__(self, mode: int) -> None:
        super().__init__(mode)
        self.mode = mode


class TooLarge(Exception):
    """The file holds more than the bytes asked for at most."""


def read_regular(path: str, limit: int) -> bytes | None:
    """The bytes of the regular file at `path` (followed through links), None when there is
    none; NotRegular, TooLarge, or the OSError of the stat, open or read otherwise."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    if mode & _TYPE != _REGULAR:
        raise NotRegular(mode)
    try:
        handle = os.open(path, _FLAGS)
    except FileNotFoundError:
        return None
    try:
        opened = os.fstat(handle)
        if opened.st_mode & _TYPE != _REGULAR:
            raise NotRegular(opened.st_mode)
        if opened.st_size > limit:  # refused before a byte is read (the loop: it grew since)
            raise TooLarge(limit)
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(handle, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise TooLarge(limit)
        return b"".join(chunks)
    finally:
        os.close(handle)
