"""Reading this machine for `detect`: platform, NVIDIA driver (/sys, /proc, nvidia-smi), each
NVIDIA GPU's compute capability (nvidia-smi: nvidia.py), ROCm and the GPUs under
/sys/class/drm, or the UVTORCH_* overrides that stand in for them."""

from __future__ import annotations

import platform as host
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import UvtorchError, did_you_mean, one_of, shown
from ..platforms import PLATFORMS
from ..reading import NotRegular, TooLarge, read_regular
from ..releases.archs import parse_capability
from .nvidia import DRIVER_VERSION, CudaGpu, run_nvidia_smi, run_nvidia_smi_gpus

PLATFORM_ENV = "UVTORCH_PLATFORM"
DRIVER_ENV = "UVTORCH_CUDA_DRIVER_VERSION"  # as uv's UV_CUDA_DRIVER_VERSION
ROCM_ENV = "UVTORCH_ROCM_VERSION"
# "7.5", or one per GPU: "8.6,12.0" (nvidia-smi's field name: compute_cap)
COMPUTE_CAP_ENV = "UVTORCH_CUDA_COMPUTE_CAP"
NONE = "none"  # an override value meaning "this machine has none"

SYS_DRIVER = "sys/module/nvidia/version"
PROC_DRIVER = "proc/driver/nvidia/version"
ROCM_INFO = "opt/rocm/.info/version"
# Every number is a few digits long: a version of 5,000 digits is malformed, never an int()
# too large to convert.
ROCM_VERSION = re.compile(r"[0-9]{1,4}\.[0-9]{1,4}(\.[0-9]{1,6}){0,2}")
# "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 ..." and the open
# modules' "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build".
PROC_LINE = re.compile(r"Kernel Module\b.*?\s([0-9]{1,6}\.[0-9]{1,6}(?:\.[0-9]{1,6}){0,2})(?:\s|$)")
# One to 64 compute capabilities, comma-separated: a value of any other length is malformed.
CAPABILITIES = re.compile(r"[1-9][0-9]?\.[0-9](\s*,\s*[1-9][0-9]?\.[0-9]){0,63}")
PCI_ID = re.compile(r"0x[0-9a-fA-F]{1,4}")  # /sys/class/drm/card0/device/vendor: "0x10de"
READ_LIMIT = 64 << 10  # bytes of a version or id file read at most: a few dozen are real
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
    # every NVIDIA GPU's compute capability, and where it was read; () when not known
    cuda_gpus: tuple[CudaGpu, ...] = ()
    cuda_gpus_source: str | None = None


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
    """A small regular file's text (reading.py: a FIFO or a device is never opened, a file
    larger than READ_LIMIT never read); None for anything else."""
    try:
        data = read_regular(str(path), READ_LIMIT)
    except (OSError, ValueError, NotRegular, TooLarge):
        return None
    return None if data is None else data.decode("utf-8", errors="replace")


def parse_proc_version(text: str) -> str | None:
    """The driver version in /proc/driver/nvidia/version text."""
    for line in text.splitlines():
        if line.startswith("NVRM version:") and (found := PROC_LINE.search(line)):
            return found.group(1)
    return None


def read_driver(
    root: Path, os_name: str, smi: Callable[[], str | None]
) -> tuple[str | None, str | None]:
    """(driver version, where it was read) from /sys, /proc, then nvidia-smi, as uv does."""
    if os_name == "linux":
        text = _read(root / SYS_DRIVER)
        if text is not None and DRIVER_VERSION.fullmatch(text.strip()):
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
    found = re.match(
        r"\s*([0-9]{1,4}\.[0-9]{1,4}(?:\.[0-9]{1,6})?)\b", _read(root / ROCM_INFO) or ""
    )
    return found.group(1) if found else None


def read_gpus(root: Path) -> tuple[Gpu, ...]:
    gpus = []
    for card in sorted((root / "sys/class/drm").glob("card*")):
        if not re.fullmatch(r"card[0-9]+", card.name):
            continue
        vendor = (_read(card / "device/vendor") or "").strip()
        device = (_read(card / "device/device") or "").strip()
        if PCI_ID.fullmatch(vendor) and PCI_ID.fullmatch(device):
            gpus.append(Gpu(card.name, int(vendor, 16), int(device, 16)))
    return tuple(gpus)


def _override(
    env: Mapping[str, str], name: str, pattern: re.Pattern[str], what: str, example: str
) -> str | None:
    """The version the override `name` gives, None for "none"; DetectError when malformed."""
    value = env[name].strip()
    if value.lower() == NONE:
        return None
    if not pattern.fullmatch(value):
        raise DetectError(
            f"{shown(env[name])} is not {what}",
            where=name,
            hint=f'e.g. {example}, or "{NONE}" for none; unset it to read this machine',
        )
    return value


def capability_override(env: Mapping[str, str]) -> tuple[CudaGpu, ...]:
    """The GPUs UVTORCH_CUDA_COMPUTE_CAP stands for ("GPU 0", "GPU 1" ...); DetectError when
    it is not one to 64 compute capabilities like 7.5."""
    value = env[COMPUTE_CAP_ENV].strip()
    if not CAPABILITIES.fullmatch(value):
        raise DetectError(
            f"{shown(env[COMPUTE_CAP_ENV])} is not a GPU compute capability",
            where=COMPUTE_CAP_ENV,
            hint='e.g. 7.5 (a T4), or "8.6,12.0" for one per GPU; unset it to read this machine',
        )
    items = [parse_capability(item.strip()) for item in value.split(",")]
    return tuple(CudaGpu(i, f"GPU {i}", c) for i, c in enumerate(items) if c is not None)


def read_machine(
    env: Mapping[str, str],
    root: Path = Path("/"),
    *,
    system: str | None = None,
    machine: str | None = None,
    smi: Callable[[], str | None] | None = None,
    smi_gpus: Callable[[], tuple[CudaGpu, ...] | None] | None = None,
) -> Readings:
    """Read the platform, NVIDIA driver and GPUs, ROCm and the other GPUs; the UVTORCH_*
    overrides win. The GPUs' compute capabilities are read (nvidia-smi) only when the driver
    was read from this machine too, not given by an override.

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
    path = env.get("PATH")
    if env.get(DRIVER_ENV, "").strip():
        driver = _override(env, DRIVER_ENV, DRIVER_VERSION, "an NVIDIA driver version", "580.65.06")
        driver_source = DRIVER_ENV
    else:
        run = smi or (lambda: run_nvidia_smi(path=path, root=root))
        driver, driver_source = read_driver(root, os_name, run)

    cuda_gpus: tuple[CudaGpu, ...] = ()
    cuda_gpus_source = None
    if env.get(COMPUTE_CAP_ENV, "").strip():
        cuda_gpus, cuda_gpus_source = capability_override(env), COMPUTE_CAP_ENV
    elif driver is not None and driver_source != DRIVER_ENV:
        listed = (smi_gpus or (lambda: run_nvidia_smi_gpus(path=path, root=root)))()
        if listed:
            cuda_gpus, cuda_gpus_source = listed, "nvidia-smi"

    rocm, rocm_source = None, None
    if env.get(ROCM_ENV, "").strip():
        rocm = _override(env, ROCM_ENV, ROCM_VERSION, "a ROCm version", "6.4 or 7.1.1")
        rocm_source = ROCM_ENV
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
        cuda_gpus=cuda_gpus,
        cuda_gpus_source=cuda_gpus_source,
    )
