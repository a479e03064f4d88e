"""Merging the rendered blocks into pyproject.toml: owned entries replaced, other bytes kept."""

from __future__ import annotations

import textwrap
import tomllib

import pytest

from uvtorch_ci.errors import PyprojectError
from uvtorch_ci.project import ProjectTexts, render_project
from uvtorch_ci.pyproject.data import is_pytorch_index, parse_toml
from uvtorch_ci.releases.table import load_table

SPEC = """
[tool.uvtorch]
torch = "2.5.0"
packages = ["torchvision"]

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu124"

[[tool.uvtorch.targets]]
platform = "macos-arm64"
backend = "mps"

[[tool.uvtorch.targets]]
platform = "linux-aarch64"
backend = "cpu"
"""

CPU_MARKER = (
    "(sys_platform == 'darwin' and platform_machine == 'arm64') or "
    "(sys_platform == 'linux' and platform_machine == 'aarch64')"
)
CUDA_MARKER = "sys_platform == 'linux' and platform_machine == 'x86_64'"
SOURCES = textwrap.dedent(f"""\
    torch = [
      {{ index = "pytorch-cu124", marker = "{CUDA_MARKER}" }},
      {{ index = "pytorch-cpu", marker = "{CPU_MARKER}" }},
    ]
    torchvision = [
      {{ index = "pytorch-cu124", marker = "{CUDA_MARKER}" }},
      {{ index = "pytorch-cpu", marker = "{CPU_MARKER}" }},
    ]
    """)
REQUIRED = textwrap.dedent("""\
    required-environments = [
      "sys_platform == 'linux' and platform_machine == 'x86_64'",
      "sys_platform == 'darwin' and platform_machine == 'arm64'",
      "sys_platform == 'linux' and platform_machine == 'aarch64'",
    ]
    """)
INDEXES = textwrap.dedent("""\
    [[tool.uv.index]]
    name = "pytorch-cu124"
    url = "https://download.pytorch.org/whl/cu124"
    explicit = true

    [[tool.uv.index]]
    name = "pytorch-cpu"
    url = "https://download.pytorch.org/whl/cpu"
    explicit = true
    """)


def render(text: str) -> tuple[str, tuple[str, ...]]:
    rendered = render_project(ProjectTexts(text, "pyproject.toml"), env={}, table=load_table())
    return rendered.pyproject.text, rendered.pyproject.notes


def merge(text: str) -> tuple[str, tuple[str, ...]]:
    """Render `text` with the seed spec (plus torchvision) appended."""
    return render(text + SPEC)


def rerender(text: str) -> str:
    """A second render of an already rendered file: must be a no-op."""
    again, notes = render(text)
    assert notes == ()
    return again


def test_fresh_project_gets_every_block() -> None:
    head = '[project]\nname = "seed"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
    new, notes = merge(head)
    expected = (
        head
        + 'dependencies = [\n  "torch==2.5.0",\n  "torchvision==0.20.0",\n]\n'
        + SPEC
        + "\n[tool.uv]\n"
        + REQUIRED
        + "\n[tool.uv.sources]\n"
        + SOURCES
        + "\n"
        + INDEXES
    )
    assert new == expected
    assert notes == (
        "added torch==2.5.0, torchvision==0.20.0 to [project].dependencies",
        "added [tool.uv] required-environments",
    )
    assert rerender(new) == new


