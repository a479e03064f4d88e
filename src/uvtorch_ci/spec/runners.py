"""Pure: which runner labels are GitHub's own, and why a GPU job cannot run on them; the GPU
runners whose GPU is known (`gpu-arch = "github-t4"`).

GitHub-hosted runners have no GPU (its GPU runners are larger runners with the names an
organisation gives them), and hosted macOS reports MPS available while it does not work, so a
target with `gpu = true` must name its runner. Jobs on any other label (self-hosted or an
organisation's larger runner) are kept from pull requests of forks by the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..releases.archs import family

# actions/runner-images, 2026 (macos-14 left out: unsupported from 2026-11-02)
HOSTED_LINUX = frozenset(
    {"ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm"}
    | {"ubuntu-slim"}
)
HOSTED_WINDOWS = frozenset({"windows-latest", "windows-2025", "windows-2022", "windows-11-arm"})
HOSTED_MACOS = frozenset(
    {"macos-latest", "macos-26", "macos-15", "macos-15-intel", "macos-14"}
    | {"macos-latest-large", "macos-15-large", "macos-latest-xlarge", "macos-15-xlarge"}
    | {"macos-26-xlarge"}
)
HOSTED_LABELS = HOSTED_LINUX | HOSTED_WINDOWS | HOSTED_MACOS


def is_hosted(runner: tuple[str, ...]) -> bool:
    """Whether a job on these labels runs on one of GitHub's standard hosted runners."""
    return any(label in HOSTED_LABELS for label in runner)


def no_gpu_reason(runner: tuple[str, ...]) -> str | None:
    """Why a GPU job cannot run on these labels, or None when it may."""
    hosted = [label for label in runner if label in HOSTED_LABELS]
    if not hosted:
        return None
    label = hosted[0]
    if label in HOSTED_MACOS:
        return (
            f"{label} is a GitHub-hosted macOS runner: it reports MPS available, "
            "but MPS does not work there"
        )
    return f"{label} is a GitHub-hosted runner, and those have no GPU"


@dataclass(frozen=True)
class GpuRunner:
    """A kind of GPU runner whose GPU is known, named by `gpu-arch` where a target's runner
    label (which an organisation chooses) cannot say it: its GPU, that GPU's compute
    capability, and the NVIDIA driver its image was reported older than."""

    name: str
    gpu: str
    capability: tuple[int, int]
    driver_below: str | None
    source: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.gpu}, {self.capability[0]}.{self.capability[1]})"


# GitHub's hosted GPU runners (larger runners of Team and Enterprise plans: 4 vCPU, one Tesla
# T4); their image's driver was reported older than 580 in 2026 (the facts file).
GPU_RUNNERS = {
    runner.name: runner
    for runner in (
        GpuRunner(
            "github-t4",
            "Tesla T4",
            (7, 5),
            "580",
            "GitHub's hosted GPU runner, whose image's driver was reported older than 580 (2026)",
        ),
    )
}


@dataclass(frozen=True)
class StatedGpu:
    """A GPU a target's build must run on, as `gpu-arch` states it: a compute capability
    ("7.5"), or a known GPU runner ("github-t4") with what is known of it."""

    text: str
    capability: tuple[int, int]
    runner: GpuRunner | None = None

    @property
    def label(self) -> str:
        """How messages name it: "github-t4 (Tesla T4, 7.5)", or "6.1 (Pascal)"."""
        return self.runner.label if self.runner else f"{self.text} ({family(self.capability)})"
