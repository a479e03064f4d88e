"""The packages built against torch (xformers, torchao, torchcodec, fbgemm-gpu): what the release
table records of them and refuses to record, how the spec names them, and what the plan makes of
them: routed where the table confirms the index publishes them, elsewhere as missing-builds asks."""

from __future__ import annotations

import tomllib
from dataclasses import replace

import pytest

from uvtorch_ci.errors import SpecError
from uvtorch_ci.plan.planner import Plan, plan_from_data
from uvtorch_ci.releases.extensions import EXTENSIONS, ExtensionEntry, parse_extension
from uvtorch_ci.releases.table import (
    ReleaseTable,
    dump_table,
    load_table,
    parse_table,
)
from uvtorch_ci.upgrade.moves import plan_upgrade
from uvtorch_ci.upgrade.report import format_upgrade

LINUX = "sys_platform == 'linux' and platform_machine == 'x86_64'"
WINDOWS = "sys_platform == 'win32' and platform_machine == 'AMD64'"
MACOS = "sys_platform == 'darwin' and platform_machine == 'arm64'"


def spec(*lines: str, torch: str = "2.9.1", targets: tuple[str, ...] = ()) -> str:
    chosen = targets or ("linux-x86_64:cu128", "macos-arm64:mps", "windows-x86_64:cu128")
    body = [f'torch = "{torch}"', 'python = ["3.12"]', *lines]
    for item in chosen:
        platform, _, rest = item.partition(":")
        backend, _, extra = rest.partition("@")
        body += ["[[targets]]", f'platform = "{platform}"', f'backend = "{backend}"']
        body += [f'extra = "{extra}"'] if extra else []
    return "\n".join(body) + "\n"


def plan(text: str, table: ReleaseTable | None = None) -> Plan:
    return plan_from_data(
        tomllib.loads(text),
        file="uvtorch.toml",
        prefix="",
        env={},
        table=table or load_table(),
        requires_python=">=3.10",
    )


def refused(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        plan(text)
    return str(caught.value)


# --- the release table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"version": "0.0.35"}, "a version and its paired-by come together"),
        ({"paired-by": "somebody"}, "a version and its paired-by come together"),
        (
            {"version": "1", "paired-by": "x", "builds": {"linux-x86_64": ["cu128"]}},
            "builds and their source come together",
        ),
        ({"version": "1", "paired-by": "x", "source": "a lock"}, "come together"),
        ({"builds": {"linux-x86_64": ["cu128"]}, "source": "x"}, "builds without a version"),
        ({"version": "1", "paired-by": "x", "pin": "1"}, "expected {"),
        ({}, "expected {"),
        ({"version": "one", "paired-by": "x"}, "'one' is not a version"),
        (
            {"version": "1", "paired-by": "x", "builds": {"beos-x86": ["cpu"]}, "source": "s"},
            "packages.xformers.builds.beos-x86: not a platform",
        ),
        (
            {"version": "1", "paired-by": "x", "builds": {"linux-x86_64": []}, "source": "s"},
            "a non-empty list of backends",
        ),
        ({"version": "1", "paired-by": ""}, "paired-by: a non-empty string"),
    ],
)
def test_an_entry_is_confirmed_with_its_source_or_holds_no_builds(
    value: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("{", r"\{")):
        parse_extension("xformers", value)


def test_only_the_known_packages_and_backends_are_recorded() -> None:
    with pytest.raises(ValueError, match="not one of xformers, torchao, torchcodec, fbgemm-gpu"):
        parse_extension("flash-attn", {"version": "2.8.3", "paired-by": "x"})
    text = load_table_text_with(
        'xformers = { version = "1", paired-by = "x", builds = { linux-x86_64 = ["cu12"] }, '
        'source = "s" }'
    )
    with pytest.raises(ValueError, match="'cu12' is no backend"):
        parse_table(text)


