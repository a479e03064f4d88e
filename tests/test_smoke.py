"""Tests of the standalone smoke check: tiny fake torch builds, then a real CPU torch.

smoke.py runs as a subprocess, the way CI runs it (`python smoke.py --expect ...`), with
PYTHONPATH pointing at a fake `torch` made in a temporary directory. The real-torch tests use
$UVTORCH_TEST_TORCH_PYTHON, or a venv cached at .cache/torch-venv (made with
`pip install torch==2.13.0` on first use); they fail, never skip, when neither can be had.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from mirror_stack import STACK, xformers_sources

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "src" / "uvtorch_ci" / "smoke.py"
TORCH_VERSION = "2.13.0"
TORCH_VENV = REPO / ".cache" / "torch-venv"
# Simulates a macOS arm64 interpreter for the fake macOS build (this machine is Linux).
DARWIN_SITECUSTOMIZE = (
    "import platform, sys\nsys.platform = 'darwin'\nplatform.machine = lambda: 'arm64'\n"
)
NO_ATTR = object()
# Lists of lists with a device: the fake device's matmul is off by `error` (3.8 syntax).
FAKE_TENSOR = """\
class Tensor:
    def __init__(self, rows, device="cpu"):
        self.rows, self.device = rows, device

    def to(self, device):
        return Tensor(self.rows, device)

    def cpu(self):
        return Tensor(self.rows)

    def tolist(self):
        return [list(row) for row in self.rows]

    def __matmul__(self, other):
        off = {error} if self.device != "cpu" else 0
        cols = list(zip(*other.rows))
        return Tensor(
            [[sum(x * y for x, y in zip(row, col)) + off for col in cols] for row in self.rows],
            self.device,
        )


def tensor(rows):
    return Tensor(rows)
