"""Everything the user wrote keeps its form: their conflict sets and the comments in replaced
source arrays, an inline `index = [...]` array, user markers on companions (kept, or refused
with the reason); an orphaned root PyTorch index goes."""

from __future__ import annotations

import pytest

from uvtorch_ci.errors import PyprojectError
from uvtorch_ci.platforms import PLATFORMS
from uvtorch_ci.project import ProjectTexts, render_project
from uvtorch_ci.pyproject.arrays import renew, split_array
from uvtorch_ci.releases.table import load_table

TABLE = load_table()
HEAD = '[project]\nname = "demo"\nversion = "1.0"\nrequires-python = ">=3.10"\n'
LINUX = """
[tool.uvtorch]
torch = "2.9.1"
packages = ["torchvision"]

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu128"
"""
MACOS = """
[[tool.uvtorch.targets]]
platform = "macos-arm64"
backend = "mps"
"""
EXTRAS = """
[tool.uvtorch]
torch = "2.9.1"

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cpu"

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu128"
"""


def render(text: str) -> tuple[str, tuple[str, ...]]:
    rendered = render_project(
        ProjectTexts(text, "pyproject.toml"), env={}, table=TABLE, check_environments=True
    )
    again = render_project(
        ProjectTexts(rendered.pyproject.text, "pyproject.toml"),
        env={},
        table=TABLE,
        check_environments=True,
    )
    assert again.pyproject.text == rendered.pyproject.text  # a second render changes nothing
    assert again.pyproject.notes == ()
    return rendered.pyproject.text, rendered.pyproject.notes


def test_the_users_conflict_sets_keep_their_layout_and_comments() -> None:
    text = (
        HEAD
        + """dependencies = []

[project.optional-dependencies]
a = ["numpy"]
b = ["scipy"]

[tool.uv]
conflicts = [
    # a and b never together
    [
        { extra = "a" },  # the first
        { extra = "b" },
    ],
    # the old torch builds
    [
        { extra = "cpu" },
        { extra = "cu126" },
    ],
    # last words
]
"""
        + EXTRAS
    )
    new, notes = render(text)
    assert (
        """conflicts = [
    # a and b never together
    [
        { extra = "a" },  # the first
        { extra = "b" },
    ],
    [
        { extra = "cpu" },
        { extra = "cu128" },
    ],
    # last words
]
"""
        in new
    )
    assert "replaced [tool.uv] conflicts" in notes


def test_a_one_line_conflicts_array_stays_on_one_line() -> None:
    text = (
        HEAD + 'dependencies = []\n\n[tool.uv]\nconflicts = [[{ extra = "a" }, { extra = "b" }]]\n'
    )
    text += '\n[project.optional-dependencies]\na = ["numpy"]\nb = ["scipy"]\n' if False else ""
    new, _ = render(text + EXTRAS)
    line = next(x for x in new.splitlines() if x.startswith("conflicts"))
    assert line == (
        'conflicts = [[{ extra = "a" }, { extra = "b" }], [{ extra = "cpu" }, { extra = "cu128" }]]'
    )


SOURCES = (
    HEAD
    + """dependencies = ["torch==2.9.1", "torchvision"]

[tool.uv.sources]
torch = [
    # CUDA on Linux
    { index = "pytorch-cu128", marker = "sys_platform == 'linux'" },  # the GPU build
    # Windows, dropped
    { index = "pytorch-cu126", marker = "sys_platform == 'win32'" },
    # see the README
]
torchvision = [
  { index = "pytorch-cu126", marker = "sys_platform == 'linux'" },  # with torch
]

[[tool.uv.index]]
name = "pytorch-cu128"
url = "https://download.pytorch.org/whl/cu128"
explicit = true

[[tool.uv.index]]
name = "pytorch-cu126"
url = "https://download.pytorch.org/whl/cu126"
explicit = true

[[tool.uv.index]]
name = "pytorch"
url = "https://download.pytorch.org/whl"
"""
)


