"""An index the user named like one of the tool's but pointing elsewhere (not a PyTorch index).

Taken over, with a note naming both URLs and the mirror settings, when only the torch family
installs from it; kept, with the tool's index under a name of its own, when another package
does. Either way a second render changes nothing and says nothing.
"""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest
from mirror import Mirror
from projects import uv, uvtorch

from uvtorch_ci.commands.entry import main
from uvtorch_ci.lock.reader import parse_lock
from uvtorch_ci.platforms import PLATFORMS
from uvtorch_ci.project import ProjectTexts, render_project
from uvtorch_ci.pyproject.blocks import render_blocks
from uvtorch_ci.pyproject.merge import merge_blocks
from uvtorch_ci.releases.table import load_table

SPEC = textwrap.dedent("""
    [tool.uvtorch]
    torch = "2.5.0"

    [[tool.uvtorch.targets]]
    platform = "linux-x86_64"
    backend = "cu124"

    [[tool.uvtorch.targets]]
    platform = "linux-aarch64"
    backend = "cpu"
    """)
HEAD = textwrap.dedent("""\
    [project]
    name = "x"
    version = "0"
    dependencies = ["torch", "numpy"]
    """)
PRIVATE = "https://pypi.example.com/simple"
CU124 = "https://download.pytorch.org/whl/cu124"
CPU = "https://download.pytorch.org/whl/cpu"
MIRROR_HINT = (
    "to take torch from a mirror, set index-url in the spec (or the UVTORCH_INDEX_URL "
    "environment variable) to the mirror's base URL: uvtorch-ci then uses <base>/cu124"
)
DEPENDENCIES = "replaced 'torch' with 'torch==2.5.0' in [project].dependencies"
REQUIRED = "added [tool.uv] required-environments"
X86 = "sys_platform == 'linux' and platform_machine == 'x86_64'"
ARM = "sys_platform == 'linux' and platform_machine == 'aarch64'"
TORCH_SOURCES = (
    "torch = [\n"
    f'  {{ index = "%s", marker = "{X86}" }},\n'
    f'  {{ index = "pytorch-cpu", marker = "{ARM}" }},\n'
    "]\n"
)


def render(text: str, env: dict[str, str] | None = None) -> tuple[str, tuple[str, ...]]:
    rendered = render_project(
        ProjectTexts(text, "pyproject.toml"), env=env or {}, table=load_table()
    )
    return rendered.pyproject.text, rendered.pyproject.notes


def rendered_twice(text: str) -> tuple[str, tuple[str, ...]]:
    """Render; a second render of the result must change nothing and say nothing."""
    new, notes = render(text)
    again, again_notes = render(new)
    assert again == new
    assert again_notes == ()
    return new, notes


def index(name: str, url: str, *extra: str) -> str:
    return "\n".join(["[[tool.uv.index]]", f'name = "{name}"', f'url = "{url}"', *extra]) + "\n"


def sources_of(text: str) -> dict[str, object]:
    data = tomllib.loads(text)
    return dict(data["tool"]["uv"]["sources"])


def indexes_of(text: str) -> list[tuple[str, str]]:
    data = tomllib.loads(text)
    return [(i["name"], i["url"]) for i in data["tool"]["uv"]["index"]]


def test_unused_foreign_index_under_our_name_is_taken_over_with_a_note() -> None:
    before = HEAD + "\n" + index("pytorch-cu124", PRIVATE, "explicit = true")
    new, notes = rendered_twice(before + SPEC)
    assert notes == (
        DEPENDENCIES,
        REQUIRED,
        f"replaced index 'pytorch-cu124' ({PRIVATE}, not a PyTorch index) with {CU124}; "
        + MIRROR_HINT,
    )
    assert indexes_of(new) == [("pytorch-cu124", CU124), ("pytorch-cpu", CPU)]
    assert new.endswith(
        "\n"
        + index("pytorch-cu124", CU124, "explicit = true")
        + "\n"
        + index("pytorch-cpu", CPU, "explicit = true")
        + SPEC
    )


