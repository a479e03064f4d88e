"""The only module that writes: read texts, compare, diff, and write atomically.

Every path it reads or writes goes through one path policy (resolve): inside the project,
no symbolic link out of it, no dangling link's target created, only regular files opened
(a FIFO or a device is refused before it is opened, so nothing blocks), reads bounded.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import PyprojectError, UvtorchError, WriteError
from ..reading import NotRegular, TooLarge, read_regular


class PathError(UvtorchError):
    """A path the path policy refuses (see resolve): a link out of the project, a dangling
    link, a file that is not a regular one, or one too large to read."""


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


def read_text(path: Path, label: str, *, root: Path | None = None) -> str | None:
    """The file's text with its line endings as they are, or None when it does not exist.

    Under the path policy (see resolve): a path inside `root` that leaves it through a
    symbolic link, a dangling link, and anything but a regular file (a FIFO, a device, a
    socket) are refused before the file is opened; at most MAX_READ bytes are read."""
    real = resolve(path, label, root)
    data = _read_bytes(real, label)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        is_toml = label.endswith((".toml", ".lock"))
        raise PyprojectError(
            f"is not UTF-8 text: line {line}, column {column} holds the byte "
            f"0x{data[error.start]:02x}",
            file=label,
            hint="TOML files are UTF-8: save it as UTF-8"
            if is_toml
            else "uvtorch-ci writes this file as UTF-8, so it did not write this one: "
            "move it away, or choose another path",
        ) from None


def _read_bytes(path: str, label: str) -> bytes | None:
    """The bytes of a regular file, or None when there is none; never blocks, never reads
    more than MAX_READ bytes (reading.py)."""
    try:
        return read_regular(path, MAX_READ)
    except NotRegular as error:
        _check_regular(error.mode, label, PyprojectError)
        raise  # not reached: _check_regular raised for a mode that is not a regular file's
    except TooLarge:
        raise PathError(
            f"is larger than {MAX_READ >> 20} MiB, more than uvtorch-ci reads",
            file=label,
            hint="is it the file you meant?",
        ) from None
    except NotADirectoryError:  # a directory on its path is a file: it can be neither read
        raise PyprojectError(  # nor written
            "cannot be read or written: a directory on its path is a file",
            file=label,
            hint="move that file away, or choose another path",
        ) from None
    except PermissionError:
        raise PyprojectError("cannot be read (permission denied)", file=label) from None
    except OSError as error:
        raise PyprojectError(f"cannot be read: {error.strerror}", file=label) from None


MAX_READ = 64 << 20  # bytes: far above any real pyproject.toml, spec or uv.lock
_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(mode: int, label: str, directory_error: type[UvtorchError]) -> None:
    """PathError unless `mode` is a regular file's (`directory_error` for a directory)."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise directory_error("is a directory, not a file", file=label)
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise PathError(
        f"is {kind}, not a regular file",
        file=label,
        hint="uvtorch-ci reads and writes only regular files; move it away",
    )


def resolve(path: Path, label: str, root: Path | None) -> str:
    """`path` followed through its symbolic links: the file to read or write.

    The path policy: a path inside `root` (the project) must stay inside it; a symbolic link
    on its way that leads out of the project is refused, naming the link and where it leads.
    A dangling link is refused everywhere: the tool never creates a link's target (a link
    git stores can point anywhere). A link to a file inside the project (a pyproject.toml
    shared by two projects of one repository, say) is followed.
    """
    absolute = os.path.abspath(path)
    if root is not None:
        top = os.path.abspath(root)
        relative = os.path.relpath(absolute, top)
        if relative != os.curdir and not _is_up(relative):
            return _walk(os.path.realpath(top), top, relative.split(os.sep), label)
    if os.path.islink(absolute) and not os.path.exists(absolute):
        raise _dangling(absolute, label)
    return os.path.realpath(absolute)


