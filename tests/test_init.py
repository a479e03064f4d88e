"""`init`: the spec text generated from answers (pure), and the command run in tmp folders."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from projects import snapshot

from uvtorch_ci.errors import PyprojectError, SpecError
from uvtorch_ci.init.answers import (
    Answers,
    TargetChoice,
    default_targets,
    default_torch,
    flag_error,
    gather_answers,
    parse_target,
    spec_table,
)
from uvtorch_ci.init.project import (
    append_spec,
    new_pyproject,
    next_steps,
    project_name,
    requires_python,
    spec_text,
)
from uvtorch_ci.plan.planner import plan_from_data
from uvtorch_ci.project import ProjectTexts, render_project
from uvtorch_ci.releases.table import load_table

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed"
TABLE = load_table()

SEED_ANSWERS = Answers(
    torch="2.5.0",
    targets=(
        TargetChoice("linux-x86_64", "cu124"),
        TargetChoice("macos-arm64", "mps"),
        TargetChoice("linux-aarch64", "cpu"),
    ),
)
FULL_ANSWERS = Answers(
    torch="2.9.1",
    targets=(
        TargetChoice("linux-x86_64", "cu130", "gpu-box"),
        TargetChoice("windows-x86_64", "cu126"),
    ),
    packages=("torchvision", "torchaudio"),
    python=("3.11", "3.12"),
)
FULL_SPEC = """\
# The one place that says which PyTorch build each platform gets.
# `uvtorch-ci render` writes the dependencies, sources and indexes from it.
[tool.uvtorch]
torch = "2.9.1"
packages = ["torchvision", "torchaudio"]
python = ["3.11", "3.12"]

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu130"
runner = "gpu-box"

[[tool.uvtorch.targets]]
platform = "windows-x86_64"
backend = "cu126"
"""
DEFAULT_SPEC_291 = """\
[tool.uvtorch]
torch = "2.9.1"

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu130"

[[tool.uvtorch.targets]]
platform = "macos-arm64"
backend = "mps"

[[tool.uvtorch.targets]]
platform = "linux-aarch64"
backend = "cpu"

[[tool.uvtorch.targets]]
platform = "windows-x86_64"
backend = "cu130"
"""


# -- pure: answers -> spec text ------------------------------------------------------------


def test_spec_text_is_the_expected_toml() -> None:
    assert spec_text(FULL_ANSWERS) == FULL_SPEC
    assert tomllib.loads(FULL_SPEC) == {"tool": {"uvtorch": spec_table(FULL_ANSWERS)}}


def test_seed_answers_give_the_seed_spec() -> None:
    seed = tomllib.loads((SEED / "pyproject.toml").read_text())["tool"]["uvtorch"]
    del seed["repository-root"]  # the example's own: it sits inside this repository
    assert tomllib.loads(spec_text(SEED_ANSWERS))["tool"]["uvtorch"] == seed
    assert spec_table(SEED_ANSWERS) == seed


def test_spec_text_escapes_values() -> None:
    odd = Answers('>=2.5,<2.6 "x"', (TargetChoice("linux-x86_64", "cpu"),))
    assert tomllib.loads(spec_text(odd))["tool"]["uvtorch"]["torch"] == '>=2.5,<2.6 "x"'


def test_defaults_are_the_newest_torch_and_four_platforms() -> None:
    assert default_torch(TABLE) == TABLE.newest().torch == "2.15.0"
    answers = gather_answers(torch=None, targets=(), packages=(), python=(), table=TABLE, ask=None)
    assert answers == Answers(
        "2.15.0",
        (
            TargetChoice("linux-x86_64", "cu132"),
            TargetChoice("macos-arm64", "mps"),
            TargetChoice("linux-aarch64", "cpu"),
            TargetChoice("windows-x86_64", "cu132"),
        ),
    )


@pytest.mark.parametrize(
    ("torch", "linux", "windows"),
    [
        ("2.9.1", "cu130", "cu130"),
        ("2.5.0", "cu124", "cu124"),
        ("2.0.0", "cu118", "cu118"),
        (">=2.5,<2.8", "cu128", "cu128"),  # the newest release the range admits
        ("9.9", "cu132", "cu132"),  # unknown: the spec reader reports it later
    ],
)
def test_default_targets_take_the_newest_cuda(torch: str, linux: str, windows: str) -> None:
    targets = default_targets(torch, TABLE)
    assert [t.option for t in targets] == [
        f"linux-x86_64:{linux}",
        "macos-arm64:mps",
        "linux-aarch64:cpu",
        f"windows-x86_64:{windows}",
    ]


def test_default_spec_for_a_torch_version() -> None:
    answers = gather_answers(
        torch="2.9.1", targets=(), packages=(), python=(), table=TABLE, ask=None
    )
    assert spec_text(answers).split("\n", 2)[2] == DEFAULT_SPEC_291


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux-x86_64:cu126", TargetChoice("linux-x86_64", "cu126")),
        (" macos-arm64 : mps ", TargetChoice("macos-arm64", "mps")),
        ("linux-x86_64:rocm6.2:gpu-runner", TargetChoice("linux-x86_64", "rocm6.2", "gpu-runner")),
    ],
)
def test_parse_target(text: str, expected: TargetChoice) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize("text", ["linux-x86_64", "linux-x86_64:", ":cpu", "a:b:c:d", ""])
def test_parse_target_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError, match="is not platform:backend"):
        parse_target(text)


def test_malformed_target_flag_is_a_spec_error_naming_it() -> None:
    with pytest.raises(SpecError) as caught:
        gather_answers(
            torch=None, targets=("linux-x86_64",), packages=(), python=(), table=TABLE, ask=None
        )
    assert str(caught.value).startswith("--target linux-x86_64: 'linux-x86_64' is not")


class FakeTerminal:
    """An `ask` that answers from a list, runs the check like click's value_proc, and
    records every question and every rejection."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.questions: list[tuple[str, str]] = []
        self.rejected: list[str] = []

    def __call__(self, question: str, default: str, check: Callable[[str], object]) -> str:
        self.questions.append((question, default))
        while True:
            reply = self.replies.pop(0) or default
            try:
                check(reply)
            except ValueError as error:
                self.rejected.append(str(error))
                continue
            return reply


