"""`detect`: driver -> CUDA mapping, ROCm/XPU/MPS, /sys and /proc parsing, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from uvtorch_ci.detect.choice import Detection, choose_backend, detect, select_release
from uvtorch_ci.detect.machine import (
    DRIVER_ENV,
    PLATFORM_ENV,
    ROCM_ENV,
    DetectError,
    Gpu,
    Readings,
    parse_proc_version,
    platform_of,
    read_driver,
    read_gpus,
    read_machine,
    read_rocm,
)
from uvtorch_ci.detect.nvidia import run_nvidia_smi
from uvtorch_ci.detect.report import detection_json, format_report, target_snippet
from uvtorch_ci.releases.cuda import cuda_version
from uvtorch_ci.releases.table import Release, load_table

PROC_PROPRIETARY = (
    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n"
    "GCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04)\n"
)
PROC_OPEN = (
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build  "
    "(dvs-builder@U22-I3-AF03-09-1)  Sun Jul 27 06:54:38 UTC 2025\n"
    "GCC version:  gcc version 13.3.0 (Ubuntu 13.3.0-6ubuntu2~24.04)\n"
)
PROC_AARCH64 = (
    "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  570.133.20  Release Build  "
    "(dvs-builder@U16-I3-B03-4-3)  Tue Apr  8 19:06:58 UTC 2025\n"
    "GCC version:  gcc version 11.4.0 (Ubuntu 11.4.0-1ubuntu1~22.04)\n"
)


def release(torch: str) -> Release:
    found = load_table().get(torch)
    assert found is not None
    return found


def choose(
    platform: str,
    torch: str,
    driver: str | None = None,
    rocm: str | None = None,
    gpus: tuple[Gpu, ...] = (),
) -> Detection:
    readings = Readings(
        platform=platform,
        platform_source="test",
        driver_version=driver,
        driver_source="test" if driver else None,
        rocm_version=rocm,
        rocm_source=ROCM_ENV if rocm else None,
        gpus=gpus,
    )
    return choose_backend(release(torch), readings)


def no_smi() -> str | None:
    return None


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- the mapping (pure) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "driver", "torch", "backend"),
    [
        ("linux-x86_64", "535.104.05", "2.5.0", "cu124"),
        ("linux-x86_64", "535", "2.5.0", "cu124"),
        ("linux-x86_64", "580.65", "2.9.1", "cu130"),
        ("linux-x86_64", "580", "2.9.1", "cu130"),
        ("linux-x86_64", "579.99", "2.9.1", "cu128"),
        ("linux-x86_64", "570", "2.9.1", "cu128"),
        ("linux-x86_64", "450.80.02", "2.0.0", "cu118"),
        ("linux-x86_64", "525.60.13", "2.5.0", "cu124"),
        ("linux-x86_64", "525.60.12", "2.5.0", "cu118"),
        ("linux-x86_64", "580.65.06", "2.15.0", "cu132"),
        ("linux-x86_64", "560.35.03", "2.15.0", "cu126"),
        ("windows-x86_64", "528.33", "2.5.0", "cu124"),
        ("windows-x86_64", "528.24", "2.5.0", "cu118"),  # Linux would run cu124 with it
        ("linux-x86_64", "528.24", "2.5.0", "cu124"),
        ("windows-x86_64", "452.39", "2.0.0", "cu118"),
        ("windows-x86_64", "581.57", "2.9.1", "cu130"),
    ],
)
def test_driver_picks_newest_cuda_it_runs(
    platform: str, driver: str, torch: str, backend: str
) -> None:
    detection = choose(platform, torch, driver)
    assert detection.backend == backend
    assert detection.cuda_version == cuda_version(backend)
    assert detection.driver_version == driver
    assert backend in release(torch).backends(platform)
    assert "the driver alone decided" in detection.reason


@pytest.mark.parametrize(
    ("platform", "driver", "torch"),
    [
        ("linux-x86_64", "418.67", "2.5.0"),
        ("linux-x86_64", "450.80.01", "2.0.0"),
        ("windows-x86_64", "452.06", "2.0.0"),  # enough on Linux, not on Windows
    ],
)
def test_too_old_driver_gives_cpu_with_reason(platform: str, driver: str, torch: str) -> None:
    detection = choose(platform, torch, driver)
    assert detection.backend == "cpu"
    assert detection.cuda_version is None
    assert f"NVIDIA driver {driver} is too old" in detection.reason
    cuda = [c for c in detection.candidates if c.backend.startswith("cu")]
    assert cuda
    assert not any(c.usable for c in cuda)
    assert all(driver in c.why for c in cuda)


def test_windows_threshold_differs_from_linux() -> None:
    assert choose("linux-x86_64", "2.0.0", "450.80.02").backend == "cu118"
    assert choose("windows-x86_64", "2.0.0", "450.80.02").backend == "cpu"


def test_no_driver_gives_cpu() -> None:
    detection = choose("linux-x86_64", "2.5.0")
    assert detection.backend == "cpu"
    assert "No NVIDIA driver" in detection.reason
    assert [c.backend for c in detection.candidates if c.usable] == ["cpu"]


def test_macos_arm64_gives_mps() -> None:
    detection = choose("macos-arm64", "2.9.1")
    assert detection.backend == "mps"
    assert detection.platform == "macos-arm64"
    assert "cpu index" in detection.reason


def test_macos_arm64_ignores_a_cuda_driver() -> None:
    detection = choose("macos-arm64", "2.9.1", "580.65.06")
    assert detection.backend == "mps"
    assert "publishes no CUDA builds for macos-arm64" in detection.reason


def test_aarch64_cuda_driver_with_2_9_1_gives_an_aarch64_cuda_build() -> None:
    detection = choose("linux-aarch64", "2.9.1", "580.65.06")
    assert detection.backend.startswith("cu")
    assert detection.backend in release("2.9.1").backends("linux-aarch64")
    assert detection.backend == "cu130"
    assert choose("linux-aarch64", "2.9.1", "570.133.20").backend == "cu128"


def test_aarch64_cuda_driver_with_2_5_0_gives_cpu() -> None:
    detection = choose("linux-aarch64", "2.5.0", "580.65.06")
    assert detection.backend == "cpu"
    assert "publishes no CUDA builds for linux-aarch64" in detection.reason


def test_cuda13_choice_warns_about_compute_capability() -> None:
    detection = choose("linux-x86_64", "2.9.1", "580.65.06")
    (note,) = detection.notes
    assert "compute capability 7.5" in note
    assert "compute capability was not read" in note
    assert "UVTORCH_CUDA_COMPUTE_CAP" in note
    assert "(cu128)" in note
    assert "compute capability 7.5" in format_report(detection).replace("\n" + " " * 16, " ")
    assert choose("linux-x86_64", "2.9.1", "570").notes == ()


@pytest.mark.parametrize(
    ("rocm", "torch", "backend"),
    [
        ("6.2.1", "2.6.0", "rocm6.2.4"),  # compared by major.minor
        ("6.4.1", "2.9.1", "rocm6.4"),
        ("6.3", "2.9.1", "rocm6.3"),
        ("7.0.2", "2.9.1", "rocm6.4"),
        ("7.2", "2.11.0", "rocm7.2"),
        ("5.7.1", "2.9.1", "cpu"),
    ],
)
def test_rocm_newest_not_newer_than_installed(rocm: str, torch: str, backend: str) -> None:
    detection = choose("linux-x86_64", torch, rocm=rocm)
    assert detection.backend == backend
    assert detection.rocm_version == rocm
    if backend == "cpu":
        assert f"ROCm {rocm} is older than every ROCm build" in detection.reason


def test_nvidia_driver_wins_over_rocm() -> None:
    assert choose("linux-x86_64", "2.9.1", "570", rocm="6.4").backend == "cu128"
    # ... unless it is too old for every CUDA build, then ROCm is next.
    assert choose("linux-x86_64", "2.9.1", "418.67", rocm="6.4").backend == "rocm6.4"


def test_rocm_has_no_aarch64_builds() -> None:
    detection = choose("linux-aarch64", "2.9.1", rocm="6.4")
    assert detection.backend == "cpu"
    assert "publishes no ROCm builds" in detection.reason


def test_xpu_needs_an_intel_discrete_gpu() -> None:
    arc = Gpu("card1", 0x8086, 0x56A0)  # Arc A770
    integrated = Gpu("card0", 0x8086, 0x7D55)  # Meteor Lake graphics
    detection = choose("linux-x86_64", "2.9.1", gpus=(integrated, arc))
    assert detection.backend == "xpu"
    assert "card1 (0x56a0)" in detection.reason
    assert "not checked" in detection.reason

    detection = choose("linux-x86_64", "2.9.1", gpus=(integrated,))
    assert detection.backend == "cpu"
    assert any("integrated Intel graphics" in note for note in detection.notes)

    # torch 2.0.0 publishes no xpu build
    assert choose("linux-x86_64", "2.0.0", gpus=(arc,)).backend == "cpu"


@pytest.mark.parametrize(
    ("device", "discrete"),
    [(0x56A0, True), (0xE20B, True), (0x0BD5, True), (0x7D55, False), (0x4905, False)],
)
def test_intel_discrete_families(device: int, discrete: bool) -> None:
    assert Gpu("card0", 0x8086, device).intel_discrete is discrete
    assert not Gpu("card0", 0x1002, device).intel_discrete


def test_release_with_no_builds_for_the_platform_is_bad_input() -> None:
    with pytest.raises(DetectError, match="publishes no builds for macos-x86_64"):
        choose("macos-x86_64", "2.9.1")
    assert choose("macos-x86_64", "2.2.2").backend == "cpu"


def test_cuda_version() -> None:
    assert cuda_version("cu118") == "11.8"
    assert cuda_version("cu130") == "13.0"
    assert cuda_version("cpu") is None
    assert cuda_version("rocm6.2") is None


# --- reading the machine ------------------------------------------------------------------


def test_sys_module_version(tmp_path: Path) -> None:
    write(tmp_path, "sys/module/nvidia/version", "580.65.06\n")
    write(tmp_path, "proc/driver/nvidia/version", PROC_PROPRIETARY)
    assert read_driver(tmp_path, "linux", no_smi) == ("580.65.06", "/sys/module/nvidia/version")


@pytest.mark.parametrize(
    ("text", "version"),
    [(PROC_PROPRIETARY, "535.104.05"), (PROC_OPEN, "580.65.06"), (PROC_AARCH64, "570.133.20")],
)
def test_proc_driver_version(tmp_path: Path, text: str, version: str) -> None:
    assert parse_proc_version(text) == version
    write(tmp_path, "proc/driver/nvidia/version", text)
    assert read_driver(tmp_path, "linux", no_smi) == (version, "/proc/driver/nvidia/version")


def test_proc_garbage_is_no_driver() -> None:
    assert parse_proc_version("") is None
    assert parse_proc_version("NVRM version: something else entirely\n") is None


def test_nvidia_smi_is_the_last_resort(tmp_path: Path) -> None:
    calls: list[str] = []

    def smi() -> str | None:
        calls.append("smi")
        return "550.54.15"

    assert read_driver(tmp_path, "linux", smi) == ("550.54.15", "nvidia-smi")
    assert read_driver(tmp_path, "windows", smi) == ("550.54.15", "nvidia-smi")
    write(tmp_path, "sys/module/nvidia/version", "580.65.06\n")
    assert read_driver(tmp_path, "linux", smi)[1] == "/sys/module/nvidia/version"
    assert read_driver(tmp_path, "macos", smi) == (None, None)
    assert calls == ["smi", "smi"]


def fake_smi(directory: Path, body: str) -> str:
    script = directory / "nvidia-smi"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(directory)


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="fake nvidia-smi is a sh script")


def test_nvidia_smi_absent(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    assert run_nvidia_smi(path=str(empty), root=tmp_path) is None
    readings = read_machine({PLATFORM_ENV: "linux-x86_64", "PATH": str(empty)}, tmp_path, smi=None)
    assert readings.driver_version is None
    assert readings.driver_source is None


@posix_only
def test_nvidia_smi_output(tmp_path: Path) -> None:
    path = fake_smi(tmp_path, 'echo "580.65.06"\necho "580.65.06"\n')  # one line per GPU
    assert run_nvidia_smi(path=path, root=tmp_path) == "580.65.06"
    readings = read_machine({PLATFORM_ENV: "linux-x86_64", "PATH": path}, tmp_path)
    assert (readings.driver_version, readings.driver_source) == ("580.65.06", "nvidia-smi")


@posix_only
@pytest.mark.parametrize(
    "body",
    [
        'echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver."\n'
        "exit 9\n",
        'echo "No devices were found"\n',
        "exec sleep 5\n",
    ],
)
def test_nvidia_smi_failing_or_hanging(tmp_path: Path, body: str) -> None:
    path = fake_smi(tmp_path, body)
    assert run_nvidia_smi(path=path, root=tmp_path, timeout=0.5) is None


def test_rocm_info_version(tmp_path: Path) -> None:
    assert read_rocm(tmp_path) is None
    write(tmp_path, "opt/rocm/.info/version", "6.2.4-120\n")
    assert read_rocm(tmp_path) == "6.2.4"


def gpu_card(root: Path, card: str, vendor: str, device: str) -> None:
    write(root, f"sys/class/drm/{card}/device/vendor", vendor + "\n")
    write(root, f"sys/class/drm/{card}/device/device", device + "\n")


def test_drm_cards(tmp_path: Path) -> None:
    gpu_card(tmp_path, "card0", "0x8086", "0x7d55")
    gpu_card(tmp_path, "card1", "0x8086", "0x56a0")
    gpu_card(tmp_path, "card1-DP-1", "0x8086", "0x56a0")  # a connector, not a card
    write(tmp_path, "sys/class/drm/renderD128/device/vendor", "0x8086\n")
    write(tmp_path, "sys/class/drm/card2/device/vendor", "garbage\n")
    assert read_gpus(tmp_path) == (Gpu("card0", 0x8086, 0x7D55), Gpu("card1", 0x8086, 0x56A0))


def test_machine_tree_with_rocm_and_amd_gpu(tmp_path: Path) -> None:
    write(tmp_path, "opt/rocm/.info/version", "6.4.1-1547\n")
    env = {PLATFORM_ENV: "linux-x86_64"}
    detection = detect(env, torch="2.9.1", root=tmp_path, smi=no_smi)
    assert detection.backend == "cpu"  # ROCm installed, but no AMD GPU
    assert "no AMD GPU was found" in detection.reason

    gpu_card(tmp_path, "card0", "0x1002", "0x744c")  # Radeon RX 7900 XTX
    detection = detect(env, torch="2.9.1", root=tmp_path, smi=no_smi)
    assert detection.backend == "rocm6.4"
    assert detection.readings.rocm_source == "/opt/rocm/.info/version"


def test_machine_tree_with_intel_arc(tmp_path: Path) -> None:
    gpu_card(tmp_path, "card0", "0x8086", "0xe20b")  # Arc B580
    detection = detect({PLATFORM_ENV: "linux-x86_64"}, torch="2.9.1", root=tmp_path, smi=no_smi)
    assert detection.backend == "xpu"


def test_machine_tree_with_nvidia_driver(tmp_path: Path) -> None:
    write(tmp_path, "proc/driver/nvidia/version", PROC_OPEN)
    detection = detect({PLATFORM_ENV: "linux-x86_64"}, torch="2.9.1", root=tmp_path, smi=no_smi)
    assert detection.backend == "cu130"
    assert detection.readings.driver_source == "/proc/driver/nvidia/version"


@pytest.mark.parametrize(
    ("system", "machine", "platform"),
    [
        ("Linux", "x86_64", "linux-x86_64"),
        ("Linux", "aarch64", "linux-aarch64"),
        ("Darwin", "arm64", "macos-arm64"),
        ("Darwin", "x86_64", "macos-x86_64"),
        ("Windows", "AMD64", "windows-x86_64"),
        ("Windows", "ARM64", None),
        ("Linux", "ppc64le", None),
        ("FreeBSD", "amd64", None),
    ],
)
def test_platform_of(system: str, machine: str, platform: str | None) -> None:
    assert platform_of(system, machine) == platform


def test_macos_reads_no_nvidia(tmp_path: Path) -> None:
    def smi() -> str | None:
        raise AssertionError("nvidia-smi must not run on macOS")

    write(tmp_path, "sys/module/nvidia/version", "580.65.06\n")
    detection = detect({}, root=tmp_path, system="Darwin", machine="arm64", smi=smi)
    assert detection.backend == "mps"
    assert detection.driver_version is None
    assert detection.readings.platform_source == "platform: Darwin arm64"


def test_unsupported_machine_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(DetectError, match="Linux on ppc64le is not a platform") as raised:
        read_machine({}, tmp_path, system="Linux", machine="ppc64le", smi=no_smi)
    assert PLATFORM_ENV in raised.value.hint


# --- overrides ----------------------------------------------------------------------------


def test_overrides_win_over_the_machine(tmp_path: Path) -> None:
    write(tmp_path, "sys/module/nvidia/version", "580.65.06\n")
    write(tmp_path, "opt/rocm/.info/version", "6.4.1\n")
    env = {PLATFORM_ENV: "linux-x86_64", DRIVER_ENV: "535.104.05", ROCM_ENV: "6.3"}
    readings = read_machine(env, tmp_path, system="Darwin", machine="arm64", smi=no_smi)
    assert readings.platform == "linux-x86_64"
    assert (readings.driver_version, readings.driver_source) == ("535.104.05", DRIVER_ENV)
    assert (readings.rocm_version, readings.rocm_source) == ("6.3", ROCM_ENV)


def test_none_override_means_none(tmp_path: Path) -> None:
    write(tmp_path, "sys/module/nvidia/version", "580.65.06\n")
    env = {PLATFORM_ENV: "linux-x86_64", DRIVER_ENV: "none", ROCM_ENV: "None"}
    detection = detect(env, torch="2.9.1", root=tmp_path, smi=no_smi)
    assert detection.backend == "cpu"
    assert detection.driver_version is None
    assert "none (UVTORCH_CUDA_DRIVER_VERSION)" in format_report(detection)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (DRIVER_ENV, "latest", "is not an NVIDIA driver version"),
        (DRIVER_ENV, "580.65.06.1.2", "is not an NVIDIA driver version"),
        (DRIVER_ENV, "v580", "is not an NVIDIA driver version"),
        (ROCM_ENV, "6", "is not a ROCm version"),
        (ROCM_ENV, "rocm6.2", "is not a ROCm version"),
        (PLATFORM_ENV, "linux-x86-64", 'did you mean "linux-x86_64"'),
    ],
)
def test_malformed_override(tmp_path: Path, name: str, value: str, message: str) -> None:
    env = {PLATFORM_ENV: "linux-x86_64", name: value}
    with pytest.raises(DetectError, match=message) as raised:
        read_machine(env, tmp_path, smi=no_smi)
    assert raised.value.where == name
    assert raised.value.exit_code == 2


def test_select_release() -> None:
    table = load_table()
    assert select_release(table, None) == table.newest()
    assert select_release(table, "2.5.0").torch == "2.5.0"
    for bad in ("2.5.7", "banana", "2.5.0+cu124"):
        with pytest.raises(DetectError, match="unknown torch version") as raised:
            select_release(table, bad)
        assert "2.0.0" in raised.value.hint
        assert table.newest().torch in raised.value.hint


# --- output -------------------------------------------------------------------------------


def test_report_and_json(tmp_path: Path) -> None:
    env = {PLATFORM_ENV: "linux-x86_64", DRIVER_ENV: "570.133.07", ROCM_ENV: "none"}
    detection = detect(env, torch="2.9.1", root=tmp_path, smi=no_smi)
    report = format_report(detection)
    assert "570.133.07 (from UVTORCH_CUDA_DRIVER_VERSION)" in report
    assert "backend:        cu128 (CUDA 12.8)" in report
    assert report.endswith('[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu128"')
    data = detection_json(detection)
    assert json.loads(json.dumps(data)) == data
    assert data["backend"] == "cu128"
    assert data["cuda-version"] == "12.8"
    assert data["target"] == {"platform": "linux-x86_64", "backend": "cu128"}
    # weighing stops at the first usable kind: CUDA here
    assert [c["backend"] for c in data["candidates"]] == ["cu130", "cu128", "cu126"]
    assert target_snippet(detection).endswith('backend = "cu128"\n')


# --- the command line ---------------------------------------------------------------------


def run_cli(*args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    return run_cli_in(None, *args, **overrides)


def run_cli_in(cwd: Path | None, *args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UVTORCH_")}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", "detect", *args],
        cwd=cwd,
        env={**env, **overrides},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "overrides", "backend"),
    [
        (
            ("--torch", "2.9.1"),
            {PLATFORM_ENV: "linux-x86_64", DRIVER_ENV: "580.65.06", ROCM_ENV: "none"},
            "cu130",
        ),
        (
            ("--torch", "2.5.0"),
            {PLATFORM_ENV: "linux-x86_64", DRIVER_ENV: "535.104.05", ROCM_ENV: "none"},
            "cu124",
        ),
        (
            ("--torch", "2.9.1"),
            {PLATFORM_ENV: "linux-aarch64", DRIVER_ENV: "570.133.20"},
            "cu128",
        ),
        ((), {PLATFORM_ENV: "macos-arm64"}, "mps"),
    ],
)
def test_cli_json(args: tuple[str, ...], overrides: dict[str, str], backend: str) -> None:
    done = run_cli("--json", *args, **overrides)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["backend"] == backend
    assert data["platform"] == overrides[PLATFORM_ENV]
    if not args:
        assert data["torch"] == load_table().newest().torch


def test_cli_human_report() -> None:
    done = run_cli("--torch", "2.9.1", **{PLATFORM_ENV: "linux-x86_64", DRIVER_ENV: "580.65.06"})
    assert done.returncode == 0, done.stderr
    assert "backend:        cu130 (CUDA 13.0)" in done.stdout
    assert "compute capability 7.5" in done.stdout.replace("\n" + " " * 16, " ")
    assert '[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu130"' in (done.stdout)


@pytest.mark.parametrize(
    ("args", "overrides", "expected"),
    [
        ((), {PLATFORM_ENV: "linux-x86_64", DRIVER_ENV: "banana"}, DRIVER_ENV),
        ((), {PLATFORM_ENV: "linux-x86_64", ROCM_ENV: "six"}, ROCM_ENV),
        ((), {PLATFORM_ENV: "solaris-sparc"}, PLATFORM_ENV),
        (("--torch", "2.5.7"), {PLATFORM_ENV: "linux-x86_64"}, "2.0.0, 2.0.1"),
        (("--torch", "nope"), {PLATFORM_ENV: "linux-x86_64"}, "known versions"),
        ((), {PLATFORM_ENV: "macos-x86_64"}, "--torch 2.2.2"),
    ],
)
def test_cli_bad_input_exits_2(
    args: tuple[str, ...], overrides: dict[str, str], expected: str
) -> None:
    done = run_cli(*args, **overrides)
    assert done.returncode == 2
    assert done.stdout == ""
    assert expected in done.stderr
    assert done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr


def test_in_a_project_it_answers_for_the_specs_torch(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.10"\n'
        '[tool.uvtorch]\ntorch = ">=2.5,<2.6"\n'
        '[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu124"\n'
    )
    machine = {PLATFORM_ENV: "linux-x86_64", DRIVER_ENV: "580.65.06", ROCM_ENV: "none"}
    done = run_cli_in(project, "--json", **machine)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["torch"] == "2.5.1"  # the newest the specifier allows
    assert json.loads(done.stdout)["backend"] == "cu124"
    assert "for torch 2.5.1, the spec's (pyproject.toml)" in done.stderr
    named = run_cli_in(project, "--json", "--torch", "2.9.1", **machine)
    assert json.loads(named.stdout)["backend"] == "cu130"
    elsewhere = run_cli_in(project, "--json", "--project", str(tmp_path), **machine)
    assert json.loads(elsewhere.stdout)["torch"] == load_table().newest().torch
    # a project that has no spec yet: the newest release, as outside a project
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    bare = run_cli_in(project, "--json", **machine)
    assert json.loads(bare.stdout)["torch"] == load_table().newest().torch


ROOT = Path(__file__).resolve().parents[1]

# --- hostile machines: every reading bounded ---------------------------------------------------

HUGE = "5" * 5000  # digits: more than int() converts


@pytest.mark.parametrize(
    ("name", "value"),
    [(DRIVER_ENV, HUGE), (DRIVER_ENV, f"580.{HUGE}"), (ROCM_ENV, f"6.{HUGE}"), (ROCM_ENV, HUGE)],
)
def test_an_override_of_thousands_of_digits_is_malformed(name: str, value: str) -> None:
    with pytest.raises(DetectError) as raised:
        read_machine({PLATFORM_ENV: "linux-x86_64", name: value}, Path("/nonexistent"), smi=no_smi)
    assert raised.value.where == name
    assert len(str(raised.value)) < 300


@pytest.mark.parametrize("command", [["detect"], ["sync", "--dry-run"], ["run", "--", "true"]])
def test_the_commands_refuse_a_huge_override_cleanly(tmp_path: Path, command: list[str]) -> None:
    shutil.copytree(ROOT / "examples" / "seed", tmp_path / "seed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("UVTORCH_")}
    env.update({PLATFORM_ENV: "linux-x86_64", DRIVER_ENV: HUGE, "UVTORCH_CI_CACHE_DIR": "off"})
    done = subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", *command],
        cwd=tmp_path / "seed",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "error: UVTORCH_CUDA_DRIVER_VERSION: '5555" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr) < 500


def test_a_version_file_of_thousands_of_digits_is_no_version(tmp_path: Path) -> None:
    write(tmp_path, "sys/module/nvidia/version", HUGE + "\n")
    write(tmp_path, "proc/driver/nvidia/version", f"NVRM version: Kernel Module  {HUGE}.1  x\n")
    write(tmp_path, "opt/rocm/.info/version", f"6.{HUGE}\n")
    assert read_driver(tmp_path, "linux", no_smi) == (None, None)
    assert read_rocm(tmp_path) is None
    write(tmp_path, "sys/class/drm/card0/device/vendor", "0x" + "f" * 5000 + "\n")
    write(tmp_path, "sys/class/drm/card0/device/device", "0x56a0\n")
    assert read_gpus(tmp_path) == ()


# Run apart, with a timeout (a read that blocks would hang the suite) and 150 MB of address
# space (reading a 300 MB file or 800 MB of output whole is a MemoryError there).
LIMITED = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (150 << 20, 150 << 20))
from uvtorch_ci.detect.machine import read_machine
from uvtorch_ci.detect.nvidia import run_nvidia_smi
if sys.argv[2] == "tree":
    readings = read_machine({"UVTORCH_PLATFORM": "linux-x86_64", "PATH": ""}, Path(sys.argv[1]))
    print(readings.driver_version, readings.rocm_version)
else:
    print(run_nvidia_smi(path=sys.argv[1], root=Path(sys.argv[1]), timeout=60))
"""


