"""Pure: read uv.lock and find the packages one environment (platform, Python, extras) installs."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name

from .errors import LockError
from .platforms import Platform

_SYSTEMS = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str | None
    source: str | None
    marker: str | None


@dataclass(frozen=True)
class LockedPackage:
    """One [[package]] of uv.lock."""

    name: str
    version: str
    source: str  # the registry URL, or "virtual:.", "editable:." ...
    wheels: tuple[str, ...]  # wheel file names
    dependencies: tuple[Dependency, ...]
    optional: dict[str, tuple[Dependency, ...]] = field(hash=False)

    @property
    def is_root(self) -> bool:
        return self.source in ("virtual:.", "editable:.", "directory:.")


@dataclass(frozen=True)
class Lock:
    packages: tuple[LockedPackage, ...]
    requires_python: str

    def root(self) -> LockedPackage:
        for package in self.packages:
            if package.is_root:
                return package
        raise LockError("has no root package (a project at '.')", file="uv.lock")

    def resolve(
        self, environment: Mapping[str, str], extras: tuple[str, ...] = ()
    ) -> dict[str, LockedPackage]:
        """Every package installed in `environment`, by canonical name."""
        root = self.root()
        found: dict[str, LockedPackage] = {}
        queue: list[Dependency] = list(root.dependencies)
        for extra in extras:
            queue += root.optional.get(extra, ())
        seen: set[tuple[str, str | None, str | None]] = set()
        while queue:
            dependency = queue.pop()
            key = (dependency.name, dependency.version, dependency.source)
            if key in seen or not _applies(dependency.marker, environment, extras, root.name):
                continue
            seen.add(key)
            package = self._find(dependency)
            if package is None:
                continue
            found[package.name] = package
            queue += package.dependencies
        return found

    def _find(self, dependency: Dependency) -> LockedPackage | None:
        for package in self.packages:
            if package.name != dependency.name:
                continue
            if dependency.version is not None and package.version != dependency.version:
                continue
            if dependency.source is not None and package.source != dependency.source:
                continue
            return package
        return None


def marker_environment(platform: Platform, python: str) -> dict[str, str]:
    """The PEP 508 environment of CPython `python` on `platform`."""
    return {
        "sys_platform": platform.sys_platform,
        "platform_machine": platform.machine,
        "platform_system": _SYSTEMS[platform.sys_platform],
        "os_name": "nt" if platform.sys_platform == "win32" else "posix",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "implementation_version": f"{python}.0",
        "extra": "",
    }


def _applies(
    marker: str | None, environment: Mapping[str, str], extras: tuple[str, ...], project: str
) -> bool:
    if not marker:
        return True
    try:
        parsed = Marker(marker)
    except InvalidMarker:
        raise LockError(f"holds a marker uv.lock should not: {marker!r}", file="uv.lock") from None
    # uv writes conflicting extras as `extra == 'extra-<len>-<project>-<extra>'`.
    candidates = [""] + [f"extra-{len(project)}-{project}-{e}" for e in extras] + list(extras)
    return any(parsed.evaluate({**environment, "extra": extra}) for extra in candidates)


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
        )
        for item in items
    )


def parse_lock(text: str, file: str = "uv.lock") -> Lock:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise LockError(f"not valid TOML: {error}", file=file) from None
    if not isinstance(data.get("version"), int) or "package" not in data:
        raise LockError("is not a uv lock file (no version or [[package]])", file=file)
    packages = []
    try:
        for raw in data["package"]:
            packages.append(
                LockedPackage(
                    name=canonicalize_name(raw["name"]),
                    version=str(raw.get("version", "")),
                    source=_source(raw.get("source")) or "",
                    wheels=tuple(
                        w.get("url", w.get("path", "")).rsplit("/", 1)[-1]
                        for w in raw.get("wheels", [])
                    ),
                    dependencies=_dependencies(raw.get("dependencies", [])),
                    optional={
                        extra: _dependencies(items)
                        for extra, items in raw.get("optional-dependencies", {}).items()
                    },
                )
            )
    except (KeyError, TypeError, AttributeError) as error:
        raise LockError(
            f"has a [[package]] entry uv would not write ({error})", file=file
        ) from None
    return Lock(tuple(packages), str(data.get("requires-python", "")))