def test_every_missing_flag_is_asked_for_and_bad_answers_asked_again() -> None:
    ask = FakeTerminal(
        "2.9.9",  # not a release: asked again
        "2.9.1",
        "linux-x86_64:cu999",  # not published: asked again
        "linux-x86_64",  # malformed: asked again
        "linux-x86_64:cu126, macos-arm64:mps",
        "torchtext",  # not a companion: asked again
        "torchvision",
        "3.8",  # no wheels: asked again
        "3.12 3.11",
    )
    answers = gather_answers(torch=None, targets=(), packages=(), python=(), table=TABLE, ask=ask)
    assert answers == Answers(
        "2.9.1",
        (TargetChoice("linux-x86_64", "cu126"), TargetChoice("macos-arm64", "mps")),
        ("torchvision",),
        ("3.12", "3.11"),
    )
    assert [q for q, _ in ask.questions] == [
        "torch version (or a specifier)",
        "Targets (platform:backend[:runner], comma-separated)",
        "Packages that follow torch's build (torchvision, torchaudio, xformers, torchao, "
        "torchcodec, fbgemm-gpu; comma-separated, or none)",
        "Python versions for the CI jobs (comma-separated, or auto)",
    ]
    assert ask.questions[0][1] == "2.15.0"
    assert ask.questions[1][1] == (
        "linux-x86_64:cu130, macos-arm64:mps, linux-aarch64:cpu, windows-x86_64:cu130"
    )
    assert ask.rejected[0].startswith('2.9.9: no torch release in the table matches "2.9.9"')
    assert ask.rejected[1].startswith(
        "linux-x86_64:cu999: torch 2.9.1 does not publish cu999 for linux-x86_64"
    )
    assert "is not platform:backend" in ask.rejected[2]
    assert 'unknown package "torchtext"' in ask.rejected[3]
    assert ask.rejected[4].startswith("3.8: torch 2.9.1 has no wheels for Python 3.8")


def test_accepting_every_default_gives_the_non_interactive_answers() -> None:
    ask = FakeTerminal("", "", "", "")
    asked = gather_answers(torch=None, targets=(), packages=(), python=(), table=TABLE, ask=ask)
    assert asked == gather_answers(
        torch=None, targets=(), packages=(), python=(), table=TABLE, ask=None
    )


def test_flags_given_are_not_asked_for() -> None:
    ask = FakeTerminal("3.12")
    answers = gather_answers(
        torch="2.5.0",
        targets=("linux-x86_64:cpu",),
        packages=("torchvision",),
        python=(),
        table=TABLE,
        ask=ask,
    )
    assert [q for q, _ in ask.questions] == [
        "Python versions for the CI jobs (comma-separated, or auto)"
    ]
    assert answers.python == ("3.12",)


