"""The local PyTorch/PyPI mirror: valid deterministic wheels, the real index layout and local
tags, fake builds that answer like real ones, and the real uv locking and syncing against it."""

from __future__ import annotations

import base64
import email.parser
import hashlib
import io
import json
import platform
import re
import subprocess
import sys
import tomllib
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote, unquote, urljoin, urlsplit
from urllib.request import Request, urlopen

import pytest
from mirror import (
    OTHER_HOST,
    REAL_HABITS,
    SAME_HOST,
    TABLE_HABITS,
    Habits,
    Mirror,
    build_wheel,
    release_wheels,
    uv_binary,
)
from mirror_tritons import SEEN
from packaging.metadata import Metadata
from packaging.utils import canonicalize_name, parse_wheel_filename

from uvtorch_ci.releases.table import load_table

LINUX_X86_64 = "sys_platform == 'linux' and platform_machine == 'x86_64'"
# The Requires-Dist markers of the Triton package in rocm and xpu torch metadata.
TRITON_LINUX = 'platform_system == "Linux" and platform_machine == "x86_64"'
TRITON_LINUX_WINDOWS = (
    '(platform_system == "Linux" and platform_machine == "x86_64") or '
    '(platform_system == "Windows" and platform_machine == "AMD64")'
)
# The fake torch 2.5.0 has wheels for CPython 3.9-3.12; `uv sync` installs for the running one.
installable_here = pytest.mark.skipif(
    not (
        sys.platform == "linux"
        and platform.machine() == "x86_64"
        and (3, 11) <= sys.version_info[:2] <= (3, 12)
    ),
    reason="syncs torch 2.5.0 wheels for Linux x86_64, CPython 3.11-3.12",
)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))


def fetch(url: str) -> bytes:
    with urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


def page_links(url: str) -> dict[str, dict[str, str | None]]:
    """The anchors of a simple-index page, keyed by the file (or project) name they point at,
    with `url` resolved to an absolute address."""
    parser = _Links()
    parser.feed(fetch(url).decode())
    links = {}
    for anchor in parser.anchors:
        href = anchor["href"]
        assert href is not None
        absolute = urljoin(url, href)
        links[unquote(urlsplit(absolute).path.rstrip("/").rsplit("/", 1)[-1])] = {
            **anchor,
            "url": absolute,
        }
    return links


def status(url: str) -> int:
    try:
        with urlopen(url, timeout=10) as response:
            code: int = response.status
            return code
    except HTTPError as error:
        error.close()
        return error.code


def test_mirror_module_imports_from_the_tests_directory() -> None:
    # tests/ has no __init__.py: pytest's default (prepend) import mode puts it on sys.path.
    assert Mirror.__module__ == "mirror"


# --- wheels ---------------------------------------------------------------------------------


def check_wheel(filename: str, data: bytes, metadata: bytes) -> None:
    name, version, _build, tags = parse_wheel_filename(filename)
    (tag,) = tags
    dist_info = f"{str(name).replace('-', '_')}-{version}.dist-info"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos)
        assert infos[-1].filename == f"{dist_info}/RECORD"
        files = {info.filename: archive.read(info) for info in infos}
    rows = [line.split(",") for line in files[f"{dist_info}/RECORD"].decode().splitlines()]
    assert {row[0] for row in rows} == set(files)
    for path, digest, size in rows:
        if path == f"{dist_info}/RECORD":
            assert (digest, size) == ("", "")
            continue
        algorithm, _, value = digest.partition("=")
        assert algorithm == "sha256"
        expected = hashlib.sha256(files[path]).digest()
        assert value == base64.urlsafe_b64encode(expected).rstrip(b"=").decode()
        assert int(size) == len(files[path])
    assert files[f"{dist_info}/METADATA"] == metadata
    parsed = Metadata.from_email(metadata, validate=True)
    assert (canonicalize_name(parsed.name), parsed.version) == (name, version)
    wheel_file = email.parser.BytesParser().parsebytes(files[f"{dist_info}/WHEEL"])
    assert wheel_file["Tag"] == str(tag)
    assert wheel_file["Wheel-Version"] == "1.0"


def test_every_served_wheel_is_valid(mirror: Mirror) -> None:
    wheels = mirror.wheels()
    assert len(wheels) > 1000
    for index in ("pypi", "cpu", "cu124"):
        for wheel in mirror.wheels(index):
            assert mirror.wheel_path(index, wheel.filename).read_bytes() == wheel.data
    for wheel in wheels:
        check_wheel(wheel.filename, wheel.data, wheel.metadata)


def test_wheels_are_byte_for_byte_reproducible(mirror: Mirror, tmp_path: Path) -> None:
    files = {"b/__init__.py": "", "a.py": "x = 1\n"}
    assert build_wheel("demo", "1.0", "py3-none-any", files).data == (
        build_wheel("demo", "1.0", "py3-none-any", dict(reversed(files.items()))).data
    )
    again = Mirror(tmp_path, ["2.5.0"])
    for index in ("pypi", "cpu", "cu124", "rocm6.2"):
        rebuilt = {w.filename: w.sha256 for w in again.wheels(index)}
        served = {w.filename: w.sha256 for w in mirror.wheels(index) if w.filename in rebuilt}
        assert rebuilt == served


# --- index pages ----------------------------------------------------------------------------


