"""verify on the uv.lock files real uv wrote against the real PyTorch index (../shared/corpus/
locks): no false FAIL, each true problem a FAIL with its reason, and tampered copies caught."""

from __future__ import annotations

import re

import pytest
from corpus_locks import (
    NOT_EXPRESSIBLE,
    PAIRS,
    corpus_names,
    failing_rows,
    pair_texts,
    plan_for,
    verdicts_of,
)
from shared import needs_shared

from uvtorch_ci.errors import SpecError
from uvtorch_ci.verify.report import format_report

pytestmark = needs_shared("corpus", "locks")


def test_every_pair_is_read() -> None:
    assert sorted({*PAIRS, *NOT_EXPRESSIBLE}) == corpus_names()
    assert len(corpus_names()) >= 15


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_verify_finds_what_the_reading_found(name: str) -> None:
    pair = PAIRS[name]
    verdicts = verdicts_of(name)
    assert not verdicts.stale, verdicts.stale  # real uv says each is current
    assert not verdicts.problems, verdicts.problems
    failing = failing_rows(verdicts)
    assert set(failing) == set(pair.failing), format_report(verdicts)
    for key, words in pair.failing.items():
        for word in words:
            assert any(word in problem for problem in failing[key]), (key, word, failing[key])
    assert verdicts.ok is (not pair.failing)


def test_the_true_problems_are_named_in_the_report() -> None:
    """The two the issue's reading found: InvokeAI's cpu extra on macOS, and the project that
    never installs torch."""
    report = format_report(verdicts_of("invoke-ai__InvokeAI"))
    assert "macos-arm64-mps, Python 3.12, torch: no wheel for cp312 on macos-arm64" in report
    report = format_report(verdicts_of("NVIDIA-NeMo__Export-Deploy"))
    assert "linux-x86_64-cu130, Python 3.12, torch: torch is missing" in report
    assert report.rstrip().endswith(
        "(linux-x86_64-cu130, linux-aarch64-cu130, windows-x86_64-cu130)"
    )


def test_files_on_both_hosts_of_the_index_pass() -> None:
    """fish-speech's lock mixes hosts: torch on download.pytorch.org, torchaudio on
    download-r2.pytorch.org; Triton files sit directly under /whl/ (whisperX)."""
    _, lock = pair_texts("fishaudio__fish-speech")
    assert "https://download.pytorch.org/whl/cu128/torch-" in lock
    assert "https://download-r2.pytorch.org/whl/cu128/torchaudio-" in lock
    rows = {
        (t.name, r.package): r
        for t in verdicts_of("fishaudio__fish-speech").targets
        for r in t.packages
    }
    assert rows[("linux-x86_64-cu128", "torchaudio")].ok
    _, lock = pair_texts("m-bain__whisperX")
    assert "https://download-r2.pytorch.org/whl/triton-3.4.0-" in lock
    assert verdicts_of("m-bain__whisperX").ok


def test_a_mirror_that_links_files_elsewhere_needs_file_hosts() -> None:
    """pypi.lenskit.org's pages link download-r2.pytorch.org: without `file-hosts` every torch
    file comes from another host, and the message names the key."""
    name = "CCRI-POPROX__poprox-recommender"
    spec = PAIRS[name].spec.replace('file-hosts = ["https://download-r2.pytorch.org/whl"]\n', "")
    from uvtorch_ci.verify.verdicts import verify

    pyproject, lock = pair_texts(name)
    verdicts = verify(plan_for(name, spec), lock, pyproject)
    assert not verdicts.ok
    problems = [p for t in verdicts.targets for r in t.packages for p in r.problems]
    assert problems
    assert all("comes from another host (download-r2.pytorch.org)" in p for p in problems)
    assert all("list it in the spec's file-hosts" in p for p in problems)


def test_hashless_files_are_warnings_not_failures() -> None:
    verdicts = verdicts_of("invoke-ai__InvokeAI")
    assert any(w.startswith("torch 2.13.0+xpu (") and "no hash" in w for w in verdicts.warnings)
    assert any(w.startswith("triton-rocm 3.6.0 (") for w in verdicts.warnings)
    report = format_report(verdicts)
    assert "warning: triton-rocm 3.6.0" in report


