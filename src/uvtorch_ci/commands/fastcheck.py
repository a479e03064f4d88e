"""`render --check` without rendering: "up to date" from a record of the last render.

When a full render finds (or leaves) every output current, it records what it saw. The
record is named by a digest of every input: the tool's own table, templates and smoke check,
the project's path, the spec file named on the command line, UVTORCH_INDEX_URL, the
pyproject text and the uvtorch.toml text (or its absence). It holds the digest of each
generated file as it was on disk. Rendering is deterministic, so when the inputs digest to a
known record and every generated file still has its recorded digest, a render would change
nothing, and the command answers without parsing TOML or importing click, Jinja2, tomlkit
or packaging. Anything unexpected means a full render decides.

The records live in the user's cache folder (UVTORCH_CI_CACHE_DIR, `off` to disable; else
$XDG_CACHE_HOME/uvtorch-ci or ~/.cache/uvtorch-ci), under records/; nothing in the project
is written. This module is on the path of every `render --check`, so it imports only what
the interpreter has already loaded at start-up (os, sys), plus a sha256.
"""

from __future__ import annotations

import os
import sys

from ..reading import NotRegular, TooLarge, read_regular
from ..resources import PACKAGE_DIR, SMOKE_FILE, TABLE_FILE, dist_info_folder, templates_folder
from .paths import display_path

TYPE_CHECKING = False  # typing itself would load re and collections
if TYPE_CHECKING:
    from collections.abc import Mapping
    from hashlib import sha256
else:  # CPython's own sha256: hashlib's would first load OpenSSL, a few ms per process
    try:
        from _sha2 import sha256  # 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # 3.11
        except ImportError:
            from hashlib import sha256

CACHE_ENV = "UVTORCH_CI_CACHE_DIR"  # "" or "off" turns the cache off
INDEX_URL_ENV = "UVTORCH_INDEX_URL"
KEEP = 512  # records kept; older ones are pruned
END = "end"  # a record's last line: a record without it is not trusted


def package_digest() -> str:
    """sha256 of everything of the tool's own that shapes its output: the version, the text
    of the table, templates and smoke check, the size and modification time of every
    module (a build of other code under the same version, an editable checkout after an edit:
    new files, so old records no longer answer), and the record of where it was installed
    from."""
    from .. import __version__

    folder = templates_folder()
    files = [TABLE_FILE, SMOKE_FILE]
    files += sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".j2"))
    hasher = sha256(__version__.encode())
    for path in files:
        with open(path, "rb") as file:
            hasher.update(file.read())
    modules = []
    for parent, folders, names in os.walk(PACKAGE_DIR):
        folders[:] = [f for f in folders if f != "__pycache__"]  # bytecode: no modules there
        where = os.path.relpath(parent, PACKAGE_DIR)
        for name in names:
            if name.endswith(".py"):
                info = os.stat(os.path.join(parent, name))
                modules.append((where, name, info.st_size, info.st_mtime_ns))
    hasher.update(repr(sorted(modules)).encode())
    # where this copy was installed from names the tool the workflow's check job installs
    # (toolsource.py): the same code installed another way renders another workflow
    installed = dist_info_folder(__version__)
    hasher.update(b"installed: %d " % os.path.isdir(installed))
    hasher.update(_read(os.path.join(installed, "direct_url.json")) or b"-")
    return hasher.hexdigest()


def cache_dir(env: Mapping[str, str]) -> str | None:
    """The tool's cache folder (records in records/, compiled templates in templates/)."""
    chosen = env.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen in ("", "off") else chosen
    base = env.get("XDG_CACHE_HOME") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".cache"
    )
    return os.path.join(base, "uvtorch-ci")


MAX_READ = 64 << 20  # the most any input is read (files.py's bound too)


def _read(path: str, root: str | None = None) -> bytes | None:
    """A regular file's bytes; None for anything else. Never blocks (a FIFO is refused
    before it is opened), never reads past MAX_READ (reading.py), and with `root` (the
    project, real) never follows a link out of it: such a project is left to the full
    render to refuse."""
    if root is not None and not os.path.realpath(path).startswith(root + os.sep):
        return None
    try:
        return read_regular(path, MAX_READ)
    except (OSError, ValueError, NotRegular, TooLarge):  # ValueError: a NUL in the name
        return None


def _file_digest(path: str, root: str | None = None) -> str | None:
    data = _read(path, root)
    return None if data is None else sha256(data).hexdigest()


def _spec_path(project: str, spec_file: str | os.PathLike[str] | None) -> tuple[str, str]:
    """The spec file named on the command line ("" for none), and the one to read."""
    named = os.path.abspath(spec_file) if spec_file is not None else ""
    return named, named or os.path.join(project, "uvtorch.toml")


def inputs_digest(
    project_dir: str | os.PathLike[str],
    spec_file: str | os.PathLike[str] | None,
    env: Mapping[str, str],
) -> str | None:
    """The digest of every input of a render of this project, as they are on disk now;
    None without a pyproject, or with an input that is there but cannot be read as a
    regular file inside the project."""
    project = os.path.abspath(project_dir)
    root = os.path.realpath(project)
    pyproject = _read(os.path.join(project, "pyproject.toml"), root)
    named, spec_path = _spec_path(project, spec_file)
    spec = _read(spec_path, None if named else root)
    if pyproject is None or (spec is None and os.path.lexists(spec_path)):
        return None
    return _digest(project, named, env, pyproject, spec)


