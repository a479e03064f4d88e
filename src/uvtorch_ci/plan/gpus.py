"""Pure: the GPUs a spec's targets state (`gpu-arch`) against the builds the plan installs.

A build whose architectures certainly lack a stated GPU (a confirmed list, or the CUDA
toolkit's floor) is refused; one whose list is unconfirmed or unknown is only warned about, as
is a `gpu = true` target whose build needs a newer NVIDIA driver than its runner is known to
have.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ..errors import SpecError
from ..platforms import PLATFORMS
from ..releases.archs import Capability, judge
from ..releases.cuda import MIN_DRIVER, cuda_major, min_driver, version_tuple
from ..releases.table import Release, ReleaseTable, index_backend
from ..spec.runners import StatedGpu
from ..spec.targets import Target


class PlannedBuild(Protocol):
    """What is asked of a planned build (planner.Build) here."""

    @property
    def target(self) -> Target: ...

    @property
    def torch(self) -> str: ...

    @property
    def check_backend(self) -> str: ...


def _release(table: ReleaseTable, build: PlannedBuild) -> Release | None:
    return table.get(build.torch.partition("+")[0])


def _backend(build: PlannedBuild) -> str:
    """The CUDA backend the build is: its own, or for a pypi target the build PyPI serves."""
    return index_backend(build.check_backend)


def carriers(release: Release, platform: str, capability: Capability) -> list[str]:
    """The CUDA backends of `release` on `platform` whose builds run on `capability`, those
    that only JIT-compile PTX for it said so."""
    found = []
    for backend in release.backends(platform):
        entry = release.archs(backend, platform)
        if not backend.startswith("cu"):
            continue
        verdict = judge(entry, cuda_major(backend), capability)
        serving = entry.serving(capability) if entry else None
        if verdict.runs and serving is not None and serving.jit:
            found.append(f"{backend} ({serving.words})")
        elif verdict.runs:
            found.append(backend)
    return found


def check_gpu_archs(build: PlannedBuild, table: ReleaseTable, file: str) -> None:
    """SpecError (exit 2) when the build certainly lacks a GPU its target states: naming the
    target, the GPU and the backends whose builds carry it."""
    target = build.target
    release = _release(table, build)
    if not target.gpu_arch or release is None:
        return
    backend = _backend(build)
    if not backend.startswith("cu"):
        raise SpecError(
            f"{target.name} takes PyPI's torch {release.torch} for {target.platform}, a "
            f"{backend} build, which runs no NVIDIA GPU",
            file=file,
            where=f"{target.where}.gpu-arch",
            hint="give the target a cuXYZ backend, or drop gpu-arch",
        )
    entry = release.archs(backend, target.platform)
    for gpu in target.gpu_arch:
        verdict = judge(entry, cuda_major(backend), gpu.capability)
        if verdict.runs is False and verdict.certain:
            raise _refusal(file, build, release, backend, gpu, verdict.words)


def _refusal(
    file: str, build: PlannedBuild, release: Release, backend: str, gpu: StatedGpu, why: str
) -> SpecError:
    target = build.target
    having = carriers(release, target.platform, gpu.capability)
    hint = (
        f"torch {release.torch} builds for {target.platform} that carry it: {', '.join(having)}"
        if having
        else f"no CUDA build torch {release.torch} publishes for {target.platform} carries it"
    )
    return SpecError(
        f"{target.name}: the {backend} build of torch {release.torch} has no kernels for "
        f"gpu-arch {gpu.label}: {why}",
        file=file,
        where=f"{target.where}.gpu-arch",
        hint=hint,
    )


def gpu_warnings(builds: Iterable[PlannedBuild], table: ReleaseTable) -> tuple[str, ...]:
    """What render warns about: a stated GPU a build may lack (its list unconfirmed or not
    known), and a `gpu = true` target whose build needs a newer driver than its runner has."""
    warnings = []
    for build in builds:
        target = build.target
        release = _release(table, build)
        backend = _backend(build)
        if release is None or not backend.startswith("cu"):
            continue
        entry = release.archs(backend, target.platform)
        for gpu in target.gpu_arch:
            verdict = judge(entry, cuda_major(backend), gpu.capability)
            if verdict.runs is False and not verdict.certain:
                warnings.append(
                    f"{target.where}: {target.name}'s {backend} build of torch {release.torch} "
                    f"may have no kernels for gpu-arch {gpu.label}: {verdict.words}"
                )
            elif verdict.runs is None:
                warnings.append(
                    f"{target.where}: whether {target.name}'s {backend} build of torch "
                    f"{release.torch} runs on gpu-arch {gpu.label} is not known: "
                    f"{verdict.words}"
                )
        warnings += _driver_warnings(build, backend)
    return tuple(warnings)


def _driver_warnings(build: PlannedBuild, backend: str) -> list[str]:
    target = build.target
    need = min_driver(PLATFORMS[target.platform].os, backend)
    if not target.gpu or need is None:
        return []
    out = []
    for gpu in target.gpu_arch:
        runner = gpu.runner
        if runner is None or runner.driver_below is None:
            continue
        if version_tuple(need) >= version_tuple(runner.driver_below):
            older = MIN_DRIVER.get((PLATFORMS[target.platform].os, cuda_major(backend) - 1))
            instead = f"; a CUDA {cuda_major(backend) - 1} build needs >= {older}" if older else ""
            out.append(
                f"{target.where}: {target.name}'s {backend} build needs an NVIDIA driver >= "
                f"{need}, and {runner.label} has an older one ({runner.source}): its gpu job "
                f"may fail there{instead}"
            )
    return out
