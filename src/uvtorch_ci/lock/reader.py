"""Pure: uv.lock text -> Lock, refusing (LockError, exit 2) a file that is not TOML or holds a
[[package]] entry, a conflict or a marker uv would not write."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from packaging.utils import canonicalize_name

from ..errors import LockError, toml_error_place
from .model import Artifact, Dependency, Lock, LockedPackage, Requested, parse_marker


def _source(raw: Mapping[str, Any] | None) -> str | None:
    if raw is None:
        return None
    kind, value = next(iter(raw.items()))
    return value if kind == "registry" else f"{kind}:{value}"


def _dependencies(items: list[Mapping[str, Any]]) -> tuple[Dependency, ...]:
    return tuple(
        Dependency(
            name=canonicalize_name(item["name"]),
            version=item.get("version"),
            source=_source(item.get("source")),
            marker=item.get("marker"),
            extras=tuple(canonicalize_name(e) for e in item.get("extra", ())),
        )
        for item in items
    )


def _artifact(raw: Mapping[str, Any]) -> Artifact:
    location = str(raw.get("url") or raw.get("path") or raw.get("filename") or "")
    size = raw.get("size")
    return Artifact(
        filename=unquote(location.rsplit("/", 1)[-1]),
        size=size if isinstance(size, int) else None,
    )


def _requested(items: list[Mapping[str, Any]]) -> tuple[Requested, ...]:
    out = []
    for item in items:
        source = item.get("index")
        for kind in ("git", "url", "path", "editable", "directory"):
            if kind in item:
                source = "path" if kind in ("editable", "directory") else kind
        out.append(
            Requested(
                name=canonicalize_name(item["name"]),
                specifier=str(item.get("specifier", "")),
                marker=item.get("marker"),
                source=source,
                extras=tuple(sorted(canonicalize_name(e) for e in item.get("extras", ()))),
            )
        )
    return tuple(out)


def _package(raw: Mapping[str, Any]) -> LockedPackage:
    metadata = raw.get("metadata")
    sdist = raw.get("sdist")
    return LockedPackage(
        name=canonicalize_name(raw["name"]),
        version=str(raw.get("version", "")),
        source=_source(raw.get("source")) or "",
        wheels=tuple(_artifact(w) for w in raw.get("wheels", [])),
        sdist=_artifact(sdist) if isinstance(sdist, dict) else None,
        dependencies=_dependencies(raw.get("dependencies", [])),
        optional={
            canonicalize_name(extra): _dependencies(items)
            for extra, items in raw.get("optional-dependencies", {}).items()
        },
        groups={
            canonicalize_name(group): _dependencies(items)
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
        lock = Lock(
            packages,
            str(data.get("requires-python", "")),
            supported_markers=tuple(str(m) for m in data.get("supported-markers", [])),
            required_markers=tuple(str(m) for m in data.get("required-markers", [])),
            conflicts=conflicts,
            file=file,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise LockError(
            f"is not what uv would write ({_what_is_wrong(error)})",
            file=file,
            where="conflicts / supported-markers / required-markers",
            hint=hint,
        ) from None
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


def _what_is_wrong(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} key"
    return f"a value of the wrong type: {error}"


def _all(table: dict[str, tuple[Dependency, ...]]) -> tuple[Dependency, ...]:
    return tuple(d for items in table.values() for d in items)
