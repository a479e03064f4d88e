"""The PyTorch release table (data/releases.toml) as typed rows, and the questions asked of it."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ..platforms import PLATFORMS
from ..resources import TABLE_FILE
from .archs import ArchEntry, parse_arch_entry
from .extensions import EXTENSIONS, ExtensionEntry, parse_extension
from .triton import TritonEntry, entry_family, parse_entry

FORMAT = 1
TABLE_PATH = Path(TABLE_FILE)
COMPANIONS = ("torchvision", "torchaudio")
# Everything `packages` may list: the companions (one release per torch, on every index that
# has torch) and the extensions (published on some backends' indexes only: extensions.py).
PACKAGES = (*COMPANIONS, *EXTENSIONS)
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
# [release.triton]: the Triton packages rocm and xpu builds require (only the PyTorch
# indexes serve them), per backend ("rocm7.2") or per family ("rocm", "xpu": every
# backend without a key of its own). An entry is CONFIRMED when its `source` says
# where the pins were seen: a real uv.lock (repository@commit) or the torch wheel's
# own metadata (`releases refresh`). Unconfirmed entries name the packages without
# a version (inferred from the nearest confirmed release); render routes them unpinned.
# A marker limits a requirement to the platforms or Pythons the build needs it on.
# [release.cuda-archs]: per CUDA backend and platform, the GPU architectures its builds
# carry kernels for, as TORCH_CUDA_ARCH_LIST writes them ("7.5;8.0;12.0+PTX"). CONFIRMED
# with a `source` (the build script of that release, or the wheel's get_arch_list());
# otherwise `inferred` says what the list is taken from. Absent: not known.
# [release.packages]: the packages built against this torch (xformers, torchao,
# torchcodec, fbgemm-gpu). `version` goes with this torch as `paired-by` says (the
# wheels' Requires-Dist, or the maintainers' compatibility table); `builds` names the
# backends whose index lists that version, per platform, as `source` says it was seen
# there. An entry with a pairing and no builds is NOT CONFIRMED on the index: render
# routes it nowhere (the spec's `missing-builds` decides what those targets get).
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
    # The Triton packages rocm and xpu builds require, which only the PyTorch index serves:
    # backend ("rocm7.2") or family ("rocm", "xpu") -> what those builds require
    triton: dict[str, TritonEntry] = field(hash=False, default_factory=dict)
    # CUDA backend -> platform -> the GPU architectures those builds carry kernels for
    cuda_archs: dict[str, dict[str, ArchEntry]] = field(hash=False, default_factory=dict)
    # package (xformers ...) -> what the table knows of its build for this torch
    packages: dict[str, ExtensionEntry] = field(hash=False, default_factory=dict)

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

    def paired(self, package: str) -> str | None:
        """The version of `package` that goes with this torch: a companion's, or the one the
        table pairs with it for a package built against torch (None when it pairs none)."""
        if package in EXTENSIONS:
            return self.extension(package).version
        return self.companion(package)

    def extension(self, package: str) -> ExtensionEntry:
        """What the table knows of `package` (xformers ...) for this torch: an empty entry
        when nothing."""
        return self.packages.get(package) or ExtensionEntry()

    def backends(self, platform: str) -> tuple[str, ...]:
        return self.builds.get(platform, ())

    def publishes(self, platform: str, backend: str) -> bool:
        return backend in self.backends(platform)

    def triton_entry(self, backend: str) -> TritonEntry | None:
        """What a build of `backend` requires of Triton: its own entry, else its family's;
        None for the backends that require none (cpu, CUDA)."""
        return self.triton.get(backend) or self.triton.get(entry_family(backend))

    def tritons_for(self, backend: str) -> tuple[tuple[str, str], ...]:
        """(package, version) of each CONFIRMED Triton pin of a `backend` build; () when the
        table only names the packages, and for the backends that require none."""
        entry = self.triton_entry(backend)
        if entry is None or not entry.confirmed:
            return ()
        return tuple((r.name, r.version) for r in entry.requires if r.version)

    def archs(self, backend: str, platform: str) -> ArchEntry | None:
        """The architectures `backend`'s builds for `platform` carry; None when not known."""
        return self.cuda_archs.get(backend, {}).get(platform)


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
                triton={k: parse_entry(k, v) for k, v in row.get("triton", {}).items()},
                cuda_archs=_parse_cuda_archs(row.get("cuda-archs", {})),
                packages={k: _extension(k, v) for k, v in row.get("packages", {}).items()},
            )
        )
    return ReleaseTable(releases=tuple(rows), untagged_cpu=tuple(data["untagged-cpu"]))


