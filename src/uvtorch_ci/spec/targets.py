"""Pure: the spec's [[targets]] tables -> validated Targets: one platform and backend each, the
runner its CI job runs on, and names safe in YAML and shell; no platform and backend twice on
one runner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import did_you_mean, one_of
from ..platforms import PLATFORMS
from ..releases.table import index_backend
from .reader import Reader, kind, quoted
from .runners import GPU_RUNNERS, StatedGpu, no_gpu_reason
from .values import (
    is_backend,
    is_compute_capability,
    is_extra_name,
    is_runner_label,
    is_target_name,
)

PYPI = "pypi"  # the backend of a target that takes the build PyPI serves
TARGET_KEYS = ("platform", "backend", "runner", "gpu", "gpu-arch", "name", "extra", "group")


@dataclass(frozen=True)
class Target:
    """One CI target: a platform, the backend it must get, and where its job runs."""

    name: str
    platform: str
    backend: str
    runner: tuple[str, ...]
    gpu: bool
    where: str  # the key of this target in the spec, for messages
    extra: str | None = None  # the extra that selects this backend (extras mode), if not its own
    group: str | None = None  # the dependency group that selects it (groups mode)
    # the NVIDIA GPUs its build must run on (`gpu-arch`): render refuses a build without them
    gpu_arch: tuple[StatedGpu, ...] = ()

    @property
    def runs_on(self) -> str | list[str]:
        return self.runner[0] if len(self.runner) == 1 else list(self.runner)


def parse_targets(r: Reader, raw: object) -> tuple[Target, ...]:
    """The spec's `targets` array -> Targets; SpecError naming the key of the first mistake."""
    if raw is None:
        raise r.fail(
            "targets",
            "missing: at least one [[targets]] table is required",
            'e.g. [[tool.uvtorch.targets]] platform = "linux-x86_64" backend = "cu124"',
        )
    if not isinstance(raw, list) or not raw:
        raise r.fail("targets", "must be a non-empty array of tables ([[targets]])")
    targets: list[Target] = []
    for i, item in enumerate(raw):
        where = f"targets[{i}]"
        if not isinstance(item, dict):
            raise r.fail(where, f"must be a table, not {kind(item)}")
        r.check_keys(item, TARGET_KEYS, where)
        platform = r.string(item, "platform", f"{where}.platform")
        if platform is None:
            raise r.fail(f"{where}.platform", f"missing; {one_of(PLATFORMS)}")
        if platform not in PLATFORMS:
            raise r.fail(
                f"{where}.platform",
                f"unknown platform {quoted(platform)}{did_you_mean(platform, PLATFORMS)}; "
                f"{one_of(PLATFORMS)}",
            )
        backend = r.string(item, "backend", f"{where}.backend")
        if backend is None:
            raise r.fail(f"{where}.backend", "missing; one of: cpu, cuXYZ, rocmX.Y, xpu, mps")
        if not is_backend(backend) and backend != PYPI:
            suggestion = did_you_mean(backend, ("cpu", "mps", "xpu", "cu124", "cu126", "cu128"))
            raise r.fail(
                f"{where}.backend",
                f"unknown backend {quoted(backend)}{suggestion}; one of: cpu, cuXYZ (e.g. cu124), "
                "rocmX.Y (e.g. rocm6.2), xpu, mps, pypi (the build PyPI serves)",
            )
        if backend == "mps" and not platform.startswith("macos"):
            raise r.fail(
                f"{where}.backend",
                f"mps exists only on macOS, not on {platform}",
                "use cpu, a cuXYZ or a rocmX.Y backend on this platform",
            )
        if platform.startswith("macos") and backend not in ("cpu", "mps", PYPI):
            raise r.fail(
                f"{where}.backend",
                f"macOS builds are cpu builds with MPS compiled in; "
                f"{quoted(backend)} does not exist there",
                'use backend = "mps" (or "cpu")',
            )
        runner = r.strings(item, "runner", f"{where}.runner")
        if runner is not None:
            if not runner:
                raise r.fail(
                    f"{where}.runner", "is an empty list; give a runner label or a list of labels"
                )
            for label in runner:
                if not is_runner_label(label):
                    raise r.fail(
                        f"{where}.runner",
                        f"runner label {label!r} may only hold letters, digits, '.', '_' and '-'",
                    )
        gpu = item.get("gpu", False)
        if not isinstance(gpu, bool):
            raise r.fail(f"{where}.gpu", f"must be true or false, not {kind(gpu)}")
        if gpu:
            _check_gpu_runner(r, where, runner)
        gpu_arch = _gpu_arch(r, item, where, backend)
        extra = _selector_name(r, item, where, "extra", "gpu")
        group = _selector_name(r, item, where, "group", "cu128")
        if group is not None and extra is not None:
            raise r.fail(
                f"{where}.group", "a target is selected by an extra or by a group, not both"
            )
        selector = extra or group
        own = f"{platform}-{backend}"
        plain = (None, index_backend(backend).replace(".", "-"))
        named = own if selector in plain else f"{own}-{selector}"
        name = r.string(item, "name", f"{where}.name") or named
        if not is_target_name(name):
            raise r.fail(
                f"{where}.name",
                f"target name {name!r} may only hold letters, digits, '.', '_' and '-' "
                "(at most 63, starting with a letter or digit)",
            )
        targets.append(
            Target(
                extra=extra,
                group=group,
                name=name,
                platform=platform,
                backend=backend,
                runner=runner or (PLATFORMS[platform].runner,),
                gpu=gpu,
                where=r.key(where),
                gpu_arch=gpu_arch,
            )
        )
    pairs: dict[tuple[str, str, str], int] = {}
    for i, target in enumerate(targets):
        pair = (target.platform, index_backend(target.backend), target.extra or target.group or "")
        if pair in pairs and not _distinct_runners(targets[pairs[pair]], target):
            raise r.fail(
                f"targets[{i}]",
                f"{target.platform} with {target.backend} is already targets[{pairs[pair]}]",
                "remove one, or run them on different runners (and give them distinct names)",
            )
        pairs.setdefault(pair, i)
    seen: dict[str, int] = {}
    for i, target in enumerate(targets):
        if target.name in seen:
            raise r.fail(
                f"targets[{i}].name",
                f'"{target.name}" is already the name of targets[{seen[target.name]}]',
                "give each target a distinct name",
            )
        seen[target.name] = i
    return tuple(targets)


