"""The benchmark script runs end to end and reports every row (it times nothing here: the
suite stays independent of machine speed; `python benchmarks/run.py` is for numbers)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

ROWS = (
    "interpreter floor",
    "render --check (seed, up to date)",
    "render --check (seed, up to date, empty cache)",
    "render, 12 targets (writing)",
    "render, 12 targets (writing, empty cache)",
    "render, 60 targets (writing)",
    "verify, ",
    "verify, 1,000-package lock",
    "verify, 10,000-package lock",
    "verify peak memory, 10,000 packages",
    "verify, a 161 MB lock",
    "smoke --expect cpu (real torch)",
    "uvtorch-ci --help",
    "uvtorch-ci --version",
    "python -c 'import jinja2'",
)


@pytest.mark.e2e
def test_the_benchmark_runs_and_reports_every_row(tmp_path: Path) -> None:
    script = Path(sysconfig.get_path("scripts")) / "uvtorch-ci"
    assert script.exists(), "the package is installed (.ci/run installs it)"
    out = tmp_path / "results.md"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--repeat",
            "1",
            "--tool",
            str(script),
            "--out",
            str(out),
        ],
        env={**os.environ, "UVTORCH_CI_CACHE_DIR": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    table = out.read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    for name in ROWS:
        assert any(row.startswith(f"| {name}") for row in rows), (name, table)
    for row in rows[1:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 7, row
        assert cells[1].endswith((" ms", " MiB")), row
        assert cells[6] in ("yes", "no", "-"), row
