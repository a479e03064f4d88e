"""The GPU architectures of CUDA builds: the release table's lists (sources, facts file, load
and dump), NVIDIA's rules for which GPU runs what, `gpu-arch` in the spec and render, and
what an upgrade gains and loses."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from projects import uvtorch, write_project
from shared import SHARED, needs_shared

from uvtorch_ci.errors import SpecError
from uvtorch_ci.plan.gpus import gpu_warnings
from uvtorch_ci.plan.planner import plan_from_data
from uvtorch_ci.releases.archs import (
    Arch,
    ArchEntry,
    changes,
    family,
    judge,
    named,
    parse_arch_entry,
    parse_arch_list,
)
from uvtorch_ci.releases.cuda import MIN_DRIVER, cuda_major
from uvtorch_ci.releases.refresh import kept_archs
from uvtorch_ci.releases.table import dump_table, load_table, parse_table, table_text
from uvtorch_ci.spec.runners import GPU_RUNNERS
from uvtorch_ci.upgrade.archs import arch_changes

FACTS = SHARED / "facts" / "pytorch-releases.md"
GITHUB_FACTS = SHARED / "facts" / "github-actions.md"


def entry(text: str, source: str | None = "test") -> ArchEntry:
    return ArchEntry(parse_arch_list(text), source, None if source else "a guess")


# --- which GPU runs what -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("archs", "capability", "words"),
    [
        ("5.0;6.0;7.0;7.5;8.0;8.6;9.0", (6, 1), "with sm_60 kernels"),  # same major, lower minor
        ("5.0;6.0;7.0;7.5;8.0;8.6;9.0", (8, 9), "with sm_86 kernels"),  # Ada runs Ampere's
        ("7.5;8.0;8.6;9.0;10.0;12.0+PTX", (12, 1), "with sm_120 kernels"),  # GB10
        ("7.5;8.0;8.6;9.0;10.0;12.0+PTX", (13, 0), "through the PTX of compute_120, JIT-compiled"),
        ("3.7+PTX;5.0;6.0", (9, 0), "through the PTX of compute_37, JIT-compiled"),
        ("8.0;9.0;10.0;11.0;12.0+PTX", (11, 0), "with sm_110 kernels"),  # Thor
        ("8.0;9.0;10.0;12.0", (11, 0), None),  # no sm_11x, no PTX to JIT
        ("7.5;8.0;8.6;9.0;10.0;12.0+PTX", (6, 1), None),  # PTX never runs on an older GPU
        ("5.0;6.0;7.0;7.5;8.0;8.6;9.0", (12, 0), None),  # cu126 and Blackwell
        ("8.6", (8, 0), None),  # kernels of a newer minor do not run
    ],
)
def test_which_gpu_runs_which_build(
    archs: str, capability: tuple[int, int], words: str | None
) -> None:
    found = entry(archs).serving(capability)
    assert (found.words if found else None) == words


def test_the_toolkit_floor_decides_even_without_a_list() -> None:
    assert judge(None, 13, (6, 1)).runs is False
    assert judge(None, 13, (6, 1)).certain
    assert judge(None, 12, (3, 7)).words == "CUDA 12 builds carry no kernels below 5.0"
    unknown = judge(None, 13, (7, 5))
    assert (unknown.runs, unknown.certain) == (None, False)
    guessed = judge(entry("7.5;8.0", source=None), 12, (6, 1))
    assert (guessed.runs, guessed.certain) == (False, False)
    assert guessed.words.endswith("(an unconfirmed list)")


@pytest.mark.parametrize(
    ("capability", "name"),
    [
        ((3, 7), "Kepler"),
        ((5, 2), "Maxwell"),
        ((6, 1), "Pascal"),
        ((7, 0), "Volta"),
        ((7, 2), "Volta"),
        ((7, 5), "Turing"),
        ((8, 6), "Ampere"),
        ((8, 7), "Ampere"),
        ((8, 9), "Ada"),
        ((9, 0), "Hopper"),
        ((10, 0), "Blackwell"),
        ((11, 0), "Blackwell"),
        ((12, 0), "Blackwell"),
    ],
)
def test_families(capability: tuple[int, int], name: str) -> None:
    assert family(capability) == name


def test_changes_name_families_and_numbers() -> None:
    cu126 = entry("5.0;6.0;7.0;7.5;8.0;8.6;9.0")
    cu130 = entry("7.5;8.0;8.6;9.0;10.0;12.0+PTX")
    assert changes(cu126, cu130) == (
        "gains Blackwell sm_100, sm_120 and PTX compute_120; loses Maxwell sm_50, Pascal "
        "sm_60, Volta sm_70"
    )
    assert changes(cu130, cu130) == ""
    windows = entry("5.0;6.0;6.1;7.0;7.5;8.0;8.6;9.0")
    assert changes(windows, cu126) == "loses Pascal sm_61 (its GPUs still run, with sm_60 kernels)"
    assert named(parse_arch_list("8.0;8.6;9.0")) == "Ampere sm_80, sm_86, Hopper sm_90"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"archs": "7.5;8.0"}, "expected { archs"),
        ({"archs": "7.5", "source": "x", "inferred": "y"}, "expected { archs"),
        ({"archs": "sm_75", "source": "x"}, "is not an architecture like 7.5"),
        ({"archs": "7.5;7.5", "source": "x"}, "lists an architecture twice"),
        ({"archs": "7.5", "source": ""}, "non-empty strings"),
        ("7.5", "expected { archs"),
    ],
)
def test_a_bad_entry_is_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_arch_entry("cu126.linux-x86_64", value)


def test_a_table_with_lists_loads_and_dumps_byte_for_byte() -> None:
    table = load_table()
    assert dump_table(parse_table(table_text())) == table_text()
    bad = table_text().replace("cu117.linux-x86_64 = {", "cu117.linux-x86-64 = {", 1)
    with pytest.raises(ValueError, match="unknown platform"):
        parse_table(bad)
    release = table.get("2.0.0")
    assert release is not None
    listed = release.archs("cu117", "linux-x86_64")
    assert listed is not None
    assert listed.text == "3.7;5.0;6.0;7.0;7.5;8.0;8.6"
    assert listed.listing == "sm_37, sm_50, sm_60, sm_70, sm_75, sm_80, sm_86"


# --- the table's lists: sources and the facts file ----------------------------------------


def all_entries() -> list[tuple[str, str, str, ArchEntry]]:
    return [
        (release.torch, backend, platform, found)
        for release in load_table().releases
        for backend, platforms in release.cuda_archs.items()
        for platform, found in platforms.items()
    ]


def test_every_linux_x86_64_cuda_build_has_a_list_and_every_list_a_build() -> None:
    for release in load_table().releases:
        for backend in release.backends("linux-x86_64"):
            if backend.startswith("cu"):
                assert release.archs(backend, "linux-x86_64"), (release.torch, backend)
        for backend, platforms in release.cuda_archs.items():
            for platform in platforms:
                assert release.publishes(platform, backend), (release.torch, backend, platform)


# Where a fact may come from: a build script at a commit of pytorch/builder or pytorch/pytorch,
# a pull request or issue of theirs, or a report of a real wheel's get_arch_list().
CITATION = re.compile(
    r"pytorch/builder@[0-9a-f]{8} \(release/2\.[0-9]+\): (manywheel/build_cuda\.sh|"
    r"windows/cuda[0-9]{3}\.bat)"
    r"|pytorch/pytorch#[0-9]+|build_cuda\.sh@[0-9a-f]{8}|OpenRAL/openral#[0-9]+"
)


def test_every_list_cites_where_it_comes_from() -> None:
    confirmed = 0
    for torch, backend, platform, found in all_entries():
        said = found.source or found.inferred or ""
        assert CITATION.search(said), (torch, backend, platform, said)
        if found.confirmed:
            confirmed += 1
            builder = re.match(r"pytorch/builder@\w+ \(release/(2\.\d+)\)", said)
            if builder:  # a build script is the one of that release's branch
                assert torch.startswith(builder.group(1) + "."), (torch, said)
            if "get_arch_list()" in said:
                assert f"{torch}+{backend}" in said, (torch, said)
        else:
            assert found.inferred, (torch, backend, platform)
    assert confirmed >= 60  # 2.0-2.5 from pytorch/builder's release branches, and wheel reports


def test_the_confirmed_build_script_lists() -> None:
    """What pytorch/builder's release branches set TORCH_CUDA_ARCH_LIST to (read there)."""
    table = load_table()

    def listed(torch: str, backend: str, platform: str) -> str:
        release = table.get(torch)
        found = release.archs(backend, platform) if release else None
        assert found is not None, (torch, backend, platform)
        assert found.confirmed, (torch, backend, platform)
        return found.text

    assert listed("2.0.1", "cu118", "linux-x86_64") == "3.7;5.0;6.0;7.0;7.5;8.0;8.6;9.0"
    assert listed("2.0.1", "cu118", "windows-x86_64") == "3.7+PTX;5.0;6.0;6.1;7.0;7.5;8.0;8.6;9.0"
    assert listed("2.1.0", "cu121", "linux-x86_64") == "5.0;6.0;7.0;7.5;8.0;8.6;9.0"
    assert listed("2.5.1", "cu124", "windows-x86_64") == "5.0;6.0;6.1;7.0;7.5;8.0;8.6;9.0"
    assert listed("2.11.0", "cu128", "linux-x86_64") == "7.5;8.0;8.6;9.0;10.0;12.0"
    assert listed("2.10.0", "cu128", "linux-x86_64") == "7.0;7.5;8.0;8.6;9.0;10.0;12.0"
    assert listed("2.9.1", "cu128", "linux-aarch64") == "8.0;9.0;10.0;12.0"