def limited(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", LIMITED, *args], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, sparse files, rlimits: POSIX")
@pytest.mark.parametrize(
    "relative",
    ["proc/driver/nvidia/version", "sys/module/nvidia/version", "opt/rocm/.info/version"],
)
@pytest.mark.parametrize("kind", ["fifo", "300 MB"])
def test_a_fifo_or_a_huge_file_is_no_reading(tmp_path: Path, relative: str, kind: str) -> None:
    """Nothing blocks on a FIFO and nothing reads 300 MB: the reading is simply not there
    (and the other places are still read)."""
    path = tmp_path / relative
    path.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        with open(path, "wb") as file:
            file.truncate(300 << 20)  # sparse: nothing to write, all of it to read
    if not relative.startswith("proc"):
        write(tmp_path, "proc/driver/nvidia/version", PROC_OPEN)
    expected = "None None" if relative.startswith("proc") else "580.65.06 None"
    assert limited(str(tmp_path), "tree") == expected


@posix_only
@pytest.mark.parametrize("body", ["head -c 800000000 /dev/zero\n", "yes 580.65.06\n"])
def test_nvidia_smi_writing_without_end_is_cut_off(tmp_path: Path, body: str) -> None:
    """800 MB of output (or an endless stream) is no MemoryError: the tool reads 64 KiB of it
    at most, stops the program and takes no driver from it."""
    assert limited(fake_smi(tmp_path, body), "smi") == "None"
