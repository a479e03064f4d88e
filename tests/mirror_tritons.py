"""What the real rocm and xpu torch wheels require of Triton, as data for the test mirror: the
versions real uv.lock files show where they show them, the build scripts' intent elsewhere.

Independent of the release table on purpose. The mirror serves what the real index serves, so
a table that pins the wrong Triton fails `uv lock` or verify against it, instead of agreeing
with a mirror built from the same mistake.
"""

from __future__ import annotations

from packaging.version import Version

# (torch, backend or family) -> the Triton requirements of those torch wheels, as the torch
# entries' `dependencies` in real uv.lock files record them (../shared/corpus/locks and the
# survey in ../shared/facts/pytorch-releases.md). torch 2.13.0+rocm7.2 requires triton-rocm
# alone: so101-nexus's lock also holds pytorch-triton-rocm 3.5.1 because its own rocm extra
# lists it, unpinned; its torch entry depends on triton-rocm only.
SEEN: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("2.7.1", "rocm6.3"): (("pytorch-triton-rocm", "3.3.1"),),  # catyperry/farmers-eye-pytorch
    ("2.8.0", "rocm6.3"): (("pytorch-triton-rocm", "3.4.0"),),  # nikopueringer/CorridorKey
    ("2.9.1", "rocm"): (("pytorch-triton-rocm", "3.5.1"),),
    ("2.10.0", "rocm7.1"): (("triton-rocm", "3.6.0"),),  # invoke-ai/InvokeAI
    ("2.12.1", "rocm7.2"): (("triton-rocm", "3.7.1"),),
    ("2.13.0", "rocm7.2"): (("triton-rocm", "3.7.1"),),  # johnsutor/so101-nexus
    ("2.13.0", "xpu"): (("triton-xpu", "3.7.2"),),  # invoke-ai/InvokeAI
}
# ROCm 7 builds require triton-rocm from 2.10 (InvokeAI's 2.10.0+rocm7.1); xpu builds
# triton-xpu from 2.11 (the rename's release is not confirmed).
_RENAMED = {
    "rocm": ("pytorch-triton-rocm", "triton-rocm", "2.10"),
    "xpu": ("pytorch-triton-xpu", "triton-xpu", "2.11"),
}
# torch 2.5.1+xpu for Windows requires no Triton (Stanley5249/torch-test-xpu's lock).
_XPU_WINDOWS_TRITON_FROM = Version("2.6")


def family(backend: str) -> str:
    return "rocm" if backend.startswith("rocm") else backend


def intended_version(torch: str) -> str:
    """The Triton the build scripts pin for a torch minor (3.1.0 for 2.5), for builds no real
    lock showed."""
    minor = Version(torch).minor
    return f"3.{minor - 4}.0" if minor >= 4 else f"2.{minor}.0"


def required_tritons(torch: str, backend: str) -> tuple[tuple[str, str], ...]:
    """(name, version) of each Triton package torch `torch` built for `backend` requires; ()
    for the backends that require none."""
    kind = family(backend)
    if kind not in _RENAMED:
        return ()
    seen = SEEN.get((torch, backend)) or SEEN.get((torch, kind))
    if seen is not None:
        return seen
    old, new, since = _RENAMED[kind]
    return ((new if Version(torch) >= Version(since) else old, intended_version(torch)),)


def requires_triton_on(torch: str, backend: str, platform: str) -> bool:
    """Whether the `backend` build of `torch` for `platform` requires its Triton."""
    if not required_tritons(torch, backend):
        return False
    return not platform.startswith("windows-") or Version(torch) >= _XPU_WINDOWS_TRITON_FROM
