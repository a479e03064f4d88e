"""The release table: its file format is pinned, and the questions asked of it answer right."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from uvtorch_ci.platforms import PLATFORMS
from uvtorch_ci.releases.table import (
    BACKEND_PATTERN,
    dump_table,
    index_backend,
    load_table,
    parse_table,
    table_text,
)


def test_file_is_in_canonical_form() -> None:
    # Loading and dumping must reproduce the shipped file byte for byte, so the format
    # cannot drift from the code that reads it.
    assert dump_table(load_table()) == table_text()


def test_every_release_from_2_0_through_2_15_is_listed_per_patch() -> None:
    versions = load_table().versions()
    assert versions[0] == "2.0.0"
    assert versions[-1] == "2.15.0"
    minors = {".".join(v.split(".")[:2]) for v in versions}
    assert minors == {f"2.{m}" for m in range(16)}
    assert {"2.5.0", "2.5.1", "2.7.1", "2.9.1", "2.12.1", "2.14.1"} <= set(versions)
    assert list(versions) == sorted(versions, key=Version)


def test_rows_are_well_formed() -> None:
    data = tomllib.loads(table_text())
    assert set(data) == {"format", "untagged-cpu", "release"}
    for row in data["release"]:
        assert set(row) - {"packages", "cuda-archs"} == {
            "torch",
            "torchvision",
            "torchaudio",
            "python",
            "pypi",
            "triton",
            "builds",
        }
        for entry in row.get("packages", {}).values():
            # what a package's index publishes is a subset of torch's own builds there
            for platform, backends in entry.get("builds", {}).items():
                assert set(backends) <= set(row["builds"][platform])
        published = {b for backends in row["builds"].values() for b in backends}
        for key, entry in row["triton"].items():
            # a family, or one of its backends this release publishes
            assert key in ("rocm", "xpu") or (key.startswith("rocm") and key in published)
            assert set(entry) <= {"requires", "source"}
        assert set(row["builds"]) <= set(PLATFORMS)
        assert set(row["pypi"]) == set(row["builds"])
        for backends in row["builds"].values():
            assert backends[0] == "cpu"
            assert all(BACKEND_PATTERN.match(b) for b in backends)
        assert all(p.startswith("3.") for p in row["python"])


def test_companions_follow_the_published_pairings() -> None:
    table = load_table()
    pairs = {r.torch: (r.torchvision, r.torchaudio) for r in table.releases}
    assert pairs["2.0.0"] == ("0.15.1", "2.0.1")
    assert pairs["2.5.1"] == ("0.20.1", "2.5.1")
    assert pairs["2.9.1"] == ("0.24.1", "2.9.1")
    # torchaudio 2.11.0 is built on the stable ABI and serves torch 2.11 and later
    assert pairs["2.13.0"] == ("0.28.0", "2.11.0")
    assert pairs["2.15.0"] == ("0.29.2", "2.11.0")


def test_local_tags_differ_per_platform() -> None:
    table = load_table()
    assert table.local_tag("linux-x86_64", "cpu") == "cpu"
    assert table.local_tag("windows-x86_64", "cpu") == "cpu"
    assert table.local_tag("linux-aarch64", "cpu") == ""
    assert table.local_tag("macos-arm64", "mps") == ""
    assert table.local_tag("linux-x86_64", "cu124") == "cu124"
    assert table.local_tag("linux-aarch64", "cu128") == "cu128"


def test_backends_per_release_and_platform() -> None:
    table = load_table()
    r25 = table.get("2.5.0")
    assert r25 is not None
    assert r25.publishes("linux-x86_64", "cu124")
    assert not r25.publishes("linux-x86_64", "cu128")
    assert not r25.publishes("linux-x86_64", "cu126")  # 2.5.x is not on cu126 (uv#11931)
    assert r25.backends("linux-aarch64") == ("cpu",)
    assert r25.pypi["linux-x86_64"] == "cu124"
    assert not r25.backends("macos-x86_64")
    r22 = table.get("2.2.2")
    assert r22 is not None
    assert r22.publishes("macos-x86_64", "cpu")
    r27 = table.get("2.7.0")
    assert r27 is not None
    assert r27.publishes("linux-aarch64", "cu128")
    r29 = table.get("2.9.1")
    assert r29 is not None
    assert r29.backends("linux-aarch64") == ("cpu", "cu126", "cu128", "cu130")
    r211 = table.get("2.11.0")
    assert r211 is not None
    assert r211.pypi["linux-aarch64"] == "cu130"


def test_matching_and_nearest() -> None:
    table = load_table()
    assert [r.torch for r in table.matching(SpecifierSet(">=2.5,<2.6"))] == ["2.5.0", "2.5.1"]
    nearest = table.nearest_with(Version("2.5.0"), "linux-x86_64", "cu128")
    assert nearest is not None
    assert nearest.torch == "2.7.0"
    nearest = table.nearest_with(Version("2.13.0"), "linux-x86_64", "cu118")
    assert nearest is not None
    assert nearest.torch == "2.7.1"
    assert table.nearest_with(Version("2.5.0"), "linux-x86_64", "cu999") is None
    assert table.newest().torch == "2.15.0"


def test_triton_pins_are_confirmed_or_left_out() -> None:
    table = load_table()
    r25 = table.get("2.5.0")
    assert r25 is not None
    # the build scripts' intent is no confirmation: the names alone, no pin for verify
    assert r25.tritons_for("rocm6.2") == ()
    entry = r25.triton_entry("rocm6.2")
    assert entry is not None
    assert [r.text for r in entry.requires] == ["pytorch-triton-rocm"]
    assert not entry.confirmed
    assert r25.triton_entry("cu124") is None
    assert r25.tritons_for("cu124") == ()
    r213 = table.get("2.13.0")
    assert r213 is not None
    # per backend: the rocm7.2 builds were seen in a real lock, the rocm7.1 ones were not
    assert r213.tritons_for("rocm7.2") == (("triton-rocm", "3.7.1"),)
    assert r213.tritons_for("rocm7.1") == ()
    assert r213.tritons_for("xpu") == (("triton-xpu", "3.7.2"),)
    entry = r213.triton_entry("rocm7.2")
    assert entry is not None
    assert entry.source == (
        "uv.lock of johnsutor/so101-nexus@3619f7dce086445dc31311edd593a4de93b21c47"
    )


def test_every_confirmed_pin_names_its_source() -> None:
    for release in load_table().releases:
        for key, entry in release.triton.items():
            assert entry.confirmed == all(r.version for r in entry.requires), (release.torch, key)
            if entry.source:
                assert entry.source.startswith(
                    ("uv.lock of ", "real uv.lock files, ", "wheel metadata, refreshed ")
                ), entry.source


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('{ requires = ["triton-rocm==3.7.1"] }', "a pin without a source"),
        ('{ requires = ["triton-rocm"], source = "x" }', "not every package is pinned"),
        ('{ requires = ["triton-rocm>=3.7"] }', "pins with == or not at all"),
        ("{ requires = [] }", "a non-empty list"),
        ('{ requires = ["triton-rocm"], pin = "3.7.1" }', "expected { requires"),
        ('{ requires = ["not a requirement!"] }', "is not a requirement"),
    ],
)
def test_parse_rejects_a_bad_triton_entry(entry: str, message: str) -> None:
    text, count = re.subn(
        r'^xpu = \{ requires = \["triton-xpu==3.7.2"\].*$',
        f"xpu = {entry}",
        table_text(),
        count=1,
        flags=re.MULTILINE,
    )
    assert count == 1
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_table(text)


def test_mps_installs_from_the_cpu_index() -> None:
    assert index_backend("mps") == "cpu"
    assert index_backend("cu124") == "cu124"


def test_parse_rejects_an_unknown_format() -> None:
    text = table_text().replace("format = 1", "format = 99")
    with pytest.raises(ValueError, match="format 99"):
        parse_table(text)
