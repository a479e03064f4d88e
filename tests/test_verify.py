"""verify: uv.lock texts as uv writes them, checked against the plan of their spec; the
verify and explain commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lock_texts import (
    BIG_PYPROJECT,
    EXTRAS_LOCK,
    EXTRAS_PYPROJECT,
    PT,
    PYPI,
    ROCM_LOCK,
    ROCM_PYPROJECT,
    SEED_LOCK,
    SEED_PYPROJECT,
    synthetic_lock,
    text,
)

from uvtorch_ci.commands.main import main
from uvtorch_ci.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_PROBLEM, LockError
from uvtorch_ci.plan.planner import Plan
from uvtorch_ci.project import ProjectTexts, render_project
from uvtorch_ci.releases.table import load_table
from uvtorch_ci.verify.report import as_json, format_report
from uvtorch_ci.verify.verdicts import Verdicts, verify


def plan_of(pyproject: str) -> Plan:
    rendered = render_project(
        ProjectTexts(text(pyproject), "pyproject.toml"), env={}, table=load_table()
    )
    return rendered.plan


def check(
    lock: str = SEED_LOCK, pyproject: str = SEED_PYPROJECT, *, spec: str | None = None
) -> Verdicts:
    """Verify `lock` locked from `pyproject`, against the spec in `spec` (default: the same)."""
    return verify(plan_of(spec or pyproject), text(lock), text(pyproject))


def rows(verdicts: Verdicts) -> list[tuple[str, str, str, str | None, str]]:
    return [
        (t.name, t.python, p.package, p.version, p.index_label)
        for t in verdicts.targets
        for p in t.packages
    ]


def failures(verdicts: Verdicts) -> dict[tuple[str, str, str], list[str]]:
    """(target, python, package or "") -> problems, for what failed."""
    out: dict[tuple[str, str, str], list[str]] = {}
    for t in verdicts.targets:
        if t.problems:
            out[(t.name, t.python, "")] = list(t.problems)
        for p in t.packages:
            if p.problems:
                out[(t.name, t.python, p.package)] = list(p.problems)
    return out


def test_the_seed_lock_gives_every_target_its_build() -> None:
    verdicts = check()
    assert verdicts.ok
    assert not verdicts.stale
    assert rows(verdicts) == [
        (target, python, package, version + tag, index)
        for target, tag, index in (
            ("linux-x86_64-cu124", "+cu124", "cu124"),
            ("macos-arm64-mps", "", "cpu"),
            ("linux-aarch64-cpu", "", "cpu"),
        )
        for python in ("3.11", "3.12")
        for package, version in (("torch", "2.5.0"), ("torchvision", "0.20.0"))
    ]
    wheel = verdicts.targets[3].packages[0].wheel
    assert wheel == "torch-2.5.0-cp312-cp312-macosx_11_0_arm64.whl"
    report = format_report(verdicts)
    assert "FAIL" not in report
    assert "stale" not in report
    assert report.splitlines()[-1].startswith("ok: 6 target x Python environments")


def test_a_platform_falling_back_to_pypi_is_named() -> None:
    """The cpu source no longer covers macOS (the pyproject edited and locked again)."""
    both = "(sys_platform == 'darwin' and platform_machine == 'arm64') or "
    locked_both = "(platform_machine == 'arm64' and sys_platform == 'darwin') or "
    complement = (
        "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != "
        "'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and "
        "sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or "
        "sys_platform != 'darwin' and sys_platform != 'linux'"
    )
    assert complement in SEED_LOCK
    lock = SEED_LOCK.replace(
        complement,
        "platform_machine != 'aarch64' and platform_machine != 'x86_64' or sys_platform != 'linux'",
    ).replace(
        locked_both + "(platform_machine == 'aarch64' and sys_platform == 'linux')",
        "platform_machine == 'aarch64' and sys_platform == 'linux'",
    )
    pyproject = SEED_PYPROJECT.replace(
        both + "(sys_platform == 'linux' and platform_machine == 'aarch64')",
        "sys_platform == 'linux' and platform_machine == 'aarch64'",
    )
    verdicts = check(lock, pyproject, spec=SEED_PYPROJECT)
    assert not verdicts.stale
    failed = failures(verdicts)
    assert {key[0] for key in failed} == {"macos-arm64-mps"}
    problem = failed[("macos-arm64-mps", "3.12", "torch")]
    assert problem == [
        f"comes from {PYPI}, which is not a PyTorch index: macos-arm64 falls back to the "
        f"default index (PyPI); expected the cpu index ({PT}/cpu)"
    ]
    assert ("macos-arm64-mps", "3.12", "torchvision", "0.20.0", "PyPI") in rows(verdicts)


def test_a_build_from_another_pytorch_index_is_named() -> None:
    lock = SEED_LOCK.replace('registry = "{pt}/cu124"', 'registry = "{pt}/cpu"')
    failed = failures(check(lock))
    assert set(failed) == {
        ("linux-x86_64-cu124", python, package)
        for python in ("3.11", "3.12")
        for package in ("torch", "torchvision")
    }
    assert failed[("linux-x86_64-cu124", "3.11", "torch")] == [
        f"comes from the cpu index ({PT}/cpu); expected the cu124 index ({PT}/cu124)"
    ]


def test_a_companion_built_for_another_cuda_is_named() -> None:
    lock = (
        SEED_LOCK.replace(
            'name = "torchvision", version = "0.20.0+cu124", source = { registry = "{pt}/cu124" }',
            'name = "torchvision", version = "0.20.0+cu118", source = { registry = "{pt}/cu118" }',
        )
        .replace(
            'version = "0.20.0+cu124"\nsource = { registry = "{pt}/cu124" }',
            'version = "0.20.0+cu118"\nsource = { registry = "{pt}/cu118" }',
        )
        .replace("cu124/torchvision-0.20.0%2Bcu124", "cu118/torchvision-0.20.0%2Bcu118")
    )
    failed = failures(check(lock))
    assert set(failed) == {("linux-x86_64-cu124", p, "torchvision") for p in ("3.11", "3.12")}
    assert failed[("linux-x86_64-cu124", "3.12", "torchvision")] == [
        f"comes from the cu118 index ({PT}/cu118); expected the cu124 index ({PT}/cu124)",
        "local tag +cu118, expected +cu124 or none: built for cu118, not cu124",
    ]


def test_no_wheel_for_one_python_on_one_platform() -> None:
    lock = "".join(
        line
        for line in SEED_LOCK.splitlines(keepends=True)
        if "cpu/torch-2.5.0-cp312-cp312-macosx_11_0_arm64" not in line
    )
    failed = failures(check(lock))
    assert failed == {
        ("macos-arm64-mps", "3.12", "torch"): [
            "no wheel for cp312 on macos-arm64 in uv.lock (it has "
            "cp311-cp311-macosx_11_0_arm64, cp311-cp311-manylinux_2_28_aarch64, "
            "cp312-cp312-manylinux_2_28_aarch64)"
        ]
    }


def test_torch_missing_on_a_targeted_platform() -> None:
    lock = "".join(
        line
        for line in SEED_LOCK.splitlines(keepends=True)
        if not ("+cu124" in line and "marker = " in line)  # the root's Linux x86_64 entries
    )
    failed = failures(check(lock))
    assert failed[("linux-x86_64-cu124", "3.12", "torch")] == [
        "torch is missing: nothing in uv.lock installs it on linux-x86_64 with Python 3.12"
    ]
    assert {key[0] for key in failed} == {"linux-x86_64-cu124"}
    assert ("linux-x86_64-cu124", "3.12", "torch", None, "-") in rows(check(lock))


def test_a_stale_lock_is_stale_not_wrong_builds() -> None:
    """The spec moved to torch 2.5.1 and was rendered, but nobody ran uv lock."""
    pyproject = (
        SEED_PYPROJECT.replace('torch = "2.5.0"', 'torch = "2.5.1"')
        .replace('"torch==2.5.0"', '"torch==2.5.1"')
        .replace('"torchvision==0.20.0"', '"torchvision==0.20.1"')
    )
    verdicts = check(SEED_LOCK, pyproject)
    assert not verdicts.ok
    assert (
        f"torch on linux-x86_64: pyproject.toml declares torch==2.5.1 from {PT}/cu124, "
        f"uv.lock was locked with torch==2.5.0 from {PT}/cu124"
    ) in verdicts.stale
    # the rows still say what the old lock installs, judged against the spec
    report = format_report(verdicts)
    assert "linux-x86_64-cu124, Python 3.12, torch: version 2.5.0, expected 2.5.1" in report
    assert "rows above show what the old lock installs" in report
    assert report.splitlines()[-1] == (
        "stale: uv.lock predates pyproject.toml (and 6 of its target x Python environments "
        "FAIL); run `uv lock`, then verify again"
    )
    assert all(line.endswith("FAIL") for line in report.splitlines()[1:13])


def test_a_changed_index_url_makes_the_lock_stale() -> None:
    pyproject = SEED_PYPROJECT.replace('url = "{pt}/cu124"', 'url = "{pt}/cu121"')
    verdicts = check(SEED_LOCK, pyproject, spec=SEED_PYPROJECT)
    assert verdicts.stale == (
        f"torch on linux-x86_64: pyproject.toml declares torch==2.5.0 from {PT}/cu121, "
        f"uv.lock was locked with torch==2.5.0 from {PT}/cu124",
        f"torchvision on linux-x86_64: pyproject.toml declares torchvision==0.20.0 from "
        f"{PT}/cu121, uv.lock was locked with torchvision==0.20.0 from {PT}/cu124",
    )


def test_markers_written_differently_are_not_stale() -> None:
    """uv rewrites markers and specifiers; the comparison is by meaning, not text."""
    pyproject = (
        SEED_PYPROJECT.replace(
            "sys_platform == 'linux' and platform_machine == 'x86_64'",
            "platform_machine == 'x86_64' and sys_platform == 'linux'",
        )
        .replace('"torch==2.5.0"', '"torch == 2.5"')
        .replace('url = "{pt}/cpu"', 'url = "{pt}/cpu/"')
    )
    assert check(SEED_LOCK, pyproject, spec=SEED_PYPROJECT).ok


def test_environments_that_leave_a_target_out() -> None:
    pyproject = SEED_PYPROJECT.replace(
        "[tool.uv]\n", "[tool.uv]\nenvironments = [\"sys_platform == 'linux'\"]\n"
    )
    lock = SEED_LOCK.replace(
        'requires-python = ">=3.11"\n',
        'requires-python = ">=3.11"\nsupported-markers = [\n    "sys_platform == \'linux\'",\n]\n',
    )
    verdicts = check(lock, pyproject)
    assert not verdicts.stale
    assert failures(verdicts)[("macos-arm64-mps", "3.11", "")] == [
        "uv.lock does not cover macos-arm64 with Python 3.11: [tool.uv] environments leave it out"
    ]
    stale = check(SEED_LOCK, pyproject)  # environments added, not locked since
    assert stale.stale == ("[tool.uv] environments changed for macos-arm64",)


def test_a_torch_specifier_accepts_any_matching_release_with_its_companions() -> None:
    pyproject = (
        SEED_PYPROJECT.replace('torch = "2.5.0"', 'torch = ">=2.5,<2.6"')
        .replace('"torch==2.5.0"', '"torch>=2.5,<2.6"')
        .replace('"torchvision==0.20.0"', '"torchvision>=0.20.0,<=0.20.1"')
    )
    lock = SEED_LOCK.replace('specifier = "==2.5.0"', 'specifier = ">=2.5, <2.6"').replace(
        'specifier = "==0.20.0"', 'specifier = ">=0.20.0, <=0.20.1"'
    )
    plan = plan_of(pyproject)
    assert plan.builds[0].versions["torch"] == "2.5.1+cu124"  # the newest matching
    verdicts = check(lock, pyproject)
    assert verdicts.ok, failures(verdicts)
    mismatched = lock.replace('"0.20.0', '"0.20.1').replace(
        "torchvision-0.20.0", "torchvision-0.20.1"
    )
    failed = failures(check(mismatched, pyproject))
    assert failed[("linux-aarch64-cpu", "3.11", "torchvision")] == [
        "version 0.20.1, expected 0.20.0 (the torchvision of torch 2.5.0)"
    ]


def test_extras_mode_checks_each_target_with_its_extra() -> None:
    verdicts = check(EXTRAS_LOCK, EXTRAS_PYPROJECT)
    assert verdicts.ok, failures(verdicts)
    assert rows(verdicts) == [
        ("linux-x86_64-cpu", "3.12", "torch", "2.5.0+cpu", "cpu"),
        ("linux-x86_64-cu124", "3.12", "torch", "2.5.0+cu124", "cu124"),
        ("macos-arm64-mps", "3.12", "torch", "2.5.0", "cpu"),
    ]
    cuda = '{ name = "torch", version = "2.5.0+cu124", source = { registry = "{pt}/cu124" }'
    assert EXTRAS_LOCK.count(cuda) == 1  # the cu124 extra's entry
    lock = EXTRAS_LOCK.replace(
        cuda, '{ name = "torch", version = "2.5.0+cpu", source = { registry = "{pt}/cpu" }'
    )
    failed = failures(check(lock, EXTRAS_PYPROJECT))
    assert failed == {
        ("linux-x86_64-cu124", "3.12", "torch"): [
            f"comes from the cpu index ({PT}/cpu); expected the cu124 index ({PT}/cu124)",
            "local tag +cpu, expected +cu124 or none: built for cpu, not cu124",
        ]
    }


def test_rocm_checks_its_triton_package() -> None:
    verdicts = check(ROCM_LOCK, ROCM_PYPROJECT)
    assert verdicts.ok, failures(verdicts)
    assert rows(verdicts) == [
        ("linux-x86_64-rocm6.4", "3.12", "torch", "2.9.1+rocm6.4", "rocm6.4"),
        ("linux-x86_64-rocm6.4", "3.12", "pytorch-triton-rocm", "3.5.1", "rocm6.4"),
    ]
    lock = ROCM_LOCK.replace(
        'name = "pytorch-triton-rocm"\nversion = "3.5.1"\nsource = { registry = "{pt}/rocm6.4" }',
        'name = "pytorch-triton-rocm"\nversion = "3.5.1"\nsource = { registry = "{pypi}" }',
    )
    failed = failures(check(lock, ROCM_PYPROJECT))
    assert failed == {
        ("linux-x86_64-rocm6.4", "3.12", "pytorch-triton-rocm"): [
            f"comes from {PYPI}: only the PyTorch indexes serve pytorch-triton-rocm (the name "
            f"elsewhere is someone else's package); expected the rocm6.4 index ({PT}/rocm6.4)"
        ]
    }


def test_a_300_package_lock_verifies_with_its_download_size() -> None:
    verdicts = verify(plan_of(BIG_PYPROJECT), synthetic_lock(300), text(BIG_PYPROJECT))
    by_python = {t.python: t for t in verdicts.targets}
    assert by_python["3.12"].ok
    assert by_python["3.12"].installed == 298
    assert by_python["3.12"].download_bytes == 1000 + sum(range(297))
    assert by_python["3.12"].unsized == 0
    # the synthetic torch has cp312 wheels only
    assert failures(verdicts) == {
        ("linux-x86_64-cu124", "3.11", "torch"): [
            "no wheel for cp311 on linux-x86_64 in uv.lock (it has "
            "cp312-cp312-manylinux_2_28_x86_64)"
        ]
    }
    assert "its requirements are not compared" in verdicts.notes[0]


def test_download_sizes_are_shown_when_the_lock_records_them() -> None:
    unknown = format_report(check(), sizes=True)
    assert "linux-x86_64-cu124  3.12  2 packages  unknown" in unknown
    sized = SEED_LOCK.replace('hash = "sha256:00" }', 'hash = "sha256:00", size = 1048576 }')
    report = format_report(check(sized), sizes=True)
    assert "linux-x86_64-cu124  3.12  2 packages  2.0 MiB" in report
    partly = SEED_LOCK.replace(
        'torch-2.5.0%2Bcu124-cp312-cp312-manylinux_2_28_x86_64.whl", hash = "sha256:00" }',
        'torch-2.5.0%2Bcu124-cp312-cp312-manylinux_2_28_x86_64.whl", hash = "sha256:00", '
        "size = 3000 }",
    )
    assert "at least 2.9 KiB (1 files without a recorded size)" in format_report(
        check(partly), sizes=True
    )


def test_json_keys_are_stable() -> None:
    data = as_json(check())
    assert list(data) == [
        "lock",
        "ok",
        "stale",
        "stale_reasons",
        "problems",
        "warnings",
        "notes",
        "targets",
    ]
    target = data["targets"][0]
    assert list(target) == [
        "target",
        "platform",
        "backend",
        "extra",
        "python",
        "ok",
        "problems",
        "installed",
        "download_bytes",
        "files_without_size",
        "packages",
    ]
    assert target["packages"][0] == {
        "package": "torch",
        "version": "2.5.0+cu124",
        "expected_version": "2.5.0",
        "local_tag": "cu124",
        "expected_local_tag": "cu124",
        "index": f"{PT}/cu124",
        "expected_index": f"{PT}/cu124",
        "wheel": "torch-2.5.0+cu124-cp311-cp311-manylinux_2_28_x86_64.whl",
        "ok": True,
        "problems": [],
    }
    assert target["download_bytes"] is None
    assert target["files_without_size"] == 2


def test_an_unreadable_lock_is_bad_input() -> None:
    with pytest.raises(LockError) as caught:
        verify(plan_of(SEED_PYPROJECT), "version = [", text(SEED_PYPROJECT))
    assert caught.value.exit_code == EXIT_BAD_INPUT


# -- the commands ---------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("UVTORCH_INDEX_URL", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.chdir(tmp_path)
    directory = tmp_path / "demo"
    directory.mkdir()
    (directory / "pyproject.toml").write_text(text(SEED_PYPROJECT))
    (directory / "uv.lock").write_text(text(SEED_LOCK))
    return directory


def test_verify_command_exit_codes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--project", str(project)]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("TARGET")
    assert "ok: 6 target x Python environments" in out

    lock = project / "uv.lock"
    lock.write_text(text(SEED_LOCK).replace(f"{PT}/cu124/torch-2.5.0%2Bcu124-cp312", "x"))
    assert main(["verify", "--project", str(project)]) == EXIT_PROBLEM
    out = capsys.readouterr().out
    assert "linux-x86_64-cu124, Python 3.12, torch: no wheel for cp312 on linux-x86_64" in out
    assert out.splitlines()[-1] == (
        "FAIL: 1 of 6 target x Python environments (linux-x86_64-cu124); 1 file not where its "
        "index serves it"
    )
    assert "the URL of x-cp312-manylinux_2_28_x86_64.whl is not an http(s) URL" in out

    lock.write_text("version = [\n")
    assert main(["verify", "--project", str(project)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: demo/uv.lock: not valid TOML")
    assert "uv lock" in err

    lock.unlink()
    assert main(["verify", "--project", str(project)]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == (
        "error: demo/uv.lock: not found\n"
        "  hint: run `uv lock` in the project to create it, then verify again\n"
    )


def test_verify_annotates_problems_in_github_actions(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    (project / "uv.lock").write_text(text(SEED_LOCK).replace(f"{PT}/cu124", f"{PT}/cpu"))
    assert main(["verify", "--project", str(project)]) == EXIT_PROBLEM
    out = capsys.readouterr().out
    assert "::error file=demo/uv.lock::uv.lock is stale: torch on linux-x86_64: " in out


def test_explain_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--project", str(project)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "download per target" in out
    assert "unknown" in out
    # explaining a wrong lock still exits 0: the verdict is in the output
    (project / "uv.lock").write_text(text(SEED_LOCK).replace(f'"{PT}/cu124"', f'"{PT}/cpu"'))
    assert main(["explain", "--project", str(project), "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["lock"] == "demo/uv.lock"
    assert data["targets"][0]["packages"][0]["index"] == f"{PT}/cpu"


def test_verify_after_an_up_to_date_render_plans_without_rendering(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from uvtorch_ci.commands import verify as commands

    monkeypatch.setenv("UVTORCH_CI_CACHE_DIR", "off")
    assert main(["verify", "--project", str(project)]) == EXIT_OK
    full = capsys.readouterr().out

    monkeypatch.setenv("UVTORCH_CI_CACHE_DIR", str(project.parent / "cache"))
    assert main(["render", "--project", str(project)]) == EXIT_OK  # records the state
    capsys.readouterr()

    def no_rendering(*args: object, **kwargs: object) -> None:
        raise AssertionError("verify rendered although the record says nothing would change")

    with monkeypatch.context() as patched:
        patched.setattr(commands, "load_and_render", no_rendering)
        assert main(["verify", "--project", str(project)]) == EXIT_OK
        assert capsys.readouterr().out == full

    # an edit to pyproject.toml outdates the record: the full way again, with its note
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("explicit = true", "explicit = false"))
    main(["verify", "--project", str(project)])
    assert "is not what the spec renders" in capsys.readouterr().out


# -- the index's irregular tags, and where the files come from ------------------------------


def _retagged(old: str, new: str) -> str:
    """SEED_LOCK with one build's local tag changed everywhere uv writes it."""
    lock = text(SEED_LOCK)
    return lock.replace(old, new).replace(old.replace("+", "%2B"), new.replace("+", "%2B"))


