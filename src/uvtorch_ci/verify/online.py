"""Pure: `verify --online`, the supply-chain proof. Every file uv.lock records for a package of
the torch family locked from one of the spec's PyTorch indexes must be one that index's own page
for that package lists, at that URL (whatever host it links) and with that hash. The offline
checks judge where a file may come from; only the page says that this very file is the one the
index serves.

What to read (one page per registry and package, never more) and what the pages prove are pure;
reading them is the command layer's (commands/verify.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from ..lock.model import Artifact, Lock
from ..redaction import redact_url as shown
from ..releases.pages import IndexFile, SimplePage
from .files import family_names
from .locations import BadUrl, FileHosts, place


@dataclass(frozen=True)
class Wanted:
    """One page to read, and the locked files it must list."""

    url: str  # <registry>/<package>/
    package: str
    files: tuple[tuple[str, Artifact], ...]  # ("torch 2.8.0+cu128", artifact)


@dataclass(frozen=True)
class OnlineFindings:
    problems: tuple[str, ...]
    warnings: tuple[str, ...]
    pages: int
    files: int


def pages_to_read(lock: Lock, family: Iterable[str], hosts: FileHosts) -> tuple[Wanted, ...]:
    """The index pages that prove the lock: for each torch-family package locked from one of
    the spec's PyTorch indexes, its registry's page for it, each page once."""
    names = family_names(family)
    wanted: dict[str, list[tuple[str, Artifact]]] = {}
    packages: dict[str, str] = {}
    for package in lock.packages:
        if package.name not in names or not hosts.serves(package.source):
            continue
        url = f"{package.source.rstrip('/')}/{canonicalize_name(package.name)}/"
        packages[url] = package.name
        label = f"{package.name} {package.version}"
        wanted.setdefault(url, []).extend((label, artifact) for artifact in package.artifacts)
    return tuple(Wanted(url, packages[url], tuple(files)) for url, files in wanted.items())


def judge_pages(wanted: Iterable[Wanted], pages: Mapping[str, SimplePage]) -> OnlineFindings:
    """What the pages read prove about the locked files: each listed at its URL, with the hash
    uv.lock records."""
    problems: list[str] = []
    unproven = 0
    count = files = 0
    for page_wanted in wanted:
        page = pages[page_wanted.url]
        count += 1
        listed: dict[tuple[str, str, tuple[str, ...]], IndexFile] = {}
        for item in page.files:
            key = _key(item.url)
            if key is not None:
                listed[key] = item
        for label, artifact in page_wanted.files:
            files += 1
            key = _key(artifact.url) if artifact.url else None
            found = listed.get(key) if key is not None else None
            if found is None:
                problems.append(
                    f"{label}: {shown(artifact.url or artifact.filename)} is not a file the index "
                    f"lists for {page_wanted.package} ({page_wanted.url})"
                )
                continue
            locked = (artifact.hash or "").partition(":")
            if found.sha256 is None:
                unproven += artifact.hash is not None
            elif locked[0] != "sha256" or locked[2].lower() != found.sha256:
                problems.append(
                    f"{label}: {artifact.filename} is locked with hash {artifact.hash or 'none'}, "
                    f"but the index lists sha256:{found.sha256} ({page_wanted.url})"
                )
    warnings = []
    if unproven:
        warnings.append(
            f"the index pages give no hash for {unproven} locked files: their URLs are proven, "
            "their contents only by the hash uv.lock records"
        )
    return OnlineFindings(tuple(problems), tuple(warnings), count, files)


def _key(url: str) -> tuple[str, str, tuple[str, ...]] | None:
    """A URL as it compares: scheme, host and decoded path (`%2B` and `+` alike)."""
    try:
        found = place(url)
    except BadUrl:
        return None
    return found.scheme, found.host, found.segments
