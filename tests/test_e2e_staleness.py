"""verify's stale-or-current verdict is the one real uv gives (`uv lock --check --offline`), on
every corpus pair as saved and on edited copies of them.

uv needs an interpreter that requires-python admits before it checks anything. Where this
machine has none (CI has only the Python it runs on), the saved pair's verdict is the one real
uv gave when the pair was read (recorded below, with the interpreter it used); the edited copies
are made only of pairs this interpreter can check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from corpus_locks import LOCKS, PAIRS, STALENESS_SPECS, corpus_names, plan_for, uv_interpreters
from mirror import uv_binary
from packaging.specifiers import SpecifierSet
from shared import needs_shared

from uvtorch_ci.lock.reader import parse_lock
from uvtorch_ci.pyproject.data import parse_toml
from uvtorch_ci.verify.staleness import staleness

pytestmark = [pytest.mark.e2e, needs_shared("corpus", "locks")]

# What real uv 0.13.10 said of each saved pair, run here with the interpreter named, for the
# machines that lack it; "error": uv could not check it at all (why, after the colon).
RECORDED = {
    "CCRI-POPROX__poprox-recommender": "current: CPython 3.12.1",
    "NVIDIA-NeMo__Export-Deploy": "current: CPython 3.12.1",
    "Stanley5249__torch-test-xpu": "current: CPython 3.12.1",
    "catyperry__farmers-eye-pytorch": "current: CPython 3.12.1",
    "jianchang512__pyvideotrans": "current: CPython 3.10.13",
    "NVIDIA-NeMo__RL": "error: it needs CPython >=3.13.14, which no machine here has; uv made "
    "the lock from this pyproject.toml (the same commit), so it is current",
    "ByteDance-Seed__VeOmni": "error: its required-version is >=0.9.8,<0.13 and the suite's uv "
    "is newer; uv made the lock from this pyproject.toml (the same commit), so it is current",
    "pytorch__TensorRT": "error: its dependencies are dynamic, so uv must build it, which needs "
    "the network; uv made the lock from this pyproject.toml (the same commit), so it is current",
}


@cache
def _version(python: Path) -> str:
    out = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def interpreter_for(requires_python: str) -> Path | None:
    allowed = SpecifierSet(requires_python)
    for python in uv_interpreters():
        try:
            if allowed.contains(_version(python)):
                return python
        except (OSError, subprocess.CalledProcessError):
            continue
    return None


def uv_says(folder: Path, cache_dir: Path) -> str | None:
    """ "current" or "stale" as `uv lock --check --offline` says, or None when uv cannot check
    here (no interpreter requires-python admits, or another error)."""
    lock = parse_lock((folder / "uv.lock").read_text())
    python = interpreter_for(lock.requires_python or ">=3")
    if python is None:
        return None
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(cache_dir),
        "UV_CACHE_DIR": str(cache_dir / "uv"),
        "UV_PYTHON_DOWNLOADS": "never",
    }
    result = subprocess.run(
        [uv_binary(), "lock", "--check", "--offline", "--python", python],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
        return "current"
    # a stale lock makes uv resolve again: offline, that ends in "needs to be updated" or, with
    # what the cache lacks, "No solution found"; either way uv found the lock out of date
    if result.returncode == 1:
        return "stale"
    return None


def we_say(name: str, folder: Path) -> str:
    pyproject = (folder / "pyproject.toml").read_text()
    lock = parse_lock((folder / "uv.lock").read_text())
    found = staleness(
        plan_for(name), lock, parse_toml(pyproject, "pyproject.toml"), lock_file="uv.lock"
    )
    return "stale" if found.reasons else "current"


def copy_pair(name: str, into: Path) -> Path:
    folder = into / name
    folder.mkdir(parents=True)
    for file in ("pyproject.toml", "uv.lock"):
        shutil.copyfile(LOCKS / name / file, folder / file)
    return folder


def test_every_pair_has_specs() -> None:
    assert sorted({*PAIRS, *STALENESS_SPECS}) == corpus_names()


@pytest.mark.parametrize("name", corpus_names() or ["missing"])
def test_a_saved_pair_is_as_current_as_uv_says(name: str, tmp_path: Path) -> None:
    folder = copy_pair(name, tmp_path)
    uv = uv_says(folder, tmp_path)
    if uv is None:  # uv cannot check it on this machine: what it said when the pair was read
        uv = RECORDED[name].partition(":")[0]
        if uv == "error":
            uv = "current"
    assert we_say(name, folder) == uv


# Edited copies of pairs this interpreter can check: (pair, what changes, old text, new text).
EDITS = [
    (
        "fishaudio__fish-speech",
        "a pin in one extra",
        'cu128 = [\n  "torch==2.8.0",',
        'cu128 = [\n  "torch==2.8.1",',
    ),
    (
        "fishaudio__fish-speech",
        "an index's URL",
        'url = "https://download.pytorch.org/whl/cu128"',
        'url = "https://download.pytorch.org/whl/cu126"',
    ),
    (
        "fishaudio__fish-speech",
        "a new dependency",
        '    "torch==2.8.0",\n    "torchaudio==2.8.0",',
        '    "torch==2.8.0",\n    "torchaudio==2.8.0",\n    "requests>=2",',
    ),
    (
        "fishaudio__fish-speech",
        "a source keyed by extra, given a marker",
        'torch = [\n  { index = "pytorch-cpu", extra = "cpu" },',
        'torch = [\n  { index = "pytorch-cpu", extra = "cpu", '
        "marker = \"sys_platform == 'linux'\" },",
    ),
    ("fishaudio__fish-speech", "a comment", "[tool.uv.sources]\n", "[tool.uv.sources]\n# hi\n"),
    (
        "m-bain__whisperX",
        "the triton source's marker",
        'triton = [\n  { index = "pytorch", marker = "sys_platform == \'linux\'" },',
        'triton = [\n  { index = "pytorch", marker = "sys_platform == \'linux\' and '
        "platform_machine == 'x86_64'\" },",
    ),
    (
        "m-bain__whisperX",
        "an override",
        'override-dependencies = [\n    "torchcodec>=0.6.0,<0.8.0;',
        'override-dependencies = [\n    "torchcodec>=0.6.0,<0.9.0;',
    ),
    (
        "m-bain__whisperX",
        "requires-python",
        'requires-python = ">=3.10, <3.14"',
        'requires-python = ">=3.11, <3.14"',
    ),
    (
        "noahpro99__latent-model-recreation",
        "the conflicts",
        'conflicts = [[{ extra = "cpu" }, { extra = "cu124" }]]',
        "conflicts = []",
    ),
    (
        "nikopueringer__CorridorKey",
        "the ROCm Triton pin",
        '"pytorch-triton-rocm==3.4.0 ;',
        '"pytorch-triton-rocm==3.4.1 ;',
    ),
    (
        "nikopueringer__CorridorKey",
        "a dependency group",
        "[dependency-groups]\n",
        '[dependency-groups]\nextra-tools = ["requests>=2"]\n',
    ),
    (
        "noahpro99__latent-model-recreation",
        "the order of two requirements",
        'cpu = ["torch>=2.6.0", "torchvision>=0.21.0"]',
        'cpu = ["torchvision>=0.21.0", "torch>=2.6.0"]',
    ),
    (
        "matteospanio__torchfx",
        "a source's index",
        '{ index = "pytorch-cu124", marker = "sys_platform == \'linux\'" },\n]\ntorchvision',
        '{ index = "pytorch-cpu", marker = "sys_platform == \'linux\'" },\n]\ntorchvision',
    ),
]


@pytest.mark.parametrize(
    ("name", "what", "old", "new"), EDITS, ids=[f"{e[0].split('__')[1]}: {e[1]}" for e in EDITS]
)
def test_an_edited_pair_is_as_stale_as_uv_says(
    name: str, what: str, old: str, new: str, tmp_path: Path
) -> None:
    folder = copy_pair(name, tmp_path)
    path = folder / "pyproject.toml"
    text = path.read_text()
    assert text.count(old) == 1, what
    path.write_text(text.replace(old, new))
    uv = uv_says(folder, tmp_path)
    assert uv is not None, f"uv could not check {name} with {sys.executable}"
    assert we_say(name, folder) == uv, what