"""


@dataclass
class FakeBuild:
    """A fake torch build: what `torch.__version__`, `torch.version.*` and the probes answer."""

    version: str
    cuda: str | None = None
    hip: str | None = None
    xpu: str | None = None
    has_xpu_attr: bool = True
    mps_built: bool = False
    cuda_available: bool = False
    mps_available: str = "False"  # Python source: "False", "True", or "1 / 0" to prove no call
    # name -> (__version__, version.cuda): a str like the test mirror's, an int like the real
    # torchvision's CUDA_VERSION (12040), None, or NO_ATTR (real torchvision without CUDA).
    companions: dict[str, tuple[str, object]] = field(default_factory=dict)
    macos: bool = False
    broken: str | None = None  # an import error message
    # A fake device's tensors: None (no torch.tensor), "right", or "wrong" (the device adds 1
    # to every element of a matmul; the CPU computes right).
    tensors: str | None = None
    # more modules: path -> text (the test mirror's fake xformers ...)
    files: dict[str, str] = field(default_factory=dict)

    def write(self, root: Path) -> Path:
        files = {
            "torch/__init__.py": (
                f"raise ImportError({self.broken!r})\n"
                if self.broken
                else "from . import backends, cuda, version, xpu\n"
                "__version__ = version.__version__\n"
                + ("from ._tensor import tensor\n" if self.tensors else "")
            ),
            "torch/version.py": (
                f"__version__ = {self.version!r}\ncuda = {self.cuda!r}\nhip = {self.hip!r}\n"
                + (f"xpu = {self.xpu!r}\n" if self.has_xpu_attr else "")
            ),
            "torch/cuda/__init__.py": (
                f"def is_available():\n    return {self.cuda_available}\n\n"
                f"def device_count():\n    return {int(self.cuda_available)}\n\n"
                "def get_device_name(index=0):\n    return 'Fake T4'\n"
            ),
            "torch/xpu/__init__.py": "def is_available():\n    return False\n",
            "torch/backends/__init__.py": "from . import mps\n",
            "torch/backends/mps/__init__.py": (
                f"def is_built():\n    return {self.mps_built}\n\n"
                f"def is_available():\n    return {self.mps_available}\n"
            ),
        }
        if self.tensors:
            files["torch/_tensor.py"] = FAKE_TENSOR.format(error=int(self.tensors == "wrong"))
        for name, (version, cuda) in self.companions.items():
            files[f"{name}/__init__.py"] = (
                "import torch\nfrom . import version\n__version__ = version.__version__\n"
            )
            files[f"{name}/version.py"] = f"__version__ = {version!r}\n" + (
                "" if cuda is NO_ATTR else f"cuda = {cuda!r}\n"
            )
        if self.macos:
            files["sitecustomize.py"] = DARWIN_SITECUSTOMIZE
        files.update(self.files)
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return root


CU124 = FakeBuild("2.5.0+cu124", cuda="12.4")
CPU = FakeBuild("2.5.0+cpu")
ROCM62 = FakeBuild("2.5.0+rocm6.2", hip="6.2.41133-dd7f95766")
MACOS = FakeBuild("2.5.0", mps_built=True, macos=True, mps_available="1 / 0")
XPU = FakeBuild("2.7.0+xpu", xpu="20250000")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_smoke(
    python: str | Path,
    *args: str,
    pythonpath: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Result:
    """Run smoke.py as CI does; GitHub's variables are removed unless `env` sets them."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "PYTHON")) and k != "RUNNER_TEMP"
    }
    if pythonpath is not None:
        base["PYTHONPATH"] = str(pythonpath)
    base.update(env or {})
    proc = subprocess.run(
        [str(python), str(SMOKE), *args],
        capture_output=True,
        text=True,
        env=base,
        timeout=300,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def fake(tmp_path: Path, build: FakeBuild, *args: str, **kwargs: Any) -> Result:
    root = build.write(tmp_path / "site")
    return run_smoke(sys.executable, *args, pythonpath=root, **kwargs)


def line(result: Result, check: str) -> str:
    """The human-report line of one check."""
    for text in result.output.splitlines():
        parts = text.split(maxsplit=1)
        if len(parts) == 2 and parts[0] in ("ok", "FAIL", "skip") and parts[1].startswith(check):
            return text.strip()
    raise AssertionError(f"no {check!r} line in:\n{result.output}")


# --- fake builds: the build checks ---------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "expect"),
    [
        pytest.param(CU124, "cu124", id="cu124"),
        pytest.param(FakeBuild("2.5.0", cuda="12.4"), "cu124", id="pypi-untagged-cu124"),
        pytest.param(FakeBuild("2.9.1+cpu"), "cpu", id="aarch64-cpu-tagged"),
        pytest.param(FakeBuild("2.9.1"), "cpu", id="aarch64-cpu-untagged"),
        pytest.param(CPU, "cpu", id="cpu"),
        pytest.param(ROCM62, "rocm6.2", id="rocm6.2"),
        pytest.param(MACOS, "mps", id="macos-mps"),
        pytest.param(MACOS, "cpu", id="macos-cpu"),
        pytest.param(XPU, "xpu", id="xpu"),
        pytest.param(FakeBuild("2.0.0+xpu", has_xpu_attr=False), "xpu", id="xpu-old-torch"),
        pytest.param(FakeBuild("2.9.0+cu130", cuda="13.0"), "cu130", id="cu130"),
        pytest.param(FakeBuild("2.3.0+cu118", cuda="11.8"), "cu118", id="cu118"),
    ],
)
def test_matching_build_passes(tmp_path: Path, build: FakeBuild, expect: str) -> None:
    result = fake(tmp_path, build, "--expect", expect)
    assert result.returncode == 0, result.output
    assert "ok    build" in result.stdout
    assert "passed:" in result.stdout


@pytest.mark.parametrize(
    ("build", "expect", "check", "reason"),
    [
        (CPU, "cu124", "build", "expected a CUDA 12.4 build, found a CPU-only build"),
        (CPU, "cu124", "local tag", "+cpu does not match --expect cu124"),
        (CU124, "cpu", "build", "expected a CPU build, found a CUDA 12.4 build"),
        (CU124, "cpu", "local tag", "+cu124 does not match --expect cpu"),
        (CU124, "cu126", "build", "expected a CUDA 12.6 build, found a CUDA 12.4 build"),
        (CU124, "rocm6.2", "build", "expected a ROCm 6.2 build, found a CUDA 12.4 build"),
        (ROCM62, "cu124", "build", "expected a CUDA 12.4 build, found a ROCm build"),
        (ROCM62, "rocm6.1", "build", "expected a ROCm 6.1 build, found a ROCm build"),
        (ROCM62, "cpu", "build", "expected a CPU build, found a ROCm build"),
        (XPU, "cpu", "build", "expected a CPU build, found an XPU build"),
        (CPU, "xpu", "build", "expected an XPU build, found torch.version.xpu=None"),
        (CU124, "mps", "build", "needs macOS; this is linux"),
        (CPU, "mps", "local tag", "wanted no tag (macOS wheels are untagged)"),
        (FakeBuild("2.5.0"), "mps", "build", "needs macOS"),
        (FakeBuild("2.5.0", macos=True), "mps", "build", "torch.backends.mps.is_built() is False"),
        # A +cpu tag where cu124 is expected fails even if the build numbers look right.
        (FakeBuild("2.5.0+cpu", cuda="12.4"), "cu124", "local tag", "wanted +cu124 or none"),
        # The whole tag is compared: +cu121 is another backend even when the numbers say 12.4.
        (FakeBuild("2.5.0+cu121", cuda="12.4"), "cu124", "local tag", "+cu121 does not match"),
        (FakeBuild("2.5.0+cu12", cuda="12.4"), "cu124", "local tag", "+cu12 does not match"),
        (FakeBuild("2.5.0+cu1245", cuda="12.4"), "cu124", "local tag", "+cu1245 does not match"),
    ],
)
def test_mismatched_build_fails_with_reason(
    tmp_path: Path, build: FakeBuild, expect: str, check: str, reason: str
) -> None:
    result = fake(tmp_path, build, "--expect", expect)
    assert result.returncode == 1, result.output
    assert line(result, check).startswith("FAIL"), result.output
    assert reason in line(result, check)
    assert "FAILED:" in result.stdout
    assert "Traceback" not in result.output


