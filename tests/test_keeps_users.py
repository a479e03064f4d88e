"""What render keeps as the user wrote it when it takes the torch setup over: a companion's
exclusion beside its requirement, a specifier that admits the same releases as the spec's, a
marker written in another order, the comments and unchanged lines of a PyTorch index table it
rewrites, a conflict set of the user's that already holds the tool's. On small projects here;
on the corpus files in test_init_adopt.py and test_init_locks.py."""

from __future__ import annotations

import tomllib

import pytest

from uvtorch_ci.errors import PyprojectError
from uvtorch_ci.project import ProjectTexts, render_project
from uvtorch_ci.releases.table import load_table

HEAD = '[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
CU128 = (
    '\n[[tool.uv.index]]\nname = "pytorch-cu128"\nurl = "https://download.pytorch.org/whl/cu128"\n'
    "explicit = true\n"
)


def render(text: str) -> tuple[str, tuple[str, ...]]:
    rendered = render_project(ProjectTexts(text, "pyproject.toml"), env={}, table=load_table())
    return rendered.pyproject.text, rendered.pyproject.notes


def spec(torch: str, *targets: str, packages: str = "", selector: str = "") -> str:
    lines = ["", "[tool.uvtorch]", f'torch = "{torch}"']
    lines += [f"packages = [{packages}]"] if packages else []
    lines += [f'selector = "{selector}"'] if selector else []
    for target in targets:
        platform, _, backend = target.partition(":")
        backend, _, extra = backend.partition("@")
        lines += ["", "[[tool.uvtorch.targets]]", f'platform = "{platform}"']
        lines += [f'backend = "{backend}"'] + ([f'extra = "{extra}"'] if extra else [])
    return "\n".join(lines) + "\n"


def test_a_specifier_that_admits_the_same_releases_stays_as_written() -> None:
    text = HEAD + 'dependencies = ["torch~=2.8.0", "torchaudio==2.8.*"]\n'
    new, notes = render(text + spec("~=2.8.0", "linux-x86_64:cu128", packages='"torchaudio"'))
    assert 'dependencies = ["torch~=2.8.0", "torchaudio==2.8.*"]' in new
    assert not [n for n in notes if "torchaudio" in n]
    assert render(new) == (new, ())


def test_a_specifier_that_admits_other_releases_is_replaced() -> None:
    text = HEAD + 'dependencies = ["torch>=2.8.0", "torchaudio"]\n'
    new, notes = render(text + spec("2.8.0", "linux-x86_64:cu128", packages='"torchaudio"'))
    assert tomllib.loads(new)["project"]["dependencies"] == ["torch==2.8.0", "torchaudio==2.8.0"]
    assert "replaced 'torch>=2.8.0' with 'torch==2.8.0' in [project].dependencies" in notes


def test_a_companions_exclusion_beside_its_requirement_stays() -> None:
    """docling-serve's way: torchvision 0.24.0 and 0.24.1 left out on Linux x86_64."""
    exclusion = "torchvision!=0.24.1,!=0.24.0; sys_platform == 'linux'"
    text = HEAD + f'dependencies = ["torch>=2.7.1", "torchvision>=0.22.1", "{exclusion}"]\n'
    new, _ = render(text + spec(">=2.7.1", "linux-x86_64:cu128", packages='"torchvision"'))
    assert tomllib.loads(new)["project"]["dependencies"][2] == exclusion
    assert render(new) == (new, ())


def test_an_exclusion_that_leaves_the_spec_no_build_is_refused() -> None:
    exclusion = "torchvision!=0.24.1; sys_platform == 'linux'"
    text = HEAD + f'dependencies = ["torch", "torchvision", "{exclusion}"]\n'
    with pytest.raises(PyprojectError) as caught:
        render(text + spec("2.9.1", "linux-x86_64:cu128", packages='"torchvision"'))
    assert caught.value.where == "[project].dependencies[2]"
    assert "excludes every version the spec allows (torchvision==0.24.1)" in caught.value.message


