"""Pure: PyPI's JSON API and core metadata -> final versions, the CUDA runtime and Triton a
torch build pins, and which companion release goes with which torch. No I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.parser import HeaderParser
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..platforms import PLATFORMS
from .table import COMPANIONS
from .triton import TritonRequirement

# A requirement that pins the CUDA runtime a PyPI build links: nvidia-cuda-runtime-cu12==12.4.127
# up to 2.10, cuda-toolkit[...]==13.0.2 from 2.11 (and nvidia-cuda-runtime==13.0.* elsewhere).
_CUDA_PIN = re.compile(
    r"^(cuda-toolkit|nvidia-cuda-runtime(-cu[0-9]+)?|nvidia-cuda-nvrtc(-cu[0-9]+)?)$"
)


def parse_pypi_project(data: Any) -> dict[str, tuple[str, ...]]:
    """PyPI's `/pypi/<name>/json`: final versions -> the file names not yanked."""
    out: dict[str, tuple[str, ...]] = {}
    for version, files in data["releases"].items():
        try:
            parsed = Version(version)
        except InvalidVersion:
            continue
        names = tuple(str(f["filename"]) for f in files if not f.get("yanked"))
        if names and not parsed.is_prerelease and not parsed.is_postrelease:
            out[version] = names
    return out


@dataclass(frozen=True)
class PyPIRelease:
    """PyPI's `/pypi/<name>/<version>/json`: the metadata a release declares."""

    requires_dist: tuple[str, ...]
    requires_python: str | None


def parse_pypi_release(data: Any) -> PyPIRelease:
    """ValueError for a torch-family requirement pinned to what is no version (`torch
    (===notaversion)`): the table pairs companions by those pins."""
    info = data["info"]
    release = PyPIRelease(
        tuple(str(r) for r in info.get("requires_dist") or ()),
        str(info["requires_python"]) if info.get("requires_python") else None,
    )
    for requirement in _requirements(release.requires_dist):
        pinned = (
            _pin(requirement)
            if canonicalize_name(requirement.name) in ("torch", *COMPANIONS)
            else None
        )
        if pinned is not None:
            try:
                Version(pinned)
            except InvalidVersion:
                raise ValueError(
                    f"requires_dist {str(requirement)!r} pins {pinned!r}, which is no version"
                ) from None
    return release


def _requirements(lines: Iterable[str]) -> Iterable[Requirement]:
    for line in lines:
        try:
            yield Requirement(line)
        except InvalidRequirement:
            continue


def _pin(requirement: Requirement) -> str | None:
    for spec in requirement.specifier:
        if spec.operator in ("==", "===") and "*" not in spec.version:
            return spec.version
    return None


def triton_requirements(metadata: str) -> tuple[TritonRequirement, ...]:
    """The Triton packages a torch build's core metadata pins (`Requires-Dist:
    triton-rocm==3.7.1; platform_system == "Linux"`), with their markers; () when it pins
    none (CUDA and cpu builds, or a metadata file without them)."""
    requires = HeaderParser().parsestr(metadata).get_all("Requires-Dist") or []
    found: list[TritonRequirement] = []
    for requirement in _requirements(requires):
        name = canonicalize_name(requirement.name)
        version = _pin(requirement)
        if "triton" not in name or version is None or any(r.name == name for r in found):
            continue
        marker = str(requirement.marker).replace('"', "'") if requirement.marker else None
        found.append(TritonRequirement(str(name), version, marker))
    return tuple(found)


def pypi_backend(requires_dist: Iterable[str], platform: str, python: str) -> str:
    """The backend of the plain PyPI build on `platform`: the CUDA runtime its metadata pins
    there (cu124 for `nvidia-cuda-runtime-cu12==12.4.127; platform_system == "Linux" and
    platform_machine == "x86_64"`), else cpu."""
    environment = PLATFORMS[platform].marker_environment(python)
    for requirement in _requirements(requires_dist):
        if not _CUDA_PIN.match(canonicalize_name(requirement.name)):
            continue
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        for spec in requirement.specifier:
            found = re.match(r"([0-9]+)\.([0-9]+)", spec.version)
            if spec.operator in ("==", "===", "~=") and found:
                return f"cu{found[1]}{found[2]}"
    return "cpu"


@dataclass(frozen=True)
class CompanionLink:
    """What one companion release says of torch: an exact pin, or the range it serves."""

    version: Version
    exact: str | None
    serves: SpecifierSet | None


def companion_links(
    releases: Mapping[tuple[str, str], PyPIRelease], package: str
) -> list[CompanionLink]:
    """What each release of `package` (torchvision, torchaudio) says of torch."""
    links = []
    for (project, version), release in releases.items():
        if project != package:
            continue
        for requirement in _requirements(release.requires_dist):
            if canonicalize_name(requirement.name) != "torch" or not requirement.specifier:
                continue
            if requirement.marker is not None and "extra" in str(requirement.marker):
                continue
            pinned = _pin(requirement)
            exact = Version(pinned).public if pinned else None
            links.append(
                CompanionLink(Version(version), exact, None if exact else requirement.specifier)
            )
    return links


def pair_companion(links: Iterable[CompanionLink], torch: str) -> str | None:
    """The companion release for `torch`: the newest that pins it exactly, else the newest whose
    range serves it (torchaudio 2.11.0 serves torch>=2.11, torchvision 0.29.2 torch>=2.14)."""
    links = list(links)
    exact = [link.version for link in links if link.exact == torch]
    if exact:
        return str(max(exact))
    serving = [link.version for link in links if link.serves and link.serves.contains(torch)]
    return str(max(serving)) if serving else None
