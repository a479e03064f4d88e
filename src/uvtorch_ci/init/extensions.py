"""Pure: the packages built against torch (xformers, torchao, torchcodec, fbgemm-gpu) an existing
project requires, for `init`: one the project routes to a PyTorch index joins `packages`, and
where the project leaves it out of every target whose index the release table does not confirm
publishing it (`xformers; sys_platform != 'darwin'`), `missing-builds` says "skip" for it, so
render keeps it out there as the project did. One it takes from PyPI stays the user's, with a
note: routing it would change where it comes from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..releases.extensions import EXTENSIONS
from ..releases.table import Release, index_backend
from .answers import Inferred, TargetChoice
from .requirements import Found, requirements
from .sources import read_routes


def adopt_extensions(
    found: Inferred,
    data: Mapping[str, Any],
    lines: Sequence[str],
    file: str,
    extras: Sequence[str],
    releases: Sequence[Release],
) -> None:
    """Add to `found` the extension packages the project routes to a PyTorch index, the
    missing-builds that keeps them where the project had them, and a note per finding."""
    wanted = list(requirements(data, lines, EXTENSIONS))
    for package in EXTENSIONS:
        mine = [r for r in wanted if r.name == package]
        if not mine:
            continue
        indexed = [
            r for r in read_routes(data, lines, file, package, extras) if r.kind == "backend"
        ]
        if not indexed:
            found.notes.append(
                f"{package}: required ({mine[0].at(file)}) but not routed to a PyTorch index, so "
                "it comes from PyPI, built against another torch or CUDA; add it to packages "
                "to route it with torch"
            )
            continue
        found.packages = (*found.packages, package)
        route = indexed[0]
        found.notes.append(
            f"packages: {package}, which the project routes to a PyTorch index ({route.index}, "
            f"{route.where})"
        )
        newest = releases[-1] if releases else None
        if newest is None or not found.targets:
            continue
        entry = newest.extension(package)
        unpublished = [
            t for t in found.targets if not entry.publishes(t.platform, index_backend(t.backend))
        ]
        if unpublished and not any(_installs(mine, t) for t in unpublished):
            found.missing_builds[package] = "skip"
            found.notes.append(
                f'missing-builds: {package} = "skip", as {mine[0].at(file)} leaves it out of '
                f"{', '.join(t.platform for t in unpublished)}, where the index publishes no "
                f"{package} {entry.version or ''}".rstrip()
            )


def _installs(requirements: Sequence[Found], target: TargetChoice) -> bool:
    """Whether the project's requirements install the package on `target`: one in the base
    dependencies, or in the target's own extra or group, whose marker holds there."""
    extra = target.extra or (None if target.group else target.backend.replace(".", "-"))
    return any(
        (r.extra is None or r.extra == extra)
        and (r.group is None or r.group == target.group)
        and r.holds(target.platform, r.extra)
        for r in requirements
    )
