"""`init` in an existing project: the spec it infers from the project's own torch setup, per
file of the corpus and on small hand-written projects; the command on every corpus file."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_corpus import FILES, _non_family, _strip, needs_corpus, owned_lines, same_inline_array

from uvtorch_ci.errors import SpecError
from uvtorch_ci.init.answers import Inferred, TargetChoice, gather_answers
from uvtorch_ci.init.infer import infer
from uvtorch_ci.plan.planner import Plan, plan_from_data
from uvtorch_ci.releases.table import load_table

TABLE = load_table()


@dataclass(frozen=True)
class Expected:
    """The spec a corpus file configures; targets as "platform:backend[@extra|#group]"."""

    torch: str | None
    targets: tuple[str, ...]
    packages: tuple[str, ...] = ()
    selector: str | None = None
    index_url: str | None = None
    default_group: str | None = None

    def choices(self) -> tuple[TargetChoice, ...]:
        choices = []
        for word in self.targets:
            word, _, group = word.partition("#")
            pair, _, extra = word.partition("@")
            platform, backend = pair.split(":")
            choices.append(
                TargetChoice(platform, backend, extra=extra or None, group=group or None)
            )
        return tuple(choices)

    def spec(self) -> dict[str, Any]:
        """As init writes it into [tool.uvtorch]."""
        data: dict[str, Any] = {"torch": self.torch}
        if self.packages:
            data["packages"] = list(self.packages)
        if self.index_url:
            data["index-url"] = self.index_url
        if self.selector:
            data["selector"] = self.selector
        if self.default_group:
            data["default-group"] = self.default_group
        data["targets"] = [
            {
                "platform": c.platform,
                "backend": c.backend,
                **({"extra": c.extra} if c.extra else {}),
                **({"group": c.group} if c.group else {}),
            }
            for c in self.choices()
        ]
        return data


# What each corpus file configures, read by hand from its sources, indexes and pins: the
# spec, or the flag init must be given (the pins differ, no source routes torch, a source
# init cannot read, groups).
EXPECTED: dict[str, Expected | str] = {
    # ">=2.7.0" spans the rename of the xpu Triton package (2.11): one lock cannot route both,
    # so the range is narrowed to the side whose package the project requires
    "Gary0255__edgeTest": Expected(
        torch=">=2.7.0,<2.11.0",
        packages=("torchvision",),
        selector="extras",
        targets=(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "macos-arm64:cpu",
            "windows-x86_64:cpu",
            "linux-x86_64:cu126@gpu",
            "linux-aarch64:cu126@gpu",
            "windows-x86_64:cu126@gpu",
            "linux-x86_64:xpu",
            "windows-x86_64:xpu",
        ),
    ),
    "JackismyShephard__ultimate-rvc": "--torch",
    "Lightricks__LTX-2": Expected(
        torch="2.13.0",
        packages=("torchaudio",),
        targets=("linux-x86_64:cu132", "linux-aarch64:cu132", "windows-x86_64:cu132"),
    ),
    "MisileLab__noMoreSpam": Expected(
        torch="2.8.0",
        selector="extras",
        targets=(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "macos-arm64:cpu",
            "windows-x86_64:cpu",
            "linux-x86_64:rocm6.3@rocm",
        ),
    ),
    "NVIDIA-NeMo__RL": Expected(
        torch="2.11.0",
        packages=("torchvision",),
        targets=("linux-x86_64:cu130", "linux-aarch64:cu130"),
    ),
    "NovaSky-AI__SkyRL": Expected(
        torch="2.11.0",
        packages=("torchvision",),
        targets=("linux-x86_64:cu130", "linux-aarch64:cu130", "macos-arm64:cpu"),
    ),
    "PrimeIntellect-ai__prime-rl": Expected(
        torch=">=2.9.0",
        packages=("torchvision", "torchaudio"),
        targets=("linux-x86_64:cu128", "linux-aarch64:cu128"),
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
    "catyperry__farmers-eye-pytorch": "--target",
    "docling-project__docling-serve": Expected(
        torch=">=2.7.1",
        packages=("torchvision",),
        selector="groups",
        default_group="pypi",  # from [tool.uv] default-groups
        targets=(
            "linux-x86_64:pypi#pypi",
            "linux-aarch64:pypi#pypi",
            "macos-arm64:pypi#pypi",
            "windows-x86_64:pypi#pypi",
            "linux-x86_64:cpu#cpu",
            "linux-aarch64:cpu#cpu",
            "macos-arm64:cpu#cpu",
            "windows-x86_64:cpu#cpu",
            "linux-x86_64:cu126#cu126",
            "linux-aarch64:cu126#cu126",
            "linux-x86_64:cu128#cu128",
            "linux-aarch64:cu128#cu128",
            "linux-x86_64:cu130#cu130",
            "linux-aarch64:cu130#cu130",
            "linux-x86_64:rocm6.3#rocm",
            "linux-x86_64:rocm7.2#rocm72",
        ),
    ),
    "ekg__grufinity": Expected(
        torch="2.5.1",
        packages=("torchvision", "torchaudio"),
        selector="extras",
        targets=("linux-x86_64:cu124", "windows-x86_64:cu124", "linux-x86_64:rocm6.2@hip"),
    ),
    "expert-kit__expert-kit": Expected(
        torch="2.7.0",
        selector="extras",
        targets=(
            "macos-arm64:cpu",
            "linux-x86_64:cu128",
            "linux-aarch64:cu128",
            "windows-x86_64:cu128",
        ),
    ),
    "gkyle__startrails": Expected(
        torch=">=2.6.0",
        selector="extras",
        targets=(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "macos-arm64:cpu",
            "windows-x86_64:cpu",
            "linux-x86_64:cu118",
            "windows-x86_64:cu118",
            "linux-x86_64:cu124",
            "windows-x86_64:cu124",
            "linux-x86_64:cpu@mps",
            "linux-aarch64:cpu@mps",
            "macos-arm64:cpu@mps",
            "windows-x86_64:cpu@mps",
        ),
    ),
    "index-tts__index-tts": Expected(
        torch="==2.8.*",
        packages=("torchaudio",),
        targets=("linux-x86_64:cu128", "windows-x86_64:cu128"),
    ),
    "invoke-ai__InvokeAI": "--torch",
    "jesusdpa1__emgonset": Expected(
        torch=">=2.6.0",
        packages=("torchvision", "torchaudio"),
        selector="extras",
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
    "karpathy__nanochat": "--target",
    "kohya-ss__musubi-tuner": Expected(
        torch=">=2.5.1",
        packages=("torchvision",),
        selector="extras",
        targets=(
            "linux-x86_64:cu124",
            "windows-x86_64:cu124",
            "linux-x86_64:cu128",
            "linux-aarch64:cu128",
            "windows-x86_64:cu128",
            "linux-x86_64:cu130",
            "linux-aarch64:cu130",
            "windows-x86_64:cu130",
        ),
    ),
    "kornia__kornia": "--target",
    "kyutai-labs__pocket-tts": Expected(
        torch=">=2.5.0",
        targets=("linux-x86_64:cpu", "linux-aarch64:cpu", "macos-arm64:cpu", "windows-x86_64:cpu"),
    ),
    "m-bain__whisperX": Expected(
        torch="~=2.8.0",
        packages=("torchvision", "torchaudio"),
        targets=(
            "macos-arm64:cpu",
            "linux-aarch64:cpu",
            "windows-x86_64:cpu",
            "linux-x86_64:cu128",
        ),
    ),
    "matteospanio__torchfx": Expected(
        torch=">=2.6.0",
        packages=("torchaudio",),
        targets=("macos-arm64:cpu", "windows-x86_64:cpu", "linux-x86_64:cu124"),
    ),
    "meta-llama__llama-stack": Expected(
        torch=">=2.6.0",
        packages=("torchvision",),
        targets=("linux-x86_64:cpu", "linux-aarch64:cpu", "macos-arm64:cpu", "windows-x86_64:cpu"),
    ),
    "nari-labs__dia": Expected(
        torch="2.6.0",
        packages=("torchaudio",),
        # `sys_platform == 'linux'` sends aarch64 to cu126 too, which has torch 2.6.0 wheels
        # for it (ashengstd/CacheFlux's lock holds them)
        targets=("linux-x86_64:cu126", "linux-aarch64:cu126", "windows-x86_64:cu126"),
    ),
    "remsky__Kokoro-FastAPI": Expected(
        torch="2.8.0",
        selector="extras",
        targets=(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "macos-arm64:cpu",
            "windows-x86_64:cpu",
            "linux-x86_64:cu126@gpu",
            "linux-aarch64:cu129@gpu",
            "linux-x86_64:cu128@gpu-cu128",
            "linux-aarch64:cu129@gpu-cu128",
            "linux-x86_64:rocm6.4@rocm",
        ),
    ),
    "rewaifu__resselt": Expected(
        torch=">=2.6.0",
        selector="extras",
        targets=(
            "linux-x86_64:cu118",
            "windows-x86_64:cu118",
            "linux-x86_64:cu124",
            "windows-x86_64:cu124",
            "linux-x86_64:cu126",
            "linux-aarch64:cu126",
            "windows-x86_64:cu126",
            "linux-x86_64:cu128",
            "linux-aarch64:cu128",
            "windows-x86_64:cu128",
        ),
    ),
    "rits-menglab__ddp-resnet101-cifar10": Expected(
        torch=">=2.5.1",
        packages=("torchvision",),
        selector="extras",
        targets=(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "macos-arm64:cpu",
            "windows-x86_64:cpu",
            "linux-x86_64:cu118",
            "windows-x86_64:cu118",
            "linux-x86_64:cu121",
            "windows-x86_64:cu121",
            # the cu124 extra holds torch and no source names it: PyPI's build, as it is
            "linux-x86_64:pypi@cu124",
            "linux-aarch64:pypi@cu124",
            "macos-arm64:pypi@cu124",
            "windows-x86_64:pypi@cu124",
        ),
    ),
    "tonnetonne814__ML-Dev-Kit": "--torch",
    "tryfasting__karpathy-zero-to-hero-clone": Expected(
        torch="2.5.0",
        packages=("torchvision",),
        selector="extras",
        targets=(
            "linux-x86_64:cpu",
            "linux-aarch64:cpu",
            "macos-arm64:cpu",
            "windows-x86_64:cpu",
            "linux-x86_64:cu121",
            "windows-x86_64:cu121",
        ),
    ),
    "ykinolab-tokai__signal-ml-training": Expected(
        torch="2.7.1",
        packages=("torchvision", "torchaudio"),
        targets=("linux-x86_64:cpu", "linux-aarch64:cpu", "macos-arm64:cpu", "windows-x86_64:cpu"),
    ),
}
# Inferred, but the plan refuses it: init exits 2 naming the flag.
REFUSED = {
    # requires-python = ">=3.8" admits a Python torch 2.5.1 has no wheels for: `uv lock`
    # would fail, so render (and init with it) names the key and the floor that works
    "ekg__grufinity": "pyproject.toml: project.requires-python",
}


TRITONS = ("pytorch-triton-rocm", "pytorch-triton-xpu", "triton-rocm", "triton-xpu")


def strip(
    text: str, extras_owned: set[str], groups_owned: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """test_corpus's view without the owned entries, counting in the Triton packages (the
    tool routes them with the rocm and xpu builds), the conflicts among the spec's extras or
    groups, and (groups mode) the torch family in the groups that select a backend."""
    data = _strip(text)
    uv = data.get("tool", {}).get("uv", {})
    if "conflicts" in uv:
        uv["conflicts"] = [
            group
            for group in uv["conflicts"]
            if not all(
                (set(i) == {"extra"} and i["extra"] in extras_owned)
                or (set(i) == {"group"} and i["group"] in groups_owned)
                for i in group
            )
        ]
        if not uv["conflicts"]:
            del uv["conflicts"]
    groups = data.get("dependency-groups", {})
    for name in groups_owned & set(groups):
        kept = [r for r in groups[name] if not isinstance(r, str) or _non_family([r])]
        groups[name] = [r for r in kept if not (isinstance(r, str) and r.startswith(TRITONS))]
        if not groups[name]:
            del groups[name]
    project = data.get("project", {})
    extras = project.get("optional-dependencies", {})
    for name, requirements in [("", project.get("dependencies", [])), *extras.items()]:
        kept = [r for r in requirements if not r.startswith(TRITONS)]
        if name:
            extras[name] = kept
        else:
            project["dependencies"] = kept
    for name in list(extras):
        if not extras[name]:
            del extras[name]
    sources = data.get("tool", {}).get("uv", {}).get("sources", {})
    for triton in TRITONS:
        sources.pop(triton, None)
    if "sources" in uv and not sources:
        del uv["sources"]
    return data


def inferred(path: Path) -> Inferred:
    text = path.read_text()
    return infer(tomllib.loads(text), text, "pyproject.toml", TABLE)


@needs_corpus
def test_every_corpus_file_has_an_expectation() -> None:
    assert sorted(EXPECTED) == [p.stem for p in FILES]


@needs_corpus
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_inferred_spec_is_what_the_file_configures(path: Path) -> None:
    expected = EXPECTED[path.stem]
    found = inferred(path)
    if isinstance(expected, str):
        assert sorted(found.missing) == expected.split()
        return
    assert found.missing == {}
    assert (found.torch, found.packages, found.selector, found.index_url) == (
        expected.torch,
        expected.packages,
        expected.selector,
        expected.index_url,
    )
    assert found.targets == expected.choices()
    # every finding names the file, and the line where it has one
    assert all("pyproject.toml line " in n for n in found.notes if n.startswith("target "))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("UVTORCH_INDEX_URL", "GITHUB_ACTIONS")}
    return subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", *args],
        cwd=cwd,
        env={**env, "UVTORCH_CI_CACHE_DIR": "off"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


@needs_corpus
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_init_adopts_the_corpus_file_or_names_the_flag(path: Path, tmp_path: Path) -> None:
    original = path.read_bytes().decode("utf-8")
    (tmp_path / "pyproject.toml").write_bytes(original.encode())
    result = run("init", cwd=tmp_path)
    expected = EXPECTED[path.stem]
    flag = expected if isinstance(expected, str) else REFUSED.get(path.stem)
    if flag is not None:
        assert result.returncode == 2, result.stderr
        assert f"error: {flag}" in result.stderr
        assert "Traceback" not in result.stderr
        assert (tmp_path / "pyproject.toml").read_bytes().decode() == original
        assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]
        return
    assert isinstance(expected, Expected)
    assert result.returncode == 0, result.stderr
    assert "inferred from the project's torch setup" in result.stderr
    new = (tmp_path / "pyproject.toml").read_text()
    data = tomllib.loads(new)
    assert data["tool"]["uvtorch"] == expected.spec()

    check = run("render", "--check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr

    # nothing outside the owned entries changed: semantically, and line by line
    spec_at = new.index("# The one place that says which PyTorch build")
    body = new[:spec_at].rstrip("\n") + "\n"
    owned_extras = {c.extra or c.backend.replace(".", "-") for c in expected.choices()}
    owned_groups = frozenset(c.group for c in expected.choices() if c.group)
    if expected.selector != "extras":
        owned_extras = set()
    assert strip(original, owned_extras, owned_groups) == strip(body, owned_extras, owned_groups)
    old_lines = original.splitlines(keepends=True)
    owned = owned_lines(old_lines)
    new_lines = body.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        if tag not in ("delete", "replace"):
            continue
        for number in range(i1, i2):
            if number in owned or number == len(old_lines) - 1:
                continue
            pair = new_lines[j1 + number - i1] if tag == "replace" else ""
            assert same_inline_array(old_lines[number], pair), f"line {number + 1} changed"


# -- small projects, one way of configuring torch each ------------------------------------

HEAD = """\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.10"
"""
CU128 = """
[[tool.uv.index]]
name = "pytorch-cu128"
url = "https://download.pytorch.org/whl/cu128"
explicit = true
"""
CPU = """
[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true
"""


def infer_text(text: str) -> Inferred:
    return infer(tomllib.loads(text), text, "pyproject.toml", TABLE)


def targets(found: Inferred) -> list[str]:
    return [f"{t.platform}:{t.backend}" + (f"@{t.extra}" if t.extra else "") for t in found.targets]


@pytest.mark.parametrize(
    ("marker", "platforms"),
    [
        (
            "sys_platform == 'linux' or sys_platform == 'win32'",
            ["linux-x86_64", "linux-aarch64", "windows-x86_64"],
        ),
        ("sys_platform != 'darwin'", ["linux-x86_64", "linux-aarch64", "windows-x86_64"]),
        ("sys_platform == 'linux' and platform_machine == 'x86_64'", ["linux-x86_64"]),
        ("platform_system == 'Windows'", ["windows-x86_64"]),
    ],
)
def test_os_wide_markers_give_each_platform_they_admit(marker: str, platforms: list[str]) -> None:
    text = (
        HEAD
        + 'dependencies = ["torch==2.9.1"]\n\n[tool.uv.sources]\n'
        + f'torch = [{{ index = "pytorch-cu128", marker = "{marker}" }}]\n'
        + CU128
    )
    found = infer_text(text)
    assert found.torch == "2.9.1"
    assert targets(found) == [f"{p}:cu128" for p in platforms]
    assert found.selector is None
    note = f"target {platforms[0]}:cu128, from the torch source (pyproject.toml line 8)"
    assert note in found.notes


def test_a_markerless_inline_table_routes_every_platform_the_index_serves() -> None:
    text = HEAD + 'dependencies = ["torch>=2.8", "torchvision"]\n\n[tool.uv.sources]\n'
    text += 'torch = { index = "pytorch-cpu" }\ntorchvision = { index = "pytorch-cpu" }\n' + CPU
    found = infer_text(text)
    assert found.torch == ">=2.8"
    assert found.packages == ("torchvision",)
    assert targets(found) == [
        "linux-x86_64:cpu",
        "linux-aarch64:cpu",
        "macos-arm64:cpu",
        "windows-x86_64:cpu",
    ]
    assert any(n.startswith("macos-x86_64: the cpu index has no torch") for n in found.notes)


def test_only_the_first_markerless_source_counts_as_uv_takes_the_first_match() -> None:
    """Two markerless sources for torch: uv installs from the first on every platform (it
    takes the first entry whose marker matches), so the second routes nothing and makes no
    target, not even where the first index has no build."""
    text = (
        HEAD
        + 'dependencies = ["torch==2.9.1"]\n\n[tool.uv.sources]\n'
        + 'torch = [{ index = "pytorch-cu128" }, { index = "pytorch-cpu" }]\n'
        + CU128
        + CPU
    )
    found = infer_text(text)
    assert targets(found) == ["linux-x86_64:cu128", "linux-aarch64:cu128", "windows-x86_64:cu128"]
    assert found.selector is None
    assert any(n.startswith("macos-arm64: the cu128 index has no torch") for n in found.notes)


def test_the_uv_docs_extras_give_extras_mode_with_those_backends() -> None:
    text = (
        HEAD
        + """dependencies = []

[project.optional-dependencies]
cpu = ["torch>=2.7.0", "torchvision>=0.22.0"]
cu128 = ["torch>=2.7.0", "torchvision>=0.22.0"]

[tool.uv]
conflicts = [[{ extra = "cpu" }, { extra = "cu128" }]]

[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", extra = "cpu" },
  { index = "pytorch-cu128", extra = "cu128", marker = "sys_platform == 'linux'" },
]
"""
        + CPU
        + CU128
    )
    found = infer_text(text)
    assert found.selector == "extras"
    assert found.torch == ">=2.7.0"
    assert found.packages == ("torchvision",)
    assert targets(found) == [
        "linux-x86_64:cpu",
        "linux-aarch64:cpu",
        "macos-arm64:cpu",
        "windows-x86_64:cpu",
        "linux-x86_64:cu128",
        "linux-aarch64:cu128",
    ]
    where = "[project.optional-dependencies].cpu (pyproject.toml line 8)"
    assert f"torch: >=2.7.0, from {where}" in found.notes


def test_an_extra_not_named_after_its_backend_keeps_its_name() -> None:
    text = (
        HEAD
        + """dependencies = []

[project.optional-dependencies]
gpu = ["torch==2.9.1"]

[tool.uv.sources]
torch = [{ index = "pytorch-cu128", extra = "gpu", marker = "sys_platform == 'win32'" }]
"""
        + CU128
    )
    found = infer_text(text)
    assert found.targets == (TargetChoice("windows-x86_64", "cu128", extra="gpu"),)
    assert found.selector == "extras"


def test_an_extra_selected_by_its_marker() -> None:
    text = (
        HEAD
        + """dependencies = []

[project.optional-dependencies]
cuda = ["torch==2.9.1"]

[tool.uv.sources]
torch = [{ index = "pytorch-cu128", marker = "extra == 'cuda' and sys_platform == 'linux'" }]
"""
        + CU128
    )
    found = infer_text(text)
    assert targets(found) == ["linux-x86_64:cu128@cuda", "linux-aarch64:cu128@cuda"]


def test_a_mirror_becomes_the_index_url() -> None:
    text = HEAD + 'dependencies = ["torch==2.9.1"]\n\n[tool.uv.sources]\n'
    text += 'torch = { index = "mirror", marker = "sys_platform == \'linux\'" }\n'
    text += (
        '\n[[tool.uv.index]]\nname = "mirror"\nurl = "https://mirror.example/pytorch/whl/cu128/"\n'
    )
    found = infer_text(text)
    assert found.index_url == "https://mirror.example/pytorch/whl"
    assert targets(found) == ["linux-x86_64:cu128", "linux-aarch64:cu128"]


def test_companions_are_found_in_groups_and_other_extras() -> None:
    text = (
        HEAD
        + """dependencies = ["torch==2.9.1"]

[project.optional-dependencies]
video = ["torchvision"]

[dependency-groups]
dev = [{ include-group = "audio" }]
audio = ["torchaudio>=2.0"]
"""
    )
    found = infer_text(text)
    assert found.packages == ("torchvision", "torchaudio")
    assert (
        "packages: torchvision, from [project.optional-dependencies].video (pyproject.toml line 8)"
        in found.notes
    )
    assert (
        "packages: torchaudio, from [dependency-groups].audio (pyproject.toml line 12)"
        in found.notes
    )


@pytest.mark.parametrize(
    ("pins", "torch", "missing"),
    [
        (['"torch==2.7.1+cu128"'], "2.7.1", None),
        (['"torch~=2.7"'], "~=2.7", None),
        (['"torch==2.8.*"'], "==2.8.*", None),
        (['"torch"'], None, None),
        (['"torch>=2.5.1"', '"torch>=2.7.1"'], ">=2.7.1", None),  # resolved together
        (['"torch==2.7.1"', '"torch==2.6.0"'], None, "--torch"),
    ],
)
def test_the_torch_answer_from_the_pins(
    pins: list[str], torch: str | None, missing: str | None
) -> None:
    extras = "".join(f"e{i} = [{pin}]\n" for i, pin in enumerate(pins))
    text = HEAD + "dependencies = []\n\n[project.optional-dependencies]\n" + extras
    found = infer_text(text)
    assert found.torch == torch
    assert (missing in found.missing) if missing else "--torch" not in found.missing


def test_pins_resolved_together_give_what_they_allow_together() -> None:
    text = HEAD + 'dependencies = ["torch~=2.7"]\n\n[project.optional-dependencies]\n'
    text += "natten = [\"torch==2.13.0 ; sys_platform == 'linux'\"]\n"
    assert infer_text(text).torch == "2.13.0"
    marked = text.replace('"torch~=2.7"', "\"torch~=2.7 ; sys_platform == 'darwin'\"")
    assert "--torch" in infer_text(marked).missing  # two answers, one per platform


def test_the_floors_of_backend_extras_give_the_lowest() -> None:
    text = HEAD + "dependencies = []\n\n[project.optional-dependencies]\n"
    text += 'cu124 = ["torch>=2.5.1"]\ncu130 = ["torch>=2.9.1"]\n'
    assert infer_text(text).torch == ">=2.5.1"


@pytest.mark.parametrize(
    ("sources", "reason"),
    [
        ("", "torch has no source in [tool.uv.sources]"),
        (
            'torch = { index = "pytorch-cu128", marker = "platform_system == \'linux\'" }\n',
            "no torch source routes a platform",
        ),
        (
            'torch = { url = "https://example.com/torch.whl" }\n',
            "names a direct url source (https://example.com/torch.whl), not an index",
        ),
    ],
)
def test_backends_it_cannot_read_name_the_target_flag(sources: str, reason: str) -> None:
    text = HEAD + 'dependencies = ["torch==2.9.1"]\n\n[tool.uv.sources]\n' + sources + CU128
    found = infer_text(text)
    assert found.targets == ()
    assert reason in found.missing["--target"]


def test_a_project_without_torch_infers_nothing() -> None:
    found = infer_text(HEAD + 'dependencies = ["numpy"]\n')
    assert found == Inferred()


def test_values_of_the_wrong_shape_are_not_a_traceback() -> None:
    found = infer_text('project = "x"\ntool = { uv = [] }\n')
    assert found == Inferred()


# -- the command: flags override, no backend changes silently -------------------------------


def write(tmp_path: Path, text: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)


XPU = (
    HEAD
    + """dependencies = ["torch==2.9.1"]

[tool.uv.sources]
torch = [{ index = "pytorch-xpu", marker = "sys_platform == 'linux' or sys_platform == 'win32'" }]

[[tool.uv.index]]
name = "pytorch-xpu"
url = "https://download.pytorch.org/whl/xpu"
explicit = true
"""
)


def test_init_keeps_an_xpu_project_on_xpu(tmp_path: Path) -> None:
    write(tmp_path, XPU)
    result = run("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    spec = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["uvtorch"]
    assert spec["targets"] == [
        {"platform": "linux-x86_64", "backend": "xpu"},
        {"platform": "windows-x86_64", "backend": "xpu"},
    ]
    assert "linux-aarch64: the xpu index has no torch 2.9.1 build for it" in result.stderr
    assert "macos-arm64: no torch source routes it, so it keeps PyPI's build" in result.stderr
    data = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    assert [i["url"] for i in data["tool"]["uv"]["index"]] == [
        "https://download.pytorch.org/whl/xpu"
    ]


def test_flags_override_what_is_inferred(tmp_path: Path) -> None:
    write(tmp_path, XPU)
    result = run("init", "--torch", "2.9.0", "--target", "linux-x86_64:cu128", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    spec = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["uvtorch"]
    assert spec["torch"] == "2.9.0"
    assert spec["targets"] == [{"platform": "linux-x86_64", "backend": "cu128"}]


def test_a_backend_it_cannot_infer_is_asked_for_not_defaulted(tmp_path: Path) -> None:
    text = HEAD + 'dependencies = ["torch==2.9.1", "torchvision"]\n'
    write(tmp_path, text)
    result = run("init", cwd=tmp_path)
    assert result.returncode == 2
    assert "error: --target: cannot infer it: torch has no source" in result.stderr
    assert "hint: give --target PLATFORM:BACKEND[:RUNNER] for each platform" in result.stderr
    assert (tmp_path / "pyproject.toml").read_text() == text
    given = run("init", "--target", "linux-x86_64:cu128", cwd=tmp_path)
    assert given.returncode == 0, given.stderr
    spec = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["uvtorch"]
    assert spec["packages"] == ["torchvision"]  # adopted, not refused


# -- the spec keys adoption needs: selector, a target's extra --------------------------------


def plan_of(data: dict[str, Any]) -> Plan:
    return plan_from_data(data, file="uvtorch.toml", prefix="", env={}, table=TABLE)


GPU_SPEC: dict[str, Any] = {
    "torch": "2.9.1",
    "targets": [
        {"platform": "linux-x86_64", "backend": "cpu"},
        {"platform": "linux-x86_64", "backend": "cu128", "extra": "gpu"},
        {"platform": "windows-x86_64", "backend": "cu128", "extra": "gpu"},
    ],
}


def test_a_targets_extra_names_the_extra_that_selects_it() -> None:
    plan = plan_of(GPU_SPEC)
    assert plan.mode == "extras"
    assert list(plan.extras) == ["cpu", "gpu"]
    assert plan.conflicts == (("cpu", "gpu"),)
    assert [s.extra for s in plan.sources["torch"]] == ["cpu", "gpu"]
    assert [j.sync_args for j in plan.jobs] == [
        ("--extra", "cpu"),
        ("--extra", "gpu"),
        ("--extra", "gpu"),
    ]
    assert [t.name for t in plan.spec.targets] == [
        "linux-x86_64-cpu",
        "linux-x86_64-cu128-gpu",
        "windows-x86_64-cu128-gpu",
    ]


def test_selector_extras_keeps_extras_with_one_backend_per_platform() -> None:
    data = {
        "torch": "2.9.1",
        "selector": "extras",
        "targets": [
            {"platform": "macos-arm64", "backend": "cpu"},
            {"platform": "linux-x86_64", "backend": "cu128"},
        ],
    }
    plan = plan_of(data)
    assert plan.mode == "extras"
    assert list(plan.extras) == ["cpu", "cu128"]
    assert plan.dependencies == ()


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ({"selector": "marker"}, "selector", 'unknown selector "marker"'),
        ({"selector": "markers"}, "selector", "linux-x86_64 has several"),
        (
            {"targets": [{"platform": "linux-x86_64", "backend": "cpu", "extra": "GPU"}]},
            "targets[0].extra",
            '"GPU" is not a normalized extra name',
        ),
        (
            {
                "targets": [
                    {"platform": "linux-x86_64", "backend": "cpu", "extra": "gpu"},
                    {"platform": "linux-x86_64", "backend": "cu128", "extra": "gpu"},
                ]
            },
            "targets[1].extra",
            'the extra "gpu" already selects cpu on linux-x86_64',
        ),
    ],
)
def test_bad_selector_and_extra_are_spec_errors(
    change: dict[str, Any], where: str, message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        plan_of({**GPU_SPEC, **change})
    assert caught.value.where == where
    assert message in caught.value.message


# -- groups mode ---------------------------------------------------------------------------

GROUPS_SPEC: dict[str, Any] = {
    "torch": "2.9.1",
    "packages": ["torchvision"],
    "selector": "groups",
    "default-group": "cu128",
    "targets": [
        {"platform": "linux-x86_64", "backend": "cpu"},
        {"platform": "linux-x86_64", "backend": "cu128"},
        {"platform": "macos-arm64", "backend": "mps", "group": "cpu"},
    ],
}


def test_groups_mode_selects_backends_by_dependency_group() -> None:
    plan = plan_of(GROUPS_SPEC)
    assert plan.mode == "groups"
    assert plan.extras == {}
    assert plan.dependencies == ()
    assert plan.groups == {
        "cpu": ("torch==2.9.1", "torchvision==0.24.1"),
        "cu128": ("torch==2.9.1", "torchvision==0.24.1"),
    }
    assert plan.conflicts == (("cpu", "cu128"),)
    assert plan.conflict_key == "group"
    assert plan.default_groups == ("cu128",)
    assert [(s.group, s.extra) for s in plan.sources["torch"]] == [("cpu", None), ("cu128", None)]
    assert [(b.group, b.extra) for b in plan.builds] == [
        ("cpu", None),
        ("cu128", None),
        ("cpu", None),
    ]
    assert [j.sync_args for j in plan.jobs] == [
        ("--no-group", "cu128", "--group", "cpu"),
        (),  # the default group: a bare sync installs it
        ("--no-group", "cu128", "--group", "cpu"),
    ]


def test_groups_without_a_default_sync_with_their_group() -> None:
    data = {k: v for k, v in GROUPS_SPEC.items() if k != "default-group"}
    plan = plan_of(data)
    assert plan.default_groups == ()
    assert [j.sync_args for j in plan.jobs][:2] == [
        ("--group", "cpu"),
        ("--group", "cu128"),
    ]


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        ({"default-group": "cu126"}, "default-group", '"cu126" is not one of the groups'),
        (
            {"selector": "extras", "default-group": None},
            "selector",
            "targets name dependency groups",
        ),
        (
            {
                "targets": [
                    {"platform": "linux-x86_64", "backend": "cpu", "group": "a", "extra": "a"}
                ]
            },
            "targets[0].group",
            "selected by an extra or by a group, not both",
        ),
    ],
)
def test_bad_groups_specs_are_spec_errors(change: dict[str, Any], where: str, message: str) -> None:
    data = {k: v for k, v in {**GROUPS_SPEC, **change}.items() if v is not None}
    with pytest.raises(SpecError) as caught:
        plan_of(data)
    assert caught.value.where == where
    assert message in caught.value.message


GROUPS_PROJECT = (
    HEAD
    + """dependencies = ["fastapi"]

[dependency-groups]
dev = ["pytest"]
cpu = ["torch>=2.9.1", "torchvision>=0.24.1"]
cu128 = ["torch>=2.9.1", "torchvision>=0.24.1"]

[tool.uv]
default-groups = ["dev", "cu128"]
conflicts = [
  [
    { group = "cpu" },
    { group = "cu128" },  # the GPU build
  ],
]

[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", group = "cpu" },
  { index = "pytorch-cu128", group = "cu128", marker = "sys_platform == 'linux'" },
]
torchvision = [
  { index = "pytorch-cpu", group = "cpu" },
  { index = "pytorch-cu128", group = "cu128", marker = "sys_platform == 'linux'" },
]
"""
    + CPU
    + CU128
)


def test_group_keyed_sources_give_groups_mode_and_the_default_group() -> None:
    found = infer_text(GROUPS_PROJECT)
    assert found.selector == "groups"
    assert found.default_group == "cu128"
    assert targets(found) == [
        "linux-x86_64:cpu",
        "linux-aarch64:cpu",
        "macos-arm64:cpu",
        "windows-x86_64:cpu",
        "linux-x86_64:cu128",
        "linux-aarch64:cu128",
    ]
    assert {t.group for t in found.targets} == {"cpu", "cu128"}


def test_init_adopts_a_groups_project_and_render_keeps_it(tmp_path: Path) -> None:
    write(tmp_path, GROUPS_PROJECT)
    result = run("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "pyproject.toml").read_text()
    data = tomllib.loads(text)
    assert data["tool"]["uvtorch"]["selector"] == "groups"
    assert data["tool"]["uvtorch"]["default-group"] == "cu128"
    assert data["tool"]["uv"]["default-groups"] == ["dev", "cu128"]
    assert data["dependency-groups"]["dev"] == ["pytest"]
    # torchvision>=0.24.1 admits the same releases as the spec's companion range: kept so
    assert data["dependency-groups"]["cu128"] == ["torch>=2.9.1", "torchvision>=0.24.1"]
    assert '    { group = "cu128" },  # the GPU build\n' in text
    assert "uv sync --no-group cu128 --group cpu    # linux-x86_64-cpu" in result.stderr
    assert run("render", "--check", cwd=tmp_path).returncode == 0


# -- platforms the spec does not target ------------------------------------------------------


def test_a_pypi_target_gets_no_source_and_expects_pypis_build() -> None:
    plan = plan_of(
        {
            "torch": "2.9.1",
            "targets": [
                {"platform": "linux-x86_64", "backend": "pypi"},
                {"platform": "macos-arm64", "backend": "pypi"},
                {"platform": "windows-x86_64", "backend": "cu128"},
            ],
        }
    )
    assert plan.mode == "markers"
    assert [i.name for i in plan.indexes] == ["pytorch-cu128"]
    assert [s.index for s in plan.sources["torch"]] == ["pytorch-cu128"]
    linux, macos, windows = plan.builds
    assert (linux.from_pypi, linux.check_backend, linux.torch) == (True, "cu128", "2.9.1")
    assert (macos.check_backend, macos.torch) == ("cpu", "2.9.1")
    assert (windows.from_pypi, windows.check_backend) == (False, "cu128")


def test_a_pypi_extra_has_its_requirements_but_no_source() -> None:
    plan = plan_of(
        {
            "torch": "2.9.1",
            "targets": [
                {"platform": "linux-x86_64", "backend": "pypi"},
                {"platform": "linux-x86_64", "backend": "cu126"},
            ],
        }
    )
    assert list(plan.extras) == ["pypi", "cu126"]
    assert plan.conflicts == (("pypi", "cu126"),)
    assert [s.extra for s in plan.sources["torch"]] == ["cu126"]


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        (
            {"torch": "2.9.1", "targets": [{"platform": "linux-x86_64", "backend": "pypi"}]},
            "targets",
            "every target takes PyPI's build",
        ),
        (
            {
                "torch": "2.9.1",
                "targets": [
                    {"platform": "macos-x86_64", "backend": "pypi"},
                    {"platform": "linux-x86_64", "backend": "cpu"},
                ],
            },
            "targets[0].backend",
            "PyPI has no torch 2.9.1 wheel for macos-x86_64",
        ),
        (
            {
                "torch": "2.9.1",
                "other-platforms": "rocm6.4",
                "targets": [{"platform": "linux-x86_64", "backend": "cpu"}],
            },
            "other-platforms",
            '"rocm6.4" is not "pypi" or a cpu or cuXYZ backend',
        ),
    ],
)
def test_bad_pypi_and_other_platform_specs(data: dict[str, Any], where: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        plan_of(data)
    assert caught.value.where == where
    assert message in caught.value.message


def test_other_platforms_get_one_source_that_leaves_the_targets_out() -> None:
    plan = plan_of(
        {
            "torch": "2.9.1",
            "other-platforms": "cpu",
            "targets": [
                {"platform": "linux-x86_64", "backend": "cu128"},
                {"platform": "macos-arm64", "backend": "mps"},
            ],
        }
    )
    assert [(s.index, s.marker) for s in plan.sources["torch"]] == [
        ("pytorch-cu128", "sys_platform == 'linux' and platform_machine == 'x86_64'"),
        ("pytorch-cpu", "sys_platform == 'darwin' and platform_machine == 'arm64'"),
        (
            "pytorch-cpu",
            "(sys_platform != 'linux' or platform_machine != 'x86_64') and "
            "(sys_platform != 'darwin' or platform_machine != 'arm64')",
        ),
    ]
    assert [i.name for i in plan.indexes] == ["pytorch-cu128", "pytorch-cpu"]


@needs_corpus
def test_a_torch_flag_recomputes_what_the_release_publishes(tmp_path: Path) -> None:
    """docling-serve with --torch 2.9.1: its cpu group's exclusion of torchvision 0.24.0 and
    0.24.1 on Linux x86_64 then leaves no build (and there is no rocm7.2 build either); init
    says so, naming the requirement, and writes nothing."""
    path = next(p for p in FILES if p.stem == "docling-project__docling-serve")
    original = path.read_text()
    write(tmp_path, original)
    result = run("init", "--torch", "2.9.1", cwd=tmp_path)
    assert result.returncode == 2
    assert "linux-x86_64: the rocm7.2 index has no torch 2.9.1 build for it" in result.stderr
    assert (
        'error: pyproject.toml: [dependency-groups].cpu[2]: "torchvision!=0.24.1,!=0.24.0; '
        "sys_platform == 'linux' and platform_machine == 'x86_64'\" excludes every version the "
        "spec allows (torchvision==0.24.1)"
    ) in result.stderr
    assert (tmp_path / "pyproject.toml").read_text() == original


def test_with_a_terminal_what_cannot_be_inferred_is_asked_for() -> None:
    asked: list[str] = []

    def ask(question: str, default: str, check: Any) -> str:
        asked.append(question)
        return default

    found = infer_text(HEAD + 'dependencies = ["torch==2.7.1", "torchvision"]\n')
    assert "--target" in found.missing
    answers = gather_answers(
        torch=None, targets=(), packages=(), python=(), table=TABLE, ask=ask, inferred=found
    )
    assert answers.torch == "2.7.1"  # inferred: not asked
    assert asked == [  # the companions were found: not asked either
        "Targets (platform:backend[:runner], comma-separated)",
        "Python versions for the CI jobs (comma-separated, or auto)",
    ]
    assert answers.packages == ("torchvision",)
    assert answers.targets  # the defaults the user accepted at the prompt


def test_an_extras_project_with_torch_in_its_dependencies_is_told_what_changes() -> None:
    text = HEAD + 'dependencies = ["torch==2.7.0"]\n\n[project.optional-dependencies]\n'
    text += 'cpu = ["torch==2.7.0"]\ncu128 = ["torch==2.7.0"]\n\n[tool.uv.sources]\n'
    text += 'torch = [\n  { index = "pytorch-cpu", extra = "cpu" },\n'
    text += '  { index = "pytorch-cu128", extra = "cu128" },\n]\n' + CPU + CU128
    found = infer_text(text)
    assert found.selector == "extras"
    assert (
        "torch is in [project].dependencies too (torch==2.7.0, pyproject.toml line 5): the spec "
        "keeps torch in its extras only, as uv cannot lock it there beside them for every "
        "platform the spec requires; so a bare `uv sync` or `uv run` installs no torch (before: "
        "PyPI's), and `uv sync --extra NAME` or `uvtorch-ci sync` installs a target's build"
    ) in found.notes


def test_an_unpinned_torch_takes_what_uv_resolves_from_each_index(tmp_path: Path) -> None:
    """No pin, a cu124 source: the cu124 index stops at 2.6.0, which uv resolves there; the
    spec's floor says so, where the newest release (no cu124 build) would be refused."""
    text = (
        HEAD
        + 'dependencies = ["torch"]\n\n[tool.uv.sources]\ntorch = [\n'
        + '  { index = "pytorch-cu124", marker = "sys_platform == \'linux\'" },\n'
        + '  { index = "pytorch-cpu", marker = "sys_platform != \'linux\'" },\n]\n'
        + CPU
        + CU128.replace("cu128", "cu124")
    )
    found = infer_text(text)
    assert found.torch == ">=2.6.0"
    assert (
        "torch: >=2.6.0, no version pinned: uv resolves the newest release each index has, "
        "and the cu124 index stops at 2.6.0"
    ) in found.notes
    assert targets(found) == ["linux-x86_64:cu124", "macos-arm64:cpu", "windows-x86_64:cpu"]
    write(tmp_path, text)
    result = run("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["uvtorch"]["torch"]
        == ">=2.6.0"
    )