def expected_files(
    package: str, version: str, pythons: range, platforms: dict[str, str]
) -> set[str]:
    """Wheel names for `platforms` ({wheel platform tag: local tag or ''}) and CPython 3.<minor>."""
    return {
        f"{package}-{version}{'+' + local if local else ''}-cp3{minor}-cp3{minor}-{tag}.whl"
        for minor in pythons
        for tag, local in platforms.items()
    }


def listed(mirror: Mirror, index: str, package: str, version: str) -> set[str]:
    base = mirror.pypi_url if index == "pypi" else mirror.index_url(index)
    names = page_links(f"{base}/{package}/")
    return {  # the regular wheels: the free-threaded ones are a habit of their own (below)
        name
        for name in names
        if parse_wheel_filename(name)[1].public == version
        and not any(tag.abi.endswith("t") for tag in parse_wheel_filename(name)[3])
    }


@pytest.mark.parametrize(
    ("index", "package", "version", "pythons", "platforms"),
    [
        pytest.param(
            "cu124",
            "torch",
            "2.5.0",
            range(9, 13),
            {"manylinux_2_28_x86_64": "cu124", "win_amd64": "cu124"},
            id="cu124-linux-and-windows-only",
        ),
        pytest.param(
            "cpu",
            "torch",
            "2.5.0",
            range(9, 13),
            {
                "manylinux_2_28_x86_64": "cpu",
                "win_amd64": "cpu",
                "macosx_11_0_arm64": "",
                "manylinux_2_28_aarch64": "",
            },
            id="cpu-tags-only-linux-x86_64-and-windows",
        ),
        pytest.param(
            "cpu",
            "torchvision",
            "0.20.0",
            range(9, 13),
            {
                "manylinux_2_28_x86_64": "cpu",
                "win_amd64": "cpu",
                "macosx_11_0_arm64": "",
                "manylinux_2_28_aarch64": "",
            },
            id="cpu-companion-same-tags",
        ),
        pytest.param(
            "rocm6.2",
            "torch",
            "2.5.0",
            range(9, 13),
            {"manylinux_2_28_x86_64": "rocm6.2"},
            id="rocm-linux-only",
        ),
        pytest.param(
            "cu128",
            "torch",
            "2.7.0",
            range(9, 14),
            {
                "manylinux_2_28_x86_64": "cu128",
                "manylinux_2_28_aarch64": "cu128",
                "win_amd64": "cu128",
            },
            id="cu128-aarch64-sbsa",
        ),
        pytest.param(
            "xpu",
            "torchaudio",
            "2.11.0",
            range(10, 15),
            {"manylinux_2_28_x86_64": "xpu", "win_amd64": "xpu"},
            id="xpu-shared-torchaudio",
        ),
        pytest.param(
            "pypi",
            "torch",
            "2.5.0",
            range(9, 13),
            {
                "manylinux_2_28_x86_64": "",
                "manylinux_2_28_aarch64": "",
                "macosx_11_0_arm64": "",
                "win_amd64": "",
            },
            id="pypi-untagged",
        ),
    ],
)
def test_index_pages_use_the_real_local_tags(
    mirror: Mirror,
    index: str,
    package: str,
    version: str,
    pythons: range,
    platforms: dict[str, str],
) -> None:
    assert listed(mirror, index, package, version) == expected_files(
        package, version, pythons, platforms
    )


def test_backend_missing_from_a_release_is_not_listed(mirror: Mirror) -> None:
    assert listed(mirror, "cu124", "torch", "2.7.0") == set()
    assert listed(mirror, "cu126", "torch", "2.5.1") == set()  # astral-sh/uv#11931


def test_links_carry_file_and_metadata_hashes(mirror: Mirror) -> None:
    links = page_links(f"{mirror.index_url('cu124')}/torchvision/")
    anchor = links["torchvision-0.20.0+cu124-cp311-cp311-manylinux_2_28_x86_64.whl"]
    url = anchor["url"]
    assert url is not None
    assert urlsplit(url).path == (
        "/whl/cu124/torchvision-0.20.0%2Bcu124-cp311-cp311-manylinux_2_28_x86_64.whl"
    )
    location, _, fragment = url.partition("#")
    assert fragment == f"sha256={hashlib.sha256(fetch(location)).hexdigest()}"
    metadata = fetch(location + ".metadata")
    assert anchor["data-core-metadata"] == f"sha256={hashlib.sha256(metadata).hexdigest()}"
    assert anchor["data-requires-python"] == ">=3.9"
    assert b"Requires-Dist: torch==2.5.0+cu124\n" in metadata


def test_root_pages_list_packages_and_unknown_paths_are_404(mirror: Mirror) -> None:
    assert set(page_links(f"{mirror.index_url('cu124')}/")) == {
        "torch",
        "torchvision",
        "torchaudio",
        "xformers",  # 0.0.28.post2 and 0.0.29.post1, for torch 2.5.0 and 2.5.1
    }
    assert {"torch", "torchvision", "torchaudio"} <= set(page_links(f"{mirror.pypi_url}/"))
    assert status(f"{mirror.index_url('cu124')}/numpy/") == 404
    assert status(f"{mirror.index_url('cu999')}/torch/") == 404
    assert status(f"{mirror.pytorch_url}/") == 404  # no directory listings
    assert status(f"{mirror.index_url('cpu')}/torch/") == 200


