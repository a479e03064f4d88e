"""Pure: an existing project's torch setup -> the spec `init` infers from it.

Takes the parsed pyproject.toml, its text (for line numbers) and the release table; gives the
torch version or range (from the pins), the companions (from every place they are required:
dependencies, optional-dependencies, dependency-groups), the backend of each platform (from
the torch sources: markers, markerless entries, extra-keyed entries), the index base of a
mirror, and for each a note naming the file and line it came from. What it cannot infer it
names in `missing`, with the flag that would give it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..platforms import PLATFORMS
from ..pyproject.data import FAMILY, source_entries
from ..releases.table import BACKEND_PATTERN, COMPANIONS, Release, ReleaseTable
from ..spec.parse import DEFAULT_INDEX_URL
from .answers import Inferred, TargetChoice

FLOOR = re.compile(r"^>=[0-9]+(\.[0-9]+)*$")
BACKEND_URL = re.compile(r"^(?P<base>.+)/(?P<backend>cpu|xpu|cu[0-9]{3}|rocm[0-9]+(\.[0-9]+)+)/?$")
PYPI_URL = re.compile(r"^https?://(pypi\.org|pypi\.python\.org)/simple/?$")


@dataclass(frozen=True)
class Found:
    """One torch-family requirement of the project, and where it is."""

    name: str
    requirement: Requirement
    place: str  # "[project].dependencies", "[project.optional-dependencies].cpu" ...
    line: int | None


def infer(
    data: Mapping[str, Any],
    text: str,
    file: str,
    table: ReleaseTable,
    torch: str | None = None,
) -> Inferred:
    """The spec the project's own torch setup says, with a note per finding. `torch` (the
    --torch flag) overrides the pins: the targets are those its releases publish."""
    lines = text.splitlines()
    found = Inferred()
    requirements = list(_requirements(data, lines))
    found.has_torch = any(r.name == "torch" for r in requirements)
    _infer_torch(found, requirements, _selector_places(data), file, table)
    packages: dict[str, Found] = {}
    for r in requirements:
        if r.name in COMPANIONS:
            packages.setdefault(r.name, r)
    found.packages = tuple(p for p in COMPANIONS if p in packages)
    for name in found.packages:
        r = packages[name]
        found.notes.append(f"packages: {name}, from {r.place} ({_at(file, r.line)})")
    if torch is not None:
        found.torch, found.notes, found.missing = torch, [], {}
    if found.has_torch:
        try:
            specifier = SpecifierSet(_spec_of(found.torch))
        except InvalidSpecifier:
            specifier = None  # the spec reader names a bad --torch
        releases = table.matching(specifier) if found.torch and specifier else ()
        _infer_targets(found, data, lines, file, releases or table.releases)
    base = any(r.name == "torch" and r.place == "[project].dependencies" for r in requirements)
    if found.has_torch and not base and found.targets and found.selector is None:
        found.notes.append(
            "torch is not in [project].dependencies: with one backend per platform the spec "
            "declares it there, so a bare install of the project then gets torch"
        )
    if base and found.selector == "extras":
        found.notes.append(
            "torch is in [project].dependencies, but extras select the backend: the spec keeps "
            "torch in the extras only, so a bare `uv sync` no longer installs it (a "
            "dependency group with default-group would)"
        )
    requires = _table(data, "project").get("requires-python")
    if found.has_torch and isinstance(requires, str):
        found.notes.append(
            f"python: the newest Python both torch and requires-python ({requires}) allow, "
            "unless --python says"
        )
    return found


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    """data[k1][k2]... as a table; an empty one where a key is missing or not a table (the
    merge names a value of the wrong shape)."""
    for key in keys:
        value = data.get(key)
        data = value if isinstance(value, dict) else {}
    return data


# -- where the project requires the torch family ---------------------------------------------


def _requirements(data: Mapping[str, Any], lines: list[str]) -> Iterator[Found]:
    project = _table(data, "project")
    places: list[tuple[str, Any]] = [("[project].dependencies", project.get("dependencies"))]
    extras = project.get("optional-dependencies")
    if isinstance(extras, dict):
        places += [(f"[project.optional-dependencies].{k}", v) for k, v in extras.items()]
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        places += [(f"[dependency-groups].{k}", v) for k, v in groups.items()]
    for place, items in places:
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, str):
                continue  # {include-group = ...}
            try:
                requirement = Requirement(item)
            except InvalidRequirement:
                continue  # the merge names it
            name = canonicalize_name(requirement.name)
            if name in FAMILY:
                yield Found(name, requirement, place, _line_of(lines, item))


def _line_of(lines: list[str], value: str, start: int = 0) -> int | None:
    """The 1-based line at or after `start` whose code holds `value` as a quoted string."""
    for quoted in (f'"{value}"', f"'{value}'"):
        for number in range(start, len(lines)):
            if quoted in lines[number] and not lines[number].lstrip().startswith("#"):
                return number + 1
    return None


def _at(file: str, line: int | None) -> str:
    return f"{file} line {line}" if line else file


def _selector_places(data: Mapping[str, Any]) -> set[str]:
    """The extras that select a backend: named after one, or keyed in a torch-family source."""
    extras = _table(data, "project", "optional-dependencies")
    names = {e for e in extras if BACKEND_PATTERN.match(canonicalize_name(e).replace("-", "."))}
    for key, value in _table(data, "tool", "uv", "sources").items():
        if canonicalize_name(key) in FAMILY:
            for entry in source_entries(value):
                if isinstance(entry, dict) and isinstance(entry.get("extra"), str):
                    names.add(entry["extra"])
    known = {canonicalize_name(e): e for e in extras}
    return {
        f"[project.optional-dependencies].{known[canonicalize_name(n)]}"
        for n in names
        if canonicalize_name(n) in known
    }


# -- the torch version ---------------------------------------------------------------------


def _spec_of(torch: str | None) -> str:
    if torch is None:
        return ""
    return torch if torch[:1] in "<>=!~" else f"=={torch}"


def _infer_torch(
    found: Inferred,
    requirements: list[Found],
    selectors: set[str],
    file: str,
    table: ReleaseTable,
) -> None:
    """The torch answer from the pins. Those uv resolves together ([project].dependencies, the
    groups, the extras that select no backend) say it when there are any: the one they share,
    or what they all allow together (when at most one of them holds for some platforms only:
    two such pins are two answers). Else those of the extras that select a backend: the one
    they share, or the lowest of their floors (`>=`, one per backend), which lets each backend
    resolve as before. Pins that allow no release together: no answer, --torch must say.
    Local tags (+cu128) are dropped: the spec picks them per platform."""
    pins = [r for r in requirements if r.name == "torch" and str(r.requirement.specifier)]
    together = [r for r in pins if r.place not in selectors]
    pinned: dict[str, Found] = {}
    for r in together or pins:
        specifiers = sorted(_without_local(s) for s in str(r.requirement.specifier).split(","))
        pinned.setdefault(",".join(specifiers), r)
    if not pinned:
        if found.has_torch:
            found.notes.append("torch: no version pinned; the spec takes the newest release")
        return
    places = "; ".join(f"{t} ({_at(file, r.line)})" for t, r in pinned.items())
    if len(pinned) == 1:
        text, r = next(iter(pinned.items()))
        found.torch = _answer(text)
        found.notes.append(f"torch: {found.torch}, from {r.place} ({_at(file, r.line)})")
        return
    floors = [Version(t[2:]) for t in pinned if FLOOR.match(t)]
    if len(floors) == len(pinned):  # together: all of them hold; per backend: each its own
        found.torch = f">={max(floors) if together else min(floors)}"
        found.notes.append(f"torch: {found.torch}, from the floors {places}")
        return
    joint = sorted({s for t in pinned for s in t.split(",")})
    exact = [s for s in joint if s.startswith("==") and "*" not in s]
    answer = exact[0][2:] if len(exact) == 1 else ",".join(joint)
    marked = [r for r in pinned.values() if r.requirement.marker is not None]
    if together and len(marked) < 2 and table.matching(SpecifierSet(_spec_of(answer))):
        found.torch = answer
        found.notes.append(f"torch: {answer}, what the pins allow together: {places}")
        return
    found.missing["--torch"] = f"the torch pins differ ({places})"


def _without_local(specifier: str) -> str:
    return specifier.split("+", 1)[0].strip()


def _answer(text: str) -> str:
    """`==2.7.1` -> "2.7.1" (an exact version); any other specifier as it is."""
    parts = text.split(",")
    if len(parts) == 1 and parts[0].startswith("==") and "*" not in parts[0]:
        return parts[0][2:]
    return text


# -- the backends per platform ---------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One torch source entry: the backend its index serves (None: PyPI or another index),
    the platforms its marker admits, the extra or group that selects it."""

    backend: str | None
    index: str
    platforms: tuple[str, ...]
    extra: str | None
    group: str | None
    line: int | None


