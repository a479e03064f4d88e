"""Pure: an existing project's torch setup (and its uv.lock, when there is one) -> the spec
`init` infers from it, with a note per finding naming the file and line (or the lock's
package) it came from.

The torch version or range comes from the pins (requirements.py); without a pin, from what the
lock installs or uv would resolve (version.py), which also narrows a range across the Triton
rename. The targets come from torch's sources (targets.py), checked against the lock or the
release table. The companions come from every place they are required, the Python axis from
the Pythons every target's locked build has wheels for, the index base of a mirror from the
sources' URLs. Mistakes the author made (lint.py) are warnings. What it cannot infer it names
in `missing`, with the flag that would give it; a project that never installs torch, or a
source entry uv cannot read, is refused (PyprojectError).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..errors import PyprojectError
from ..pyproject.data import FAMILY
from ..releases.table import BACKEND_PATTERN, COMPANIONS, Release, ReleaseTable
from ..spec.parse import DEFAULT_INDEX_URL
from .answers import Inferred
from .extensions import adopt_extensions
from .lint import lint_project
from .locked import LockView
from .requirements import BASE, Found, at, never_installed, requirements, spec_of, torch_pins
from .sources import Route, read_routes, table_at
from .targets import Targets, infer_targets, supported
from .version import narrow_for_triton, torch_from_lock

TRITONS = ("pytorch-triton-rocm", "triton-rocm", "pytorch-triton-xpu", "triton-xpu")


def infer(
    data: Mapping[str, Any],
    text: str,
    file: str,
    table: ReleaseTable,
    torch: str | None = None,
    lock: LockView | None = None,
) -> Inferred:
    """The spec the project's own torch setup says, with a note per finding. `torch` (the
    --torch flag) overrides the pins: the targets are those its releases publish. `lock` is
    the project's uv.lock: what real uv resolved decides the targets, the Pythons and, without
    a pin, the torch floor."""
    lines = text.splitlines()
    found = Inferred()
    extras = list(table_at(data, "project", "optional-dependencies"))
    never_installed(data, lines, file, extras)
    routes = {
        package: read_routes(data, lines, file, package, extras) for package in (*FAMILY, *TRITONS)
    }
    wanted = list(requirements(data, lines))
    found.has_torch = any(r.name == "torch" for r in wanted)
    if routes["torch"] and "dependencies" in _list(table_at(data, "project").get("dynamic")):
        raise PyprojectError(
            "dependencies are dynamic, so init cannot read torch's requirement and uvtorch-ci "
            "cannot declare it",
            file=file,
            where="[project].dynamic",
            hint="list dependencies in [project].dependencies instead",
        )
    found.warnings = [str(f) for f in lint_project(data, lines, file, routes, wanted, lock)]
    pins = torch_pins(wanted, _selector_places(data, routes), file, table)
    found.torch = torch if torch is not None else pins.torch
    if torch is None and pins.note:
        found.notes.append(pins.note)
    if torch is None and pins.differ:
        found.missing["--torch"] = pins.differ
    packages: dict[str, Found] = {}
    for r in wanted:
        if r.name in COMPANIONS:
            packages.setdefault(r.name, r)
    found.packages = tuple(p for p in COMPANIONS if p in packages)
    for name in found.packages:
        r = packages[name]
        found.notes.append(f"packages: {name}, from {r.place} ({r.at(file)})")
    if not found.has_torch:
        return found
    releases = _releases(found.torch, table)
    platforms = supported(table_at(data, "tool", "uv").get("environments"))
    if lock is not None:
        platforms = tuple(p for p in platforms if lock.covers(p))
    if not routes["torch"]:
        found.missing["--target"] = (
            "torch has no source in [tool.uv.sources], so it comes from PyPI on every platform, "
            "and which backend each platform should get is yours to say"
        )
        return found
    result = infer_targets(routes["torch"], wanted, platforms, releases, lock, file)
    found.notes += result.notes
    if result.missing or not result.targets:
        found.missing["--target"] = result.missing or _no_target(found.warnings)
        return found
    found.targets = tuple(result.targets)
    if torch is None and pins.differ is None:
        torch_from_lock(found, result, pins.torch is None, lock, releases)
        tritons = list(requirements(data, lines, TRITONS))
        narrow_for_triton(found, result, table, tritons, file)
    _index_url(found, routes["torch"], result, lock)
    _companions(found, routes, result, file, lock)
    adopt_extensions(found, data, lines, file, extras, releases)
    _selector(found, result, data)
    _base(found, wanted, file)
    _python(found, result, data, lock if torch is None else None)
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _releases(torch: str | None, table: ReleaseTable) -> tuple[Release, ...]:
    try:
        specifier = SpecifierSet(spec_of(torch)) if torch else None
    except InvalidSpecifier:
        specifier = None  # the spec reader names a bad --torch
    return (table.matching(specifier) if specifier else ()) or table.releases


def _selector_places(data: Mapping[str, Any], routes: Mapping[str, Sequence[Route]]) -> set[str]:
    """The extras that select a backend: named after one, or keyed in a torch-family source."""
    extras = table_at(data, "project", "optional-dependencies")
    names = {e for e in extras if BACKEND_PATTERN.match(canonicalize_name(e).replace("-", "."))}
    names |= {r.extra for package in FAMILY for r in routes[package] if r.extra}
    known = {canonicalize_name(e): e for e in extras}
    return {
        f"[project.optional-dependencies].{known[canonicalize_name(n)]}"
        for n in names
        if canonicalize_name(n) in known
    }


def _no_target(warnings: Sequence[str]) -> str:
    dead = [w for w in warnings if "never applies" in w]
    if dead:
        where = dead[0].split(": ", 1)[0]
        return (
            "no torch source routes a platform to a PyTorch index: the one at "
            f"{where} never applies (see the warning above)"
        )
    return "no torch source routes a platform to a PyTorch index that publishes this release"


# -- the rest of the spec: index base, companions, selector, Pythons -------------------------


def _index_url(
    found: Inferred, routes: Sequence[Route], result: Targets, lock: LockView | None
) -> None:
    """A mirror's base, when every backend source points under one that is not the official;
    and the hosts its pages link files under, as uv.lock records them (file-hosts)."""
    backends = {t.backend for t in found.targets}
    bases = {r.base for r in routes if r.kind == "backend" and r.backend in backends and r.base}
    if len(bases) == 1 and (base := bases.pop()) != DEFAULT_INDEX_URL:
        found.index_url = base
        found.notes.append(f"index-url: {base}, the base of the torch indexes")
        own = urlsplit(base).netloc.lower()
        hosts = {
            _file_host(url)
            for locked in result.locked.values()
            for url in locked.files
            if urlsplit(url).netloc.lower() != own and not url.startswith("path:")
        }
        if lock is not None and hosts:
            found.file_hosts = tuple(sorted(hosts))
            found.notes.append(
                f"file-hosts: {', '.join(found.file_hosts)}, where {lock.file} has the mirror's "
                "files from (its pages link them there)"
            )


def _file_host(url: str) -> str:
    """The prefix a file URL lies under: its host, and the path up to /whl where it has one
    (https://download-r2.pytorch.org/whl)."""
    parts = urlsplit(url)
    head, whl, _ = parts.path.partition("/whl/")
    return f"{parts.scheme}://{parts.netloc}" + (f"{head}/whl" if whl else "")


def _companions(
    found: Inferred,
    routes: Mapping[str, Sequence[Route]],
    result: Targets,
    file: str,
    lock: LockView | None,
) -> None:
    """Notes on the companions the spec routes with torch where the project did not: no
    source of their own (PyPI's build, which need not match torch's), another index, or
    another index in the lock."""
    torch_indexes = {r.index for r in routes["torch"]}
    for package in found.packages:
        own = routes[package]
        if not own:
            found.notes.append(
                f"{package}: no source routes it, so it came from PyPI (a build that need not "
                "match torch's); the spec routes it with torch, to the same index"
            )
        elif {r.index for r in own} - torch_indexes:
            others = sorted({r.index for r in own} - torch_indexes)
            found.notes.append(
                f"{package}: its source ({', '.join(others)}, {at(file, own[0].line)}) is not "
                "torch's; the spec routes it with torch, to the same index"
            )
        if lock is None:
            continue
        moved = [
            f"{choice.platform} ({b.companions[package].shown(lock.file)})"
            for choice, b in result.locked.items()
            if package in b.companions
            and b.companions[package].registry.rstrip("/") != b.torch.registry.rstrip("/")
        ]
        if moved:
            found.notes.append(
                f"{package}: {lock.file} installs it from another index than torch on "
                f"{'; '.join(moved[:2])}{' ...' if len(moved) > 2 else ''}: after the switch "
                "it comes from torch's index"
            )


def _selector(found: Inferred, result: Targets, data: Mapping[str, Any]) -> None:
    found.selector = result.selector
    if result.selector == "groups":
        found.notes.append("selector: groups, as the torch sources are keyed by group")
        defaults = table_at(data, "tool", "uv").get("default-groups")
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
    elif result.selector == "extras":
        found.notes.append("selector: extras, as the torch sources are keyed by extra")


def _base(found: Inferred, wanted: Sequence[Found], file: str) -> None:
    """What becomes of torch in [project].dependencies, and so of a bare `uv sync`."""
    base = [r for r in wanted if r.name == "torch" and r.place == BASE]
    if not base and found.selector is None:
        found.notes.append(
            "torch is not in [project].dependencies: with one backend per platform the spec "
            "declares it there, so a bare install of the project then gets torch"
        )
    elif base and found.selector is not None:
        kind = "extra" if found.selector == "extras" else "group"
        found.notes.append(
            f"torch is in [project].dependencies too ({base[0].requirement}, "
            f"{base[0].at(file)}): the spec keeps torch in its {kind}s only, as "
            f"uv cannot lock it there beside them for every platform the spec requires; so a "
            f"bare `uv sync` or `uv run` installs no torch (before: PyPI's), and "
            f"`uv sync --{kind} NAME` or `uvtorch-ci sync` installs a target's build"
            + (" (a default-group makes a bare sync install one)" if kind == "group" else "")
        )


def _python(
    found: Inferred, result: Targets, data: Mapping[str, Any], lock: LockView | None
) -> None:
    """The CI Python: the newest every target's locked build has a wheel for, when the lock
    says; else the newest both torch and requires-python allow (the spec's default)."""
    requires = table_at(data, "project").get("requires-python")
    if lock is not None and len(result.locked) == len(found.targets):
        common = set.intersection(*(set(b.pythons) for b in result.locked.values()))
        if common:
            newest = max(common, key=Version)
            found.python = (newest,)
            found.notes.append(
                f"python: {newest}, the newest Python every target's torch in {lock.file} has "
                f"a wheel for (of {', '.join(sorted(common, key=Version))})"
            )
            return
    if isinstance(requires, str):
        found.notes.append(
            f"python: the newest Python both torch and requires-python ({requires}) allow, "
            "unless --python says"
        )