def test_added_pypi_package_is_served(mirror: Mirror) -> None:
    first = mirror.add_pypi_package("Fake.NumPy", "2.0.0", requires=["six"])
    assert mirror.add_pypi_package("Fake.NumPy", "2.0.0", requires=["six"]) == first
    links = page_links(f"{mirror.pypi_url}/fake-numpy/")
    assert list(links) == ["fake_numpy-2.0.0-py3-none-any.whl"]
    url = links[first.filename]["url"]
    assert url is not None
    check_wheel(first.filename, fetch(url.partition("#")[0]), first.metadata)
    assert "fake-numpy" in page_links(f"{mirror.pypi_url}/")


@pytest.mark.parametrize(
    ("index", "package", "version", "pythons", "platforms"),
    [
        pytest.param(
            "rocm6.2",
            "pytorch-triton-rocm",
            "3.1.0",
            range(9, 13),
            {"manylinux_2_28_x86_64": ""},
            id="rocm-2.5",
        ),
        pytest.param(
            "rocm6.1",  # shared by torch 2.4 and 2.5; only 2.5 is in the default set
            "pytorch-triton-rocm",
            "3.1.0",
            range(9, 13),
            {"manylinux_2_28_x86_64": ""},
            id="rocm-shared-index",
        ),
        pytest.param(
            "rocm7.2",
            "triton-rocm",
            "3.7.1",  # what real locks show torch 2.13.0+rocm7.2 requiring
            range(10, 15),
            {"manylinux_2_28_x86_64": ""},
            id="rocm-renamed-2.13",
        ),
        pytest.param(
            "xpu",
            "pytorch-triton-xpu",
            "3.1.0",
            range(9, 13),
            {"manylinux_2_28_x86_64": ""},
            id="xpu-2.5-linux-only",
        ),
        pytest.param(
            "xpu",
            "pytorch-triton-xpu",
            "3.3.0",
            range(9, 14),
            {"manylinux_2_28_x86_64": "", "win_amd64": ""},
            id="xpu-2.7-linux-and-windows",
        ),
        pytest.param(
            "xpu",
            "triton-xpu",
            "3.7.2",  # what real locks show torch 2.13.0+xpu requiring
            range(10, 15),
            {"manylinux_2_28_x86_64": "", "win_amd64": ""},
            id="xpu-renamed-2.13",
        ),
    ],
)
def test_pytorch_index_serves_the_triton_of_its_builds(
    mirror: Mirror,
    index: str,
    package: str,
    version: str,
    pythons: range,
    platforms: dict[str, str],
) -> None:
    dist = package.replace("-", "_")
    assert listed(mirror, index, package, version) == expected_files(
        dist, version, pythons, platforms
    )
    assert package in page_links(f"{mirror.index_url(index)}/")


def test_triton_is_on_no_other_index(mirror: Mirror) -> None:
    tritons = ("pytorch-triton-rocm", "triton-rocm", "pytorch-triton-xpu", "triton-xpu")
    for package in tritons:
        assert status(f"{mirror.pypi_url}/{package}/") == 404
        assert status(f"{mirror.index_url('cu124')}/{package}/") == 404
        assert status(f"{mirror.index_url('cpu')}/{package}/") == 404
        assert mirror.wheels("pypi", package) == []
    assert not set(tritons) & set(page_links(f"{mirror.pypi_url}/"))
    assert set(page_links(f"{mirror.index_url('rocm6.2')}/")) == {
        "torch",
        "torchvision",
        "torchaudio",
        "pytorch-triton-rocm",
    }
    assert status(f"{mirror.index_url('rocm6.2')}/pytorch-triton-xpu/") == 404
    assert status(f"{mirror.index_url('xpu')}/pytorch-triton-rocm/") == 404


def test_triton_files_sit_under_the_index_root(mirror: Mirror) -> None:
    filename = "pytorch_triton_rocm-3.1.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    # torch 2.5.0's two rocm indexes list one Triton build, kept once under /whl/
    urls = {
        page_links(f"{mirror.index_url(index)}/pytorch-triton-rocm/")[filename]["url"]
        for index in ("rocm6.1", "rocm6.2")
    }
    (url,) = urls
    assert url is not None
    location, _, fragment = url.partition("#")
    assert location == f"{mirror.url}/whl/{filename}" == mirror.file_url("rocm6.2", filename)
    assert fragment == f"sha256={hashlib.sha256(fetch(location)).hexdigest()}"
    assert mirror.wheel_path("rocm6.2", filename) == mirror.www / "whl" / filename
    assert status(f"{mirror.index_url('rocm6.2')}/{filename}") == 404  # not in the folder
    torch = "torch-2.5.0%2Brocm6.2-cp311-cp311-manylinux_2_28_x86_64.whl"
    assert mirror.file_url("rocm6.2", unquote(torch)) == f"{mirror.index_url('rocm6.2')}/{torch}"