def _infer_targets(
    found: Inferred,
    data: Mapping[str, Any],
    lines: list[str],
    file: str,
    releases: tuple[Release, ...],
) -> None:
    """The targets from torch's sources; `releases` are those the torch answer admits."""
    uv = _table(data, "tool", "uv")
    sources = _table(uv, "sources")
    key = next((k for k in sources if canonicalize_name(k) == "torch"), None)
    supported = _supported(uv.get("environments"), releases)
    newest = releases[-1].torch
    if key is None:
        found.missing["--target"] = (
            "torch has no source in [tool.uv.sources], so it comes from PyPI on every platform, "
            "and which backend each platform should get is yours to say"
        )
        return
    declared = uv.get("index")
    indexes = {
        str(i.get("name")): str(i.get("url", ""))
        for i in (declared if isinstance(declared, list) else [])
        if isinstance(i, dict) and i.get("name")
    }
    extras = list(_table(data, "project", "optional-dependencies"))
    start = next((n for n, line in enumerate(lines) if re.match(rf"\s*{key}\s*=", line)), 0)
    entries: list[_Entry] = []
    bases: set[str] = set()
    for raw in source_entries(sources[key]):
        if not isinstance(raw, dict):
            continue
        entry = _entry(raw, indexes, extras, supported, lines, start)
        if entry is None:
            where = _at(file, _line_of(lines, str(raw.get("index", "")), start))
            found.missing["--target"] = (
                f"the torch source at {where} "
                "is not a PyTorch index uvtorch-ci can read (a url, path, git, nightly or test "
                "source, or an index not defined in [[tool.uv.index]])"
            )
            return
        entries.append(entry)
        url = indexes.get(entry.index, "")
        match = BACKEND_URL.match(url.rstrip("/"))
        if entry.backend and match:
            bases.add(match["base"])
    by_group = any(e.group for e in entries)
    if by_group and any(e.extra for e in entries):
        found.missing["--target"] = (
            "torch's sources are keyed both by extra and by dependency group, which one spec "
            "cannot select"
        )
        return
    if len(bases) == 1 and (base := bases.pop()) != DEFAULT_INDEX_URL:
        found.index_url = base
        found.notes.append(f"index-url: {base}, the base of the torch indexes")
    targets: dict[tuple[str, str, str | None], TargetChoice] = {}
    covered: set[str] = set()
    by_extra = any(e.extra or e.group for e in entries)
    for entry in entries:
        for platform in entry.platforms:
            if not by_extra and platform in covered:
                continue  # uv takes the first entry whose marker matches
            covered.add(platform)
            pypi = entry.backend == "pypi"
            if entry.backend is None or (pypi and not by_extra):
                found.notes.append(
                    f"{platform}: torch from {entry.index!r} (not a PyTorch index, "
                    f"{_at(file, entry.line)}); left to that index, not a target"
                )
                continue
            backend = entry.backend
            if pypi and not any(platform in r.pypi for r in releases):
                found.notes.append(
                    f"{platform}: PyPI has no torch {newest} wheel for it; not a target"
                )
                continue
            if not pypi and not any(r.publishes(platform, backend) for r in releases):
                found.notes.append(
                    f"{platform}: the {backend} index has no torch {newest} build for it "
                    f"({_at(file, entry.line)}); not a target"
                )
                continue
            extra = (entry.extra or entry.group) if by_extra else None
            own = extra is not None and extra == backend.replace(".", "-")
            named = None if own and not by_group else extra
            choice = (
                TargetChoice(platform, backend, group=named)
                if by_group
                else TargetChoice(platform, backend, extra=named)
            )
            if (platform, backend, extra) not in targets:
                targets[(platform, backend, extra)] = choice
                via = f", {'group' if by_group else 'extra'} {extra}" if extra else ""
                found.notes.append(
                    f"target {platform}:{backend}{via}, from the torch source "
                    f"({_at(file, entry.line)})"
                )
    for platform in supported:
        if platform not in covered and any(r.backends(platform) for r in releases):
            found.notes.append(
                f"{platform}: no torch source routes it, so it keeps PyPI's build; not a target"
            )
    torch_indexes = {e.index for e in entries}
    for package in COMPANIONS:
        other = next((k for k in sources if canonicalize_name(k) == package), None)
        if other is None:
            continue
        names = {str(e.get("index")) for e in source_entries(sources[other]) if isinstance(e, dict)}
        if names - torch_indexes:
            found.notes.append(
                f"{package}: its source ({', '.join(sorted(names - torch_indexes))}) is not "
                "torch's; the spec routes it with torch, to the same index"
            )
    if not targets:
        found.missing["--target"] = (
            "no torch source routes a platform to a PyTorch index that publishes this release"
        )
        return
    found.targets = tuple(targets.values())
    if by_group:
        found.selector = "groups"
        found.notes.append("selector: groups, as the torch sources are keyed by group")
        defaults = uv.get("default-groups")
        chosen = (
            [g for g in defaults if g in {t.group for t in found.targets}]
            if isinstance(defaults, list)
            else []
        )
        if len(chosen) == 1:
            found.default_group = chosen[0]
            found.notes.append(
                f"default-group: {chosen[0]}, from [tool.uv] default-groups: a bare `uv sync` "
                "installs it"
            )
    elif by_extra:
        found.selector = "extras"
        found.notes.append("selector: extras, as the torch sources are keyed by extra")


