"""Pure: the targets a project routes. A target is a platform x backend that a torch source
sends to a PyTorch index, or deliberately to PyPI (an index entry pointing at PyPI, or an extra
or group that holds torch and that no source names); a platform that only falls back to PyPI
is not one. Each is checked against the project's uv.lock when there is one (real uv locked a
build from that index with a wheel for the platform), else against the release table (the
newest release the index publishes, which is what uv resolves, has a build there)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.markers import InvalidMarker, Marker

from ..platforms import PLATFORMS
from ..releases.table import Release
from .answers import TargetChoice
from .locked import LockedTorch, LockView
from .requirements import BASE, Found, at
from .sources import Route, marker_holds, route_for

UNREADABLE = {
    "other": "an index that is not a PyTorch index ({url})",
    "channel": "a nightly or test channel ({url}), which uvtorch-ci does not render (release "
    "builds only)",
    "direct": "a direct {index} source ({url}), not an index",
    "root": "the root of the PyTorch indexes ({url}), which names no backend",
    "missing": "the index {index!r}, which no [[tool.uv.index]] defines (uv refuses to lock it)",
}


@dataclass
class Targets:
    """What the routes give: the targets, the selector kind ("extras", "groups" or None), the
    lock's build of each target, the notes, and why --target must be given (None: it need
    not)."""

    targets: list[TargetChoice] = field(default_factory=list)
    selector: str | None = None
    locked: dict[TargetChoice, LockedTorch] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    missing: str | None = None


def supported(environments: Any) -> tuple[str, ...]:
    """The platforms `[tool.uv] environments` admits (all without the setting)."""
    declared = [environments] if isinstance(environments, str) else environments
    if not declared or not isinstance(declared, list):
        return tuple(PLATFORMS)
    try:
        markers = [str(Marker(m)) for m in declared if isinstance(m, str)]
    except InvalidMarker:
        return tuple(PLATFORMS)
    return tuple(p for p in PLATFORMS if any(marker_holds(m, p) for m in markers))


def infer_targets(
    routes: Sequence[Route],
    found: Sequence[Found],
    platforms: Sequence[str],
    releases: tuple[Release, ...],
    lock: LockView | None,
    file: str,
) -> Targets:
    """The targets `routes` (torch's sources) give on `platforms`; `releases` are those the
    torch answer admits, `found` the project's torch-family requirements."""
    result = Targets()
    if any(r.extra for r in routes) and any(r.group for r in routes):
        result.missing = (
            "torch's sources are keyed both by extra and by dependency group, which one spec "
            "cannot select"
        )
        return result
    kind = (
        "group"
        if any(r.group for r in routes)
        else "extra"
        if any(r.extra for r in routes)
        else None
    )
    result.selector = {"group": "groups", "extra": "extras"}.get(kind or "")
    torch = [f for f in found if f.name == "torch"]
    names = _selector_names(routes, torch, kind)
    seen: set[tuple[str, str, str | None]] = set()
    holder = _holder(torch)
    for route, name, platform in _applications(routes, names, platforms, kind):
        if not _requires(torch, platform, name, kind):
            continue
        choice = _candidate(route, platform, name, kind, file, result)
        if choice is None or (platform, choice.backend, name) in seen:
            continue
        seen.add((platform, choice.backend, name))
        if route is not None:
            where = at(file, route.line)
            source = f"the torch source ({where})"
        else:  # an extra or group no source names: where it requires torch
            held = next(r for r in torch if (r.extra if kind == "extra" else r.group) == name)
            where = held.at(file)
            source = f"the {kind} {name}, which no torch source names ({where})"
        said = (source, where)
        if _available(choice, route, said, name, kind, releases, lock, holder, result):
            result.targets.append(choice)
    if result.missing is None and kind is None:
        for platform in platforms:
            if route_for(routes, platform) is None and _requires(torch, platform, None, None):
                result.notes.append(
                    f"{platform}: no torch source routes it, so it keeps PyPI's build; not a target"
                )
    return result


def _selector_names(routes: Sequence[Route], torch: Sequence[Found], kind: str | None) -> list[str]:
    """The extras (or groups) that select a torch build: those a source names, then those that
    hold torch and that no source names (they install PyPI's build, deliberately)."""
    if kind is None:
        return []
    names: list[str] = []
    for route in routes:
        name = route.extra if kind == "extra" else route.group
        if name and name not in names:
            names.append(name)
    for requirement in torch:
        name = requirement.extra if kind == "extra" else requirement.group
        if name and name not in names:
            names.append(name)
    return names


def _applications(
    routes: Sequence[Route], names: Sequence[str], platforms: Sequence[str], kind: str | None
) -> Iterator[tuple[Route | None, str | None, str]]:
    """(the route uv applies, the selector, the platform), source by source in the file's
    order, then the selectors no source names (route None: PyPI, deliberately)."""
    for route in routes:
        own = route.extra if kind == "extra" else route.group if kind == "group" else None
        for name in [own] if own or kind is None else names:
            for platform in platforms:
                extra, group = _keys(name, kind)
                if route_for(routes, platform, extra, group) is route:
                    yield route, name, platform
    named = {r.extra if kind == "extra" else r.group for r in routes}
    for name in names:
        if name not in named:
            for platform in platforms:
                extra, group = _keys(name, kind)
                if route_for(routes, platform, extra, group) is None:
                    yield None, name, platform


def _holder(torch: Sequence[Found]) -> tuple[str | None, str | None]:
    """Without selectors: the (extra, group) to ask the lock with, so that it installs torch:
    none when [project].dependencies requires it, else the first place that does (torch only
    in a `test` group)."""
    if any(r.place == BASE for r in torch):
        return None, None
    first = next(iter(torch), None)
    return (first.extra, first.group) if first is not None else (None, None)


def _keys(name: str | None, kind: str | None) -> tuple[str | None, str | None]:
    return (name, None) if kind == "extra" else (None, name) if kind == "group" else (None, None)


def _requires(torch: Sequence[Found], platform: str, name: str | None, kind: str | None) -> bool:
    """Whether the project requires torch on `platform` with the selector `name` active: in
    [project].dependencies or in that extra or group (anywhere, without selectors), under a
    marker that holds there."""
    for requirement in torch:
        mine = requirement.place == BASE or kind is None
        mine = mine or (requirement.extra if kind == "extra" else requirement.group) == name
        extra = name if kind == "extra" else requirement.extra
        if mine and requirement.holds(platform, extra):
            return True
    return False


def _candidate(
    route: Route | None,
    platform: str,
    name: str | None,
    kind: str | None,
    file: str,
    result: Targets,
) -> TargetChoice | None:
    """The target a route gives on `platform` (None: none, with why in `result`)."""
    if route is not None and route.kind in UNREADABLE:
        reason = UNREADABLE[route.kind].format(url=route.url, index=route.index)
        via = f" for the {kind} {name}" if name else ""
        result.missing = result.missing or (
            f"the torch source at {at(file, route.line)}{via} names {reason}"
        )
        return None
    backend = route.backend if route is not None and route.backend else "pypi"
    own = name is not None and name == backend.replace(".", "-")
    if kind == "group":
        return TargetChoice(platform, backend, group=name)
    return TargetChoice(platform, backend, extra=None if own else name)


def _available(
    choice: TargetChoice,
    route: Route | None,
    said: tuple[str, str],
    name: str | None,
    kind: str | None,
    releases: tuple[Release, ...],
    lock: LockView | None,
    holder: tuple[str | None, str | None],
    result: Targets,
) -> bool:
    """Whether the target's build exists: in uv.lock when there is one (from the route's
    index, with a wheel for the platform), else in the release uv would resolve."""
    platform, backend = choice.platform, choice.backend
    source, where = said  # "the torch source (pyproject.toml line 9)", and the place alone
    via = f", {kind} {name}" if name else ""
    label = f"{platform}:{backend}{via}"
    if lock is not None:
        extra, group = _keys(name, kind) if kind else holder
        locked = lock.torch(platform, extra, group)
        if locked is None:
            result.notes.append(f"{label}: {lock.file} installs no torch wheel there; not a target")
            return False
        if not locked.pythons:
            result.notes.append(
                f"{label}: {lock.file} installs {locked.torch.shown(lock.file)}, but "
                f"{locked.unwheeled}, so `uv sync` fails there; not a target"
            )
            return False
        if _same_index(locked.torch.registry, route):
            if not _in_table(platform, backend, releases):
                result.notes.append(
                    f"{label}: {lock.file} installs {locked.torch.shown(lock.file)}, but no "
                    f"torch release in uvtorch-ci's table publishes a {backend} build for "
                    f"{platform}; not a target"
                )
                return False
            result.locked[choice] = locked
            result.notes.append(
                f"target {label}, from {source}; {lock.file}: {locked.torch.shown(lock.file)}"
            )
            return True
        result.notes.append(
            f"{label}: {lock.file} installs {locked.torch.shown(lock.file)}, not from "
            f"{route.url if route else 'PyPI'}: the lock predates pyproject.toml (run `uv lock`)"
        )
    if backend == "pypi":
        newest = releases[-1]
        if platform not in newest.pypi:
            result.notes.append(
                f"{label}: PyPI has no torch {newest.torch} wheel for it; not a target"
            )
            return False
    else:
        having = [r for r in releases if any(r.publishes(p, backend) for p in PLATFORMS)]
        if not having or not having[-1].publishes(platform, backend):
            shown = having[-1].torch if having else releases[-1].torch
            result.notes.append(
                f"{platform}: the {backend} index has no torch {shown} build for it "
                f"({where}); not a target"
            )
            return False
    result.notes.append(f"target {label}, from {source}")
    return True


def _in_table(platform: str, backend: str, releases: tuple[Release, ...]) -> bool:
    if backend == "pypi":
        return any(platform in r.pypi for r in releases)
    return any(r.publishes(platform, backend) for r in releases)


def _same_index(registry: str, route: Route | None) -> bool:
    """Whether uv.lock's registry is the route's index (PyPI for no route or a PyPI one)."""
    if route is None or route.kind == "pypi":
        return "://pypi.org/" in registry or "://pypi.python.org/" in registry
    return registry.rstrip("/") == route.url.rstrip("/")


def locked_versions(locked: Mapping[TargetChoice, LockedTorch]) -> list[str]:
    """The public torch versions uv.lock gives the targets, oldest first."""
    from packaging.version import Version

    return sorted({b.torch.public for b in locked.values()}, key=Version)