@needs_shared("facts", "pytorch-releases.md")
def test_the_lists_agree_with_the_facts_file() -> None:
    """'CUDA 13.x builds dropped Maxwell, Pascal and Volta (compute capability < 7.5); cu126
    still covers 5.0-9.0'; and the driver minima of 'CUDA and drivers'."""
    text = FACTS.read_text(encoding="utf-8")
    section = " ".join(text.split("## CUDA and drivers", 1)[1].split("\n## ", 1)[0].split())
    floor = re.search(r"CUDA 13\.x builds dropped .*?\(compute capability < ([0-9.]+)\)", section)
    covers = re.search(r"cu126 still covers ([0-9]+\.[0-9])-([0-9]+\.[0-9])", section)
    driver13 = re.search(r"CUDA 13\.x builds need\s+driver >= ([0-9.]+)", section)
    assert floor, section
    assert covers, section
    assert driver13, section
    assert MIN_DRIVER[("linux", 13)] == MIN_DRIVER[("windows", 13)] == driver13.group(1)
    lowest = tuple(map(int, floor.group(1).split(".")))
    span = [tuple(map(int, covers.group(i).split("."))) for i in (1, 2)]
    seen_cu126 = 0
    for torch, backend, platform, found in all_entries():
        capabilities = [a.capability for a in found.archs]
        if cuda_major(backend) >= 13:
            assert min(capabilities) >= lowest, (torch, backend, platform)
        if backend == "cu126" and platform != "linux-aarch64":  # aarch64: server GPUs only
            seen_cu126 += 1
            assert (min(capabilities), max(capabilities)) == tuple(span), (torch, platform)
    assert seen_cu126 >= 20
    # the GPU runner: a Tesla T4 (7.5) and a driver older than 580
    t4 = GPU_RUNNERS["github-t4"]
    runners = re.search(r"GitHub's hosted GPU runners have a Tesla T4 \(([0-9.]+)\)", section)
    older = re.search(r"a driver older than ([0-9]+)", section)
    assert runners
    assert older
    assert f"{t4.capability[0]}.{t4.capability[1]}" == runners.group(1)
    assert t4.gpu == "Tesla T4"
    assert t4.driver_below == older.group(1)


