"""The documentation site builds with `mkdocs build --strict` (a broken link, a missing page or
an anchor that is not there fails), and the README's quick start works when pasted: into an
empty folder, through render, `uv lock`, `uv sync` and verify, against the local index."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mirror import Mirror
from projects import run, uv, uvtorch

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    pages = sorted(p.relative_to(ROOT / "docs") for p in (ROOT / "docs").rglob("*.md"))
    for page in pages:  # every page is in the navigation and was built
        built = tmp_path / page.with_suffix("") / "index.html"
        assert built.is_file() or (page.name == "index.md" and (tmp_path / "index.html").is_file())
    nav = (ROOT / "mkdocs.yml").read_text()
    assert all(str(page) in nav for page in pages)


@pytest.mark.e2e
def test_the_quick_start_works_pasted_into_an_empty_folder(tmp_path: Path, mirror: Mirror) -> None:
    (pyproject,) = re.findall(r"```toml\n(.*?)```", README, re.DOTALL)
    (commands,) = [
        block
        for block in re.findall(r"```console\n(.*?)```", README, re.DOTALL)
        if "uvtorch-ci render" in block and "uv lock" in block
    ]
    steps = [line.split("#", 1)[0].split() for line in commands.splitlines()]
    assert steps == [
        ["git", "init"],
        ["uvtorch-ci", "render"],
        ["uv", "lock"],
        ["uv", "sync"],
        ["uvtorch-ci", "verify"],
    ]
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(pyproject)
    env = mirror.uv_env(tmp_path / "uv-cache")  # UVTORCH_INDEX_URL: the local index
    env["UVTORCH_CI_CACHE_DIR"] = "off"
    run(["git", "init", "-q"], folder, env)
    rendered = uvtorch(["render"], folder, env)
    assert ".github/workflows/torch.yml: created" in rendered.stderr
    assert "next: uv lock, then uv sync" in rendered.stderr
    uv(["lock"], folder, env)
    synced = uv(["sync"], folder, env)
    if sys.platform == "linux" and platform.machine() == "x86_64":
        assert "torch==2.9.1+cu126" in synced.stderr
    verified = uvtorch(["verify"], folder, env)
    assert "each the build the spec asks for" in verified.stdout + verified.stderr
    smoke = uvtorch(["smoke", "--expect", "cu126"], folder, env)  # the synced environment
    assert "checking the project's environment" in smoke.stderr
