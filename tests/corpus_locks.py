"""The real pyproject.toml + uv.lock pairs of ../shared/corpus/locks, read in place: for each, the
spec that says what the project configures, read by hand from its sources, indexes and pins, and
what verify must find, read by hand from the lock (and checked with real uv where it could be:
`uv sync --frozen --offline --dry-run --python-platform ...`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared import SHARED

from uvtorch_ci.plan.planner import Plan
from uvtorch_ci.project import ProjectTexts, plan_project
from uvtorch_ci.releases.table import load_table
from uvtorch_ci.verify.verdicts import Verdicts, verify

LOCKS = SHARED / "corpus" / "locks"


def targets(*items: str) -> str:
    """[[targets]] tables from "platform:backend", "...@extra" and "...@#group"."""
    out = []
    for item in items:
        platform, _, rest = item.partition(":")
        backend, _, selector = rest.partition("@")
        table = f'[[targets]]\nplatform = "{platform}"\nbackend = "{backend}"\n'
        if selector:
            key = "group" if selector.startswith("#") else "extra"
            table += f'{key} = "{selector.lstrip("#")}"\n'
        out.append(table)
    return "\n".join(out)


@dataclass(frozen=True)
class Pair:
    """One corpus pair: the spec of what it configures, and the failing rows verify must give,
    (target, package) -> words each of its problems contains (every other row is ok)."""

    spec: str
    failing: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    reading: str = ""  # why the failures are real


NO_AARCH64_TRITON = "no wheel for cp3{} on linux-aarch64 in uv.lock"

PAIRS: dict[str, Pair] = {
    "fishaudio__fish-speech": Pair(
        'torch = "2.8.0"\npackages = ["torchaudio"]\npython = ["3.10", "3.12"]\n'
        'selector = "extras"\n'
        + targets(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "windows-x86_64:cpu",
            "macos-arm64:mps@cpu",
            "linux-x86_64:cu126",
            "windows-x86_64:cu126",
            "linux-x86_64:cu128",
            "windows-x86_64:cu128",
            "linux-x86_64:cu129",
            "windows-x86_64:cu129",
            "linux-aarch64:cu129",
        ),
        {("linux-aarch64-cu129", "triton"): (NO_AARCH64_TRITON.format("10"),)},
        "torch 2.8.0+cu129 on aarch64 requires triton 3.4.0, which PyPI has for x86_64 only: "
        "uv sync --extra cu129 fails there (uv: 'triton (v3.4.0) only has wheels for ... "
        "x86_64')",
    ),
    "noahpro99__latent-model-recreation": Pair(
        'torch = ">=2.6.0"\npackages = ["torchvision"]\npython = ["3.12"]\n'
        + targets(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "windows-x86_64:cpu",
            "macos-arm64:mps@cpu",
            "linux-x86_64:cu124",
            "windows-x86_64:cu124",
        )
    ),
    "jianchang512__pyvideotrans": Pair(
        'torch = "2.7.1"\npackages = ["torchaudio"]\npython = ["3.10"]\n'
        + targets(
            "linux-x86_64:cu128", "linux-aarch64:cu128", "windows-x86_64:cu128", "macos-arm64:mps"
        ),
        {("linux-aarch64-cu128", "triton"): (NO_AARCH64_TRITON.format("10"),)},
        "torch 2.7.1+cu128 on aarch64 requires triton 3.3.1, x86_64 wheels only (uv agrees)",
    ),
    "nikopueringer__CorridorKey": Pair(
        'torch = "2.8.0"\npackages = ["torchvision"]\npython = ["3.12"]\n'
        + targets(
            "linux-x86_64:cu128@cuda", "windows-x86_64:cu128@cuda", "linux-x86_64:rocm6.3@rocm"
        )
    ),
    "m-bain__whisperX": Pair(
        'torch = "2.8.0"\npackages = ["torchaudio"]\npython = ["3.10", "3.13"]\n'
        + targets(
            "linux-x86_64:cu128", "windows-x86_64:cu128", "linux-aarch64:cpu", "macos-arm64:mps"
        )
    ),
    "matteospanio__torchfx": Pair(
        'torch = ">=2.6.0"\npython = ["3.12"]\n'
        + targets("linux-x86_64:cu124", "macos-arm64:mps", "windows-x86_64:cpu")
    ),
    "catyperry__farmers-eye-pytorch": Pair(
        'torch = ">=2.7.0,<2.8"\npackages = ["torchvision"]\npython = ["3.12"]\n'
        + targets(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "windows-x86_64:cpu",
            "macos-arm64:mps@cpu",
            "linux-x86_64:cu128",
            "windows-x86_64:cu128",
            "linux-aarch64:cu128",
            "linux-x86_64:rocm6.3@rocm63",
        ),
        {("linux-aarch64-cu128", "triton"): (NO_AARCH64_TRITON.format("12"),)},
        "torch 2.7.0+cu128 on aarch64 requires triton 3.3.0, x86_64 wheels only (uv agrees); "
        "its rocm64 extra is the nightly channel, which a spec's index-url cannot also name",
    ),
    "invoke-ai__InvokeAI": Pair(
        'torch = ">=2.7.0,<3.0"\npackages = ["torchvision"]\npython = ["3.11", "3.12"]\n'
        + targets(
            "linux-x86_64:cpu",
            "windows-x86_64:cpu",
            "macos-arm64:mps@cpu",
            "linux-aarch64:pypi@cpu",
            "linux-x86_64:cu128@cuda",
            "windows-x86_64:cu128@cuda",
            "linux-x86_64:rocm7.1@rocm",
            "linux-x86_64:xpu",
            "windows-x86_64:xpu",
        ),
        {
            ("macos-arm64-mps", package): (
                "no wheel for cp311 on macos-arm64 in uv.lock",
                "local tag +cpu, expected none: macOS builds are never tagged",
            )
            for package in ("torch", "torchvision")
        },
        "the cpu extra pins torch==2.7.1+cpu on every platform but linux-aarch64, macOS "
        "included, where the cpu index has no +cpu wheel",
    ),
    "CCRI-POPROX__poprox-recommender": Pair(
        'torch = "~=2.2"\npython = ["3.12"]\nselector = "groups"\n'
        'index-url = "https://pypi.lenskit.org/torch"\n'
        'file-hosts = ["https://download-r2.pytorch.org/whl"]\n'
        + targets(
            "linux-x86_64:cpu@#cpu",
            "linux-aarch64:cpu@#cpu",
            "windows-x86_64:cpu@#cpu",
            "macos-arm64:mps@#cpu",
            "linux-x86_64:cu128@#cuda",
            "windows-x86_64:cu128@#cuda",
            "linux-aarch64:cu128@#cuda",
        )
    ),
    "NVIDIA-NeMo__RL": Pair(
        'torch = "2.11.0"\npackages = ["torchvision"]\npython = ["3.13"]\n'
        + targets("linux-x86_64:cu130", "linux-aarch64:cu130")
    ),
    "NVIDIA-NeMo__Export-Deploy": Pair(
        'torch = ">=2.6.0"\npackages = ["torchvision"]\npython = ["3.12"]\n'
        + targets("linux-x86_64:cu130", "linux-aarch64:cu130", "windows-x86_64:cu130"),
        {
            (f"{platform}-cu130", package): (
                f"{package} is missing",
                f"override-dependencies replaces every requirement on it with {package}; "
                "sys_platform == 'never'",
            )
            for platform in ("linux-x86_64", "linux-aarch64", "windows-x86_64")
            for package in ("torch", "torchvision")
        },
        "override-dependencies has torch; sys_platform == 'never': uv never installs torch (the "
        "container provides it)",
    ),
    "Stanley5249__torch-test-xpu": Pair(
        'torch = "2.5.1"\npython = ["3.12"]\nindex-url = "https://download.pytorch.org/whl/test"\n'
        + targets("windows-x86_64:xpu")
    ),
    "ashengstd__CacheFlux": Pair(
        'torch = ">=2.6.0"\npackages = ["torchvision"]\npython = ["3.11", "3.12"]\n'
        'index-url = "https://mirror.nju.edu.cn/pytorch/whl"\n'
        + targets(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "windows-x86_64:cpu",
            "macos-arm64:mps@cpu",
            "linux-x86_64:cu126",
            "windows-x86_64:cu126",
            "linux-aarch64:cu126",
        )
    ),
}

# What a spec cannot say, and why: these pairs are read for staleness only.
NOT_EXPRESSIBLE = {
    "ByteDance-Seed__VeOmni": "its gpu extra installs torch from direct wheel URLs and its npu "
    "extra from the root index (download.pytorch.org/whl/), not <index-url>/<backend>",
    "pytorch__TensorRT": "it locks a nightly torch (2.14.0.dev20260625+cu130), which no release "
    "in the table is",
}
# Specs that only give staleness its environments, for the pairs above.
STALENESS_SPECS = {
    "ByteDance-Seed__VeOmni": 'torch = ">=2.10"\npython = ["3.11"]\n'
    + targets("linux-x86_64:cu130@gpu", "linux-x86_64:cpu@npu"),
    "pytorch__TensorRT": 'torch = ">=2.13"\npython = ["3.12"]\n'
    + targets("linux-x86_64:cu130", "windows-x86_64:cu130"),
}


def pair_texts(name: str) -> tuple[str, str]:
    """(pyproject.toml, uv.lock) of a corpus pair, as saved."""
    folder = LOCKS / name
    return (
        (folder / "pyproject.toml").read_bytes().decode(),
        (folder / "uv.lock").read_bytes().decode(),
    )


def plan_for(name: str, spec: str | None = None) -> Plan:
    pyproject, _ = pair_texts(name)
    text = spec or (PAIRS[name].spec if name in PAIRS else STALENESS_SPECS[name])
    texts = ProjectTexts(pyproject, "pyproject.toml", text, "uvtorch.toml")
    return plan_project(texts, env={}, table=load_table(), routing=False)


def verdicts_of(name: str, lock: str | None = None, pyproject: str | None = None) -> Verdicts:
    """verify on a corpus pair (or an edited copy of its texts)."""
    saved_pyproject, saved_lock = pair_texts(name)
    return verify(plan_for(name), lock or saved_lock, pyproject or saved_pyproject)


def failing_rows(verdicts: Verdicts) -> dict[tuple[str, str], list[str]]:
    """(target, package) -> every problem of that row, over the target's Pythons."""
    out: dict[tuple[str, str], list[str]] = {}
    for target in verdicts.targets:
        for problem in target.problems:
            out.setdefault((target.name, "-"), []).append(problem)
        for row in target.packages:
            out.setdefault((target.name, row.package), []).extend(row.problems)
    return {key: problems for key, problems in out.items() if problems}


def corpus_names() -> list[str]:
    return sorted(p.name for p in LOCKS.iterdir()) if LOCKS.is_dir() else []


def uv_interpreters() -> list[Path]:
    """Every CPython this machine has, for uv to pick the one a pair's requires-python wants:
    this interpreter, and those under pyenv or on the usual paths."""
    import sys

    found = [Path(sys.executable)]
    home = Path.home() / ".pyenv" / "versions"
    if home.is_dir():
        found += sorted(home.glob("3.*/bin/python3"))
    for folder in (Path("/usr/bin"), Path("/usr/local/bin")):
        found += sorted(folder.glob("python3.[0-9]*"))
    return [path for path in found if path.is_file() and not path.name.endswith("-config")]
