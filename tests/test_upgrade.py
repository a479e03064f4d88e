"""`upgrade`'s plan (pure), the spec rewrite (only the values change) and the command's
bad input."""

from __future__ import annotations

import difflib
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from projects import snapshot, uvtorch

from uvtorch_ci.errors import SpecError
from uvtorch_ci.project import ProjectTexts
from uvtorch_ci.releases.table import Release, load_table
from uvtorch_ci.upgrade.moves import Upgrade, nearest_backend, plan_upgrade, read_spec
from uvtorch_ci.upgrade.report import format_upgrade
from uvtorch_ci.upgrade.rewrite import rewrite_spec

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed"


def release(torch: str) -> Release:
    found = load_table().get(torch)
    assert found is not None
    return found


def upgrade_text(text: str, torch: str) -> Upgrade:
    table = load_table()
    spec, requires, written = read_spec(ProjectTexts(text, "pyproject.toml"), env={}, table=table)
    return plan_upgrade(
        spec, table, release(torch), requires_python=requires, python_written=written
    )


def project(spec: str, requires: str = ">=3.10") -> str:
    return (
        f'[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = "{requires}"\n'
        f"dependencies = []\n\n[tool.uvtorch]\n{spec}"
    )


@pytest.mark.parametrize(
    ("old", "published", "new"),
    [
        ("cu124", ("cu126", "cu128", "cu130"), "cu126"),
        ("cu118", ("cu126", "cu128", "cu130"), "cu126"),
        ("cu128", ("cu126", "cu130", "cu132"), "cu126"),  # CUDA 12 stays CUDA 12
        ("cu129", ("cu126", "cu128", "cu130"), "cu128"),
        ("cu127", ("cu126", "cu128"), "cu128"),  # a tie: the newer
        ("cu132", ("cu126", "cu128", "cu130"), "cu130"),  # a downgrade: the nearest
        ("cu135", ("cu126", "cu128"), "cu128"),  # no CUDA 13: the newest older one
        ("cu126", ("cu126", "cu130"), "cu126"),
        ("rocm6.2", ("rocm6.3", "rocm6.4"), "rocm6.3"),
        ("rocm7.2", ("rocm6.3", "rocm6.4"), "rocm6.4"),
        ("rocm6.4", ("rocm7.0", "rocm7.1"), "rocm7.0"),
        ("xpu", ("cpu", "cu126"), None),
        ("cu124", ("cpu", "rocm6.2"), None),
    ],
)
def test_nearest_backend(old: str, published: tuple[str, ...], new: str | None) -> None:
    assert nearest_backend(old, published) == new


@pytest.mark.parametrize("torch", ["2.9.1", "2.13.0"])
def test_seed_moves_cu124_to_cu126_with_its_driver_minimum(torch: str) -> None:
    upgrade = upgrade_text((SEED / "pyproject.toml").read_text(), torch)
    moves = {m.target.platform: m for m in upgrade.moves}
    cuda = moves["linux-x86_64"]
    assert (cuda.old, cuda.new, cuda.new_driver, cuda.dropped) == (
        "cu124",
        "cu126",
        "525.60.13",
        None,
    )
    assert not moves["macos-arm64"].changed
    assert not moves["linux-aarch64"].changed
    assert upgrade.changed
    text = format_upgrade(upgrade)
    assert f"upgrade: torch 2.5.0 -> {torch}" in text
    assert "cu124 -> cu126  >= 525.60.13" in text
    assert f"{torch} does not publish cu124 for linux-x86_64; nearest: cu126" in text
    assert "python: default 3.12 -> 3.14 (not in the spec" in text


