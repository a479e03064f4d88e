"""Pure: read uv.lock and find what one environment (platform, Python, extras) installs, and from
which wheel."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any
from urllib.parse import unquote

from packaging import tags
from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from .errors import LockError
from .platforms import PLATFORMS, Platform
from .tomltext import decode_error_place

ROOT_SOURCES = ("virtual", "editable", "directory")
# The newest system each platform's default GitHub-hosted runner has: a wheel tagged for a newer
# glibc or macOS does not install there (ubuntu-24.04: glibc 2.39; macos-15).
GLIBC = (2, 39)
MACOS = (15, 0)
# Legacy manylinux aliases (PEP 600): manylinux1 = 2.5, manylinux2010 = 2.12, manylinux2014 = 2.17.
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}

Environment = tuple[tuple[str, str], ...]  # a marker environment, hashable for the caches


@dataclass(frozen=True)
class Dependency:
    """One entry of a package's `dependencies` (or optional/dev dependencies) in uv.lock."""

    name: str
    version: str | None
    source: str | None
    marker: str | None
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class Artifact:
    """A wheel or sdist uv.lock records: its file name and, when the index gave it, its size."""

    filename: str
    size: int | None

    @property
    def tags(self) -> frozenset[tags.Tag]:
        """The wheel's compatibility tags (none for an sdist or an unparsable name)."""
        return _wheel_tags(self.filename)


@dataclass(frozen=True)
class Requested:
    """One entry of the root's `[package.metadata] requires-dist`: what pyproject.toml asked
    for when the lock was made. `source` is the index URL, or "git", "url", "path" for a
    direct source, or None for the default index."""

    name: str
    specifier: str
    marker: str | None
    source: str | None
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class LockedPackage:
    """One [[package]] of uv.lock."""

    name: str
    version: str
    source: str  # the registry URL, or "virtual:.", "editable:." ...
    wheels: tuple[Artifact, ...]
    sdist: Artifact | None
    dependencies: tuple[Dependency, ...]
    optional: dict[str, tuple[Dependency, ...]] = field(hash=False)
    groups: dict[str, tuple[Dependency, ...]] = field(hash=False, default_factory=dict)
    # None when uv.lock has no [package.metadata] for this package (only roots have one).
    requires_dist: tuple[Requested, ...] | None = None

    @property
    def is_root(self) -> bool:
        return self.source.partition(":")[0] in ROOT_SOURCES and self.source.endswith(":.")

    def best_artifact(self, platform: Platform, python: str) -> Artifact | None:
        """The wheel uv would install on CPython `python` on `platform` (the best-ranked tag),
        else the sdist it would build, else None."""
        return self.best_wheel(platform, python) or self.sdist

    def best_wheel(self, platform: Platform, python: str) -> Artifact | None:
        ranks = compatible_tags(platform.name, python)
        best: tuple[int, Artifact] | None = None
        for wheel in self.wheels:
            rank = min((ranks[tag] for tag in wheel.tags if tag in ranks), default=None)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, wheel)
        return best[1] if best else None