def test_every_failed_check_is_listed(tmp_path: Path) -> None:
    result = fake(tmp_path, CPU, "--expect", "cu124", "--torch-version", "2.6.0")
    assert result.returncode == 1
    assert "FAILED: 3 of 7 checks: torch version, build, local tag" in result.stdout


def test_torch_version_is_compared_without_the_local_tag(tmp_path: Path) -> None:
    assert fake(tmp_path, CU124, "--expect", "cu124", "--torch-version", "2.5.0").returncode == 0
    assert fake(tmp_path, CU124, "--expect", "cu124", "--torch-version", "2.5").returncode == 0
    result = fake(tmp_path, CU124, "--expect", "cu124", "--torch-version", "2.5.1")
    assert result.returncode == 1
    assert "2.5.0, but --torch-version 2.5.1" in line(result, "torch version")


def test_platform_check(tmp_path: Path) -> None:
    assert fake(tmp_path, MACOS, "--expect", "mps", "--platform", "macos-arm64").returncode == 0
    result = fake(tmp_path, MACOS, "--expect", "mps", "--platform", "linux-aarch64")
    assert result.returncode == 1
    assert "expected linux-aarch64, this interpreter runs on macos-arm64" in line(
        result, "platform"
    )


def test_broken_torch_import_is_a_failure_not_a_traceback(tmp_path: Path) -> None:
    broken = FakeBuild("2.5.0+cu124", broken="libcudart.so.12: cannot open shared object file")
    result = fake(tmp_path, broken, "--expect", "cu124")
    assert result.returncode == 1
    assert "ImportError: libcudart.so.12" in line(result, "torch import")
    assert "Traceback" not in result.output


# --- companions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "expect"),
    [
        pytest.param(
            FakeBuild(
                "2.5.0+cu124",
                cuda="12.4",
                companions={
                    "torchvision": ("0.20.0+cu124", "12.4"),
                    "torchaudio": ("2.5.0+cu124", NO_ATTR),
                },
            ),
            "cu124",
            id="mirror-style-cu124",
        ),
        pytest.param(
            FakeBuild(
                "2.5.0+cu124", cuda="12.4", companions={"torchvision": ("0.20.0+cu124", 12040)}
            ),
            "cu124",
            id="real-style-cu124",
        ),
        pytest.param(
            FakeBuild("2.5.0+cpu", companions={"torchvision": ("0.20.0+cpu", NO_ATTR)}),
            "cpu",
            id="real-style-cpu",
        ),
        pytest.param(
            FakeBuild("2.5.0+cpu", companions={"torchvision": ("0.20.0+cpu", None)}),
            "cpu",
            id="mirror-style-cpu",
        ),
        pytest.param(
            FakeBuild(
                "2.5.0+rocm6.2",
                hip="6.2.41133-dd7f95766",
                companions={"torchvision": ("0.20.0+rocm6.2", NO_ATTR)},
            ),
            "rocm6.2",
            id="rocm",
        ),
        pytest.param(
            FakeBuild(
                "2.5.0", mps_built=True, macos=True, companions={"torchvision": ("0.20.0", NO_ATTR)}
            ),
            "mps",
            id="macos",
        ),
    ],
)
def test_matching_companions_pass(tmp_path: Path, build: FakeBuild, expect: str) -> None:
    result = fake(tmp_path, build, "--expect", expect)
    assert result.returncode == 0, result.output
    assert line(result, "torchvision").startswith("ok")
    assert "matches torch's build" in line(result, "torchvision")


