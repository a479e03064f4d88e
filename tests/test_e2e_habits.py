"""End to end on an index laid out the way the real one is (and the way the release table's one
rule says): good locks verify under both tagging habits; damaged locks that `uv sync --locked`
would accept fail verify, naming the target, the package and the reason."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
from lock_texts import spec
from mirror import REAL_HABITS, TABLE_HABITS, Mirror
from projects import uv, uvtorch, write_project

pytestmark = pytest.mark.e2e

# aarch64 cpu and CUDA in one project (extras mode), with torchvision, at 2.7, 2.9 and 2.13.
GOOD = {
    "2.7.0": spec(
        "2.7.0",
        ["3.12"],
        [("linux-aarch64", "cpu"), ("linux-aarch64", "cu128")],
        packages=["torchvision"],
    ),
    "2.9.1": spec(
        "2.9.1",
        ["3.12"],
        [("linux-aarch64", "cpu"), ("linux-aarch64", "cu130"), ("linux-x86_64", "cu128")],
        packages=["torchvision"],
    ),
    "2.13.0": spec(
        "2.13.0",
        ["3.12"],
        [("linux-aarch64", "cpu"), ("linux-aarch64", "cu130")],
        packages=["torchvision", "torchaudio"],
    ),
}
VERSIONS = ("2.7.0", "2.9.1", "2.13.0")


@pytest.fixture(scope="module")
def table_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    """The index as the release table's single tagging rule would lay it out."""
    with Mirror(tmp_path_factory.mktemp("table-mirror"), VERSIONS, habits=TABLE_HABITS) as m:
        yield m


def locked(directory: Path, spec_text: str, env: dict[str, str]) -> Path:
    write_project(directory, spec_text)
    uvtorch(["render"], directory, env)
    uv(["lock"], directory, env)
    return directory


@pytest.mark.parametrize("habits", ["real", "table"])
@pytest.mark.parametrize("version", GOOD)
def test_good_locks_verify_under_both_habits(
    version: str, habits: str, mirror: Mirror, table_mirror: Mirror, tmp_path: Path
) -> None:
    served = mirror if habits == "real" else table_mirror
    assert served.habits == (REAL_HABITS if habits == "real" else TABLE_HABITS)
    env = served.uv_env(tmp_path / "uv-cache")
    project = locked(tmp_path / "project", GOOD[version], env)
    lock = (project / "uv.lock").read_text()
    if habits == "real" and version != "2.7.0":  # the index's irregular tags are in the lock
        assert f'version = "{version}+cpu"' in lock
    if habits == "real" and version == "2.9.1":
        assert 'name = "torchvision"\nversion = "0.24.1"\nsource = { registry = "' in lock
    result = uvtorch(["verify"], project, env)
    assert result.stdout.splitlines()[-1].startswith("ok: "), result.stdout


def test_init_at_2_13_locks_and_verifies(mirror: Mirror, tmp_path: Path) -> None:
    """`init --torch 2.13.0`, `uv lock`, `verify`: aarch64's +cpu torch is its build."""
    env = mirror.uv_env(tmp_path / "uv-cache")
    project = tmp_path / "fresh"
    project.mkdir()
    args = ["init", "--torch", "2.13.0", "--target", "linux-aarch64:cpu", "--python", "3.11"]
    uvtorch([*args, "--target", "linux-x86_64:cu130"], project, env)
    uv(["lock"], project, env)
    assert 'version = "2.13.0+cpu"' in (project / "uv.lock").read_text()
    assert uvtorch(["verify"], project, env).stdout.splitlines()[-1].startswith("ok: ")


# -- damaged locks ------------------------------------------------------------------------

DAMAGE_SPEC = spec(
    "2.9.1",
    ["3.12"],
    [("linux-x86_64", "cu128"), ("linux-aarch64", "cpu")],
    packages=["torchvision"],
)


@pytest.fixture(scope="module")
def damage_base(mirror: Mirror, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = mirror.uv_env(tmp_path_factory.mktemp("uv-cache"))
    project = locked(tmp_path_factory.mktemp("damage") / "project", DAMAGE_SPEC, env)
    assert uvtorch(["verify"], project, env).stdout.splitlines()[-1].startswith("ok: ")
    return project


@pytest.fixture
def another_port(mirror: Mirror) -> Iterator[str]:
    """The same files served from another port of 127.0.0.1: every hash in uv.lock matches."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(mirror.www))
    )
    thread = Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_torch_files_moved_to_another_port_fail(
    damage_base: Path, mirror: Mirror, another_port: str, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(damage_base, project)
    env = mirror.uv_env(tmp_path / "uv-cache")
    lock = project / "uv.lock"
    ours = f'url = "{mirror.index_url("cu128")}/torch-'
    text = lock.read_text()
    assert ours in text
    lock.write_text(text.replace(ours, f'url = "{another_port}/whl/cu128/torch-'))
    uv(["lock", "--check"], project, env)  # uv does not mind: the registry string is the same
    result = uvtorch(["verify"], project, env, expect=1)
    port = another_port.rsplit(":", 1)[1]
    wheel = "torch-2.9.1+cu128-cp312-cp312-manylinux_2_28_x86_64.whl"
    assert (
        f"linux-x86_64-cu128, Python 3.12, torch: {wheel} comes from another host "
        f"(127.0.0.1:{port}) than the index: {another_port}/whl/cu128/torch-2.9.1%2Bcu128-cp312"
    ) in result.stdout, result.stdout
    # the wheels of the Pythons no target runs are named too, under the files of the lock
    assert f"{another_port}/whl/cu128/torch-2.9.1%2Bcu128-cp313" in result.stdout
    assert "FAIL: 1 of 2 target x Python environments (linux-x86_64-cu128); " in result.stdout


def test_an_aarch64_cpu_source_pointing_at_cu128_fails(
    damage_base: Path, mirror: Mirror, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(damage_base, project)
    env = mirror.uv_env(tmp_path / "uv-cache")
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    aarch64 = "sys_platform == 'linux' and platform_machine == 'aarch64'"
    cpu_source = f'{{ index = "pytorch-cpu", marker = "{aarch64}" }}'
    assert cpu_source in text, text
    pyproject.write_text(
        text.replace(cpu_source, cpu_source.replace("pytorch-cpu", "pytorch-cu128"))
    )
    uv(["lock"], project, env)
    result = uvtorch(["verify"], project, env, expect=1)
    cu128, cpu = mirror.index_url("cu128"), mirror.index_url("cpu")
    for line in (
        f"linux-aarch64-cpu, Python 3.12, torch: comes from the cu128 index ({cu128}); "
        f"expected the cpu index ({cpu})",
        "linux-aarch64-cpu, Python 3.12, torch: local tag +cu128, expected +cpu or none: "
        "built for cu128, not cpu",
        "FAIL: 1 of 2 target x Python environments (linux-aarch64-cpu)",
    ):
        assert line in result.stdout, result.stdout


def test_a_stale_lock_fails(damage_base: Path, mirror: Mirror, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(damage_base, project)
    env = mirror.uv_env(tmp_path / "uv-cache")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('torch = "2.9.1"', 'torch = "2.7.0"'))
    uvtorch(["render"], project, env)
    result = uvtorch(["verify"], project, env, expect=1)
    assert (
        "torch on linux-x86_64: pyproject.toml declares torch==2.7.0 from "
        f"{mirror.index_url('cu128')}, uv.lock was locked with torch==2.9.1"
    ) in result.stdout, result.stdout
    assert result.stdout.splitlines()[-1].startswith("stale: uv.lock predates pyproject.toml")