@needs_shared("facts", "github-actions.md")
def test_the_gpu_runner_agrees_with_the_github_facts() -> None:
    text = GITHUB_FACTS.read_text(encoding="utf-8")
    assert "one Tesla T4" in text
    assert "older than 580" in text
    assert GPU_RUNNERS["github-t4"].driver_below == "580"


def test_refresh_keeps_the_lists_of_the_builds_still_published() -> None:
    table = load_table()
    old = table.get("2.9.1")
    assert old is not None
    from dataclasses import replace

    row = replace(old, cuda_archs={}, builds={"linux-x86_64": ("cpu", "cu128")})
    kept = kept_archs(old, row)
    assert set(kept) == {"cu128"}
    assert set(kept["cu128"]) == {"linux-x86_64"}
    assert kept_archs(None, row) == {}


# --- gpu-arch: render refuses and warns ---------------------------------------------------


def plan(torch: str, **target: object) -> Any:
    """A plan of one target (and, for a pypi one, a cpu target beside it to route)."""
    other = {"platform": "windows-x86_64", "backend": "cpu"}
    targets = [target, other] if target.get("backend") == "pypi" else [target]
    data = {"torch": torch, "python": ["3.12"], "targets": targets}
    return plan_from_data(
        data, file="pyproject.toml", prefix="tool.uvtorch", env={}, table=load_table()
    )