def test_a_triton_marker_written_in_another_order_stays() -> None:
    """CorridorKey: `platform_machine == 'x86_64' and sys_platform == 'linux'` is the marker
    the tool writes the other way round."""
    triton = "pytorch-triton-rocm==3.4.0 ; platform_machine == 'x86_64' and sys_platform == 'linux'"
    text = HEAD + "dependencies = []\n\n[project.optional-dependencies]\n"
    text += f'rocm = ["torch==2.8.0", "{triton}"]\ncpu = ["torch==2.8.0"]\n'
    new, _ = render(text + spec("2.8.0", "linux-x86_64:rocm6.3@rocm", "linux-x86_64:cpu"))
    assert tomllib.loads(new)["project"]["optional-dependencies"]["rocm"][1] == triton


def test_a_taken_over_index_keeps_its_comments_and_unchanged_lines() -> None:
    """index-tts: the comments inside its `pytorch-cuda` table; CorridorKey: a comment after
    the URL. The table is rewritten where it is, under the tool's name."""
    text = (
        HEAD
        + 'dependencies = ["torch==2.8.0"]\n\n[tool.uv.sources]\n'
        + 'torch = { index = "pytorch-cuda", marker = "sys_platform == \'linux\'" }\n\n'
        + "[[tool.uv.index]]\n"
        + 'name = "pytorch-cuda"\n'
        + "# Use PyTorch built for NVIDIA Toolkit version 12.8.\n"
        + 'url = "https://download.pytorch.org/whl/cu128"  # not cu126: RTX 5000\n'
        + "# Only use this index when explicitly requested by `tool.uv.sources`.\n"
        + "explicit = true\n"
    )
    new, notes = render(text + spec("2.8.0", "linux-x86_64:cu128"))
    assert (
        "[[tool.uv.index]]\n"
        'name = "pytorch-cu128"\n'
        "# Use PyTorch built for NVIDIA Toolkit version 12.8.\n"
        'url = "https://download.pytorch.org/whl/cu128"  # not cu126: RTX 5000\n'
        "# Only use this index when explicitly requested by `tool.uv.sources`.\n"
        "explicit = true\n"
    ) in new
    assert (
        "replaced index 'pytorch-cuda' with 'pytorch-cu128' "
        "(same URL https://download.pytorch.org/whl/cu128)"
    ) in notes
    assert new.count("[[tool.uv.index]]") == 1
    assert render(new) == (new, ())


def test_a_users_conflict_set_that_holds_the_tools_is_enough() -> None:
    """CorridorKey: [[cuda, mlx, rocm]] already keeps cuda and rocm apart."""
    text = (
        HEAD
        + "dependencies = []\n\n[project.optional-dependencies]\n"
        + 'cuda = ["torch==2.8.0"]\nrocm = ["torch==2.8.0"]\nmlx = ["mlx"]\n\n'
        + "[tool.uv]\n"
        + 'conflicts = [[{ extra = "cuda" }, { extra = "mlx" }, { extra = "rocm" }]]\n'
    )
    new, notes = render(
        text + spec("2.8.0", "linux-x86_64:cu128@cuda", "linux-x86_64:rocm6.3@rocm")
    )
    assert 'conflicts = [[{ extra = "cuda" }, { extra = "mlx" }, { extra = "rocm" }]]\n' in new
    assert not [n for n in notes if "conflicts" in n]
    assert render(new) == (new, ())


def test_a_torch_requirement_beside_selecting_extras_goes_with_a_note() -> None:
    """uv cannot lock it with the required environments an extra's source leaves to PyPI (the
    e2e test locks that), so it goes; init says what a bare `uv sync` then installs."""
    text = HEAD + 'dependencies = ["torch==2.8.0"]\n'
    new, notes = render(text + spec("2.8.0", "linux-x86_64:cpu", "linux-x86_64:cu128"))
    assert tomllib.loads(new)["project"]["dependencies"] == []
    assert "removed 'torch==2.8.0' from [project].dependencies" in notes