def test_existing_tables_are_edited_in_place_and_comments_kept() -> None:
    before = textwrap.dedent("""\
        # my project
        [project]
        name = "demo"  # the name
        version = "1.0"
        dependencies = [
            "numpy>=1.26",  # arrays
            # the framework
            "torch>=2.0",
            "rich",
        ]

        [tool.uv]
        package = false  # a virtual project

        [tool.uv.sources]
        mylib = { path = "../mylib" }

        # my private index
        [[tool.uv.index]]
        name = "private"
        url = "https://pypi.example.com/simple"

        [tool.ruff]
        line-length = 100
        """)
    new, notes = merge(before)
    expected = (
        textwrap.dedent("""\
        # my project
        [project]
        name = "demo"  # the name
        version = "1.0"
        dependencies = [
            "numpy>=1.26",  # arrays
            # the framework
            "torch==2.5.0",
            "torchvision==0.20.0",
            "rich",
        ]

        [tool.uv]
        package = false  # a virtual project
        """)
        + REQUIRED
        + textwrap.dedent("""
        [tool.uv.sources]
        mylib = { path = "../mylib" }
        """)
        + SOURCES
        + textwrap.dedent("""\

        # my private index
        [[tool.uv.index]]
        name = "private"
        url = "https://pypi.example.com/simple"

        """)
        + INDEXES
        + textwrap.dedent("""\

        [tool.ruff]
        line-length = 100
        """)
        + SPEC
    )
    assert new == expected
    assert "replaced 'torch>=2.0' with 'torch==2.5.0' in [project].dependencies" in notes
    assert rerender(new) == new


def test_hand_written_torch_setup_is_taken_over_without_duplicates() -> None:
    before = textwrap.dedent("""\
        [project]
        name = "seed"
        version = "0.1.0"
        dependencies = ["torch==2.4.1", "torchvision", "torch>=2; sys_platform == 'win32'"]

        [tool.uv.sources]
        torch = { index = "pytorch" }
        torchvision = [{ index = "pytorch" }]
        triton = { index = "pytorch" }

        # CUDA 12.4 builds
        [[tool.uv.index]]
        name = "pytorch"
        url = "https://download.pytorch.org/whl/cu124/"
        explicit = true

        # nightly for experiments
        [[tool.uv.index]]
        name = "pytorch-nightly"
        url = "https://download.pytorch.org/whl/nightly/cu126"
        explicit = true

        [[tool.uv.index]]
        name = "pytorch-cpu"
        url = "https://download.pytorch.org/whl/cpu"
        """)
    new, notes = merge(before)
    data = tomllib.loads(new)
    assert data["project"]["dependencies"] == ["torch==2.5.0", "torchvision==0.20.0"]
    sources = data["tool"]["uv"]["sources"]
    assert sources["triton"] == {"index": "pytorch-cu124"}  # retargeted to the same URL
    # the index of the same URL is rewritten where it was, under the tool's name: the comment
    # above it stays (it still says what the index serves)
    assert [i["name"] for i in data["tool"]["uv"]["index"]] == ["pytorch-cu124", "pytorch-cpu"]
    assert data["tool"]["uv"]["index"][1]["explicit"] is True
    assert "# nightly for experiments" not in new  # an unused PyTorch index goes with its comment
    assert '# CUDA 12.4 builds\n[[tool.uv.index]]\nname = "pytorch-cu124"' in new
    assert (
        "removed duplicate \"torch>=2; sys_platform == 'win32'\" from [project].dependencies"
        in notes
    )
    assert (
        "removed index 'pytorch-nightly' (https://download.pytorch.org/whl/nightly/cu126), "
        "no longer used" in notes
    )
    assert (
        "replaced index 'pytorch' with 'pytorch-cu124' "
        "(same URL https://download.pytorch.org/whl/cu124/)" in notes
    )
    assert "replaced index 'pytorch-cpu' (https://download.pytorch.org/whl/cpu)" in notes
    assert rerender(new) == new


def test_pytorch_index_still_used_by_another_package_is_kept() -> None:
    before = textwrap.dedent("""\
        [project]
        name = "x"
        version = "0"
        dependencies = ["torch"]

        [tool.uv.sources]
        pytorch-triton-rocm = { index = "rocm" }

        [[tool.uv.index]]
        name = "rocm"
        url = "https://download.pytorch.org/whl/rocm6.2"
        explicit = true
        """)
    new, notes = merge(before)
    assert '[[tool.uv.index]]\nname = "rocm"' in new
    assert not any("'rocm'" in note for note in notes)


