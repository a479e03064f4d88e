"""Pure: the wheel tags CPython accepts on each platform, ranked best first as uv ranks them, and
the tags a wheel's file name carries: which wheel of a locked package a target installs."""

from __future__ import annotations

from functools import cache

from packaging import tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from ..platforms import PLATFORMS, Platform

# The newest system each platform's default GitHub-hosted runner has: a wheel tagged for a newer
# glibc or macOS does not install there (ubuntu-24.04: glibc 2.39; macos-15).
GLIBC = (2, 39)
MACOS = (15, 0)
# Legacy manylinux aliases (PEP 600): manylinux1 = 2.5, manylinux2010 = 2.12, manylinux2014 = 2.17.
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


@cache
def wheel_tags(filename: str) -> frozenset[tags.Tag]:
    """A wheel's compatibility tags from its file name (none for an sdist or a bad name)."""
    if not filename.endswith(".whl"):
        return frozenset()
    try:
        return parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return frozenset()


def platform_tags(platform: Platform) -> list[str]:
    """The platform tags a wheel may carry to install on `platform`, best first."""
    os, arch = platform.sys_platform, platform.machine
    if os == "win32":
        return {"AMD64": ["win_amd64"], "ARM64": ["win_arm64"]}.get(arch, [f"win_{arch.lower()}"])
    if os == "darwin":
        return list(tags.mac_platforms(MACOS, arch))
    out: list[str] = []
    for minor in range(GLIBC[1], 4, -1):
        out.append(f"manylinux_{GLIBC[0]}_{minor}_{arch}")
        legacy = _LEGACY_MANYLINUX.get((GLIBC[0], minor))
        if legacy and (arch in ("x86_64", "i686") or minor >= 17):
            out.append(f"{legacy}_{arch}")
    return [*out, f"linux_{arch}"]


@cache
def compatible_tags(platform: str, python: str) -> dict[tags.Tag, int]:
    """Every wheel tag CPython `python` accepts on the platform named `platform`, with its
    rank (0 is the best). abi3 and `none` wheels are included, as pip and uv accept them."""
    version = tuple(int(part) for part in python.split("."))
    interpreter = f"cp{version[0]}{version[1]}"
    platforms = platform_tags(PLATFORMS[platform])
    ordered = [
        *tags.cpython_tags(version, [interpreter], platforms),
        *tags.compatible_tags(version, interpreter, platforms),
    ]
    ranks: dict[tags.Tag, int] = {}
    for tag in ordered:
        ranks.setdefault(tag, len(ranks))
    return ranks