@pytest.mark.parametrize(
    ("torch", "target", "message"),
    [
        (
            "2.9.1",
            {"platform": "linux-x86_64", "backend": "cu130", "gpu-arch": "6.1"},
            "the cu130 build of torch 2.9.1 has no kernels for gpu-arch 6.1 (Pascal): "
            "CUDA 13 builds carry no kernels below 7.5",
        ),
        (
            "2.3.1",
            {"platform": "linux-x86_64", "backend": "cu121", "gpu-arch": ["8.6", "12.0"]},
            "gpu-arch 12.0 (Blackwell): its builds carry sm_50, sm_60",
        ),
        (
            "2.15.0",
            {"platform": "linux-x86_64", "backend": "pypi", "gpu-arch": "github-t4"},
            "",
        ),
    ],
)
def test_a_build_that_certainly_lacks_the_gpu_is_refused(
    torch: str, target: dict[str, object], message: str
) -> None:
    if not message:
        plan(torch, **target)  # PyPI's cu130 build runs on a T4
        return
    with pytest.raises(SpecError) as raised:
        plan(torch, **target)
    assert message in raised.value.message
    assert raised.value.where == "tool.uvtorch.targets[0].gpu-arch"
    assert "that carry it" in raised.value.hint or "carries it" in raised.value.hint