def test_an_untagged_build_on_its_own_index_is_right() -> None:
    """aarch64 torchvision is untagged even on CUDA indexes for some releases: no tag is fine."""
    verdicts = verify(
        plan_of(SEED_PYPROJECT), _retagged("0.20.0+cu124", "0.20.0"), text(SEED_PYPROJECT)
    )
    assert verdicts.ok, failures(verdicts)
    cu124 = [p for t in verdicts.targets if t.name == "linux-x86_64-cu124" for p in t.packages]
    assert {(p.package, p.version, p.expected_local_tag) for p in cu124} == {
        ("torch", "2.5.0+cu124", "cu124"),
        ("torchvision", "0.20.0", "cu124"),
    }


def test_the_backends_own_tag_is_right_where_the_table_expects_none() -> None:
    """aarch64 torch is +cpu on the cpu index in recent releases; the table's habit is none."""
    lock = text(SEED_LOCK).replace(
        'version = "2.5.0", source = { registry = "' + PT + '/cpu" }',
        'version = "2.5.0+cpu", source = { registry = "' + PT + '/cpu" }',
    )
    lock = lock.replace(
        f'name = "torch"\nversion = "2.5.0"\nsource = {{ registry = "{PT}/cpu" }}',
        f'name = "torch"\nversion = "2.5.0+cpu"\nsource = {{ registry = "{PT}/cpu" }}',
    )
    verdicts = verify(plan_of(SEED_PYPROJECT), lock, text(SEED_PYPROJECT))
    aarch64 = [p for t in verdicts.targets if t.name == "linux-aarch64-cpu" for p in t.packages]
    assert [p.version for p in aarch64 if p.package == "torch"] == ["2.5.0+cpu", "2.5.0+cpu"]
    # The seed lock shares this package with macOS, whose wheels are never tagged.
    assert failures(verdicts) == {
        ("macos-arm64-mps", python, "torch"): [
            "local tag +cpu, expected none: macOS builds are never tagged"
        ]
        for python in ("3.11", "3.12")
    }


