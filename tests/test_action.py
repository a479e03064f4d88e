"""Tests of the composite action (action.yml): its checkers, its interface, and its scripts.

The scripts are taken out of action.yml and run with bash the way a runner does
(`bash --noprofile --norc -eo pipefail FILE`), with each input passed through the step's own
`env:` mapping, so what is tested is exactly what ships.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import validators
import yaml

REPO = Path(__file__).resolve().parent.parent
ACTION_FILE = REPO / "action.yml"
ACTION: dict[str, Any] = yaml.safe_load(ACTION_FILE.read_text())
INPUTS: dict[str, dict[str, Any]] = ACTION["inputs"]
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
SETUP_UV = "astral-sh/setup-uv@20cfd1bf945f4377ade1205e4dbc17946fc9a30d # v10.0.1"
KEBAB = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
INPUT_REF = re.compile(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}")


def step(name: str) -> dict[str, Any]:
    (found,) = [s for s in STEPS if s.get("name") == name]
    return found


# --- checkers ------------------------------------------------------------------------------


def test_action_passes_the_schema() -> None:
    assert validators.schema(ACTION_FILE, "action") == []


def test_action_is_zizmor_clean() -> None:
    assert validators.zizmor([ACTION_FILE]) == []
    assert validators.zizmor([ACTION_FILE], persona="auditor") == []


CHECK_FILE = REPO / "check" / "action.yml"


def test_the_check_action_passes_the_schema_and_zizmor() -> None:
    assert validators.schema(CHECK_FILE, "action") == []
    assert validators.zizmor([CHECK_FILE], persona="auditor") == []


def test_the_check_action_installs_what_the_package_depends_on() -> None:
    """Its `uv run --with` list is pyproject.toml's [project] dependencies, and it runs the
    tool from this checkout's src/ (no release of uvtorch-ci is installed)."""
    import tomllib

    check: dict[str, Any] = yaml.safe_load(CHECK_FILE.read_text())
    script = check["runs"]["steps"][-1]["run"]
    (listed,) = re.findall(r"^\s*dependencies=\((.*)\)$", script, re.MULTILINE)
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert listed.replace("\\", "").split() == dependencies
    assert '"$GITHUB_ACTION_PATH/.."' in script
    assert 'python -I -c "$launch" "$source" "$project"' in script  # isolated from the project
    assert '(cd "$RUNNER_TEMP" &&' in script
    assert "--no-config" in script
    assert "uvtorch render --check\n" in script
    assert script.rstrip().endswith("uvtorch verify --online")


# --- interface -----------------------------------------------------------------------------


def test_inputs() -> None:
    assert set(INPUTS) == {
        "expect",
        "python-version",
        "working-directory",
        "uv-version",
        "sync-args",
        "platform",
        "require-device",
        "torch-version",
        "enable-cache",
    }
    assert INPUTS["expect"]["required"] is True
    assert "default" not in INPUTS["expect"]
    assert INPUTS["working-directory"]["default"] == "."
    assert INPUTS["require-device"]["default"] == "false"
    assert INPUTS["enable-cache"]["default"] == "true"
    assert re.fullmatch(r"\d+\.\d+\.\d+", INPUTS["uv-version"]["default"])


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_input_is_kebab_case_with_a_one_sentence_description(name: str) -> None:
    assert KEBAB.fullmatch(name)
    description: str = INPUTS[name]["description"]
    assert description.endswith(".")
    assert not re.search(r"\.\s+[A-Z]", description), "one sentence"
    # The description states the default (setup-uv's habit), or says there is none.
    default = INPUTS[name].get("default")
    if default:
        assert f'default "{default}"' in description
    else:
        assert "default empty" in description or "no default" in description


def test_outputs_come_from_the_smoke_step() -> None:
    outputs = ACTION["outputs"]
    assert set(outputs) == {"torch-version", "cuda-version", "device"}
    for name, output in outputs.items():
        assert KEBAB.fullmatch(name)
        assert output["description"].endswith(".")
        assert output["value"] == f"${{{{ steps.smoke.outputs.{name} }}}}"
    assert step("Smoke check of the torch build")["id"] == "smoke"


