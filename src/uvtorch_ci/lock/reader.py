"""Pure: uv.lock text -> Lock, refusing (LockError, exit 2) a file that is not TOML or holds a
[[package]] entry, a conflict or a marker uv would not write."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import unquote

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import (
    HUGE_NUMBER_MESSAGE,
    LockError,
    shown,
    toml_error_place,
    toml_huge_number_line,
)
from .layout import PACKAGE, Scanned, ScannedDependency, scan, split
from .model import Artifact, Dependency, Files, Lock, LockedPackage, Requested, parse_marker


class _Malformed(Exception):
    """One value of a [[package]] entry that uv would not write, in words (caught in
    parse_lock, which names the file and the package)."""


def _table(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise _Malformed(f"{what} must be a table")
    return raw


def _array(raw: object, what: str) -> list[Any]:
    if not isinstance(raw, list):
        raise _Malformed(f"{what} must be an array")
    return raw


def _text(raw: object, what: str) -> str:
    if not isinstance(raw, str):
        raise _Malformed(f"{what} must be a string, not {shown(raw)}")
    return raw


def _optional_text(raw: Mapping[str, Any], key: str, what: str) -> str | None:
    return _text(raw[key], f"{what}'s {key}") if key in raw else None


def _source(raw: object, what: str) -> str | None:
    if raw is None:
        return None
    table = _table(raw, f"{what}'s source")
    if len(table) != 1:
        raise _Malformed(
            f"{what}'s source must name one kind (registry, virtual, editable, git ...), "
            f"not {shown(dict(table))}"
        )
    kind, value = next(iter(table.items()))
    return _source_text((kind, _text(value, f"{what}'s source {kind}")))


def _source_text(source: tuple[str, str]) -> str:
    """A source as the model holds it: the registry's URL, else "kind:value" ("virtual:.")."""
    kind, value = source
    return value if kind == "registry" else f"{kind}:{value}"


def _dependencies(items: object, what: str) -> tuple[Dependency, ...]:
    out = []
    for i, raw in enumerate(_array(items, what)):
        item = _table(raw, f"{what}[{i}]")
        if "name" not in item:
            raise _Malformed(f"{what}[{i}] has no 'name' key")
        name = _text(item["name"], f"{what}[{i}]'s name")
        where = f"the dependency on {name}"
        marker = _optional_text(item, "marker", where)  # parsed in parse_lock
        extras = _array(item.get("extra", []), f"{where}'s extra")
        out.append(
            Dependency(
                name=canonicalize_name(name),
                version=_optional_text(item, "version", where),
                source=_source(item.get("source"), where),
                marker=marker,
                extras=tuple(canonicalize_name(_text(e, f"{where}'s extra")) for e in extras),
            )
        )
    return tuple(out)


def _artifact(raw: object, what: str) -> Artifact:
    table = _table(raw, what)
    url = _optional_text(table, "url", what)
    path = _optional_text(table, "path", what)
    filename = _optional_text(table, "filename", what)
    location = url or path or filename or ""
    size = table.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise _Malformed(f"{what}'s size must be a whole number of bytes, not {shown(size)}")
    return Artifact(
        filename=unquote(location.rsplit("/", 1)[-1]),
        size=size,
        url=url if url is not None else (f"path:{path}" if path is not None else None),
        hash=_optional_text(table, "hash", what),
    )


def _requested(items: object, what: str = "requires-dist") -> tuple[Requested, ...]:
    out = []
    for i, raw in enumerate(_array(items, f"metadata's {what}")):
        item = _table(raw, f"{what}[{i}]")
        if "name" not in item:
            raise _Malformed(f"{what}[{i}] has no 'name' key")
        name = _text(item["name"], f"{what}[{i}]'s name")
        where = f"{what}'s {name}"
        source = _optional_text(item, "index", where)
        for kind in ("git", "url", "path", "editable", "directory", "virtual"):
            if kind in item:
                source = kind if kind in ("git", "url") else "path"
        extras = _array(item.get("extras", []), f"{where}'s extras")
        out.append(
            Requested(
                name=canonicalize_name(name),
                specifier=_optional_text(item, "specifier", where) or "",
                marker=_optional_text(item, "marker", where),
                source=source,
                extras=tuple(sorted(canonicalize_name(_text(e, where)) for e in extras)),
            )
        )
    return tuple(out)


def _version_problem(version: str) -> str | None:
    """What is wrong with a package's version as uv writes it: a PEP 440 version (a newline
    or a workflow command in it would end up in verify's table), or none (a dynamic one)."""
    if not version:
        return None
    try:
        Version(version)
    except InvalidVersion:
        return f"version {shown(version)} is not a version (PEP 440)"
    return None