def test_foreign_index_another_package_uses_is_kept_and_ours_gets_its_own_name() -> None:
    before = (
        HEAD
        + '\n[tool.uv.sources]\nnumpy = { index = "pytorch-cu124" }\n\n'
        + "# our company's index\n"
        + index("pytorch-cu124", PRIVATE, "explicit = true")
    )
    new, notes = rendered_twice(before + SPEC)
    assert notes == (
        DEPENDENCIES,
        REQUIRED,
        f"kept index 'pytorch-cu124' ({PRIVATE}): it is not a PyTorch index and "
        "[tool.uv.sources] installs numpy from it, so uvtorch-ci's index is added as "
        f"'pytorch-cu124-uvtorch' ({CU124}); " + MIRROR_HINT,
    )
    assert new == (
        HEAD.replace('"torch"', '"torch==2.5.0"')
        + "\n[tool.uv]\nrequired-environments = [\n"
        + "  \"sys_platform == 'linux' and platform_machine == 'x86_64'\",\n"
        + "  \"sys_platform == 'linux' and platform_machine == 'aarch64'\",\n]\n"
        + '\n[tool.uv.sources]\nnumpy = { index = "pytorch-cu124" }\n'
        + TORCH_SOURCES % "pytorch-cu124-uvtorch"
        + "\n# our company's index\n"
        + index("pytorch-cu124", PRIVATE, "explicit = true")
        + "\n"
        + index("pytorch-cu124-uvtorch", CU124, "explicit = true")
        + "\n"
        + index("pytorch-cpu", CPU, "explicit = true")
        + SPEC
    )


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ((), "uv searches it for every package (it is not explicit)"),
        (("explicit = false",), "uv searches it for every package (it is not explicit)"),
        (
            ("explicit = true", "default = true"),
            "it is the default index, which uv installs every package from",
        ),
    ],
    ids=["implicit", "explicit-false", "default"],
)
def test_foreign_index_uv_searches_for_every_package_is_kept(
    settings: tuple[str, ...], reason: str
) -> None:
    before = HEAD + "\n" + index("pytorch-cu124", PRIVATE, *settings)
    new, notes = rendered_twice(before + SPEC)
    assert notes[-1] == (
        f"kept index 'pytorch-cu124' ({PRIVATE}): it is not a PyTorch index and {reason}, so "
        f"uvtorch-ci's index is added as 'pytorch-cu124-uvtorch' ({CU124}); " + MIRROR_HINT
    )
    assert (
        "\n"
        + index("pytorch-cu124", PRIVATE, *settings)
        + "\n"
        + index("pytorch-cu124-uvtorch", CU124, "explicit = true")
        + "\n"
        + index("pytorch-cpu", CPU, "explicit = true")
        + SPEC
    ) in new
    assert sources_of(new)["torch"] == [
        {
            "index": "pytorch-cu124-uvtorch",
            "marker": "sys_platform == 'linux' and platform_machine == 'x86_64'",
        },
        {
            "index": "pytorch-cpu",
            "marker": "sys_platform == 'linux' and platform_machine == 'aarch64'",
        },
    ]


def test_fallback_name_held_by_a_foreign_index_in_use_is_skipped() -> None:
    before = (
        HEAD
        + "\n[tool.uv.sources]\n"
        + 'numpy = { index = "pytorch-cu124" }\n'
        + 'scipy = { index = "pytorch-cu124-uvtorch" }\n\n'
        + index("pytorch-cu124", PRIVATE, "explicit = true")
        + "\n"
        + index("pytorch-cu124-uvtorch", "https://other.example.com/simple", "explicit = true")
    )
    new, notes = rendered_twice(before + SPEC)
    assert indexes_of(new) == [
        ("pytorch-cu124", PRIVATE),
        ("pytorch-cu124-uvtorch", "https://other.example.com/simple"),
        ("pytorch-cu124-uvtorch-2", CU124),
        ("pytorch-cpu", CPU),
    ]
    sources = sources_of(new)
    assert sources["numpy"] == {"index": "pytorch-cu124"}
    assert sources["scipy"] == {"index": "pytorch-cu124-uvtorch"}
    assert "'pytorch-cu124-uvtorch-2'" in notes[-1]


