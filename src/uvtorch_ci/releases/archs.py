"""The GPU architectures a CUDA build carries kernels for, as the release table records them
per release, backend and platform (`[release.cuda-archs]`), and whether a GPU runs them.

A list is written as the build scripts' TORCH_CUDA_ARCH_LIST writes it: "7.5;8.0;12.0+PTX".
An entry is CONFIRMED when its `source` names where the list was read: the build script of
that release, or the wheel's own `torch.cuda.get_arch_list()`. An entry that is not has
`inferred` instead, saying what the list is taken from; it is used, and always called
unconfirmed.

Which GPU a build serves (NVIDIA's compatibility rules, as torch.cuda applies them): a GPU of
compute capability M.m runs kernels built for sm_Mn with n <= m (the same major; 8.6 runs sm_80
kernels), or, failing those, JIT-compiles the PTX of compute_XY for any X.Y up to M.m ("+PTX":
the driver compiles it at first use, slower to start). Nothing runs across a major otherwise:
Thor (11.0) runs neither sm_100 nor sm_120 kernels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Capability = tuple[int, int]  # (7, 5) for compute capability 7.5

# "7.5" or "12.0+PTX": a major of one or two digits and a one-digit minor, as nvcc numbers them
ARCH = re.compile(r"([1-9][0-9]?)\.([0-9])(\+PTX)?")
CAPABILITY = re.compile(r"([1-9][0-9]?)\.([0-9])")

# The lowest architecture each CUDA major's toolkit still builds for (CUDA toolkit release
# notes: 12.0 removed Kepler, 13.0 removed Maxwell, Pascal and Volta; the facts file). No
# build of that CUDA carries kernels below it, whatever the table records.
TOOLKIT_FLOOR: dict[int, Capability] = {11: (3, 5), 12: (5, 0), 13: (7, 5)}

# NVIDIA's names for the architecture of each compute capability (CUDA C programming guide).
_FAMILIES: tuple[tuple[Capability, str], ...] = (
    ((3, 0), "Kepler"),
    ((5, 0), "Maxwell"),
    ((6, 0), "Pascal"),
    ((7, 0), "Volta"),
    ((7, 5), "Turing"),
    ((8, 0), "Ampere"),
    ((8, 9), "Ada"),
    ((9, 0), "Hopper"),
    ((10, 0), "Blackwell"),
)


def family(capability: Capability) -> str:
    """The architecture's name: (6, 1) -> "Pascal", (12, 0) -> "Blackwell" (Jetson's numbers
    fall inside their family's range: Xavier 7.2 is a Volta, Orin 8.7 an Ampere)."""
    name = "Kepler"
    for start, label in _FAMILIES:
        if capability >= start:
            name = label
    return name


def capability_text(capability: Capability) -> str:
    return f"{capability[0]}.{capability[1]}"


def parse_capability(text: str) -> Capability | None:
    """(7, 5) for "7.5"; None for anything else."""
    found = CAPABILITY.fullmatch(text)
    return (int(found.group(1)), int(found.group(2))) if found else None


@dataclass(frozen=True, order=True)
class Arch:
    """One entry of an architecture list: kernels (SASS) for sm_XY, and with `ptx` also the
    PTX of compute_XY that newer GPUs can JIT-compile."""

    major: int
    minor: int
    ptx: bool = False

    @property
    def capability(self) -> Capability:
        return self.major, self.minor

    @property
    def sm(self) -> str:
        return f"sm_{self.major}{self.minor}"

    @property
    def text(self) -> str:
        return capability_text(self.capability) + ("+PTX" if self.ptx else "")


def parse_arch_list(text: str) -> tuple[Arch, ...]:
    """'7.5;8.0;12.0+PTX' -> Archs, in ascending order; ValueError for anything else."""
    archs = []
    for item in text.split(";"):
        found = ARCH.fullmatch(item)
        if found is None:
            raise ValueError(f"{item!r} in {text!r} is not an architecture like 7.5 or 12.0+PTX")
        archs.append(Arch(int(found.group(1)), int(found.group(2)), bool(found.group(3))))
    if len({a.capability for a in archs}) != len(archs):
        raise ValueError(f"{text!r} lists an architecture twice")
    return tuple(sorted(archs))


@dataclass(frozen=True)
class Serving:
    """How a build runs on one GPU: its own kernels (`arch` sm_XY) or JIT from PTX."""

    arch: Arch
    jit: bool

    @property
    def words(self) -> str:
        if self.jit:
            return f"through the PTX of compute_{self.arch.major}{self.arch.minor}, JIT-compiled"
        return f"with {self.arch.sm} kernels"


def serving(archs: Iterable[Arch], capability: Capability) -> Serving | None:
    """How a build carrying `archs` runs on a GPU of `capability`; None when it cannot."""
    archs = tuple(archs)
    native = [a for a in archs if a.major == capability[0] and a.minor <= capability[1]]
    if native:
        return Serving(max(native), jit=False)
    ptx = [a for a in archs if a.ptx and a.capability <= capability]
    return Serving(max(ptx), jit=True) if ptx else None


