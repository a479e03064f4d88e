"""The detection for people (`format_report`), as stable JSON (`--json`), and as the target
snippet to paste into pyproject.toml."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

from ..platforms import PLATFORMS

if TYPE_CHECKING:
    from .choice import Detection


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
        "cuda-gpus": [
            {
                "index": g.index,
                "name": g.name,
                "compute-capability": f"{g.capability[0]}.{g.capability[1]}",
            }
            for g in r.cuda_gpus
        ],
        "cuda-gpus-source": r.cuda_gpus_source,
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
    nvidia = ", ".join(g.label for g in r.cuda_gpus)
    nvidia = f"{nvidia} (from {r.cuda_gpus_source})" if nvidia else "compute capability not read"
    cuda = f" (CUDA {detection.cuda_version})" if detection.cuda_version else ""
    lines = [
        f"platform:       {detection.platform} ({r.platform_source})",
        f"torch:          {detection.torch}",
        f"NVIDIA driver:  {shown(r.driver_version, r.driver_source)}",
        *(field("NVIDIA GPUs:", nvidia) if PLATFORMS[detection.platform].os != "macos" else []),
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
