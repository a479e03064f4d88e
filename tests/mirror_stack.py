"""What the real PyTorch indexes and PyPI serve of the packages built against torch (xformers,
torchao), as data for the test mirror, and the fake packages' files: what the real ones answer
to the smoke check's probes.

Independent of the release table on purpose, as mirror_tritons.py: a table that routes or pins
the wrong build fails `uv lock` or verify against the mirror instead of agreeing with it.

Sources (../shared/facts and the report of issue 24): facebookresearch/xformers' wheels.yml at
each release tag (the torch it builds against, the CUDA and ROCm indexes it uploads to, Linux
x86_64 and Windows for CUDA, Linux for ROCm), its setup-build-cuda action (the nvcc each build
uses: 12.8 for the cu126 builds too), its CHANGELOG (0.0.34 on the stable ABI: a 2.10 build
serves every later torch) and the wheels' Requires-Dist; the files on the index carry no local
tag since 0.0.28 (the version suffix step reads an output of the composite action that the job
cannot see; unslothai/unsloth checked the file names live). torchao: pytorch/ao#2919 (which torch
each release goes with), its build workflows (cpu and CUDA indexes, Linux; cpu on aarch64);
its wheels name no torch, and PyPI's is a pure-Python wheel. torchcodec: the one build a real
lock shows (ByteDance-Seed/VeOmni), and its README's pairing; PyPI's are CPU builds per Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import Version


@dataclass(frozen=True)
class StackRelease:
    """One release of a package built against torch, as the real indexes publish it."""

    package: str
    version: str
    built_with: str  # the torch release its builds were compiled against
    serves: str  # the torch releases it goes with (a specifier)
    requires: str | None  # its Requires-Dist on torch; None: its metadata names none
    cuda: tuple[str, ...]  # the CUDA indexes it is uploaded to (xformers; torchao: every one)
    rocm: tuple[str, ...] = ()  # the ROCm indexes (Linux only)
    pypi_cuda: str | None = None  # the CUDA of the build PyPI serves; None: its own CPU build

    def python_tag(self, pythons: tuple[str, ...]) -> tuple[str, ...]:
        """The interpreter-ABI part of its wheel names."""
        if self.package == "torchao":
            return ("cp39-abi3",)
        if self.package == "torchcodec":
            return tuple(f"cp{p.replace('.', '')}-cp{p.replace('.', '')}" for p in pythons)
        version = Version(self.version)
        if version >= Version("0.0.35"):
            return ("py39-none",)
        if version >= Version("0.0.31"):
            return ("cp39-abi3",)
        return tuple(f"cp{p.replace('.', '')}-cp{p.replace('.', '')}" for p in pythons)


def _xformers(
    version: str, torch: str, cuda: tuple[str, ...], rocm: tuple[str, ...]
) -> StackRelease:
    stable = Version(version) >= Version("0.0.35")
    default = "cu128" if Version(version) >= Version("0.0.32") else "cu126"
    if Version(version) < Version("0.0.30"):
        default = "cu124" if Version(torch) >= Version("2.6") else "cu121"
    return StackRelease(
        "xformers",
        version,
        torch,
        ">=2.10" if stable else f"=={torch}",
        "torch>=2.10" if stable else f"torch=={torch}",
        cuda,
        rocm,
        default,
    )


STACK: tuple[StackRelease, ...] = (
    _xformers("0.0.28.post2", "2.5.0", ("cu118", "cu121", "cu124"), ("rocm6.1",)),
    _xformers("0.0.29.post1", "2.5.1", ("cu118", "cu121", "cu124"), ("rocm6.1",)),
    _xformers("0.0.29.post3", "2.6.0", ("cu118", "cu124", "cu126"), ("rocm6.1", "rocm6.2.4")),
    _xformers("0.0.30", "2.7.0", ("cu118", "cu126", "cu128"), ("rocm6.2.4", "rocm6.3")),
    _xformers("0.0.31.post1", "2.7.1", ("cu118", "cu126", "cu128"), ("rocm6.2.4", "rocm6.3")),
    _xformers("0.0.32.post2", "2.8.0", ("cu126", "cu128", "cu129"), ("rocm6.4",)),
    _xformers("0.0.33.post1", "2.9.0", ("cu126", "cu128", "cu130"), ("rocm6.4",)),
    _xformers("0.0.33.post2", "2.9.1", ("cu126", "cu128", "cu130"), ("rocm6.4",)),
    _xformers("0.0.34", "2.10.0", ("cu126", "cu128", "cu130"), ("rocm7.1",)),
    _xformers("0.0.35", "2.10.0", ("cu126", "cu128", "cu130"), ("rocm7.1",)),
    *(
        StackRelease("torchao", version, torch, serves, None, ())
        for version, torch, serves in (
            ("0.12.0", "2.7.1", "==2.7.1"),
            ("0.13.0", "2.8.0", "==2.8.0"),
            ("0.14.1", "2.9.0", "==2.9.0"),
            ("0.15.0", "2.9.1", "==2.9.1"),
            ("0.16.0", "2.10.0", "==2.10.0"),
            ("0.17.0", "2.11.0", ">=2.11"),
        )
    ),
    # seen in a real lock (ByteDance-Seed/VeOmni): +cu130 builds under /whl/cu130/ for Linux
    # x86_64 and aarch64, next to torch 2.11.0+cu130; the README: 0.12 serves torch>=2.11
    StackRelease("torchcodec", "0.12.0", "2.11.0", ">=2.11", None, ("cu130",)),
)


def for_torch(package: str, torch: str) -> StackRelease | None:
    """The release of `package` that goes with `torch`: the one built against it, else the
    newest whose stable ABI serves it."""
    serving = [s for s in STACK if s.package == package and SpecifierSet(s.serves).contains(torch)]
    exact = [s for s in serving if s.built_with == torch and s.serves.startswith("==")]
    chosen = exact or serving
    return max(chosen, key=lambda s: Version(s.version)) if chosen else None


def index_backends(
    release: StackRelease, platform: str, torch_backends: tuple[str, ...]
) -> tuple[str, ...]:
    """The backends of `torch_backends` (the torch release's own, for `platform`) whose index
    lists this release for `platform`."""
    if release.package == "torchao":  # Linux only: cpu and every CUDA index; aarch64: cpu
        if platform == "linux-x86_64":
            return tuple(b for b in torch_backends if b == "cpu" or b.startswith("cu"))
        return ("cpu",) if platform == "linux-aarch64" and "cpu" in torch_backends else ()
    if release.package == "torchcodec":  # what the lock shows: Linux, both architectures
        if not platform.startswith("linux-"):
            return ()
        return tuple(b for b in torch_backends if b in release.cuda)
    if platform not in ("linux-x86_64", "windows-x86_64"):
        return ()
    rocm = release.rocm if platform == "linux-x86_64" else ()
    return tuple(b for b in torch_backends if b in release.cuda or b in rocm)


def local_tag(release: StackRelease, platform: str, backend: str) -> str:
    """xformers' files carry no tag since 0.0.28; torchao's carry their backend's (none for
    the aarch64 cpu build)."""
    if release.package == "xformers":
        return ""
    return "" if (backend, platform) == ("cpu", "linux-aarch64") else backend


# nvcc of each xformers build: the cu126 builds are compiled with 12.8 (setup-build-cuda)
_NVCC = {"cu118": 1108, "cu121": 1201, "cu124": 1204, "cu126": 1208, "cu128": 1208}
_NVCC |= {"cu129": 1209, "cu130": 1300}


def xformers_sources(release: StackRelease, backend: str, platform: str) -> dict[str, str]:
    """The fake xformers of one build: `__version__`, `_cpp_lib` with the build metadata the
    real one loads (`_build_metadata`, from cpp_lib.json: the torch it was built with, nvcc,
    HIP), and the load failure the real extension shows in a torch it was not built for."""
    hip = f"{backend.removeprefix('rocm')}.0" if backend.startswith("rocm") else None
    metadata = {
        "version": {
            "cuda": None if hip else _NVCC[backend],
            "hip": hip,
            "torch": f"{release.built_with}+{backend}",
            "python": "3.10.18",
        },
        "env": {"uvtorch_fake": {"backend": backend, "platform": platform}},
    }
    stable = Version(release.built_with) >= Version("2.10")
    return {
        "xformers/__init__.py": (
            '"""Fake xformers generated by the uvtorch-ci test mirror."""\n\n'
            "import torch  # noqa: F401  (the real one imports torch first)\n\n"
            "from . import _cpp_lib\nfrom .version import __version__\n\n"
            "_has_cpp_library = _cpp_lib._cpp_library_load_exception is None\n"
        ),
        "xformers/version.py": f"__version__ = {release.version!r}\n",
        "xformers/cpp_lib.json": json.dumps(metadata, sort_keys=True),
        "xformers/_cpp_lib.py": _CPP_LIB.format(stable=stable),
    }


# As the real xformers/_cpp_lib.py: the build metadata, and the extension's load failure, which
# the fake raises where the real .so would not load (another torch release before the stable
# ABI; another CUDA major, whose runtime library is missing).
_CPP_LIB = """import json
import os

