"""nvidia-smi, asked with a timeout and a cap on its output: the driver version, and each
GPU's name and compute capability."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..releases.archs import parse_capability

NVIDIA_SMI = ("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader")
# One line per GPU, "Tesla T4, 7.5". A driver older than R510 knows no compute_cap field and
# fails: the capabilities are then not known (the driver query above is separate for that).
NVIDIA_SMI_GPUS = ("nvidia-smi", "--query-gpu=name,compute_cap", "--format=csv,noheader")
OUTPUT_LIMIT = 64 << 10  # bytes of nvidia-smi's output read at most
GPU_NAME_LIMIT = 64  # characters of a GPU's name kept: "NVIDIA GeForce RTX 5090" is 23
# "580.65.06": every number a few digits long (a version of 5,000 digits is malformed, never
# an int() too large to convert)
DRIVER_VERSION = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6}){0,3}")


@dataclass(frozen=True)
class CudaGpu:
    """One NVIDIA GPU: its index, name and compute capability ((7, 5) for a T4)."""

    index: int
    name: str
    capability: tuple[int, int]

    @property
    def label(self) -> str:
        """How messages name it: "Tesla T4 (7.5)"."""
        return f"{self.name} ({self.capability[0]}.{self.capability[1]})"


def nvidia_smi_lines(
    query: tuple[str, ...], *, path: str | None, root: Path, timeout: float
) -> list[str] | None:
    """The non-empty lines nvidia-smi prints for `query`; None when it is absent, fails, hangs
    or writes more than OUTPUT_LIMIT bytes.

    `path` is the PATH to search (default: this process's). WSL keeps it in /usr/lib/wsl/lib.
    """
    binary = shutil.which(query[0], path=path)
    if binary is None and (root / "usr/lib/wsl/lib/nvidia-smi").is_file():
        binary = str(root / "usr/lib/wsl/lib/nvidia-smi")
    if binary is None:
        return None
    ran = bounded_output([binary, *query[1:]], timeout=timeout, limit=OUTPUT_LIMIT)
    if ran is None or ran[0] != 0:
        return None
    lines = [line.strip() for line in ran[1].decode(errors="replace").splitlines()]
    return [line for line in lines if line] or None


def run_nvidia_smi(
    *, path: str | None = None, root: Path = Path("/"), timeout: float = 5.0
) -> str | None:
    """nvidia-smi's driver version; None when it is absent, fails or hangs."""
    lines = nvidia_smi_lines(NVIDIA_SMI, path=path, root=root, timeout=timeout)
    if lines is None or not DRIVER_VERSION.fullmatch(lines[0]):
        return None
    return lines[0]


def run_nvidia_smi_gpus(
    *, path: str | None = None, root: Path = Path("/"), timeout: float = 5.0
) -> tuple[CudaGpu, ...] | None:
    """Each GPU's name and compute capability, as nvidia-smi lists them; None when it is
    absent, fails, hangs or gives a line that is not "name, X.Y" (a GPU it cannot tell)."""
    lines = nvidia_smi_lines(NVIDIA_SMI_GPUS, path=path, root=root, timeout=timeout)
    return None if lines is None else parse_smi_gpus(lines)


def parse_smi_gpus(lines: list[str]) -> tuple[CudaGpu, ...] | None:
    """`Tesla T4, 7.5` lines -> CudaGpus; None when any line is something else ("[N/A]")."""
    gpus = []
    for index, line in enumerate(lines[:64]):
        name, _, text = line.rpartition(",")
        capability = parse_capability(text.strip())
        if not name.strip() or capability is None:
            return None
        gpus.append(CudaGpu(index, name.strip()[:GPU_NAME_LIMIT], capability))
    return tuple(gpus)


def bounded_output(command: list[str], *, timeout: float, limit: int) -> tuple[int, bytes] | None:
    """(exit code, stdout) of `command`; None when it cannot run, runs past `timeout`
    seconds or writes more than `limit` bytes (it is then killed: its output never fills
    memory)."""
    import threading

    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    except (OSError, ValueError):
        return None
    chunks: list[bytes] = []

    def read() -> None:
        assert process.stdout is not None
        handle, size = process.stdout.fileno(), 0
        while size <= limit and (chunk := os.read(handle, 1 << 16)):
            chunks.append(chunk)
            size += len(chunk)

    with process:
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        try:
            finished = not reader.is_alive() and sum(map(len, chunks)) <= limit
            code = process.wait(timeout=max(timeout / 10, 0.1)) if finished else None
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            process.kill()
            return None
    return code, b"".join(chunks)
