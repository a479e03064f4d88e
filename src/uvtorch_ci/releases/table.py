"""The PyTorch release table (data/releases.toml) as typed rows, and the questions asked of it."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ..resources import TABLE_FILE

FORMAT = 1
TABLE_PATH = Path(TABLE_FILE)
COMPANIONS = ("torchvision", "torchaudio")
# On the cpu index these platforms' builds carry no local tag (pain point: pinning `+cpu`
# everywhere breaks macOS and Linux aarch64; astral-sh/uv#5182, #9036).
UNTAGGED_CPU = ("linux-aarch64", "macos-arm64", "macos-x86_64")
BACKEND_PATTERN = re.compile(r"^(cpu|mps|xpu|cu[0-9]{3}|rocm[0-9]+(\.[0-9]+)+)$")

_HEADER = """\
# The PyTorch release table uvtorch-ci checks every spec against.
# One [[release]] per torch patch release: companion versions, the Python versions
# with wheels, the build plain PyPI serves per platform, and per platform the
# backends the PyTorch indexes (<index-url>/<backend>) publish.
# Local tags: the indexes tag irregularly (aarch64 torch is +cpu on the cpu index in
# recent releases, aarch64 torchvision untagged even on CUDA indexes), so a build may
# carry its backend's tag or none. `untagged-cpu` records where cpu builds were seen
# untagged; it words messages, it decides nothing. PyPI builds are untagged.
# triton: the Triton packages (name==version, comma-separated) rocm and xpu builds
# require; they exist only on the PyTorch indexes. Confirmed (uv's PyTorch guide): from
# 2.11 ROCm relies on both pytorch-triton-rocm and triton-rocm. Not confirmed against
# the index: the pytorch-triton-rocm pin from 2.11 (taken equal to triton-rocm's) and the
# xpu rename to triton-xpu at 2.11; `releases refresh` reads both from the wheels.
# Kept in canonical form: tests/test_releases.py checks that loading and dumping it
# reproduces this file byte for byte.
"""


@dataclass(frozen=True)
class Release:
    """One torch patch release and what it publishes."""

    torch: str
    torchvision: str
    torchaudio: str
    python: tuple[str, ...]
    builds: dict[str, tuple[str, ...]] = field(hash=False)
    pypi: dict[str, str] = field(hash=False)
    # The Triton packages a rocm or xpu build requires, which only the PyTorch index serves.
    # rocm|xpu -> "name==version" or several, comma-separated
    triton: dict[str, str] = field(hash=False, default_factory=dict)

    @property
    def version(self) -> Version:
        return Version(self.torch)

    @property
    def minor(self) -> str:
        return f"{self.version.major}.{self.version.minor}"

    def companion(self, package: str) -> str:
        """The version of `package` (torch or a companion) released with this torch."""
        return {
            "torch": self.torch,
            "torchvision": self.torchvision,
            "torchaudio": self.torchaudio,
        }[package]

    def backends(self, platform: str) -> tuple[str, ...]:
        return self.builds.get(platform, ())

    def publishes(self, platform: str, backend: str) -> bool:
        return backend in self.backends(platform)

    def tritons_for(self, backend: str) -> tuple[tuple[str, str], ...]:
        """(package, version) of each Triton build a rocm or xpu torch requires; () for the
        other backends."""
        kind = "rocm" if backend.startswith("rocm") else backend
        pinned = self.triton.get(kind, "")
        out = []
        for item in filter(None, (part.strip() for part in pinned.split(","))):
            name, _, version = item.partition("==")
            out.append((name, version))
        return tuple(out)


def index_backend(backend: str) -> str:
    """The index a spec backend installs from: MPS ships inside the macOS cpu build."""
    return "cpu" if backend == "mps" else backend


def own_tag(backend: str) -> str:
    """The one local tag a build of `backend` may carry besides none ('' for mps: macOS wheels
    are never tagged). The indexes tag irregularly (aarch64 torch is +cpu on the cpu index in
    recent releases, aarch64 torchvision untagged even on CUDA indexes), so verify, smoke and
    render's report accept this tag or none, and refuse any other."""
    return "" if backend == "mps" else backend


