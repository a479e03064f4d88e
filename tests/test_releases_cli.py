"""`uvtorch-ci releases`: the shipped table as a compact text table and as JSON."""

from __future__ import annotations

import json
import re

import pytest

from uvtorch_ci.commands.main import main
from uvtorch_ci.releases.table import load_table
from uvtorch_ci.releases.view import LEGEND, compact_backends, python_range


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["releases", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_table_has_one_line_per_release(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys=capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [
        "torch",
        "vision",
        "audio",
        "python",
        "linux-x86_64",
        "linux-aarch64",
        "windows-x86_64",
        "macos",
    ]
    assert lines[-1] == LEGEND
    body = lines[1 : lines.index("")]
    assert [line.split()[0] for line in body] == list(load_table().versions())
    row = next(line for line in body if line.startswith("2.5.0 "))
    assert re.split(r"\s{2,}", row) == [
        "2.5.0",
        "0.20.0",
        "2.5.0",
        "3.9-3.12",
        "cpu cu118/121/124* rocm6.1/6.2 xpu",
        "cpu",
        "cpu cu118/121/124",
        "arm64",
    ]
    first = next(line for line in body if line.startswith("2.0.0 "))
    assert first.endswith("arm64 x86_64")  # the last Intel Mac builds
    assert max(len(line) for line in lines) <= 130  # compact: the backends grouped by family


@pytest.mark.parametrize(
    ("spec", "versions"),
    [
        ("2.5.1", ["2.5.1"]),
        ("2.5", ["2.5.0", "2.5.1"]),
        (">=2.14", ["2.14.0", "2.14.1", "2.15.0"]),
        ("~=2.12.0", ["2.12.0", "2.12.1"]),
    ],
)
def test_torch_selects_releases(
    spec: str, versions: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run("--torch", spec, capsys=capsys)
    assert code == 0
    body = out.splitlines()[1 : out.splitlines().index("")]
    assert [line.split()[0] for line in body] == versions


def test_json_holds_the_table_rows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("--json", "--torch", "2.11", capsys=capsys)
    assert code == 0
    document = json.loads(out)
    assert document["format"] == 1
    assert document["untagged-cpu"] == list(load_table().untagged_cpu)
    (row,) = document["releases"]
    release = load_table().get("2.11.0")
    assert release is not None
    assert row == {
        "torch": "2.11.0",
        "torchvision": "0.26.0",
        "torchaudio": "2.11.0",
        "python": list(release.python),
        "pypi": release.pypi,
        "triton": {"rocm": {"requires": ["triton-rocm"]}, "xpu": {"requires": ["triton-xpu"]}},
        "builds": {platform: list(backends) for platform, backends in release.builds.items()},
        "cuda-archs": row["cuda-archs"],  # checked below
        "packages": row["packages"],
    }
    cu128 = row["cuda-archs"]["cu128"]["linux-x86_64"]
    assert cu128 == {  # confirmed: it says where it was read
        "archs": "7.5;8.0;8.6;9.0;10.0;12.0",
        "source": "torch.cuda.get_arch_list() of the 2.11.0+cu128 wheel (pytorch/pytorch#182250)",
    }
    assert set(row["cuda-archs"]["cu130"]["linux-x86_64"]) == {"archs", "inferred"}
    # a package built against torch: its pairing, and where the index was seen publishing it
    torchcodec = release.extension("torchcodec")
    assert row["packages"]["torchcodec"] == {
        "version": "0.12.0",
        "paired-by": torchcodec.paired_by,
        "builds": {"linux-x86_64": ["cu130"], "linux-aarch64": ["cu130"]},
        "source": torchcodec.source,
    }
    assert set(row["packages"]["torchao"]) == {"version", "paired-by"}  # not confirmed
    code, out, _ = run("--json", capsys=capsys)
    assert [r["torch"] for r in json.loads(out)["releases"]] == list(load_table().versions())
    (row,) = json.loads(run("--json", "--torch", "2.13.0", capsys=capsys)[1])["releases"]
    assert row["triton"]["xpu"] == {  # a confirmed pin says where it was seen
        "requires": ["triton-xpu==3.7.2"],
        "source": "uv.lock of invoke-ai/InvokeAI@8e71a8a519399d6db32054ae9afc7c6c4e2355af",
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("3.0", 'no torch release in the table matches "3.0"'),
        ("two", '--torch "two" is neither a version nor a PEP 440 specifier'),
    ],
)
def test_bad_torch_is_exit_2(spec: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run("--torch", spec, capsys=capsys)
    assert (code, out) == (2, "")
    assert f"error: {message}" in err
    assert "hint:" in err


def test_show_options_do_not_combine_with_refresh(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run("--json", "refresh", capsys=capsys)
    assert code == 2
    assert "--torch and --json show the table" in err


def test_compact_cells() -> None:
    assert compact_backends(["cpu", "cu126", "cu130", "cu132", "rocm7.2", "xpu"], "cu130") == (
        "cpu cu126/130*/132 rocm7.2 xpu"
    )
    assert compact_backends(["cpu", "rocm6.2.4", "rocm6.3"], "cpu") == "cpu rocm6.2.4/6.3"
    assert python_range(["3.10", "3.11", "3.12"]) == "3.10-3.12"
    assert python_range(["3.9", "3.11"]) == "3.9,3.11"
    assert python_range(["3.12"]) == "3.12"