def test_uv_is_installed_by_pinned_setup_uv_with_a_cache_per_backend() -> None:
    assert f"uses: {SETUP_UV}\n" in ACTION_FILE.read_text()
    with_ = step("Install uv")["with"]
    assert with_ == {
        "version": "${{ inputs.uv-version }}",
        "python-version": "${{ inputs.python-version }}",
        "working-directory": "${{ inputs.working-directory }}",
        "enable-cache": "${{ inputs.enable-cache }}",
        "cache-suffix": "${{ inputs.expect }}",
    }


def test_steps_run_in_order() -> None:
    assert [s["name"] for s in STEPS] == [
        "Validate inputs",
        "Install uv",
        "uv sync --locked",
        "Smoke check of the torch build",
    ]


def test_no_expression_inside_any_script() -> None:
    scripts = [s["run"] for s in STEPS if "run" in s]
    assert len(scripts) == 3
    for script in scripts:
        assert "${{" not in script


def test_every_input_reference_names_a_declared_input() -> None:
    used = set(INPUT_REF.findall(ACTION_FILE.read_text()))
    assert used == set(INPUTS)


def test_the_smoke_script_ships_with_the_action() -> None:
    script = step("Smoke check of the torch build")["run"]
    assert 'uv run --no-sync python "$GITHUB_ACTION_PATH/src/uvtorch_ci/smoke.py"' in script
    assert (REPO / "src" / "uvtorch_ci" / "smoke.py").is_file()


# --- the scripts, run with bash ------------------------------------------------------------


GOOD = {
    "expect": "cu124",
    "platform": "",
    "python-version": "3.12",
    "working-directory": ".",
    "uv-version": "0.13.9",
    "sync-args": "--extra cu124",
    "require-device": "false",
    "torch-version": "",
    "enable-cache": "true",
}


