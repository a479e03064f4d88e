"""Pure: the torch answer beyond the pins: without a pin, what the project's uv.lock installs
(its lowest version as a floor) or what uv would resolve from each index; a range whose rocm or
xpu builds span the Triton rename, narrowed to the side the lock (or the Triton package the
project requires) is on, with a note saying why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from ..releases.table import Release, ReleaseTable
from .answers import Inferred
from .locked import LockView
from .requirements import Found, spec_of
from .targets import Targets, locked_versions


def torch_from_lock(
    found: Inferred,
    result: Targets,
    unpinned: bool,
    lock: LockView | None,
    releases: tuple[Release, ...],
) -> None:
    """Without a pin, the lowest version uv.lock gives a target, as a floor: what the lock
    already installs, and newer where the index has it, as an unpinned torch does. Without a
    lock, what uv would resolve: the newest release each target's index has (an index that
    stopped at 2.6.0, as cu124 did, keeps its targets at 2.6.0)."""
    versions = locked_versions(result.locked)
    if lock is None or not versions:
        if unpinned:
            _torch_unpinned(found, releases)
        return
    try:
        admitted = SpecifierSet(spec_of(found.torch)) if found.torch else SpecifierSet()
    except InvalidSpecifier:
        return
    outside = [v for v in versions if not admitted.contains(v, prereleases=True)]
    if outside:
        found.notes.append(
            f"torch: {lock.file} installs {', '.join(outside)}, which the pins do not admit: "
            "the lock predates pyproject.toml (run `uv lock`)"
        )
    if unpinned:
        found.torch = f">={versions[0]}"
        found.notes.append(
            f"torch: {found.torch}, no version pinned; {lock.file} installs "
            f"{', '.join(versions)} on the targets"
        )


def _torch_unpinned(found: Inferred, releases: tuple[Release, ...]) -> None:
    newest: dict[str, Release] = {}
    for target in found.targets:
        backend = target.backend
        having = [r for r in releases if _has_backend(r, backend, target.platform)]
        if having:
            newest[backend] = having[-1]
    oldest = min(newest.values(), key=lambda r: r.version, default=None)
    if oldest is None or oldest.version == releases[-1].version:
        found.notes.append("torch: no version pinned; the spec takes the newest release")
        return
    found.torch = f">={oldest.torch}"
    behind = sorted(b for b, r in newest.items() if r.version == oldest.version)
    found.notes.append(
        f"torch: {found.torch}, no version pinned: uv resolves the newest release each index "
        f"has, and the {', '.join(behind)} index stops at {oldest.torch}"
    )


def _has_backend(release: Release, backend: str, platform: str) -> bool:
    """Whether the release's index for `backend` has it (on any platform: uv resolves the
    newest version the index has); PyPI: for `platform`."""
    if backend == "pypi":
        return platform in release.pypi
    return any(release.publishes(p, backend) for p in release.builds)


def narrow_for_triton(
    found: Inferred, result: Targets, table: ReleaseTable, tritons: Sequence[Found], file: str
) -> None:
    """A range whose rocm or xpu builds need differently named Triton packages (the rename at
    2.11), which one lock cannot route: narrowed to the side uv.lock installs, or the side
    whose Triton package the project requires, or the newest; the note says why."""
    if found.torch is None:
        return
    for backend in sorted({t.backend for t in found.targets if t.backend[:4] in ("rocm", "xpu")}):
        platforms = {t.platform for t in found.targets if t.backend == backend}
        releases = [
            r
            for r in table.matching(SpecifierSet(spec_of(found.torch)))
            if any(r.publishes(p, backend) for p in platforms)
        ]
        sides: dict[tuple[str, ...], list[Release]] = {}
        for release in releases:
            names = _triton_names(release, backend, platforms)
            if names:
                sides.setdefault(names, []).append(release)
        if len(sides) < 2:
            continue
        names, why = _chosen_side(sides, backend, result, table, tritons, file)
        chosen, others = sides[names], [r for n, rs in sides.items() if n != names for r in rs]
        if all(o.version > chosen[-1].version for o in others):
            bound = f"<{min(o.version for o in others)}"
        elif all(o.version < chosen[0].version for o in others):
            bound = f">={chosen[0].torch}"
        else:
            found.missing["--torch"] = f"{found.torch} mixes {backend} builds of both Triton names"
            return
        old = found.torch
        found.torch = f"{spec_of(old)},{bound}"
        shown = "; ".join(
            f"{' + '.join(n)} in {rs[0].torch} ... {rs[-1].torch}" for n, rs in sides.items()
        )
        found.notes.append(
            f"torch: {found.torch}, narrowed from {old}: its {backend} builds need differently "
            f"named Triton packages ({shown}), which one lock cannot route; kept the side {why}"
        )


def _triton_names(release: Release, backend: str, platforms: set[str]) -> tuple[str, ...]:
    """The Triton packages `release`'s `backend` builds require on `platforms` (confirmed or
    named only, as the planner routes them)."""
    entry = release.triton_entry(backend)
    if entry is None:
        return ()
    pythons = release.python
    return tuple(
        sorted({r.name for r in entry.requires if any(r.holds(p, pythons) for p in platforms)})
    )


def _chosen_side(
    sides: Mapping[tuple[str, ...], list[Release]],
    backend: str,
    result: Targets,
    table: ReleaseTable,
    tritons: Sequence[Found],
    file: str,
) -> tuple[tuple[str, ...], str]:
    """The Triton names of the side to keep, and why (for the note)."""
    for choice, locked in result.locked.items():
        release = table.get(locked.torch.public)
        if choice.backend == backend and release is not None:
            names = _triton_names(release, backend, {choice.platform})
            if names in sides:
                return names, f"uv.lock installs (torch {locked.torch.version})"
    for names in sides:
        required = next((w for w in tritons if w.name in names), None)
        if required is not None:
            return names, (
                f"whose Triton package the project requires ({required.name}, {required.at(file)})"
            )
    newest = max(sides, key=lambda n: sides[n][-1].version)
    return newest, "uv resolves today (the newest releases)"