def test_a_torch_flag_the_table_rules_out_fails_before_any_question() -> None:
    ask = FakeTerminal()
    with pytest.raises(SpecError, match=r'no torch release in the table matches "9\.9"') as caught:
        gather_answers(torch="9.9", targets=(), packages=(), python=(), table=TABLE, ask=ask)
    assert caught.value.where == "--torch 9.9"
    assert ask.questions == []


def test_python_answer_checked_against_the_projects_requires_python() -> None:
    ask = FakeTerminal("3.10", "3.12")
    answers = gather_answers(
        torch="2.9.1",
        targets=("linux-x86_64:cpu",),
        packages=("none",),
        python=(),
        table=TABLE,
        ask=ask,
        requires_python=">=3.11",
    )
    assert answers.python == ("3.12",)
    assert "outside the project's requires-python (>=3.11)" in ask.rejected[0]


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("demo", "demo"),
        ("My Project", "my-project"),
        ("foo_bar.baz", "foo-bar-baz"),
        ("--x--", "x"),
        ("!!!", "project"),
        ("test_init0", "test-init0"),
    ],
)
def test_project_name(folder: str, name: str) -> None:
    assert project_name(folder) == name


@pytest.mark.parametrize(
    ("torch", "python", "expected"),
    [
        ("2.9.1", (), ">=3.10"),
        ("2.5.0", (), ">=3.9"),
        (">=2.5,<2.10", (), ">=3.10"),  # every admitted release has wheels for it
        ("2.9.1", ("3.12", "3.11"), ">=3.11"),
        ("2.9.1", ("3.9", "3.10"), ">=3.9"),  # the plan reports 3.9, not requires-python
    ],
)
def test_requires_python(torch: str, python: tuple[str, ...], expected: str) -> None:
    answers = Answers(torch, (TargetChoice("linux-x86_64", "cpu"),), python=python)
    assert requires_python(answers, TABLE) == expected


def test_new_pyproject_is_a_minimal_virtual_project_that_renders() -> None:
    text = new_pyproject("demo", FULL_ANSWERS, TABLE)
    assert text == (
        '[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        "dependencies = []\n\n" + FULL_SPEC
    )
    data = tomllib.loads(text)
    assert "build-system" not in data
    rendered = render_project(ProjectTexts(text, "pyproject.toml"), env={}, table=TABLE)
    again = render_project(
        ProjectTexts(rendered.pyproject.text, "pyproject.toml"), env={}, table=TABLE
    )
    assert again.pyproject.text == rendered.pyproject.text
    assert rendered.pyproject.text.startswith(text.split("\ndependencies")[0])


EXISTING = '[project]\nname = "x"\nversion = "1"\n# end'


@pytest.mark.parametrize(
    ("old", "joint"),
    [
        (EXISTING, EXISTING + "\n\n"),
        (EXISTING + "\n", EXISTING + "\n\n"),
        (EXISTING + "\n\n", EXISTING + "\n\n"),
        (EXISTING + "\n\n\n", EXISTING + "\n\n\n"),
    ],
)
def test_append_spec_keeps_every_byte_and_adds_one_blank_line(old: str, joint: str) -> None:
    assert append_spec(old, SEED_ANSWERS, file="pyproject.toml") == joint + spec_text(SEED_ANSWERS)


def test_append_spec_keeps_crlf_line_endings() -> None:
    old = EXISTING.replace("\n", "\r\n") + "\r\n"
    new = append_spec(old, SEED_ANSWERS, file="pyproject.toml")
    assert new == old + ("\n" + spec_text(SEED_ANSWERS)).replace("\n", "\r\n")


def test_append_spec_refuses_an_existing_spec() -> None:
    old = (SEED / "pyproject.toml").read_text()
    with pytest.raises(SpecError) as caught:
        append_spec(old, SEED_ANSWERS, file="pyproject.toml")
    assert str(caught.value).startswith("pyproject.toml: already has a spec ([tool.uvtorch])")
    assert "uvtorch-ci render" in str(caught.value)


