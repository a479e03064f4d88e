"""What a CUDA backend asks of the machine: its CUDA version, and the NVIDIA driver its CUDA
major needs per OS (the facts detect, sync, upgrade and render's runner warnings share)."""

from __future__ import annotations

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


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def cuda_version(backend: str) -> str | None:
    """'cu124' -> '12.4', 'cu130' -> '13.0'; None for other backends."""
    digits = backend[2:]
    if not backend.startswith("cu") or not digits.isdigit() or len(digits) < 2:
        return None
    return f"{int(digits[:-1])}.{digits[-1]}"


def cuda_major(backend: str) -> int:
    """12 for cu124, 13 for cu130; 0 for a backend that is not CUDA."""
    return version_tuple(cuda_version(backend) or "0")[0]


def min_driver(os_name: str, backend: str) -> str | None:
    """The NVIDIA driver a CUDA `backend` needs on `os_name` ("linux"); None when unknown or
    not CUDA."""
    return MIN_DRIVER.get((os_name, cuda_major(backend)))
