"""sync/run's choice (detect/target.py): the spec's target for this machine, from readings."""

from __future__ import annotations

from typing import Any

import pytest

from uvtorch_ci.detect.machine import ROCM_ENV, Readings
from uvtorch_ci.detect.target import TargetError, choose_target, describe
from uvtorch_ci.plan.planner import Plan, plan_from_data
from uvtorch_ci.releases.table import load_table


def plan(torch: str, *targets: str) -> Plan:
    """A plan for `targets` given as "platform:backend"."""
    data: dict[str, Any] = {
        "torch": torch,
        "python": ["3.12"],
        "targets": [{"platform": t.split(":")[0], "backend": t.split(":")[1]} for t in targets],
    }
    return plan_from_data(
        data, file="pyproject.toml", prefix="tool.uvtorch", env={}, table=load_table()
    )


def machine(
    platform: str = "linux-x86_64", driver: str | None = None, rocm: str | None = None
) -> Readings:
    return Readings(
        platform=platform,
        platform_source="test",
        driver_version=driver,
        driver_source="UVTORCH_CUDA_DRIVER_VERSION" if driver else None,
        rocm_version=rocm,
        rocm_source=ROCM_ENV if rocm else None,
    )


EXTRAS = ("linux-x86_64:cpu", "linux-x86_64:cu126", "linux-x86_64:cu128", "linux-x86_64:cu130")


@pytest.mark.parametrize(
    ("driver", "targets", "backend"),
    [
        ("590.44.01", EXTRAS, "cu130"),
        ("580", EXTRAS, "cu130"),
        ("570.86.10", EXTRAS, "cu128"),
        ("525.60.13", EXTRAS, "cu128"),
        ("570.86.10", ("linux-x86_64:cpu", "linux-x86_64:cu126", "linux-x86_64:cu130"), "cu126"),
        ("525.60.12", EXTRAS, "cpu"),
        (None, EXTRAS, "cpu"),
    ],
)
def test_newest_cuda_target_the_driver_runs(
    driver: str | None, targets: tuple[str, ...], backend: str
) -> None:
    choice = choose_target(plan("2.9.1", *targets), machine(driver=driver), load_table())
    assert choice.build.target.backend == backend
    assert choice.uv_args == ("--extra", backend)
    assert choice.fallback == (backend == "cpu")


def test_cuda_choice_says_driver_and_minimum_in_one_line() -> None:
    choice = choose_target(plan("2.9.1", *EXTRAS), machine(driver="570.86.10"), load_table())
    line = describe(choice)
    assert "\n" not in line
    assert "driver 570.86.10 >= 525.60.13" in line
    assert "UVTORCH_CUDA_DRIVER_VERSION" in line
    assert "cu128 is the newest of the spec's CUDA targets it runs (cu128, cu126)" in line
    assert "--extra cu128" in line
    assert "torch 2.9.1+cu128" in line


def test_cuda13_choice_carries_the_compute_capability_note() -> None:
    choice = choose_target(plan("2.9.1", *EXTRAS), machine(driver="590"), load_table())
    assert any("compute capability 7.5" in note for note in choice.notes)


def test_too_old_driver_falls_back_to_cpu_and_says_why() -> None:
    choice = choose_target(plan("2.9.1", *EXTRAS), machine(driver="470.256.02"), load_table())
    assert choice.build.target.backend == "cpu"
    assert choice.fallback
    line = describe(choice)
    assert "falling back to cpu" in line
    assert "cu126: driver 470.256.02 < 525.60.13" in line
    assert "cu130: driver 470.256.02 < 580" in line


def test_no_cpu_target_to_fall_back_to_installs_the_gpu_build_and_says_so() -> None:
    seed = plan("2.5.0", "linux-x86_64:cu124", "macos-arm64:mps", "linux-aarch64:cpu")
    choice = choose_target(seed, machine(), load_table())
    assert choice.build.target.backend == "cu124"
    assert choice.fallback
    assert choice.uv_args == ()  # markers mode: no extra
    assert "no cpu target" in choice.reason
    assert "needs an NVIDIA driver >= 525.60.13" in choice.reason


