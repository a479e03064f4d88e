"""Pure: uv.lock text -> Lock, refusing (LockError, exit 2) a file that is not TOML or holds a
[[package]] entry, a conflict or a marker uv would not write."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
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
from .model import Artifact, Dependency, Lock, LockedPackage, Requested, parse_marker


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
    value = _text(value, f"{what}'s source {kind}")
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
    )


def _requested(items: object) -> tuple[Requested, ...]:
    out = []
    for i, raw in enumerate(_array(items, "metadata's requires-dist")):
        item = _table(raw, f"requires-dist[{i}]")
        if "name" not in item:
            raise _Malformed(f"requires-dist[{i}] has no 'name' key")
        name = _text(item["name"], f"requires-dist[{i}]'s name")
        where = f"requires-dist's {name}"
        source = _optional_text(item, "index", where)
        for kind in ("git", "url", "path", "editable", "directory"):
            if kind in item:
                source = "path" if kind in ("editable", "directory") else kind
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


def _version(raw: Mapping[str, Any]) -> str:
    """The package's version as uv writes it: a PEP 440 version (a newline or a workflow
    command in it would end up in verify's table), or none (a dynamic version)."""
    version = str(raw.get("version", ""))
    if version:
        try:
            Version(version)
        except InvalidVersion:
            raise _Malformed(f"version {shown(version)} is not a version (PEP 440)") from None
    return version


def _package(raw: Mapping[str, Any]) -> LockedPackage:
    metadata = raw.get("metadata")
    sdist = raw.get("sdist")
    return LockedPackage(
        name=canonicalize_name(raw["name"]),
        version=_version(raw),
        source=_source(raw.get("source"), "the package") or "",
        wheels=tuple(_artifact(w, f"wheels[{i}]") for i, w in enumerate(raw.get("wheels", []))),
        sdist=_artifact(sdist, "sdist") if sdist is not None else None,
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
    )


def parse_lock(text: str, file: str = "uv.lock") -> Lock:
    """uv.lock text -> Lock; LockError (exit 2) when it is not TOML or not a uv lock file."""
    hint = "run `uv lock` to write it again"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message, where = toml_error_place(error, text)
        raise LockError(f"not valid TOML: {message} (at {where})", file=file, hint=hint) from None
    except ValueError:  # int() refused a number of thousands of digits
        where = f"line {toml_huge_number_line(text)}"
        raise LockError(
            f"not valid TOML here: {HUGE_NUMBER_MESSAGE}", file=file, where=where, hint=hint
        ) from None
    if not isinstance(data.get("version"), int) or not isinstance(data.get("package"), list):
        raise LockError(
            "is not a uv lock file (no version or [[package]])",
            file=file,
            hint="run `uv lock` to write it again",
        )
    parsed = []
    for i, raw in enumerate(data["package"]):
        problem = _shape_problem(raw)
        if problem is None:
            try:
                parsed.append(_package(raw))
                continue
            except _Malformed as error:
                problem = str(error)
            except (KeyError, TypeError, AttributeError, ValueError) as error:
                problem = _what_is_wrong(error)
        name = raw.get("name") if isinstance(raw, dict) else None
        raise LockError(
            f"is a [[package]] entry uv would not write ({problem})",
            file=file,
            where=f"package[{i}]" + (f" ({name})" if isinstance(name, str) else ""),
            hint=hint,
        )
    packages = tuple(parsed)
    _refuse_duplicates(packages, file)
    try:
        requires_python = _requires_python(data.get("requires-python", ""))
        markers = {key: _markers(data, key) for key in ("supported-markers", "required-markers")}
    except _Malformed as error:
        raise LockError(str(error), file=file, hint=hint) from None
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
            hint=hint,
        ) from None
    lock = Lock(
        packages,
        requires_python,
        supported_markers=markers["supported-markers"],
        required_markers=markers["required-markers"],
        conflicts=conflicts,
        file=file,
    )
    for i, package in enumerate(packages):  # every marker must parse: fail here, not later
        for dependency in (*package.dependencies, *_all(package.optional), *_all(package.groups)):
            if dependency.marker:
                try:
                    parse_marker(dependency.marker)
                except LockError as error:
                    raise LockError(
                        f"{error.message} (in the dependency on {dependency.name})",
                        file=file,
                        where=f"package[{i}] ({package.name})",
                        hint=hint,
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
            raise LockError(
                f"is a [[package]] entry uv would not write (the same package as "
                f"package[{seen[key]}]: {package.name} {package.version or ''} from "
                f"{package.source or 'no source'})",
                file=file,
                where=f"package[{i}] ({package.name})",
                hint="run `uv lock` to write it again",
            )
        seen[key] = i


def _what_is_wrong(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} key"
    return f"a value of the wrong type: {error}"


def _all(table: dict[str, tuple[Dependency, ...]]) -> tuple[Dependency, ...]:
    return tuple(d for items in table.values() for d in items)
