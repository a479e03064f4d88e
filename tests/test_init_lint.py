"""What `init` says of what the author wrote: markers that are never true, sources naming an
undefined index, an extra named after a backend that no source routes; and what it refuses
instead of dropping: a source entry uv cannot read. The corpus behaviours: nanochat's dead
marker, docling-serve's exclusion, whisperX's specifiers, index-tts's index comments, the
edgeTest range narrowed across the Triton rename."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
from test_corpus import FILES, needs_corpus
from test_init_adopt import run

from uvtorch_ci.errors import PyprojectError
from uvtorch_ci.init.answers import Inferred
from uvtorch_ci.init.infer import infer
from uvtorch_ci.init.lint import never_true
from uvtorch_ci.releases.table import load_table

TABLE = load_table()
HEAD = '[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
CU128 = (
    '\n[[tool.uv.index]]\nname = "pytorch-cu128"\nurl = "https://download.pytorch.org/whl/cu128"\n'
    "explicit = true\n"
)


def infer_text(text: str) -> Inferred:
    return infer(tomllib.loads(text), text, "pyproject.toml", TABLE)


@pytest.mark.parametrize(
    ("marker", "why"),
    [
        (
            "platform_system == 'linux'",
            "`platform_system == 'linux'` is never true: platform_system is never 'linux' (it is "
            "'Linux': the comparison is case-sensitive)",
        ),
        (
            "sys_platform == 'win'",
            "`sys_platform == 'win'` is never true: sys_platform is never 'win' (it is 'win32')",
        ),
        (
            "sys_platform == 'linux' or sys_platform == 'macos'",
            "`sys_platform == 'macos'` is never true: sys_platform is never 'macos' (it is "
            "'darwin')",
        ),
        (
            "sys_platform != 'windows'",
            "`sys_platform != 'windows'` is always true: sys_platform is never 'windows' (it is "
            "'win32')",
        ),
        (
            "sys_platform == 'linux' and platform_machine == 'arm64'",
            "`sys_platform == 'linux' and platform_machine == 'arm64'` holds on no platform: "
            "platform_machine is 'aarch64' on Linux, 'ARM64' on Windows; 'arm64' only on macOS",
        ),
    ],
)
def test_markers_that_are_never_true_are_named(marker: str, why: str) -> None:
    assert never_true(marker) == why


@pytest.mark.parametrize(
    "marker",
    [
        "sys_platform == 'linux'",
        "platform_machine == 'arm64'",  # macOS
        "sys_platform == 'linux' and platform_machine == 'ppc64le'",  # not a target, but real
        "sys_platform == 'never'",  # uv's idiom for "nowhere": deliberate
        "python_version < '3'",
        "extra == 'cu124'",
    ],
)
def test_markers_that_can_be_true_are_left_alone(marker: str) -> None:
    assert never_true(marker) is None


@needs_corpus
def test_nanochats_dead_marker_is_named_and_what_it_installs(tmp_path: Path) -> None:
    """nanochat's `platform_system == 'linux'` (it is 'Linux'): its CUDA source never
    applies, every platform installs PyPI's torch; init names the marker and its line, and
    does not guess a target."""
    path = next(p for p in FILES if p.stem == "karpathy__nanochat")
    original = path.read_bytes()
    (tmp_path / "pyproject.toml").write_bytes(original)
    result = run("init", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        "warning: pyproject.toml line 50: `platform_system == 'linux'` is never true: "
        "platform_system is never 'linux' (it is 'Linux': the comparison is case-sensitive); so "
        "the torch source to 'pytorch-cu128' never applies: linux-x86_64, linux-aarch64, "
        "macos-arm64, macos-x86_64, windows-x86_64 install PyPI's torch\n"
    ) in result.stderr
    assert (
        "error: --target: cannot infer it: no torch source routes a platform to a PyTorch "
        "index: the one at pyproject.toml line 50 never applies (see the warning above)"
    ) in result.stderr
    assert (tmp_path / "pyproject.toml").read_bytes() == original


def test_a_source_naming_an_undefined_index_is_named() -> None:
    text = HEAD + 'dependencies = ["torch==2.9.1"]\n\n[tool.uv.sources]\n'
    text += 'torch = { index = "pytorch-cu129" }\n' + CU128
    found = infer_text(text)
    assert (
        "pyproject.toml line 8: the torch source names the index 'pytorch-cu129', which no "
        "[[tool.uv.index]] defines: uv refuses to lock the project"
    ) in found.warnings
    assert "no [[tool.uv.index]] defines" in found.missing["--target"]


def test_an_extra_named_after_a_backend_that_no_source_routes_is_named() -> None:
    text = (
        HEAD
        + 'dependencies = []\n\n[project.optional-dependencies]\ncu128 = ["torch==2.9.1"]\n'
        + 'cu124 = ["torch==2.9.1"]\n\n[tool.uv.sources]\n'
        + 'torch = [{ index = "pytorch-cu128", extra = "cu128" }]\n'
        + CU128
    )
    found = infer_text(text)
    assert (
        "pyproject.toml line 8: the extra cu124 holds torch, but no torch source names it, so it "
        "installs PyPI's build, not cu124's; the spec adopts it as a `pypi` target of that name "
        '(a source with extra = "cu124" routes it to the cu124 index instead)'
    ) in found.warnings
    assert {t.backend for t in found.targets if t.extra == "cu124"} == {"pypi"}


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        ('torch = [5, { index = "pytorch-cu128" }]', "[tool.uv.sources].torch[0]", "5 is not"),
        ('torch = "pytorch-cu128"', "[tool.uv.sources].torch", "'pytorch-cu128' is not a source"),
        ("torch = [{ marker = \"sys_platform == 'linux'\" }]", "[tool.uv.sources].torch[0]", ""),
        (
            'torch = [{ index = "pytorch-cu128", marker = "sys_platform = linux" }]',
            "[tool.uv.sources].torch[0]",
            "is not a PEP 508 marker",
        ),
        ("torchvision = [[]]", "[tool.uv.sources].torchvision[0]", "[] is not a source table"),
    ],
)
def test_a_source_entry_uv_cannot_read_is_refused_not_dropped(
    entry: str, where: str, message: str, tmp_path: Path
) -> None:
    text = HEAD + 'dependencies = ["torch==2.9.1"]\n\n[tool.uv.sources]\n' + entry + "\n" + CU128
    with pytest.raises(PyprojectError) as caught:
        infer_text(text)
    assert caught.value.where == where
    assert message in caught.value.message
    (tmp_path / "pyproject.toml").write_text(text)
    result = run("init", cwd=tmp_path)
    assert result.returncode == 2
    assert f"error: pyproject.toml: {where}: " in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "pyproject.toml").read_text() == text


# -- corpus files: what stays as the user wrote it -------------------------------------------


def adopt(stem: str, tmp_path: Path) -> tuple[str, str, subprocess.CompletedProcess[str]]:
    path = next(p for p in FILES if p.stem == stem)
    original = path.read_bytes().decode()
    (tmp_path / "pyproject.toml").write_bytes(original.encode())
    result = run("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return original, (tmp_path / "pyproject.toml").read_text(), result


@needs_corpus
def test_docling_serves_exclusion_stays(tmp_path: Path) -> None:
    original, new, _ = adopt("docling-project__docling-serve", tmp_path)
    exclusion = (
        "\"torchvision!=0.24.1,!=0.24.0; sys_platform == 'linux' and platform_machine == "
        "'x86_64'\","
    )
    assert exclusion in original
    assert exclusion in new
    groups = tomllib.loads(new)["dependency-groups"]["cpu"]
    assert groups[2] == "torchvision!=0.24.1,!=0.24.0; sys_platform == 'linux' and " + (
        "platform_machine == 'x86_64'"
    )


@needs_corpus
def test_whisperxs_specifiers_stay(tmp_path: Path) -> None:
    """`torchaudio~=2.8.0` and `torchvision~=0.23.0` admit the releases the spec's ~=2.8.0
    gives: kept, not turned into ==."""
    _, new, result = adopt("m-bain__whisperX", tmp_path)
    dependencies = tomllib.loads(new)["project"]["dependencies"]
    for kept in ("torch~=2.8.0", "torchaudio~=2.8.0", "torchvision~=0.23.0"):
        assert kept in dependencies
    assert "with 'torchaudio==2.8.0'" not in result.stderr


@needs_corpus
def test_index_tts_keeps_the_comments_in_its_index_table(tmp_path: Path) -> None:
    original, new, _ = adopt("index-tts__index-tts", tmp_path)
    for comment in (
        "# Use PyTorch built for NVIDIA Toolkit version 12.8.\n",
        "# Available versions: https://pytorch.org/get-started/locally/\n",
        "# Only use this index when explicitly requested by `tool.uv.sources`.\n",
    ):
        assert comment in original
        assert comment in new
    assert "torchaudio==2.8.*" in new  # the same releases as the spec's ==2.8.*: kept


@needs_corpus
def test_edgetests_range_is_narrowed_across_the_triton_rename(tmp_path: Path) -> None:
    """`torch>=2.7.0` with an xpu extra: xpu builds need pytorch-triton-xpu before 2.11 and
    triton-xpu from 2.11 on, which one lock cannot route. The project requires
    pytorch-triton-xpu: the range keeps that side, and the note says why."""
    _, new, result = adopt("Gary0255__edgeTest", tmp_path)
    assert tomllib.loads(new)["tool"]["uvtorch"]["torch"] == ">=2.7.0,<2.11.0"
    assert (
        "torch: >=2.7.0,<2.11.0, narrowed from >=2.7.0: its xpu builds need differently named "
        "Triton packages (pytorch-triton-xpu in 2.7.0 ... 2.10.0; triton-xpu in 2.11.0 ... "
        "2.15.0), which one lock cannot route; kept the side whose Triton package the project "
        "requires (pytorch-triton-xpu, pyproject.toml line 18)"
    ) in result.stderr