def test_pypi_cpu_build_with_gpu_arch_is_refused() -> None:
    with pytest.raises(SpecError, match="a cpu build, which runs no NVIDIA GPU"):
        plan("2.9.1", platform="linux-aarch64", backend="pypi", **{"gpu-arch": "9.0"})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("7.5.1", "is not a compute capability or a known GPU runner"),
        ("sm_75", "is not a compute capability or a known GPU runner"),
        ([], "is an empty list"),
        (["7.5", "7.5"], "lists a GPU twice"),
        (7.5, "must be a string or a list of strings"),
    ],
)
def test_a_malformed_gpu_arch_is_refused(value: object, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        plan("2.9.1", platform="linux-x86_64", backend="cu126", **{"gpu-arch": value})


def test_warnings_for_unconfirmed_lists_and_the_runners_driver() -> None:
    table = load_table()
    unconfirmed = plan("2.9.1", platform="linux-x86_64", backend="cu126", **{"gpu-arch": "12.0"})
    (warning,) = gpu_warnings(unconfirmed.builds, table)
    assert "may have no kernels for gpu-arch 12.0 (Blackwell)" in warning
    assert "(an unconfirmed list)" in warning
    on_t4 = {"platform": "linux-x86_64", "runner": "gpu-t4", "gpu": True, "gpu-arch": "github-t4"}
    (warning,) = gpu_warnings(plan("2.9.1", backend="cu130", **on_t4).builds, table)
    assert "cu130 build needs an NVIDIA driver >= 580, and github-t4 (Tesla T4, 7.5)" in warning
    assert "a CUDA 12 build needs >= 525.60.13" in warning
    quiet = plan("2.9.1", backend="cu126", **on_t4)
    assert gpu_warnings(quiet.builds, table) == ()


def test_render_prints_the_warnings_and_writes(tmp_path: Path) -> None:
    directory = write_project(
        tmp_path / "project",
        'torch = "2.9.1"\n[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\n'
        'backend = "cu130"\nrunner = "gpu-t4"\ngpu = true\ngpu-arch = "github-t4"',
    )
    (directory / ".git").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UVTORCH_")}
    env["UVTORCH_CI_CACHE_DIR"] = "off"
    result = uvtorch(["render"], directory, env)
    assert (
        "warning: pyproject.toml: tool.uvtorch.targets[0]: linux-x86_64-cu130's cu130 build "
        "needs an NVIDIA driver >= 580"
    ) in result.stderr
    assert (directory / ".github" / "workflows" / "torch.yml").is_file()


# --- upgrade: the architectures a move gains and loses ------------------------------------


@pytest.mark.parametrize(
    ("old", "old_backend", "new", "new_backend", "platform", "words"),
    [
        ("2.10.0", "cu128", "2.11.0", "cu128", "linux-x86_64", "loses Volta sm_70"),
        ("2.5.1", "cu118", "2.15.0", "cu126", "linux-x86_64", "loses Kepler sm_37"),
        (
            "2.9.1",
            "cu126",
            "2.9.1",
            "cu130",
            "linux-x86_64",
            "gains Blackwell sm_100, sm_120 and PTX compute_120; loses Maxwell sm_50, Pascal "
            "sm_60, Volta sm_70 (unconfirmed list: 2.9.1 cu126 and 2.9.1 cu130)",
        ),
        ("2.0.0", "cu117", "2.1.0", "cu118", "linux-x86_64", "gains Hopper sm_90"),
        ("2.10.0", "pypi", "2.11.0", "pypi", "linux-aarch64", "becomes the cu130 build"),
        ("2.10.0", "cpu", "2.11.0", "cpu", "linux-x86_64", None),
    ],
)
def test_a_move_names_the_architectures_gained_and_lost(
    old: str,
    old_backend: str,
    new: str,
    new_backend: str,
    platform: str,
    words: str | None,
) -> None:
    table = load_table()
    before, after = table.get(old), table.get(new)
    assert before is not None
    assert after is not None
    said = arch_changes(before, old_backend, after, new_backend, platform)
    if words is None:
        assert said is None
    else:
        assert said is not None
        assert said.startswith(words), said


def test_the_upgrade_report_has_a_line_per_cuda_target(tmp_path: Path) -> None:
    directory = write_project(
        tmp_path / "project",
        'torch = "2.10.0"\n[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\n'
        'backend = "cu128"\n[[tool.uvtorch.targets]]\nplatform = "linux-aarch64"\n'
        'backend = "cpu"',
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("UVTORCH_")}
    result = uvtorch(["upgrade", "--torch", "2.11.0"], directory, env)
    lines = [line for line in result.stdout.splitlines() if "GPU architectures" in line]
    assert lines == [
        "linux-x86_64-cu128: GPU architectures, 2.10.0 cu128 -> 2.11.0 cu128: loses Volta sm_70"
    ]


def test_arch_text_round_trips() -> None:
    archs = parse_arch_list("12.0+PTX;3.7;8.6")
    assert [a.text for a in archs] == ["3.7", "8.6", "12.0+PTX"]
    assert archs[-1] == Arch(12, 0, ptx=True)