def run_step(
    name: str,
    inputs: Mapping[str, str],
    cwd: Path,
    *,
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one step's script as the runner does, its env mapped from `inputs`."""
    spec = step(name)
    script = cwd / f"step-{spec['name'].replace(' ', '-')}.sh"
    script.write_text(spec["run"])
    # GitHub's Ubuntu runners set LANG=C.UTF-8, in which [[:alnum:]] matches non-ASCII letters
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")}
    environment["LANG"] = "C.UTF-8"
    if path is not None:
        environment["PATH"] = f"{path}{os.pathsep}{environment['PATH']}"
    for variable, value in spec.get("env", {}).items():
        (input_name,) = INPUT_REF.findall(value)
        environment[variable] = inputs[input_name]
    environment.update(env or {})
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def validate(tmp_path: Path, **changes: str) -> subprocess.CompletedProcess[str]:
    inputs = {**GOOD, **{key.replace("_", "-"): value for key, value in changes.items()}}
    return run_step("Validate inputs", inputs, tmp_path)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("expect", "cpu"),
        ("expect", "mps"),
        ("expect", "xpu"),
        ("expect", "cu118"),
        ("expect", "cu130"),
        ("expect", "rocm6.2"),
        ("expect", "rocm6.2.4"),
        ("require-device", "true"),
        ("enable-cache", "false"),
        ("enable-cache", "auto"),
        ("python-version", ""),
        ("python-version", "3.13t"),
        ("python-version", "pypy3.10"),
        ("uv-version", "latest"),
        ("uv-version", ">=0.13,<0.14"),
        ("torch-version", "2.5.0"),
        ("torch-version", "2.5.0+cu124"),
        ("torch-version", "2.6.0rc1"),
        ("sync-args", ""),
        ("sync-args", "--extra cu126 --group dev"),
        ("sync-args", "--extra=cu126 --no-dev --python-platform x86_64-unknown-linux-gnu"),
        ("sync-args", "--no-install-package torch-extra"),
        ("working-directory", "sub dir"),
        ("platform", "linux-x86_64"),
        ("platform", "macos-arm64"),
        ("platform", "linux-aarch64"),
    ],
)
def test_validation_accepts(tmp_path: Path, name: str, value: str) -> None:
    (tmp_path / "sub dir").mkdir()
    result = validate(tmp_path, **{name: value})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("expect", ""),
        ("expect", "cuda"),
        ("expect", "cu12"),
        ("expect", "cu1240"),
        ("expect", "rocm"),
        ("expect", "rocm6"),
        ("expect", "CPU"),
        ("expect", "cu124 "),
        ("expect", "cpu\n"),
        ("expect", "cpu; rm -rf ~"),
        ("require-device", ""),
        ("require-device", "yes"),
        ("require-device", "True"),
        ("enable-cache", "maybe"),
        ("python-version", "3.12; id"),
        ("uv-version", ""),
        ("uv-version", "0.13.9 && id"),
        ("torch-version", "2.5.0; id"),
        ("torch-version", "latest version"),
        ("sync-args", "--extra cu126; curl example.invalid"),
        ("sync-args", "--extra $(id)"),
        ("sync-args", "--extra `id`"),
        ("sync-args", "--extra 'cu126'"),
        ("sync-args", "--extra a|b"),
        ("sync-args", "--extra a && b"),
        ("sync-args", "--extra cu126 > /tmp/x"),
        ("sync-args", "--extra *"),
        ("sync-args", "--extra ${HOME}"),
        ("sync-args", "--extra cu126\n--frozen"),
        ("working-directory", ""),
        ("working-directory", "no-such-dir"),
        ("platform", "linux"),
        ("platform", "linux-x86_64; id"),
        ("platform", "Linux-x86_64"),
        ("platform", "linux-arm64"),  # Linux calls it aarch64
        ("platform", "macos-aarch64"),  # macOS calls it arm64
        ("platform", "windows-arm64"),  # no such platform in the release table
        ("torch-version", "2.5.0+cu\u00e9"),
        ("torch-version", "2.5.0\u0663"),  # an Arabic-Indic digit
        ("python-version", "3.12\u00e9"),
        ("uv-version", "0.13.9\u00e9"),
        ("sync-args", "--extra cu\u00e9"),
    ],
)
def test_validation_rejects(tmp_path: Path, name: str, value: str) -> None:
    result = validate(tmp_path, **{name: value})
    assert result.returncode == 2, result.stdout + result.stderr
    (annotation,) = result.stdout.splitlines()
    assert annotation.startswith(f"::error title=uvtorch-ci input {name}::{name}=")
    assert "nothing was installed" in result.stderr


def test_validation_reports_every_bad_input_on_one_line_each(tmp_path: Path) -> None:
    result = validate(
        tmp_path, expect="cu12\n::warning::injected", require_device="yes", sync_args="a;b"
    )
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert [x.split("::")[1] for x in lines] == [
        "error title=uvtorch-ci input expect",
        "error title=uvtorch-ci input require-device",
        "error title=uvtorch-ci input sync-args",
    ]
    assert not any(x.startswith("::warning") for x in lines)
    assert "expect=$'cu12\\n::warning::injected' is not a backend" in lines[0]