def load_table_text_with(line: str) -> str:
    """The shipped table's first release with one [release.packages] line of its own."""
    first = load_table().releases[0]
    text = dump_table(ReleaseTable((replace(first, packages={}),), load_table().untagged_cpu))
    return text + "[release.packages]\n" + line + "\n"


def test_an_entry_round_trips_in_canonical_form() -> None:
    entry = ExtensionEntry("0.0.35", "its wheels", {"linux-x86_64": ("cu126", "cu130")}, "seen")
    first = replace(load_table().releases[-1], packages={"xformers": entry})
    table = ReleaseTable((first,), load_table().untagged_cpu)
    assert parse_table(dump_table(table)) == table
    assert parse_table(dump_table(table)).releases[0].packages["xformers"] == entry


def test_xformers_is_confirmed_where_the_index_was_seen_publishing_it() -> None:
    """unslothai/unsloth checked the files live on download.pytorch.org for torch 2.7.1 to
    2.13.0 (cu126, cu128, cu129 for 2.8, cu130): Linux x86_64 and Windows, never aarch64 or
    macOS; the pairing is the wheels' own Requires-Dist (0.0.35: torch>=2.10, the stable ABI)."""
    table = load_table()
    confirmed = {
        r.torch: r.extension("xformers")
        for r in table.releases
        if r.extension("xformers").confirmed
    }
    assert next(iter(confirmed)) == "2.7.1"
    assert list(confirmed)[-1] == "2.15.0"
    assert confirmed["2.9.1"].version == "0.0.33.post2"
    assert confirmed["2.10.0"].version == "0.0.34"  # the build pinned to it exactly
    assert confirmed["2.13.0"].version == "0.0.35"
    assert confirmed["2.13.0"].builds == {
        "linux-x86_64": ("cu126", "cu130"),  # no cu132 build; no cu128 torch for 2.13
        "windows-x86_64": ("cu126", "cu130"),
    }
    for entry in confirmed.values():
        assert set(entry.builds) == {"linux-x86_64", "windows-x86_64"}
        assert all(b.startswith("cu") for bs in entry.builds.values() for b in bs)  # no ROCm
        assert entry.source is not None
        assert "unslothai/unsloth@015bdef0d94a" in entry.source
    older = table.get("2.5.0")
    assert older is not None
    assert older.extension("xformers").version == "0.0.28.post2"  # paired, not confirmed
    assert not older.extension("xformers").confirmed
    assert "facebookresearch/xformers@v0.0.28.post2" in str(older.extension("xformers").paired_by)


def test_torchao_torchcodec_and_fbgemm_are_paired_but_not_seen_on_the_index() -> None:
    table = load_table()
    for release in table.releases:
        for package in EXTENSIONS[1:]:
            # one torchcodec build was seen in a real lock (test_release_facts)
            seen = (release.torch, package) == ("2.11.0", "torchcodec")
            assert release.extension(package).confirmed is seen, (release.torch, package)
    r291 = table.get("2.9.1")
    assert r291 is not None
    assert r291.paired("torchao") == "0.15.0"
    assert r291.paired("torchcodec") == "0.9.1"
    assert r291.paired("fbgemm-gpu") == "1.4.2"
    assert "pytorch/ao#2919" in str(r291.extension("torchao").paired_by)
    r28 = table.get("2.8.0")
    assert r28 is not None
    assert r28.paired("fbgemm-gpu") is None  # its row of FBGEMM's table was not seen


# --- the spec -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('missing-builds = "ignore"', 'unknown mode "ignore"; one of: pypi, skip, refuse'),
        ('missing-builds = { torchvision = "skip" }', "is published wherever torch is"),
        ('missing-builds = { torchcodec = "skip" }', '"torchcodec" is not the spec\'s packages'),
        ("missing-builds = { xformers = 1 }", "must be a string, not an integer"),
        ("missing-builds = 3", "must be a string or a table, not an integer"),
    ],
)
def test_missing_builds_is_validated(line: str, message: str) -> None:
    text = spec('packages = ["torchvision", "xformers"]', line)
    assert message in refused(text)


