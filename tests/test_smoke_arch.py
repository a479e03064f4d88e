"""`smoke --gpu` on a CUDA build: every device's compute capability against the build's
torch.cuda.get_arch_list(), with the test mirror's fake device torch (its arch list is the
release table's, its GPU a T4 unless UVTORCH_FAKE_GPU_CAPABILITY says another), on this
Python and on the oldest ones the release table allows."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from mirror import FAKE_GPU_ENV, torch_sources
from test_smoke import OLD_PYTHONS, Result, line, run_smoke

T4_LIST = "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120 compute_120"
CU126_LIST = "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90"


def device_torch(root: Path, version: str, backend: str, platform: str = "linux-x86_64") -> Path:
    for name, text in torch_sources(version, backend, platform, backend, device=True).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def smoke(
    tmp_path: Path, backend: str, capability: str, *args: str, python: str = sys.executable
) -> Result:
    site = device_torch(tmp_path / "site", f"2.9.1+{backend}", backend)
    return run_smoke(
        python, "--expect", backend, "--gpu", *args, pythonpath=site, env={FAKE_GPU_ENV: capability}
    )


@pytest.mark.parametrize(
    ("backend", "capability", "status", "words"),
    [
        (
            "cu130",
            "7.5",
            "ok",
            f"(compute capability 7.5) runs its sm_75 kernels; arch list: {T4_LIST}",
        ),
        ("cu130", "8.6", "ok", "(compute capability 8.6) runs its sm_86 kernels"),
        ("cu130", "12.0", "ok", "(compute capability 12.0) runs its sm_120 kernels"),
        ("cu126", "8.9", "ok", "(compute capability 8.9) runs its sm_86 kernels"),  # Ada
        ("cu126", "6.1", "ok", "(compute capability 6.1) runs its sm_60 kernels"),  # Pascal
        # a device newer than every list: the PTX of compute_120, compiled by the driver
        ("cu130", "13.0", "ok", "runs the PTX of compute_120 (JIT-compiled at first use)"),
        (
            "cu130",
            "6.1",
            "FAIL",
            "uvtorch-ci fake GPU (compute capability 6.1): sm_61 is not in the build's arch list "
            f"({T4_LIST}): no kernel image for it",
        ),
        ("cu126", "12.0", "FAIL", f"sm_120 is not in the build's arch list ({CU126_LIST})"),
    ],
)
def test_the_device_is_checked_against_the_arch_list(
    tmp_path: Path, backend: str, capability: str, status: str, words: str
) -> None:
    result = smoke(tmp_path, backend, capability)
    assert "Traceback" not in result.output
    arch = line(result, "device arch")
    assert arch.startswith(status), result.output
    assert words in arch
    assert result.returncode == (0 if status == "ok" else 1)
    if status == "FAIL":
        assert "FAILED: 1 of" in result.output
        assert "device arch" in result.output.splitlines()[-1]


def test_the_json_report_carries_capability_and_arch_list(tmp_path: Path) -> None:
    result = smoke(tmp_path, "cu130", "7.5", "--json", "-")
    data = json.loads(result.stdout)
    assert data["compute_capability"] == "7.5"
    assert data["arch_list"] == T4_LIST
    assert data["ok"] is True


def test_without_gpu_or_on_rocm_there_is_no_arch_line(tmp_path: Path) -> None:
    site = device_torch(tmp_path / "site", "2.9.1+cu130", "cu130")
    result = run_smoke(sys.executable, "--expect", "cu130", pythonpath=site)
    assert "device arch" not in result.output
    rocm = device_torch(tmp_path / "rocm", "2.9.1+rocm6.4", "rocm6.4")
    result = run_smoke(sys.executable, "--expect", "rocm6.4", "--gpu", pythonpath=rocm)
    assert "device arch" not in result.output


@pytest.mark.skipif(not OLD_PYTHONS, reason="no CPython 3.8 or 3.9 here (vermin checks statically)")
@pytest.mark.parametrize("python", OLD_PYTHONS)
@pytest.mark.parametrize(
    ("capability", "code", "words"),
    [("7.5", 0, "runs its sm_75 kernels"), ("6.1", 1, "sm_61 is not in the build's arch list")],
)
def test_the_arch_check_runs_on_the_oldest_pythons(
    tmp_path: Path, python: str, capability: str, code: int, words: str
) -> None:
    result = smoke(tmp_path, "cu130", capability, python=python)
    assert "Traceback" not in result.output, result.output
    assert result.returncode == code, result.output
    assert words in line(result, "device arch")