def _walk(real_root: str, top: str, parts: list[str], label: str) -> str:
    current = real_root
    for i, part in enumerate(parts):
        candidate = os.path.join(current, part)
        try:
            info = os.lstat(candidate)
        except OSError:  # not there yet (render makes it), or a file on the way (reported later)
            return os.path.join(candidate, *parts[i + 1 :])
        if not stat.S_ISLNK(info.st_mode):
            current = candidate
            continue
        link = os.path.join(top, *parts[: i + 1])
        last = i == len(parts) - 1
        resolved = os.path.realpath(candidate)
        if not os.path.exists(resolved):
            raise _dangling(link, label, last)
        if resolved != real_root and not resolved.startswith(real_root.rstrip(os.sep) + os.sep):
            where = "is" if last else f"leads outside the project: {_named(link)} is"
            outside = ", outside the project" if last else ""
            raise PathError(
                f"{where} a symbolic link to {_target(link)}{outside}",
                file=label,
                hint="uvtorch-ci reads and writes only inside the project: "
                "put the file itself there, or a link to a file within the project",
            )
        current = resolved
    return current


def _dangling(link: str, label: str, last: bool = True) -> PathError:
    where = "is" if last else f"goes through {_named(link)}, which is"
    return PathError(
        f"{where} a symbolic link to {_target(link)}, which does not exist",
        file=label,
        hint="uvtorch-ci never creates a link's target: create the file, or remove the link",
    )


def _named(link: str) -> str:
    """A link as the user would type it: relative to the working directory when inside it
    (never followed: display_path would name where the link leads)."""
    cwd = os.path.abspath(os.getcwd())
    relative = os.path.relpath(link, cwd)
    return link if _is_up(relative) else relative


def _is_up(relative: str) -> bool:
    return relative == os.pardir or relative.startswith(os.pardir + os.sep)


def _target(link: str) -> str:
    try:
        return os.readlink(link)
    except OSError:
        return "?"


def write_atomic(path: Path, text: str, label: str, *, root: Path | None = None) -> None:
    """Write via a temporary file in the same directory and a rename: never half a file.

    The new file keeps the old one's permission bits. A symbolic link stays a link: the file
    it points to is the one replaced.
    """
    write_all([(path, text, label)], root=root)


def write_all(files: Sequence[tuple[Path, str, str]], *, root: Path | None = None) -> None:
    """Write several files (path, text, label) all or none: every temporary file is written
    first, and only when all of them are does any rename happen.

    Each file's data is synced before its rename; after the renames, each directory whose
    entries changed (the outputs' directories, and the parents of directories made for them)
    is synced once, so that the renames survive a power loss too (see _sync_directories).

    Every path goes through the path policy first (see resolve: nothing outside `root`,
    no dangling link's target, only regular files replaced); a refusal writes nothing."""
    targets = [(_writable(path, label, root), text, label) for path, text, label in files]
    seen: dict[Path, str] = {}
    for real, _, label in targets:
        if real in seen:  # a link makes two outputs one file: neither would survive
            raise PathError(
                f"is the same file as {seen[real]} (through a symbolic link)",
                file=label,
                hint="each file uvtorch-ci writes must be a file of its own; remove the link",
            )
        seen[real] = label
    prepared: list[tuple[str, Path, str]] = []
    created: list[Path] = []
    try:
        for path, text, label in targets:
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


def remove_files(files: Sequence[tuple[Path, str]], *, root: Path | None = None) -> None:
    """Remove generated files (path, label) no longer used, and their folder when that is
    left empty; WriteError naming the first that cannot be removed. Every path goes through
    the path policy first (see resolve), so nothing outside `root` is removed, and a link is
    removed as a link, never its target."""
    for path, label in files:
        resolve(path, label, root)
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


LEFTOVER_AGE = 3600  # seconds: a live writer's temporary file is younger than this


def remove_leftovers(paths: Sequence[Path], *, root: Path | None = None) -> None:
    """Remove the temporary files a killed write left beside `paths` (.NAME.*.tmp, regular
    files older than LEFTOVER_AGE; a running writer's are younger). Paths the policy
    refuses are skipped: writing them reports that. Nothing here is worth an error."""
    import time

    now = time.time()
    for path in paths:
        try:
            real = resolve(path, str(path), root)
        except UvtorchError:
            continue
        directory, name = os.path.split(real)
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if not (entry.name.startswith(f".{name}.") and entry.name.endswith(".tmp")):
                continue
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and info.st_mtime < now - LEFTOVER_AGE:
                    os.unlink(entry.path)


def _writable(path: Path, label: str, root: Path | None) -> Path:
    """Where writing `path` lands (followed through its links), once the policy allows it:
    an existing file there must be a regular one (a device stays a device)."""
    real = resolve(path, label, root)
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return Path(real)  # not there yet, or unreachable: _prepare reports that
    _check_regular(mode, label, WriteError)
    return Path(real)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