def test_once_nothing_else_uses_it_the_index_is_taken_over_and_ours_renamed_back() -> None:
    before = (
        HEAD
        + '\n[tool.uv.sources]\nnumpy = { index = "pytorch-cu124" }\n\n'
        + index("pytorch-cu124", PRIVATE, "explicit = true")
    )
    first, _ = rendered_twice(before + SPEC)
    # the user moves numpy off their index (the source goes, the index stays)
    edited = first.replace('numpy = { index = "pytorch-cu124" }\n', "")
    new, notes = rendered_twice(edited)
    assert notes == (
        f"replaced index 'pytorch-cu124' ({PRIVATE}, not a PyTorch index) with {CU124}; "
        + MIRROR_HINT,
        f"replaced index 'pytorch-cu124-uvtorch' with 'pytorch-cu124' (same URL {CU124})",
        "replaced the source for torch",
    )
    assert indexes_of(new) == [("pytorch-cu124", CU124), ("pytorch-cpu", CPU)]
    assert "\n[tool.uv.sources]\n" + TORCH_SOURCES % "pytorch-cu124" + "\n" in new
    assert "uvtorch" not in new.split("[tool.uvtorch]")[0]


def test_non_torch_package_on_a_stale_pytorch_index_follows_our_renamed_index() -> None:
    """triton on a hand-written PyTorch index with our URL: re-pointed at the tool's index,
    under the name it gets because the user's 'pytorch-cu124' is their own."""
    before = (
        HEAD
        + "\n[tool.uv.sources]\n"
        + 'numpy = { index = "pytorch-cu124" }\n'
        + 'triton = { index = "pytorch" }\n\n'
        + index("pytorch-cu124", PRIVATE, "explicit = true")
        + "\n"
        + index("pytorch", CU124, "explicit = true")
    )
    new, notes = rendered_twice(before + SPEC)
    assert sources_of(new)["triton"] == {"index": "pytorch-cu124-uvtorch"}
    assert sources_of(new)["numpy"] == {"index": "pytorch-cu124"}
    assert indexes_of(new) == [
        ("pytorch-cu124", PRIVATE),
        ("pytorch-cu124-uvtorch", CU124),
        ("pytorch-cpu", CPU),
    ]
    assert notes[2:] == (
        f"kept index 'pytorch-cu124' ({PRIVATE}): it is not a PyTorch index and "
        "[tool.uv.sources] installs numpy from it, so uvtorch-ci's index is added as "
        f"'pytorch-cu124-uvtorch' ({CU124}); " + MIRROR_HINT,
        f"replaced index 'pytorch' with 'pytorch-cu124-uvtorch' (same URL {CU124})",
        "pointed the source for 'triton' at 'pytorch-cu124-uvtorch'",
    )


def test_pytorch_index_of_another_backend_under_our_name_names_both_urls() -> None:
    cu121 = "https://download.pytorch.org/whl/cu121"
    before = HEAD + "\n" + index("pytorch-cu124", cu121, "explicit = true")
    new, notes = rendered_twice(before + SPEC)
    assert notes[-1] == f"replaced index 'pytorch-cu124' ({cu121}) with {CU124}"
    assert indexes_of(new) == [("pytorch-cu124", CU124), ("pytorch-cpu", CPU)]


