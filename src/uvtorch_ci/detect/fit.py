"""Pure: whether a CUDA build's kernels fit every NVIDIA GPU of this machine, in the words the
candidates and the verdict of `detect` (and so `sync`) give."""

from __future__ import annotations

from ..releases.archs import judge
from ..releases.cuda import cuda_major
from ..releases.table import Release
from .nvidia import CudaGpu


def gpu_fit(
    release: Release, platform: str, backend: str, gpus: tuple[CudaGpu, ...]
) -> tuple[bool, str]:
    """(usable, why) for the `backend` builds of `release` on these GPUs: usable when none is
    ruled out (all must be served); `why` starts with "; " or ", but" to follow the driver's
    words, and is empty when the GPUs are not known."""
    if not gpus:
        return True, ""
    entry = release.archs(backend, platform)
    verdicts = [(gpu, judge(entry, cuda_major(backend), gpu.capability)) for gpu in gpus]
    ruled_out = [(gpu, verdict) for gpu, verdict in verdicts if verdict.runs is False]
    if ruled_out:
        names = ", ".join(gpu.label for gpu, _ in ruled_out)
        return False, f", but no kernels for {names}: {ruled_out[0][1].words}"
    if any(verdict.runs is None for _, verdict in verdicts):
        return True, "; its architectures are not known, so the GPUs were not checked"
    runs = {verdict.words for _, verdict in verdicts}
    if len(runs) == 1:
        return True, f"; {_gpus(gpus)}: {runs.pop()}"
    return True, "; " + ", ".join(f"{gpu.label}: {verdict.words}" for gpu, verdict in verdicts)


def unserved(
    release: Release, platform: str, backends: list[str], gpus: tuple[CudaGpu, ...]
) -> tuple[CudaGpu, ...]:
    """The GPUs none of `backends` runs on."""
    return tuple(
        gpu
        for gpu in gpus
        if all(
            judge(release.archs(b, platform), cuda_major(b), gpu.capability).runs is False
            for b in backends
        )
    )


def _gpus(gpus: tuple[CudaGpu, ...]) -> str:
    labels = [gpu.label for gpu in gpus]
    if len(set(labels)) == 1 and len(labels) > 1:
        return f"{len(labels)} x {labels[0]}"
    return ", ".join(labels)
