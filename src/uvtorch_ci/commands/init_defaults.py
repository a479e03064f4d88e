"""`init` without a terminal: the defaults it took, each with why and what it asks of the
machine (the NVIDIA driver a CUDA build needs, the GPUs it drops), so nothing is chosen
silently."""

from __future__ import annotations

from ..init.answers import Answers, TargetChoice
from ..plan.planner import Plan
from ..platforms import PLATFORMS
from ..releases.cuda import MIN_DRIVER, cuda_version, version_tuple
from ..releases.table import Release, ReleaseTable
from ..upgrade.moves import DROPPED_GPUS


def default_lines(answers: Answers, plan: Plan, table: ReleaseTable) -> list[str]:
    """One line per default `answers` took (answers.defaults), in the order of the spec."""
    release = plan.builds[0].versions["torch"].split("+")[0]
    newest = table.get(release) or table.newest()
    lines: list[str] = []
    if "torch" in answers.defaults:
        lines.append(
            f"torch {answers.torch}: the newest release in uvtorch-ci's table "
            "(--torch VERSION for another)"
        )
    if "targets" in answers.defaults:
        lines += [_target_line(t, newest) for t in answers.targets]
    if "packages" in answers.defaults:
        lines.append("packages: none (--package torchvision, --package torchaudio to add them)")
    if "python" in answers.defaults:
        python = ", ".join(plan.spec.python)
        lines.append(
            f"python: {python}, the newest Python torch {newest.torch} has wheels for "
            "(--python 3.X for others)"
        )
    return lines


def _target_line(target: TargetChoice, release: Release) -> str:
    platform, backend = target.platform, target.backend
    option = f"--target {platform}:BACKEND"
    cuda = cuda_version(backend)
    if cuda is None:
        if backend == "mps":
            return f"{platform}: mps, the macOS build, with Metal (MPS) built in"
        gpus = [b for b in release.backends(platform) if cuda_version(b)]
        why = "a GPU build is yours to ask for" if gpus else "no GPU build is published there"
        return f"{platform}: {backend}, the CPU build ({why}: {option})"
    major = version_tuple(cuda)[0]
    driver = MIN_DRIVER.get((PLATFORMS[platform].os, major))
    needs = f"; it needs an NVIDIA driver >= {driver} (CUDA {major}.x)" if driver else ""
    dropped = f" and drops {DROPPED_GPUS[major]}" if major in DROPPED_GPUS else ""
    older = [
        b
        for b in release.backends(platform)
        if (v := cuda_version(b)) is not None and version_tuple(v)[0] < major
    ]
    alternative = (
        f"; --target {platform}:{max(older, key=lambda b: int(b[2:]))} for an older driver"
        if older
        else f" ({option} for another)"
    )
    return (
        f"{platform}: {backend}, the newest CUDA build torch {release.torch} publishes there"
        f"{needs}{dropped}{alternative}"
    )