def test_comments_in_replaced_source_arrays_survive_unless_their_entry_goes() -> None:
    new, _ = render(SOURCES + LINUX)
    marker = "sys_platform == 'linux' and platform_machine == 'x86_64'"
    assert (
        "torch = [\n"
        "    # CUDA on Linux\n"
        f'    {{ index = "pytorch-cu128", marker = "{marker}" }},  # the GPU build\n'
        "    # see the README\n"
        "]\n"
        "torchvision = [\n"
        f'  {{ index = "pytorch-cu128", marker = "{marker}" }},  # with torch\n'
        "]\n"
    ) in new
    assert "# Windows, dropped" not in new


def test_an_orphaned_root_pytorch_index_is_removed() -> None:
    new, notes = render(SOURCES + LINUX)
    assert 'url = "https://download.pytorch.org/whl"\n' not in new
    assert "removed index 'pytorch' (https://download.pytorch.org/whl), no longer used" in notes


def test_a_root_pytorch_index_another_package_uses_is_kept() -> None:
    text = SOURCES.replace("torchvision = [", 'triton = { index = "pytorch" }\ntorchvision = [')
    new, _ = render(text + LINUX)
    assert 'name = "pytorch"\nurl = "https://download.pytorch.org/whl"\n' in new
    assert 'triton = { index = "pytorch" }' in new


INLINE = (
    HEAD
    + """dependencies = ["torch==2.9.1", "torchvision"]

[tool.uv]
index = [
  # ours
  { name = "private", url = "https://pypi.example/simple" },
  # the old CUDA one
  { name = "pytorch-cu126", url = "https://download.pytorch.org/whl/cu126", explicit = true },
]
"""
)


def test_an_inline_index_array_is_edited_in_place() -> None:
    new, notes = render(INLINE + LINUX)
    assert (
        "index = [\n"
        "  # ours\n"
        '  { name = "private", url = "https://pypi.example/simple" },\n'
        '  { name = "pytorch-cu128", url = "https://download.pytorch.org/whl/cu128", '
        "explicit = true },\n"
        "]\n"
    ) in new
    assert "[[tool.uv.index]]" not in new
    assert (
        "removed index 'pytorch-cu126' (https://download.pytorch.org/whl/cu126), no longer used"
        in notes
    )


def test_a_one_line_inline_index_array_stays_on_one_line() -> None:
    text = (
        HEAD
        + "dependencies = []\n\n[tool.uv]\n"
        + 'index = [{ name = "private", url = "https://pypi.example/simple" }]\n'
    )
    new, _ = render(text + LINUX)
    assert (
        'index = [{ name = "private", url = "https://pypi.example/simple" }, '
        '{ name = "pytorch-cu128", url = "https://download.pytorch.org/whl/cu128", '
        "explicit = true }]\n"
    ) in new


def test_a_users_marker_on_a_companion_is_kept() -> None:
    text = HEAD + 'dependencies = ["torch==2.9.1", "torchvision ; sys_platform == \'linux\'"]\n'
    new, _ = render(text + LINUX)
    assert (
        'dependencies = ["torch==2.9.1", "torchvision==0.24.1 ; sys_platform == \'linux\'"]' in new
    )


def test_a_users_marker_that_shuts_out_a_target_is_refused() -> None:
    text = HEAD + 'dependencies = ["torch==2.9.1", "torchvision ; sys_platform == \'linux\'"]\n'
    with pytest.raises(PyprojectError) as caught:
        render(text + LINUX + MACOS)
    assert caught.value.where == "[project].dependencies[1]"
    assert "which leaves out macos-arm64, a target of the spec" in caught.value.message
    assert caught.value.hint.startswith("remove the marker")


def test_renew_keeps_kept_elements_and_pairs_comments() -> None:
    old = "[\n  # a\n  1,  # one\n  # b\n  2,\n  # end\n]"
    new = "[\n  3,\n  2,\n]"
    text = renew(old, new, same=lambda a, b: a == b, keep=lambda v: v == 1)
    assert text == "[\n  # a\n  1,  # one\n  3,\n  # b\n  2,\n  # end\n]"
    assert split_array("[1, 2]") is None
    assert PLATFORMS  # the module under test needs no platform; keeps the import honest