def test_missing_builds_needs_a_package_it_can_apply_to() -> None:
    error = refused(spec('packages = ["torchvision"]', 'missing-builds = "skip"'))
    assert "none of the spec's packages that the PyTorch indexes publish" in error
    assert "list one of xformers, torchao, torchcodec, fbgemm-gpu in packages" in error


# --- the plan -------------------------------------------------------------------------------


def test_xformers_is_routed_where_confirmed_and_torchao_left_to_pypi() -> None:
    result = plan(spec('packages = ["torchvision", "xformers", "torchao"]'))
    assert result.dependencies == (
        "torch==2.9.1",
        "torchvision==0.24.1",
        "xformers==0.0.33.post2",
        "torchao==0.15.0",
    )
    both = f"({LINUX}) or ({WINDOWS})"
    assert [s.as_dict() for s in result.sources["xformers"]] == [
        {"index": "pytorch-cu128", "marker": both}
    ]
    assert "torchao" not in result.sources
    linux, macos, _windows = result.builds
    assert linux.versions["xformers"] == "0.0.33.post2"
    assert linux.elsewhere == {"torchao": "0.15.0"}
    assert macos.elsewhere == {"xformers": "0.0.33.post2", "torchao": "0.15.0"}  # missing: PyPI
    assert (
        "no PyTorch index publishes xformers 0.0.33.post2 for macos-arm64: on macos-arm64-mps, "
        "PyPI's xformers==0.0.33.post2"
    ) in result.notes
    assert any("torchao 0.15.0 goes with torch 2.9.1 (pytorch/ao#2919" in n for n in result.notes)


def test_skip_limits_the_requirement_to_the_platforms_that_install_it() -> None:
    result = plan(spec('packages = ["xformers"]', 'missing-builds = "skip"'))
    assert result.dependencies == (
        "torch==2.9.1",
        f"xformers==0.0.33.post2 ; ({LINUX}) or ({WINDOWS})",
    )
    assert result.builds[1].skipped == ("xformers",)
    assert result.builds[1].elsewhere == {}


def test_refuse_names_the_target_and_what_is_published() -> None:
    error = refused(spec('packages = ["xformers"]', 'missing-builds = "refuse"'))
    assert (
        "no PyTorch index publishes xformers 0.0.33.post2 for macos-arm64, and missing-builds "
        "refuses it for macos-arm64-mps"
    ) in error
    text = spec(
        'packages = ["xformers"]',
        'missing-builds = { xformers = "refuse" }',
        targets=("linux-x86_64:cu126", "linux-x86_64:cpu"),
    )
    error = refused(text)
    assert "publishes xformers 0.0.33.post2 for linux-x86_64 on cu126, cu128, cu130 only" in error
    assert "target cu126 or cu128 or cu130 on linux-x86_64" in error


def test_extras_mode_gives_each_extra_its_placement() -> None:
    text = spec(
        'packages = ["xformers"]',
        'missing-builds = "skip"',
        targets=("linux-x86_64:cpu", "linux-x86_64:cu126", "windows-x86_64:cu126"),
    )
    result = plan(text)
    assert result.mode == "extras"
    assert result.extras["cpu"] == ("torch==2.9.1",)  # not on the cpu index: skipped there
    assert result.extras["cu126"] == ("torch==2.9.1", "xformers==0.0.33.post2")
    assert [s.as_dict() for s in result.sources["xformers"]] == [
        {"index": "pytorch-cu126", "extra": "cu126", "marker": f"({LINUX}) or ({WINDOWS})"}
    ]


def test_a_torch_range_pins_the_range_of_paired_versions() -> None:
    text = spec('packages = ["xformers"]', torch=">=2.9,<2.11", targets=("linux-x86_64:cu128",))
    result = plan(text)
    assert "xformers>=0.0.33.post1,<=0.0.34" in result.dependencies
    assert result.builds[0].versions["xformers"] == "0.0.34"