def test_a_nightly_lock_is_not_a_release_the_spec_can_name() -> None:
    with pytest.raises(SpecError, match="no torch release in the table matches"):
        plan_for(
            "pytorch__TensorRT",
            'torch = "2.14.0.dev20260625"\n[[targets]]\n'
            'platform = "linux-x86_64"\nbackend = "cu130"\n',
        )


# -- tampered copies of real locks -----------------------------------------------------------

R2 = "https://download-r2.pytorch.org/whl"
WHEEL = "torch-2.8.0%2Bcu128-cp310-cp310-manylinux_2_28_x86_64.whl"
OFF_AXIS = "torch-2.8.0%2Bcu128-cp311-cp311-manylinux_2_28_x86_64.whl"  # CI runs 3.10 and 3.13


@pytest.mark.parametrize(
    ("wheel", "url", "words"),
    [
        (WHEEL, f"https://evil.example.com/whl/cu128/{WHEEL}", "comes from another host"),
        (WHEEL, f"{R2}/cu128/../../scratch/{WHEEL}", "has a '..' path segment"),
        (WHEEL, f"{R2}/cu128/%2e%2e/%2E%2E/scratch/{WHEEL}", "has a '..' path segment"),
        (WHEEL, f"{R2}/cu128//{WHEEL}", "has an empty path segment"),
        (WHEEL, f"https://user@download-r2.pytorch.org/whl/cu128/{WHEEL}", "names a user"),
        (
            WHEEL,
            f"https://download-r2.pytorch.org@evil.example.com/whl/cu128/{WHEEL}",
            "names a user",
        ),
        (WHEEL, f"{R2}/cpu/{WHEEL}", "comes from the cpu folder"),
        (WHEEL, f"{R2}/cu128/{WHEEL}?x=1", "has a query or a fragment"),
        (OFF_AXIS, f"https://evil.example.com/whl/cu128/{OFF_AXIS}", "comes from another host"),
        (OFF_AXIS, f"{R2}/cu128/..%2f..%2fscratch/{OFF_AXIS}", "encoded separator"),
    ],
)
def test_a_tampered_url_fails_naming_it(wheel: str, url: str, words: str) -> None:
    _, lock = pair_texts("m-bain__whisperX")
    original = f'url = "{R2}/cu128/{wheel}"'
    assert original in lock
    verdicts = verdicts_of("m-bain__whisperX", lock=lock.replace(original, f'url = "{url}"'))
    assert not verdicts.ok
    report = format_report(verdicts)
    shown = url.replace("user@", "***@").replace("download-r2.pytorch.org@", "***@")
    named = [line for line in report.splitlines() if words in line]
    assert named, report
    assert all(shown in line or "?" in url for line in named), named
    if wheel == OFF_AXIS:  # no target installs it: the lock-wide look names it
        assert any(shown in p for p in verdicts.problems)


def test_a_wheel_without_a_url_fails() -> None:
    _, lock = pair_texts("m-bain__whisperX")
    edited = re.sub(
        rf'url = "{re.escape(R2)}/cu128/{re.escape(OFF_AXIS)}", ',
        f'filename = "{OFF_AXIS}", ',
        lock,
    )
    assert edited != lock
    verdicts = verdicts_of("m-bain__whisperX", lock=edited)
    assert not verdicts.ok
    assert any("records no URL for torch-2.8.0+cu128-cp311" in p for p in verdicts.problems)


def test_a_mirror_file_on_an_unlisted_host_fails() -> None:
    name = "ashengstd__CacheFlux"
    _, lock = pair_texts(name)
    mirror = 'url = "https://mirror.nju.edu.cn/pytorch/whl/cu126/torch-'
    assert mirror in lock
    edited = lock.replace(mirror, 'url = "https://download-r2.pytorch.org/whl/cu126/torch-', 1)
    verdicts = verdicts_of(name, lock=edited)
    assert not verdicts.ok
    assert any(
        "comes from another host (download-r2.pytorch.org)" in p
        and "list it in the spec's file-hosts" in p
        for p in (
            *verdicts.problems,
            *(p for t in verdicts.targets for r in t.packages for p in r.problems),
        )
    )
