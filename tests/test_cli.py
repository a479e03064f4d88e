"""The command line: exit codes, --check and --diff, and bad input that changes nothing on disk."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from projects import snapshot
from shared import needs_shared, shared_files

from uvtorch_ci.commands.main import cli as COMMANDS

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed"


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # no fast-path records unless a test asks for them (test_fastcheck.py does)
    full = {**os.environ, "UVTORCH_CI_CACHE_DIR": "off", **(env or {})}
    full.pop("UVTORCH_INDEX_URL", None) if env is None or "UVTORCH_INDEX_URL" not in env else None
    full.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    project = tmp_path / "seed"
    shutil.copytree(SEED, project)
    return project


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """The seed spec before its first render."""
    project = tmp_path / "fresh"
    project.mkdir()
    text = (SEED / "pyproject.toml").read_text()
    (project / "pyproject.toml").write_text(
        text.split("\n[tool.uv.sources]")[0].replace(
            'dependencies = ["torch==2.5.0"]', "dependencies = []"
        )
    )
    return project


def test_version_and_help() -> None:
    result = cli("--version", cwd=ROOT)
    assert result.returncode == 0
    assert result.stdout.startswith("uvtorch-ci, version ")
    result = cli("--help", cwd=ROOT)
    assert result.returncode == 0
    assert "render" in result.stdout


def test_example_seed_is_up_to_date(seed: Path) -> None:
    result = cli("render", "--check", cwd=seed)
    assert result.returncode == 0, result.stderr
    assert "pyproject.toml: up to date" in result.stderr
    assert (
        "linux-x86_64-cu124: torch 2.5.0 (local tag +cu124 or none) from "
        "https://download.pytorch.org/whl/cu124" in result.stderr
    )


def test_render_writes_then_is_a_no_op(fresh: Path) -> None:
    before = snapshot(fresh)
    check = cli("render", "--check", cwd=fresh)
    assert check.returncode == 1
    assert "pyproject.toml: would change" in check.stderr
    assert snapshot(fresh) == before

    diff = cli("render", "--check", "--diff", "--project", str(fresh), cwd=fresh.parent)
    assert diff.returncode == 1
    assert '+dependencies = ["torch==2.5.0"]' in diff.stdout
    assert "+[[tool.uv.index]]" in diff.stdout
    assert snapshot(fresh) == before

    written = cli("render", cwd=fresh)
    assert written.returncode == 0, written.stderr
    assert "pyproject.toml: updated" in written.stderr
    assert (fresh / "pyproject.toml").read_text() == (SEED / "pyproject.toml").read_text()
    after = snapshot(fresh)
    again = cli("render", cwd=fresh)
    assert again.returncode == 0
    assert "pyproject.toml: up to date" in again.stderr
    assert snapshot(fresh) == after


def test_mirror_url_from_the_environment(fresh: Path) -> None:
    result = cli("render", cwd=fresh, env={"UVTORCH_INDEX_URL": "http://127.0.0.1:1/whl"})
    assert result.returncode == 0, result.stderr
    assert 'url = "http://127.0.0.1:1/whl/cu124"' in (fresh / "pyproject.toml").read_text()


def test_standalone_spec_file(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.10"\n'
    )
    (project / "uvtorch.toml").write_text(
        'torch = "2.9.1"\n[[targets]]\nplatform = "linux-x86_64"\nbackend = "cu128"\n'
    )
    result = cli("render", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "torch==2.9.1" in (project / "pyproject.toml").read_text()
    other = tmp_path / "elsewhere.toml"
    other.write_text('torch = "2.9.1"\n[[targets]]\nplatform = "linux-x86_64"\nbackend = "cu126"\n')
    result = cli("render", "--spec", str(other), cwd=project)
    assert result.returncode == 0, result.stderr
    assert "pytorch-cu126" in (project / "pyproject.toml").read_text()


BAD_SPECS = [
    ('torch = "2.5.0"', 'torch = "2.5.0"\ntorhc = 1', 'tool.uvtorch.torhc: unknown key "torhc"'),
    (
        'backend = "cu124"',
        'backend = "cu128"',
        "tool.uvtorch.targets[0].backend: torch 2.5.0 does not publish cu128",
    ),
    (
        'backend = "cu124"',
        'backend = "mps"',
        "tool.uvtorch.targets[0].backend: mps exists only on macOS",
    ),
    (
        'torch = "2.5.0"',
        'torch = "2.3.0"\npython = ["3.13"]',
        "torch 2.3.0 has no wheels for Python 3.13",
    ),
    ('platform = "linux-aarch64"', 'platfrom = "linux-aarch64"', '(did you mean "platform"?)'),
    ('torch = "2.5.0"', 'torch = "2.5.0"\nindex-url = "ftp://x"', 'index-url: "ftp://x" is not'),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD_SPECS)
def test_bad_spec_exits_2_and_changes_nothing(
    fresh: Path, old: str, new: str, expected: str
) -> None:
    path = fresh / "pyproject.toml"
    path.write_text(path.read_text().replace(old, new, 1))
    before = snapshot(fresh)
    result = cli("render", cwd=fresh)
    assert result.returncode == 2
    assert result.stderr.startswith("error: pyproject.toml: ")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(fresh) == before


@needs_shared("corpus", "pyproject-broken")
@pytest.mark.parametrize(
    "path", shared_files("corpus", "pyproject-broken", pattern="*.toml"), ids=lambda p: p.stem
)
def test_invalid_toml_exits_2_and_changes_nothing(tmp_path: Path, path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    shutil.copy(path, project / "pyproject.toml")
    (project / "uvtorch.toml").write_text(
        'torch = "2.5.0"\n[[targets]]\nplatform = "linux-x86_64"\nbackend = "cpu"\n'
    )
    before = snapshot(project)
    result = cli("render", "--spec", "uvtorch.toml", cwd=project)
    assert result.returncode == 2
    assert result.stderr.startswith("error: pyproject.toml: line ")
    assert "not valid TOML" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(project) == before


def test_missing_pyproject_and_missing_spec(tmp_path: Path) -> None:
    result = cli("render", cwd=tmp_path)
    assert result.returncode == 2
    assert "pyproject.toml: not found" in result.stderr
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    result = cli("render", cwd=tmp_path)
    assert result.returncode == 2
    assert "no spec: there is no [tool.uvtorch] table and no uvtorch.toml" in result.stderr


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("render", "--chek", cwd=tmp_path)
    assert result.returncode == 2
    assert "No such option '--chek'" in result.stderr


def test_unwritable_target_is_a_clean_error_and_leaves_no_temporary(tmp_path: Path) -> None:
    from uvtorch_ci.commands.files import write_atomic
    from uvtorch_ci.errors import WriteError

    target = tmp_path / "pyproject.toml"
    target.mkdir()  # a directory where the file should be: the rename fails, even for root
    with pytest.raises(WriteError) as caught:
        write_atomic(target, "x = 1\n", "pyproject.toml")
    assert str(caught.value) == "pyproject.toml: is a directory, not a file"  # before any write
    assert [p.name for p in tmp_path.iterdir()] == ["pyproject.toml"]
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(WriteError):
        write_atomic(blocker / "pyproject.toml", "x = 1\n", "pyproject.toml")


def test_write_keeps_permissions(tmp_path: Path) -> None:
    from uvtorch_ci.commands.files import write_atomic

    target = tmp_path / "pyproject.toml"
    target.write_text("old\n")
    target.chmod(0o640)
    write_atomic(target, "new\n", "pyproject.toml")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_github_actions_errors_are_annotations(fresh: Path) -> None:
    path = fresh / "pyproject.toml"
    path.write_text(path.read_text().replace('backend = "cu124"', 'backend = "cu128"'))
    full = {**os.environ, "GITHUB_ACTIONS": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", "render"],
        cwd=fresh,
        env=full,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("::error file=pyproject.toml::")


def test_hand_edited_workflow_is_not_overwritten_without_force(seed: Path) -> None:
    workflow = seed / ".github" / "workflows" / "torch.yml"
    path = seed / "pyproject.toml"
    path.write_text(path.read_text().replace('backend = "cpu"', 'backend = "cpu"\ngpu = false'))
    edited = workflow.read_text().replace("fail-fast: false", "fail-fast: true")
    workflow.write_text(edited)
    before = snapshot(seed)
    for args in (("render",), ("render", "--check")):
        result = cli(*args, cwd=seed)
        assert result.returncode == 1
        assert ".github/workflows/torch.yml: was edited by hand since uvtorch-ci generated it" in (
            result.stderr
        )
        assert "--force" in result.stderr
        assert snapshot(seed) == before

    # the spec changed so the workflow must change: --force takes the rendered version
    result = cli("render", "--force", cwd=seed)
    assert result.returncode == 0, result.stderr
    assert "fail-fast: false" in workflow.read_text()
    assert cli("render", "--check", cwd=seed).returncode == 0


def test_a_foreign_file_at_the_workflow_path_is_not_overwritten(seed: Path) -> None:
    workflow = seed / ".github" / "workflows" / "torch.yml"
    workflow.write_text("name: mine\non: push\njobs: {}\n")
    result = cli("render", cwd=seed)
    assert result.returncode == 1
    assert "was not generated by uvtorch-ci (it has no fingerprint line)" in result.stderr
    assert workflow.read_text() == "name: mine\non: push\njobs: {}\n"


def test_a_failed_write_leaves_every_file_as_it_was(tmp_path: Path) -> None:
    from uvtorch_ci.commands.files import write_all
    from uvtorch_ci.errors import WriteError

    first = tmp_path / "pyproject.toml"
    first.write_text("old\n")
    (tmp_path / "blocker").write_text("a file where a folder should be\n")
    second = tmp_path / "blocker" / "workflows" / "torch.yml"
    with pytest.raises(WriteError):
        write_all([(first, "new\n", "pyproject.toml"), (second, "new\n", "torch.yml")])
    assert first.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "pyproject.toml"]
    # directories made for a write that then fails are taken away again
    made = tmp_path / "made" / "deep" / "torch.yml"
    with pytest.raises(WriteError):
        write_all([(made, "new\n", "torch.yml"), (second, "new\n", "torch.yml")])
    assert not (tmp_path / "made").exists()


def test_a_crlf_checkout_of_the_generated_files_is_up_to_date(seed: Path) -> None:
    for generated in (
        seed / ".github" / "workflows" / "torch.yml",
        seed / ".github/uvtorch/smoke.py",
    ):
        generated.write_bytes(generated.read_bytes().replace(b"\n", b"\r\n"))
    before = snapshot(seed)
    result = cli("render", "--check", cwd=seed)
    assert result.returncode == 0, result.stderr
    assert cli("render", cwd=seed).returncode == 0
    assert snapshot(seed) == before


def test_help_keeps_clicks_width_without_loading_shutil(tmp_path: Path) -> None:
    """--help is as wide as click would make it (the terminal's, at most 78 columns), and
    finds the width without shutil (and the compression modules it loads)."""
    code = (
        "import sys; from uvtorch_ci.commands.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('shutil' in sys.modules, file=sys.stderr)"
    )
    paths = [str(ROOT / "src"), str(Path(click.__file__).parents[1])]
    for columns, widest in (("60", 58), ("200", 78)):
        done = subprocess.run(
            [sys.executable, "-S", "-c", code],
            # -S with the paths by hand: this machine's own .pth hooks would load shutil
            env={"PYTHONPATH": os.pathsep.join(paths), "COLUMNS": columns},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.stderr.strip() == "False", done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith("Usage: ")
        assert max(len(line) for line in lines) <= widest
        assert max(len(line) for line in lines) > widest - 12  # wrapped to the width, not less


TWO_BACKENDS = (
    '[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cpu"\n'
    '[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu126"\n'
)


@pytest.mark.parametrize(
    ("selector", "lines"),
    [
        (
            "",
            [
                "next: uv lock, then install one target's build "
                "(a bare `uv sync` installs no torch):",
                "  uvtorch-ci sync        the build this machine runs",
                "  uv sync --extra cpu    linux-x86_64-cpu",
                "  uv sync --extra cu126  linux-x86_64-cu126",
            ],
        ),
        (
            'selector = "groups"\ndefault-group = "cu126"\n',
            [
                "next: uv lock, then install one target's build "
                "(a bare `uv sync` installs the cu126 group's):",
                "  uvtorch-ci sync                       the build this machine runs",
                "  uv sync --no-group cu126 --group cpu  linux-x86_64-cpu",
                "  uv sync                               linux-x86_64-cu126",
            ],
        ),
    ],
)
def test_render_names_the_sync_command_of_the_mode(
    tmp_path: Path, selector: str, lines: list[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\nrequires-python = ">=3.11"\n'
        f'[tool.uvtorch]\ntorch = "2.9.1"\n{selector}{TWO_BACKENDS}'
    )
    done = cli("render", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-len(lines) :] == lines
    check = cli("render", "--check", cwd=tmp_path)  # a check says only what it found
    assert "next:" not in check.stderr


def test_render_in_markers_mode_says_a_plain_sync_is_enough(seed: Path) -> None:
    done = cli("render", cwd=seed)
    assert done.stderr.splitlines()[-1] == (
        "next: uv lock, then uv sync (the platform markers pick each target's build)"
    )


@pytest.mark.parametrize("command", [*sorted(COMMANDS.commands), "releases refresh"])
def test_every_help_usage_names_its_subcommand(tmp_path: Path, command: str) -> None:
    shown = cli(*command.split(), "--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.lower().startswith(f"usage: uvtorch-ci {command} ")
