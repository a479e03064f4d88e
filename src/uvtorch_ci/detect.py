"""`detect`: which platform this machine is and which torch backend it should use."""

from __future__ import annotations

import platform as host
import re
import shutil
import subprocess
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UvtorchError, did_you_mean, one_of
from .platforms import PLATFORMS
from .releases import Release, ReleaseTable, load_table

PLATFORM_ENV = "UVTORCH_PLATFORM"
DRIVER_ENV = "UVTORCH_CUDA_DRIVER_VERSION"  # as uv's UV_CUDA_DRIVER_VERSION
ROCM_ENV = "UVTORCH_ROCM_VERSION"
NONE = "none"  # an override value meaning "this machine has none"

# The NVIDIA driver a CUDA major needs, per OS; within a major, minor-version compatibility
# lets that driver run every 12.x (or 11.x, 13.x) build. CUDA toolkit release notes, table 2.
MIN_DRIVER: dict[tuple[str, int], str] = {
    ("linux", 13): "580",
    ("windows", 13): "580",
    ("linux", 12): "525.60.13",
    ("windows", 12): "528.33",
    ("linux", 11): "450.80.02",
    ("windows", 11): "452.39",
}
SYS_DRIVER = "sys/module/nvidia/version"
PROC_DRIVER = "proc/driver/nvidia/version"
ROCM_INFO = "opt/rocm/.info/version"
NVIDIA_SMI = ("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader")
DRIVER_VERSION = re.compile(r"^[0-9]+(\.[0-9]+){0,3}$")
ROCM_VERSION = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)*$")
# "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 ..." and the open
# modules' "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build".
PROC_LINE = re.compile(r"Kernel Module\b.*?\s([0-9]+\.[0-9]+(?:\.[0-9]+)*)(?:\s|$)")
AMD, INTEL = 0x1002, 0x8086


class DetectError(UvtorchError):
    """An override or --torch value is malformed, or the machine is not a known platform."""


@dataclass(frozen=True)
class Gpu:
    """A display device under /sys/class/drm: its card, PCI vendor and device ids."""

    card: str
    vendor: int
    device: int

    @property
    def intel_discrete(self) -> bool:
        # Conservative: only families PyTorch's XPU builds name as supported discrete GPUs,
        # Arc A / Flex (DG2, 0x56xx), Data Center Max (0x0bdx, 0x0b6x), Arc B (0xe2xx).
        # Integrated graphics and DG1 (Iris Xe MAX) are left out.
        d = self.device
        return self.vendor == INTEL and (d >> 8 in (0x56, 0xE2) or d >> 4 in (0x0BD, 0x0B6))


@dataclass(frozen=True)
class Readings:
    """What was read from this machine (or the overrides), each with where it came from."""

    platform: str
    platform_source: str
    driver_version: str | None = None
    driver_source: str | None = None
    rocm_version: str | None = None
    rocm_source: str | None = None
    gpus: tuple[Gpu, ...] = ()
    amd_kfd: bool = False  # /dev/kfd: the amdgpu kernel driver's compute interface
    tegra: bool = False  # a Jetson board (/etc/nv_tegra_release)


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


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _major(backend: str) -> int:
    return version_tuple(cuda_version(backend) or "0")[0]


def cuda_version(backend: str) -> str | None:
    """'cu124' -> '12.4', 'cu130' -> '13.0'; None for other backends."""
    digits = backend[2:]
    if not backend.startswith("cu") or not digits.isdigit() or len(digits) < 2:
        return None
    return f"{int(digits[:-1])}.{digits[-1]}"


def platform_of(system: str, machine: str) -> str | None:
    """The platform name for platform.system() and platform.machine(), None if unsupported."""
    arch = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "arm64", "aarch64": "arm64"}.get(
        machine.lower()
    )
    name = {
        ("Linux", "x86_64"): "linux-x86_64",
        ("Linux", "arm64"): "linux-aarch64",
        ("Darwin", "arm64"): "macos-arm64",
        ("Darwin", "x86_64"): "macos-x86_64",
        ("Windows", "x86_64"): "windows-x86_64",
    }
    return name.get((system, arch or ""))


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def parse_proc_version(text: str) -> str | None:
    """The driver version in /proc/driver/nvidia/version text."""
    for line in text.splitlines():
        if line.startswith("NVRM version:") and (found := PROC_LINE.search(line)):
            return found.group(1)
    return None