def test_following_the_hint_puts_torch_on_the_mirror() -> None:
    """The user's index was a mirror of the PyTorch layout after all: index-url (here the
    environment variable) makes the tool's index that mirror's cu124."""
    mirror = "https://mirror.example.com/pytorch/whl"
    before = HEAD + "\n" + index("pytorch-cu124", PRIVATE, "explicit = true")
    new, notes = render(before + SPEC, {"UVTORCH_INDEX_URL": mirror})
    assert notes[-1].startswith(
        f"replaced index 'pytorch-cu124' ({PRIVATE}, not a PyTorch index) with {mirror}/cu124; "
    )
    assert indexes_of(new) == [
        ("pytorch-cu124", f"{mirror}/cu124"),
        ("pytorch-cpu", f"{mirror}/cpu"),
    ]


def test_the_pure_merge_keeps_the_used_index() -> None:
    """merge_blocks itself, on the blocks the plan renders."""
    before = (
        HEAD
        + '\n[tool.uv.sources]\nnumpy = { index = "pytorch-cu124" }\n\n'
        + index("pytorch-cu124", PRIVATE, "explicit = true")
    )
    plan = render_project(
        ProjectTexts(before + SPEC, "pyproject.toml"), env={}, table=load_table()
    ).plan
    merged = merge_blocks(
        before + SPEC, render_blocks(plan), file="pyproject.toml", pytorch_base=plan.spec.index_url
    )
    assert indexes_of(merged.text) == [
        ("pytorch-cu124", PRIVATE),
        ("pytorch-cu124-uvtorch", CU124),
        ("pytorch-cpu", CPU),
    ]
    assert [n for n in merged.notes if n.startswith("kept index")] == [
        f"kept index 'pytorch-cu124' ({PRIVATE}): it is not a PyTorch index and "
        "[tool.uv.sources] installs numpy from it, so uvtorch-ci's index is added as "
        f"'pytorch-cu124-uvtorch' ({CU124}); " + MIRROR_HINT
    ]
    again = merge_blocks(
        merged.text, render_blocks(plan), file="pyproject.toml", pytorch_base=plan.spec.index_url
    )
    assert again.text == merged.text
    assert again.notes == ()


def test_render_prints_the_note_and_a_second_render_is_quiet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UVTORCH_CI_CACHE_DIR", "off")
    monkeypatch.delenv("UVTORCH_INDEX_URL", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    before = (
        HEAD
        + '\n[tool.uv.sources]\nnumpy = { index = "pytorch-cu124" }\n\n'
        + index("pytorch-cu124", PRIVATE, "explicit = true")
    )
    (tmp_path / "pyproject.toml").write_text(before + SPEC)
    assert main(["render", "--project", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert f"\n  kept index 'pytorch-cu124' ({PRIVATE}): it is not a PyTorch index" in err
    assert main(["render", "--project", str(tmp_path)]) == 0
    assert "kept index" not in capsys.readouterr().err
    assert main(["render", "--project", str(tmp_path), "--check"]) == 0


@pytest.mark.e2e
def test_uv_installs_the_other_package_from_the_kept_index(mirror: Mirror, tmp_path: Path) -> None:
    """With the real uv: torch comes from the PyTorch cu124 index, the user's package from the
    user's own index, which is named like the tool's cu124 index (before, uv looked for it on
    the PyTorch index and the lock failed)."""
    mirror.add_pypi_package("takeover-utils", "1.0")
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["torch", "takeover-utils"]\n\n'
        '[tool.uv.sources]\ntakeover-utils = { index = "pytorch-cu124" }\n\n'
        + index("pytorch-cu124", mirror.pypi_url, "explicit = true")
        + SPEC
    )
    env = mirror.uv_env(tmp_path / "uv-cache")
    uvtorch(["render"], project, env)
    uv(["lock"], project, env)
    lock = parse_lock((project / "uv.lock").read_text())
    packages = lock.resolve(PLATFORMS["linux-x86_64"].marker_environment("3.12"))
    assert (packages["torch"].version, packages["torch"].source) == (
        "2.5.0+cu124",
        mirror.index_url("cu124"),
    )
    assert packages["takeover-utils"].source == mirror.pypi_url
    uvtorch(["verify"], project, env)
