"""`detect`: which torch backend this machine should use, chosen (purely, here) from what
machine.py reads; report.py formats the verdict."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import did_you_mean
from ..platforms import PLATFORMS
from ..releases.cuda import MIN_DRIVER, cuda_major, cuda_version, version_tuple
from ..releases.table import Release, ReleaseTable, load_table
from .fit import gpu_fit, unserved
from .machine import (
    AMD,
    COMPUTE_CAP_ENV,
    INTEL,
    ROCM_ENV,
    DetectError,
    Readings,
    read_machine,
)
from .nvidia import CudaGpu


@dataclass(frozen=True)
class Candidate:
    backend: str
    usable: bool
    why: str


@dataclass(frozen=True)
class Detection:
    """The verdict: the backend to use on `platform` with `torch`, why, and what was weighed."""

    platform: str
    torch: str
    backend: str
    reason: str
    driver_version: str | None
    cuda_version: str | None  # of the chosen backend, when it is a CUDA one
    rocm_version: str | None
    candidates: tuple[Candidate, ...]
    notes: tuple[str, ...]
    readings: Readings


class _Weighing:
    """What choose_backend has weighed so far: candidates, reasons it moved on, notes."""

    def __init__(self, release: Release, readings: Readings) -> None:
        self.release, self.readings = release, readings
        self.published = release.backends(readings.platform)
        self.candidates: list[Candidate] = []
        self.reasons: list[str] = []
        self.notes: list[str] = []

    def weigh(self, backend: str, usable: bool, why: str) -> None:
        self.candidates.append(Candidate(backend, usable, why))

    def verdict(self, backend: str, why: str) -> Detection:
        r = self.readings
        return Detection(
            platform=r.platform,
            torch=self.release.torch,
            backend=backend,
            reason=" ".join([*self.reasons, why]),
            driver_version=r.driver_version,
            cuda_version=cuda_version(backend),
            rocm_version=r.rocm_version,
            candidates=tuple(self.candidates),
            notes=tuple(self.notes),
            readings=r,
        )


def choose_backend(release: Release, readings: Readings) -> Detection:
    """Pure: the backend to install `release` with on the machine `readings` describe.

    Order: the newest CUDA build the NVIDIA driver runs, then ROCm, then XPU, then MPS or cpu.
    """
    w = _Weighing(release, readings)
    platform = readings.platform
    if not w.published:
        raise _no_builds(release, platform)
    found = _cuda(w) or _rocm(w) or _xpu(w)
    if found:
        return found
    if platform == "macos-arm64":
        w.weigh("mps", True, "macOS arm64 builds have MPS compiled in")
        return w.verdict(
            "mps", "macOS on Apple silicon: the build from the cpu index, with MPS compiled in."
        )
    w.weigh("cpu", True, "always works")
    if platform.startswith("macos"):
        return w.verdict("cpu", "macOS x86_64 builds are cpu builds.")
    if not w.reasons:
        w.reasons.append(
            "No NVIDIA driver, no ROCm installation with an AMD GPU and no Intel discrete GPU "
            "was found."
        )
    return w.verdict("cpu", "The cpu build works everywhere.")


def _cuda(w: _Weighing) -> Detection | None:
    r, torch = w.readings, w.release.torch
    os_name, driver, gpus = PLATFORMS[r.platform].os, r.driver_version, r.cuda_gpus
    builds = sorted(
        (b for b in w.published if cuda_version(b)),
        key=lambda b: version_tuple(cuda_version(b) or "0"),
        reverse=True,
    )
    usable, runnable = [], []  # what fits driver and GPUs; what fits the driver
    for backend in builds:
        major = cuda_major(backend)
        need = MIN_DRIVER.get((os_name, major))
        if need is None:
            w.weigh(backend, False, f"no known driver minimum for CUDA {major}")
        elif driver is None:
            w.weigh(backend, False, f"needs an NVIDIA driver >= {need}")
        elif version_tuple(driver) >= version_tuple(need):
            fits, why = gpu_fit(w.release, r.platform, backend, gpus)
            w.weigh(backend, fits, f"driver {driver} >= {need}{why}")
            runnable.append(backend)
            if fits:
                usable.append(backend)
        else:
            w.weigh(backend, False, f"driver {driver} < {need}")
    if driver is None:
        return None
    if r.tegra:
        w.notes.append(
            "This looks like a Jetson (Tegra) board: PyTorch's linux-aarch64 CUDA wheels are "
            "built for server (SBSA) GPUs; NVIDIA publishes Jetson wheels separately."
        )
    if not usable:
        w.reasons.append(_none_usable(w, builds, runnable))
        return None
    chosen, major = usable[0], cuda_major(usable[0])
    entry = w.release.archs(chosen, r.platform)
    if gpus and entry is not None and not entry.confirmed:
        w.notes.append(
            f"The architectures of torch {torch}'s {chosen} builds are not confirmed: taken "
            f"from {entry.inferred}."
        )
    if not gpus and major >= 13:
        older = next((b for b in usable if cuda_major(b) < 13), None)
        w.notes.append(
            "CUDA 13 builds do not support GPUs below compute capability 7.5 (Maxwell, Pascal, "
            "Volta). The GPU's compute capability was not read (nvidia-smi gave none), so it "
            f"was not checked; set {COMPUTE_CAP_ENV} (e.g. 6.1) to check it. If your GPU is "
            "older, use a CUDA 12 build"
            + (f" ({older})." if older else "; this torch publishes none for this platform.")
        )
    decides = (
        f", and its kernels fit {_labels(gpus)} (from {r.cuda_gpus_source})."
        if gpus
        else ". The GPU's compute capability was not read, so the driver alone decided."
    )
    return w.verdict(
        chosen,
        f"NVIDIA driver {driver} (from {r.driver_source}) runs CUDA {major}.x builds; {chosen} "
        f"is the newest CUDA build torch {torch} publishes for {r.platform} that it runs" + decides,
    )


def _none_usable(w: _Weighing, builds: list[str], runnable: list[str]) -> str:
    """Why no CUDA build was chosen: the driver, or the GPUs' architectures."""
    r, torch, driver = w.readings, w.release.torch, w.readings.driver_version
    if not builds:
        return (
            f"NVIDIA driver {driver} found, but torch {torch} publishes no CUDA builds for "
            f"{r.platform}."
        )
    if not runnable:
        return (
            f"NVIDIA driver {driver} is too old for every CUDA build torch {torch} publishes "
            f"for {r.platform} ({', '.join(builds)}); update the driver to use one."
        )
    left_out = unserved(w.release, r.platform, runnable, r.cuda_gpus) or r.cuda_gpus
    return (
        f"NVIDIA driver {driver} runs {', '.join(runnable)}, but no CUDA build torch {torch} "
        f"publishes for {r.platform} that it runs has kernels for {_labels(left_out)}."
    )


