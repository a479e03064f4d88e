"""The GPU decides too: each NVIDIA GPU's compute capability (nvidia-smi, or
UVTORCH_CUDA_COMPUTE_CAP) against the architectures each CUDA build carries, in `detect` and
in `sync`/`run`'s choice, for a Pascal (6.1), a T4 (7.5), an Ampere (8.6), a Blackwell (12.0)
and a Jetson Thor (11.0)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from projects import uvtorch, write_project

from uvtorch_ci.detect.choice import choose_backend, detect
from uvtorch_ci.detect.machine import (
    COMPUTE_CAP_ENV,
    DRIVER_ENV,
    PLATFORM_ENV,
    DetectError,
    Readings,
    read_machine,
)
from uvtorch_ci.detect.nvidia import CudaGpu, parse_smi_gpus, run_nvidia_smi_gpus
from uvtorch_ci.detect.report import detection_json, format_report
from uvtorch_ci.detect.target import choose_target, describe
from uvtorch_ci.plan.planner import plan_from_data
from uvtorch_ci.releases.table import load_table

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="fake nvidia-smi is a sh script")

PASCAL = CudaGpu(0, "NVIDIA GeForce GTX 1080", (6, 1))
T4 = CudaGpu(0, "Tesla T4", (7, 5))
AMPERE = CudaGpu(0, "NVIDIA GeForce RTX 3090", (8, 6))
BLACKWELL = CudaGpu(0, "NVIDIA GeForce RTX 5090", (12, 0))
THOR = CudaGpu(0, "NVIDIA Thor", (11, 0))


def machine(platform: str, driver: str | None, *gpus: CudaGpu) -> Readings:
    return Readings(
        platform=platform,
        platform_source="test",
        driver_version=driver,
        driver_source="nvidia-smi" if driver else None,
        cuda_gpus=gpus,
        cuda_gpus_source="nvidia-smi" if gpus else None,
    )


def fake_smi(directory: Path, driver: str, *gpus: str) -> str:
    """A PATH folder whose nvidia-smi answers the driver query and the name,compute_cap one
    as the real one does (one line per GPU)."""
    script = directory / "nvidia-smi"
    drivers = "".join(f'    echo "{driver}"\n' for _ in gpus)
    listed = "".join(f'    echo "{gpu}"\n' for gpu in gpus)
    script.write_text(
        '#!/bin/sh\ncase "$1" in\n'
        f"  --query-gpu=driver_version)\n{drivers}    ;;\n"
        f"  --query-gpu=name,compute_cap)\n{listed}    ;;\n"
        "  *) exit 6 ;;\nesac\n"
    )
    script.chmod(0o755)
    return str(directory)


# --- reading the GPUs ---------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize(
    ("platform", "line", "gpu"),
    [
        ("linux-x86_64", "NVIDIA GeForce GTX 1080, 6.1", PASCAL),
        ("linux-x86_64", "Tesla T4, 7.5", T4),
        ("linux-x86_64", "NVIDIA GeForce RTX 3090, 8.6", AMPERE),
        ("linux-x86_64", "NVIDIA GeForce RTX 5090, 12.0", BLACKWELL),
        ("linux-aarch64", "NVIDIA Thor, 11.0", THOR),
    ],
)
def test_nvidia_smi_gives_each_gpus_compute_capability(
    tmp_path: Path, platform: str, line: str, gpu: CudaGpu
) -> None:
    path = fake_smi(tmp_path, "580.65.06", line)
    readings = read_machine({PLATFORM_ENV: platform, "PATH": path}, tmp_path)
    assert readings.driver_version == "580.65.06"
    assert readings.cuda_gpus == (gpu,)
    assert readings.cuda_gpus_source == "nvidia-smi"


@posix_only
def test_several_gpus_are_all_read(tmp_path: Path) -> None:
    path = fake_smi(tmp_path, "580.65.06", "Tesla T4, 7.5", "Tesla P4, 6.1")
    readings = read_machine({PLATFORM_ENV: "linux-x86_64", "PATH": path}, tmp_path)
    assert [g.label for g in readings.cuda_gpus] == ["Tesla T4 (7.5)", "Tesla P4 (6.1)"]
    assert [g.index for g in readings.cuda_gpus] == [0, 1]


@pytest.mark.parametrize(
    "lines",
    [
        ["Tesla K80, [N/A]"],  # a driver that cannot tell
        ["Tesla T4, 7.5", "Tesla T4"],  # one line without a capability
        ["7.5"],  # no name
        ["Tesla T4, 75"],
        ["Tesla T4, " + "7" * 5000 + ".5"],
    ],
)
def test_output_that_is_not_name_and_capability_is_no_reading(lines: list[str]) -> None:
    assert parse_smi_gpus(lines) is None


def test_a_long_name_is_cut_short() -> None:
    gpus = parse_smi_gpus(["N" * 5000 + ", 8.6"])
    assert gpus is not None
    (gpu,) = gpus
    assert gpu.name == "N" * 64
    assert gpu.capability == (8, 6)


@posix_only
@pytest.mark.parametrize(
    "body",
    [
        # a driver older than R510 knows no compute_cap field
        'echo "Field \\"compute_cap\\" is not a valid field to query." >&2\nexit 2\n',
        "exec sleep 5\n",
        "yes 'Tesla T4, 7.5'\n",
    ],
)
def test_nvidia_smi_failing_hanging_or_endless_gives_no_gpus(tmp_path: Path, body: str) -> None:
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    assert run_nvidia_smi_gpus(path=str(tmp_path), root=tmp_path, timeout=0.5) is None


def test_gpus_are_read_only_with_a_driver_read_from_the_machine(tmp_path: Path) -> None:
    calls: list[str] = []

    def smi_gpus() -> tuple[CudaGpu, ...]:
        calls.append("gpus")
        return (T4,)

    env = {PLATFORM_ENV: "linux-x86_64", "PATH": ""}
    read_machine({**env, DRIVER_ENV: "580"}, tmp_path, smi_gpus=smi_gpus)
    read_machine(env, tmp_path, smi=lambda: None, smi_gpus=smi_gpus)  # no driver at all
    assert calls == []
    readings = read_machine(env, tmp_path, smi=lambda: "580.65.06", smi_gpus=smi_gpus)
    assert readings.cuda_gpus == (T4,)
    assert calls == ["gpus"]


def test_the_override_stands_for_the_gpus(tmp_path: Path) -> None:
    env = {PLATFORM_ENV: "linux-x86_64", DRIVER_ENV: "580", COMPUTE_CAP_ENV: " 8.6, 12.0 "}
    readings = read_machine(env, tmp_path, smi_gpus=lambda: (T4,))
    assert [g.label for g in readings.cuda_gpus] == ["GPU 0 (8.6)", "GPU 1 (12.0)"]
    assert readings.cuda_gpus_source == COMPUTE_CAP_ENV


@pytest.mark.parametrize(
    "value",
    ["7", "sm_75", "7.5.1", "75", "7,5", "none", "8.6;12.0", "0.5", "7.5," * 65, "9" * 5000],
)
def test_a_malformed_override_is_bad_input(tmp_path: Path, value: str) -> None:
    env = {PLATFORM_ENV: "linux-x86_64", COMPUTE_CAP_ENV: value}
    with pytest.raises(DetectError, match="is not a GPU compute capability") as raised:
        read_machine(env, tmp_path, smi=lambda: None)
    assert raised.value.where == COMPUTE_CAP_ENV
    assert raised.value.exit_code == 2
    assert "8.6,12.0" in raised.value.hint
    assert len(str(raised.value)) < 400


# --- detect: the newest CUDA build whose driver minimum AND architectures the machine meets ------


@pytest.mark.parametrize(
    ("platform", "gpu", "torch", "backend", "why"),
    [
        ("linux-x86_64", PASCAL, "2.9.1", "cu126", "runs with sm_60 kernels"),
        ("linux-x86_64", T4, "2.9.1", "cu130", "runs with sm_75 kernels"),
        ("linux-x86_64", AMPERE, "2.9.1", "cu130", "runs with sm_86 kernels"),
        ("linux-x86_64", BLACKWELL, "2.9.1", "cu130", "runs with sm_120 kernels"),
        ("linux-aarch64", THOR, "2.9.1", "cu130", "runs with sm_110 kernels"),
        ("linux-x86_64", BLACKWELL, "2.6.0", "cpu", ""),  # cu118-cu126: none has sm_120
        ("linux-x86_64", PASCAL, "2.15.0", "cu126", "runs with sm_60 kernels"),
        ("linux-x86_64", AMPERE, "2.0.0", "cu118", "runs with sm_86 kernels"),
    ],
)
def test_the_chosen_cuda_build_fits_the_gpu(
    platform: str, gpu: CudaGpu, torch: str, backend: str, why: str
) -> None:
    release = load_table().get(torch)
    assert release is not None
    detection = choose_backend(release, machine(platform, "580.65.06", gpu))
    assert detection.backend == backend
    if why:
        (chosen,) = [c for c in detection.candidates if c.backend == backend]
        assert why in chosen.why


def test_every_newer_build_ruled_out_names_the_gpu_and_the_list() -> None:
    release = load_table().get("2.9.1")
    assert release is not None
    detection = choose_backend(release, machine("linux-x86_64", "580.65.06", PASCAL))
    why = {c.backend: c.why for c in detection.candidates}
    assert why["cu130"] == (
        "driver 580.65.06 >= 580, but no kernels for NVIDIA GeForce GTX 1080 (6.1): "
        "CUDA 13 builds carry no kernels below 7.5"
    )
    assert "no kernels for NVIDIA GeForce GTX 1080 (6.1): its builds carry sm_70" in why["cu128"]
    assert "that it runs, and its kernels fit NVIDIA GeForce GTX 1080 (6.1) (from nvidia-smi)" in (
        detection.reason
    )


def test_no_cuda_build_for_the_gpu_says_which_gpu() -> None:
    release = load_table().get("2.6.0")
    assert release is not None
    detection = choose_backend(release, machine("linux-x86_64", "580.65.06", BLACKWELL))
    assert detection.backend == "cpu"
    assert (
        "NVIDIA driver 580.65.06 runs cu126, cu124, cu118, but no CUDA build torch 2.6.0 "
        "publishes for linux-x86_64 that it runs has kernels for NVIDIA GeForce RTX 5090 (12.0)"
    ) in detection.reason


def test_all_gpus_must_be_served() -> None:
    release = load_table().get("2.9.1")
    assert release is not None
    detection = choose_backend(release, machine("linux-x86_64", "580.65.06", T4, PASCAL))
    assert detection.backend == "cu126"
    why = {c.backend: c.why for c in detection.candidates}
    assert "no kernels for NVIDIA GeForce GTX 1080 (6.1)" in why["cu130"]
    assert "Tesla T4" not in why["cu130"].split("but")[1]


def test_ptx_lets_a_newer_gpu_jit() -> None:
    """A GPU newer than every list (a made-up 13.0) runs the PTX of compute_120 only."""
    release = load_table().get("2.9.1")
    assert release is not None
    future = CudaGpu(0, "future", (13, 0))
    detection = choose_backend(release, machine("linux-x86_64", "580.65.06", future))
    assert detection.backend == "cu130"
    assert "through the PTX of compute_120, JIT-compiled" in detection.candidates[0].why
    assert "no kernels for future (13.0)" in detection.candidates[1].why  # cu128: no PTX


def test_an_unconfirmed_list_is_used_and_said_to_be_one() -> None:
    release = load_table().get("2.9.1")
    assert release is not None
    detection = choose_backend(release, machine("linux-x86_64", "580.65.06", T4))
    assert "(an unconfirmed list)" in detection.candidates[0].why
    assert any("are not confirmed: taken from RELEASE.md" in note for note in detection.notes)


def test_the_report_and_json_show_the_gpus(tmp_path: Path) -> None:
    env = {PLATFORM_ENV: "linux-x86_64", DRIVER_ENV: "580.65.06", COMPUTE_CAP_ENV: "6.1"}
    detection = detect(env, torch="2.9.1", root=tmp_path, smi=lambda: None)
    assert detection.backend == "cu126"
    report = format_report(detection)
    assert "NVIDIA GPUs:    GPU 0 (6.1) (from UVTORCH_CUDA_COMPUTE_CAP)" in report
    data = detection_json(detection)
    assert data["cuda-gpus"] == [{"index": 0, "name": "GPU 0", "compute-capability": "6.1"}]
    assert data["cuda-gpus-source"] == COMPUTE_CAP_ENV
    unread = format_report(detect({**env, COMPUTE_CAP_ENV: ""}, torch="2.9.1", root=tmp_path))
    assert "NVIDIA GPUs:    compute capability not read" in unread


# --- sync and run: the spec's targets -----------------------------------------------------

X86 = ("linux-x86_64:cpu", "linux-x86_64:cu126", "linux-x86_64:cu128", "linux-x86_64:cu130")
ARM = ("linux-aarch64:cpu", "linux-aarch64:cu128", "linux-aarch64:cu130")


def plan(torch: str, *targets: str) -> Any:
    data = {
        "torch": torch,
        "python": ["3.12"],
        "targets": [{"platform": t.split(":")[0], "backend": t.split(":")[1]} for t in targets],
    }
    return plan_from_data(
        data, file="pyproject.toml", prefix="tool.uvtorch", env={}, table=load_table()
    )


@pytest.mark.parametrize(
    ("targets", "gpu", "chosen", "words"),
    [
        (
            X86,
            PASCAL,
            "linux-x86_64-cu126",
            "linux-x86_64-cu130: driver 580.65.06 >= 580, "
            "but no kernels for NVIDIA GeForce GTX 1080 (6.1)",
        ),
        (X86, T4, "linux-x86_64-cu130", "Tesla T4 (7.5): runs with sm_75 kernels"),
        (X86, AMPERE, "linux-x86_64-cu130", "NVIDIA GeForce RTX 3090 (8.6): runs with sm_86"),
        (X86, BLACKWELL, "linux-x86_64-cu130", "RTX 5090 (12.0): runs with sm_120 kernels"),
        (ARM, THOR, "linux-aarch64-cu130", "NVIDIA Thor (11.0): runs with sm_110 kernels"),
        (
            ("linux-x86_64:cpu", "linux-x86_64:cu126"),
            BLACKWELL,
            "linux-x86_64-cpu",
            "falling back to cpu: none of the spec's GPU targets for linux-x86_64 runs here "
            "(linux-x86_64-cu126: driver 580.65.06 >= 525.60.13, but no kernels for NVIDIA "
            "GeForce RTX 5090 (12.0): its builds carry sm_50, sm_60, sm_70, sm_75, sm_80, "
            "sm_86, sm_90",
        ),
        (
            ("linux-aarch64:cpu", "linux-aarch64:cu128"),
            THOR,
            "linux-aarch64-cpu",
            "(linux-aarch64-cu128: driver 580.65.06 >= 525.60.13, but no kernels for NVIDIA "
            "Thor (11.0): its builds carry sm_80, sm_90, sm_100, sm_120)",
        ),
    ],
)
def test_sync_picks_the_target_the_gpu_runs_or_says_none_does(
    targets: tuple[str, ...], gpu: CudaGpu, chosen: str, words: str
) -> None:
    platform = targets[0].split(":")[0]
    choice = choose_target(
        plan("2.9.1", *targets), machine(platform, "580.65.06", gpu), load_table()
    )
    assert choice.build.target.name == chosen
    assert words in describe(choice)


def test_without_a_cpu_target_it_says_none_runs_and_installs_the_build_anyway() -> None:
    choice = choose_target(
        plan("2.9.1", "linux-x86_64:cu126"),
        machine("linux-x86_64", "580.65.06", BLACKWELL),
        load_table(),
    )
    assert choice.fallback
    assert "none of the spec's targets for linux-x86_64 runs on this machine's GPU" in choice.reason
    assert "no kernels for NVIDIA GeForce RTX 5090 (12.0)" in choice.reason


@posix_only
@pytest.mark.parametrize(
    ("gpus", "extra", "words"),
    [
        (["NVIDIA GeForce GTX 1080, 6.1"], "cu126", "ruled out: linux-x86_64-cu130:"),
        (["Tesla T4, 7.5"], "cu130", "Tesla T4 (7.5): runs with sm_75 kernels"),
        (["NVIDIA GeForce RTX 3090, 8.6"], "cu130", "(8.6): runs with sm_86 kernels"),
        (["NVIDIA GeForce RTX 5090, 12.0"], "cu130", "(12.0): runs with sm_120 kernels"),
        (["Tesla T4, 7.5", "Tesla P4, 6.1"], "cu126", "no kernels for Tesla P4 (6.1)"),
    ],
)
def test_sync_dry_run_with_a_fake_nvidia_smi(
    tmp_path: Path, gpus: list[str], extra: str, words: str
) -> None:
    body = "\n".join(
        f'[[tool.uvtorch.targets]]\nplatform = "{t.split(":")[0]}"\nbackend = "{t.split(":")[1]}"'
        for t in X86
    )
    directory = write_project(tmp_path / "project", f'torch = "2.9.1"\n{body}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("UVTORCH_")}
    env.update({PLATFORM_ENV: "linux-x86_64", "UVTORCH_CI_CACHE_DIR": "off"})
    uvtorch(["render"], directory, env)
    env["PATH"] = fake_smi(tmp_path, "580.65.06", *gpus) + os.pathsep + env["PATH"]
    result = uvtorch(["sync", "--dry-run"], directory, env)
    assert result.stdout.strip() == f"uv sync --extra {extra}"
    assert "(NVIDIA driver from nvidia-smi, GPUs from nvidia-smi)" in result.stderr
    assert words in result.stderr


def test_a_bad_override_stops_sync_with_exit_2(tmp_path: Path) -> None:
    directory = write_project(
        tmp_path / "project",
        'torch = "2.9.1"\n[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu126"',
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("UVTORCH_")}
    env.update({PLATFORM_ENV: "linux-x86_64", "UVTORCH_CI_CACHE_DIR": "off"})
    uvtorch(["render"], directory, env)
    done = subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", "sync", "--dry-run"],
        cwd=directory,
        env={**env, COMPUTE_CAP_ENV: "sm_61"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert f"error: {COMPUTE_CAP_ENV}: 'sm_61' is not a GPU compute capability" in done.stderr
    assert "Traceback" not in done.stderr
