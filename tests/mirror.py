"""A local stand-in for download.pytorch.org/whl and PyPI: tiny fake torch wheels served over HTTP.

The wheels are real (valid zip, METADATA, WHEEL, RECORD with sha256) and deterministic; the fake
`torch` inside answers `__version__`, `torch.version.cuda/hip` and the device probes the way the
real build would, so the real `uv` binary can lock, sync and import them without a network.

How the indexes tag their builds is data (`Habits`), so a test can lay the index out the way
the real one is (`REAL_HABITS`: aarch64 torch +cpu on the cpu index in recent releases, aarch64
companions untagged on the CUDA indexes for some releases, cp314 and free-threaded wheels from
2.9) or the way the release table's single rule says (`TABLE_HABITS`).

As on download.pytorch.org, rocm and xpu builds of torch require their Triton package
(`pytorch-triton-rocm`, `triton-xpu`, ...), which only their own PyTorch index serves: a
project that routes torch alone to such an index does not lock (astral-sh/uv#10712, #14129).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import threading
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from html import escape
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote

from mirror_stack import (
    StackRelease,
    for_torch,
    index_backends,
    local_tag,
    torchao_sources,
    torchcodec_sources,
    xformers_sources,
)
from mirror_tritons import required_tritons, requires_triton_on
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from uvtorch_ci.platforms import PLATFORMS
from uvtorch_ci.releases.table import COMPANIONS, Release, ReleaseTable, load_table

DEFAULT_TORCH_VERSIONS = ("2.5.0", "2.5.1", "2.7.0", "2.9.1", "2.13.0")
PYPI = "pypi"
# Where the fake Triton wheels live: directly under the PyTorch index root, as on the real one.
SHARED = "whl"
# The packages whose files the real index keeps under its root (/whl/<file>), because several
# backend indexes list the same build.
SHARED_PACKAGES = frozenset(
    {"triton", "pytorch-triton-rocm", "triton-rocm", "pytorch-triton-xpu", "triton-xpu"}
)
# The layouts of the PyTorch index files: beside their pages (mirror.nju.edu.cn, and
# download.pytorch.org until 2026), or on another host (download.pytorch.org's pages link
# download-r2.pytorch.org). The other host is the same server reached as `localhost`.
SAME_HOST = "same-host"
OTHER_HOST = "other-host"
OTHER_HOST_NAME = "localhost"
# Zip timestamps before 1980 are not representable; a fixed one keeps the bytes reproducible.
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Wheel:
    """One built wheel: its file name, bytes and core metadata (served as PEP 658 `.metadata`)."""

    filename: str
    data: bytes
    metadata: bytes
    requires_python: str | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def metadata_sha256(self) -> str:
        return hashlib.sha256(self.metadata).hexdigest()


@dataclass(frozen=True)
class Habits:
    """How the PyTorch indexes tag and publish builds, beyond the release table's one rule
    (cpu builds of its `untagged-cpu` platforms untagged, every other +<backend>).

    `aarch64_cpu_torch_tagged_from`: from this torch on, Linux aarch64 torch on the cpu index
    is +cpu (pytorch/vision#9197); None: untagged, as the table says.
    `aarch64_companions_untagged_before`: below this torch, Linux aarch64 torchvision and
    torchaudio on the CUDA indexes carry no tag (vision#9330; 0.26.0+cu128 is tagged,
    vision#9470); None: tagged.
    `free_threaded_from`: from this torch on, free-threaded wheels (cp313t, cp314t) are
    published next to the regular ones for the Pythons that have them; None: none are.
    """

    aarch64_cpu_torch_tagged_from: str | None = None
    aarch64_companions_untagged_before: str | None = None
    free_threaded_from: str | None = None

    def local_tag(
        self, table: ReleaseTable, release: Release, platform: str, backend: str, package: str
    ) -> str:
        """The local tag `package` of `release` carries on the `backend` index."""
        tag = table.local_tag(platform, backend)
        if platform != "linux-aarch64":
            return tag
        if package == "torch":
            since = self.aarch64_cpu_torch_tagged_from
            if backend == "cpu" and since is not None and release.version >= Version(since):
                return "cpu"
            return tag
        before = self.aarch64_companions_untagged_before
        if backend != "cpu" and before is not None and release.version < Version(before):
            return ""
        return tag

    def abis(self, release: Release, python: str) -> tuple[str, ...]:
        """The ABI tags of the wheels for CPython `python` ('cp313', and 'cp313t' when the
        release publishes free-threaded wheels for it)."""
        interpreter = f"cp{python.replace('.', '')}"
        since = self.free_threaded_from
        threaded = since is not None and release.version >= Version(since)
        if threaded and Version(python) >= Version("3.13"):
            return (interpreter, interpreter + "t")
        return (interpreter,)


TABLE_HABITS = Habits()
REAL_HABITS = Habits(
    aarch64_cpu_torch_tagged_from="2.6",
    aarch64_companions_untagged_before="2.10",
    free_threaded_from="2.9",
)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def build_wheel(
    name: str,
    version: str,
    tag: str,
    files: Mapping[str, str],
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
) -> Wheel:
    """A wheel for `name` `version` with platform `tag` (e.g. `cp311-cp311-win_amd64`).

    `files` maps archive paths to text. Entries are sorted, the dist-info files come last with
    RECORD at the very end, and every timestamp is fixed, so equal inputs give equal bytes.
    """
    dist = canonicalize_name(name).replace("-", "_")
    dist_info = f"{dist}-{version}.dist-info"
    meta_lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        meta_lines.append(f"Requires-Python: {requires_python}")
    meta_lines += [f"Requires-Dist: {req}" for req in requires]
    metadata = ("\n".join(meta_lines) + "\n").encode()
    wheel_file = (
        f"Wheel-Version: 1.0\nGenerator: uvtorch-ci-test-mirror\n"
        f"Root-Is-Purelib: {'true' if tag.endswith('-none-any') else 'false'}\nTag: {tag}\n"
    ).encode()
    entries = [(path, text.encode()) for path, text in sorted(files.items())]
    entries += [(f"{dist_info}/METADATA", metadata), (f"{dist_info}/WHEEL", wheel_file)]
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in entries)
    entries.append((f"{dist_info}/RECORD", (record + f"{dist_info}/RECORD,,\n").encode()))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries:
            info = zipfile.ZipInfo(path, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return Wheel(f"{dist}-{version}-{tag}.whl", buffer.getvalue(), metadata, requires_python)


def cuda_version(backend: str) -> str | None:
    """`torch.version.cuda` of a build: "12.4" for cu124, "13.0" for cu130, else None."""
    if not backend.startswith("cu"):
        return None
    digits = backend[2:]
    return f"{int(digits[:-1])}.{digits[-1]}"


def hip_version(backend: str) -> str | None:
    """`torch.version.hip` of a build: "6.2" for rocm6.2, "6.2.4" for rocm6.2.4, else None."""
    return backend.removeprefix("rocm") if backend.startswith("rocm") else None


def _local(version: str, tag: str) -> str:
    return f"{version}+{tag}" if tag else version


# A device build's tensors: enough for the smoke check's matmul, on "cpu" or the fake GPU.
_DEVICE_TENSORS = """

class Tensor:
    def __init__(self, rows, device="cpu"):
        self.rows = [[float(x) for x in row] for row in rows]
        self.device = str(device)

    def to(self, device):
        if str(device) != "cpu" and not cuda.is_available():
            raise RuntimeError(f"no {device} device")
        return Tensor(self.rows, device)

    def cpu(self):
        return Tensor(self.rows)

    def tolist(self):
        return [list(row) for row in self.rows]

    def __matmul__(self, other):
        if self.device != other.device:
            raise RuntimeError("Expected all tensors to be on the same device")
        columns = list(zip(*other.rows))
        return Tensor(
            [[sum(a * b for a, b in zip(row, col)) for col in columns] for row in self.rows],
            self.device,
        )


def tensor(rows):
    return Tensor(rows)
"""


# A device build's torch.cuda: one fake GPU, a Tesla T4's compute capability (GitHub's GPU
# runners have one) unless FAKE_GPU_ENV says another, and the build's arch list.
FAKE_GPU_ENV = "UVTORCH_FAKE_GPU_CAPABILITY"
_DEVICE_PROBE = (
    "import os\n\n\n"
    "def is_available() -> bool:\n    return True\n\n\n"
    "def device_count() -> int:\n    return 1\n\n\n"
    "def get_device_name(index: int = 0) -> str:\n    return 'uvtorch-ci fake GPU'\n\n\n"
    "def get_device_capability(index: int = 0):\n"
    f"    major, minor = os.environ.get({FAKE_GPU_ENV!r}, '7.5').split('.')\n"
    "    return int(major), int(minor)\n\n\n"
    "def get_arch_list():\n    return {arch_list!r}\n"
)


def arch_list(version: str, backend: str, platform: str) -> list[str]:
    """What `torch.cuda.get_arch_list()` of a CUDA build answers, from the release table's list
    (empty for other builds and where the table has none)."""
    release = load_table().get(version.partition("+")[0])
    entry = release.archs(backend, platform) if release else None
    if entry is None:
        return []
    ptx = [f"compute_{a.major}{a.minor}" for a in entry.archs if a.ptx]
    return [a.sm for a in entry.archs] + ptx


def torch_sources(
    version: str, backend: str, platform: str, index: str, *, device: bool = False
) -> dict[str, str]:
    """The fake `torch` package of one build: what the real build answers, and a build marker.

    With `device`, a CUDA or ROCm build finds one (fake) GPU and computes on it, as on a GPU
    runner; every build then also has tensors enough for the smoke check's matmul."""
    marker = {"backend": backend, "platform": platform, "index": index, "package": "torch"}
    cuda = cuda_version(backend)
    on_macos = PLATFORMS[platform].sys_platform == "darwin"
    probe = (
        "def is_available() -> bool:\n    return False\n\n\n"
        "def device_count() -> int:\n    return 0\n"
    )
    cuda_built = cuda is not None or backend.startswith("rocm")  # ROCm builds answer as CUDA
    cuda_probe = probe
    if device and cuda_built:
        cuda_probe = _DEVICE_PROBE.format(arch_list=arch_list(version, backend, platform))
    return {
        "torch/__init__.py": (
            '"""Fake torch generated by the uvtorch-ci test mirror; not PyTorch."""\n\n'
            "from . import backends, cuda, version, xpu\n\n"
            f"__version__ = {version!r}\n_uvtorch_fake = {marker!r}\n"
            + (_DEVICE_TENSORS if device else "")
        ),
        "torch/version.py": (
            f"__version__ = {version!r}\ngit_version = '0' * 40\ndebug = False\n"
            f"cuda = {cuda!r}\nhip = {hip_version(backend)!r}\n"
            f"xpu = {'20250000' if backend == 'xpu' else None!r}\n"
        ),
        "torch/cuda/__init__.py": cuda_probe,
        "torch/xpu/__init__.py": probe,
        "torch/backends/__init__.py": "from . import cuda, mps\n",
        "torch/backends/cuda/__init__.py": (f"def is_built() -> bool:\n    return {cuda_built}\n"),
        "torch/backends/mps/__init__.py": (
            f"def is_built() -> bool:\n    return {on_macos}\n\n\n"
            "def is_available() -> bool:\n    return False\n"
        ),
    }


def companion_sources(
    package: str, version: str, backend: str, platform: str, index: str
) -> dict[str, str]:
    """The fake torchvision/torchaudio package: `__version__` and `<package>.version`."""
    marker = {"backend": backend, "platform": platform, "index": index, "package": package}
    version_py = f"__version__ = {version!r}\ngit_version = '0' * 40\n"
    if package == "torchvision":
        version_py += f"cuda = {cuda_version(backend)!r}\n"
    return {
        f"{package}/__init__.py": (
            f'"""Fake {package} generated by the uvtorch-ci test mirror."""\n\n'
            "import torch as _torch  # noqa: F401  (the real one imports torch too)\n\n"
            f"from . import version\n\n__version__ = {version!r}\n_uvtorch_fake = {marker!r}\n"
        ),
        f"{package}/version.py": version_py,
    }


def triton_sources(package: str, version: str, platform: str) -> dict[str, str]:
    """The fake Triton package rocm and xpu builds require: a `triton` module, as the real one
    installs, answering `__version__`. One file serves every index that lists it (the index
    keeps it under its root), so nothing in it names an index."""
    marker = {"platform": platform, "index": SHARED, "package": package}
    return {
        "triton/__init__.py": (
            f'"""Fake {package} generated by the uvtorch-ci test mirror; not Triton."""\n\n'
            f"__version__ = {version!r}\n_uvtorch_fake = {marker!r}\n"
        ),
    }


# platform_system of each sys_platform: the real builds' Triton requirement is keyed on it.
_PLATFORM_SYSTEM = {"linux": "Linux", "win32": "Windows", "darwin": "Darwin"}


def triton_marker(platforms: Iterable[str]) -> str:
    """The marker of a rocm/xpu torch's Triton requirement: true exactly on the platforms the
    build (and so its Triton) is published for, in the form the real wheels use
    (`platform_system == "Linux" and platform_machine == "x86_64"`)."""
    clauses = [
        f'platform_system == "{_PLATFORM_SYSTEM[PLATFORMS[name].sys_platform]}"'
        f' and platform_machine == "{PLATFORMS[name].machine}"'
        for name in platforms
    ]
    if len(clauses) == 1:
        return clauses[0]
    return " or ".join(f"({clause})" for clause in clauses)


def _companion_floor(table: ReleaseTable, package: str, version: str) -> str | None:
    """The oldest torch a companion serves when one release of it serves several torch releases
    (torchaudio 2.11.0 serves torch 2.11 onwards); None when it belongs to one torch only."""
    serving = [r.version for r in table.releases if r.companion(package) == version]
    return str(min(serving)) if len(serving) > 1 else None


def release_wheels(
    table: ReleaseTable, release: Release, habits: Habits = REAL_HABITS, *, device: bool = False
) -> dict[tuple[str, str], list[Wheel]]:
    """Every wheel of one release, keyed by (index, package); index is a backend or "pypi".
    `habits` decide the local tags and which free-threaded wheels exist.

    A rocm or xpu index also lists the Triton packages its torch requires (mirror_tritons: what
    real locks show, not what the release table says) for each platform that requires them; the
    Triton wheels carry no Requires-Python (their tags pin CPython), so every index and release
    sharing one Triton build agrees on its bytes. PyPI never lists a Triton package."""
    pythons = [
        (f"cp{py.replace('.', '')}", abi)
        for py in release.python
        for abi in habits.abis(release, py)
    ]
    requires_python = f">={min(release.python, key=Version)}"
    variants: list[tuple[str, str, str]] = [  # (index, platform, backend)
        (backend, platform, backend)
        for platform, backends in release.builds.items()
        for backend in backends
    ]
    variants += [(PYPI, platform, backend) for platform, backend in release.pypi.items()]
    out: dict[tuple[str, str], list[Wheel]] = {}
    # The platforms each rocm/xpu index's torch requires its Triton on.
    needing: dict[str, list[str]] = {}
    for index, platform, backend in variants:
        if index != PYPI and requires_triton_on(release.torch, backend, platform):
            needing.setdefault(index, []).append(platform)

    def tag_of(index: str, platform: str, backend: str, package: str) -> str:
        return "" if index == PYPI else habits.local_tag(table, release, platform, index, package)

    tags = [f"{py}-{abi}" for py, abi in pythons]
    for index, platform, backend in variants:
        torch_version = _local(release.torch, tag_of(index, platform, backend, "torch"))
        required = required_tritons(release.torch, index) if index in needing else ()
        for package in ("torch", *COMPANIONS):
            version = _local(release.companion(package), tag_of(index, platform, backend, package))
            if package == "torch":
                files = torch_sources(version, backend, platform, index, device=device)
                marker = triton_marker(needing.get(index, ()))
                requires = [f"{name}=={pinned}; {marker}" for name, pinned in required]
            else:
                files = companion_sources(package, version, backend, platform, index)
                floor = _companion_floor(table, package, release.companion(package))
                requires = [f"torch>={floor}" if floor else f"torch=={torch_version}"]
            out.setdefault((index, package), []).extend(
                platform_wheels(package, version, platform, tags, files, requires, requires_python)
            )
        if platform in needing.get(index, ()):
            for name, pinned in required:
                files = triton_sources(name, pinned, platform)
                wheels = platform_wheels(name, pinned, platform, tags, files)
                out.setdefault((index, name), []).extend(wheels)
    for key, wheels in stack_wheels(release).items():
        out.setdefault(key, []).extend(wheels)
    return out


def platform_wheels(
    package: str,
    version: str,
    platform: str,
    tags: Iterable[str],
    files: Mapping[str, str],
    requires: Sequence[str] = (),
    requires_python: str | None = None,
) -> list[Wheel]:
    """One wheel of `package` per interpreter-ABI tag (`cp312-cp312`, `cp39-abi3`) for
    `platform`."""
    return [
        build_wheel(
            package,
            version,
            f"{tag}-{PLATFORMS[platform].wheel_tag}",
            files,
            requires=requires,
            requires_python=requires_python,
        )
        for tag in tags
    ]


def stack_wheels(release: Release) -> dict[tuple[str, str], list[Wheel]]:
    """The wheels of the packages built against torch that go with `release` (mirror_stack:
    what the real indexes serve): xformers' CUDA and ROCm builds in their backends' folders,
    untagged, and PyPI's (the build of its default CUDA, byte for byte the index's file);
    torchao's tagged builds on the cpu and CUDA indexes of Linux, and PyPI's pure wheel;
    torchcodec's cu130 builds for Linux, and PyPI's CPU builds."""
    out: dict[tuple[str, str], list[Wheel]] = {}
    python = f">={min(release.python, key=Version)}"
    for package in ("xformers", "torchao", "torchcodec"):
        found = for_torch(package, release.torch)
        if found is None:
            continue
        requires = [found.requires] if found.requires else []
        tags = found.python_tag(release.python)
        for platform, backends in release.builds.items():
            for backend in index_backends(found, platform, backends):
                version = _local(found.version, local_tag(found, platform, backend))
                files = stack_sources(found, version, backend, platform)
                wheels = platform_wheels(package, version, platform, tags, files, requires, python)
                out.setdefault((backend, package), []).extend(wheels)
                if backend == found.pypi_cuda:  # the same files on PyPI
                    out.setdefault((PYPI, package), []).extend(wheels)
        if package == "torchao":  # a pure wheel
            files = torchao_sources(found.version)
            wheel = build_wheel(
                package, found.version, "py3-none-any", files, requires_python=python
            )
            out.setdefault((PYPI, package), []).append(wheel)
        elif package == "torchcodec":  # CPU builds for every platform and Python
            files = torchcodec_sources(found.version)
            for platform in release.pypi:
                wheels = platform_wheels(package, found.version, platform, tags, files, (), python)
                out.setdefault((PYPI, package), []).extend(wheels)
    return out


def stack_sources(found: StackRelease, version: str, backend: str, platform: str) -> dict[str, str]:
    """The files of one build (`backend` for `platform`) of a package built against torch."""
    if found.package == "xformers":
        return xformers_sources(found, backend, platform)
    if found.package == "torchcodec":
        return torchcodec_sources(version)
    return torchao_sources(version)


def _simple_page(
    title: str, links: Iterable[tuple[str, str]], attrs: Mapping[str, str] = {}
) -> bytes:
    body = "".join(
        f'    <a href="{escape(href)}"{attrs.get(text, "")}>{escape(text)}</a><br/>\n'
        for href, text in links
    )
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.0">\n'
        f"    <title>{escape(title)}</title>\n  </head>\n  <body>\n    <h1>{escape(title)}</h1>\n"
        f"{body}  </body>\n</html>\n"
    ).encode()


def _write(path: Path, data: bytes) -> None:
    """Write atomically: the server may be reading the old page while a test adds a package."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


class _Handler(SimpleHTTPRequestHandler):
    """Static files only: directories without an index page are 404, never a listing."""

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "Not Found")

    def send_head(self) -> Any:
        # Pages change when a test adds a package; always answer in full, never 304.
        del self.headers["If-Modified-Since"]
        return super().send_head()

    def end_headers(self) -> None:
        if self.path.endswith("/"):
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Mirror:
    """Fake PyTorch indexes (`<url>/whl/<backend>/`) and a fake PyPI (`<url>/simple/`) on disk,
    served from a background thread on 127.0.0.1 once `start()`ed (or used as a context manager).

    `root` receives `www/` (the served tree) and `xdg-config/` (an empty user-config home for uv).
    With `device`, its CUDA and ROCm builds find a (fake) GPU: a GPU runner's view.

    The pages are PEP 503 HTML only, as the real index's: each link carries `#sha256=` and the
    PEP 658 metadata attributes, and no size (so uv.lock records none). torch, torchvision
    and torchaudio files sit in their backend's folder (`/whl/cu124/<file>`), Triton files
    directly under `/whl/`. `layout` says which host the pages link them on: SAME_HOST (the
    pages' own, the default) or OTHER_HOST (`http://localhost:<port>`, the same server under a
    second loopback name, as download.pytorch.org links download-r2.pytorch.org).
    """

    def __init__(
        self,
        root: Path,
        torch_versions: Iterable[str] = DEFAULT_TORCH_VERSIONS,
        *,
        table: ReleaseTable | None = None,
        habits: Habits = REAL_HABITS,
        device: bool = False,
        layout: str = SAME_HOST,
    ) -> None:
        if layout not in (SAME_HOST, OTHER_HOST):
            raise ValueError(f"layout {layout!r}: {SAME_HOST} or {OTHER_HOST}")
        self.root = root
        self.habits = habits
        self.layout = layout
        self.www = root / "www"
        self.config_home = root / "xdg-config"
        self.www.mkdir(parents=True, exist_ok=True)
        self.config_home.mkdir(parents=True, exist_ok=True)
        self.table = table or load_table()
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # (index, package) -> filename -> wheel; index is a backend or "pypi".
        self._wheels: dict[tuple[str, str], dict[str, Wheel]] = {}
        shared: dict[str, Wheel] = {}
        for version in torch_versions:
            release = self.table.get(version)
            if release is None:
                raise ValueError(f"torch {version} is not in the release table")
            for key, wheels in release_wheels(self.table, release, habits, device=device).items():
                listed = self._wheels.setdefault(key, {})
                for wheel in wheels:
                    # A companion serving several torch releases is built once per release,
                    # a Triton build once per index listing it: the copies must agree byte
                    # for byte.
                    assert listed.setdefault(wheel.filename, wheel) == wheel, wheel.filename
                    if key[1] in SHARED_PACKAGES:
                        assert shared.setdefault(wheel.filename, wheel) == wheel, wheel.filename
        for (index, package), listed in self._wheels.items():
            for wheel in listed.values():
                self._write_wheel(index, package, wheel)
            self._write_project_page(index, package)
        for index in {index for index, _ in self._wheels}:
            self._write_root_page(index)

    # Layout: the PyTorch index keeps files next to its package pages (/whl/cu124/<file>), and
    # those several indexes share under its root (/whl/<file>); the fake PyPI under /packages/.
    @staticmethod
    def _base(index: str) -> str:
        return "simple" if index == PYPI else f"whl/{index}"

    @staticmethod
    def _file_dir(index: str, package: str) -> str:
        if index == PYPI:
            return "packages"
        return SHARED if canonicalize_name(package) in SHARED_PACKAGES else f"whl/{index}"

    def _write_wheel(self, index: str, package: str, wheel: Wheel) -> None:
        directory = self.www / self._file_dir(index, package)
        _write(directory / wheel.filename, wheel.data)
        _write(directory / f"{wheel.filename}.metadata", wheel.metadata)

    def file_href(self, index: str, filename: str) -> str:
        """The path of a served file on the server (`/whl/cu124/torch-2.5.0%2Bcu124-...whl`)."""
        package = str(parse_wheel_filename(filename)[0])
        return f"/{self._file_dir(index, package)}/{quote(filename)}"

    @property
    def files_url(self) -> str:
        """The scheme and authority the PyTorch pages link their files on: the pages' own
        (`http://127.0.0.1:<port>`), or `http://localhost:<port>` in the OTHER_HOST layout."""
        if self.layout == SAME_HOST:
            return self.url
        return f"http://{OTHER_HOST_NAME}:{self.port}"

    def file_url(self, index: str, filename: str) -> str:
        """The URL the `index` pages link `filename` on, which uv.lock records."""
        return self.files_url + self.file_href(index, filename)

    def _write_project_page(self, index: str, package: str) -> None:
        wheels = sorted(self._wheels[(index, package)].values(), key=lambda w: w.filename)
        # Root-relative links until the port is known; start() rewrites the OTHER_HOST pages.
        other = self.layout == OTHER_HOST and index != PYPI and self._server is not None
        host = self.files_url if other else ""
        links, attrs = [], {}
        for wheel in wheels:
            href = f"{host}{self.file_href(index, wheel.filename)}#sha256={wheel.sha256}"
            links.append((href, wheel.filename))
            extra = f' data-dist-info-metadata="sha256={wheel.metadata_sha256}"'
            extra += f' data-core-metadata="sha256={wheel.metadata_sha256}"'
            if wheel.requires_python:
                extra += f' data-requires-python="{escape(wheel.requires_python)}"'
            attrs[wheel.filename] = extra
        page = _simple_page(f"Links for {package}", links, attrs)
        _write(self.www / self._base(index) / canonicalize_name(package) / "index.html", page)

    def _write_root_page(self, index: str) -> None:
        names = sorted({canonicalize_name(p) for i, p in self._wheels if i == index})
        links = [(f"/{self._base(index)}/{name}/", name) for name in names]
        _write(self.www / self._base(index) / "index.html", _simple_page("Simple index", links))

    def add_pypi_package(
        self,
        name: str,
        version: str,
        *,
        requires: Sequence[str] = (),
        files: Mapping[str, str] | None = None,
    ) -> Wheel:
        """Publish a pure-Python wheel on the fake PyPI (idempotent); by default it holds one
        module named after the package with a `__version__`."""
        module = canonicalize_name(name).replace("-", "_")
        if files is None:
            files = {f"{module}/__init__.py": f"__version__ = {version!r}\n"}
        wheel = build_wheel(name, version, "py3-none-any", files, requires=requires)
        with self._lock:
            self._wheels.setdefault((PYPI, canonicalize_name(name)), {})[wheel.filename] = wheel
            self._write_wheel(PYPI, name, wheel)
            self._write_project_page(PYPI, canonicalize_name(name))
            self._write_root_page(PYPI)
        return wheel

    def tag(self, torch: str, platform: str, backend: str, package: str = "torch") -> str:
        """The local tag, with its '+' ('' for none), that this mirror's habits give `package`
        of torch release `torch` on the `backend` index for `platform`."""
        release = self.table.get(torch)
        if release is None:
            raise ValueError(f"torch {torch} is not in the release table")
        tag = self.habits.local_tag(self.table, release, platform, backend, package)
        return f"+{tag}" if tag else ""

    def wheels(self, index: str | None = None, package: str | None = None) -> list[Wheel]:
        """The wheels served, by file name; optionally only those of one index ("pypi" or a
        backend) and one package."""
        with self._lock:
            return sorted(
                (
                    wheel
                    for (i, p), listed in self._wheels.items()
                    if index in (None, i) and package in (None, canonicalize_name(p))
                    for wheel in listed.values()
                ),
                key=lambda wheel: wheel.filename,
            )

    def wheel(self, index: str, filename: str) -> Wheel:
        """One wheel of `index` by file name (KeyError when the index does not list it)."""
        for wheel in self.wheels(index):
            if wheel.filename == filename:
                return wheel
        raise KeyError(f"{filename} is not on the {index} index")

    def wheel_path(self, index: str, filename: str) -> Path:
        """Where the served copy of a wheel lives on disk."""
        return self.www / unquote(self.file_href(index, filename).lstrip("/"))

    def start(self) -> Mirror:
        handler = partial(_Handler, directory=str(self.www))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=partial(self._server.serve_forever, 0.05), name="mirror", daemon=True
        )
        self._thread.start()
        if self.layout == OTHER_HOST:  # the links name the port, known only now
            with self._lock:
                for index, package in self._wheels:
                    if index != PYPI:
                        self._write_project_page(index, package)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Mirror:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the mirror is not serving: call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pytorch_url(self) -> str:
        """The base of the fake PyTorch indexes: the value for UVTORCH_INDEX_URL."""
        return f"{self.url}/whl"

    @property
    def pypi_url(self) -> str:
        return f"{self.url}/simple"

    def index_url(self, backend: str) -> str:
        return f"{self.pytorch_url}/{backend}"

    def uv_env(self, cache_dir: Path, *, no_config: bool = False) -> dict[str, str]:
        """An environment for running the real uv hermetically against this mirror: no UV_*
        variable, user config, virtualenv, proxy or Python download leaks in.

        User and system uv.toml are kept out by pointing XDG_CONFIG_HOME/XDG_CONFIG_DIRS at an
        empty directory, not by UV_NO_CONFIG: that also drops the project's own `[tool.uv]`
        resolver settings (`resolution`, `index-strategy`, ...; uv 0.13 keeps only workspace
        keys such as sources, indexes, environments and conflicts). `no_config=True` adds it.
        """
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("UV_")
            and key not in ("VIRTUAL_ENV", "CONDA_PREFIX", "UVTORCH_FILE_HOSTS")
        }
        no_proxy = ",".join(filter(None, [env.get("NO_PROXY", ""), "127.0.0.1,localhost"]))
        env.update(
            UV_DEFAULT_INDEX=self.pypi_url,
            UV_CACHE_DIR=str(cache_dir),
            UV_PYTHON=sys.executable,
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_PROGRESS="1",
            UV_LINK_MODE="copy",
            NO_COLOR="1",
            NO_PROXY=no_proxy,
            no_proxy=no_proxy,
            UVTORCH_INDEX_URL=self.pytorch_url,
            XDG_CONFIG_HOME=str(self.config_home),
            XDG_CONFIG_DIRS=str(self.config_home),
        )
        if self.layout == OTHER_HOST:  # what a mirror linking files elsewhere tells verify
            env["UVTORCH_FILE_HOSTS"] = f"{self.files_url}/whl"
        if no_config:
            env["UV_NO_CONFIG"] = "1"
        return env


def uv_binary() -> Path:
    """The `uv` executable installed from PyPI alongside the test dependencies."""
    from uv import find_uv_bin

    return Path(find_uv_bin())
