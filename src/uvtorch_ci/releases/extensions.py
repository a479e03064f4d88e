"""The packages built against torch's C++ ABI that the PyTorch indexes publish per backend
(xformers, torchao, torchcodec, fbgemm-gpu): what the release table records of them per torch
release, each fact with its source or not at all.

Two facts, each confirmed by its own source:
- the pairing: which version of the package goes with this torch (`version`, `paired-by`: the
  wheels' own Requires-Dist, or the maintainers' compatibility table);
- the publication: on which backends' indexes that version is listed, per platform (`builds`,
  `source`: where it was seen on the index: a real uv.lock, `releases refresh` reading the
  index pages, or a named party's live check of the index files).

An entry may hold the pairing alone (the index was never seen to publish it): render then
routes it nowhere, and leaves it to PyPI, skips it or refuses, as the spec's `missing-builds`
asks. A publication without a pairing is refused: which version was seen would be unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.version import InvalidVersion, Version

from ..platforms import PLATFORMS

# The packages the indexes publish built against one torch, in the order the table lists them.
EXTENSIONS = ("xformers", "torchao", "torchcodec", "fbgemm-gpu")
# The module each one installs (what the smoke check imports).
MODULES = {p: p.replace("-", "_") for p in EXTENSIONS}
# Where a fact comes from when `releases refresh` read it from the index.
REFRESHED_PAGES = "index pages, refreshed {date}"
REFRESHED_PAIRING = "wheel metadata, refreshed {date}"

_KEYS = ("version", "paired-by", "builds", "source")


@dataclass(frozen=True)
class ExtensionEntry:
    """One package's facts for one torch release. `version` with `paired_by`: the pairing;
    `builds` (platform -> backends whose index lists that version) with `source`: where that
    was seen. Confirmed: both are known."""

    version: str | None = None
    paired_by: str | None = None
    builds: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    source: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.source is not None and self.version is not None

    def publishes(self, platform: str, backend: str) -> bool:
        """Whether the `backend` index was seen listing this version for `platform`."""
        return self.confirmed and backend in self.builds.get(platform, ())


def parse_extension(package: str, value: object) -> ExtensionEntry:
    """A `[release.packages]` value: `{ version, paired-by, builds = { <platform> = [...] },
    source }`; ValueError naming the key for anything else."""
    where = f"packages.{package}"
    if package not in EXTENSIONS:
        raise ValueError(f"{where}: not one of {', '.join(EXTENSIONS)}")
    if not isinstance(value, Mapping) or not value or not set(value) <= set(_KEYS):
        raise ValueError(f"{where}: expected {{ {', '.join(_KEYS)} }}, some of them")
    text = {key: value.get(key) for key in ("version", "paired-by", "source")}
    for key, found in text.items():
        if found is not None and not (isinstance(found, str) and found):
            raise ValueError(f"{where}.{key}: a non-empty string")
    version, paired_by, source = text["version"], text["paired-by"], text["source"]
    if version is not None:
        try:
            Version(version)
        except InvalidVersion:
            raise ValueError(f"{where}.version: {version!r} is not a version") from None
    if (version is None) != (paired_by is None):
        raise ValueError(f"{where}: a version and its paired-by come together")
    builds = _builds(where, value.get("builds"))
    if (source is None) != (not builds):
        raise ValueError(f"{where}: builds and their source come together")
    if source is not None and version is None:
        raise ValueError(f"{where}: builds without a version: which version was seen?")
    return ExtensionEntry(version, paired_by, builds, source)


def _builds(where: str, raw: object) -> dict[str, tuple[str, ...]]:
    """The platforms and backend names (table.py checks their spelling)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f"{where}.builds: a table of <platform> = [backends]")
    out: dict[str, tuple[str, ...]] = {}
    for platform, backends in raw.items():
        if platform not in PLATFORMS:
            raise ValueError(f"{where}.builds.{platform}: not a platform")
        if (
            not isinstance(backends, list)
            or not backends
            or not all(isinstance(b, str) for b in backends)
        ):
            raise ValueError(f"{where}.builds.{platform}: a non-empty list of backends")
        out[platform] = tuple(backends)
    return out