def _package(raw: Mapping[str, Any]) -> LockedPackage:
    metadata = raw.get("metadata")
    sdist = raw.get("sdist")
    version = str(raw.get("version", ""))
    if (problem := _version_problem(version)) is not None:
        raise _Malformed(problem)
    return LockedPackage(
        name=canonicalize_name(raw["name"]),
        version=version,
        source=_source(raw.get("source"), "the package") or "",
        files=Files(
            tuple(_artifact(w, f"wheels[{i}]") for i, w in enumerate(raw.get("wheels", []))),
            _artifact(sdist, "sdist") if sdist is not None else None,
        ),
        dependencies=_dependencies(raw.get("dependencies", []), "dependencies"),
        optional={
            canonicalize_name(extra): _dependencies(items, f"optional-dependencies.{extra}")
            for extra, items in raw.get("optional-dependencies", {}).items()
        },
        groups={
            canonicalize_name(group): _dependencies(items, f"dev-dependencies.{group}")
            for group, items in raw.get("dev-dependencies", {}).items()
        },
        requires_dist=(
            _requested(metadata.get("requires-dist", [])) if isinstance(metadata, dict) else None
        ),
        requires_dev=_requires_dev(metadata),
    )


def _requires_dev(metadata: object) -> dict[str, tuple[Requested, ...]]:
    if not isinstance(metadata, dict):
        return {}
    groups = _table(metadata.get("requires-dev", {}), "metadata's requires-dev")
    return {
        canonicalize_name(group): _requested(items, f"requires-dev.{group}")
        for group, items in groups.items()
    }


HINT = "run `uv lock` to write it again"


def parse_lock(text: str, file: str = "uv.lock", *, by_layout: bool = True) -> Lock:
    """uv.lock text -> Lock; LockError (exit 2) when it is not TOML or not a uv lock file.

    A lock in uv's own layout is read by layout.py, its files left as lines until asked for;
    any other text (or any, `by_layout=False`) is read whole with tomllib. Both give the same
    Lock."""
    layout = split(text) if by_layout else None
    if layout is not None:
        lock = _from_layout(*layout, file)
        if lock is not None:
            return lock
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message, where = toml_error_place(error, text)
        raise LockError(f"not valid TOML: {message} (at {where})", file=file, hint=HINT) from None
    except ValueError:  # int() refused a number of thousands of digits
        where = f"line {toml_huge_number_line(text)}"
        raise LockError(
            f"not valid TOML here: {HUGE_NUMBER_MESSAGE}", file=file, where=where, hint=HINT
        ) from None
    if not isinstance(data.get("version"), int) or not isinstance(data.get("package"), list):
        raise LockError("is not a uv lock file (no version or [[package]])", file=file, hint=HINT)
    packages = tuple(_entry(raw, i, file) for i, raw in enumerate(data["package"]))
    return _lock(data, packages, file)


def _from_layout(header: str, blocks: list[str], file: str) -> Lock | None:
    """The Lock of a text in uv's layout, or None when the text is not (tomllib decides)."""
    try:
        data = tomllib.loads(header)
    except ValueError:  # a TOMLDecodeError, or a number too long: tomllib reports it whole
        return None
    if not blocks or not isinstance(data.get("version"), int) or "package" in data:
        return None
    packages = []
    for i, block in enumerate(blocks):
        scanned = scan(block)
        if scanned is not None:
            packages.append(_scanned(scanned, i, file))
            continue
        try:
            tables = tomllib.loads(f"{PACKAGE}\n{block}")["package"]
        except (ValueError, KeyError):  # ValueError: a TOMLDecodeError, or a number too long
            return None
        if not isinstance(tables, list) or len(tables) != 1:
            return None
        packages.append(_entry(tables[0], i, file))
    return _lock(data, tuple(packages), file)


def _entry(raw: object, i: int, file: str) -> LockedPackage:
    """One [[package]] table, or the LockError that names it."""
    problem = _shape_problem(raw)
    if problem is None:
        try:
            return _package(raw)  # type: ignore[arg-type]  # a dict: _shape_problem says so
        except _Malformed as error:
            problem = str(error)
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            problem = _what_is_wrong(error)
    name = raw.get("name") if isinstance(raw, dict) else None
    raise _refused(problem, i, name if isinstance(name, str) else None, file)


def _refused(problem: str, i: int, name: str | None, file: str) -> LockError:
    return LockError(
        f"is a [[package]] entry uv would not write ({problem})",
        file=file,
        where=f"package[{i}]" + (f" ({name})" if name is not None else ""),
        hint=HINT,
    )


def _scanned(scanned: Scanned, i: int, file: str) -> LockedPackage:
    """A package read by layout: its files read from their lines when first asked for."""

    def read() -> tuple[tuple[Artifact, ...], Artifact | None]:
        lines = "\n".join(scanned.files)
        try:
            raw = tomllib.loads(lines)
        except tomllib.TOMLDecodeError:
            raw = {"wheels": None}  # reported below as uv would not write it
        except ValueError:  # int() refused a number of thousands of digits
            raise _refused(HUGE_NUMBER_MESSAGE, i, scanned.name, file) from None
        return _entry({"name": scanned.name, **raw}, i, file).files.get()

    if (problem := _version_problem(scanned.version)) is not None:
        raise _refused(problem, i, scanned.name, file)
    return LockedPackage(
        name=_canonical(scanned.name),
        version=scanned.version,
        source=_source_text(scanned.source) if scanned.source is not None else "",
        files=Files(read=read),
        dependencies=_scanned_dependencies(scanned.dependencies),
        optional={_canonical(k): _scanned_dependencies(v) for k, v in scanned.optional.items()},
        groups={_canonical(k): _scanned_dependencies(v) for k, v in scanned.groups.items()},
    )


