"""Pure: which runner labels are GitHub's own, and why a GPU job cannot run on them.

GitHub-hosted runners have no GPU (its GPU runners are larger runners with the names an
organisation gives them), and hosted macOS reports MPS available while it does not work, so a
target with `gpu = true` must name its runner. Jobs on any other label (self-hosted or an
organisation's larger runner) are kept from pull requests of forks by the workflow.
"""

from __future__ import annotations

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
