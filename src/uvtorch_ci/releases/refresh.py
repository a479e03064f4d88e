"""Pure: what `releases refresh` observed (index pages, PyPI's JSON, core metadata) -> the
release table, with notes on what was kept or left out; and the summary of a change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace

from packaging.version import Version

from ..platforms import PLATFORMS
from .archs import ArchEntry
from .pages import IndexFile, WheelBuild, backend_order, wheel_build
from .pypi import (
    PyPIRelease,
    companion_links,
    pair_companion,
    pypi_backend,
    triton_requirements,
)
from .refresh_extensions import read_listings, release_entries
from .table import COMPANIONS, Release, ReleaseTable
from .triton import REFRESHED, TritonEntry, TritonRequirement, entry_family

# The order of platforms inside a row, as the shipped table has it (dump_table keeps it).
_ROW_ORDER = ("linux-x86_64", "linux-aarch64", "macos-arm64", "windows-x86_64", "macos-x86_64")
PLATFORM_ORDER = tuple(dict.fromkeys((*_ROW_ORDER, *PLATFORMS)))
# The backend families whose torch builds require a Triton package only their index serves.
TRITON_FAMILIES = ("rocm", "xpu")


@dataclass
class Observed:
    """Everything refresh read, before any conclusion: the input of `build_table`."""

    # backend -> the files of <index-url>/<backend>/torch/, for the indexes that exist
    indexes: dict[str, tuple[IndexFile, ...]] = field(default_factory=dict)
    # torch, torchvision, torchaudio -> version -> file names on PyPI
    projects: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # (project, version) -> what PyPI's JSON API says of that release
    releases: dict[tuple[str, str], PyPIRelease] = field(default_factory=dict)
    # core metadata URL -> METADATA text (of the rocm/xpu torch builds: their Triton pin; of
    # one wheel per version of the packages built against torch: the torch they require)
    metadata: dict[str, str] = field(default_factory=dict)
    # (backend, package) -> the files of <index-url>/<backend>/<package>/ (xformers ...)
    packages: dict[tuple[str, str], tuple[IndexFile, ...]] = field(default_factory=dict)


def _floor(previous: ReleaseTable, package: str) -> Version | None:
    versions = [Version(r.companion(package)) for r in previous.releases]
    return min(versions) if versions else None


def releases_wanted(
    projects: Mapping[str, Mapping[str, tuple[str, ...]]], previous: ReleaseTable
) -> list[tuple[str, str]]:
    """The (project, version) pairs whose PyPI metadata the table needs: torch and companion
    releases not older than the oldest the table lists (it starts at torch 2.0)."""
    wanted = []
    for package in ("torch", *COMPANIONS):
        floor = _floor(previous, package)
        for version in sorted(projects.get(package, {}), key=Version):
            if floor is None or Version(version) >= floor:
                wanted.append((package, version))
    return wanted


@dataclass(frozen=True)
class _Build:
    backend: str
    wheel: WheelBuild
    file: IndexFile


def _torch_builds(indexes: Mapping[str, Iterable[IndexFile]]) -> dict[str, list[_Build]]:
    """Public torch version -> every build the indexes publish of it.

    A file is a build of the index it is listed on when its local tag names that index or it
    has none (aarch64 CUDA builds are often untagged); one tagged for another backend is a
    copy, and macOS builds are cpu builds (with MPS) wherever they are listed."""
    out: dict[str, list[_Build]] = {}
    for backend, files in indexes.items():
        for item in files:
            wheel = wheel_build(item.filename)
            if wheel is not None and not item.yanked and _is_build_of(wheel, backend):
                out.setdefault(wheel.version, []).append(_Build(backend, wheel, item))
    return out


def _is_build_of(wheel: WheelBuild, backend: str) -> bool:
    if wheel.name != "torch" or Version(wheel.version).is_prerelease:
        return False
    if wheel.local and not wheel.tagged_for(backend):
        return False
    return backend == "cpu" or not all(p.startswith("macos-") for p in wheel.platforms)


def torch_versions(observed: Observed, previous: ReleaseTable) -> list[str]:
    """The torch releases the table covers: final releases on PyPI, not older than its oldest."""
    floor = _floor(previous, "torch")
    on_pypi = observed.projects.get("torch", {})
    return sorted((v for v in on_pypi if floor is None or Version(v) >= floor), key=Version)


def triton_probes(observed: Observed, versions: Iterable[str]) -> dict[tuple[str, str], str]:
    """(torch version, rocm or xpu backend) -> the core metadata URL of one Linux x86_64 torch
    build on that index: its Requires-Dist names the Triton packages (and their markers) the
    backend's builds require. Each backend is read: rocm6.x and rocm7.x builds of one release
    may require differently named packages."""
    builds = _torch_builds(observed.indexes)
    probes: dict[tuple[str, str], str] = {}
    for version in versions:
        found = builds.get(Version(version).public, [])
        for build in sorted(found, key=lambda b: b.file.filename):
            url = build.file.metadata_url
            on_linux = "linux-x86_64" in build.wheel.platforms
            if entry_family(build.backend) in TRITON_FAMILIES and url and on_linux:
                probes.setdefault((version, build.backend), url)
    return probes


@dataclass(frozen=True)
class Refreshed:
    """The rebuilt table, and notes on what the indexes did not show (kept or left out)."""

    table: ReleaseTable
    notes: tuple[str, ...]


def _wheels(filenames: Iterable[str]) -> list[WheelBuild]:
    return [wheel for name in filenames if (wheel := wheel_build(name)) is not None]


def _untagged_cpu(builds: Iterable[_Build], previous: ReleaseTable) -> tuple[str, ...]:
    """Platforms whose cpu builds carry no local tag: as observed, else as the table had it."""
    seen: dict[str, set[bool]] = {}
    for build in builds:
        if build.backend == "cpu":
            for platform in build.wheel.platforms:
                seen.setdefault(platform, set()).add(build.wheel.local == "")
    kept = [p for p in previous.untagged_cpu if seen.get(p) != {False}]
    return (*kept, *(p for p in PLATFORM_ORDER if seen.get(p) == {True} and p not in kept))


class _Rows:
    """build_table's working state: the observations indexed, and the notes taken."""

    def __init__(self, observed: Observed, previous: ReleaseTable, today: str) -> None:
        self.observed = observed
        self.previous = previous
        self.source = REFRESHED.format(date=today)
        self.builds = _torch_builds(observed.indexes)
        self.links = {
            package: companion_links(observed.releases, package) for package in COMPANIONS
        }
        self.versions = torch_versions(observed, previous)
        probes = triton_probes(observed, self.versions)
        self.triton_metadata = {key: observed.metadata.get(url) for key, url in probes.items()}
        self.listings = read_listings(observed.packages, observed.metadata)
        self.today = today
        self.notes: list[str] = []

    def row(self, version: str) -> Release | None:
        old = self.previous.get(version)
        found = self.builds.get(Version(version).public, [])
        if not found:
            self.notes.append(f"torch {version}: on PyPI but on no PyTorch index; left out")
            return None
        builds: dict[str, set[str]] = {}
        for build in found:
            for platform in build.wheel.platforms:
                builds.setdefault(platform, set()).add(build.backend)
        companions = {package: self.companion(package, version, old) for package in COMPANIONS}
        if None in companions.values():
            self.notes.append(f"torch {version}: no companion release names it yet; left out")
            return None
        on_pypi = _wheels(self.observed.projects["torch"][version])
        pythons = {py for w in on_pypi for py in w.pythons}
        pythons = pythons or {py for build in found for py in build.wheel.pythons}
        python = tuple(sorted(pythons, key=Version))
        release = self.observed.releases.get(("torch", version))
        requires = release.requires_dist if release is not None else ()
        pypi_platforms = {p for w in on_pypi for p in w.platforms}
        row = Release(
            torch=version,
            torchvision=str(companions["torchvision"]),
            torchaudio=str(companions["torchaudio"]),
            python=python,
            builds={
                p: tuple(sorted(builds[p], key=backend_order))
                for p in PLATFORM_ORDER
                if p in builds
            },
            pypi={
                p: pypi_backend(requires, p, python[-1] if python else "3")
                for p in PLATFORM_ORDER
                if p in pypi_platforms
            },
        )
        packages, notes = release_entries(self.listings, row, old, self.today)
        self.notes += notes
        return replace(
            row,
            triton=self.triton(version, row, old),
            cuda_archs=kept_archs(old, row),
            packages=packages,
        )

    def companion(self, package: str, version: str, old: Release | None) -> str | None:
        paired = pair_companion(self.links[package], version)
        if paired is None and old is not None:
            paired = old.companion(package)
            self.notes.append(f"torch {version}: no {package} release names it; kept {paired}")
        return paired

    def triton(self, version: str, release: Release, old: Release | None) -> dict[str, TritonEntry]:
        """Each rocm/xpu backend's Triton entry: confirmed from the wheel's metadata (a fact
        already confirmed the same keeps its source), else the previous table's, noted."""
        entries: dict[str, TritonEntry] = {}
        backends = {b for backends in release.builds.values() for b in backends}
        for backend in sorted(backends, key=backend_order):
            if entry_family(backend) not in TRITON_FAMILIES:
                continue
            text = self.triton_metadata.get((version, backend))
            required = triton_requirements(text) if text is not None else ()
            before = old.triton_entry(backend) if old is not None else None
            if required:
                platforms = [p for p, b in release.builds.items() if backend in b]
                requires = tuple(_simplified(r, platforms, release.python) for r in required)
                same = before is not None and before.confirmed and before.requires == requires
                source = before.source if same and before else self.source
                entries[backend] = TritonEntry(requires, source)
            elif before is not None:
                entries[backend] = before
                shown = ", ".join(r.text for r in before.requires)
                self.notes.append(
                    f"torch {version}: no core metadata names the Triton of its {backend} "
                    f"builds; kept {shown}"
                )
        return collapse_tritons(entries)