def test_a_confirmed_build_elsewhere_in_a_range_is_not_enough() -> None:
    """Routed only when every release of the range that has the target's build publishes it:
    2.7.0's xformers was never seen on the index."""
    text = spec('packages = ["xformers"]', torch=">=2.7,<2.8", targets=("linux-x86_64:cu128",))
    result = plan(text)
    assert "xformers" not in result.sources
    assert result.builds[0].elsewhere == {"xformers": "0.0.31.post1"}


def test_a_pypi_target_takes_every_package_from_pypi() -> None:
    result = plan(
        spec('packages = ["xformers"]', targets=("linux-x86_64:cu128", "windows-x86_64:pypi"))
    )
    windows = result.builds[1]
    assert windows.elsewhere == {"xformers": "0.0.33.post2"}
    assert not any("windows" in note for note in result.notes)


def test_upgrade_names_each_package_and_where_it_comes_from() -> None:
    current = plan(spec('packages = ["torchvision", "xformers", "torchao"]'))
    table = load_table()
    new = table.get("2.13.0")
    assert new is not None
    text = format_upgrade(
        plan_upgrade(current.spec, table, new, requires_python=">=3.10", python_written=True)
    )
    assert "  torchvision 0.24.1 -> 0.28.0\n" in text
    # 2.13 has no cu128: the targets move to cu126, whose index publishes xformers 0.0.35
    assert (
        "  xformers 0.0.33.post2 -> 0.0.35 (from the index on linux-x86_64-cu128, "
        "windows-x86_64-cu128; missing-builds decides on macos-arm64-mps)\n"
    ) in text
    assert "  torchao 0.15.0 -> 0.17.0 (missing-builds decides on " in text


# --- init ------------------------------------------------------------------------------------

ADOPTED = """\
[project]
name = "adopted"
version = "1.0"
requires-python = ">=3.10"
dependencies = ["torch==2.9.1", "xformers==0.0.33.post2; sys_platform != 'darwin'", "torchao"]

[tool.uv]
environments = [
  "platform_machine == 'x86_64' or platform_machine == 'AMD64' or sys_platform == 'darwin'",
]

[tool.uv.sources]
torch = [
  { index = "pytorch-cu128", marker = "sys_platform == 'linux' or sys_platform == 'win32'" },
  { index = "pytorch-cpu", marker = "sys_platform == 'darwin'" },
]
xformers = [{ index = "pytorch-cu128", marker = "sys_platform == 'linux'" }]

[[tool.uv.index]]
name = "pytorch-cu128"
url = "https://download.pytorch.org/whl/cu128"
explicit = true

[[tool.uv.index]]
name = "pytorch-cpu"
url = "https://download.pytorch.org/whl/cpu"
explicit = true
"""


def test_init_adopts_what_the_project_routes_to_a_pytorch_index() -> None:
    from uvtorch_ci.init.infer import infer

    found = infer(tomllib.loads(ADOPTED), ADOPTED, "pyproject.toml", load_table())
    assert found.packages == ("xformers",)  # torchao comes from PyPI: it stays the user's
    assert found.missing_builds == {"xformers": "skip"}  # as its marker leaves out macOS
    notes = "\n".join(found.notes)
    assert "packages: xformers, which the project routes to a PyTorch index (pytorch-cu128" in notes
    assert (
        "torchao: required (pyproject.toml line 5) but not routed to a PyTorch index, so it "
        "comes from PyPI"
    ) in notes
    assert 'missing-builds: xformers = "skip", as pyproject.toml line 5 leaves it out of ' in notes


def test_init_keeps_the_default_where_the_project_installs_it_everywhere() -> None:
    from uvtorch_ci.init.infer import infer

    text = ADOPTED.replace("; sys_platform != 'darwin'", "")
    found = infer(tomllib.loads(text), text, "pyproject.toml", load_table())
    assert found.packages == ("xformers",)
    assert found.missing_builds == {}  # macOS installs PyPI's, as it did
