"""`init` on the real pyproject.toml + uv.lock pairs of the corpus (../shared/corpus/locks): each
is adopted as its authors meant it (the spec is what the project configures and what its lock
installs, a second render changes nothing, nothing the user owns is lost) or refused with a
reason a user would accept; and the proof, against the pair's own lock, offline, that the spec
describes what the lock already installs."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from shared import needs_shared, shared_files
from test_init import with_terminal
from test_init_adopt import Expected, run, strip

from uvtorch_ci.init.infer import infer
from uvtorch_ci.init.locked import LockView
from uvtorch_ci.lock.reader import parse_lock
from uvtorch_ci.releases.table import load_table

PAIRS = shared_files("corpus", "locks")
needs_locks = needs_shared("corpus", "locks")
TABLE = load_table()

# What each pair configures, read by hand from its pyproject.toml and checked in its uv.lock.
ADOPTED: dict[str, Expected] = {
    "CCRI-POPROX__poprox-recommender": Expected(
        torch="~=2.2",
        selector="groups",
        index_url="https://pypi.lenskit.org/torch",
        targets=(
            "linux-x86_64:cpu#cpu",
            "linux-aarch64:cpu#cpu",
            "macos-arm64:cpu#cpu",
            "windows-x86_64:cpu#cpu",
            "linux-x86_64:cu128#cuda",
            "linux-aarch64:cu128#cuda",
            "windows-x86_64:cu128#cuda",
        ),
    ),
    "NVIDIA-NeMo__RL": Expected(
        torch="2.11.0",
        packages=("torchvision",),
        targets=("linux-x86_64:cu130", "linux-aarch64:cu130"),
    ),
    "ashengstd__CacheFlux": Expected(
        torch=">=2.6.0",
        packages=("torchvision",),
        selector="extras",
        index_url="https://mirror.nju.edu.cn/pytorch/whl",
        targets=(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "macos-arm64:cpu",
            "windows-x86_64:cpu",
            "linux-x86_64:cu126",
            "linux-aarch64:cu126",
            "windows-x86_64:cu126",
        ),
    ),
    "fishaudio__fish-speech": Expected(
        torch="2.8.0",
        packages=("torchaudio",),
        selector="extras",
        targets=(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "macos-arm64:cpu",
            "windows-x86_64:cpu",
            "linux-x86_64:cu126",
            "windows-x86_64:cu126",
            "linux-x86_64:cu128",
            "windows-x86_64:cu128",
            # linux-aarch64 takes cu129 too, but its torch requires triton, which the lock has
            # no aarch64 wheel of: `uv sync --extra cu129` fails there, so it is no target
            "linux-x86_64:cu129",
            "windows-x86_64:cu129",
            # `stable` holds torch and no source names it: PyPI's build, deliberately
            "linux-x86_64:pypi@stable",
            "linux-aarch64:pypi@stable",
            "macos-arm64:pypi@stable",
            "windows-x86_64:pypi@stable",
        ),
    ),
    "jianchang512__pyvideotrans": Expected(
        torch="2.7.1",
        packages=("torchaudio",),
        targets=(  # not linux-aarch64: the lock's triton has no aarch64 wheel
            "linux-x86_64:cu128",
            "windows-x86_64:cu128",
            "macos-arm64:cpu",
        ),
    ),
    "m-bain__whisperX": Expected(
        torch="~=2.8.0",
        packages=("torchvision", "torchaudio"),
        targets=(
            "macos-arm64:cpu",
            "linux-aarch64:cpu",
            "linux-x86_64:cu128",
            "windows-x86_64:cu128",
        ),
    ),
    "matteospanio__torchfx": Expected(
        torch=">=2.6.0",
        packages=("torchaudio",),
        targets=("macos-arm64:cpu", "windows-x86_64:cpu", "linux-x86_64:cu124"),
    ),
    "nikopueringer__CorridorKey": Expected(
        torch="2.8.0",
        packages=("torchvision",),
        selector="extras",
        targets=(
            "linux-x86_64:cu128@cuda",
            "windows-x86_64:cu128@cuda",
            "linux-x86_64:rocm6.3@rocm",
        ),
    ),
    "noahpro99__latent-model-recreation": Expected(
        torch=">=2.6.0",
        packages=("torchvision",),
        selector="extras",
        targets=(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "macos-arm64:cpu",
            "windows-x86_64:cpu",
            "linux-x86_64:cu124",
            "windows-x86_64:cu124",
        ),
    ),
}
# The CI Python each adopted pair gets: the newest its lock has a wheel for on every target.
PYTHON = {
    "CCRI-POPROX__poprox-recommender": "3.12",
    "NVIDIA-NeMo__RL": "3.13",
    "ashengstd__CacheFlux": "3.13",
    "fishaudio__fish-speech": "3.13",
    "jianchang512__pyvideotrans": "3.10",
    "m-bain__whisperX": "3.13",
    "matteospanio__torchfx": "3.13",
    "nikopueringer__CorridorKey": "3.13",
    "noahpro99__latent-model-recreation": "3.13",
}
# The mirror's pages link its files on another host: the lock says where (file-hosts).
MORE = {"CCRI-POPROX__poprox-recommender": {"file-hosts": ["https://download-r2.pytorch.org/whl"]}}
# Refused, each with the reason (the start of init's error line).
REFUSED = {
    # one extra pins torch 2.11.0, another 2.10.0 (and direct wheel URLs besides)
    "ByteDance-Seed__VeOmni": "error: --torch: cannot infer it: the torch pins differ",
    # `torch; sys_platform == 'never'` in override-dependencies: the container provides torch
    "NVIDIA-NeMo__Export-Deploy": "error: pyproject.toml: [tool.uv].override-dependencies[1]: "
    "\"torch; sys_platform == 'never'\" (pyproject.toml line 144) keeps uv from ever "
    "installing torch",
    # torch from the test channel (whl/test/xpu)
    "Stanley5249__torch-test-xpu": "error: --target: cannot infer it: the torch source at "
    "pyproject.toml line 13 names a nightly or test channel",
    # the rocm64 extra is the nightly channel
    "catyperry__farmers-eye-pytorch": "error: --target: cannot infer it: the torch source at "
    "pyproject.toml line 61 for the extra rocm64 names a nightly or test channel",
    # cpu/cuda pin 2.7.1, rocm 2.10.0, xpu 2.13.0; the base pins differ on macOS
    "invoke-ai__InvokeAI": "error: --torch: cannot infer it: the torch pins differ",
    # dependencies are dynamic, and torch comes from the nightly channel
    "pytorch__TensorRT": "error: pyproject.toml: [project].dynamic: dependencies are dynamic",
}
# The companion the spec routes with torch where the project left it on PyPI: the proof
# names it as the one thing the next `uv lock` changes.
ROUTED_COMPANION = {"m-bain__whisperX": "torchvision", "matteospanio__torchfx": "torchaudio"}
PROVEN = "this spec describes what uv.lock already installs: every target x Python"


def copied(pair: Path, tmp_path: Path) -> Path:
    """The pair in a folder of its own, writable (the corpus is read-only)."""
    project = tmp_path / pair.name
    project.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copyfile(pair / name, project / name)
        (project / name).chmod(0o644)
    return project


@needs_locks
def test_every_pair_has_an_expectation() -> None:
    assert sorted([*ADOPTED, *REFUSED]) == [p.name for p in PAIRS]


# the adopted pairs (or, without ../shared, the missing folder: the tests then skip, naming it)
ADOPTED_PAIRS = [p for p in PAIRS if p.name in ADOPTED] or PAIRS


@pytest.fixture(scope="module")
def inits() -> dict[str, Any]:
    """init on a copy of each pair, run once for all the tests that look at it."""
    return {}


@pytest.fixture(params=PAIRS, ids=lambda p: p.name)
def adopted(
    request: pytest.FixtureRequest, inits: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """init on a copy of the pair: (the pair, the project, init's result)."""
    pair: Path = request.param
    if pair.name not in inits:
        project = copied(pair, tmp_path_factory.mktemp("pair"))
        inits[pair.name] = (pair, project, run("init", cwd=project))
    return inits[pair.name]


@needs_locks
def test_init_adopts_the_pair_or_refuses_with_the_reason(adopted: Any) -> None:
    pair, project, result = adopted
    original = (pair / "pyproject.toml").read_text()
    if pair.name in REFUSED:
        assert result.returncode == 2, result.stderr
        assert REFUSED[pair.name] in result.stderr
        assert "Traceback" not in result.stderr
        assert (project / "pyproject.toml").read_text() == original
        return
    assert result.returncode == 0, result.stderr
    expected = ADOPTED[pair.name]
    assert "inferred from the project's torch setup and uv.lock" in result.stderr
    new = (project / "pyproject.toml").read_text()
    spec = tomllib.loads(new)["tool"]["uvtorch"]
    assert spec == {**expected.spec(), "python": [PYTHON[pair.name]], **MORE.get(pair.name, {})}
    # a second render changes nothing
    check = run("render", "--check", cwd=project)
    assert check.returncode == 0, check.stdout + check.stderr
    # nothing outside the owned entries changed
    body = new[: new.index("# The one place that says which PyTorch build")].rstrip("\n") + "\n"
    choices = expected.choices()
    owned_extras = {c.extra or c.backend.replace(".", "-") for c in choices}
    owned_groups = frozenset(c.group for c in choices if c.group)
    if expected.selector != "extras":
        owned_extras = set()
    mirror = expected.index_url or ""
    assert stripped(original, owned_extras, owned_groups, mirror) == stripped(
        body, owned_extras, owned_groups, mirror
    )
    # a torch requirement in [project].dependencies: what changes for a bare `uv sync` is said
    base = tomllib.loads(original)["project"].get("dependencies", [])
    if expected.selector is not None and any(r.startswith("torch") for r in base):
        assert "so a bare `uv sync` or `uv run` installs no torch (before: PyPI's)" in (
            result.stderr
        )


def stripped(text: str, extras: set[str], groups: frozenset[str], mirror: str) -> dict[str, Any]:
    """test_init_adopt's view without the owned entries, a mirror's indexes counted in."""
    data = strip(text, extras, groups)
    uv = data.get("tool", {}).get("uv", {})
    if mirror and "index" in uv:
        uv["index"] = [i for i in uv["index"] if not i.get("url", "").startswith(mirror)]
    return data


@needs_locks
@pytest.mark.parametrize("adopted", ADOPTED_PAIRS, ids=lambda p: p.name, indirect=True)
def test_every_adopted_target_is_one_the_lock_installs(adopted: Any) -> None:
    """Never an invented target: each target's build is in the pair's uv.lock, from the index
    its source names, with a wheel for the platform and the spec's Python."""
    pair, _project, result = adopted
    for choice in ADOPTED[pair.name].choices():
        line = next(
            (
                n
                for n in result.stderr.splitlines()
                if n.startswith(f"  target {choice.platform}:{choice.backend}")
                and (choice.extra or choice.group or "") in n
            ),
            "",
        )
        assert "; uv.lock: torch " in line, (choice, result.stderr)


@needs_locks
@pytest.mark.parametrize("adopted", ADOPTED_PAIRS, ids=lambda p: p.name, indirect=True)
def test_the_spec_is_proven_against_the_pairs_own_lock(adopted: Any) -> None:
    pair, _project, result = adopted
    if pair.name in ROUTED_COMPANION:
        companion = ROUTED_COMPANION[pair.name]
        assert f"{companion}: comes from https://pypi.org/simple" in result.stderr
        assert f"{companion}: no source routes it, so it came from PyPI" in result.stderr
        return
    assert PROVEN in result.stderr, result.stderr


# -- the lock says: versions, Pythons, the never-installs-torch project ---------------------


def inferred_with_lock(name: str, torch: str | None = None) -> Any:
    pair = next(p for p in PAIRS if p.name == name)
    text = (pair / "pyproject.toml").read_text()
    data = tomllib.loads(text)
    lock_text = (pair / "uv.lock").read_text()
    view = LockView(parse_lock(lock_text), lock_text, data["project"]["name"])
    return infer(data, text, "pyproject.toml", TABLE, torch, view)


@needs_locks
def test_the_locks_versions_decide_the_targets_and_the_python() -> None:
    """torchfx: `torch>=2.6.0`, Linux on cu124, the rest on cpu. The newest release (2.15.0,
    Python 3.14) has no cu124 build; the lock has 2.6.0+cu124 on Linux x86_64 and 2.10.0 on
    the cpu index, and Python 3.13 is the newest both have wheels for."""
    found = inferred_with_lock("matteospanio__torchfx")
    assert found.torch == ">=2.6.0"
    assert found.python == ("3.13",)
    assert (
        "target linux-x86_64:cu124, from the torch source (pyproject.toml line 53); uv.lock: "
        "torch 2.6.0+cu124 from https://download.pytorch.org/whl/cu124 (uv.lock line 2597)"
    ) in found.notes
    assert any(
        n.startswith("target macos-arm64:cpu") and "torch 2.10.0 from" in n for n in found.notes
    )
    # linux-aarch64 takes cu124 too, and the lock has no aarch64 wheel of it: not a target
    assert "linux-aarch64:cu124: uv.lock installs no torch wheel there; not a target" in found.notes
    assert (
        "python: 3.13, the newest Python every target's torch in uv.lock has a wheel for "
        "(of 3.10, 3.11, 3.12, 3.13)"
    ) in found.notes


@needs_locks
def test_a_pypi_extra_is_adopted_under_its_own_name() -> None:
    """fish-speech's `stable` extra holds torch and no source names it: PyPI's build, which
    the lock confirms; adopted as `pypi` targets of that extra, never refused."""
    found = inferred_with_lock("fishaudio__fish-speech")
    stable = [t for t in found.targets if t.extra == "stable"]
    assert {t.backend for t in stable} == {"pypi"}
    assert any(
        n.startswith("target linux-x86_64:pypi, extra stable, from the extra stable, which no ")
        and "uv.lock: torch 2.8.0 from https://pypi.org/simple" in n
        for n in found.notes
    )


@needs_locks
def test_a_project_that_never_installs_torch_is_refused(tmp_path: Path) -> None:
    pair = next(p for p in PAIRS if p.name == "NVIDIA-NeMo__Export-Deploy")
    project = copied(pair, tmp_path)
    result = run("init", "--target", "linux-x86_64:cu130", cwd=project)  # flags do not help
    assert result.returncode == 2
    assert "keeps uv from ever installing torch" in result.stderr
    assert "hint: uvtorch-ci is for projects that install torch with uv" in result.stderr
    assert (project / "pyproject.toml").read_bytes() == (pair / "pyproject.toml").read_bytes()


@needs_locks
@pytest.mark.parametrize(("answer", "written"), [(b"n\n", False), (b"y\n", True)])
def test_with_a_terminal_the_rewrite_is_confirmed_after_the_proof(
    answer: bytes, written: bool, tmp_path: Path
) -> None:
    """The proof is shown before the user accepts: declined, nothing is written."""
    pair = next(p for p in PAIRS if p.name == "noahpro99__latent-model-recreation")
    project = copied(pair, tmp_path)
    code, err = with_terminal(["init"], project, answer)
    assert code == 0, err
    assert err.index(PROVEN) < err.index("Write the spec and render? [Y/n]")
    changed = (project / "pyproject.toml").read_bytes() != (pair / "pyproject.toml").read_bytes()
    assert changed is written
    assert ("nothing written" in err) is not written
    assert (project / ".github").exists() is written