import torch


class _BuildInfo:
    def __init__(self, metadata):
        self.metadata = metadata

    @property
    def cuda_version(self):
        return self.metadata["version"]["cuda"]

    @property
    def torch_version(self):
        return self.metadata["version"]["torch"]


class xFormersInvalidLibException(Exception):
    def __init__(self, build_info):
        self.build_info = build_info

    def __str__(self):
        return (
            "xFormers can't load C++/CUDA extensions. xFormers was built for: PyTorch "
            + self.build_info.torch_version + " (you have " + torch.__version__ + ")"
        )


def _register_extensions():
    with open(os.path.join(os.path.dirname(__file__), "cpp_lib.json")) as handle:
        info = _BuildInfo(json.load(handle))
    built, _, tag = info.torch_version.partition("+")
    here = torch.__version__.split("+")[0]
    cuda = torch.version.cuda or ""
    if not {stable} and built != here:
        raise xFormersInvalidLibException(info)
    if tag.startswith("cu") and cuda and tag[2:-1] != cuda.split(".")[0]:
        raise xFormersInvalidLibException(info)
    return info


_cpp_library_load_exception = None
_build_metadata = None
try:
    _build_metadata = _register_extensions()
except xFormersInvalidLibException as error:
    _cpp_library_load_exception = error
"""


def torchcodec_sources(version: str) -> dict[str, str]:
    """The fake torchcodec: `__version__` from its generated version.py, as the real one."""
    return {
        "torchcodec/__init__.py": (
            '"""Fake torchcodec generated by the uvtorch-ci test mirror."""\n\n'
            "import torch  # noqa: F401\n\nfrom .version import __version__\n"
        ),
        "torchcodec/version.py": f"__version__ = {version!r}\n",
    }


def torchao_sources(version: str) -> dict[str, str]:
    """The fake torchao: `__version__` read from its installed metadata, as the real one."""
    return {
        "torchao/__init__.py": (
            '"""Fake torchao generated by the uvtorch-ci test mirror."""\n\n'
            "from importlib.metadata import version\n\n"
            "import torch  # noqa: F401\n\n"
            '__version__ = version("torchao")\n'
        ),
    }