def test_cuda_12_stays_cuda_12_and_the_plan_names_what_cuda_13_would_ask() -> None:
    text = project(
        'torch = "2.8.0"\npackages = ["torchvision", "torchaudio"]\npython = ["3.9", "3.12"]\n'
        '[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu129"\n'
        '[[tool.uvtorch.targets]]\nplatform = "windows-x86_64"\nbackend = "cu128"\n',
        requires=">=3.9",
    )
    upgrade = upgrade_text(text, "2.13.0")
    linux, windows = upgrade.moves
    assert (linux.new, linux.new_driver, linux.dropped) == ("cu126", "525.60.13", None)
    assert (windows.new, windows.new_driver) == ("cu126", "528.33")
    report = format_upgrade(upgrade)
    assert "cu129 -> cu126" in report
    assert (
        "linux-x86_64-cu129: cu132 is published too: it needs an NVIDIA driver >= 580 and drops "
        "GPUs below compute capability 7.5 (Maxwell, Pascal, Volta)"
    ) in report
    # the companions and the Python axis: 3.9 has no 2.13 wheels and is dropped
    assert "  torchvision 0.23.0 -> 0.28.0" in report
    assert "  torchaudio 2.8.0 -> 2.11.0" in report
    assert upgrade.python_new == ("3.12",)
    assert "python: 3.9, 3.12 -> 3.12" in report


def test_a_move_onto_cuda_13_names_its_driver_minimum_and_the_dropped_gpus() -> None:
    # a release that publishes only CUDA 13 for Linux x86_64 (none in the table does yet)
    text = project(
        'torch = "2.9.1"\n[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu128"\n'
    )
    only_13 = replace(release("2.13.0"), builds={"linux-x86_64": ("cpu", "cu130", "cu132")})
    table = load_table()
    spec, requires, written = read_spec(ProjectTexts(text, "pyproject.toml"), env={}, table=table)
    upgrade = plan_upgrade(spec, table, only_13, requires_python=requires, python_written=written)
    (move,) = upgrade.moves
    assert (move.new, move.old_driver, move.new_driver) == ("cu130", "525.60.13", "580")
    assert move.dropped is not None
    report = format_upgrade(upgrade)
    assert "cu128 -> cu130  >= 580 (was >= 525.60.13)  GPUs below compute capability 7.5" in report


def test_rewrite_changes_only_the_specs_values() -> None:
    text = (
        project(
            "# the one place\n"
            "torch = '2.5.0'   # pinned for now\n"
            'python = [\n  "3.9",  # oldest\n  "3.12",\n]\n'
            '\n[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu124" # GPU box\n'
            'runner = ["self-hosted", "gpu"]\ngpu = true\n'
            '\n[[tool.uvtorch.targets]]\nplatform = "macos-arm64"\nbackend = "mps"\n'
            '\n[tool.other]\nkeep = "this"\n',
            requires=">=3.9",
        )
    ).replace("\n", "\r\n")
    upgrade = upgrade_text(text, "2.9.1")
    new = rewrite_spec(text, "tool.uvtorch", upgrade, "pyproject.toml")
    removed, added = [], []
    for line in difflib.ndiff(text.splitlines(True), new.splitlines(True)):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    assert removed == [
        "torch = '2.5.0'   # pinned for now\r\n",
        '  "3.9",  # oldest\r\n',
        'backend = "cu124" # GPU box\r\n',
    ]
    # each value keeps the user's quoting ('...' stays '...'), whatever tomlkit's release
    assert added == ["torch = '2.9.1'   # pinned for now\r\n", 'backend = "cu126" # GPU box\r\n']
    # a second plan from the new text has nothing left to change
    assert not upgrade_text(new, "2.9.1").changed


def test_two_targets_that_would_become_one_are_refused() -> None:
    text = project(
        'torch = "2.5.0"\n[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu124"\n'
        '[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu126"\n'
    )
    with pytest.raises(SpecError, match="would become cu126 on linux-x86_64"):
        upgrade_text(text.replace('"cu126"', '"cpu"').replace("cpu", "cu118"), "2.9.1")


