"""The release table against what real uv.lock files show (../shared/corpus/locks, read in
place) and the facts file: every torch build they hold is a build the table publishes, and
every Triton pin the table confirms is the one those torch wheels require, with its source."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from mirror_tritons import SEEN, required_tritons
from packaging.version import Version
from shared import SHARED, needs_shared, shared_files

from uvtorch_ci.releases.extensions import EXTENSIONS
from uvtorch_ci.releases.pages import wheel_build
from uvtorch_ci.releases.table import BACKEND_PATTERN, load_table

LOCKS = [path for path in shared_files("corpus", "locks") if path.name != "SOURCES.md"]
needs_locks = needs_shared("corpus", "locks")
needs_facts = needs_shared("facts", "pytorch-releases.md")
TRITON = re.compile(r"^(pytorch-)?triton-(rocm|xpu)$")
# What the table cannot say: its Python list is per release, and torch 2.5.x has cp313
# wheels for Linux x86_64 alone (PyPI's, and the test channel's xpu build), none elsewhere.
PYTHONS_LEFT_OUT = {("2.5.1", "3.13")}


@dataclass
class TorchBuild:
    """One torch build (version with local tag, from one registry) across the corpus."""

    backend: str
    platforms: set[str] = field(default_factory=set)
    pythons: set[str] = field(default_factory=set)
    tritons: set[tuple[str, str]] = field(default_factory=set)
    locks: set[str] = field(default_factory=set)


def registry_backend(registry: str, local: str) -> str | None:
    """The backend a build from a PyTorch registry (or a mirror of one) is: its local tag's,
    else the registry folder's (`.../whl/cu126/`, `.../whl/test/xpu`)."""
    if local:
        return local if BACKEND_PATTERN.fullmatch(local) else None
    folder = urlsplit(registry).path.rstrip("/").rsplit("/", 1)[-1]
    return folder if BACKEND_PATTERN.fullmatch(folder) else None


@cache
def lock_data(folder: Path) -> dict[str, Any]:
    return tomllib.loads((folder / "uv.lock").read_text(encoding="utf-8"))


@cache
def corpus_builds() -> dict[tuple[str, str], TorchBuild]:
    """(torch version with local tag, backend) -> what the locks show of that build, for the
    final releases locked from a PyTorch registry (nightlies and direct URLs left out)."""
    builds: dict[tuple[str, str], TorchBuild] = {}
    for folder in LOCKS:
        packages = lock_data(folder)["package"]
        versions: dict[str, list[str]] = {}
        for package in packages:
            versions.setdefault(package["name"], []).append(package.get("version", ""))
        for package in packages:
            registry = package.get("source", {}).get("registry", "")
            version = Version(package.get("version") or "0")
            if package["name"] != "torch" or "pypi.org" in registry or not registry:
                continue
            backend = registry_backend(registry, version.local or "")
            if backend is None or version.is_prerelease:
                continue
            build = builds.setdefault((str(version), backend), TorchBuild(backend))
            build.locks.add(folder.name)
            for wheel in package.get("wheels", []):
                parsed = wheel_build(unquote(wheel["url"].rsplit("/", 1)[-1]))
                assert parsed is not None, wheel["url"]
                build.platforms |= parsed.platforms
                build.pythons |= parsed.pythons
            for dependency in package.get("dependencies", []):
                if TRITON.match(dependency["name"]):
                    # uv names the version where the lock holds several
                    (pinned,) = (
                        [dependency["version"]]
                        if "version" in dependency
                        else versions[dependency["name"]]
                    )
                    build.tritons.add((dependency["name"], pinned))
    return builds


def lock_commits() -> dict[str, str]:
    """The corpus folder -> "owner/repo@commit", from SOURCES.md section B."""
    text = (SHARED / "corpus" / "SOURCES.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| \d+ \| (\S+) \| (\S+) \| [^|]+\| ([0-9a-f]{40}) ", text, re.MULTILINE)
    return {folder: f"{repository}@{commit}" for folder, repository, commit in rows}


