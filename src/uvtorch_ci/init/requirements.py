"""Pure: where a project requires the torch family (dependencies, each extra, each dependency
group, `[tool.uv] override-dependencies`), each requirement with its line; and the torch
answer its pins give."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..errors import PyprojectError
from ..platforms import PLATFORMS
from ..pyproject.data import FAMILY
from ..releases.table import ReleaseTable
from .sources import line_of, marker_holds, table_at

FLOOR = re.compile(r"^>=[0-9]+(\.[0-9]+)*$")
BASE = "[project].dependencies"
OVERRIDES = "[tool.uv].override-dependencies"


@dataclass(frozen=True)
class Found:
    """One torch-family requirement of the project, and where it is."""

    name: str
    requirement: Requirement
    place: str  # "[project].dependencies", "[project.optional-dependencies].cpu" ...
    line: int | None
    extra: str | None = None  # the extra it is listed under (canonical)
    group: str | None = None  # the dependency group it is listed under (canonical)

    @property
    def marker(self) -> str | None:
        marker = self.requirement.marker
        return str(marker) if marker is not None else None

    def holds(self, platform: str, extra: str | None = None) -> bool:
        """Whether the requirement's marker holds on `platform` with `extra` active."""
        return self.marker is None or marker_holds(self.marker, platform, extra)

    def at(self, file: str) -> str:
        return at(file, self.line)


def at(file: str, line: int | None) -> str:
    return f"{file} line {line}" if line else file


def requirements(
    data: Mapping[str, Any], lines: Sequence[str], names: Sequence[str] = FAMILY
) -> Iterator[Found]:
    """Every requirement of a package in `names` (the torch family) in dependencies, extras
    and dependency groups."""
    project = table_at(data, "project")
    places: list[tuple[str, Any, str | None, str | None]] = [
        (BASE, project.get("dependencies"), None, None)
    ]
    extras = project.get("optional-dependencies")
    if isinstance(extras, dict):
        places += [
            (f"[project.optional-dependencies].{k}", v, canonicalize_name(k), None)
            for k, v in extras.items()
        ]
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        places += [
            (f"[dependency-groups].{k}", v, None, canonicalize_name(k)) for k, v in groups.items()
        ]
    for place, items, extra, group in places:
        for item, line in _strings(items, lines):
            try:
                requirement = Requirement(item)
            except InvalidRequirement:
                continue  # the merge names it
            name = canonicalize_name(requirement.name)
            if name in names:
                yield Found(name, requirement, place, line, extra, group)


def never_installed(
    data: Mapping[str, Any], lines: Sequence[str], file: str, extras: Sequence[str] = ()
) -> None:
    """Refuse a project whose `[tool.uv] override-dependencies` keep uv from ever installing
    torch (`torch; sys_platform == 'never'`: the container provides it): there is no build for
    uvtorch-ci to route, and any spec would only claim one."""
    overrides = table_at(data, "tool", "uv").get("override-dependencies")
    for index, (item, line) in enumerate(_strings(overrides, lines)):
        try:
            requirement = Requirement(item)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) != "torch" or requirement.marker is None:
            continue
        marker = str(requirement.marker)
        if not any(marker_holds(marker, p, e) for p in PLATFORMS for e in (None, *extras)):
            raise PyprojectError(
                f"{item!r} ({at(file, line)}) keeps uv from ever installing torch: its marker "
                "is true on no platform uvtorch-ci targets, so torch comes from outside the "
                "project (a container, a system install), and there is no torch build for "
                "uvtorch-ci to route",
                file=file,
                where=f"{OVERRIDES}[{index}]",
                hint="uvtorch-ci is for projects that install torch with uv; remove the "
                "override if uv should install it, then run init again",
            )


def _strings(items: Any, lines: Sequence[str]) -> Iterator[tuple[str, int | None]]:
    """The strings of a requirement array with their lines ({include-group = ...} skipped)."""
    if not isinstance(items, list):
        return
    for item in items:
        if isinstance(item, str):
            yield item, line_of(lines, item)


# -- the torch version ---------------------------------------------------------------------


def spec_of(torch: str | None) -> str:
    """A torch answer as a specifier ("2.7.1" -> "==2.7.1")."""
    if torch is None:
        return ""
    return torch if torch[:1] in "<>=!~" else f"=={torch}"


@dataclass(frozen=True)
class Pins:
    """The torch answer the pins give: `torch` (None: no pin), the note saying where from,
    or `differ` (the reason the pins give no one answer)."""

    torch: str | None
    note: str | None
    differ: str | None = None


def torch_pins(found: Sequence[Found], selectors: set[str], file: str, table: ReleaseTable) -> Pins:
    """The torch answer from the pins. Those uv resolves together ([project].dependencies, the
    groups, the extras that select no backend) say it when there are any: the one they share,
    or what they all allow together (when at most one of them holds for some platforms only:
    two such pins are two answers). Else those of the extras that select a backend: the one
    they share, or the lowest of their floors (`>=`, one per backend), which lets each backend
    resolve as before. Pins that allow no release together: no answer, --torch must say.
    Local tags (+cu128) are dropped: the spec picks them per platform."""
    pins = [r for r in found if r.name == "torch" and str(r.requirement.specifier)]
    together = [r for r in pins if r.place not in selectors]
    pinned: dict[str, Found] = {}
    for r in together or pins:
        specifiers = sorted(_without_local(s) for s in str(r.requirement.specifier).split(","))
        pinned.setdefault(",".join(specifiers), r)
    if not pinned:
        return Pins(None, None)
    places = "; ".join(f"{t} ({r.at(file)})" for t, r in pinned.items())
    if len(pinned) == 1:
        text, r = next(iter(pinned.items()))
        answer = _answer(text)
        return Pins(answer, f"torch: {answer}, from {r.place} ({r.at(file)})")
    floors = [Version(t[2:]) for t in pinned if FLOOR.match(t)]
    if len(floors) == len(pinned):  # together: all of them hold; per backend: each its own
        answer = f">={max(floors) if together else min(floors)}"
        return Pins(answer, f"torch: {answer}, from the floors {places}")
    joint = sorted({s for t in pinned for s in t.split(",")})
    exact = [s for s in joint if s.startswith("==") and "*" not in s]
    answer = exact[0][2:] if len(exact) == 1 else ",".join(joint)
    marked = [r for r in pinned.values() if r.requirement.marker is not None]
    if together and len(marked) < 2 and table.matching(SpecifierSet(spec_of(answer))):
        return Pins(answer, f"torch: {answer}, what the pins allow together: {places}")
    return Pins(
        None,
        None,
        f"the torch pins differ ({places}), and a spec has one torch version or range for "
        "all its targets",
    )


def _without_local(specifier: str) -> str:
    return specifier.split("+", 1)[0].strip()


def _answer(text: str) -> str:
    """`==2.7.1` -> "2.7.1" (an exact version); any other specifier as it is."""
    parts = text.split(",")
    if len(parts) == 1 and parts[0].startswith("==") and "*" not in parts[0]:
        return parts[0][2:]
    return text