def test_missing_companions_are_skipped(tmp_path: Path) -> None:
    result = fake(tmp_path, CU124, "--expect", "cu124")
    assert result.returncode == 0
    assert line(result, "torchvision") == "skip  torchvision    not installed"


@pytest.mark.parametrize(
    ("companion", "reason"),
    [
        (
            ("0.20.0+cu121", "12.1"),
            "built for CUDA 12.1 (torchvision.version.cuda), torch for CUDA 12.4",
        ),
        (
            ("0.20.0+cu121", 12010),
            "built for CUDA 12.1 (torchvision.version.cuda), torch for CUDA 12.4",
        ),
        (("0.20.0+cu121", 12010), "local tag +cu121 differs from torch's +cu124"),
        # torchvision from PyPI without CUDA next to a CUDA torch (an index routed for torch only)
        (("0.20.0", None), "built for no CUDA (torchvision.version.cuda), torch for CUDA 12.4"),
        (("0.20.0", NO_ATTR), "built for no CUDA (torchvision.version.cuda), torch for CUDA 12.4"),
        (("0.20.0+cpu", NO_ATTR), "local tag +cpu differs from torch's +cu124"),
    ],
)
def test_companion_built_for_another_cuda_fails(
    tmp_path: Path, companion: tuple[str, object], reason: str
) -> None:
    build = FakeBuild("2.5.0+cu124", cuda="12.4", companions={"torchvision": companion})
    result = fake(tmp_path, build, "--expect", "cu124")
    assert result.returncode == 1
    assert line(result, "torchvision").startswith("FAIL")
    assert reason in line(result, "torchvision")


def test_torchaudio_with_another_tag_fails(tmp_path: Path) -> None:
    build = FakeBuild("2.5.0+cu124", cuda="12.4", companions={"torchaudio": ("2.5.0+cpu", NO_ATTR)})
    result = fake(tmp_path, build, "--expect", "cu124")
    assert result.returncode == 1
    assert "local tag +cpu differs from torch's +cu124" in line(result, "torchaudio")


def test_cuda_companion_next_to_cpu_torch_fails(tmp_path: Path) -> None:
    build = FakeBuild("2.5.0+cpu", companions={"torchvision": ("0.20.0", 12040)})
    result = fake(tmp_path, build, "--expect", "cpu")
    assert result.returncode == 1
    assert "built for CUDA 12.4 (torchvision.version.cuda), torch for no CUDA" in line(
        result, "torchvision"
    )


def test_companion_that_cannot_import_fails(tmp_path: Path) -> None:
    root = CU124.write(tmp_path / "site")
    (root / "torchvision").mkdir()
    (root / "torchvision" / "__init__.py").write_text(
        "raise RuntimeError('Detected that PyTorch and torchvision were compiled with different "
        "CUDA major versions')\n"
    )
    result = run_smoke(sys.executable, "--expect", "cu124", pythonpath=root)
    assert result.returncode == 1
    assert "import failed: RuntimeError: Detected that PyTorch" in line(result, "torchvision")


# --- devices ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "expect"), [(CU124, "cu124"), (ROCM62, "rocm6.2")])
def test_gpu_without_a_device_fails(tmp_path: Path, build: FakeBuild, expect: str) -> None:
    result = fake(tmp_path, build, "--expect", expect, "--gpu")
    assert result.returncode == 1
    assert "--gpu: no cuda device (torch.cuda.is_available() is False)" in line(result, "device")
    assert line(result, "device compute").startswith("skip")


def test_without_gpu_cuda_availability_is_only_reported(tmp_path: Path) -> None:
    result = fake(tmp_path, CU124, "--expect", "cu124")
    assert result.returncode == 0
    assert "torch.cuda.is_available() is False" in line(result, "device")
    assert line(result, "device").startswith("skip")


def test_mps_availability_is_not_probed_without_gpu(tmp_path: Path) -> None:
    # The fake's mps.is_available() divides by zero: a call would turn into a FAIL line.
    result = fake(tmp_path, MACOS, "--expect", "mps")
    assert result.returncode == 0, result.output
    assert "not checked without --gpu" in line(result, "device")


def test_gpu_with_mps_unavailable_fails(tmp_path: Path) -> None:
    build = FakeBuild("2.5.0", mps_built=True, macos=True, mps_available="False")
    result = fake(tmp_path, build, "--expect", "mps", "--gpu")
    assert result.returncode == 1
    assert "no mps device (torch.backends.mps.is_available() is False)" in line(result, "device")


