"""Pure: a spec + the release table + the release to move to -> the upgrade plan.

Each target keeps its backend where the new release publishes it for its platform, else takes
the nearest of the same kind, within its major version where it can (cu124 -> cu126);
the driver minimum follows from the CUDA major (detect's table), and a move to CUDA 13 drops
the GPUs below compute capability 7.5.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import SpecError
from ..plan.planner import default_python
from ..platforms import PLATFORMS
from ..project import ProjectTexts, spec_data
from ..pyproject.data import parse_toml, requires_python
from ..releases.cuda import MIN_DRIVER, cuda_version, version_tuple
from ..releases.extensions import EXTENSIONS
from ..releases.table import Release, ReleaseTable, index_backend
from ..spec.parse import Spec, parse_spec
from ..spec.targets import Target
from .archs import arch_changes

# What each CUDA major stopped building for (CUDA 13 toolkit release notes; facts file).
DROPPED_GPUS: dict[int, str] = {
    13: "GPUs below compute capability 7.5 (Maxwell, Pascal, Volta)",
}


@dataclass(frozen=True)
class Move:
    """One target: its backend before and after, why, and what that asks of the machine."""

    target: Target
    index: int  # its place in the spec's targets array
    old: str
    new: str
    reason: str
    old_driver: str | None  # the NVIDIA driver minimum of the old and the new backend
    new_driver: str | None
    dropped: str | None  # the GPUs the new backend no longer supports, when it drops some
    # the newest build of a newer major the release also publishes, and what it would ask
    alternative: str | None = None
    # the GPU architectures gained and lost, by family and number ("gains Blackwell sm_120;
    # loses Pascal sm_60"), or why they cannot be told; None for a move between non-CUDA builds
    archs: str | None = None

    @property
    def changed(self) -> bool:
        return self.old != self.new


@dataclass(frozen=True)
class Change:
    """One value before and after (a package's version, the Python axis), and for a package
    built against torch where the new version comes from."""

    what: str
    old: str
    new: str
    where: str = ""


@dataclass(frozen=True)
class Upgrade:
    """The plan: the release moved from and to, the versions, the Python axis, the targets."""

    spec: Spec
    old: Release
    new: Release
    versions: tuple[Change, ...]  # torch and each companion
    python_old: tuple[str, ...]
    python_new: tuple[str, ...]
    python_written: bool  # the spec names its Pythons (else the default follows the release)
    moves: tuple[Move, ...]

    @property
    def torch(self) -> str:
        return self.new.torch

    @property
    def changed(self) -> bool:
        """Whether the spec's values change (what --write would write)."""
        return (
            self.spec.torch_text != self.new.torch
            or any(m.changed for m in self.moves)
            or (self.python_written and self.python_old != self.python_new)
        )


def read_spec(
    texts: ProjectTexts, *, env: Mapping[str, str], table: ReleaseTable
) -> tuple[Spec, str | None, bool]:
    """The project's spec (validated as a spec, not against the table), its requires-python,
    and whether it names its Pythons."""
    pyproject = parse_toml(texts.pyproject, texts.pyproject_label)
    data, file, prefix = spec_data(
        pyproject, texts.pyproject_label, texts.spec, texts.spec_label, texts.spec_explicit
    )
    needs = requires_python(pyproject)
    spec = parse_spec(
        data,
        file=file,
        prefix=prefix,
        env=env,
        requires_python=needs,
        default_python=default_python(data, table, needs),
    )
    return spec, needs, "python" in data


def plan_upgrade(
    spec: Spec,
    table: ReleaseTable,
    new: Release,
    *,
    requires_python: str | None = None,
    python_written: bool = True,
) -> Upgrade:
    """Plan moving `spec` to `new`. SpecError when a target has no counterpart in `new` (no
    build of its platform, or none of its kind), or when two targets would become one."""
    matching = table.matching(spec.torch)
    if not matching:
        raise SpecError(
            f'no torch release in the table matches "{spec.torch_text}"',
            file=spec.file,
            where=spec.key("torch"),
            hint="set torch to a release `uvtorch-ci releases` lists, then upgrade",
        )
    old = matching[-1]
    versions = [Change("torch", spec.torch_text, new.torch)]
    moves = tuple(_move(spec, old, new, i, target) for i, target in enumerate(spec.targets))
    _check_distinct(spec, moves)
    versions += [
        Change(p, old.paired(p) or UNPAIRED, new.paired(p) or UNPAIRED, _where(p, new, moves))
        for p in spec.packages
    ]

    if python_written:
        kept = tuple(p for p in spec.python if p in new.python)
        python_new = kept or _default(new, table, requires_python)
    else:
        python_new = _default(new, table, requires_python)
    return Upgrade(
        spec=spec,
        old=old,
        new=new,
        versions=tuple(versions),
        python_old=spec.python,
        python_new=python_new,
        python_written=python_written,
        moves=moves,
    )


UNPAIRED = "(none paired)"


def _where(package: str, new: Release, moves: tuple[Move, ...]) -> str:
    """For a package built against torch: the targets whose (new) index publishes its new
    version, and those that take it from elsewhere (missing-builds)."""
    if package not in EXTENSIONS:
        return ""
    entry = new.extension(package)
    indexed = [
        m.target.name for m in moves if entry.publishes(m.target.platform, index_backend(m.new))
    ]
    others = [m.target.name for m in moves if m.target.name not in indexed]
    parts = [f"from the index on {', '.join(indexed)}"] if indexed else []
    if others:
        parts.append(f"missing-builds decides on {', '.join(others)}")
    return "; ".join(parts)


def _default(new: Release, table: ReleaseTable, requires: str | None) -> tuple[str, ...]:
    found = default_python({"torch": new.torch}, table, requires)
    return (found,) if found else ()


def _kind(backend: str) -> str:
    return "cu" if backend.startswith("cu") else "rocm" if backend.startswith("rocm") else backend


def _order(backend: str) -> tuple[int, ...]:
    if backend.startswith("cu"):
        return version_tuple(cuda_version(backend) or "0")
    return version_tuple(backend[4:]) if backend.startswith("rocm") else ()


def nearest_backend(old: str, published: tuple[str, ...]) -> str | None:
    """`old` when published; else the nearest of the same kind and major version (no new
    driver, no GPUs dropped; the newer on a tie); else the oldest newer one, else the newest
    older one; None when the release publishes none of that kind."""
    if old in published:
        return old
    same = sorted((b for b in published if _kind(b) == _kind(old)), key=_order)
    major = [b for b in same if _order(b)[:1] == _order(old)[:1]]
    if major:
        return min(reversed(major), key=lambda b: abs(_minor(b) - _minor(old)))
    newer = [b for b in same if _order(b) > _order(old)]
    if newer:
        return newer[0]
    return same[-1] if same else None


def _minor(backend: str) -> int:
    order = _order(backend)
    return order[1] if len(order) > 1 else 0


def driver_minimum(platform: str, backend: str) -> str | None:
    """The NVIDIA driver a CUDA backend needs on `platform`; None for other backends."""
    cuda = cuda_version(backend)
    if cuda is None:
        return None
    return MIN_DRIVER.get((PLATFORMS[platform].os, version_tuple(cuda)[0]))


def _move(spec: Spec, old_release: Release, new: Release, i: int, target: Target) -> Move:
    published = new.backends(target.platform)
    where = f"{target.where}.backend"
    if not published:
        raise SpecError(
            f"torch {new.torch} publishes no builds for {target.platform}, so {target.name} "
            "cannot move to it",
            file=spec.file,
            where=f"{target.where}.platform",
            hint="remove the target, or choose another release with --torch",
        )
    old = target.backend
    if index_backend(old) in published:
        found = old
        reason = f"{new.torch} publishes {old} for {target.platform}"
    else:
        nearest = nearest_backend(old, published)
        if nearest is None:
            raise SpecError(
                f"torch {new.torch} publishes no {_kind(old)} build for {target.platform} "
                f"(it publishes: {', '.join(published)}), so {target.name} has no counterpart",
                file=spec.file,
                where=where,
                hint="change its backend to one of those first, or choose another release",
            )
        found = nearest
        of = ", ".join(b for b in published if _kind(b) == _kind(old))
        same = _order(nearest)[:1] == _order(old)[:1] and _kind(old) == "cu"
        major = f"; the same CUDA {_order(old)[0]}.x, so the same driver" if same else ""
        reason = (
            f"{new.torch} does not publish {old} for {target.platform}; nearest: {nearest} "
            f"(of {of}{major})"
        )
    old_major = version_tuple(cuda_version(old) or "0")[0]
    new_major = version_tuple(cuda_version(found) or "0")[0]
    dropped = next(
        (text for major, text in DROPPED_GPUS.items() if old_major < major <= new_major), None
    )
    return Move(
        target=target,
        index=i,
        old=old,
        new=found,
        reason=reason,
        old_driver=driver_minimum(target.platform, old),
        new_driver=driver_minimum(target.platform, found),
        dropped=dropped,
        alternative=_alternative(target.platform, found, published),
        archs=arch_changes(old_release, old, new, found, target.platform),
    )


def _alternative(platform: str, backend: str, published: tuple[str, ...]) -> str | None:
    """What the newest build of a newer CUDA major would ask instead of `backend`."""
    if cuda_version(backend) is None:
        return None
    newer = [b for b in published if _kind(b) == "cu" and _order(b)[:1] > _order(backend)[:1]]
    if not newer:
        return None
    best = max(newer, key=_order)
    major = _order(best)[0]
    drops = next((text for m, text in DROPPED_GPUS.items() if _order(backend)[0] < m <= major), "")
    return (
        f"{best} is published too: it needs an NVIDIA driver >= "
        f"{driver_minimum(platform, best)}" + (f" and drops {drops}" if drops else "")
    )


def _check_distinct(spec: Spec, moves: tuple[Move, ...]) -> None:
    seen: dict[tuple[object, ...], Move] = {}
    for move in moves:
        t = move.target
        key = (t.platform, index_backend(move.new), t.runner, t.gpu)
        if key in seen:
            first = seen[key]
            raise SpecError(
                f"{t.name} ({move.old}) would become {move.new} on {t.platform}, which "
                f"{first.target.name} already is",
                file=spec.file,
                where=t.where,
                hint=f"remove one of them ({first.target.where} or {t.where}), then upgrade",
            )
        seen[key] = move