def _supported(environments: Any, releases: tuple[Release, ...]) -> tuple[str, ...]:
    """The platforms `[tool.uv] environments` admits (all without the setting)."""
    declared = [environments] if isinstance(environments, str) else environments
    if not declared or not isinstance(declared, list):
        return tuple(PLATFORMS)
    try:
        markers = [Marker(m) for m in declared if isinstance(m, str)]
    except InvalidMarker:
        return tuple(PLATFORMS)
    return tuple(
        name
        for name, platform in PLATFORMS.items()
        if any(
            m.evaluate(platform.marker_environment(python))
            for m in markers
            for python in {p for r in releases for p in r.python}
        )
    )


def _entry(
    raw: Mapping[str, Any],
    indexes: Mapping[str, str],
    extras: list[str],
    supported: tuple[str, ...],
    lines: list[str],
    start: int,
) -> _Entry | None:
    index = raw.get("index")
    if not isinstance(index, str):
        return None
    url = indexes.get(index)
    if url is None and index != "pypi":
        return None
    backend = None
    if (url is None and index == "pypi") or (url is not None and PYPI_URL.match(url)):
        backend = "pypi"
    elif url is not None and (match := BACKEND_URL.match(url.rstrip("/"))):
        backend = match["backend"]
        if not BACKEND_PATTERN.match(backend) or "/nightly/" in url or "/test/" in url:
            return None
    extra = raw.get("extra") if isinstance(raw.get("extra"), str) else None
    group = raw.get("group") if isinstance(raw.get("group"), str) else None
    group = canonicalize_name(group) if group else None
    marker_text = raw.get("marker")
    try:
        marker = Marker(marker_text) if isinstance(marker_text, str) else None
    except InvalidMarker:
        return None
    if marker is not None and extra is None and "extra" in str(marker_text):
        # `marker = "extra == 'cu124'"`: the extra it selects is the one that makes it true
        chosen = [e for e in extras if _admits_any(marker, supported, e)]
        if len(chosen) != 1:
            return None
        extra = chosen[0]
    platforms = tuple(
        p for p in supported if marker is None or _admits(marker, p, canonicalize_name(extra or ""))
    )
    line = _line_of(lines, index, start)
    return _Entry(
        backend, index, platforms, canonicalize_name(extra) if extra else None, group, line
    )


def _admits(marker: Marker, platform: str, extra: str) -> bool:
    environment = PLATFORMS[platform].marker_environment("3.12")
    environment["extra"] = extra
    return marker.evaluate(environment)


def _admits_any(marker: Marker, platforms: tuple[str, ...], extra: str) -> bool:
    return any(_admits(marker, p, canonicalize_name(extra)) for p in platforms)