@dataclass(frozen=True)
class ArchEntry:
    """What one backend's builds of a release carry on one platform: confirmed with `source`,
    or taken, unconfirmed, from what `inferred` says."""

    archs: tuple[Arch, ...]
    source: str | None = None
    inferred: str | None = None

    @property
    def confirmed(self) -> bool:
        return self.source is not None

    @property
    def text(self) -> str:
        """The list as TORCH_CUDA_ARCH_LIST writes it: "7.5;8.0;12.0+PTX"."""
        return ";".join(a.text for a in self.archs)

    @property
    def listing(self) -> str:
        """The list as torch.cuda.get_arch_list() names it: "sm_75 ... sm_120 + compute_120"."""
        words = [a.sm for a in self.archs]
        words += [f"compute_{a.major}{a.minor}" for a in self.archs if a.ptx]
        return ", ".join(words)

    def serving(self, capability: Capability) -> Serving | None:
        return serving(self.archs, capability)


def parse_arch_entry(key: str, value: object) -> ArchEntry:
    """A `[release.cuda-archs]` value: `{ archs = "...", source = "..." }` or
    `{ archs = "...", inferred = "..." }` (ValueError otherwise)."""
    if not isinstance(value, Mapping) or set(value) not in (
        {"archs", "source"},
        {"archs", "inferred"},
    ):
        raise ValueError(
            f"cuda-archs.{key}: expected {{ archs = ..., source = ... }} or "
            "{ archs = ..., inferred = ... }"
        )
    texts = {k: v for k, v in value.items() if k != "archs"}
    if not all(isinstance(v, str) and v for v in (*texts.values(), value["archs"])):
        raise ValueError(f"cuda-archs.{key}: archs, source and inferred are non-empty strings")
    try:
        archs = parse_arch_list(value["archs"])
    except ValueError as error:
        raise ValueError(f"cuda-archs.{key}.archs: {error}") from None
    return ArchEntry(archs, texts.get("source"), texts.get("inferred"))


def toolkit_floor(cuda_major: int) -> Capability | None:
    """The lowest architecture a CUDA `cuda_major` toolkit builds for, when known."""
    return TOOLKIT_FLOOR.get(cuda_major)


def named(archs: Iterable[Arch]) -> str:
    """Architectures by family and number: "Maxwell sm_50, Pascal sm_60, Blackwell sm_100,
    sm_120" (a family named once, before its first)."""
    words, last = [], ""
    for arch in sorted(archs):
        name = family(arch.capability)
        words.append(f"{name} {arch.sm}" if name != last else arch.sm)
        last = name
    return ", ".join(words)


@dataclass(frozen=True)
class Verdict:
    """Whether one CUDA build runs on one GPU: `runs` None when not known; `certain` when it
    rests on a confirmed list or on the toolkit's floor; `words` say why."""

    runs: bool | None
    certain: bool
    words: str


def judge(entry: ArchEntry | None, cuda_major: int, capability: Capability) -> Verdict:
    """Whether the builds `entry` describes (of CUDA `cuda_major`) run on a GPU of
    `capability`: below the toolkit's floor never; else as the list says, when known."""
    floor = TOOLKIT_FLOOR.get(cuda_major)
    if floor is not None and capability < floor:
        below = capability_text(floor)
        return Verdict(False, True, f"CUDA {cuda_major} builds carry no kernels below {below}")
    if entry is None:
        return Verdict(None, False, "the release table does not know its architectures")
    found = entry.serving(capability)
    tail = "" if entry.confirmed else " (an unconfirmed list)"
    if found is None:
        return Verdict(False, entry.confirmed, f"its builds carry {entry.listing}{tail}")
    return Verdict(True, entry.confirmed, f"runs {found.words}{tail}")


def changes(old: ArchEntry, new: ArchEntry) -> str:
    """What moving from `old`'s builds to `new`'s does to the GPUs served, in words: "gains
    Blackwell sm_100, sm_120 and PTX compute_120; loses Maxwell sm_50, Pascal sm_60"; ""
    when the lists carry the same. A lost sm_61 whose GPUs still run sm_60 kernels says so."""
    before = {a.capability: a for a in old.archs}
    after = {a.capability: a for a in new.archs}
    lost = [a for c, a in before.items() if c not in after]
    gains = _words(
        [a for c, a in after.items() if c not in before],
        [a for c, a in after.items() if a.ptx and not (c in before and before[c].ptx)],
    )
    loses = _words(
        [a for a in lost if new.serving(a.capability) is None],
        [a for c, a in before.items() if a.ptx and not (c in after and after[c].ptx)],
    )
    for arch in lost:
        if (still := new.serving(arch.capability)) is not None:
            loses.append(f"{named([arch])} (its GPUs still run, {still.words})")
    parts = [
        f"{verb} " + " and ".join(words)
        for verb, words in (("gains", gains), ("loses", loses))
        if words
    ]
    return "; ".join(parts)


def _words(kernels: list[Arch], ptx: list[Arch]) -> list[str]:
    words = [named(kernels)] if kernels else []
    return words + [f"PTX compute_{a.major}{a.minor}" for a in sorted(ptx)]
