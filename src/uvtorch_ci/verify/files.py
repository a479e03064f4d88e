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

from ..lock.model import Lock, LockedPackage
from .locations import FileHosts, file_problem, from_pypi, pypi_file_problem

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
    names = family_names(family)
    problems: list[str] = []
    warnings: list[str] = []
    for package in lock.packages:
        if package.name not in names:
            continue  # the indexes link other packages' files anywhere (a CDN, PyPI)
        ours = hosts.serves(package.source)
        what = f"{package.name} {package.version}"
        found = [f"{what}: {p}" for p in _artifact_problems(package, hosts, ours)]
        problems += [p for p in found if p not in problems]
        artifacts = package.artifacts
        unhashed = [a for a in artifacts if a.hash is None and a.url is not None]
        if unhashed and (ours or from_pypi(package.source)):
            count = f"{len(unhashed)} of its {len(artifacts)} files have"
            if len(unhashed) == len(artifacts):
                count = "its files have" if len(unhashed) > 1 else "its file has"
            warnings.append(
                f"{what} ({package.source}): {count} no hash in uv.lock, so uv cannot check "
                "what it downloads (the index page gives none)"
            )
    return FileFindings(tuple(problems), tuple(warnings))


def family_names(family: Iterable[str]) -> frozenset[str]:
    """The torch family's names as verify judges their files: the spec's packages and every
    Triton build."""
    return frozenset(family) | frozenset(TRITONS)


def _artifact_problems(package: LockedPackage, hosts: FileHosts, ours: bool) -> list[str]:
    out = []
    for artifact in package.artifacts:
        if ours:
            problem = file_problem(artifact.url, artifact.filename, package.source, hosts)
        elif from_pypi(package.source):
            problem = pypi_file_problem(artifact.url, artifact.filename)
        else:
            problem = None  # a registry of the user's own: its layout is its business
        if problem:
            out.append(problem)
    return out
