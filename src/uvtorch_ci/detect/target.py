"""Pure: this machine's readings + a project's plan -> the spec's target to sync or run with.

`choose_target` weighs only the backends the spec has for this platform, with choice.py's
rules (the newest CUDA build the driver runs, then ROCm, XPU, MPS or cpu); the uv arguments
that select a target's build are the CI job's (plan.selector_args).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import UvtorchError, did_you_mean
from ..plan.planner import Build, Plan, selector_args
from ..releases.table import ReleaseTable, index_backend
from .choice import choose_backend
from .machine import Readings


class TargetError(UvtorchError):
    """The spec has no target for this machine's platform, or none with the --backend asked."""


@dataclass(frozen=True)
class TargetChoice:
    """The build to sync: which target, the uv arguments that select it, and why, in one line."""

    build: Build
    reason: str
    fallback: bool  # none of the spec's GPU builds fits this machine
    notes: tuple[str, ...] = ()
    # what selects the build for uv sync/run, as the CI job passes it (plan.selector_args):
    # its extra, its group, or nothing (the platform's markers, or the default group)
    uv_args: tuple[str, ...] = ()


def _backend(build: Build) -> str:
    return index_backend(build.target.backend)


def platform_builds(plan: Plan, platform: str) -> tuple[Build, ...]:
    """The spec's builds for `platform`, one per backend, in the spec's order."""
    seen: dict[str, Build] = {}
    for build in plan.builds:
        if build.target.platform == platform:
            seen.setdefault(_backend(build), build)
    return tuple(seen.values())


def _listing(builds: tuple[Build, ...]) -> str:
    return ", ".join(f"{b.target.name} ({b.target.backend})" for b in builds)


def choose_target(
    plan: Plan, readings: Readings, table: ReleaseTable, *, backend: str | None = None
) -> TargetChoice:
    """The target of `plan` this machine runs best; `backend` (--backend) overrides the choice.

    TargetError (exit 2) when the spec has no target for the platform, or none with `backend`.
    """
    choice = _choose(plan, readings, table, backend)
    return replace(choice, uv_args=selector_args(choice.build, plan.spec.default_group))


def _choose(
    plan: Plan, readings: Readings, table: ReleaseTable, backend: str | None
) -> TargetChoice:
    platform = readings.platform
    builds = platform_builds(plan, platform)
    if not builds:
        targets = ", ".join(f"{t.name} ({t.platform}, {t.backend})" for t in plan.spec.targets)
        raise TargetError(
            f"the spec has no target for this machine's platform, {platform}; "
            f"its targets: {targets}",
            file=plan.spec.file,
            where=plan.spec.key("targets"),
            hint=f"add a [[targets]] table with platform = {platform!r}, or set UVTORCH_PLATFORM "
            "to choose for another platform",
        )
    if backend is not None:
        return _asked(plan, builds, platform, backend)

    by_backend = {_backend(b): b for b in builds}
    release = table.get(builds[0].torch.split("+")[0]) or table.newest()
    # detect's own rules, weighing only what the spec offers on this platform
    offered = replace(release, builds={platform: tuple(by_backend)})
    detection = choose_backend(offered, readings)
    chosen = by_backend.get(index_backend(detection.backend))
    # what ruled each of the spec's GPU targets out (the driver, or which GPU its kernels miss)
    weighed = "; ".join(
        f"{by_backend[c.backend].target.name}: {c.why}"
        for c in detection.candidates
        if not c.usable and c.backend in by_backend
    )
    if chosen is not None and detection.backend not in ("cpu", "mps"):
        usable = [c.backend for c in detection.candidates if c.usable]
        why = next(c.why for c in detection.candidates if c.backend == detection.backend)
        kind = _kind(detection.backend)
        newest = (
            f"{detection.backend} is the newest of the spec's {kind} targets it runs"
            f" ({', '.join(usable)})"
            if len(usable) > 1
            else f"{detection.backend} is the spec's {kind} target it runs"
        )
        source = _source(readings, detection.backend)
        passed = f"; ruled out: {weighed}" if weighed else ""
        return TargetChoice(chosen, f"{why}{source}; {newest}{passed}", False, detection.notes)
    gpu_builds = [b for b in builds if _backend(b) != "cpu"]
    if chosen is not None:  # cpu or mps: the machine's GPU (if any) runs none of the GPU builds
        if detection.backend == "mps":
            return TargetChoice(chosen, "macOS on Apple silicon: the build with MPS", False)
        if not gpu_builds:
            return TargetChoice(chosen, f"the spec's only build for {platform}", False)
        found = weighed or "no GPU this machine can use"
        return TargetChoice(
            chosen,
            f"falling back to cpu: none of the spec's GPU targets for {platform} runs here "
            f"({found})",
            True,
            detection.notes,
        )
    # No cpu target to fall back to: a GPU build, which runs on the CPU too.
    first = builds[0]
    return TargetChoice(
        first,
        f"none of the spec's targets for {platform} runs on this machine's GPU "
        f"({weighed or 'no GPU found'}) and the spec has no cpu target for it; "
        f"{first.target.backend} is installed anyway (it runs on the CPU)",
        True,
        detection.notes,
    )


def _asked(plan: Plan, builds: tuple[Build, ...], platform: str, backend: str) -> TargetChoice:
    wanted = index_backend(backend.strip())
    for build in builds:
        if _backend(build) == wanted:
            return TargetChoice(build, "asked for with --backend", False)
    offered = [b.target.backend for b in builds]
    raise TargetError(
        f"the spec has no {backend} target for {platform}{did_you_mean(backend, offered)}; "
        f"the targets for {platform}: {_listing(builds)}",
        where="--backend",
        hint=f"pass one of: {', '.join(offered)}, or add the target to the spec ({plan.spec.file})",
    )


def _kind(backend: str) -> str:
    if backend.startswith("cu"):
        return "CUDA"
    if backend.startswith("rocm"):
        return "ROCm"
    return backend


def _source(readings: Readings, backend: str) -> str:
    if backend.startswith("cu") and readings.driver_source:
        gpus = readings.cuda_gpus_source
        return f" (NVIDIA driver from {readings.driver_source}" + (
            f", GPUs from {gpus})" if gpus else ")"
        )
    if backend.startswith("rocm") and readings.rocm_source:
        return f" (ROCm from {readings.rocm_source})"
    return ""


def describe(choice: TargetChoice) -> str:
    """The one line `sync` and `run` print: the choice and its reason."""
    build = choice.build
    default = "the default group: a bare sync installs it" if choice.build.group else ""
    selector = " ".join(choice.uv_args) or default or "no extra: the platform's markers select it"
    return f"uvtorch-ci: {build.target.name} (torch {build.torch}; {selector}): {choice.reason}"
