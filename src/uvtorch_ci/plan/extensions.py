"""Pure: where each package built against torch (xformers, torchao, torchcodec, fbgemm-gpu) comes
from on each target: the target's PyTorch index where the release table confirms that index
publishes the version paired with the target's torch for its platform; elsewhere what the
spec's `missing-builds` asks (PyPI's build, not installed, or a refusal naming it).

An unconfirmed build is never routed, not even unpinned: these packages' wheels mostly name no
torch they were built for (torchao, torchcodec), so uv would take the newest build on the
index, made for another torch, which imports and then fails at its first kernel."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from packaging.version import Version

from ..errors import SpecError
from ..releases.extensions import EXTENSIONS, ExtensionEntry
from ..releases.table import Release, index_backend
from ..spec.parse import Spec
from ..spec.targets import PYPI, Target

INDEX, FROM_PYPI, SKIP = "index", "pypi", "skip"


@dataclass(frozen=True)
class Placement:
    """Where one package comes from on one target, and the version it must be (None: the
    table pairs none with the target's torch)."""

    package: str
    how: str  # INDEX, FROM_PYPI or SKIP
    version: str | None


def extension_packages(spec: Spec) -> tuple[str, ...]:
    return tuple(p for p in spec.packages if p in EXTENSIONS)


@dataclass(frozen=True)
class Missing:
    """A package the target's index does not publish for it: why, and what it gets instead."""

    package: str
    why: str
    how: str  # FROM_PYPI or SKIP
    version: str | None
    target: str


def place_extensions(
    spec: Spec, releases: Iterable[Release], target: Target
) -> tuple[tuple[Placement, ...], tuple[Missing, ...]]:
    """Each extension package's placement on `target` (`releases`: those of the spec that have
    the target's build, oldest first), and why those not on the index are not. SpecError for
    a package whose `missing-builds` is "refuse"."""
    having = list(releases)
    newest = having[-1]
    backend = index_backend(target.backend)
    placements: list[Placement] = []
    missing: list[Missing] = []
    for package in extension_packages(spec):
        entry = newest.extension(package)
        if backend == PYPI:  # the whole target takes PyPI's builds
            placements.append(Placement(package, FROM_PYPI, entry.version))
            continue
        if all(r.extension(package).publishes(target.platform, backend) for r in having):
            placements.append(Placement(package, INDEX, entry.version))
            continue
        mode = spec.missing_builds.get(package, FROM_PYPI)
        why = _why_not(package, newest, target.platform, backend)
        if mode == "refuse":
            raise SpecError(
                f"{why}, and missing-builds refuses it for {target.name}",
                file=spec.file,
                where=spec.key("packages"),
                hint=_refusal_hint(package, entry, target.platform),
            )
        how = SKIP if mode == SKIP else FROM_PYPI
        version = None if how == SKIP else entry.version
        placements.append(Placement(package, how, version))
        missing.append(Missing(package, why, how, version, target.name))
    return tuple(placements), tuple(missing)


def missing_notes(missing: Iterable[Missing]) -> tuple[str, ...]:
    """One line per package and reason: what the targets it names get instead."""
    grouped: dict[tuple[str, str, str, str | None], list[str]] = {}
    for item in missing:
        grouped.setdefault((item.package, item.why, item.how, item.version), []).append(item.target)
    out = []
    for (package, why, how, version), targets in grouped.items():
        if how == SKIP:
            what = 'not installed (missing-builds = "skip")'
        else:
            what = f"PyPI's {package}=={version}" if version else f"PyPI's {package}, unpinned"
        out.append(f"{why}: on {', '.join(targets)}, {what}")
    return tuple(out)


def _why_not(package: str, release: Release, platform: str, backend: str) -> str:
    entry = release.extension(package)
    torch = f"torch {release.torch}"
    if entry.version is None:
        return f"the release table pairs no {package} release with {torch}"
    named = f"{package} {entry.version}"
    if not entry.confirmed:
        return (
            f"{named} goes with {torch} ({entry.paired_by}), but no index was seen publishing "
            "it (`uvtorch-ci releases refresh` reads the index)"
        )
    published = entry.builds.get(platform, ())
    if not published:
        return f"no PyTorch index publishes {named} for {platform}"
    return f"the PyTorch index publishes {named} for {platform} on {', '.join(published)} only"


def _refusal_hint(package: str, entry: ExtensionEntry, platform: str) -> str:
    published = entry.builds.get(platform, ()) if entry.confirmed else ()
    move = f"target {' or '.join(published)} on {platform}, or " if published else ""
    return (
        f'{move}set missing-builds = {{ {package} = "pypi" }} (PyPI\'s build there) or '
        '"skip" (not installed there)'
    )


def extension_requirement(package: str, releases: Iterable[Release]) -> str:
    """`package==X` when every release of the spec pairs the same version, `package>=X,<=Y`
    when they pair several, the bare name when the table pairs none with some of them."""
    found = [r.extension(package).version for r in releases]
    if not found or None in found:
        return package
    versions = sorted({Version(v) for v in found if v is not None})
    if len(versions) == 1:
        return f"{package}=={versions[0]}"
    return f"{package}>={versions[0]},<={versions[-1]}"
