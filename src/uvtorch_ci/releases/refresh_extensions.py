"""Pure: what `releases refresh` read of the packages built against torch (each backend index's
page for xformers, torchao ..., and one wheel's core metadata per version) -> the
`[release.packages]` entries of one release, and notes on what the index did not show.

The pairing comes from the wheels' own Requires-Dist on torch (xformers pins it), as the
companions' does; a package whose wheels name no torch (torchao, torchcodec) keeps the pairing
the table had, with its source, and the note says so. The publication is what the pages list:
the backends of this torch release whose page lists the paired version for a platform (tagged
for that backend, or untagged: a file tagged for another backend is a copy, not its build)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.parser import HeaderParser

from packaging.version import Version

from .extensions import EXTENSIONS, REFRESHED_PAGES, REFRESHED_PAIRING, ExtensionEntry
from .pages import IndexFile, backend_order, wheel_build
from .pypi import CompanionLink, PyPIRelease, companion_links, pair_companion
from .table import Release


@dataclass(frozen=True)
class Listed:
    """One package's pages, read: version -> platform -> the backends listing it, and what
    each version's metadata says of torch."""

    builds: dict[str, dict[str, set[str]]]
    links: list[CompanionLink]


def metadata_probes(pages: Mapping[tuple[str, str], Iterable[IndexFile]]) -> dict[str, str]:
    """(package, version) as "package version" -> the core metadata URL of one of its wheels:
    its Requires-Dist names the torch it was built for, if any."""
    probes: dict[str, str] = {}
    for (_, package), files in sorted(pages.items()):
        for item in sorted(files, key=lambda f: f.filename):
            wheel = wheel_build(item.filename)
            if wheel is None or item.metadata_url is None or item.yanked:
                continue
            probes.setdefault(f"{package} {wheel.version}", item.metadata_url)
    return probes


def read_listings(
    pages: Mapping[tuple[str, str], Iterable[IndexFile]],
    metadata: Mapping[str, str],
) -> dict[str, Listed]:
    """package -> what its pages and metadata show (`pages`: (backend, package) -> files;
    `metadata`: core metadata URL -> text)."""
    probes = metadata_probes(pages)
    out: dict[str, Listed] = {}
    for package in EXTENSIONS:
        builds: dict[str, dict[str, set[str]]] = {}
        for (backend, name), files in pages.items():
            if name != package:
                continue
            for item in files:
                wheel = wheel_build(item.filename)
                if wheel is None or item.yanked or Version(wheel.version).is_prerelease:
                    continue
                if wheel.local and not wheel.tagged_for(backend):
                    continue
                for platform in wheel.platforms:
                    builds.setdefault(wheel.version, {}).setdefault(platform, set()).add(backend)
        releases = {}
        for key, url in probes.items():
            name, _, version = key.partition(" ")
            text = metadata.get(url)
            if name == package and text is not None:
                requires = HeaderParser().parsestr(text).get_all("Requires-Dist") or []
                releases[(package, Version(version).public)] = PyPIRelease(tuple(requires), None)
        if builds:
            out[package] = Listed(builds, companion_links(releases, package))
    return out


def release_entries(
    listings: Mapping[str, Listed], release: Release, old: Release | None, today: str
) -> tuple[dict[str, ExtensionEntry], list[str]]:
    """The `[release.packages]` entries of `release` and the notes: a fact seen the same as
    the table had it keeps its source; what the index does not show is kept from `old`, or
    left out, and noted."""
    entries: dict[str, ExtensionEntry] = {}
    notes: list[str] = []
    for package in EXTENSIONS:
        before = old.extension(package) if old is not None else ExtensionEntry()
        listed = listings.get(package)
        paired = pair_companion(listed.links, release.torch) if listed else None
        version, paired_by = before.version, before.paired_by
        if paired is not None and paired != before.version:
            version, paired_by = paired, REFRESHED_PAIRING.format(date=today)
        elif paired is None and before.version is not None and listed is not None:
            notes.append(
                f"torch {release.torch}: no {package} wheel's metadata names this torch; "
                f"kept {before.version} ({before.paired_by})"
            )
        if version is None or paired_by is None:
            continue
        seen = listed.builds.get(version, {}) if listed else {}
        builds = {
            platform: tuple(sorted(published, key=backend_order))
            for platform in release.builds
            if (published := seen.get(platform, set()) & set(release.backends(platform)))
        }
        source = None
        if builds:
            same = before.confirmed and before.version == version and before.builds == builds
            source = before.source if same else REFRESHED_PAGES.format(date=today)
        elif before.confirmed:
            notes.append(
                f"torch {release.torch}: no index of its backends lists {package} {version} "
                "any more; left unconfirmed"
            )
        entries[package] = ExtensionEntry(version, paired_by, builds, source)
    return entries, notes