def test_append_spec_refuses_a_tool_table_it_cannot_extend() -> None:
    old = '[project]\nname = "x"\n[tool]\nfoo = 1\n[tool.bar]\n'
    assert "[tool.uvtorch]" in append_spec(old, SEED_ANSWERS, file="p.toml")  # fine: a table
    inline = 'tool = { black = {} }\n[project]\nname = "x"\n'
    with pytest.raises(PyprojectError, match=r"\[tool.uvtorch\] cannot be appended"):
        append_spec(inline, SEED_ANSWERS, file="p.toml")


def test_flag_error_names_the_flag_that_gave_the_key() -> None:
    bad = Answers(
        "2.9.1",
        (TargetChoice("macos-arm64", "mps"), TargetChoice("linux-x86_64", "cu999")),
        python=("3.8",),
    )
    try:
        plan_from_data(
            spec_table(bad), file="pyproject.toml", prefix="tool.uvtorch", env={}, table=TABLE
        )
    except SpecError as error:
        placed = flag_error(error, bad)
    else:
        pytest.fail("the plan accepted Python 3.8 for torch 2.9.1")
    assert placed.where == "--python 3.8"
    assert placed.file is None
    fixed = Answers(bad.torch, bad.targets)
    with pytest.raises(SpecError) as caught:
        plan_from_data(
            spec_table(fixed), file="pyproject.toml", prefix="tool.uvtorch", env={}, table=TABLE
        )
    placed = flag_error(caught.value, fixed)
    assert str(placed).startswith(
        "--target linux-x86_64:cu999: torch 2.9.1 does not publish cu999 for linux-x86_64"
    )
    other = SpecError("x", file="pyproject.toml", where="UVTORCH_INDEX_URL")
    assert flag_error(other, fixed) is other


def test_next_steps() -> None:
    markers = plan_from_data(spec_table(SEED_ANSWERS), file="", prefix="", env={}, table=TABLE)
    assert next_steps(markers, cd=None, locked=False) == ["uv lock", "uv sync", "uvtorch-ci verify"]
    assert next_steps(markers, cd="my dir", locked=True) == ["cd 'my dir'", "uv sync"]
    extras = Answers(
        "2.9.1",
        (
            TargetChoice("linux-x86_64", "cpu"),
            TargetChoice("linux-x86_64", "cu126"),
            TargetChoice("windows-x86_64", "cu126"),
        ),
    )
    plan = plan_from_data(spec_table(extras), file="", prefix="", env={}, table=TABLE)
    assert next_steps(plan, cd=None, locked=True) == [
        "uv sync --extra cpu    # linux-x86_64-cpu",
        "uv sync --extra cu126    # linux-x86_64-cu126, windows-x86_64-cu126",
        "uvtorch-ci sync    # or: the target this machine runs, chosen for you",
    ]


# -- the command, in tmp folders -----------------------------------------------------------