def run_nvidia_smi(
    *, path: str | None = None, root: Path = Path("/"), timeout: float = 5.0
) -> str | None:
    """nvidia-smi's driver version; None when it is absent, fails or hangs.

    `path` is the PATH to search (default: this process's). WSL keeps it in /usr/lib/wsl/lib.
    """
    binary = shutil.which(NVIDIA_SMI[0], path=path)
    if binary is None and (root / "usr/lib/wsl/lib/nvidia-smi").is_file():
        binary = str(root / "usr/lib/wsl/lib/nvidia-smi")
    if binary is None:
        return None
    try:
        done = subprocess.run(
            [binary, *NVIDIA_SMI[1:]], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines or not DRIVER_VERSION.match(lines[0]):
        return None
    return lines[0]


def read_driver(
    root: Path, os_name: str, smi: Callable[[], str | None]
) -> tuple[str | None, str | None]:
    """(driver version, where it was read) from /sys, /proc, then nvidia-smi, as uv does."""
    if os_name == "linux":
        text = _read(root / SYS_DRIVER)
        if text is not None and DRIVER_VERSION.match(text.strip()):
            return text.strip(), "/" + SYS_DRIVER
        found = parse_proc_version(_read(root / PROC_DRIVER) or "")
        if found:
            return found, "/" + PROC_DRIVER
    if os_name in ("linux", "windows"):
        found = smi()
        if found:
            return found, "nvidia-smi"
    return None, None


def read_rocm(root: Path) -> str | None:
    """The installed ROCm major.minor[.patch] from /opt/rocm/.info/version ('6.2.4-120')."""
    found = re.match(r"\s*([0-9]+\.[0-9]+(?:\.[0-9]+)?)", _read(root / ROCM_INFO) or "")
    return found.group(1) if found else None


def read_gpus(root: Path) -> tuple[Gpu, ...]:
    gpus = []
    for card in sorted((root / "sys/class/drm").glob("card*")):
        if not re.fullmatch(r"card[0-9]+", card.name):
            continue
        try:
            vendor = int((_read(card / "device/vendor") or "").strip(), 16)
            device = int((_read(card / "device/device") or "").strip(), 16)
        except ValueError:
            continue
        gpus.append(Gpu(card.name, vendor, device))
    return tuple(gpus)


def _override(
    env: Mapping[str, str], name: str, pattern: re.Pattern[str], what: str, example: str
) -> str:
    value = env[name].strip()
    if value.lower() != NONE and not pattern.match(value):
        raise DetectError(
            f'"{env[name]}" is not {what}',
            where=name,
            hint=f'e.g. {example}, or "{NONE}" for none; unset it to read this machine',
        )
    return value


def read_machine(
    env: Mapping[str, str],
    root: Path = Path("/"),
    *,
    system: str | None = None,
    machine: str | None = None,
    smi: Callable[[], str | None] | None = None,
) -> Readings:
    """Read the platform, NVIDIA driver, ROCm and GPUs; the UVTORCH_* overrides win.

    `root` prefixes every /sys, /proc, /opt and /dev lookup (tests point it at a tree).
    Raises DetectError for a malformed override or a machine no platform matches.
    """
    if env.get(PLATFORM_ENV):
        name, platform_source = env[PLATFORM_ENV].strip(), PLATFORM_ENV
        if name not in PLATFORMS:
            raise DetectError(
                f'unknown platform "{name}"{did_you_mean(name, PLATFORMS)}; {one_of(PLATFORMS)}',
                where=PLATFORM_ENV,
            )
    else:
        system, machine = system or host.system(), machine or host.machine()
        found = platform_of(system, machine)
        if found is None:
            raise DetectError(
                f"{system} on {machine} is not a platform the release table knows",
                hint=f"set {PLATFORM_ENV} to one of: {', '.join(PLATFORMS)} to choose for another",
            )
        name, platform_source = found, f"platform: {system} {machine}"
    os_name = PLATFORMS[name].os

    driver, driver_source = None, None
    if env.get(DRIVER_ENV, "").strip():
        value = _override(env, DRIVER_ENV, DRIVER_VERSION, "an NVIDIA driver version", "580.65.06")
        driver, driver_source = (None if value.lower() == NONE else value), DRIVER_ENV
    else:
        path = env.get("PATH")
        run = smi or (lambda: run_nvidia_smi(path=path, root=root))
        driver, driver_source = read_driver(root, os_name, run)

    rocm, rocm_source = None, None
    if env.get(ROCM_ENV, "").strip():
        value = _override(env, ROCM_ENV, ROCM_VERSION, "a ROCm version", "6.4 or 7.1.1")
        rocm, rocm_source = (None if value.lower() == NONE else value), ROCM_ENV
    elif os_name == "linux" and (rocm := read_rocm(root)):
        rocm_source = "/" + ROCM_INFO

    linux = os_name == "linux"
    return Readings(
        platform=name,
        platform_source=platform_source,
        driver_version=driver,
        driver_source=driver_source,
        rocm_version=rocm,
        rocm_source=rocm_source,
        gpus=read_gpus(root) if linux else (),
        amd_kfd=linux and (root / "dev/kfd").exists(),
        tegra=linux and (root / "etc/nv_tegra_release").exists(),
    )


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
        raise DetectError(
            f"torch {release.torch} publishes no builds for {platform}", where="--torch"
        )
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
    os_name, driver = PLATFORMS[r.platform].os, r.driver_version
    builds = sorted(
        (b for b in w.published if cuda_version(b)),
        key=lambda b: version_tuple(cuda_version(b) or "0"),
        reverse=True,
    )
    usable = []
    for backend in builds:
        major = _major(backend)
        need = MIN_DRIVER.get((os_name, major))
        if need is None:
            w.weigh(backend, False, f"no known driver minimum for CUDA {major}")
        elif driver is None:
            w.weigh(backend, False, f"needs an NVIDIA driver >= {need}")
        elif version_tuple(driver) >= version_tuple(need):
            w.weigh(backend, True, f"driver {driver} >= {need}")
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
        w.reasons.append(
            f"NVIDIA driver {driver} is too old for every CUDA build torch {torch} publishes "
            f"for {r.platform} ({', '.join(builds)}); update the driver to use one."
            if builds
            else f"NVIDIA driver {driver} found, but torch {torch} publishes no CUDA builds "
            f"for {r.platform}."
        )
        return None
    chosen, major = usable[0], _major(usable[0])
    if major >= 13:
        older = next((b for b in usable if _major(b) < 13), None)
        w.notes.append(
            "CUDA 13 builds do not support GPUs below compute capability 7.5 (Maxwell, Pascal, "
            "Volta). The capability cannot be read without CUDA itself, so it was not checked: "
            "if your GPU is older, use a CUDA 12 build"
            + (f" ({older})." if older else "; this torch publishes none for this platform.")
        )
    return w.verdict(
        chosen,
        f"NVIDIA driver {driver} (from {r.driver_source}) runs CUDA {major}.x builds; {chosen} "
        f"is the newest CUDA build torch {torch} publishes for {r.platform} that it runs. The "
        "driver decides which CUDA runs, not the GPU's compute capability.",
    )


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
) -> Detection:
    """Read this machine (or the overrides in `env`) and choose the backend for `torch`."""
    release = select_release(table or load_table(), torch)
    readings = read_machine(env, root, system=system, machine=machine, smi=smi)
    if not release.backends(readings.platform):
        raise DetectError(
            f"torch {release.torch} publishes no builds for {readings.platform}",
            where="--torch",
            hint=_last_with(table or load_table(), readings.platform),
        )
    return choose_backend(release, readings)