@pytest.mark.parametrize(
    ("tag", "words"),
    [("+cu121", "built for cu121, not cu124"), ("+d801a34", "a tag that names no backend")],
)
def test_another_backends_tag_is_a_failure(tag: str, words: str) -> None:
    verdicts = verify(
        plan_of(SEED_PYPROJECT), _retagged("2.5.0+cu124", "2.5.0" + tag), text(SEED_PYPROJECT)
    )
    failed = failures(verdicts)
    assert set(failed) == {("linux-x86_64-cu124", p, "torch") for p in ("3.11", "3.12")}
    assert failed[("linux-x86_64-cu124", "3.12", "torch")] == [
        f"local tag {tag}, expected +cu124 or none: {words}"
        + ("" if tag == "+cu121" else " (a stray build, not the cu124 build)")
    ]


@pytest.mark.parametrize(
    ("new", "words"),
    [
        ("https://127.0.0.1:8999/whl/cu124", "comes from another host (127.0.0.1:8999)"),
        ("http://download.pytorch.org/whl/cu124", "is downloaded over http, not https"),
        (f"{PT}/cu118", "comes from the cu118 folder"),
        ("https://download.pytorch.org/simple", "comes from outside the index's folders"),
    ],
)
def test_a_file_downloaded_from_elsewhere_is_named_by_its_url(new: str, words: str) -> None:
    """The registry string is right, only the wheel URLs moved: the URL is what uv fetches."""
    lock = text(SEED_LOCK).replace(f'url = "{PT}/cu124/torch-', f'url = "{new}/torch-')
    verdicts = verify(plan_of(SEED_PYPROJECT), lock, text(SEED_PYPROJECT))
    failed = failures(verdicts)
    assert set(failed) == {("linux-x86_64-cu124", p, "torch") for p in ("3.11", "3.12")}
    (problem,) = failed[("linux-x86_64-cu124", "3.12", "torch")]
    wheel = "torch-2.5.0+cu124-cp312-cp312-manylinux_2_28_x86_64.whl"
    assert problem.startswith(f"{wheel} {words}"), problem
    assert f"{new}/torch-2.5.0%2Bcu124-cp312" in problem
    assert problem.endswith(f"expected a file of the cu124 index ({PT}/cu124)")