def _parse_cuda_archs(raw: dict[str, object]) -> dict[str, dict[str, ArchEntry]]:
    out: dict[str, dict[str, ArchEntry]] = {}
    for backend, platforms in raw.items():
        if not re.fullmatch(r"cu[0-9]{3}", backend) or not isinstance(platforms, dict):
            raise ValueError(f"cuda-archs.{backend}: expected a CUDA backend's table of platforms")
        for platform, value in platforms.items():
            if platform not in PLATFORMS:
                raise ValueError(f"cuda-archs.{backend}.{platform}: unknown platform")
            entry = parse_arch_entry(f"{backend}.{platform}", value)
            out.setdefault(backend, {})[platform] = entry
    return out


def _extension(package: str, value: object) -> ExtensionEntry:
    entry = parse_extension(package, value)
    for platform, backends in entry.builds.items():
        for backend in backends:
            if not BACKEND_PATTERN.fullmatch(backend):
                raise ValueError(f"packages.{package}.builds.{platform}: {backend!r} is no backend")
    return entry


def _toml_list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def _toml_inline(mapping: dict[str, str]) -> str:
    return "{ " + ", ".join(f'{_key(k)} = "{v}"' for k, v in mapping.items()) + " }"


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def _triton_line(key: str, entry: TritonEntry) -> str:
    requires = ", ".join(json.dumps(r.text) for r in entry.requires)
    source = f", source = {json.dumps(entry.source)}" if entry.source else ""
    return f"{_key(key)} = {{ requires = [{requires}]{source} }}"


def _arch_line(backend: str, platform: str, entry: ArchEntry) -> str:
    why = ("source", entry.source) if entry.source else ("inferred", entry.inferred)
    return f'{backend}.{platform} = {{ archs = "{entry.text}", {why[0]} = {json.dumps(why[1])} }}'


def _extension_line(package: str, entry: ExtensionEntry) -> str:
    fields = []
    if entry.version is not None and entry.paired_by is not None:
        fields += [f"version = {json.dumps(entry.version)}"]
        fields += [f"paired-by = {json.dumps(entry.paired_by)}"]
    if entry.builds:
        builds = ", ".join(f"{_key(p)} = {_toml_list(b)}" for p, b in entry.builds.items())
        fields.append(f"builds = {{ {builds} }}")
    if entry.source is not None:
        fields.append(f"source = {json.dumps(entry.source)}")
    return f"{_key(package)} = {{ {', '.join(fields)} }}"


def triton_key_order(key: str) -> tuple[str, bool, tuple[int, ...]]:
    """Families first ("rocm" before "rocm6.3"), then backends by version."""
    return entry_family(key), key != entry_family(key), tuple(map(int, re.findall(r"\d+", key)))


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
            "[release.builds]",
            *(f"{_key(p)} = {_toml_list(b)}" for p, b in release.builds.items()),
        ]
        if release.triton:
            lines.append("[release.triton]")
            for key in sorted(release.triton, key=triton_key_order):
                lines.append(_triton_line(key, release.triton[key]))
        if release.cuda_archs:
            lines.append("[release.cuda-archs]")
            order = list(PLATFORMS)
            for backend in sorted(release.cuda_archs, key=lambda b: int(b[2:])):
                platforms = release.cuda_archs[backend]
                for platform in sorted(platforms, key=order.index):
                    lines.append(_arch_line(backend, platform, platforms[platform]))
        if release.packages:
            lines.append("[release.packages]")
            for package in sorted(release.packages, key=EXTENSIONS.index):
                lines.append(_extension_line(package, release.packages[package]))
    return "\n".join(lines) + "\n"


def table_text() -> str:
    return TABLE_PATH.read_text(encoding="utf-8")


@cache
def load_table() -> ReleaseTable:
    """The release table shipped with the package (parsed once per process)."""
    return parse_table(table_text())
