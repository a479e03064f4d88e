"""The malformed-input corpus (tests/malformed/): every case exits 2 with its exact message on
stderr, prints no traceback, and leaves every file as it was."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from projects import snapshot

CORPUS = Path(__file__).resolve().parent / "malformed"
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))[
    "case"
]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_malformed_input_is_a_clean_error(tmp_path: Path, case: dict[str, Any]) -> None:
    project = tmp_path / "project"
    shutil.copytree(CORPUS / case["id"], project)
    (tmp_path / "outside").mkdir()  # nothing outside the project may change either
    before = snapshot(tmp_path, directories=True)
    env = {k: v for k, v in os.environ.items() if k not in ("UVTORCH_INDEX_URL", "GITHUB_ACTIONS")}
    env["UVTORCH_CI_CACHE_DIR"] = "off"  # the user's cache is the tool's to write, even here
    result = subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", *case["args"]],
        cwd=project,
        env={**env, **case.get("env", {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,  # a hang fails the case, not the suite
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr == case["stderr"]
    assert result.stdout == ""
    assert snapshot(tmp_path, directories=True) == before


def test_corpus_is_complete() -> None:
    """At least 40 cases, each with its directory, and every directory indexed."""
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 40
    directories = {p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert directories == set(ids)
    kinds = {case_id.split("-")[0] for case_id in ids}
    assert kinds == {"spec", "pyproject", "lock", "cli", "ci"}


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_message_names_the_place(case: dict[str, Any]) -> None:
    """A tool error names a file (or the environment variable) and a key, a line or the
    option; a usage error from click names the option or command. Under GitHub Actions the
    error comes first as one annotation line on the file it names."""
    lines = case["stderr"].splitlines()
    if lines[0].startswith("::error"):
        assert re.match(r"::error file=[^:,]+(,line=\d+(,col=\d+)?)?::\S", lines[0]), lines[0]
        lines = lines[1:]
    first = lines[0]
    if first.startswith("error: "):
        place = re.match(r"error: (\S+|the environment variable \w+): ", first)
        assert place, first
        assert len(lines) <= 5
    else:
        assert re.search(r"Error: .*('-[-\w]+'|'\w+'|\(\w+\))", case["stderr"]), case["stderr"]