def _digest(
    project: str, named: str, env: Mapping[str, str], pyproject: bytes, spec: bytes | None
) -> str:
    parts = [
        package_digest().encode(),
        project.encode("utf-8", "surrogateescape"),
        named.encode("utf-8", "surrogateescape"),
        env.get(INDEX_URL_ENV, "").encode("utf-8", "surrogateescape"),
        pyproject,
        b"\0absent" if spec is None else b"\1" + spec,
    ]
    hasher = sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big") + part)
    return hasher.hexdigest()


def records_dir(env: Mapping[str, str]) -> str | None:
    folder = cache_dir(env)
    return None if folder is None else os.path.join(folder, "records")


def up_to_date(
    project_dir: str | os.PathLike[str],
    spec_file: str | os.PathLike[str] | None,
    env: Mapping[str, str],
) -> bool:
    """True when a render with exactly these inputs left exactly these generated files."""
    folder = records_dir(env)
    key = inputs_digest(project_dir, spec_file, env) if folder is not None else None
    record = _read(os.path.join(folder, key)) if folder is not None and key is not None else None
    if record is None:
        return False
    try:
        lines = record.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return False
    if lines[-2:] != [END, ""]:
        return False
    project = os.path.abspath(project_dir)
    root = os.path.realpath(project)
    for line in lines[:-2]:
        digest, _, relative = line.partition(" ")
        if not relative or _file_digest(os.path.join(project, relative), root) != digest:
            return False
    return True


def remember(
    project_dir: str | os.PathLike[str],
    spec_file: str | os.PathLike[str] | None,
    env: Mapping[str, str],
    *,
    pyproject: str,
    spec: str | None,
    generated: Mapping[str, str],
) -> None:
    """Record that a render of these inputs changes nothing, after a render found or made
    every output current.

    The record says only what this one render both read and wrote: it is keyed by the
    inputs as this render read them (`spec`, and `pyproject` as the render leaves it, which
    renders to itself), and holds the digests of the texts this render left (`generated`,
    by path relative to the project). It is written only while the disk still holds exactly
    those texts: a render that ran at the same time with other inputs (another
    UVTORCH_INDEX_URL, an edited spec) and wrote after this one leaves no record claiming a
    state no render produced. A cache that cannot be written only costs speed, so every
    failure here is silent.
    """
    folder = records_dir(env)
    if folder is None:
        return
    project = os.path.abspath(project_dir)
    named, _ = _spec_path(project, spec_file)
    pyproject_bytes = pyproject.encode("utf-8")
    spec_bytes = None if spec is None else spec.encode("utf-8")
    key = _digest(project, named, env, pyproject_bytes, spec_bytes)
    lines = []
    for relative, text in generated.items():
        if "\n" in relative:
            return
        lines.append(f"{sha256(text.encode('utf-8')).hexdigest()} {relative}\n")
    lines.append(END + "\n")
    temporary = os.path.join(folder, f".{key}.{os.getpid()}.tmp")
    try:
        os.makedirs(folder, exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as file:
            file.writelines(lines)
        if inputs_digest(project_dir, spec_file, env) != key or not all(
            _file_digest(os.path.join(project, relative)) == line.partition(" ")[0]
            for relative, line in zip(generated, lines, strict=False)
        ):  # another render changed the project since this one wrote it
            _unlink(temporary)
            return
        os.replace(temporary, os.path.join(folder, key))  # readers never see half a record
        _prune(folder)
    except OSError:
        _unlink(temporary)


def _prune(folder: str) -> None:
    """Keep the newest KEEP records; drop temporary files a killed process left (an hour old:
    a live writer's are younger)."""
    import time

    records, leftovers = [], []
    with os.scandir(folder) as entries:
        for entry in entries:
            mtime = entry.stat().st_mtime
            if not entry.name.startswith("."):
                records.append((mtime, entry.path))
            elif entry.name.endswith(".tmp") and mtime < time.time() - 3600:
                leftovers.append(entry.path)
    for _, path in sorted(records)[:-KEEP]:
        _unlink(path)
    for path in leftovers:
        _unlink(path)


def _unlink(path: str) -> None:
    try:  # noqa: SIM105 - contextlib would be one more import on the fast path
        os.unlink(path)
    except OSError:
        pass


# what terminal.py would escape or redact in a printable ASCII name: the runner's commands
# (a `::` anywhere covers a leading one) and a URL
_ESCAPED = ("::", "##[", "://")


def main(args: list[str]) -> int | None:
    """Answer `render --check [--project D] [--spec F]` when the record says up to date;
    None for anything else (the full CLI decides)."""
    if args[:1] != ["render"] or "--check" not in args:
        return None
    project, spec = ".", None
    rest = [a for a in args[1:] if a != "--check"]
    while rest:
        name, _, value = rest.pop(0).partition("=")
        if name not in ("--project", "--spec"):
            return None
        if not value:
            if not rest:
                return None
            value = rest.pop(0)
        if name == "--project":
            project = value
        else:
            spec = value
    if not up_to_date(project, spec, os.environ):
        return None
    label = display_path(os.path.join(project, "pyproject.toml"))
    if not label.isascii() or not label.isprintable() or any(m in label for m in _ESCAPED):
        return None  # the full CLI prints such a name escaped and redacted (terminal.py)
    print(f"{label} and the generated files: up to date (unchanged)", file=sys.stderr)
    return 0