def fake_uv(tmp_path: Path, body: str) -> Path:
    """A directory holding an executable `uv` with the given bash body."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    uv = bin_dir / "uv"
    uv.write_text(f"#!/usr/bin/env bash\n{body}\n")
    uv.chmod(uv.stat().st_mode | stat.S_IXUSR)
    return bin_dir


ECHO_ARGS = 'for arg in "$@"; do printf "<%s>\\n" "$arg"; done'


@pytest.mark.parametrize(
    ("sync_args", "expected"),
    [
        ("", ["sync", "--locked"]),
        ("--extra cu126", ["sync", "--locked", "--extra", "cu126"]),
        (
            "  --extra   cu126 --group dev ",
            ["sync", "--locked", "--extra", "cu126", "--group", "dev"],
        ),
        # Split, never globbed (validation already refuses `*`: this is the second fence).
        ("--extra *", ["sync", "--locked", "--extra", "*"]),
        # --locked once, whoever else gave it (uv refuses it twice)
        ("--locked --extra cu126", ["sync", "--locked", "--extra", "cu126"]),
    ],
)
def test_sync_step_splits_arguments_without_eval(
    tmp_path: Path, sync_args: str, expected: list[str]
) -> None:
    (tmp_path / "decoy.txt").write_text("")
    uv = fake_uv(tmp_path, ECHO_ARGS)
    result = run_step("uv sync --locked", {**GOOD, "sync-args": sync_args}, tmp_path, path=uv)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"<{arg}>" for arg in expected]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ["--expect", "cu124"]),
        ({"require-device": "true"}, ["--expect", "cu124", "--gpu"]),
        ({"torch-version": "2.5.0"}, ["--expect", "cu124", "--torch-version", "2.5.0"]),
        ({"platform": "linux-x86_64"}, ["--expect", "cu124", "--platform", "linux-x86_64"]),
    ],
)
def test_smoke_step_arguments(tmp_path: Path, changes: dict[str, str], expected: list[str]) -> None:
    uv = fake_uv(tmp_path, ECHO_ARGS)
    env = {"GITHUB_ACTION_PATH": "/action path"}
    result = run_step(
        "Smoke check of the torch build", {**GOOD, **changes}, tmp_path, path=uv, env=env
    )
    assert result.returncode == 0, result.stderr
    smoke = "/action path/src/uvtorch_ci/smoke.py"
    assert result.stdout.splitlines() == [
        f"<{arg}>" for arg in ["run", "--no-sync", "python", smoke, *expected]
    ]


def test_smoke_step_writes_the_action_outputs(tmp_path: Path) -> None:
    """The smoke step, with `uv run --no-sync python` standing for this interpreter and a
    fake torch, fills GITHUB_OUTPUT (the action's outputs) and the step summary."""
    site = tmp_path / "site"
    (site / "torch" / "backends" / "mps").mkdir(parents=True)
    (site / "torch" / "cuda").mkdir()
    (site / "torch" / "__init__.py").write_text(
        "from . import backends, cuda, version\n__version__ = version.__version__\n"
    )
    (site / "torch" / "version.py").write_text(
        "__version__ = '2.5.0+cu124'\ncuda = '12.4'\nhip = None\n"
    )
    (site / "torch" / "cuda" / "__init__.py").write_text("def is_available():\n    return False\n")
    (site / "torch" / "backends" / "__init__.py").write_text("from . import mps\n")
    (site / "torch" / "backends" / "mps" / "__init__.py").write_text(
        "def is_built():\n    return False\n"
    )
    stand_in = '[[ $1 == run && $2 == --no-sync && $3 == python ]]; shift 3\nexec "$PYTHON" "$@"'
    uv = fake_uv(tmp_path, stand_in)
    output, summary = tmp_path / "output", tmp_path / "summary.md"
    env = {
        "GITHUB_ACTION_PATH": str(REPO),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "PYTHONPATH": str(site),
        "PYTHON": sys.executable,
    }
    result = run_step("Smoke check of the torch build", GOOD, tmp_path, path=uv, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert output.read_text().splitlines() == [
        "torch-version=2.5.0+cu124",
        "cuda-version=12.4",
        "device=cpu",
    ]
    assert "### torch smoke check: cu124 passed" in summary.read_text()

    failing = run_step(
        "Smoke check of the torch build", {**GOOD, "expect": "cpu"}, tmp_path, path=uv, env=env
    )
    assert failing.returncode == 1
    assert "expected a CPU build, found a CUDA 12.4 build" in failing.stdout