def test_markers_mode_selects_nothing() -> None:
    seed = plan("2.5.0", "linux-x86_64:cu124", "macos-arm64:mps", "linux-aarch64:cpu")
    choice = choose_target(seed, machine(driver="550.54.15"), load_table())
    assert choice.build.target.backend == "cu124"
    assert not choice.fallback
    assert choice.uv_args == ()
    assert "no extra" in describe(choice)
    aarch64 = choose_target(seed, machine("linux-aarch64"), load_table())
    assert aarch64.build.target.backend == "cpu"
    assert not aarch64.fallback
    assert "only build" in aarch64.reason


def test_macos_gets_the_mps_target() -> None:
    choice = choose_target(
        plan("2.9.1", *EXTRAS, "macos-arm64:mps"), machine("macos-arm64", "570"), load_table()
    )
    assert choice.build.target.backend == "mps"
    assert choice.uv_args == ("--extra", "cpu")  # MPS ships in the cpu index's macOS build


def test_rocm_target_for_installed_rocm() -> None:
    targets = ("linux-x86_64:cpu", "linux-x86_64:rocm6.1", "linux-x86_64:rocm6.2")
    choice = choose_target(plan("2.5.0", *targets), machine(rocm="6.2.4"), load_table())
    assert choice.build.target.backend == "rocm6.2"
    assert choice.uv_args == ("--extra", "rocm6-2")
    older = choose_target(plan("2.5.0", *targets), machine(rocm="6.1"), load_table())
    assert older.build.target.backend == "rocm6.1"


def test_backend_overrides_the_choice() -> None:
    choice = choose_target(
        plan("2.9.1", *EXTRAS), machine(driver="590"), load_table(), backend="cu126"
    )
    assert choice.build.target.backend == "cu126"
    assert "--backend" in choice.reason


def test_unknown_backend_lists_the_targets_for_this_platform() -> None:
    with pytest.raises(TargetError) as error:
        choose_target(plan("2.9.1", *EXTRAS), machine(), load_table(), backend="cu124")
    text = str(error.value)
    assert error.value.exit_code == 2
    assert "no cu124 target for linux-x86_64" in text
    assert "linux-x86_64-cu126 (cu126)" in text
    assert "linux-x86_64-cpu (cpu)" in text


def test_no_target_for_this_platform_lists_the_targets() -> None:
    with pytest.raises(TargetError) as error:
        choose_target(plan("2.9.1", *EXTRAS), machine("windows-x86_64", "570"), load_table())
    text = str(error.value)
    assert error.value.exit_code == 2
    assert "no target for this machine's platform, windows-x86_64" in text
    assert "linux-x86_64-cu128 (linux-x86_64, cu128)" in text
    assert text.startswith("pyproject.toml: tool.uvtorch.targets:")


@pytest.mark.parametrize(
    ("targets", "uv_args"),
    [
        ((*EXTRAS, "macos-arm64:mps"), ("--extra", "cpu")),  # extras mode: the cpu index's extra
        (("linux-x86_64:cu126", "macos-arm64:mps"), ()),  # markers mode: the markers select it
    ],
)
def test_backend_mps_asks_for_the_macos_target_and_its_cpu_index(
    targets: tuple[str, ...], uv_args: tuple[str, ...]
) -> None:
    """`sync --backend mps`: MPS ships inside the cpu index's macOS build, so the target is
    the spec's mps one and uv gets what selects the cpu index."""
    choice = choose_target(
        plan("2.9.1", *targets), machine("macos-arm64"), load_table(), backend="mps"
    )
    assert choice.build.target.backend == "mps"
    assert choice.build.index.backend == "cpu"
    assert choice.uv_args == uv_args
    assert "asked for with --backend" in describe(choice)