def _labels(gpus: tuple[CudaGpu, ...]) -> str:
    return ", ".join(gpu.label for gpu in gpus)


def _rocm(w: _Weighing) -> Detection | None:
    r, torch, rocm = w.readings, w.release.torch, w.readings.rocm_version
    amd_gpu = r.amd_kfd or any(g.vendor == AMD for g in r.gpus)
    trusted = r.rocm_source == ROCM_ENV or amd_gpu
    builds = sorted(
        (b for b in w.published if b.startswith("rocm")),
        key=lambda b: version_tuple(b[4:]),
        reverse=True,
    )
    usable = []
    for backend in builds:
        if rocm is None:
            w.weigh(backend, False, "no ROCm installation found")
        elif not trusted:
            w.weigh(backend, False, "ROCm installed but no AMD GPU found")
        elif version_tuple(backend[4:])[:2] <= version_tuple(rocm)[:2]:
            w.weigh(backend, True, f"not newer than installed ROCm {rocm}")
            usable.append(backend)
        else:
            w.weigh(backend, False, f"newer than installed ROCm {rocm}")
    if rocm is None:
        return None
    if not usable:
        if not builds:
            w.reasons.append(f"ROCm {rocm} found, but torch {torch} publishes no ROCm builds.")
        elif not trusted:
            w.reasons.append(
                f"ROCm {rocm} is installed but no AMD GPU was found (no /dev/kfd, no "
                f"/sys/class/drm card with vendor 0x1002); set {ROCM_ENV} to choose ROCm anyway."
            )
        else:
            w.reasons.append(
                f"ROCm {rocm} is older than every ROCm build torch {torch} publishes "
                f"({', '.join(builds)})."
            )
        return None
    return w.verdict(
        usable[0],
        f"ROCm {rocm} (from {r.rocm_source}): {usable[0]} is the newest ROCm build torch "
        f"{torch} publishes that is not newer than it (major.minor). The wheels bundle their "
        "ROCm libraries; the amdgpu kernel driver must support the GPU.",
    )