@needs_locks
def test_the_corpus_holds_what_the_table_is_checked_against() -> None:
    builds = corpus_builds()
    assert len(LOCKS) == 15
    assert len(builds) == 23
    with_triton = {key for key, build in builds.items() if build.tritons}
    assert with_triton == {
        ("2.7.1+rocm6.3", "rocm6.3"),
        ("2.8.0+rocm6.3", "rocm6.3"),
        ("2.10.0+rocm7.1", "rocm7.1"),
        ("2.13.0+xpu", "xpu"),
    }


@needs_locks
def test_every_locked_torch_build_is_one_the_table_publishes() -> None:
    table = load_table()
    for (version, backend), build in corpus_builds().items():
        release = table.get(Version(version).public)
        assert release is not None, version
        for platform in build.platforms:
            wanted = "cpu" if platform.startswith("macos-") else backend
            assert release.publishes(platform, wanted), (version, platform, build.locks)
        missing = build.pythons - set(release.python)
        assert {(release.torch, p) for p in missing} <= PYTHONS_LEFT_OUT, (version, missing)
    # the two the table had wrong
    r26, r251 = table.get("2.6.0"), table.get("2.5.1")
    assert r26 is not None
    assert r251 is not None
    assert r26.publishes("linux-aarch64", "cu126")  # ashengstd/CacheFlux's nju mirror
    assert r251.publishes("windows-x86_64", "xpu")  # Stanley5249/torch-test-xpu, test channel


@needs_locks
def test_every_triton_the_locks_show_is_confirmed_with_its_lock_as_source() -> None:
    table = load_table()
    commits = lock_commits()
    checked = 0
    for (version, backend), build in corpus_builds().items():
        release = table.get(Version(version).public)
        assert release is not None
        entry = release.triton_entry(backend)
        if not build.tritons:
            # CUDA and cpu builds require no PyTorch-index Triton; a Windows-only lock of an
            # xpu build (2.5.1) records none for Windows
            assert entry is None or version == "2.5.1+xpu", version
            continue
        assert entry is not None, version
        assert entry.confirmed, version
        assert {(r.name, r.version) for r in entry.requires} == build.tritons, version
        assert entry.source in {f"uv.lock of {commits[lock]}" for lock in build.locks}
        # and the test mirror serves what the lock shows, whatever the table says
        assert set(required_tritons(release.torch, backend)) == build.tritons
        checked += 1
    assert checked == 4


# The facts file's claims on what torch requires, each with what the table records.
FACTS = {
    "torch 2.7.1+rocm6.3 -> pytorch-triton-rocm 3.3.1": ("2.7.1", "rocm6.3"),
    "torch 2.9.1+rocm6.x -> pytorch-triton-rocm 3.5.1": ("2.9.1", "rocm6.3"),
    "torch 2.12.1+rocm7.2 -> triton-rocm 3.7.1 and NO pytorch-triton-rocm": ("2.12.1", "rocm7.2"),
    "torch 2.13.0+rocm7.2 -> pytorch-triton-rocm 3.5.1 and triton-rocm 3.7.1 (so101-nexus)": (
        "2.13.0",
        "rocm7.2",
    ),
    "torch 2.13.0+xpu -> triton-xpu 3.7.2": ("2.13.0", "xpu"),
}


@needs_facts
@pytest.mark.parametrize("claim", FACTS)
def test_the_table_pins_the_tritons_the_facts_record(claim: str) -> None:
    text = " ".join((SHARED / "facts" / "pytorch-releases.md").read_text().split())
    assert claim in text  # the claim is still the facts file's
    torch, backend = FACTS[claim]
    release = load_table().get(torch)
    assert release is not None
    pins = dict(release.tritons_for(backend))
    if claim.startswith("torch 2.13.0+rocm7.2"):
        # so101-nexus's lock holds pytorch-triton-rocm 3.5.1 because its own rocm extra lists
        # it, unpinned; its torch entry depends on triton-rocm alone. Routing both would
        # install two packages that provide the `triton` module.
        assert pins == {"triton-rocm": "3.7.1"}
    else:
        named = re.findall(r"((?:pytorch-)?triton-(?:rocm|xpu)) ([0-9.]+)", claim)
        assert pins == dict(named)
    assert pins == dict(SEEN.get((torch, backend)) or SEEN[(torch, "rocm")])
    if "rocm6.x" in claim:  # every rocm6 build of 2.9.1
        assert release.tritons_for("rocm6.4") == release.tritons_for("rocm6.3")