def test_gpu_with_a_device_that_cannot_compute_fails(tmp_path: Path) -> None:
    # torch.cuda says yes, but the fake has no tensors: the runtime op must catch that.
    build = FakeBuild("2.5.0+cu124", cuda="12.4", cuda_available=True)
    result = fake(tmp_path, build, "--expect", "cu124", "--gpu")
    assert result.returncode == 1
    assert line(result, "device").startswith("ok")
    assert "Fake T4" in line(result, "device")
    assert "on cuda: AttributeError" in line(result, "device compute")


@pytest.mark.parametrize(("tensors", "status"), [("right", "ok"), ("wrong", "FAIL")])
def test_gpu_compares_the_devices_matmul_with_the_exact_result(
    tmp_path: Path, tensors: str, status: str
) -> None:
    """A device that computes wrongly fails --gpu; one that computes right passes."""
    build = FakeBuild("2.5.0+cu124", cuda="12.4", cuda_available=True, tensors=tensors)
    result = fake(tmp_path, build, "--expect", "cu124", "--gpu")
    assert line(result, "device compute").startswith(status), result.output
    assert result.returncode == (0 if status == "ok" else 1)
    if status == "FAIL":
        assert "matmul on cuda gave [[59.0, 65.0], [140.0, 155.0]]" in line(
            result, "device compute"
        )


# --- the packages built against torch: xformers' build metadata, the others' tags -----------


def xformers(version: str, backend: str) -> dict[str, str]:
    """The test mirror's fake xformers `version` of the `backend` build: it answers the smoke
    check's probes as the real one (`_cpp_lib._build_metadata`, the load failure)."""
    (found,) = [s for s in STACK if s.package == "xformers" and s.version == version]
    return xformers_sources(found, backend, "linux-x86_64")


CU128_291 = FakeBuild("2.9.1+cu128", cuda="12.8")


@pytest.mark.parametrize(
    ("build", "expect", "detail"),
    [
        (
            replace(CU128_291, files=xformers("0.0.33.post2", "cu128")),
            "cu128",
            "0.0.33.post2 built for torch 2.9.1+cu128 (CUDA 12.8) matches torch's build",
        ),
        (  # the stable ABI: a build for 2.10 serves a later torch of the same CUDA
            FakeBuild("2.13.0+cu130", cuda="13.0", files=xformers("0.0.35", "cu130")),
            "cu130",
            "0.0.35 built for torch 2.10.0+cu130 (CUDA 13.0) matches torch's build",
        ),
        (  # PyPI's build on the cu128 index: the same file, untagged
            FakeBuild("2.9.1", cuda="12.8", files=xformers("0.0.33.post2", "cu128")),
            "cu128",
            "0.0.33.post2 built for torch 2.9.1+cu128 (CUDA 12.8) matches torch's build",
        ),
    ],
)
def test_xformers_built_for_torchs_cuda_passes(
    tmp_path: Path, build: FakeBuild, expect: str, detail: str
) -> None:
    result = fake(tmp_path, build, "--expect", expect)
    assert result.returncode == 0, result.output
    assert line(result, "xformers") == f"ok    xformers       {detail}"


@pytest.mark.parametrize(
    ("build", "reasons"),
    [
        (  # the cu126 build in a cu128 torch: nvcc 12.8 compiled both, only the torch differs
            replace(CU128_291, files=xformers("0.0.33.post2", "cu126")),
            ["torch is built for CUDA 12.8, xformers for CUDA 12.6"],
        ),
        (  # a build for another torch release, before the stable ABI: it does not load
            FakeBuild("2.9.0+cu128", cuda="12.8", files=xformers("0.0.33.post2", "cu128")),
            [
                "its C++/CUDA extensions do not load: xFormers can't load C++/CUDA extensions",
                "a build for torch 2.9.1 loads only into that torch, not 2.9.0",
            ],
        ),
        (  # PyPI's CUDA build next to a CPU torch
            FakeBuild("2.9.1+cpu", files=xformers("0.0.33.post2", "cu128")),
            ["torch has no CUDA, xformers is built for CUDA 12.8"],
        ),
        (  # another CUDA major: its runtime library is missing
            FakeBuild("2.13.0+cu126", cuda="12.6", files=xformers("0.0.35", "cu130")),
            ["do not load", "torch is built for CUDA 12.6, xformers for CUDA 13.0"],
        ),
    ],
)
def test_xformers_built_for_another_torch_or_cuda_fails(
    tmp_path: Path, build: FakeBuild, reasons: list[str]
) -> None:
    expect = f"cu{build.cuda.replace('.', '')}" if build.cuda else "cpu"
    result = fake(tmp_path, build, "--expect", expect)
    assert result.returncode == 1, result.output
    found = line(result, "xformers")
    assert found.startswith("FAIL  xformers")
    for reason in reasons:
        assert reason in found


