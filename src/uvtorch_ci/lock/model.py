"""Pure: the uv.lock data model, and what one environment (platform, Python, extras) installs
from it, and from which wheel. reader.py reads the file into it."""

from __future__ import annotations

from collections.abc import Mapping
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
    it, its size."""

    filename: str
    size: int | None
    url: str | None = None

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
