"""Pure: every file of every torch-family package in uv.lock, judged by where it is downloaded
from, for every platform and Python the lock admits, not only the CI axis: a wheel no CI job
installs is still one some user's `uv sync --locked` downloads.

A package locked from one of the spec's PyTorch indexes must have each file where that index
serves it (locations.py); one locked from PyPI, on PyPI's file host. A file without a hash is
named as a warning: uv cannot check what it downloads there, but the index gave none (nightly
pages never do).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..lock.model import Artifact, Lock, LockedPackage
from .locations import PYPI_REGISTRIES, FileHosts, file_problem, pypi_file_problem

# The Triton builds torch requires; on the PyTorch indexes they sit in the channel's root.
TRITONS = (
    "triton",
    "pytorch-triton",
    "pytorch-triton-rocm",
    "triton-rocm",
    "pytorch-triton-xpu",
    "triton-xpu",
)
# Those only the PyTorch indexes serve: the same names on PyPI are someone else's packages.
INDEX_ONLY_TRITONS = TRITONS[1:]


@dataclass(frozen=True)
class FileFindings:
    """What the lock-wide look at the files found: `problems` fail verify, `warnings` do not."""

    problems: tuple[str, ...]
    warnings: tuple[str, ...]


def judge_files(lock: Lock, family: Iterable[str], hosts: FileHosts) -> FileFindings:
    """Every artifact of the packages named in `family` and of the Triton builds, judged by
    where it is downloaded from: the packages the PyTorch index serves as its own (its
    "foundation" packages), whose files it never links on a CDN or PyPI."""
    names = set(family) | set(TRITONS)
    problems: list[str] = []
    warnings: list[str] = []
    for package in lock.packages:
        if package.name not in names:
            continue  # the indexes link other packages' files anywhere (a CDN, PyPI)
        ours = hosts.folder_of(package.source) is not None if "://" in package.source else False
        what = f"{package.name} {package.version}"
        found = [f"{what}: {p}" for p in _artifact_problems(package, hosts, ours)]
        problems += [p for p in found if p not in problems]
        unhashed = [a for a in _artifacts(package) if a.hash is None and a.url is not None]
        if unhashed and (ours or _from_pypi(package)):
            count = f"{len(unhashed)} of its {len(_artifacts(package))} files have"
            if len(unhashed) == len(_artifacts(package)):
                count = "its files have" if len(unhashed) > 1 else "its file has"
            warnings.append(
                f"{what} ({package.source}): {count} no hash in uv.lock, so uv cannot check "
                "what it downloads (the index page gives none)"
            )
    return FileFindings(tuple(problems), tuple(warnings))


def _artifacts(package: LockedPackage) -> list[Artifact]:
    return [*package.wheels, *([package.sdist] if package.sdist else [])]


def _from_pypi(package: LockedPackage) -> bool:
    return package.source.rstrip("/") in PYPI_REGISTRIES


def _artifact_problems(package: LockedPackage, hosts: FileHosts, ours: bool) -> list[str]:
    out = []
    for artifact in _artifacts(package):
        if ours:
            problem = file_problem(artifact.url, artifact.filename, package.source, hosts)
        elif _from_pypi(package):
            problem = pypi_file_problem(artifact.url, artifact.filename)
        else:
            problem = None  # a registry of the user's own: its layout is its business
        if problem:
            out.append(problem)
    return out