def test_xformers_without_build_metadata_fails(tmp_path: Path) -> None:
    files = {"xformers/__init__.py": "import torch\n__version__ = '0.0.33+5d4b92a5.d20251029'\n"}
    result = fake(tmp_path, replace(CU128_291, files=files), "--expect", "cu128")
    assert result.returncode == 1
    assert "no build metadata (xformers/cpp_lib.json): not a release build" in line(
        result, "xformers"
    )


def test_the_other_packages_are_judged_by_their_tags_and_only_when_installed(
    tmp_path: Path,
) -> None:
    base = FakeBuild("2.9.1+cu126", cuda="12.6")
    result = fake(tmp_path / "none", base, "--expect", "cu126")
    assert result.returncode == 0
    assert not any(name in result.output for name in ("xformers", "torchao", "torchcodec"))
    installed = {
        "torchao/__init__.py": "import torch\n__version__ = '0.15.0+cu126'\n",
        "torchcodec/__init__.py": "import torch\n__version__ = '0.9.1'\n",
        "fbgemm_gpu/__init__.py": "import torch\n__version__ = '1.4.2+cu128'\n",
    }
    result = fake(tmp_path / "some", replace(base, files=installed), "--expect", "cu126")
    assert result.returncode == 1
    assert line(result, "torchao") == "ok    torchao        0.15.0+cu126 matches torch's build"
    assert line(result, "torchcodec").startswith("ok    torchcodec     0.9.1")
    assert "local tag +cu128 differs from torch's +cu126" in line(result, "fbgemm-gpu")


# --- the oldest Pythons the release table allows --------------------------------------------


def old_pythons() -> list[str]:
    """The oldest CPythons to run smoke.py with: $UVTORCH_TEST_OLD_PYTHONS (paths separated by
    os.pathsep), else pyenv's 3.8 and 3.9 where this machine has them."""
    given = os.environ.get("UVTORCH_TEST_OLD_PYTHONS")
    if given is not None:
        return [p for p in given.split(os.pathsep) if p]
    pyenv = Path.home() / ".pyenv" / "versions"
    found = []
    for minor in ("3.8", "3.9"):
        found += sorted(str(p) for p in pyenv.glob(f"{minor}.*/bin/python{minor}"))[-1:]
    return found


OLD_PYTHONS = old_pythons()


@pytest.mark.skipif(not OLD_PYTHONS, reason="no CPython 3.8 or 3.9 here (vermin checks statically)")
@pytest.mark.parametrize("python", OLD_PYTHONS)
@pytest.mark.parametrize(
    ("build", "args", "code", "needle"),
    [
        (CU124, ("--expect", "cu124", "--torch-version", "2.5"), 0, "passed:"),
        (FakeBuild("2.5.0+cu121", cuda="12.4"), ("--expect", "cu124"), 1, "+cu121 does not match"),
        (
            FakeBuild("2.5.0+cu124", cuda="12.4", cuda_available=True, tensors="right"),
            ("--expect", "cu124", "--gpu", "--json", "-"),
            0,
            '"device compute"',
        ),
        (
            FakeBuild("2.5.0+cu124", cuda="12.4", cuda_available=True, tensors="wrong"),
            ("--expect", "cu124", "--gpu"),
            1,
            "matmul on cuda gave",
        ),
        (CPU, ("--expect", "cu124"), 1, "expected a CUDA 12.4 build"),
        (
            FakeBuild("2.9.1+cu128", cuda="12.8", files=xformers("0.0.33.post2", "cu126")),
            ("--expect", "cu128"),
            1,
            "torch is built for CUDA 12.8, xformers for CUDA 12.6",
        ),
    ],
)
def test_smoke_runs_on_the_oldest_pythons(
    tmp_path: Path, python: str, build: FakeBuild, args: tuple[str, ...], code: int, needle: str
) -> None:
    """smoke.py runs on every Python the release table allows (3.8 and up), --gpu included."""
    result = run_smoke(python, *args, pythonpath=build.write(tmp_path / "site"))
    assert "Traceback" not in result.output, result.output
    assert result.returncode == code, result.output
    assert needle in result.output


