"""The Triton packages a rocm or xpu torch build requires: what the release table records of
them, confirmed (a pinned version, with where it was seen) or not (the names alone)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..platforms import PLATFORMS

# Where a fact comes from when `releases refresh` read it from the torch wheel's own metadata.
REFRESHED = "wheel metadata, refreshed {date}"


@dataclass(frozen=True)
class TritonRequirement:
    """One Requires-Dist of a torch build naming a Triton package: its version when confirmed
    (None: only the name is known), and its marker where it leaves out a platform or Python
    the build has wheels for."""

    name: str
    version: str | None = None
    marker: str | None = None

    @property
    def text(self) -> str:
        """The canonical form the table stores: `name==version; marker` (markers in single
        quotes, as pyproject.toml writes them)."""
        pin = f"=={self.version}" if self.version else ""
        return f"{self.name}{pin}" + (f"; {self.marker}" if self.marker else "")

    def holds(self, platform: str, pythons: Iterable[str]) -> bool:
        """Whether the build requires this package on `platform` for any of `pythons`."""
        if self.marker is None:
            return True
        marker = Marker(self.marker)
        return any(marker.evaluate(PLATFORMS[platform].marker_environment(p)) for p in pythons)


def parse_requirement(text: str) -> TritonRequirement:
    """`name`, `name==version` or either with `; marker` (ValueError for anything else: a
    range, extras, a URL)."""
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise ValueError(f"{text!r} is not a requirement: {error}") from None
    specs = list(requirement.specifier)
    if requirement.extras or requirement.url or len(specs) > 1:
        raise ValueError(f"{text!r}: a Triton requirement is a name and at most one ==version")
    version = None
    if specs:
        if specs[0].operator != "==" or "*" in specs[0].version:
            raise ValueError(f"{text!r}: a Triton requirement pins with == or not at all")
        version = specs[0].version
    marker = str(requirement.marker).replace('"', "'") if requirement.marker else None
    return TritonRequirement(str(canonicalize_name(requirement.name)), version, marker)


@dataclass(frozen=True)
class TritonEntry:
    """What one backend's (or one family's: rocm, xpu) builds of a release require. Confirmed
    entries pin every package and name their `source`; unconfirmed ones only name them."""

    requires: tuple[TritonRequirement, ...]
    source: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.source is not None


def parse_entry(key: str, value: object) -> TritonEntry:
    """A `[release.triton]` value: `{ requires = [...], source = "..." }`. A source is given
    exactly when every requirement is pinned (ValueError otherwise)."""
    if not isinstance(value, Mapping) or not set(value) <= {"requires", "source"}:
        raise ValueError(f"triton.{key}: expected {{ requires = [...], source = ... }}")
    raw = value.get("requires")
    if not isinstance(raw, list) or not raw or not all(isinstance(r, str) for r in raw):
        raise ValueError(f"triton.{key}.requires: a non-empty list of requirements")
    requires = tuple(parse_requirement(text) for text in raw)
    source = value.get("source")
    if source is not None and not (isinstance(source, str) and source):
        raise ValueError(f"triton.{key}.source: a non-empty string")
    pinned = [r.version is not None for r in requires]
    if source is not None and not all(pinned):
        raise ValueError(f"triton.{key}: a source confirms pins, but not every package is pinned")
    if source is None and any(pinned):
        raise ValueError(f"triton.{key}: a pin without a source; unconfirmed entries name only")
    return TritonEntry(requires, source)


def entry_family(key: str) -> str:
    """The family a backend belongs to for Triton: every rocmX.Y is "rocm"."""
    return "rocm" if key.startswith("rocm") else key