def kept_archs(old: Release | None, row: Release) -> dict[str, dict[str, ArchEntry]]:
    """The previous table's architecture lists for the builds `row` still publishes: the
    indexes do not tell them (the build scripts and the wheels themselves do)."""
    kept: dict[str, dict[str, ArchEntry]] = {}
    for backend, platforms in (old.cuda_archs if old else {}).items():
        for platform, entry in platforms.items():
            if row.publishes(platform, backend):
                kept.setdefault(backend, {})[platform] = entry
    return kept


def _simplified(
    requirement: TritonRequirement, platforms: Iterable[str], pythons: Iterable[str]
) -> TritonRequirement:
    """The requirement without its marker when the marker holds wherever the build has wheels
    (`platform_system == "Linux"` on a Linux-only build says nothing)."""
    pythons = tuple(pythons)
    if all(requirement.holds(p, (python,)) for p in platforms for python in pythons):
        return TritonRequirement(requirement.name, requirement.version)
    return requirement


def collapse_tritons(entries: Mapping[str, TritonEntry]) -> dict[str, TritonEntry]:
    """Per-backend entries -> the table's keys: per family ("rocm") the entry most of its
    backends share, and a key of their own for the others."""
    out: dict[str, TritonEntry] = {}
    for family in TRITON_FAMILIES:
        mine = {b: e for b, e in entries.items() if entry_family(b) == family}
        if not mine:
            continue
        counts = Counter(mine.values())
        common = max(counts, key=lambda e: counts[e])  # ties: the oldest backend's
        out[family] = common
        out.update((b, e) for b, e in mine.items() if e != common)
    return out