def test_smoke_needs_no_newer_python_than_3_8() -> None:
    """vermin (PyPI) reads smoke.py statically: nothing in it needs more than Python 3.8."""
    vermin = Path(sys.executable).with_name("vermin")  # its console script: no `python -m`
    result = subprocess.run(
        [str(vermin), "--no-tips", "--target=3.8-", "--violations", str(SMOKE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Minimum required versions:" in result.stdout


# --- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize("expect", ["cu12", "cuda124", "rocm", "rocm6", "gpu", "CPU", ""])
def test_unknown_backend_is_exit_2(tmp_path: Path, expect: str) -> None:
    result = fake(tmp_path, CU124, "--expect", expect)
    assert result.returncode == 2
    assert "unknown backend" in result.stderr


def test_missing_expect_is_exit_2(tmp_path: Path) -> None:
    result = fake(tmp_path, CU124)
    assert result.returncode == 2
    assert "--expect" in result.stderr


def load_smoke() -> ModuleType:
    """smoke.py by path: it is a standalone file first, a module of the package second."""
    spec = importlib.util.spec_from_file_location("uvtorch_smoke_under_test", SMOKE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_main_returns_exit_codes_instead_of_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    smoke = load_smoke()
    assert smoke.main(["--expect", "cuda"]) == 2
    assert smoke.main(["--help"]) == 0
    assert "unknown backend 'cuda'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "kind", "version"),
    [
        ("cu118", "cuda", (11, 8)),
        ("cu124", "cuda", (12, 4)),
        ("cu130", "cuda", (13, 0)),
        ("rocm6.2", "rocm", (6, 2)),
        ("rocm6.2.4", "rocm", (6, 2, 4)),
        ("cpu", "cpu", ()),
        ("mps", "mps", ()),
        ("xpu", "xpu", ()),
    ],
)
def test_parse_backend(text: str, kind: str, version: tuple[int, ...]) -> None:
    backend = load_smoke().parse_backend(text)
    assert (backend.kind, backend.version) == (kind, version)


# --- reports -------------------------------------------------------------------------------


def test_json_report_to_file_and_stdout(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = fake(tmp_path, CPU, "--expect", "cu124", "--json", str(report))
    assert result.returncode == 1
    data = json.loads(report.read_text())
    assert data["ok"] is False
    assert data["expected"] == "cu124"
    assert data["torch_version"] == "2.5.0+cpu"
    assert data["local_tag"] == "cpu"
    assert data["cuda"] is None
    assert data["hip"] is None
    assert data["device"] == "cpu"
    assert {"name": "build", "status": "fail"}.items() <= data["checks"][2].items()
    assert data["failed"] == ["build", "local tag"]

    piped = fake(tmp_path, ROCM62, "--expect", "rocm6.2", "--json", "-")
    assert piped.returncode == 0
    data = json.loads(piped.stdout)  # the human report moved to stderr
    assert data["ok"] is True
    assert data["hip"] == "6.2.41133-dd7f95766"
    assert "ok    build" in piped.stderr


def test_github_outputs_summary_and_annotations(tmp_path: Path) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    output.write_text("earlier=kept\n")
    env = {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    result = fake(tmp_path, CU124, "--expect", "cu124", env={**env, "GITHUB_ACTIONS": "true"})
    assert result.returncode == 0
    assert output.read_text().splitlines() == [
        "earlier=kept",
        "torch-version=2.5.0+cu124",
        "cuda-version=12.4",
        "device=cpu",
    ]
    text = summary.read_text()
    assert "### torch smoke check: cu124 passed" in text
    assert "| build | ✅ ok | CUDA 12.4 build (torch.version.cuda='12.4') |" in text
    assert "::error" not in result.stdout

    failed = fake(tmp_path, CPU, "--expect", "cu124", env={**env, "GITHUB_ACTIONS": "true"})
    assert failed.returncode == 1
    assert output.read_text().splitlines()[-3:] == [
        "torch-version=2.5.0+cpu",
        "cuda-version=",
        "device=cpu",
    ]
    assert "| build | ❌ FAIL | expected a CUDA 12.4 build" in summary.read_text()
    annotations = [x for x in failed.stdout.splitlines() if x.startswith("::error")]
    assert annotations == [
        "::error title=torch smoke check::build: expected a CUDA 12.4 build, found a CPU-only "
        "build (torch.version.cuda and torch.version.hip are None)",
        "::error title=torch smoke check::local tag: +cpu does not match --expect cu124: "
        "wanted +cu124 or none",
    ]


def test_github_outputs_are_injection_safe(tmp_path: Path) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    hostile = FakeBuild("2.5.0+cu124\ndevice=evil\n<b>|x", cuda="12.4\nx=1")
    env = {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    fake(tmp_path, hostile, "--expect", "cu124", env=env)
    assert output.read_text().splitlines() == ["torch-version=", "cuda-version=", "device=cpu"]
    table = [x for x in summary.read_text().splitlines() if x.startswith("| torch import")]
    assert len(table) == 1
    assert "<b>" not in table[0]
    assert "&lt;b&gt;\\|x" in table[0]


# --- standalone and cheap ------------------------------------------------------------------


def test_smoke_imports_only_the_standard_library() -> None:
    allowed = {"__future__", "argparse", "collections", "functools", "importlib", "json"}
    allowed |= {"os", "platform", "re", "shutil", "subprocess", "sys", "typing"}  # --python
    tree = ast.parse(SMOKE.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "smoke.py must not import from its package"
            imported.add((node.module or "").split(".")[0])
    assert imported <= allowed, imported - allowed


def test_smoke_does_not_import_json_unless_asked(tmp_path: Path) -> None:
    root = CPU.write(tmp_path / "site")
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['smoke.py', '--expect', 'cpu']\n"
        "try:\n"
        f"    runpy.run_path({str(SMOKE)!r}, run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = ('json', 'torchvision', 'torchaudio')\n"
        "print('MODULES', sorted(m for m in names if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert "MODULES []" in proc.stdout


# --- a real CPU torch ------------------------------------------------------------------------


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _torch_version(python: Path) -> str | None:
    if not python.exists():
        return None
    proc = subprocess.run(
        [str(python), "-c", "import torch; print(torch.__version__)"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def _make_torch_venv(venv: Path) -> None:
    """Build the venv beside its final place, then move it in: no half-made venv is ever reused."""
    staging = venv.with_name(f"{venv.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    steps = [
        [sys.executable, "-m", "venv", str(staging)],
        [str(_venv_python(staging)), "-m", "pip", "install", "--disable-pip-version-check",
         "--quiet", f"torch=={TORCH_VERSION}"],
    ]  # fmt: skip
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True, timeout=1800, check=False)
        if proc.returncode != 0:
            pytest.fail(
                f"cannot make the torch venv ({' '.join(step)}):\n{proc.stdout[-3000:]}"
                f"{proc.stderr[-3000:]}\nset UVTORCH_TEST_TORCH_PYTHON to a python with torch"
            )
    shutil.rmtree(venv, ignore_errors=True)
    os.replace(staging, venv)


@pytest.fixture(scope="session")
def torch_python() -> Iterator[Path]:
    """A python with a real CPU torch: $UVTORCH_TEST_TORCH_PYTHON or the cached venv."""
    configured = os.environ.get("UVTORCH_TEST_TORCH_PYTHON")
    if configured:
        if _torch_version(Path(configured)) is None:
            pytest.fail(f"UVTORCH_TEST_TORCH_PYTHON={configured} cannot import torch")
        yield Path(configured)
        return
    python = _venv_python(TORCH_VENV)
    if _torch_version(python) is None:
        TORCH_VENV.parent.mkdir(parents=True, exist_ok=True)
        _make_torch_venv(TORCH_VENV)
        if _torch_version(python) is None:
            pytest.fail(f"the venv at {TORCH_VENV} was made but cannot import torch")
    yield python


def test_real_cpu_torch_passes_expect_cpu(torch_python: Path) -> None:
    result = run_smoke(torch_python, "--expect", "cpu")
    assert result.returncode == 0, result.output
    assert line(result, "build").startswith("ok")
    assert "CPU build (no CUDA, no HIP)" in line(result, "build")


def test_real_cpu_torch_fails_expect_cu124_and_says_why(torch_python: Path) -> None:
    result = run_smoke(torch_python, "--expect", "cu124", "--gpu")
    assert result.returncode == 1
    assert "expected a CUDA 12.4 build, found a CPU-only build" in line(result, "build")
    assert "does not match --expect cu124" in line(result, "local tag")
    assert "--gpu: no cuda device" in line(result, "device")
    assert "FAILED: 3 of 8 checks: build, local tag, device" in result.stdout


def test_real_cpu_torch_gpu_runs_on_the_cpu_and_reports_json(torch_python: Path) -> None:
    # --gpu with --expect cpu: the device is the CPU, and the tensor op really runs on it.
    result = run_smoke(torch_python, "--expect", "cpu", "--gpu", "--json", "-")
    assert result.returncode == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["local_tag"] in ("cpu", None)
    assert data["cuda"] is None
    assert data["hip"] is None
    assert data["device"] == "cpu"
    checks = {check["name"]: check for check in data["checks"]}
    assert checks["device compute"]["status"] == "ok"
    assert checks["device compute"]["detail"] == "2x3 @ 3x2 matmul on cpu gives the exact result"