def run_init(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m uvtorch_ci init` with no terminal attached (stdin is /dev/null)."""
    full = {k: v for k, v in os.environ.items() if k not in ("UVTORCH_INDEX_URL", "GITHUB_ACTIONS")}
    return subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", *args],
        cwd=cwd,
        env={**full, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def rendered_by_render(tmp_path: Path, pyproject: str) -> dict[str, bytes | None]:
    """What `uvtorch-ci render` makes of `pyproject` in a folder of its own."""
    other = tmp_path / "by-render"
    other.mkdir()
    (other / "pyproject.toml").write_bytes(pyproject.encode())
    result = run_init("render", cwd=other)
    assert result.returncode == 0, result.stderr
    return snapshot(other)


def test_init_in_an_empty_folder_creates_a_rendered_project(tmp_path: Path) -> None:
    project = tmp_path / "My Demo"
    project.mkdir()
    result = run_init(
        "init", "--torch", "2.9.1", "--package", "torchvision", "--python", "3.12", cwd=project
    )
    assert result.returncode == 0, result.stderr
    answers = Answers(
        "2.9.1", default_targets("2.9.1", TABLE), packages=("torchvision",), python=("3.12",)
    )
    before_render = new_pyproject("my-demo", answers, TABLE)
    assert snapshot(project) == rendered_by_render(tmp_path, before_render)
    data = tomllib.loads((project / "pyproject.toml").read_text())
    assert data["project"]["name"] == "my-demo"
    assert data["project"]["version"] == "0.1.0"
    assert data["project"]["requires-python"] == ">=3.12"
    assert "build-system" not in data
    assert sorted(snapshot(project)) == [
        ".github/uvtorch/smoke.py",
        ".github/workflows/torch.yml",
        "pyproject.toml",
    ]
    assert "pyproject.toml: created" in result.stderr
    assert "linux-x86_64-cu130: torch 2.9.1, torchvision 0.24.1 (local tag +cu130 or none)" in (
        result.stderr
    )
    assert result.stderr.endswith("next:\n  uv lock\n  uv sync\n  uvtorch-ci verify\n")
    check = run_init("render", "--check", cwd=project)
    assert check.returncode == 0, check.stderr


def test_init_creates_the_directory_it_is_given(tmp_path: Path) -> None:
    result = run_init("init", "new/demo", "--torch", "2.5.0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = tomllib.loads((tmp_path / "new" / "demo" / "pyproject.toml").read_text())
    assert data["project"]["name"] == "demo"
    assert data["project"]["requires-python"] == ">=3.9"
    assert "  cd new/demo\n  uv lock\n" in result.stderr


def test_no_terminal_means_no_prompt_and_the_defaults(tmp_path: Path) -> None:
    result = run_init("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "torch version" not in result.stdout + result.stderr
    assert "[" not in result.stdout  # no prompt with a default in brackets
    spec = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["uvtorch"]
    assert spec == spec_table(
        gather_answers(torch=None, targets=(), packages=(), python=(), table=TABLE, ask=None)
    )
    assert spec["torch"] == TABLE.newest().torch


def test_no_terminal_lists_each_default_it_took_and_why(tmp_path: Path) -> None:
    """Nothing chosen silently: the newest torch, each platform's backend with what it asks of
    the machine (CUDA 13 builds: driver 580, no GPU below compute capability 7.5), no
    companions, the Python; each with the flag that chooses otherwise."""
    result = run_init("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    newest = TABLE.newest()
    cuda = max((b for b in newest.backends("linux-x86_64") if b.startswith("cu")), key=_number)
    assert (
        "defaults taken (no terminal to ask; the flags choose otherwise):\n"
        f"  torch {newest.torch}: the newest release in uvtorch-ci's table (--torch VERSION for "
        "another)\n"
    ) in result.stderr
    assert (
        f"  linux-x86_64: {cuda}, the newest CUDA build torch {newest.torch} publishes there; it "
        "needs an NVIDIA driver >= 580 (CUDA 13.x) and drops GPUs below compute capability 7.5 "
        "(Maxwell, Pascal, Volta); --target linux-x86_64:cu126 for an older driver\n"
    ) in result.stderr
    assert "  macos-arm64: mps, the macOS build, with Metal (MPS) built in\n" in result.stderr
    assert "  packages: none (--package torchvision, --package torchaudio to add them)\n" in (
        result.stderr
    )
    assert f"  python: 3.14, the newest Python torch {newest.torch} has wheels for" in (
        result.stderr
    )
    given = run_init(
        "init", "again", "--torch", "2.9.1", "--target", "linux-x86_64:cu128", cwd=tmp_path
    )
    assert given.returncode == 0, given.stderr
    assert "torch 2.9.1: the newest" not in given.stderr
    assert "linux-x86_64: cu128" not in given.stderr  # given, not defaulted


def _number(backend: str) -> int:
    return int(backend[2:])


def test_extras_mode_names_uvtorch_ci_sync(tmp_path: Path) -> None:
    args = ["--torch", "2.9.1", "--target", "linux-x86_64:cpu", "--target", "linux-x86_64:cu128"]
    result = run_init("init", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "  uv sync --extra cpu    # linux-x86_64-cpu\n"
        "  uv sync --extra cu128    # linux-x86_64-cu128\n"
        "  uvtorch-ci sync    # or: the target this machine runs, chosen for you\n"
    ) in result.stderr


def with_terminal(args: list[str], cwd: Path, answers: bytes) -> tuple[int, str]:
    """`python -m uvtorch_ci ARGS` with a terminal attached that types `answers`: the exit
    code and stderr."""
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("UVTORCH_INDEX_URL", "GITHUB_ACTIONS")}
    with subprocess.Popen(
        [sys.executable, "-m", "uvtorch_ci", *args],
        cwd=cwd,
        env={**env, "UVTORCH_CI_CACHE_DIR": "off"},
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        os.close(slave)
        os.write(master, answers)
        _out, err = process.communicate(timeout=120)
    os.close(master)
    return process.returncode, err


def test_a_terminal_gets_the_questions(tmp_path: Path) -> None:
    code, err = with_terminal(
        ["init", "--torch", "2.5.0"],
        tmp_path,
        b"linux-x86_64:cu124, macos-arm64:mps\ntorchvision\n\n",
    )
    assert code == 0, err
    assert "Targets (platform:backend[:runner], comma-separated) [" in err
    assert "torch version" not in err  # --torch was given
    spec = tomllib.loads((tmp_path / "pyproject.toml").read_text())["tool"]["uvtorch"]
    assert spec == {
        "torch": "2.5.0",
        "packages": ["torchvision"],
        "targets": [
            {"platform": "linux-x86_64", "backend": "cu124"},
            {"platform": "macos-arm64", "backend": "mps"},
        ],
    }


EXISTING_PROJECT = """\
# A project someone wrote by hand.
[project]
name = "existing"
version = "2.3.4"
requires-python = ">=3.11"
dependencies = [
  "numpy>=2",   # kept
]

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.ruff]
line-length = 99
"""
APPENDED = """
# The one place that says which PyTorch build each platform gets.
# `uvtorch-ci render` writes the dependencies, sources and indexes from it.
[tool.uvtorch]
torch = "2.9.1"

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu128"

[[tool.uvtorch.targets]]
platform = "macos-arm64"
backend = "mps"
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_existing_project_gets_the_spec_appended_and_rendered(tmp_path: Path, newline: str) -> None:
    project = tmp_path / "existing"
    project.mkdir()
    original = EXISTING_PROJECT.replace("\n", newline).encode()
    (project / "pyproject.toml").write_bytes(original)
    (project / "README.md").write_text("hello\n")
    result = run_init(
        "init", "--torch", "2.9.1", "--target", "linux-x86_64:cu128",
        "--target", "macos-arm64:mps", cwd=project,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pyproject.toml: spec added, rendered" in result.stderr
    expected = rendered_by_render(tmp_path, (EXISTING_PROJECT + APPENDED).replace("\n", newline))
    assert snapshot(project) == {**expected, "README.md": b"hello\n"}
    text = (project / "pyproject.toml").read_bytes()
    # every byte up to the torch requirement render adds is the user's, the spec follows
    assert text.startswith(original.split(b"  # kept")[0])
    assert APPENDED.replace("\n", newline).encode() in text
    assert run_init("render", "--check", cwd=project).returncode == 0


def test_a_project_with_a_spec_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "seed"
    project.mkdir()
    (project / "pyproject.toml").write_bytes((SEED / "pyproject.toml").read_bytes())
    before = snapshot(project)
    result = run_init("init", "--torch", "2.9.1", cwd=project)
    assert result.returncode == 2
    assert result.stderr.startswith("error: pyproject.toml: already has a spec ([tool.uvtorch])")
    assert "`uvtorch-ci render`" in result.stderr
    assert snapshot(project) == before


def test_a_standalone_spec_is_refused(tmp_path: Path) -> None:
    (tmp_path / "uvtorch.toml").write_text('torch = "2.5.0"\n')
    before = snapshot(tmp_path)
    result = run_init("init", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: uvtorch.toml: already has a spec (uvtorch.toml)")
    assert snapshot(tmp_path) == before


BAD_FLAGS = [
    (
        ("--torch", "2.9.1", "--target", "linux-x86_64:cu999"),
        "error: --target linux-x86_64:cu999: torch 2.9.1 does not publish cu999 for linux-x86_64; "
        "it publishes: cpu, cu126, cu128, cu130, rocm6.3, rocm6.4, xpu",
    ),
    (
        ("--target", "linux-x86_64:mps"),
        "error: --target linux-x86_64:mps: mps exists only on macOS, not on linux-x86_64",
    ),
    (("--target", "linux-x86_64"), "error: --target linux-x86_64: 'linux-x86_64' is not"),
    (("--target", "linux-x86:cpu"), 'unknown platform "linux-x86" (did you mean "linux-x86_64"?)'),
    (("--torch", "2.9.9"), 'error: --torch 2.9.9: no torch release in the table matches "2.9.9"'),
    (("--package", "torchtext"), 'error: --package torchtext: unknown package "torchtext"'),
    (("--torch", "2.9.1", "--python", "3.9"), "error: --python 3.9: "),  # no wheels / outside
    (("--lock", "--torch", "2.5.0", "--target", "linux-x86_64:cu128"), "does not publish cu128"),
]


@pytest.mark.parametrize(("flags", "expected"), BAD_FLAGS)
def test_bad_flags_exit_2_and_change_nothing(
    tmp_path: Path, flags: tuple[str, ...], expected: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_init("init", *flags, cwd=empty)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert list(empty.iterdir()) == []

    missing = run_init("init", "not-yet", *flags, cwd=empty)
    assert missing.returncode == 2
    assert not (empty / "not-yet").exists()

    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "pyproject.toml").write_text(EXISTING_PROJECT)
    before = snapshot(existing)
    result = run_init("init", *flags, cwd=existing)
    assert result.returncode == 2
    assert expected in result.stderr
    assert snapshot(existing) == before


def test_python_outside_the_projects_requires_python(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(EXISTING_PROJECT)
    before = snapshot(tmp_path)
    result = run_init("init", "--torch", "2.9.1", "--python", "3.10", cwd=tmp_path)
    assert result.returncode == 2
    assert "error: --python 3.10: Python 3.10 is outside the project's requires-python" in (
        result.stderr
    )
    assert snapshot(tmp_path) == before


def test_invalid_existing_pyproject_exits_2(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\n")
    result = run_init("init", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: pyproject.toml: line 1")
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 99\n")
    before = snapshot(tmp_path)
    result = run_init("init", cwd=tmp_path)
    assert result.returncode == 2
    assert "[project]" in result.stderr
    assert snapshot(tmp_path) == before


def test_a_workflow_of_the_users_own_is_not_overwritten(tmp_path: Path) -> None:
    workflow = tmp_path / ".github" / "workflows" / "torch.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: mine\n")
    before = snapshot(tmp_path)
    result = run_init("init", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "error: .github/workflows/torch.yml: already exists, and init does not overwrite it"
    )
    assert snapshot(tmp_path) == before


def test_project_name_flag(tmp_path: Path) -> None:
    folder = tmp_path / "torch"
    folder.mkdir()
    result = run_init("init", cwd=folder)
    assert result.returncode == 2
    assert 'error: --name: the project cannot be named "torch"' in result.stderr
    assert list(folder.iterdir()) == []
    result = run_init("init", "--name", "torch-demo", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert tomllib.loads((folder / "pyproject.toml").read_text())["project"]["name"] == "torch-demo"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "pyproject.toml").write_text(EXISTING_PROJECT)
    result = run_init("init", "other", "--name", "x", cwd=tmp_path)
    assert result.returncode == 2
    assert "--name: other/pyproject.toml already names the project" in result.stderr


def test_lock_without_uv_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    # No uv on PATH, and a `uv` module that cannot be imported shadows the installed package.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "uv.py").write_text("raise ImportError('no uv here')\n")
    project = tmp_path / "p"
    project.mkdir()
    result = run_init(
        "init", "--lock", cwd=project, env={"PATH": str(tmp_path), "PYTHONPATH": str(shadow)}
    )
    assert result.returncode == 2
    assert "error: --lock: uv is not installed" in result.stderr
    assert list(project.iterdir()) == []


def test_extras_mode_prints_the_sync_extras(tmp_path: Path) -> None:
    result = run_init(
        "init", "--torch", "2.9.1", "--target", "linux-x86_64:cpu",
        "--target", "linux-x86_64:cu126", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "  uv sync --extra cpu    # linux-x86_64-cpu\n" in result.stderr
    assert "  uv sync --extra cu126    # linux-x86_64-cu126\n" in result.stderr
    data = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    assert sorted(data["project"]["optional-dependencies"]) == ["cpu", "cu126"]


def test_help_lists_init() -> None:
    result = run_init("--help", cwd=ROOT)
    assert "init" in result.stdout
    result = run_init("init", "--help", cwd=ROOT)
    assert result.returncode == 0
    assert "--target PLATFORM:BACKEND[:RUNNER]" in result.stdout


def test_a_torch_answer_gets_the_spec_readers_message() -> None:
    ask = FakeTerminal("2.5.0+cu124", ">=2.5,<2.6", "linux-x86_64:cpu", "", "")
    answers = gather_answers(torch=None, targets=(), packages=(), python=(), table=TABLE, ask=ask)
    assert answers.torch == ">=2.5,<2.6"
    assert ask.rejected == [
        '2.5.0+cu124: "2.5.0+cu124" carries a local tag; the tag differs per platform and '
        'uvtorch-ci picks it (write the plain version, e.g. "2.5.0")'
    ]
