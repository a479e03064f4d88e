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

from ..resources import PACKAGE_DIR, SMOKE_FILE, TABLE_FILE, templates_folder
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
    of the table, templates and smoke check, and the size and modification time of every
    module (a build of other code under the same version, an editable checkout after an edit:
    new files, so old records no longer answer)."""
    from .. import __version__

    folder = templates_folder()
    files = [TABLE_FILE, SMOKE_FILE]
    files += sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".j2"))
    hasher = sha256(__version__.encode())
    for path in files:
        with open(path, "rb") as file:
            hasher.update(file.read())
    modules = []
    for parent, _, names in os.walk(PACKAGE_DIR):
        where = os.path.relpath(parent, PACKAGE_DIR)
        for name in names:
            if name.endswith(".py"):
                info = os.stat(os.path.join(parent, name))
                modules.append((where, name, info.st_size, info.st_mtime_ns))
    hasher.update(repr(sorted(modules)).encode())
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


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return None


def _file_digest(path: str) -> str | None:
    data = _read(path)
    return None if data is None else sha256(data).hexdigest()


def inputs_digest(
    project_dir: str | os.PathLike[str],
    spec_file: str | os.PathLike[str] | None,
    env: Mapping[str, str],
) -> str | None:
    """The digest of every input of a render of this project; None without a pyproject."""
    project = os.path.abspath(project_dir)
    pyproject = _read(os.path.join(project, "pyproject.toml"))
    if pyproject is None:
        return None
    spec_path = os.path.abspath(spec_file) if spec_file is not None else ""
    spec = _read(spec_path or os.path.join(project, "uvtorch.toml"))
    parts = [
        package_digest().encode(),
        project.encode("utf-8", "surrogateescape"),
        spec_path.encode("utf-8", "surrogateescape"),
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
    for line in lines[:-2]:
        digest, _, relative = line.partition(" ")
        if not relative or _file_digest(os.path.join(project, relative)) != digest:
            return False
    return True


def remember(
    project_dir: str | os.PathLike[str],
    spec_file: str | os.PathLike[str] | None,
    env: Mapping[str, str],
    generated: list[str],
) -> None:
    """Record that the project's outputs are current (after a render found or made them so).

    `generated` are the generated files' paths relative to the project. A cache that cannot
    be written only costs speed, so every failure here is silent.
    """
    folder = records_dir(env)
    key = inputs_digest(project_dir, spec_file, env) if folder is not None else None
    if folder is None or key is None:
        return
    project = os.path.abspath(project_dir)
    lines = []
    for relative in generated:
        digest = _file_digest(os.path.join(project, relative))
        if digest is None or "\n" in relative:
            return
        lines.append(f"{digest} {relative}\n")
    lines.append(END + "\n")
    temporary = os.path.join(folder, f".{key}.{os.getpid()}.tmp")
    try:
        os.makedirs(folder, exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as file:
            file.writelines(lines)
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
    print(f"{label} and the generated files: up to date (unchanged)", file=sys.stderr)
    return 0
