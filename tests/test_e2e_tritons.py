"""ROCm and XPU end to end, with real uv: render, `uv lock` and verify agree on the Triton
packages the torch wheels require (the mirror serves what real locks show), in both layouts of
the index: files beside the pages, and files on another host of the index (as
download.pytorch.org links download-r2.pytorch.org). Triton files sit under the index root."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from lock_texts import spec
from mirror import OTHER_HOST, SAME_HOST, Mirror
from projects import uv, uvtorch, write_project

pytestmark = pytest.mark.e2e

LINUX = "sys_platform == 'linux' and platform_machine == 'x86_64'"
# torch, backend -> the Triton requirements render writes: pinned where the release table
# confirms them (the facts real locks record), the name alone where it does not
CASES = {
    ("2.9.1", "rocm6.4"): ["pytorch-triton-rocm==3.5.1"],
    ("2.13.0", "rocm7.2"): ["triton-rocm==3.7.1"],  # and no pytorch-triton-rocm
    ("2.13.0", "xpu"): ["triton-xpu==3.7.2"],
    ("2.9.1", "xpu"): ["pytorch-triton-xpu"],  # not confirmed: uv takes torch's own pin
}
TORCHVISION = {"2.9.1": "0.24.1", "2.13.0": "0.28.0"}
# what uv locks for each of them: the version the (mirror's) torch wheel requires
LOCKED = {
    ("2.9.1", "rocm6.4"): {"pytorch-triton-rocm": "3.5.1"},
    ("2.13.0", "rocm7.2"): {"triton-rocm": "3.7.1"},
    ("2.13.0", "xpu"): {"triton-xpu": "3.7.2"},
    ("2.9.1", "xpu"): {"pytorch-triton-xpu": "3.5.0"},
}


@pytest.fixture(params=[SAME_HOST, OTHER_HOST])
def served(request: pytest.FixtureRequest) -> Mirror:
    name = "mirror" if request.param == SAME_HOST else "other_host_mirror"
    found: Mirror = request.getfixturevalue(name)
    assert found.layout == request.param
    return found


def rendered_and_locked(mirror: Mirror, root: Path, torch: str, backend: str) -> Path:
    env = mirror.uv_env(root / "uv-cache")
    body = spec(torch, ["3.12"], [("linux-x86_64", backend)], packages=["torchvision"])
    project = write_project(root / "project", body, requires_python=">=3.10")
    uvtorch(["render"], project, env)
    uv(["lock"], project, env)
    return project


def packages(project: Path, name: str) -> list[dict[str, Any]]:
    lock = tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))
    return [p for p in lock["package"] if p["name"] == name]


def verify_agrees(mirror: Mirror, project: Path, torch: str, backend: str) -> None:
    env = mirror.uv_env(project.parent / "uv-cache")
    # a failing verify shows its report in the assertion; online, every locked URL and hash
    # (Triton's under the index root, on whichever host) is one the index pages serve
    for online in ([], ["--online"]):
        result = uvtorch(["verify", *online], project, env)
        assert result.stdout.splitlines()[-1].startswith("ok: ")
    data = json.loads(uvtorch(["explain", "--json"], project, env).stdout)
    assert data["ok"] is True, data
    (target,) = data["targets"]
    checked = {p["package"]: p["version"] for p in target["packages"]}
    assert checked["torch"] == f"{torch}+{backend}"
    pinned = {t.partition("==")[0]: t.partition("==")[2] for t in CASES[(torch, backend)]}
    for name, version in LOCKED[(torch, backend)].items():
        if pinned.get(name):  # a confirmed pin is checked
            assert checked[name] == version


@pytest.mark.parametrize(("torch", "backend"), CASES)
def test_render_uv_lock_and_verify_agree_on_the_triton_torch_requires(
    served: Mirror, tmp_path: Path, torch: str, backend: str
) -> None:
    project = rendered_and_locked(served, tmp_path, torch, backend)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    tritons = [f"{t} ; {LINUX}" for t in CASES[(torch, backend)]]
    assert pyproject["project"]["dependencies"] == [
        f"torch=={torch}",
        f"torchvision=={TORCHVISION[torch]}",
        *tritons,
    ]
    sources = pyproject["tool"]["uv"]["sources"]
    for name in LOCKED[(torch, backend)]:
        assert sources[name] == [{"index": f"pytorch-{backend}", "marker": LINUX}]
    registry = served.index_url(backend)
    (torch_entry,) = [p for p in packages(project, "torch") if "+" in p["version"]]
    assert torch_entry["source"] == {"registry": registry}
    assert [d["name"] for d in torch_entry["dependencies"]] == list(LOCKED[(torch, backend)])
    for name, pinned in LOCKED[(torch, backend)].items():
        (entry,) = packages(project, name)
        assert entry["version"] == pinned
        assert entry["source"] == {"registry": registry}  # the pages of the backend's index
        for wheel in entry["wheels"]:
            filename = unquote(wheel["url"].rsplit("/", 1)[-1])
            # the file under the index root, on the host the pages link it on, with no size
            assert wheel["url"] == served.file_url(backend, filename)
            assert wheel["url"].startswith(f"{served.files_url}/whl/{name.replace('-', '_')}-")
            assert set(wheel) == {"url", "hash"}
    for wheel in torch_entry["wheels"]:
        assert wheel["url"].startswith(f"{served.files_url}/whl/{backend}/torch-")
        assert "size" not in wheel
    # a second Triton provider would install two `triton` modules: none is locked
    tritons_locked = {
        name
        for name in ("pytorch-triton-rocm", "triton-rocm", "pytorch-triton-xpu", "triton-xpu")
        if packages(project, name)
    }
    assert tritons_locked == set(LOCKED[(torch, backend)])
    verify_agrees(served, project, torch, backend)
    if served.layout == OTHER_HOST:  # its users name the other host (file-hosts) for verify
        env = served.uv_env(tmp_path / "uv-cache")
        assert env["UVTORCH_FILE_HOSTS"] == f"http://localhost:{served.port}/whl"
        del env["UVTORCH_FILE_HOSTS"]  # without it, every file is from a host the index is not
        result = uvtorch(["verify"], project, env, expect=1)
        assert f"from another host (localhost:{served.port})" in result.stdout
