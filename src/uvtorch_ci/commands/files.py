"""The only module that writes: read texts, compare, diff, and write atomically."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import PyprojectError, WriteError


@dataclass(frozen=True)
class Output:
    """One file the tool produces: where it goes, what is there now, what should be."""

    path: Path
    label: str  # the path as shown to the user
    old: str | None
    new: str

    @property
    def changed(self) -> bool:
        """Whether writing would change the file; line endings alone are no change (a CRLF
        checkout of a generated file is the same file)."""
        if self.old is None:
            return True
        return self.old.replace("\r\n", "\n") != self.new.replace("\r\n", "\n")

    def diff(self) -> str:
        import difflib  # here, not above: verify and explain read files but never diff them

        old = [] if self.old is None else self.old.splitlines(keepends=True)
        new = self.new.splitlines(keepends=True)
        lines = difflib.unified_diff(old, new, f"a/{self.label}", f"b/{self.label}")
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def read_text(path: Path, label: str) -> str | None:
    """The file's text with its line endings as they are, or None when it does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise PyprojectError("is a directory, not a file", file=label) from None
    except PermissionError:
        raise PyprojectError("cannot be read (permission denied)", file=label) from None
    except (
        NotADirectoryError
    ):  # a directory on its path is a file: it can be neither read nor written
        raise PyprojectError(
            "cannot be read or written: a directory on its path is a file",
            file=label,
            hint="move that file away, or choose another path",
        ) from None
    except OSError as error:
        raise PyprojectError(f"cannot be read: {error.strerror}", file=label) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise PyprojectError(
            f"is not UTF-8 text: line {line}, column {column} holds the byte "
            f"0x{data[error.start]:02x}",
            file=label,
            hint="TOML files are UTF-8: save it as UTF-8",
        ) from None


def write_atomic(path: Path, text: str, label: str) -> None:
    """Write via a temporary file in the same directory and a rename: never half a file.

    The new file keeps the old one's permission bits. A symbolic link stays a link: the file
    it points to is the one replaced.
    """
    write_all([(path, text, label)])


def write_all(files: Sequence[tuple[Path, str, str]]) -> None:
    """Write several files (path, text, label) all or none: every temporary file is written
    first, and only when all of them are does any rename happen.

    Each file's data is synced before its rename; after the renames, each directory whose
    entries changed (the outputs' directories, and the parents of directories made for them)
    is synced once, so that the renames survive a power loss too (see _sync_directories)."""
    prepared: list[tuple[str, Path, str]] = []
    created: list[Path] = []
    try:
        for path, text, label in files:
            prepared.append((*_prepare(path, text, label, created), label))
        for temporary, path, label in prepared:
            try:
                os.replace(temporary, path)
            except OSError as error:
                raise WriteError(f"cannot write: {error.strerror}", file=label) from None
    except WriteError:
        for temporary, _, _ in prepared:
            Path(temporary).unlink(missing_ok=True)
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    changed = dict.fromkeys([path.parent for _, path, _ in prepared] + [d.parent for d in created])
    # deepest first: a made directory's own entries before its entry in its parent
    _sync_directories(sorted(changed, key=lambda directory: -len(directory.parts)))


def remove_files(files: Sequence[tuple[Path, str]]) -> None:
    """Remove generated files (path, label) no longer used, and their folder when that is
    left empty; WriteError naming the first that cannot be removed."""
    for path, label in files:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise WriteError(f"cannot remove: {error.strerror}", file=label) from None
        with contextlib.suppress(OSError):  # not empty, or not ours to remove: kept
            path.parent.rmdir()
    _sync_directories(list(dict.fromkeys(path.parent for path, _ in files)))


def _sync_directories(directories: Sequence[Path]) -> None:
    """fsync each directory, so that the renames into it are on disk, not only in the cache.

    POSIX only: Windows cannot open a directory to sync it, and os.replace gives no other
    handle on it, so there a rename is as durable as the file system makes it. A failure
    here is ignored, never reported: by now every file holds its new text and every rename
    is done and visible; only whether the renames would survive a power loss in the next
    moments is in doubt, and some file systems (some network and FUSE ones) refuse to sync
    a directory at all. Reporting it would make `render` exit 2, whose promise is that
    nothing was changed, for files that were written as asked.
    """
    if os.name != "posix":
        return
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    for directory in directories:
        try:
            handle = os.open(directory, flags)
        except OSError:
            continue
        with contextlib.suppress(OSError):
            try:
                os.fsync(handle)
            finally:
                os.close(handle)


def _prepare(path: Path, text: str, label: str, created: list[Path]) -> tuple[str, Path]:
    """The temporary file holding `text` beside `path` (followed through a link), ready to be
    renamed over it; directories made on the way are added to `created`."""
    from tempfile import mkstemp  # only writers pay for it

    if path.is_symlink():
        path = Path(os.path.realpath(path))
    directory = path.parent
    try:
        missing = [d for d in (directory, *directory.parents) if not d.exists()]
        directory.mkdir(parents=True, exist_ok=True)
        created.extend(reversed(missing))
        mode = path.stat().st_mode & 0o7777 if path.exists() else None
        handle, temporary = mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise WriteError(f"cannot write: {error.strerror}", file=label) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode if mode is not None else 0o666 & ~_umask())
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise WriteError(f"cannot write: {error.strerror}", file=label) from None
    return temporary, path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
