"""Pure: the GPU architectures a target's move between releases and backends gains and loses,
by family and number, from the release table's lists."""

from __future__ import annotations

from ..releases.archs import changes, named
from ..releases.cuda import cuda_version
from ..releases.table import Release, index_backend
from ..spec.targets import PYPI


def _cuda_build(release: Release, backend: str, platform: str) -> str | None:
    """The CUDA backend a target's build is (PyPI's for a pypi target); None if not CUDA."""
    built = release.pypi.get(platform, "") if backend == PYPI else index_backend(backend)
    return built if cuda_version(built) else None


def arch_changes(
    old: Release, old_backend: str, new: Release, new_backend: str, platform: str
) -> str | None:
    """The architectures moving from `old_backend` builds of `old` to `new_backend` builds of
    `new` gains and loses on `platform`, in words; None when neither is a CUDA build."""
    before, after = _cuda_build(old, old_backend, platform), _cuda_build(new, new_backend, platform)
    if before is None and after is None:
        return None
    if before is None or after is None:  # a pypi target whose PyPI build changes kind
        entry = new.archs(after, platform) if after else old.archs(before or "", platform)
        listed = f" ({named(entry.archs)})" if entry else ""
        if before is None:
            return f"becomes the {after} build: gains NVIDIA GPUs{listed}"
        return f"is no longer a CUDA build: loses every NVIDIA GPU{listed}"
    old_entry, new_entry = old.archs(before, platform), new.archs(after, platform)
    if old_entry is None or new_entry is None:
        missing = [
            f"{r.torch} {b}"
            for r, b, e in ((old, before, old_entry), (new, after, new_entry))
            if e is None
        ]
        return f"not known: the table has no architecture list for {' and '.join(missing)}"
    said = changes(old_entry, new_entry) or "the same architectures"
    pairs = ((old, before, old_entry), (new, after, new_entry))
    unconfirmed = [f"{r.torch} {b}" for r, b, entry in pairs if not entry.confirmed]
    return said + (f" (unconfirmed list: {' and '.join(unconfirmed)})" if unconfirmed else "")