@dataclass(frozen=True)
class Lock:
    packages: tuple[LockedPackage, ...]
    requires_python: str
    supported_markers: tuple[str, ...] = ()  # [tool.uv] environments, as uv.lock records them
    required_markers: tuple[str, ...] = ()  # [tool.uv] required-environments
    conflicts: frozenset[frozenset[tuple[str, str, str]]] = frozenset()  # (package, kind, name)
    file: str = "uv.lock"  # how errors name it: the path as the user gave it

    @cached_property
    def by_name(self) -> dict[str, tuple[LockedPackage, ...]]:
        """The packages of each canonical name (one per build: torch from PyPI, +cu124 ...)."""
        index: dict[str, list[LockedPackage]] = {}
        for package in self.packages:
            index.setdefault(package.name, []).append(package)
        return {name: tuple(packages) for name, packages in index.items()}

    def root(self, name: str | None = None) -> LockedPackage:
        """The project at '.': the one named `name` when given (a workspace has several)."""
        roots = [p for p in self.packages if p.is_root]
        for package in roots:
            if name is None or package.name == canonicalize_name(name):
                return package
        if roots and name is None:
            return roots[0]
        what = f"no project named {name!r}" if name else "no root package (a project at '.')"
        raise LockError(f"has {what}", file=self.file, hint="run `uv lock`")

    def covers(self, environment: Mapping[str, str]) -> bool:
        """False when `environments` in [tool.uv] leaves `environment` out of the lock."""
        env = _frozen(environment)
        return not self.supported_markers or any(evaluate(m, env) for m in self.supported_markers)

    def resolve(
        self,
        environment: Mapping[str, str],
        extras: tuple[str, ...] = (),
        groups: tuple[str, ...] = (),
        project: str | None = None,
    ) -> dict[str, LockedPackage]:
        """Every package `uv sync` installs in `environment`, by canonical name.

        `extras` and `groups` are the root's extras and dependency groups to include. uv writes
        a conflicting extra in markers as `extra == 'extra-<len>-<project>-<extra>'` (groups:
        `group-...`); markers are evaluated with `extra` set to each active one in turn, which
        is exact when at most one extra of each conflict set is active, as `uv sync` requires.
        """
        root = self.root(project)
        queue: list[Dependency] = list(root.dependencies)
        for extra in extras:
            queue += root.optional.get(extra, ())
        for group in groups:
            queue += root.groups.get(group, ())
        active = [_conflict_name(root.name, "extra", e) for e in extras]
        active += [_conflict_name(root.name, "group", g) for g in groups]
        envs = [_frozen({**environment, "extra": name}) for name in active or [""]]
        found: dict[str, LockedPackage] = {}
        seen: set[Dependency] = set()
        while queue:
            dependency = queue.pop()
            if dependency in seen:
                continue
            seen.add(dependency)
            if dependency.marker and not any(evaluate(dependency.marker, env) for env in envs):
                continue
            package = self._find(dependency)
            if package is None:
                continue
            found.setdefault(package.name, package)
            queue += package.dependencies
            for extra in dependency.extras:
                queue += package.optional.get(extra, ())
        return found

    def _find(self, dependency: Dependency) -> LockedPackage | None:
        for package in self.by_name.get(dependency.name, ()):
            if dependency.version is not None and package.version != dependency.version:
                continue
            if dependency.source is not None and package.source != dependency.source:
                continue
            return package
        return None


def _conflict_name(project: str, kind: str, name: str) -> str:
    return f"{kind}-{len(project)}-{project}-{canonicalize_name(name)}"


def _frozen(environment: Mapping[str, str]) -> Environment:
    return tuple(sorted(environment.items()))


@cache
def parse_marker(text: str) -> Marker:
    """A parsed marker; uv.lock repeats the same few markers hundreds of times."""
    try:
        return Marker(text)
    except InvalidMarker:
        raise LockError(f"holds a marker uv would not write: {text!r}") from None  # parse_lock
        # checks every marker first and names the file


@cache
def evaluate(marker: str, environment: Environment) -> bool:
    """Whether `marker` holds in `environment` (see `_frozen`); cached on both."""
    try:
        return parse_marker(marker).evaluate(dict(environment))
    except (UndefinedComparison, UndefinedEnvironmentName) as error:
        raise LockError(f"holds a marker that cannot be evaluated: {marker!r} ({error})") from None


@cache
def _wheel_tags(filename: str) -> frozenset[tags.Tag]:
    if not filename.endswith(".whl"):
        return frozenset()
    try:
        return parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return frozenset()


def platform_tags(platform: Platform) -> list[str]:
    """The platform tags a wheel may carry to install on `platform`, best first."""
    os, arch = platform.sys_platform, platform.machine
    if os == "win32":
        return {"AMD64": ["win_amd64"], "ARM64": ["win_arm64"]}.get(arch, [f"win_{arch.lower()}"])
    if os == "darwin":
        return list(tags.mac_platforms(MACOS, arch))
    out: list[str] = []
    for minor in range(GLIBC[1], 4, -1):
        out.append(f"manylinux_{GLIBC[0]}_{minor}_{arch}")
        legacy = _LEGACY_MANYLINUX.get((GLIBC[0], minor))
        if legacy and (arch in ("x86_64", "i686") or minor >= 17):
            out.append(f"{legacy}_{arch}")
    return [*out, f"linux_{arch}"]


@cache
def compatible_tags(platform: str, python: str) -> dict[tags.Tag, int]:
    """Every wheel tag CPython `python` accepts on the platform named `platform`, with its
    rank (0 is the best). abi3 and `none` wheels are included, as pip and uv accept them."""
    version = tuple(int(part) for part in python.split("."))
    interpreter = f"cp{version[0]}{version[1]}"
    platforms = platform_tags(PLATFORMS[platform])
    ordered = [
        *tags.cpython_tags(version, [interpreter], platforms),
        *tags.compatible_tags(version, interpreter, platforms),
    ]
    ranks: dict[tags.Tag, int] = {}
    for tag in ordered:
        ranks.setdefault(tag, len(ranks))
    return ranks


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
        message, where = decode_error_place(error, text)
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