def test_pages_are_html_with_hashes_and_metadata_and_no_size(mirror: Mirror) -> None:
    for index, package in (("cu124", "torch"), ("rocm6.2", "pytorch-triton-rocm")):
        url = f"{mirror.index_url(index)}/{package}/"
        anchors = page_links(url)
        assert anchors
        for anchor in anchors.values():
            href = anchor["href"]
            assert href is not None
            assert re.search(r"#sha256=[0-9a-f]{64}$", href)
            assert anchor["data-core-metadata"] == anchor["data-dist-info-metadata"]
            assert not {name for name in anchor if "size" in name}  # uv.lock records no size
        # HTML only, whatever the client prefers (PEP 691 JSON is not offered)
        request = Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urlopen(request, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/html")
            assert response.read().startswith(b"<!DOCTYPE html>")


def test_the_default_layout_links_files_beside_the_pages(mirror: Mirror) -> None:
    assert mirror.layout == SAME_HOST
    assert mirror.files_url == mirror.url
    page = fetch(f"{mirror.index_url('cu124')}/torch/").decode()
    assert 'href="/whl/cu124/torch-2.5.0%2Bcu124-cp311-cp311-win_amd64.whl#sha256=' in page


def test_the_other_host_layout_links_files_on_localhost(other_host_mirror: Mirror) -> None:
    mirror = other_host_mirror
    assert mirror.layout == OTHER_HOST
    assert mirror.url == f"http://127.0.0.1:{mirror.port}"  # where the pages are
    assert mirror.files_url == f"http://localhost:{mirror.port}"  # where they link the files
    cases = (
        ("cu124", "torch", "torch-2.5.0+cu124-cp311-cp311-win_amd64.whl", "/whl/cu124/"),
        (
            "rocm6.2",
            "pytorch-triton-rocm",
            "pytorch_triton_rocm-3.1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
            "/whl/",
        ),
    )
    for index, package, filename, folder in cases:
        url = page_links(f"{mirror.index_url(index)}/{package}/")[filename]["url"]
        assert url is not None
        location, _, fragment = url.partition("#")
        assert location == f"http://localhost:{mirror.port}{folder}{quote(filename)}"
        assert location == mirror.file_url(index, filename)
        assert fragment == f"sha256={hashlib.sha256(fetch(location)).hexdigest()}"
        assert fetch(location + ".metadata") == mirror.wheel(index, filename).metadata
    # the fake PyPI keeps its files beside its pages
    mirror.add_pypi_package("other-host-probe", "1.0")
    (anchor,) = page_links(f"{mirror.pypi_url}/other-host-probe/").values()
    assert str(anchor["url"]).startswith(f"{mirror.url}/packages/")


@pytest.mark.parametrize(("torch", "backend"), sorted(SEEN))
def test_torch_requires_the_triton_real_locks_show(torch: str, backend: str) -> None:
    # the mirror's own data, not the release table's: a wrong table must not go unnoticed
    table = load_table()
    release = table.get(torch)
    assert release is not None
    backends = [
        b
        for b in release.builds["linux-x86_64"]
        if b == backend or (backend == "rocm" and b.startswith("rocm"))
    ]
    assert backends
    wheels = release_wheels(table, release)
    for index in backends:
        (first, *_) = wheels[(index, "torch")]
        metadata = Metadata.from_email(first.metadata)
        required = {(str(r.name), str(r.specifier)) for r in metadata.requires_dist or []}
        assert required == {(name, f"=={pinned}") for name, pinned in SEEN[(torch, backend)]}
        for name, pinned in SEEN[(torch, backend)]:
            assert {str(parse_wheel_filename(w.filename)[1]) for w in wheels[(index, name)]} == {
                pinned
            }


# --- the fake builds ------------------------------------------------------------------------

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import torch
print(json.dumps({
    "version": torch.__version__,
    "cuda": torch.version.cuda,
    "hip": torch.version.hip,
    "xpu": torch.version.xpu,
    "mps_built": torch.backends.mps.is_built(),
    "mps_available": torch.backends.mps.is_available(),
    "cuda_available": torch.cuda.is_available(),
    "devices": torch.cuda.device_count(),
    "fake": torch._uvtorch_fake,
}))
"""


def probe(mirror: Mirror, tmp_path: Path, index: str, *filenames: str) -> dict[str, Any]:
    for filename in filenames:
        with zipfile.ZipFile(io.BytesIO(mirror.wheel(index, filename).data)) as archive:
            archive.extractall(tmp_path)
    result = subprocess.run(
        [sys.executable, "-I", "-c", PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


@pytest.mark.parametrize(
    ("index", "filename", "version", "cuda", "hip", "platform", "backend"),
    [
        (
            "cu124",
            "torch-2.5.0+cu124-cp311-cp311-manylinux_2_28_x86_64.whl",
            "2.5.0+cu124",
            "12.4",
            None,
            "linux-x86_64",
            "cu124",
        ),
        (
            "cpu",
            "torch-2.5.0-cp311-cp311-macosx_11_0_arm64.whl",
            "2.5.0",
            None,
            None,
            "macos-arm64",
            "cpu",
        ),
        (
            "cpu",
            "torch-2.5.0+cpu-cp311-cp311-win_amd64.whl",
            "2.5.0+cpu",
            None,
            None,
            "windows-x86_64",
            "cpu",
        ),
        (
            "rocm6.2",
            "torch-2.5.0+rocm6.2-cp311-cp311-manylinux_2_28_x86_64.whl",
            "2.5.0+rocm6.2",
            None,
            "6.2",
            "linux-x86_64",
            "rocm6.2",
        ),
        (
            "cu130",
            "torch-2.13.0+cu130-cp314-cp314-manylinux_2_28_aarch64.whl",
            "2.13.0+cu130",
            "13.0",
            None,
            "linux-aarch64",
            "cu130",
        ),
        (
            "pypi",
            "torch-2.5.0-cp311-cp311-manylinux_2_28_x86_64.whl",
            "2.5.0",
            "12.4",
            None,
            "linux-x86_64",
            "cu124",
        ),
        (
            "pypi",
            "torch-2.13.0-cp312-cp312-manylinux_2_28_aarch64.whl",
            "2.13.0",
            "13.0",
            None,
            "linux-aarch64",
            "cu130",
        ),
        (
            "pypi",
            "torch-2.5.0-cp311-cp311-win_amd64.whl",
            "2.5.0",
            None,
            None,
            "windows-x86_64",
            "cpu",
        ),
    ],
)
def test_fake_torch_answers_like_the_real_build(
    mirror: Mirror,
    tmp_path: Path,
    index: str,
    filename: str,
    version: str,
    cuda: str | None,
    hip: str | None,
    platform: str,
    backend: str,
) -> None:
    answer = probe(mirror, tmp_path, index, filename)
    assert answer == {
        "version": version,
        "cuda": cuda,
        "hip": hip,
        "xpu": None,
        "mps_built": platform.startswith("macos"),
        "mps_available": False,
        "cuda_available": False,
        "devices": 0,
        "fake": {"backend": backend, "platform": platform, "index": index, "package": "torch"},
    }


def test_fake_xpu_build_reports_xpu(mirror: Mirror, tmp_path: Path) -> None:
    answer = probe(mirror, tmp_path, "xpu", "torch-2.7.0+xpu-cp311-cp311-win_amd64.whl")
    assert answer["xpu"] is not None
    assert answer["cuda"] is None


@pytest.mark.parametrize(
    ("index", "filename", "requirement"),
    [
        (
            "cu124",
            "torchvision-0.20.0+cu124-cp311-cp311-manylinux_2_28_x86_64.whl",
            "torch==2.5.0+cu124",
        ),
        ("cpu", "torchvision-0.20.0-cp311-cp311-macosx_11_0_arm64.whl", "torch==2.5.0"),
        ("cpu", "torchaudio-2.5.0+cpu-cp311-cp311-win_amd64.whl", "torch==2.5.0+cpu"),
        ("pypi", "torchvision-0.20.0-cp311-cp311-manylinux_2_28_x86_64.whl", "torch==2.5.0"),
        # torchaudio 2.11.0 serves torch 2.11 onwards: a floor, not a pin
        ("cu130", "torchaudio-2.11.0+cu130-cp312-cp312-manylinux_2_28_x86_64.whl", "torch>=2.11.0"),
    ],
)
def test_companions_require_their_torch(
    mirror: Mirror, index: str, filename: str, requirement: str
) -> None:
    metadata = Metadata.from_email(mirror.wheel(index, filename).metadata)
    assert [str(r) for r in metadata.requires_dist or []] == [requirement]


@pytest.mark.parametrize(
    ("index", "filename", "requirements"),
    [
        (
            "rocm6.2",
            "torch-2.5.0+rocm6.2-cp311-cp311-manylinux_2_28_x86_64.whl",
            [f"pytorch-triton-rocm==3.1.0; {TRITON_LINUX}"],
        ),
        (  # triton-rocm alone (so101-nexus's lock), not pytorch-triton-rocm as well
            "rocm7.2",
            "torch-2.13.0+rocm7.2-cp312-cp312-manylinux_2_28_x86_64.whl",
            [f"triton-rocm==3.7.1; {TRITON_LINUX}"],
        ),
        (  # 2.5.1's Windows xpu build requires no Triton (Stanley5249/torch-test-xpu's lock)
            "xpu",
            "torch-2.5.1+xpu-cp312-cp312-win_amd64.whl",
            [f"pytorch-triton-xpu==3.1.0; {TRITON_LINUX}"],
        ),
        (
            "xpu",
            "torch-2.13.0+xpu-cp312-cp312-win_amd64.whl",
            [f"triton-xpu==3.7.2; {TRITON_LINUX_WINDOWS}"],
        ),
        (
            "xpu",
            "torch-2.5.0+xpu-cp311-cp311-manylinux_2_28_x86_64.whl",
            [f"pytorch-triton-xpu==3.1.0; {TRITON_LINUX}"],
        ),
        (
            "xpu",
            "torch-2.7.0+xpu-cp311-cp311-win_amd64.whl",
            [f"pytorch-triton-xpu==3.3.0; {TRITON_LINUX_WINDOWS}"],
        ),
        (
            "xpu",
            "torch-2.7.0+xpu-cp311-cp311-manylinux_2_28_x86_64.whl",
            [f"pytorch-triton-xpu==3.3.0; {TRITON_LINUX_WINDOWS}"],
        ),
        ("cu124", "torch-2.5.0+cu124-cp311-cp311-manylinux_2_28_x86_64.whl", []),
        ("cpu", "torch-2.5.0+cpu-cp311-cp311-win_amd64.whl", []),
        ("pypi", "torch-2.5.0-cp311-cp311-manylinux_2_28_x86_64.whl", []),
    ],
)
def test_rocm_and_xpu_torch_require_their_triton(
    mirror: Mirror, index: str, filename: str, requirements: list[str]
) -> None:
    metadata = Metadata.from_email(mirror.wheel(index, filename).metadata)
    assert [str(r) for r in metadata.requires_dist or []] == requirements


def test_companions_of_rocm_builds_do_not_require_triton(mirror: Mirror) -> None:
    filename = "torchvision-0.20.0+rocm6.2-cp311-cp311-manylinux_2_28_x86_64.whl"
    metadata = Metadata.from_email(mirror.wheel("rocm6.2", filename).metadata)
    assert [str(r) for r in metadata.requires_dist or []] == ["torch==2.5.0+rocm6.2"]


def test_fake_triton_is_a_triton_module(mirror: Mirror, tmp_path: Path) -> None:
    filename = "pytorch_triton_rocm-3.1.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    wheel = mirror.wheel("rocm6.2", filename)
    metadata = Metadata.from_email(wheel.metadata)
    assert (metadata.name, str(metadata.version)) == ("pytorch-triton-rocm", "3.1.0")
    assert metadata.requires_dist is None
    with zipfile.ZipFile(io.BytesIO(wheel.data)) as archive:
        archive.extractall(tmp_path)
    code = "import sys; sys.path.insert(0, sys.argv[1]); import triton; print(triton.__version__)"
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "3.1.0"


def test_fake_torchvision_reports_version_and_cuda(mirror: Mirror, tmp_path: Path) -> None:
    tag = "cp311-cp311-manylinux_2_28_x86_64"
    for filename in (f"torch-2.5.0+cu124-{tag}.whl", f"torchvision-0.20.0+cu124-{tag}.whl"):
        with zipfile.ZipFile(io.BytesIO(mirror.wheel("cu124", filename).data)) as archive:
            archive.extractall(tmp_path)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import torchvision; "
        "print(torchvision.__version__, torchvision.version.cuda)"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["0.20.0+cu124", "12.4"]


def test_uv_env_is_hermetic(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_INDEX_URL", "https://example.invalid/simple")
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "elsewhere"))
    env = mirror.uv_env(tmp_path / "cache")
    assert "UV_OFFLINE" not in env
    assert "UV_INDEX_URL" not in env
    assert "VIRTUAL_ENV" not in env
    assert env["UV_DEFAULT_INDEX"] == mirror.pypi_url
    assert env["UVTORCH_INDEX_URL"] == mirror.pytorch_url
    assert env["UV_CACHE_DIR"] == str(tmp_path / "cache")
    assert env["UV_PYTHON"] == sys.executable
    assert env["UV_PYTHON_DOWNLOADS"] == "never"
    assert not any(Path(env["XDG_CONFIG_HOME"]).iterdir())
    assert "UV_NO_CONFIG" not in env
    assert mirror.uv_env(tmp_path, no_config=True)["UV_NO_CONFIG"] == "1"


# --- real uv --------------------------------------------------------------------------------


def write_project(root: Path, dependencies: list[str], tool_uv: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        "[project]\n"
        'name = "demo"\n'
        'version = "0.1.0"\n'
        'requires-python = ">=3.11"\n'
        f"dependencies = {json.dumps(dependencies)}\n" + tool_uv,
        encoding="utf-8",
    )
    return root


def pytorch_index(mirror: Mirror, backend: str, *packages: str, marker: str | None = None) -> str:
    """`[tool.uv]` text routing `packages` to the explicit index of `backend`."""
    when = f', marker = "{marker}"' if marker else ""
    sources = "".join(
        f'{package} = [{{ index = "pytorch-{backend}"{when} }}]\n' for package in packages
    )
    return (
        f'\n[[tool.uv.index]]\nname = "pytorch-{backend}"\nurl = "{mirror.index_url(backend)}"\n'
        f"explicit = true\n\n[tool.uv.sources]\n{sources}"
    )


def run_uv(
    mirror: Mirror, project: Path, *args: str, no_config: bool = False
) -> subprocess.CompletedProcess[str]:
    env = mirror.uv_env(project.parent / "uv-cache", no_config=no_config)
    return subprocess.run(
        [str(uv_binary()), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def uv(mirror: Mirror, project: Path, *args: str, no_config: bool = False) -> str:
    result = run_uv(mirror, project, *args, no_config=no_config)
    assert result.returncode == 0, f"uv {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def locked(project: Path, name: str) -> dict[str, dict[str, Any]]:
    """The `[[package]]` entries of `name` in uv.lock, by version."""
    lock = tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))
    return {p["version"]: p for p in lock["package"] if p["name"] == name}


def venv_python(project: Path, code: str) -> str:
    python = project / ".venv" / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.e2e
@installable_here
def test_uv_locks_and_syncs_the_cu124_build(mirror: Mirror, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "demo",
        ["torch==2.5.0"],
        pytorch_index(mirror, "cu124", "torch", marker=LINUX_X86_64),
    )
    uv(mirror, project, "lock")
    torch = locked(project, "torch")
    assert set(torch) == {"2.5.0", "2.5.0+cu124"}
    assert torch["2.5.0+cu124"]["source"] == {"registry": mirror.index_url("cu124")}
    assert torch["2.5.0"]["source"] == {"registry": mirror.pypi_url}
    assert {Path(urlsplit(w["url"]).path).name for w in torch["2.5.0+cu124"]["wheels"]} == {
        "torch-2.5.0%2Bcu124-cp311-cp311-manylinux_2_28_x86_64.whl",
        "torch-2.5.0%2Bcu124-cp312-cp312-manylinux_2_28_x86_64.whl",
    }

    uv(mirror, project, "sync", "--locked")
    code = (
        "import torch; print(torch.__version__, torch.version.cuda, torch._uvtorch_fake['index'])"
    )
    assert venv_python(project, code) == "2.5.0+cu124 12.4 cu124"


@pytest.mark.e2e
@installable_here
def test_uv_without_sources_gets_the_plain_pypi_build(mirror: Mirror, tmp_path: Path) -> None:
    project = write_project(tmp_path / "plain", ["torch==2.5.0"])
    uv(mirror, project, "sync")
    torch = locked(project, "torch")
    assert list(torch) == ["2.5.0"]
    assert torch["2.5.0"]["source"] == {"registry": mirror.pypi_url}
    code = (
        "import torch; print(torch.__version__, torch.version.cuda, torch._uvtorch_fake['index'])"
    )
    assert venv_python(project, code) == "2.5.0 12.4 pypi"


@pytest.mark.e2e
@installable_here
def test_uv_pairs_companions_with_the_tagged_torch(mirror: Mirror, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "vision",
        ["torch==2.5.0", "torchvision==0.20.0"],
        pytorch_index(mirror, "cu124", "torch", "torchvision", marker=LINUX_X86_64),
    )
    uv(mirror, project, "sync")
    vision = locked(project, "torchvision")
    assert vision["0.20.0+cu124"]["dependencies"] == [
        {
            "name": "torch",
            "version": "2.5.0+cu124",
            "source": {"registry": mirror.index_url("cu124")},
        }
    ]
    code = "import torchvision; print(torchvision.__version__, torchvision.version.cuda)"
    assert venv_python(project, code) == "0.20.0+cu124 12.4"


@pytest.mark.e2e
def test_uv_forks_the_cpu_index_by_local_tag(mirror: Mirror, tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "cpu",
        ["torch==2.5.0", "torchvision==0.20.0"],
        pytorch_index(mirror, "cpu", "torch", "torchvision"),
    )
    uv(mirror, project, "lock")
    assert set(locked(project, "torch")) == {"2.5.0", "2.5.0+cpu"}
    expected = {
        "x86_64-unknown-linux-gnu": "v2.5.0+cpu",
        "x86_64-pc-windows-msvc": "v2.5.0+cpu",
        "aarch64-unknown-linux-gnu": "v2.5.0",
        "aarch64-apple-darwin": "v2.5.0",
    }
    for triple, version in expected.items():
        tree = uv(mirror, project, "tree", "--frozen", "--depth", "1", "--python-platform", triple)
        assert f"torch {version}\n" in tree, (triple, tree)


@pytest.mark.e2e
def test_uv_moves_past_404_from_a_non_explicit_pytorch_index(
    mirror: Mirror, tmp_path: Path
) -> None:
    mirror.add_pypi_package("six", "1.16.0")
    index = f'\n[[tool.uv.index]]\nname = "pytorch-cu124"\nurl = "{mirror.index_url("cu124")}"\n'
    project = write_project(tmp_path / "six", ["six", "torch==2.5.0"], index)
    uv(mirror, project, "lock")
    assert locked(project, "six")["1.16.0"]["source"] == {"registry": mirror.pypi_url}
    assert set(locked(project, "torch")) == {"2.5.0+cu124"}  # first-index: cu124 wins


@pytest.mark.e2e
def test_uv_no_config_also_drops_project_resolver_settings(mirror: Mirror, tmp_path: Path) -> None:
    # Why uv_env isolates user config with XDG_CONFIG_HOME rather than UV_NO_CONFIG.
    project = write_project(
        tmp_path / "lowest", ["torch>=2.5.0"], '\n[tool.uv]\nresolution = "lowest"\n'
    )
    uv(mirror, project, "lock")
    assert set(locked(project, "torch")) == {"2.5.0"}
    uv(mirror, project, "lock", "--upgrade", no_config=True)
    assert set(locked(project, "torch")) == {"2.13.0"}


# --- real uv: the Triton package of rocm and xpu builds ---------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("backend", "triton"),
    [("rocm6.2", "pytorch-triton-rocm"), ("xpu", "pytorch-triton-xpu")],
)
def test_uv_cannot_lock_torch_alone_from_a_rocm_or_xpu_index(
    mirror: Mirror, tmp_path: Path, backend: str, triton: str
) -> None:
    # torch==2.5.0+<backend> requires its Triton, which PyPI does not have (uv#10712, #14129).
    project = write_project(
        tmp_path / "alone",
        ["torch==2.5.0"],
        pytorch_index(mirror, backend, "torch", marker=LINUX_X86_64),
    )
    result = run_uv(mirror, project, "lock")
    assert result.returncode != 0, result.stdout
    assert triton in result.stderr
    assert not (project / "uv.lock").exists()


def triton_project(mirror: Mirror, root: Path, backend: str, triton: str, marker: str) -> Path:
    """torch==2.5.0 plus its Triton, both routed to the `backend` index under `marker`."""
    return write_project(
        root,
        ["torch==2.5.0", f"{triton}; {marker}"],
        pytorch_index(mirror, backend, "torch", triton, marker=marker),
    )


@pytest.mark.e2e
def test_uv_locks_rocm_torch_with_its_triton_routed(mirror: Mirror, tmp_path: Path) -> None:
    project = triton_project(
        mirror, tmp_path / "rocm", "rocm6.2", "pytorch-triton-rocm", LINUX_X86_64
    )
    uv(mirror, project, "lock")
    registry = {"registry": mirror.index_url("rocm6.2")}
    torch = locked(project, "torch")
    assert set(torch) == {"2.5.0", "2.5.0+rocm6.2"}
    assert torch["2.5.0+rocm6.2"]["source"] == registry
    # Inside the linux-x86_64 fork uv simplifies the requirement's marker away.
    assert torch["2.5.0+rocm6.2"]["dependencies"] == [{"name": "pytorch-triton-rocm"}]
    assert torch["2.5.0"]["source"] == {"registry": mirror.pypi_url}
    triton = locked(project, "pytorch-triton-rocm")
    assert list(triton) == ["3.1.0"]
    assert triton["3.1.0"]["source"] == registry
    assert {Path(urlsplit(w["url"]).path).name for w in triton["3.1.0"]["wheels"]} == {
        "pytorch_triton_rocm-3.1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
        "pytorch_triton_rocm-3.1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
    }


@pytest.mark.e2e
@installable_here
def test_uv_syncs_rocm_torch_and_its_triton(mirror: Mirror, tmp_path: Path) -> None:
    project = triton_project(
        mirror, tmp_path / "rocm", "rocm6.2", "pytorch-triton-rocm", LINUX_X86_64
    )
    uv(mirror, project, "sync")
    code = (
        "import importlib.metadata as m, torch, triton; "
        "print(torch.__version__, torch.version.hip, triton.__version__, "
        "m.version('pytorch-triton-rocm'), triton._uvtorch_fake['index'])"
    )
    # the Triton file is the one every rocm index shares, under the index root
    assert venv_python(project, code) == "2.5.0+rocm6.2 6.2 3.1.0 3.1.0 whl"


@pytest.mark.e2e
def test_uv_locks_xpu_torch_with_its_triton_routed(mirror: Mirror, tmp_path: Path) -> None:
    project = triton_project(mirror, tmp_path / "xpu", "xpu", "pytorch-triton-xpu", LINUX_X86_64)
    uv(mirror, project, "lock")
    registry = {"registry": mirror.index_url("xpu")}
    torch = locked(project, "torch")
    assert set(torch) == {"2.5.0", "2.5.0+xpu"}
    assert torch["2.5.0+xpu"]["source"] == registry
    triton = locked(project, "pytorch-triton-xpu")
    assert list(triton) == ["3.1.0"]
    assert triton["3.1.0"]["source"] == registry


@pytest.mark.e2e
def test_uv_resolves_the_two_platform_xpu_triton_marker(mirror: Mirror, tmp_path: Path) -> None:
    # torch 2.7.0+xpu is built for Linux and Windows x86_64 and requires its Triton on both.
    either = f"({LINUX_X86_64}) or (sys_platform == 'win32' and platform_machine == 'AMD64')"
    project = write_project(
        tmp_path / "xpu27",
        ["torch==2.7.0", f"pytorch-triton-xpu; {either}"],
        pytorch_index(mirror, "xpu", "torch", "pytorch-triton-xpu", marker=either),
    )
    uv(mirror, project, "lock")
    assert set(locked(project, "torch")) == {"2.7.0", "2.7.0+xpu"}
    assert set(locked(project, "pytorch-triton-xpu")) == {"3.3.0"}
    expected = {
        "x86_64-unknown-linux-gnu": "v2.7.0+xpu",
        "x86_64-pc-windows-msvc": "v2.7.0+xpu",
        "aarch64-apple-darwin": "v2.7.0",
    }
    for triple, version in expected.items():
        tree = uv(mirror, project, "tree", "--frozen", "--python-platform", triple)
        assert f"torch {version}\n" in tree, (triple, tree)
        assert ("pytorch-triton-xpu v3.3.0" in tree) == version.endswith("+xpu"), (triple, tree)


# -- the index habits, as data: both layouts --------------------------------------------------


def _files(habits: Habits, version: str, index: str, package: str) -> set[str]:
    release = load_table().get(version)
    assert release is not None
    return {w.filename for w in release_wheels(load_table(), release, habits)[(index, package)]}


@pytest.mark.parametrize(
    ("version", "index", "package", "real", "table"),
    [
        # aarch64 torch on the cpu index: +cpu in recent releases, untagged in old ones
        ("2.9.1", "cpu", "torch", "torch-2.9.1+cpu", "torch-2.9.1"),
        ("2.13.0", "cpu", "torch", "torch-2.13.0+cpu", "torch-2.13.0"),
        ("2.5.0", "cpu", "torch", "torch-2.5.0", "torch-2.5.0"),
        # aarch64 torchvision: untagged on the cpu index always, on CUDA indexes for some
        ("2.9.1", "cpu", "torchvision", "torchvision-0.24.1", "torchvision-0.24.1"),
        ("2.7.0", "cu128", "torchvision", "torchvision-0.22.0", "torchvision-0.22.0+cu128"),
        ("2.9.1", "cu130", "torchvision", "torchvision-0.24.1", "torchvision-0.24.1+cu130"),
        ("2.13.0", "cu130", "torchvision", "torchvision-0.28.0+cu130", "torchvision-0.28.0+cu130"),
    ],
)
def test_the_aarch64_habits_lay_the_index_out_both_ways(
    version: str, index: str, package: str, real: str, table: str
) -> None:
    wheel = "-cp312-cp312-manylinux_2_28_aarch64.whl"
    assert real + wheel in _files(REAL_HABITS, version, index, package)
    assert table + wheel in _files(TABLE_HABITS, version, index, package)


def test_free_threaded_and_314_wheels_come_with_2_9() -> None:
    files = _files(REAL_HABITS, "2.9.1", "cu128", "torch")
    for abi in ("cp314-cp314", "cp313-cp313t", "cp314-cp314t"):
        assert f"torch-2.9.1+cu128-{abi}-manylinux_2_28_x86_64.whl" in files
    assert not any("t-" in f.split("-")[3] for f in _files(REAL_HABITS, "2.7.0", "cu128", "torch"))
    assert not any("t-" in f.split("-")[3] for f in _files(TABLE_HABITS, "2.9.1", "cu128", "torch"))