def accepted_tags(backend: str) -> str:
    """The local tags a build of `backend` may carry, in words: '+cu124 or none', 'none'."""
    own = own_tag(backend)
    return f"+{own} or none" if own else "none"


@dataclass(frozen=True)
class ReleaseTable:
    releases: tuple[Release, ...]
    untagged_cpu: tuple[str, ...] = UNTAGGED_CPU

    def local_tag(self, platform: str, backend: str) -> str:
        """The local version tag the PyTorch index gives a build ('' for none)."""
        backend = index_backend(backend)
        if backend == "cpu" and platform in self.untagged_cpu:
            return ""
        return backend

    def get(self, torch: str) -> Release | None:
        for release in self.releases:
            if release.version == Version(torch):
                return release
        return None

    def matching(self, specifier: SpecifierSet) -> tuple[Release, ...]:
        """Releases whose torch version the specifier admits, oldest first."""
        return tuple(r for r in self.releases if specifier.contains(r.version, prereleases=True))

    def newest(self) -> Release:
        return max(self.releases, key=lambda r: r.version)

    def versions(self) -> tuple[str, ...]:
        return tuple(r.torch for r in self.releases)

    def nearest_with(self, target: Version, platform: str, backend: str) -> Release | None:
        """The release closest to `target` that publishes `backend` on `platform`."""
        having = [r for r in self.releases if r.publishes(platform, backend)]
        if not having:
            return None
        return min(having, key=lambda r: (_distance(r.version, target), -r.version.release[1]))


def _distance(a: Version, b: Version) -> int:
    return abs(
        (a.major * 100 + a.minor) * 100 + a.micro - ((b.major * 100 + b.minor) * 100 + b.micro)
    )


def parse_table(text: str) -> ReleaseTable:
    data = tomllib.loads(text)
    if data.get("format") != FORMAT:
        raise ValueError(f"release table format {data.get('format')!r}, expected {FORMAT}")
    rows = []
    for row in data["release"]:
        rows.append(
            Release(
                torch=row["torch"],
                torchvision=row["torchvision"],
                torchaudio=row["torchaudio"],
                python=tuple(row["python"]),
                builds={p: tuple(b) for p, b in row["builds"].items()},
                pypi=dict(row["pypi"]),
                triton=dict(row.get("triton", {})),
            )
        )
    return ReleaseTable(releases=tuple(rows), untagged_cpu=tuple(data["untagged-cpu"]))


def _toml_list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def _toml_inline(mapping: dict[str, str]) -> str:
    return "{ " + ", ".join(f'{_key(k)} = "{v}"' for k, v in mapping.items()) + " }"


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def dump_table(table: ReleaseTable) -> str:
    """The canonical text of the table: what data/releases.toml holds."""
    lines = [_HEADER, f"format = {FORMAT}", f"untagged-cpu = {_toml_list(table.untagged_cpu)}"]
    for release in sorted(table.releases, key=lambda r: r.version):
        lines += [
            "",
            "[[release]]",
            f'torch = "{release.torch}"',
            f'torchvision = "{release.torchvision}"',
            f'torchaudio = "{release.torchaudio}"',
            f"python = {_toml_list(release.python)}",
            f"pypi = {_toml_inline(release.pypi)}",
            *([f"triton = {_toml_inline(release.triton)}"] if release.triton else []),
            "[release.builds]",
            *(f"{_key(p)} = {_toml_list(b)}" for p, b in release.builds.items()),
        ]
    return "\n".join(lines) + "\n"


def table_text() -> str:
    return TABLE_PATH.read_text(encoding="utf-8")


@cache
def load_table() -> ReleaseTable:
    """The release table shipped with the package (parsed once per process)."""
    return parse_table(table_text())