def _scanned_dependencies(items: tuple[ScannedDependency, ...]) -> tuple[Dependency, ...]:
    return tuple(
        Dependency(
            name=canonicalize_name(name),
            version=version,
            source=None if source is None else _source_text(source),
            marker=marker,
            extras=tuple(_canonical(e) for e in extras),
        )
        for name, version, source, extras, marker in items
    )


@cache
def _canonical(name: str) -> str:
    """canonicalize_name, once per name: a lock names each package many times."""
    return canonicalize_name(name)


def _lock(data: Mapping[str, Any], packages: tuple[LockedPackage, ...], file: str) -> Lock:
    """The Lock of a parsed header and its packages; LockError for what uv would not write."""
    _refuse_duplicates(packages, file)
    try:
        requires_python = _requires_python(data.get("requires-python", ""))
        markers = {key: _markers(data, key) for key in ("supported-markers", "required-markers")}
    except _Malformed as error:
        raise LockError(str(error), file=file, hint=HINT) from None
    try:
        conflicts = frozenset(
            frozenset(
                (
                    canonicalize_name(item["package"]),
                    "extra" if "extra" in item else "group",
                    canonicalize_name(item.get("extra") or item["group"]),
                )
                for item in group
            )
            for group in data.get("conflicts", [])
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise LockError(
            f"is not what uv would write ({_what_is_wrong(error)})",
            file=file,
            where="conflicts",
            hint=HINT,
        ) from None
    try:
        manifest = _table(data.get("manifest", {}), "manifest")
        overrides = _requested(manifest.get("overrides", []), "manifest's overrides")
        constraints = _requested(manifest.get("constraints", []), "manifest's constraints")
    except _Malformed as error:
        raise LockError(str(error), file=file, where="manifest", hint=HINT) from None
    lock = Lock(
        packages,
        requires_python,
        supported_markers=markers["supported-markers"],
        required_markers=markers["required-markers"],
        conflicts=conflicts,
        file=file,
        overrides=overrides,
        constraints=constraints,
    )
    seen: set[str] = set()
    for i, package in enumerate(packages):  # every marker must parse: fail here, not later
        for dependency in (*package.dependencies, *_all(package.optional), *_all(package.groups)):
            if dependency.marker and dependency.marker not in seen:
                seen.add(dependency.marker)
                try:
                    parse_marker(dependency.marker)
                except LockError as error:
                    raise LockError(
                        f"{error.message} (in the dependency on {dependency.name})",
                        file=file,
                        where=f"package[{i}] ({package.name})",
                        hint=HINT,
                    ) from None
    return lock


_SHAPES: dict[str, tuple[type, str]] = {
    "name": (str, "a string"),
    "version": (str, "a string"),
    "source": (dict, "a table"),
    "dependencies": (list, "an array"),
    "wheels": (list, "an array"),
    "sdist": (dict, "a table"),
    "optional-dependencies": (dict, "a table"),
    "dev-dependencies": (dict, "a table"),
    "metadata": (dict, "a table"),
}


def _shape_problem(raw: object) -> str | None:
    """What is wrong with the keys of one [[package]] table, in words; None if nothing."""
    if not isinstance(raw, dict):
        return "not a table"
    if "name" not in raw:
        return "no 'name' key"
    for key, (kind, words) in _SHAPES.items():
        if key in raw and not isinstance(raw[key], kind):
            return f"{key} must be {words}"
    return None


def _markers(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """`supported-markers` or `required-markers`: an array of markers, each one parsed."""
    out = []
    for i, raw in enumerate(_array(data.get(key, []), key)):
        marker = _text(raw, f"{key}[{i}]")
        try:
            parse_marker(marker)
        except LockError as error:
            raise _Malformed(f"{key}[{i}] is {error.message.removeprefix('holds ')}") from None
        out.append(marker)
    return tuple(out)


def _requires_python(raw: object) -> str:
    """The lock's requires-python: a specifier set, as uv writes it (">=3.11")."""
    text = _text(raw, "requires-python")
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        raise _Malformed(
            f"requires-python {shown(text)} is not a version specifier (PEP 440)"
        ) from None
    return text


def _refuse_duplicates(packages: tuple[LockedPackage, ...], file: str) -> None:
    """uv writes each package (name, version, source) once; a second entry would be
    judged as if it were another build."""
    seen: dict[tuple[str, str, str], int] = {}
    for i, package in enumerate(packages):
        key = (package.name, package.version, package.source)
        if key in seen:
            same = f"{package.name} {package.version or ''} from {package.source or 'no source'}"
            raise _refused(
                f"the same package as package[{seen[key]}]: {same}", i, package.name, file
            )
        seen[key] = i


def _what_is_wrong(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} key"
    return f"a value of the wrong type: {error}"


def _all(table: dict[str, tuple[Dependency, ...]]) -> tuple[Dependency, ...]:
    return tuple(d for items in table.values() for d in items)