GPU_RUNNER_HINT = (
    'name the runner that has the GPU, e.g. runner = ["self-hosted", "linux", "gpu"] or your '
    "organisation's GPU runner label; or drop gpu = true to check the build only"
)


def _selector_name(
    r: Reader, item: Mapping[str, Any], where: str, key: str, example: str
) -> str | None:
    """A target's `extra` or `group`: a name as PEP 685 normalizes it, or None."""
    name = r.string(item, key, f"{where}.{key}")
    if name is not None and not is_extra_name(name):
        raise r.fail(
            f"{where}.{key}",
            f"{quoted(name)} is not a normalized {key} name (lowercase letters, digits and '-')",
            f'e.g. {key} = "{example}"',
        )
    return name


GPU_ARCH_HINT = (
    'a compute capability like "7.5" (nvidia-smi --query-gpu=compute_cap), or a GPU runner '
    f"whose GPU is known: {', '.join(GPU_RUNNERS)}"
)


def _gpu_arch(
    r: Reader, item: Mapping[str, Any], where: str, backend: str
) -> tuple[StatedGpu, ...]:
    """A target's `gpu-arch`: one or a list of compute capabilities or known GPU runners."""
    key = f"{where}.gpu-arch"
    texts = r.strings(item, "gpu-arch", key)
    if texts is None:
        return ()
    if not texts:
        raise r.fail(key, "is an empty list", GPU_ARCH_HINT)
    if not (backend.startswith("cu") or backend == PYPI):
        raise r.fail(
            key,
            f"names an NVIDIA GPU, and {backend} builds do not run CUDA",
            "drop gpu-arch, or give the target a cuXYZ backend",
        )
    stated = []
    for text in texts:
        if is_compute_capability(text):
            major, minor = text.split(".")
            stated.append(StatedGpu(text, (int(major), int(minor))))
        elif text in GPU_RUNNERS:
            stated.append(StatedGpu(text, GPU_RUNNERS[text].capability, GPU_RUNNERS[text]))
        else:
            suggestion = did_you_mean(text, GPU_RUNNERS)
            raise r.fail(
                key,
                f"{quoted(text)} is not a compute capability or a known GPU runner{suggestion}",
                GPU_ARCH_HINT,
            )
    if len(set(texts)) != len(texts):
        raise r.fail(key, "lists a GPU twice")
    return tuple(stated)


def _check_gpu_runner(r: Reader, where: str, runner: tuple[str, ...] | None) -> None:
    if runner is None:
        raise r.fail(
            f"{where}.gpu",
            "gpu = true needs a runner with a GPU, and the default runner "
            "(a GitHub-hosted one) has none",
            GPU_RUNNER_HINT,
        )
    reason = no_gpu_reason(runner)
    if reason is not None:
        raise r.fail(f"{where}.runner", f"gpu = true cannot run here: {reason}", GPU_RUNNER_HINT)


def _distinct_runners(a: Target, b: Target) -> bool:
    # The same build on two runners (a hosted one and a GPU one) is a real need.
    return a.runner != b.runner or a.gpu != b.gpu
