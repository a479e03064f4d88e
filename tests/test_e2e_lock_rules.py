"""End to end, with real uv as the oracle: the lock reader follows uv's rules where real projects
lean on them. A default group that conflicts with the selected extra is not installed; a
requires-python with a patch floor still admits its minor Python; a base torch next to sources
keyed by extra is recorded without an index, and the lock is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lock_texts import spec
from mirror import Mirror
from projects import uv, uvtorch, write_project

pytestmark = pytest.mark.e2e

# two backends on Linux x86_64 (extras mode); no macOS, whose required environment a base
# torch from the cu124 extra's index could not serve
LINUX_EXTRAS = spec("2.5.0", ["3.12"], [("linux-x86_64", "cpu"), ("linux-x86_64", "cu124")])


@pytest.fixture(scope="module")
def env(mirror: Mirror, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return mirror.uv_env(tmp_path_factory.mktemp("uv-cache"))


def uv_installs_torch(project: Path, env: dict[str, str], *args: str) -> str:
    """The torch `uv sync` installs on Linux x86_64 with `args`, as uv itself says."""
    result = uv(
        ["sync", "--frozen", "--dry-run", "--python-platform", "x86_64-manylinux_2_28", *args],
        project,
        env,
    )
    found = re.search(r"\+ torch==(\S+)", result.stderr + result.stdout)
    assert found, result.stderr
    return found.group(1)


def test_a_default_group_that_conflicts_with_the_extra_fails_as_uv_refuses(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The project's default group routes torch to cu124 and conflicts with the cpu extra: uv
    refuses `uv sync --extra cpu` (it does not quietly leave the group out), so the cpu job would
    fail; verify says so, and reads the cpu job's torch with the group left out, not cu124's."""
    project = write_project(tmp_path / "demo", LINUX_EXTRAS)
    uvtorch(["render"], project, env)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    text = text.replace(
        "[tool.uv]\n",
        '[dependency-groups]\ngpu-tools = ["torch==2.5.0"]\n\n[tool.uv]\n'
        'default-groups = ["gpu-tools"]\n',
        1,
    )
    text = text.replace('{ extra = "cpu" },', '{ extra = "cpu" },\n    { group = "gpu-tools" },', 1)
    text = text.replace(
        "torch = [\n",
        'torch = [\n  { index = "pytorch-cu124", group = "gpu-tools" },\n',
        1,
    )
    pyproject.write_text(text)
    uv(["lock"], project, env)
    refused = uv(["sync", "--frozen", "--dry-run", "--extra", "cpu"], project, env, expect=2).stderr
    assert "group `gpu-tools` (enabled by default) are incompatible" in refused
    assert uv_installs_torch(project, env, "--extra", "cpu", "--no-group", "gpu-tools") == (
        "2.5.0+cpu"
    )
    assert uv_installs_torch(project, env) == "2.5.0+cu124"  # a bare sync takes the group
    result = uvtorch(["verify"], project, env, expect=1)
    assert (
        "linux-x86_64-cpu, Python 3.12: uv sync refuses this job: the default group 'gpu-tools' "
        "conflicts with the extra 'cpu'"
    ) in result.stdout
    assert "linux-x86_64-cpu    3.12    torch    2.5.0+cpu" in result.stdout
    assert "linux-x86_64-cu124  3.12    torch    2.5.0+cu124" in result.stdout


def test_a_patch_floor_still_admits_its_python(env: dict[str, str], tmp_path: Path) -> None:
    project = write_project(tmp_path / "demo", LINUX_EXTRAS, requires_python=">=3.11.4")
    uvtorch(["render"], project, env)
    uv(["lock"], project, env)
    uv(["lock", "--check"], project, env)  # uv: current
    result = uvtorch(["verify"], project, env)
    assert "excludes" not in result.stdout
    assert result.stdout.splitlines()[-1].startswith("ok: "), result.stdout


def test_a_base_torch_next_to_extra_keyed_sources_is_current(
    env: dict[str, str], tmp_path: Path
) -> None:
    """fish-speech's shape: torch in the project's dependencies and in each backend extra; uv
    records the base requirement without an index, and `uv lock --check` passes."""
    project = write_project(tmp_path / "demo", LINUX_EXTRAS)
    uvtorch(["render"], project, env)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace("dependencies = []", 'dependencies = ["torch==2.5.0"]', 1)
    )
    uv(["lock"], project, env)
    uv(["lock", "--check"], project, env)
    lock = (project / "uv.lock").read_text()
    assert '{ name = "torch", specifier = "==2.5.0" },' in lock  # the base one: no index
    result = uvtorch(["verify"], project, env)
    assert "stale" not in result.stdout, result.stdout