def test_a_file_shared_by_the_indexes_may_sit_at_the_base() -> None:
    """The PyTorch index keeps files several indexes share (Triton) directly under /whl/."""
    lock = text(SEED_LOCK).replace(f'url = "{PT}/cu124/torch-', f'url = "{PT}/torch-')
    assert verify(plan_of(SEED_PYPROJECT), lock, text(SEED_PYPROJECT)).ok


# -- what verify must keep doing --------------------------------------------------------------


def test_a_stale_lock_with_right_builds_still_fails(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every row is right, yet pyproject.toml changed since locking: the verdict is not ok."""
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.uv]\n", "[tool.uv]\nenvironments = [\"sys_platform == 'linux'\"]\n"
        )
    )
    verdicts = check(SEED_LOCK, text(pyproject.read_text()), spec=SEED_PYPROJECT)
    assert all(t.ok for t in verdicts.targets)
    assert verdicts.stale
    assert not verdicts.ok
    assert main(["verify", "--project", str(project)]) == EXIT_PROBLEM
    assert capsys.readouterr().out.splitlines()[-1].startswith("stale: demo/uv.lock predates")


def test_a_lock_whose_requires_python_excludes_a_ci_python_is_reported() -> None:
    lock = SEED_LOCK.replace('requires-python = ">=3.11"', 'requires-python = ">=3.12"', 1)
    verdicts = check(lock)
    failed = failures(verdicts)
    assert failed[("linux-x86_64-cu124", "3.11", "")] == [
        "uv.lock's requires-python (>=3.12) excludes 3.11"
    ]
    assert {key[0] for key in failed if key[1] == "3.11"} == {
        "linux-x86_64-cu124",
        "macos-arm64-mps",
        "linux-aarch64-cpu",
    }
    assert not any(key[1] == "3.12" for key in failed)


def test_a_requires_python_change_makes_the_lock_stale() -> None:
    lock = SEED_LOCK.replace('requires-python = ">=3.11"', 'requires-python = ">=3.12"', 1)
    assert "requires-python is '>=3.11' in pyproject.toml, '>=3.12' in uv.lock" in (
        check(lock).stale
    )


def test_verify_follows_the_dev_group_uv_sync_installs() -> None:
    """`uv sync` installs the `dev` dependency group by default: torch reached only through
    it is installed, and verify must see it."""
    lock = text(SEED_LOCK)
    start = lock.index('dependencies = [\n    { name = "torch"')
    end = lock.index("]\n", start) + 2
    lock = lock[:start] + lock[end:].replace(
        "[package.metadata]",
        "[package.dev-dependencies]\ndev = [\n" + lock[start + 16 : end] + "\n[package.metadata]",
        1,
    )
    verdicts = verify(plan_of(SEED_PYPROJECT), lock, text(SEED_PYPROJECT))
    assert [p.version for t in verdicts.targets for p in t.packages if p.package == "torch"] == [
        "2.5.0+cu124",
        "2.5.0+cu124",
        "2.5.0",
        "2.5.0",
        "2.5.0",
        "2.5.0",
    ]
    assert not failures(verdicts)


def test_a_pypi_target_must_get_pypis_build_not_a_pytorch_indexs() -> None:
    """`backend = "pypi"` on macOS: the seed lock's macOS torch comes from the cpu index."""
    spec = SEED_PYPROJECT.replace(
        'platform = "macos-arm64"\nbackend = "mps"', 'platform = "macos-arm64"\nbackend = "pypi"'
    )
    assert spec != SEED_PYPROJECT
    failed = failures(check(spec=spec))
    assert failed[("macos-arm64-pypi", "3.12", "torch")] == [
        f"comes from the cpu index ({PT}/cpu); expected PyPI's cpu build, from the default index"
    ]
    assert not any(key[0] == "linux-x86_64-cu124" for key in failed)
