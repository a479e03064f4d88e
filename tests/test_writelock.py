"""One writer per project at a time (commands/writelock.py): render, init and upgrade wait for
each other, so an `upgrade --write` and a `render` at once never leave the spec of one and the
workflow of the other; a writer that holds the lock too long is named, and nothing written."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from projects import snapshot

from uvtorch_ci.commands.writelock import project_lock
from uvtorch_ci.errors import WriteError

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed"

# `render` with a pause after it read pyproject.toml and before it reads the generated files:
# the moment another writer could slip in. It says "read" on stdout when it gets there.
SLOW_RENDER = r"""
import sys, time
from uvtorch_ci.commands import render

real = render.read_project

def read_project(*args, **kwargs):
    texts = real(*args, **kwargs)
    print("read", flush=True)
    time.sleep(float(sys.argv[1]))
    return texts

render.read_project = read_project
from uvtorch_ci.commands.entry import main
sys.exit(main(["render"]))
"""

# holds the project's lock, as another writer would, until stdin closes
HOLDER = r"""
import sys
from pathlib import Path
from uvtorch_ci.commands.writelock import project_lock

with project_lock(Path(sys.argv[1]), "project"):
    print("holding", flush=True)
    sys.stdin.read()
"""


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UVTORCH_", "GITHUB_"))}
    return {**env, "UVTORCH_CI_CACHE_DIR": "off"}


def uvtorch(args: list[str], project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", *args],
        cwd=project,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@contextlib.contextmanager
def held_elsewhere(project: Path) -> Iterator[Callable[[], None]]:
    """Another process holds the project's lock until the block ends, or until the function
    the block gets is called."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(project)],
        env=environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdin is not None
        assert holder.stdout.readline() == "holding\n"
        try:
            yield holder.stdin.close
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "seed"
    shutil.copytree(SEED, copy)
    return copy


def test_an_upgrade_during_a_render_waits_for_it(project: Path) -> None:
    """The issue's race, forced: render has read the spec at 2.5.0 when `upgrade --write`
    moves it to 2.9.1. Without the lock the render then writes a 2.5.0 workflow over the
    upgrade's; with it the upgrade waits, and the project ends consistent at 2.9.1."""
    with subprocess.Popen(
        [sys.executable, "-c", SLOW_RENDER, "2"],
        cwd=project,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as render:
        assert render.stdout is not None
        assert render.stdout.readline() == "read\n"
        upgrade = uvtorch(["upgrade", "--torch", "2.9.1", "--write"], project)
        _, err = render.communicate(timeout=60)
    assert render.returncode == 0, err
    assert upgrade.returncode == 0, upgrade.stderr
    assert 'torch = "2.9.1"' in (project / "pyproject.toml").read_text()
    check = uvtorch(["render", "--check"], project)
    assert check.returncode == 0, check.stderr  # the workflow is the 2.9.1 spec's


@pytest.mark.parametrize(
    "args",
    [["render"], ["upgrade", "--torch", "2.9.1", "--write"], ["init", "--torch", "2.5.0"]],
)
def test_a_writer_waits_while_another_holds_the_lock(
    project: Path, tmp_path: Path, args: list[str]
) -> None:
    if args[0] == "init":  # a fresh folder: init locks it too
        shutil.rmtree(project)
        project.mkdir()
    else:
        pyproject = project / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace('"2.5.0"', '"2.5.1"', 1))
    with held_elsewhere(project) as release:
        before = snapshot(tmp_path)
        with subprocess.Popen(
            [sys.executable, "-m", "uvtorch_ci", *args],
            cwd=project,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as writer:
            time.sleep(1.5)
            assert writer.poll() is None  # still waiting
            assert snapshot(tmp_path) == before  # and nothing written meanwhile
            release()  # the other writer is done
            _, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert snapshot(tmp_path) != before


def test_a_check_does_not_wait(project: Path) -> None:
    """`render --check` writes nothing, so it takes no lock."""
    with project_lock(project, "project"):
        assert uvtorch(["render", "--check"], project).returncode == 0


def test_a_writer_held_up_too_long_is_named_and_writes_nothing(project: Path) -> None:
    with held_elsewhere(project):
        with pytest.raises(WriteError) as caught, project_lock(project, "seed", wait=0.3):
            pass
        assert str(caught.value) == (
            "seed: another uvtorch-ci process has been writing this project for 0.3 s; "
            "nothing was written\n  hint: let it finish (or stop it), then run this again"
        )


def test_the_lock_is_taken_once_per_process(project: Path) -> None:
    """upgrade renders while it holds the lock: the inner render must not wait for it."""
    with project_lock(project, "seed"), project_lock(project / ".", "seed", wait=0.1):
        pass