# -- the packages built against torch (xformers, torchao, torchcodec, fbgemm-gpu) -------------


def locked_extensions() -> dict[str, list[tuple[str, str, str]]]:
    """corpus folder -> (package, version, registry or URL) of each such package it locks."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for folder in LOCKS:
        for package in lock_data(folder).get("package", []):
            if package["name"] in EXTENSIONS:
                source = package["source"]
                where = str(source.get("registry") or source.get("url"))
                out.setdefault(folder.name, []).append((package["name"], package["version"], where))
    return out


@needs_locks
def test_what_the_corpus_locks_of_the_packages_built_against_torch() -> None:
    """6 of the 15 locks hold one of them; every one comes from PyPI but VeOmni's torchcodec,
    a direct URL in the cu130 folder of download.pytorch.org (tagged +cu130, Linux x86_64 and
    aarch64, next to torch 2.11.0+cu130): the one build the table confirms from a real lock.
    No lock routes one through a PyTorch registry (Export-Deploy routes xformers to cu130 and
    never requires it)."""
    found = locked_extensions()
    assert sorted(found) == [
        "ByteDance-Seed__VeOmni",
        "NVIDIA-NeMo__RL",
        "invoke-ai__InvokeAI",
        "jianchang512__pyvideotrans",
        "m-bain__whisperX",
        "pytorch__TensorRT",
    ]
    indexed = {
        (name, version, where)
        for folder, items in found.items()
        for name, version, where in items
        if not where.startswith("https://pypi.org/")
    }
    assert {(n, v) for n, v, _ in indexed} == {("torchcodec", "0.12.0+cu130")}
    platforms: set[str] = set()
    for *_, url in indexed:
        assert url.startswith("https://download.pytorch.org/whl/cu130/torchcodec-")
        wheel = wheel_build(unquote(url.rsplit("/", 1)[1]))
        assert wheel is not None
        platforms |= wheel.platforms
    release = load_table().get("2.11.0")
    assert release is not None
    entry = release.extension("torchcodec")
    assert entry.confirmed
    assert entry.version == "0.12.0"
    assert entry.builds == dict.fromkeys(("linux-x86_64", "linux-aarch64"), ("cu130",))
    assert platforms == set(entry.builds)
    assert entry.source is not None
    assert lock_commits()["ByteDance-Seed__VeOmni"] in entry.source


@needs_locks
@pytest.mark.parametrize(
    ("folder", "torch", "package", "version"),
    [
        ("m-bain__whisperX", "2.8.0", "torchcodec", "0.7.0"),
        ("ByteDance-Seed__VeOmni", "2.10.0", "torchcodec", "0.10.0"),  # its npu extra
        ("ByteDance-Seed__VeOmni", "2.11.0", "torchcodec", "0.12.0"),  # its gpu extra
    ],
)
def test_the_pairings_agree_with_what_real_locks_pair(
    folder: str, torch: str, package: str, version: str
) -> None:
    """The maintainers' tables the pairings come from, checked where a real lock pairs them."""
    locked = {(n, v.partition("+")[0]) for n, v, _ in locked_extensions()[folder]}
    assert (package, version) in locked
    torches = {
        p["version"].partition("+")[0]
        for p in lock_data(SHARED / "corpus" / "locks" / folder)["package"]
        if p["name"] == "torch"
    }
    assert torch in torches
    release = load_table().get(torch)
    assert release is not None
    assert release.paired(package) == version
