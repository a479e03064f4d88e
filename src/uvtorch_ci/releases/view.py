"""`uvtorch-ci releases`: the release table as a compact text table, or as JSON for machines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from itertools import groupby

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ..errors import UvtorchError
from .table import FORMAT, Release, ReleaseTable

# Columns of the text table: (header, platforms shown in it).
_COLUMNS = (
    ("linux-x86_64", ("linux-x86_64",)),
    ("linux-aarch64", ("linux-aarch64",)),
    ("windows-x86_64", ("windows-x86_64",)),
    ("macos", ("macos-arm64", "macos-x86_64")),
)
LEGEND = "cu118/121 = cu118 and cu121   * plain PyPI's build there   macos: cpu builds, with MPS"


def torch_specifier(text: str) -> SpecifierSet:
    """`--torch`: "2.5.1" is that release, "2.5" the 2.5 series, else a PEP 440 specifier."""
    try:
        version = Version(text)
    except InvalidVersion:
        pass
    else:
        series = len(version.release) == 2 and not version.local
        return SpecifierSet(f"=={version}.*" if series else f"=={version}")
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise UvtorchError(
            f'--torch "{text}" is neither a version nor a PEP 440 specifier',
            hint='e.g. "2.5.1", "2.5" or ">=2.9,<2.12"',
        ) from None


def select(table: ReleaseTable, text: str | None) -> tuple[Release, ...]:
    """The releases `--torch` asks for (all without it), oldest first."""
    releases = sorted(table.releases, key=lambda r: r.version)
    if text is None:
        return tuple(releases)
    chosen = table.matching(torch_specifier(text))
    if not chosen:
        known = table.versions()
        raise UvtorchError(
            f'no torch release in the table matches "{text}"',
            hint=f"the table lists {known[0]} ... {known[-1]}",
        )
    return tuple(sorted(chosen, key=lambda r: r.version))


def as_json(table: ReleaseTable, releases: Iterable[Release]) -> str:
    """The rows with the table's own keys (data/releases.toml), as one JSON document."""
    rows = [
        {
            "torch": r.torch,
            "torchvision": r.torchvision,
            "torchaudio": r.torchaudio,
            "python": list(r.python),
            "pypi": dict(r.pypi),
            "triton": {
                key: {
                    "requires": [requirement.text for requirement in entry.requires],
                    **({"source": entry.source} if entry.source else {}),
                }
                for key, entry in r.triton.items()
            },
            "builds": {platform: list(backends) for platform, backends in r.builds.items()},
            "cuda-archs": {
                backend: {
                    platform: {
                        "archs": entry.text,
                        **({"source": entry.source} if entry.source else {}),
                        **({"inferred": entry.inferred} if entry.inferred else {}),
                    }
                    for platform, entry in platforms.items()
                }
                for backend, platforms in r.cuda_archs.items()
            },
            "packages": {
                name: {
                    key: value
                    for key, value in (
                        ("version", entry.version),
                        ("paired-by", entry.paired_by),
                        ("builds", {p: list(b) for p, b in entry.builds.items()} or None),
                        ("source", entry.source),
                    )
                    if value is not None
                }
                for name, entry in r.packages.items()
            },
        }
        for r in releases
    ]
    document = {"format": FORMAT, "untagged-cpu": list(table.untagged_cpu), "releases": rows}
    return json.dumps(document, indent=2)


def python_range(pythons: Sequence[str]) -> str:
    """ "3.9-3.12" for consecutive minors, else the list: "3.9,3.11"."""
    minors = [Version(p).minor for p in pythons]
    consecutive = minors == list(range(minors[0], minors[0] + len(minors))) if minors else False
    if consecutive and len(pythons) > 1:
        return f"{pythons[0]}-{pythons[-1]}"
    return ",".join(pythons)


def compact_backends(backends: Iterable[str], pypi: str | None = None) -> str:
    """ "cpu cu118/121/124* rocm6.1/6.2 xpu": one family per word, * on PyPI's CUDA build."""
    words = []
    for family, members in groupby(backends, key=lambda b: re.sub(r"[0-9.]+$", "", b)):
        versions = [b.removeprefix(family) + ("*" if b == pypi != "cpu" else "") for b in members]
        words.append(family + "/".join(versions))
    return " ".join(words)


def _cell(release: Release, platforms: Sequence[str]) -> str:
    if len(platforms) > 1:  # macOS: the architectures, since every build there is cpu
        return " ".join(p.split("-", 1)[1] for p in platforms if release.backends(p)) or "-"
    (platform,) = platforms
    backends = release.backends(platform)
    return compact_backends(backends, release.pypi.get(platform)) if backends else "-"


def as_text(releases: Iterable[Release]) -> str:
    """A compact table: one line per torch release."""
    header = ["torch", "vision", "audio", "python", *(name for name, _ in _COLUMNS)]
    lines = [header]
    for r in releases:
        cells = [r.torch, r.torchvision, r.torchaudio, python_range(r.python)]
        lines.append(cells + [_cell(r, platforms) for _, platforms in _COLUMNS])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rows = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    return "\n".join([*rows, "", LEGEND])
