"""`upgrade --write --lock` end to end: the seed (2.5.0, cu124) moved to 2.9.1 and to 2.13.0
renders, locks against the local mirror with the real uv, and verifies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mirror import Mirror
from projects import uvtorch

from uvtorch_ci.lock.reader import parse_lock
from uvtorch_ci.platforms import PLATFORMS

pytestmark = pytest.mark.e2e

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed"


@pytest.mark.parametrize("torch", ["2.9.1", "2.13.0"])
def test_seed_upgrades_renders_locks_and_verifies(
    torch: str, mirror: Mirror, tmp_path: Path
) -> None:
    env = mirror.uv_env(tmp_path / "cache")
    project = tmp_path / "seed"
    shutil.copytree(SEED, project)
    result = uvtorch(["upgrade", "--torch", torch, "--write", "--lock"], project, env)
    assert "cu124 -> cu126  >= 525.60.13" in result.stdout
    assert f"pyproject.toml: the spec moved to torch {torch}" in result.stderr
    assert "running: uv lock" in result.stderr
    text = (project / "pyproject.toml").read_text()
    assert f'torch = "{torch}"' in text
    assert 'backend = "cu126"' in text
    assert f'dependencies = ["torch=={torch}"]' in text
    assert "whl/cu124" not in text

    lock = parse_lock((project / "uv.lock").read_text())
    for platform, build, index in (
        ("linux-x86_64", f"{torch}+cu126", "cu126"),
        ("macos-arm64", torch, "cpu"),
        ("linux-aarch64", torch, "cpu"),
    ):
        found = lock.resolve(PLATFORMS[platform].marker_environment("3.12"))["torch"]
        assert found.source == mirror.index_url(index), platform
        assert found.version.split("+")[0] == build.split("+")[0], platform
        assert found.version == build or index == "cpu", platform
    # what CI runs: the generated check agrees, and verify passes on its own too
    uvtorch(["render", "--check"], project, env)
    uvtorch(["verify"], project, env)
    # a second upgrade to the same release has nothing to write
    again = uvtorch(["upgrade", "--torch", torch, "--write"], project, env)
    assert "nothing to write" in again.stdout
