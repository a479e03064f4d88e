"""Pure: the uv.lock data model, and what one environment (platform, Python, extras) installs
from it, and from which wheel. reader.py reads the file into it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property

from packaging import tags
from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.utils import canonicalize_name

from ..errors import LockError, shown
from ..platforms import Platform
from .wheel_tags import compatible_tags, wheel_tags

ROOT_SOURCES = ("virtual", "editable", "directory")

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
    """A wheel or sdist uv.lock records: its file name, where it is downloaded from (`url`;
    "path:<path>" for a local file, None when uv.lock names neither) and, when the index gave
    them, its size and hash ("sha256:<hex>"; without one uv cannot check what it installs)."""

    filename: str
    size: int | None
    url: str | None = None
    hash: str | None = None

    @property
    def tags(self) -> frozenset[tags.Tag]:
        """The wheel's compatibility tags (none for an sdist or an unparsable name)."""
        return wheel_tags(self.filename)


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


class Files:
    """A package's wheels and sdist: given read, or as a function that reads them from uv.lock's
    lines the first time they are asked for (most packages' files are never asked for: verify
    judges the torch family's, explain the sizes of what a target installs)."""

    __slots__ = ("_read", "_value")

    def __init__(
        self,
        wheels: tuple[Artifact, ...] = (),
        sdist: Artifact | None = None,
        *,
        read: Callable[[], tuple[tuple[Artifact, ...], Artifact | None]] | None = None,
    ) -> None:
        self._read = read
        self._value = None if read is not None else (wheels, sdist)

    def get(self) -> tuple[tuple[Artifact, ...], Artifact | None]:
        if self._value is None:
            assert self._read is not None
            self._value = self._read()
        return self._value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Files) and self.get() == other.get()

    def __hash__(self) -> int:
        return hash(self.get())

    def __repr__(self) -> str:
        return f"Files{self.get()!r}"


@dataclass(frozen=True)
class LockedPackage:
    """One [[package]] of uv.lock."""

    name: str
    version: str
    source: str  # the registry URL, or "virtual:.", "editable:." ...
    files: Files
    dependencies: tuple[Dependency, ...]
    optional: dict[str, tuple[Dependency, ...]] = field(hash=False)
    groups: dict[str, tuple[Dependency, ...]] = field(hash=False, default_factory=dict)
    # None when uv.lock has no [package.metadata] for this package (only roots have one).
    requires_dist: tuple[Requested, ...] | None = None
    # [package.metadata.requires-dev]: each dependency group as it was locked, includes
    # expanded
    requires_dev: dict[str, tuple[Requested, ...]] = field(hash=False, default_factory=dict)

    @property
    def wheels(self) -> tuple[Artifact, ...]:
        return self.files.get()[0]

    @property
    def sdist(self) -> Artifact | None:
        return self.files.get()[1]

    @property
    def artifacts(self) -> tuple[Artifact, ...]:
        """Every file uv.lock records for it: its wheels, then its sdist."""
        wheels, sdist = self.files.get()
        return (*wheels, sdist) if sdist is not None else wheels

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
    # [manifest]: [tool.uv] override-dependencies and constraint-dependencies as locked
    overrides: tuple[Requested, ...] = ()
    constraints: tuple[Requested, ...] = ()

    @cached_property
    def by_name(self) -> dict[str, tuple[LockedPackage, ...]]:
        """The packages of each canonical name (one per build: torch from PyPI, +cu124 ...)."""
        index: dict[str, list[LockedPackage]] = {}
        for package in self.packages:
            index.setdefault(package.name, []).append(package)
        return {name: tuple(packages) for name, packages in index.items()}

    @cached_property
    def _roots(self) -> tuple[LockedPackage, ...]:
        return tuple(p for p in self.packages if p.is_root)

    def root(self, name: str | None = None) -> LockedPackage:
        """The project at '.': the one named `name` when given (a workspace has several)."""
        roots = self._roots
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
        envs = _active_envs(root.name, environment, extras, groups)
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

    def requirements_in(
        self,
        package: LockedPackage,
        environment: Mapping[str, str],
        extras: tuple[str, ...] = (),
        groups: tuple[str, ...] = (),
        project: str | None = None,
    ) -> list[tuple[Dependency, LockedPackage | None]]:
        """What `package` requires in `environment` with the root's `extras` and `groups`
        active (markers read as `resolve` reads them), each with the package uv.lock resolves
        it to (None: uv.lock holds no such package)."""
        envs = _active_envs(self.root(project).name, environment, extras, groups)
        return [
            (dependency, self._find(dependency))
            for dependency in package.dependencies
            if not dependency.marker or any(evaluate(dependency.marker, env) for env in envs)
        ]

    def _find(self, dependency: Dependency) -> LockedPackage | None:
        for package in self.by_name.get(dependency.name, ()):
            if dependency.version is not None and package.version != dependency.version:
                continue
            if dependency.source is not None and package.source != dependency.source:
                continue
            return package
        return None


def _active_envs(
    root: str, environment: Mapping[str, str], extras: tuple[str, ...], groups: tuple[str, ...]
) -> list[Environment]:
    """The environments a marker is evaluated in: `extra` set to each active extra or group, as
    uv writes them in markers (`extra == 'extra-<len>-<project>-<extra>'`)."""
    active = [_conflict_name(root, "extra", e) for e in extras]
    active += [_conflict_name(root, "group", g) for g in groups]
    return [_frozen({**environment, "extra": name}) for name in active or [""]]


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
        raise LockError(f"holds a marker uv would not write: {shown(text)}") from None  # parse_lock
        # checks every marker first and names the file


@cache
def evaluate(marker: str, environment: Environment) -> bool:
    """Whether `marker` holds in `environment` (see `_frozen`); cached on both."""
    try:
        return parse_marker(marker).evaluate(dict(environment))
    except (UndefinedComparison, UndefinedEnvironmentName) as error:
        raise LockError(
            f"holds a marker that cannot be evaluated: {shown(marker)} ({error})"
        ) from None