def build_table(observed: Observed, previous: ReleaseTable, today: str) -> Refreshed:
    """The release table the observations describe: one row per torch release on PyPI not older
    than the oldest in `previous`. What the indexes do not show is kept from `previous`, or the
    release left out, and noted either way. Triton pins read from the wheels are confirmed
    "wheel metadata, refreshed <today>" (an ISO date), unless `previous` confirmed the same."""
    rows = _Rows(observed, previous, today)
    releases = tuple(r for version in rows.versions if (r := rows.row(version)) is not None)
    on_pypi = {Version(v).public for v in rows.versions}
    floor = _floor(previous, "torch")
    for version in sorted(rows.builds, key=Version):
        if version not in on_pypi and (floor is None or Version(version) >= floor):
            rows.notes.append(f"torch {version}: on a PyTorch index but not on PyPI; left out")
    every_build = [build for found in rows.builds.values() for build in found]
    table = ReleaseTable(releases, _untagged_cpu(every_build, previous))
    return Refreshed(table, tuple(rows.notes))


def summarize(old: ReleaseTable, new: ReleaseTable) -> list[str]:
    """One line per release that was added, removed or changed (naming the changed keys)."""
    before = {r.torch: r for r in old.releases}
    after = {r.torch: r for r in new.releases}
    lines = []
    for version in sorted(before.keys() | after.keys(), key=Version):
        a, b = before.get(version), after.get(version)
        if a is None:
            lines.append(f"+ torch {version}: new")
        elif b is None:
            lines.append(f"- torch {version}: no longer found")
        elif a != b:
            keys = [f.name for f in fields(Release) if getattr(a, f.name) != getattr(b, f.name)]
            lines.append(f"~ torch {version}: {', '.join(keys)}")
    if old.untagged_cpu != new.untagged_cpu:
        lines.append(f"~ untagged-cpu: {', '.join(new.untagged_cpu)}")
    return lines