def test_family_dependency_missing_from_the_spec_is_refused() -> None:
    before = '[project]\nname = "x"\nversion = "0"\ndependencies = ["torch", "torchaudio>=2"]\n'
    with pytest.raises(PyprojectError) as caught:
        merge(before)
    assert str(caught.value).startswith("pyproject.toml: [project].dependencies[1]: torchaudio")
    assert 'add "torchaudio" to packages' in str(caught.value)


def test_crlf_and_missing_final_newline_are_kept() -> None:
    before = '[project]\r\nname = "x"\r\nversion = "0"\r\ndependencies = ["torch"]\r\n'
    spec = SPEC.replace("\n", "\r\n").rstrip("\r\n")
    rendered = render_project(
        ProjectTexts(before + spec, "pyproject.toml"), env={}, table=load_table()
    )
    new = rendered.pyproject.text
    assert "\n" not in new.replace("\r\n", "")
    assert new.startswith(before.replace('["torch"]', '["torch==2.5.0", "torchvision==0.20.0"]'))
    assert tomllib.loads(new)["tool"]["uv"]["index"][0]["name"] == "pytorch-cu124"


def test_inline_sources_table_stays_inline() -> None:
    before = (
        '[project]\nname = "x"\nversion = "0"\n\n[tool.uv]\nsources = { mylib = { path = "." } }\n'
    )
    new, _ = merge(before)
    data = tomllib.loads(new)
    assert data["tool"]["uv"]["sources"]["torch"][0]["index"] == "pytorch-cu124"
    assert data["tool"]["uv"]["sources"]["mylib"] == {"path": "."}
    assert rerender(new) == new


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('name = "x"\n', "[project]: missing"),
        (
            '[project]\nname = "x"\ndynamic = ["dependencies"]\n',
            "[project].dynamic: dependencies are dynamic",
        ),
        (
            '[project]\nname = "x"\ndependencies = ["torch>>2"]\n',
            "[project].dependencies[0]: 'torch>>2' is not a valid requirement",
        ),
    ],
)
def test_pyprojects_the_tool_cannot_own(text: str, expected: str) -> None:
    with pytest.raises(PyprojectError) as caught:
        merge(text)
    assert expected in str(caught.value)


def test_invalid_toml_names_the_line() -> None:
    with pytest.raises(PyprojectError) as caught:
        parse_toml('[project]\nname = "x"\ndependencies = ["a" "b"]\n', "pyproject.toml")
    assert str(caught.value).startswith("pyproject.toml: line 3, column ")
    assert "not valid TOML" in str(caught.value)


def test_pytorch_index_detection() -> None:
    base = "https://download.pytorch.org/whl"
    assert is_pytorch_index("https://download.pytorch.org/whl/cu124", base)
    assert is_pytorch_index("https://mirror.nju.edu.cn/pytorch/whl/cu126/", base)
    assert is_pytorch_index("http://127.0.0.1:8000/whl/rocm6.2", "http://127.0.0.1:8000/whl")
    assert is_pytorch_index("https://download.pytorch.org/whl/nightly/rocm6.4", base)
    assert not is_pytorch_index("https://pypi.org/simple", base)
    assert not is_pytorch_index("https://flashinfer.ai/whl/cu130/torch2.9", base)


def test_environments_that_shut_out_a_target_are_refused() -> None:
    before = (
        '[project]\nname = "x"\nversion = "0"\n\n[tool.uv]\n'
        "environments = [\"sys_platform == 'linux'\"]\n"
    )
    with pytest.raises(PyprojectError) as caught:
        render_project(
            ProjectTexts(before + SPEC, "pyproject.toml"),
            env={},
            table=load_table(),
            check_environments=True,
        )
    assert str(caught.value).startswith(
        "pyproject.toml: [tool.uv].environments: shuts out macos-arm64, which the spec targets"
    )
    allowed = before.replace("'linux'\"]", "'linux'\", \"sys_platform == 'darwin'\"]")
    rendered = render_project(
        ProjectTexts(allowed + SPEC, "pyproject.toml"),
        env={},
        table=load_table(),
        check_environments=True,
    )
    assert "environments = [" in rendered.pyproject.text
