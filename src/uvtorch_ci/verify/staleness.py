"""Pure: is uv.lock older than pyproject.toml, as `uv lock --check` would say?

uv.lock records what it was locked from: the root's requires-dist (its dependencies and extras,
each with the source uv lowered it to), requires-dev (each dependency group, includes expanded),
[manifest] overrides and constraints, environments, conflicts and requires-python. Each is
compared with what pyproject.toml declares now, for every target's platform and Python, by
evaluating markers rather than comparing text: uv rewrites and merges markers (a source's marker
joins the requirement's), so text would cry wolf.

Sources follow uv's rules: the first entry whose marker holds applies, and an entry keyed by an
extra (or group) applies only to the requirements listed in that extra (or group), never to the
project's own dependencies (uv records a base `torch` next to extra-keyed sources without an
index).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import LockError
from ..lock.model import Lock, LockedPackage, Requested, evaluate
from ..plan.planner import Plan
from ..platforms import PLATFORMS

Env = tuple[tuple[str, str], ...]
# What one requirement asks uv for in one environment: name, specifier, source, extras.
Want = tuple[str, frozenset[Specifier], str | None, tuple[str, ...]]
BASE = ("", "")  # the project's own dependencies: no extra, no group
DIRECT = ("git", "url", "path")  # sources that are not an index


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
    direct: str | None  # "url", "git" or "path" for `name @ <url>`
    extras: tuple[str, ...]
    scope: tuple[str, str]  # BASE, ("extra", name) or ("group", name)


@dataclass(frozen=True)
class _Source:
    target: str  # an index URL, or "git", "url", "path"
    marker: str | None
    extra: str | None
    group: str | None


def staleness(plan: Plan, lock: Lock, pyproject: Mapping[str, Any], *, lock_file: str) -> Staleness:
    """Compare the parsed pyproject.toml with what `lock` was locked from."""
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
    """True when the requires-python `specifier` admits some release of Python `python`
    ("3.13" under ">=3.13.4"), or is unreadable."""
    try:
        allowed = SpecifierSet(specifier)
        minor = Version(python)
    except (InvalidSpecifier, InvalidVersion):
        return True
    patches = {0, 99}
    for item in allowed:
        try:
            version = Version(item.version.removesuffix(".*"))
        except InvalidVersion:
            continue
        if version.release[:2] == minor.release[:2] and len(version.release) > 2:
            patches.update(version.micro + step for step in (-1, 0, 1))
    return any(
        allowed.contains(f"{python}.{patch}", prereleases=True) for patch in patches if patch >= 0
    )


def normalized_url(url: str) -> str:
    """An index URL as it compares: the same with or without a trailing slash."""
    return url.rstrip("/")


def _compare(
    plan: Plan, lock: Lock, root: LockedPackage, pyproject: Mapping[str, Any], lock_file: str
) -> tuple[list[str], list[str]]:
    stale: list[str] = []
    notes: list[str] = []
    project = _table(pyproject, "project")
    uv = _table(_table(pyproject, "tool"), "uv")
    envs = _environments(plan)
    sources = _sources(uv)
    dynamic = {str(d) for d in project.get("dynamic", []) if isinstance(d, str)}
    declared = _declared(pyproject, dynamic)
    if root.requires_dist is None:
        notes.append(
            f"{lock_file} records no requires-dist for the project (an old uv wrote it): "
            "its requirements are not compared"
        )
    else:
        if dynamic & {"dependencies", "optional-dependencies"}:
            notes.append(
                "pyproject.toml leaves its dependencies to the build backend (dynamic): "
                f"only {lock_file}'s dependency groups and settings are compared"
            )
        stale += _requirement_changes(declared, sources, root, envs, lock_file, dynamic)
    extras = ["", *sorted({d.scope[1] for d in declared if d.scope[0] == "extra"})]
    for key, locked in (
        ("override-dependencies", lock.overrides),
        ("constraint-dependencies", lock.constraints),
    ):
        mine = _listed(uv.get(key), ("manifest", key))
        if any(
            _wants(mine, sources, _with_extra(env, extra))
            != _haves(locked, _with_extra(env, extra))
            for env in envs.values()
            for extra in extras
        ):
            stale.append(f"[tool.uv] {key} changed")
    for key, mine_markers, theirs in (
        ("environments", uv.get("environments"), lock.supported_markers),
        ("required-environments", uv.get("required-environments"), lock.required_markers),
    ):
        for where, env in envs.items():
            empty = key == "environments"
            if _any_marker(mine_markers, env, empty) != _any_marker(theirs, env, empty):
                stale.append(f"[tool.uv] {key} changed for {where[0]}")
                break
    requires = project.get("requires-python")
    for python in plan.spec.python:
        admits = allows_python(requires, python) if isinstance(requires, str) else True
        if lock.requires_python and admits != allows_python(lock.requires_python, python):
            stale.append(
                f"requires-python is {requires!r} in pyproject.toml, "
                f"{lock.requires_python!r} in {lock_file}"
            )
            break
    conflicts = _conflicts(uv.get("conflicts"), root.name)
    if conflicts is not None and conflicts != lock.conflicts:
        stale.append("[tool.uv] conflicts changed")
    return stale, notes


def _environments(plan: Plan) -> dict[tuple[str, str], Env]:
    """(platform, python) -> its marker environment, for every target of the plan."""
    out: dict[tuple[str, str], Env] = {}
    for build in plan.builds:
        for python in plan.spec.python:
            platform = build.target.platform
            env = PLATFORMS[platform].marker_environment(python)
            out[(platform, python)] = tuple(sorted(env.items()))
    return out


def _requirement_changes(
    declared: list[_Declared],
    sources: dict[str, list[_Source]],
    root: LockedPackage,
    envs: Mapping[tuple[str, str], Env],
    lock_file: str,
    dynamic: set[str],
) -> list[str]:
    """Per scope (the dependencies with each extra, each group) and environment, what
    pyproject.toml declares against what uv.lock records; what the build backend provides
    (`dynamic`) is left out, as uv reads it from the built metadata."""
    extras = {d.scope[1] for d in declared if d.scope[0] == "extra"} | set(root.optional)
    groups = {d.scope[1] for d in declared if d.scope[0] == "group"} | set(root.requires_dev)
    scopes: list[tuple[str, str]] = []
    if not dynamic & {"dependencies", "optional-dependencies"}:
        scopes += [BASE, *(("extra", e) for e in sorted(extras))]
    scopes += [("group", g) for g in sorted(groups)]
    changed: dict[tuple[tuple[str, str], str, frozenset[Want], frozenset[Want]], list[str]] = {}
    for scope in scopes:
        for (platform, _), env in envs.items():
            if scope[0] == "group":
                mine = [d for d in declared if d.scope == scope]
                want = _wants(mine, sources, env)
                have = _haves(root.requires_dev.get(scope[1], ()), env)
            else:
                active = _with_extra(env, scope[1])
                mine = [d for d in declared if d.scope in (BASE, scope)]
                want = _wants(mine, sources, active)
                have = _haves(root.requires_dist or (), active)
            if want == have:
                continue
            for name in sorted({w[0] for w in want ^ have}):
                mine_of = frozenset(w for w in want if w[0] == name)
                theirs = frozenset(h for h in have if h[0] == name)
                where = changed.setdefault((scope, name, mine_of, theirs), [])
                if platform not in where:
                    where.append(platform)
    out = []
    for (scope, name, mine_of, theirs), where in changed.items():
        place = {"extra": f" (extra {scope[1]})", "group": f" (group {scope[1]})"}.get(scope[0], "")
        declares = _describe(name, mine_of)
        out.append(
            f"{name}{place} on {_places(where)}: pyproject.toml declares {declares}, "
            f"{lock_file} was locked with {_describe(name, theirs)}"
        )
    return out


def _places(where: list[str]) -> str:
    return ", ".join(where[:4]) + (f" and {len(where) - 4} more" if len(where) > 4 else "")


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _declared(pyproject: Mapping[str, Any], dynamic: set[str]) -> list[_Declared]:
    project = _table(pyproject, "project")
    out: list[_Declared] = []
    if "dependencies" not in dynamic:
        out += _listed(project.get("dependencies"), BASE)
    if "optional-dependencies" not in dynamic:
        for extra, items in _table(project, "optional-dependencies").items():
            out += _listed(items, ("extra", canonicalize_name(extra)))
    groups = _table(pyproject, "dependency-groups")
    for group in groups:
        items = _expand_group(groups, group, set())
        out += _listed(items, ("group", canonicalize_name(group)))
    legacy = _table(_table(pyproject, "tool"), "uv").get("dev-dependencies")
    out += _listed(legacy, ("group", "dev"))
    return out


def _expand_group(groups: Mapping[str, Any], name: str, seen: set[str]) -> list[object]:
    """A dependency group's requirements with its `{ include-group = ... }` entries expanded
    (PEP 735), as uv records them."""
    seen = seen | {canonicalize_name(name)}
    items = groups.get(name)
    out: list[object] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("include-group"), str):
            included = item["include-group"]
            match = next(
                (g for g in groups if canonicalize_name(g) == canonicalize_name(included)), None
            )
            if match is not None and canonicalize_name(match) not in seen:
                out += _expand_group(groups, match, seen)
        else:
            out.append(item)
    return out


def _listed(items: object, scope: tuple[str, str]) -> list[_Declared]:
    out = []
    for text in items if isinstance(items, list) else []:
        try:
            requirement = Requirement(str(text))
        except InvalidRequirement:
            continue  # uv would have refused the project; nothing to compare
        direct = None
        if requirement.url:
            url = requirement.url
            direct = (
                "git" if url.startswith("git+") else "path" if url.startswith("file:") else "url"
            )
        out.append(
            _Declared(
                canonicalize_name(requirement.name),
                requirement.specifier,
                str(requirement.marker) if requirement.marker else None,
                direct,
                tuple(sorted(canonicalize_name(e) for e in requirement.extras)),
                scope,
            )
        )
    return out


def _sources(uv: Mapping[str, Any]) -> dict[str, list[_Source]]:
    urls: dict[object, str] = {
        entry.get("name"): str(entry.get("url", ""))
        for entry in uv.get("index", [])
        if isinstance(entry, dict)
    }
    out: dict[str, list[_Source]] = {}
    for raw_name, value in _table(uv, "sources").items():
        for entry in value if isinstance(value, list) else [value]:
            if not isinstance(entry, dict):
                continue
            if "index" in entry:
                target = normalized_url(urls.get(entry["index"]) or f"index:{entry['index']}")
            else:
                target = next((k for k in ("git", "url") if k in entry), "path")
            extra, group = entry.get("extra"), entry.get("group")
            out.setdefault(canonicalize_name(raw_name), []).append(
                _Source(
                    target,
                    entry.get("marker") if isinstance(entry.get("marker"), str) else None,
                    canonicalize_name(extra) if isinstance(extra, str) else None,
                    canonicalize_name(group) if isinstance(group, str) else None,
                )
            )
    return out


def _with_extra(env: Env, extra: str) -> Env:
    return tuple(sorted((dict(env) | {"extra": extra}).items()))


def _applies(source: _Source, item: _Declared, env: Env) -> bool:
    """Whether a source entry keyed by an extra or group applies to `item`: to what is listed in
    that extra or group, and to an override or constraint while that extra is active."""
    if item.scope[0] == "manifest":
        return source.group is None and source.extra in (None, dict(env).get("extra"))
    if source.extra is not None and item.scope != ("extra", source.extra):
        return False
    return source.group is None or item.scope == ("group", source.group)


def _wants(
    declared: Iterable[_Declared], sources: Mapping[str, list[_Source]], env: Env
) -> frozenset[Want]:
    """What pyproject.toml asks uv to lock in `env`: for each requirement whose marker holds,
    its source is the first entry that applies to where it is listed and whose marker holds."""
    out = set()
    for item in declared:
        if item.marker and not evaluate(item.marker, env):
            continue
        target = item.direct
        if target is None:
            for source in sources.get(item.name, []):
                if not _applies(source, item, env):
                    continue
                if source.marker is None or evaluate(source.marker, env):
                    target = source.target
                    break
        out.add((item.name, _specifiers(item.specifier, target), target, item.extras))
    return frozenset(out)


def _specifiers(specifier: SpecifierSet, source: str | None) -> frozenset[Specifier]:
    """What uv records of a specifier: nothing where a git, URL or path source gives the
    package (the source decides its version)."""
    return frozenset() if source in DIRECT else frozenset(specifier)


def _haves(requested: Iterable[Requested], env: Env) -> frozenset[Want]:
    out = set()
    for item in requested:
        if item.marker and not evaluate(item.marker, env):
            continue
        try:
            specifier = SpecifierSet(item.specifier)
        except InvalidSpecifier:
            specifier = SpecifierSet()
        source = normalized_url(item.source) if item.source else None
        out.add((item.name, _specifiers(specifier, source), source, item.extras))
    return frozenset(out)


def _describe(name: str, wants: frozenset[Want]) -> str:
    if not wants:
        return "nothing"
    parts = []
    for _, specifiers, source, extras in sorted(wants, key=str):
        spec = ",".join(sorted(str(s) for s in specifiers))
        extra = f"[{','.join(extras)}]" if extras else ""
        parts.append(f"{name}{extra}{spec} from {source or 'the default index'}")
    return " and ".join(parts)


def _any_marker(markers: object, env: Env, empty: bool) -> bool:
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