def _last_with(table: ReleaseTable, platform: str) -> str:
    having = [r for r in table.releases if r.backends(platform)]
    if not having:
        return ""
    last = max(having, key=lambda r: r.version).torch
    hint = f"the last release with {platform} builds is {last}: pass --torch {last}"
    if platform == "macos-x86_64":
        hint += " (on Apple silicon, an x86_64 Python runs under Rosetta: use an arm64 Python)"
    return hint


def target_snippet(detection: Detection) -> str:
    return (
        "[[tool.uvtorch.targets]]\n"
        f'platform = "{detection.platform}"\n'
        f'backend = "{detection.backend}"\n'
    )


def detection_json(detection: Detection) -> dict[str, Any]:
    """The detection as plain data with stable keys (`--json`)."""
    r = detection.readings
    return {
        "platform": detection.platform,
        "platform-source": r.platform_source,
        "torch": detection.torch,
        "backend": detection.backend,
        "reason": detection.reason,
        "driver-version": detection.driver_version,
        "driver-source": r.driver_source,
        "cuda-version": detection.cuda_version,
        "rocm-version": detection.rocm_version,
        "rocm-source": r.rocm_source,
        "gpus": [
            {"card": g.card, "vendor": f"0x{g.vendor:04x}", "device": f"0x{g.device:04x}"}
            for g in r.gpus
        ],
        "candidates": [
            {"backend": c.backend, "usable": c.usable, "why": c.why} for c in detection.candidates
        ],
        "notes": list(detection.notes),
        "target": {"platform": detection.platform, "backend": detection.backend},
    }


def format_report(detection: Detection, width: int = 96) -> str:
    """The human report: what was found, why this backend, and the snippet to paste."""
    r = detection.readings

    def shown(value: str | None, source: str | None) -> str:
        if value:
            return f"{value} (from {source})"
        return f"none ({source})" if source else "not found"

    def field(label: str, text: str) -> list[str]:
        return textwrap.wrap(text, width, initial_indent=f"{label:<16}", subsequent_indent=" " * 16)

    gpus = ", ".join(f"{g.card} {g.vendor:04x}:{g.device:04x}" for g in r.gpus) or "none listed"
    cuda = f" (CUDA {detection.cuda_version})" if detection.cuda_version else ""
    lines = [
        f"platform:       {detection.platform} ({r.platform_source})",
        f"torch:          {detection.torch}",
        f"NVIDIA driver:  {shown(r.driver_version, r.driver_source)}",
        f"ROCm:           {shown(r.rocm_version, r.rocm_source)}",
        *([f"GPUs (drm):     {gpus}"] if PLATFORMS[detection.platform].os == "linux" else []),
        "",
        f"backend:        {detection.backend}{cuda}",
        *field("why:", detection.reason),
    ]
    if detection.candidates:
        lines.append("considered:")
        size = max(len(c.backend) for c in detection.candidates)
        lines += [
            f"  {c.backend:<{size}}  {'yes' if c.usable else 'no '}  {c.why}"
            for c in detection.candidates
        ]
    for note in detection.notes:
        lines += field("note:", note)
    snippet = target_snippet(detection).rstrip("\n")
    return "\n".join([*lines, "", "Add to pyproject.toml, under [tool.uvtorch]:", "", snippet])
