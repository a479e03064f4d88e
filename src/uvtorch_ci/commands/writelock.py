"""One writer per project at a time: render, init and upgrade read, render and write a
project while holding its lock, so that two of them (an `upgrade --write` and the
pre-commit hook's `render`) never leave a spec of one and a workflow of the other.

The lock is the project's folder itself on POSIX (flock on the folder: no file is written
anywhere, and renaming files inside it leaves the lock where it was), and a lock file in the
user's temporary folder named by the project's real path on Windows. A process takes it
once: a writer that calls another (upgrade renders) holds it already. A file system without
locks (some network ones) leaves the writers unserialised, as they were before.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from ..errors import WriteError
from .paths import display_path

WAIT = 60.0  # seconds: far longer than any render; a writer stuck longer is named
_held: dict[str, int] = {}  # real path -> how many holders in this process


@contextlib.contextmanager
def project_lock(project_dir: Path, label: str, *, wait: float = WAIT) -> Iterator[None]:
    """Hold `project_dir`'s writer lock (the nearest folder that exists, for a project init
    is about to create). WriteError (exit 2, nothing written) when another process holds
    it for longer than `wait` seconds."""
    folder = _existing(project_dir)
    key = os.path.realpath(folder)
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    handle = _open(key)
    try:
        if handle is not None:
            _acquire(handle, wait, label)
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
    finally:
        if handle is not None:
            os.close(handle)  # closing releases the lock


P = ParamSpec("P")
R = TypeVar("R")
Command = Callable[Concatenate[Path, P], R]


def writes_project(
    when: Callable[[dict[str, Any]], bool] = lambda options: True,
) -> Callable[[Command[P, R]], Command[P, R]]:
    """A command (its first argument the project's folder) that runs holding the project's
    writer lock, whenever `when` says its keyword options make it write."""

    def decorate(command: Command[P, R]) -> Command[P, R]:
        @functools.wraps(command)
        def locked(project_dir: Path, /, *args: P.args, **options: P.kwargs) -> R:
            if not when(options):
                return command(project_dir, *args, **options)
            with project_lock(project_dir, display_path(project_dir)):
                return command(project_dir, *args, **options)

        return locked

    return decorate


def _existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return candidate
    return Path(os.curdir)


def _open(folder: str) -> int | None:
    """A handle to lock: the folder itself (POSIX), or the lock file standing for it."""
    try:
        if sys.platform != "win32":
            return os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        import hashlib
        import tempfile

        name = hashlib.sha256(os.path.normcase(folder).encode("utf-8", "surrogatepass"))
        path = os.path.join(tempfile.gettempdir(), f"uvtorch-ci-{name.hexdigest()[:32]}.lock")
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # nothing to lock with: unserialised, as before
        return None


def _acquire(handle: int, wait: float, label: str) -> None:
    deadline = time.monotonic() + wait
    while not _try_lock(handle):
        if time.monotonic() > deadline:
            raise WriteError(
                f"another uvtorch-ci process has been writing this project for {wait:g} s; "
                "nothing was written",
                file=label,
                hint="let it finish (or stop it), then run this again",
            )
        time.sleep(0.05)


def _try_lock(handle: int) -> bool:
    """Take the lock without waiting: True when taken (or when the file system has none)."""
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (BlockingIOError, PermissionError):  # held elsewhere (Windows: PermissionError)
        return False
    except OSError:  # no locks on this file system
        return True
    return True
