"""Pure: is uv.lock older than pyproject.toml? Compares what pyproject.toml declares now with
what uv.lock records it was locked from (requires-dist, environments, conflicts)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import canonicalize_name

from ..errors import LockError, PyprojectError
from ..lock.model import Lock, LockedPackage, Requested, evaluate
from ..plan.planner import Plan
from ..platforms import PLATFORMS

# The static signal: the root's `[package.metadata] requires-dist` in uv.lock records each
# torch-family requirement uv locked, with the index its source routed it to, split by marker.
# For every target environment, the (specifier, index) pairs pyproject.toml declares now must
# be the ones requires-dist records. Compared by evaluating both at the target's environment,
# not as text: uv rewrites and reorders markers, so textual comparison would cry wolf.

Want = frozenset[tuple[frozenset[Specifier], str | None, tuple[str, ...]]]


@dataclass(frozen=True)
class Staleness:
    """Why uv.lock predates pyproject.toml (`reasons`, empty when it does not), and for which
    project it was locked (None: for another, or pyproject.toml names none)."""

    project: str | None
    reasons: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Declared:
    name: str
    specifier: SpecifierSet
    marker: str | None
    extra: str | None  # the optional-dependency extra it is listed under
    extras: tuple[str, ...]


@dataclass(frozen=True)
class _Source:
    target: str  # an index URL, or "git", "url", "path"
    marker: str | None
    extra: str | None
    group: str | None


def staleness(
    plan: Plan, lock: Lock, pyproject_text: str, *, lock_file: str, pyproject_file: str
) -> Staleness:
    """Compare `pyproject_text` with what `lock` was locked from; PyprojectError when it is
    not TOML."""
    try:
        pyproject = tomllib.loads(pyproject_text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as error:
        raise PyprojectError(f"not valid TOML: {error}", file=pyproject_file) from None
    name = _table(pyproject, "project").get("name")
    project = canonicalize_name(name) if isinstance(name, str) else None
    try:
        root = lock.root(project)
    except LockError:
        reason = f"{lock_file} has no project named {project!r}: it was locked for another"
        return Staleness(None, (reason,), ())
    stale, notes = _compare(plan, lock, root, pyproject, lock_file)
    return Staleness(project, tuple(stale), tuple(notes))


def allows_python(specifier: str, python: str) -> bool:
    """True when the requires-python `specifier` admits Python `python` (or is unreadable)."""
    try:
        return SpecifierSet(specifier).contains(f"{python}.0", prereleases=True)
    except InvalidSpecifier:
        return True


def normalized_url(url: str) -> str:
    """An index URL as it compares: the same with or without a trailing slash."""
    return url.rstrip("/")


def _compare(
    plan: Plan, lock: Lock, root: LockedPackage, pyproject: Mapping[str, Any], lock_file: str
) -> tuple[list[str], list[str]]:
    stale: list[str] = []
    notes: list[str] = []
    family = set(plan.packages)
    declared = _declared(pyproject, family)
    sources = _sources(pyproject, family)
    uv = _table(_table(pyproject, "tool"), "uv")
    mismatches: dict[tuple[str, Want, Want], list[str]] = {}
    for build in plan.builds:
        extra = canonicalize_name(build.extra) if build.extra else ""
        for python in plan.spec.python:
            base = PLATFORMS[build.target.platform].marker_environment(python)
            env = tuple(sorted({**base, "extra": extra}.items()))
            for name in sorted(family):
                if root.requires_dist is None:
                    break
                want = _want(declared, sources, name, env, extra)
                have = _have(root.requires_dist, name, env)
                if want != have:
                    where = mismatches.setdefault((name, want, have), [])
                    if build.target.name not in where:
                        where.append(build.target.name)
            for key, mine, theirs in (
                ("environments", uv.get("environments"), lock.supported_markers),
                ("required-environments", uv.get("required-environments"), lock.required_markers),
            ):
                if _any_marker(mine, env, key == "environments") != _any_marker(
                    theirs, env, key == "environments"
                ):
                    reason = f"[tool.uv] {key} changed for {build.target.platform}"
                    if reason not in stale:
                        stale.append(reason)
    if root.requires_dist is None:
        notes.append(
            f"{lock_file} records no requires-dist for the project (an old uv wrote it): "
            "staleness not checked"
        )
    for (name, want, have), where in mismatches.items():
        stale.append(
            f"{name} on {', '.join(where)}: pyproject.toml declares {_describe(name, want)}, "
            f"{lock_file} was locked with {_describe(name, have)}"
        )
    requires = _table(pyproject, "project").get("requires-python")
    for python in plan.spec.python:
        mine = allows_python(requires, python) if isinstance(requires, str) else True
        if lock.requires_python and mine != allows_python(lock.requires_python, python):
            stale.append(
                f"requires-python is {requires!r} in pyproject.toml, "
                f"{lock.requires_python!r} in {lock_file}"
            )
            break
    conflicts = _conflicts(uv.get("conflicts"), root.name)
    if conflicts is not None and conflicts != lock.conflicts:
        stale.append("[tool.uv] conflicts changed")
    return stale, notes


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _declared(pyproject: Mapping[str, Any], family: set[str]) -> list[_Declared]:
    project = _table(pyproject, "project")
    listed: list[tuple[object, str | None]] = [(r, None) for r in project.get("dependencies", [])]
    for optional, items in _table(project, "optional-dependencies").items():
        if isinstance(items, list):
            listed += [(r, canonicalize_name(optional)) for r in items]
    out = []
    for text, extra in listed:
        try:
            requirement = Requirement(str(text))
        except InvalidRequirement:
            continue  # uv would have refused the project; nothing to compare
        name = canonicalize_name(requirement.name)
        if name in family:
            marker = str(requirement.marker) if requirement.marker else None
            extras = tuple(sorted(canonicalize_name(e) for e in requirement.extras))
            out.append(_Declared(name, requirement.specifier, marker, extra, extras))
    return out


def _sources(pyproject: Mapping[str, Any], family: set[str]) -> dict[str, list[_Source]]:
    uv = _table(_table(pyproject, "tool"), "uv")
    urls: dict[object, str] = {
        entry.get("name"): str(entry.get("url", ""))
        for entry in uv.get("index", [])
        if isinstance(entry, dict)
    }
    out: dict[str, list[_Source]] = {}
    for raw_name, value in _table(uv, "sources").items():
        name = canonicalize_name(raw_name)
        if name not in family:
            continue
        for entry in value if isinstance(value, list) else [value]:
            if not isinstance(entry, dict):
                continue
            if "index" in entry:
                target = normalized_url(urls.get(entry["index"]) or f"index:{entry['index']}")
            else:
                target = next((k for k in ("git", "url", "path") if k in entry), "path")
            extra = entry.get("extra")
            out.setdefault(name, []).append(
                _Source(
                    target,
                    entry.get("marker"),
                    canonicalize_name(extra) if isinstance(extra, str) else None,
                    entry.get("group"),
                )
            )
    return out


def _want(
    declared: list[_Declared],
    sources: dict[str, list[_Source]],
    name: str,
    env: tuple[tuple[str, str], ...],
    extra: str,
) -> Want:
    """What pyproject.toml asks uv to lock for `name` in `env`: uv applies the first source
    whose marker and extra hold, else the default index."""
    out = set()
    for item in declared:
        if item.name != name or (item.extra is not None and item.extra != extra):
            continue
        if item.marker and not evaluate(item.marker, env):
            continue
        target = None
        for source in sources.get(name, []):
            if source.group is not None or (source.extra is not None and source.extra != extra):
                continue
            if source.marker is None or evaluate(source.marker, env):
                target = source.target
                break
        out.add((frozenset(item.specifier), target, item.extras))
    return frozenset(out)


def _have(requested: tuple[Requested, ...], name: str, env: tuple[tuple[str, str], ...]) -> Want:
    out = set()
    for item in requested:
        if item.name != name or (item.marker and not evaluate(item.marker, env)):
            continue
        try:
            specifier = SpecifierSet(item.specifier)
        except InvalidSpecifier:
            specifier = SpecifierSet()
        source = normalized_url(item.source) if item.source else None
        out.add((frozenset(specifier), source, item.extras))
    return frozenset(out)


def _describe(name: str, want: Want) -> str:
    if not want:
        return "nothing"
    parts = []
    for specifiers, source, extras in sorted(want, key=str):
        spec = ",".join(sorted(str(s) for s in specifiers))
        extra = f"[{','.join(extras)}]" if extras else ""
        parts.append(f"{name}{extra}{spec} from {source or 'the default index'}")
    return " and ".join(parts)


def _any_marker(markers: object, env: tuple[tuple[str, str], ...], empty: bool) -> bool:
    items = [markers] if isinstance(markers, str) else markers
    if not isinstance(items, list | tuple) or not items:
        return empty
    return any(evaluate(str(m), env) for m in items)


def _conflicts(raw: object, project: str) -> frozenset[frozenset[tuple[str, str, str]]] | None:
    if not isinstance(raw, list):
        return None
    out = set()
    for group in raw:
        if not isinstance(group, list):
            return None
        items = set()
        for item in group:
            if not isinstance(item, dict):
                return None
            kind = "extra" if "extra" in item else "group"
            package = canonicalize_name(str(item.get("package", project)))
            items.add((package, kind, canonicalize_name(str(item.get(kind, "")))))
        out.add(frozenset(items))
    return frozenset(out)