def test_a_backend_with_no_counterpart_is_bad_input() -> None:
    text = project(
        'torch = "2.5.0"\n[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu124"\n'
        '[[tool.uvtorch.targets]]\nplatform = "linux-aarch64"\nbackend = "cpu"\n'
    )
    with pytest.raises(SpecError) as error:
        upgrade_text(text.replace("cpu", "cu124").replace('"2.5.0"', '"2.7.0"'), "2.5.0")
    assert "publishes no cu build for linux-aarch64" in str(error.value)
    assert error.value.where == "tool.uvtorch.targets[1].backend"


def seed_copy(tmp_path: Path) -> Path:
    directory = tmp_path / "seed"
    shutil.copytree(SEED, directory)
    return directory


def test_cli_plans_without_writing(tmp_path: Path) -> None:
    directory = seed_copy(tmp_path)
    before = snapshot(directory)
    result = uvtorch(["upgrade", "--torch", "2.9.1"], directory, {"PATH": "/usr/bin:/bin"})
    assert "cu124 -> cu126" in result.stdout
    assert "nothing written" in result.stdout
    assert snapshot(directory) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--torch", "2.9.9"], 'unknown torch version "2.9.9"'),
        (["--torch", "2.9.1", "--lock"], "--lock needs --write"),
        (["--torch", "2.9.1", "--write"], "publishes no builds for macos-x86_64"),
    ],
)
def test_cli_bad_input_changes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    directory = seed_copy(tmp_path)
    if args[-1] == "--write":  # a spec whose macOS x86_64 target 2.9.1 cannot take
        pyproject = directory / "pyproject.toml"
        pyproject.write_text(
            pyproject.read_text()
            .replace("macos-arm64", "macos-x86_64")
            .replace('backend = "mps"', 'backend = "cpu"')
        )
    before = snapshot(directory)
    result = uvtorch(["upgrade", *args], directory, {"PATH": "/usr/bin:/bin"}, expect=2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(directory) == before


def test_the_docs_upgrade_output_is_the_real_one() -> None:
    result = uvtorch(["upgrade", "--project", "examples/seed", "--torch", "2.9.1"], ROOT, {})
    page = (ROOT / "docs" / "commands" / "upgrade.md").read_text()
    assert f"$ uvtorch-ci upgrade --project examples/seed --torch 2.9.1\n{result.stdout}```" in page


def test_write_edits_a_standalone_spec_and_renders(tmp_path: Path) -> None:
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        "dependencies = []\n"
    )
    spec = (
        '# kept as it is\ntorch = "2.5.0"\npackages = ["torchvision"]\n\n'
        '[[targets]]\nplatform = "linux-x86_64"\nbackend = "cu124"  # the GPU box\n'
    )
    (directory / "uvtorch.toml").write_text(spec)
    env = {"PATH": "/usr/bin:/bin", "UVTORCH_CI_CACHE_DIR": "off"}
    uvtorch(["render"], directory, env)
    result = uvtorch(["upgrade", "--torch", "latest", "--write"], directory, env)
    newest = load_table().newest()
    assert f"upgrade: torch 2.5.0 -> {newest.torch}" in result.stdout
    assert (directory / "uvtorch.toml").read_text() == spec.replace("2.5.0", newest.torch).replace(
        "cu124", "cu126"
    )
    pyproject = (directory / "pyproject.toml").read_text()
    assert f"torchvision=={newest.torchvision}" in pyproject
    assert "pytorch-cu126" in pyproject
    uvtorch(["render", "--check"], directory, env)


def test_write_refuses_before_writing_when_a_generated_file_was_edited(tmp_path: Path) -> None:
    directory = seed_copy(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "UVTORCH_CI_CACHE_DIR": "off"}
    uvtorch(["render"], directory, env)
    workflow = directory / ".github" / "workflows" / "torch.yml"
    workflow.write_text(workflow.read_text() + "# mine\n")
    before = snapshot(directory)
    result = uvtorch(["upgrade", "--torch", "2.9.1", "--write"], directory, env, expect=1)
    assert "torch.yml" in result.stderr
    assert "nothing was written" in result.stderr
    assert snapshot(directory) == before