def _xpu(w: _Weighing) -> Detection | None:
    if "xpu" not in w.published:
        return None
    intel = [g for g in w.readings.gpus if g.vendor == INTEL]
    discrete = ", ".join(f"{g.card} (0x{g.device:04x})" for g in intel if g.intel_discrete)
    if discrete:
        w.weigh("xpu", True, f"Intel discrete GPU: {discrete}")
        return w.verdict(
            "xpu",
            f"Intel discrete GPU {discrete} under /sys/class/drm. xpu builds also need Intel's "
            "GPU driver and compute runtime (Level Zero), which was not checked.",
        )
    w.weigh("xpu", False, "no Intel discrete GPU found" + (" (integrated only)" if intel else ""))
    if intel:
        w.notes.append(
            "Only integrated Intel graphics were found; they are not chosen, since XPU support "
            'for them depends on the generation. Set backend = "xpu" by hand if yours is '
            "supported."
        )
    elif PLATFORMS[w.readings.platform].os == "windows":
        w.notes.append('Intel GPUs are not detected on Windows; use backend = "xpu" for an Arc.')
    return None


def select_release(table: ReleaseTable, torch: str | None) -> Release:
    """The release for --torch VERSION (default: the newest in the table)."""
    if torch is None:
        return table.newest()
    try:
        release = table.get(torch.strip())
    except ValueError:  # packaging's InvalidVersion
        release = None
    if release is None:
        known = table.versions()
        raise DetectError(
            f'unknown torch version "{torch}"{did_you_mean(torch, known)}',
            where="--torch",
            hint=f"known versions: {', '.join(known)}",
        )
    return release


def detect(
    env: Mapping[str, str],
    *,
    torch: str | None = None,
    table: ReleaseTable | None = None,
    root: Path = Path("/"),
    system: str | None = None,
    machine: str | None = None,
    smi: Callable[[], str | None] | None = None,
    smi_gpus: Callable[[], tuple[CudaGpu, ...] | None] | None = None,
) -> Detection:
    """Read this machine (or the overrides in `env`) and choose the backend for `torch`."""
    table = table or load_table()
    release = select_release(table, torch)
    readings = read_machine(env, root, system=system, machine=machine, smi=smi, smi_gpus=smi_gpus)
    if not release.backends(readings.platform):
        raise _no_builds(release, readings.platform, hint=_last_with(table, readings.platform))
    return choose_backend(release, readings)


def _no_builds(release: Release, platform: str, hint: str = "") -> DetectError:
    return DetectError(
        f"torch {release.torch} publishes no builds for {platform}", where="--torch", hint=hint
    )


def _last_with(table: ReleaseTable, platform: str) -> str:
    having = [r for r in table.releases if r.backends(platform)]
    if not having:
        return ""
    last = max(having, key=lambda r: r.version).torch
    hint = f"the last release with {platform} builds is {last}: pass --torch {last}"
    if platform == "macos-x86_64":
        hint += " (on Apple silicon, an x86_64 Python runs under Rosetta: use an arm64 Python)"
    return hint
