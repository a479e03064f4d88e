"""What reaches the terminal and the CI log (commands/terminal.py): no line of it is a command
GitHub's runner acts on, checked against the runner's own reading of a step's output
(tests/workflow_commands.py), by rule, by property and through the commands themselves."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lock_texts import SEED_LOCK, SEED_PYPROJECT, text
from workflow_commands import commands_in, parse_legacy, parse_v2

from uvtorch_ci.commands.terminal import annotation, safe, safe_json

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ROOT / "src" / "uvtorch_ci" / "commands"

FORGED = [
    "::warning file=x.py::forged",
    "  ::error::forged",
    "\t::add-mask::secret",
    "\u00a0\u3000::set-output name=a::b",
    "x##[warning title=forged]y",
    "##[stop-commands]token",
    "##[ERROR]case does not matter",
    "#\u00ad#[warning]a soft hyphen is ignored by the collation",
    "#\ufe0f#[warning]so is a variation selector",
    "#\u034f#[group]and a combining grapheme joiner",
    "\u200b::warning::a zero-width space before the colons",
    ":\u2060:warning::a word joiner between them",
    "ok\r::warning::a lone CR ends the line for the runner",
    "ok\r\n::warning::and so does CRLF",
]


@pytest.mark.parametrize("line", FORGED)
def test_the_model_reads_each_forgery_and_safe_text_holds_none(line: str) -> None:
    """Each line is a command to the runner as it stands (the model is not blind to it), and
    none once made safe."""
    assert commands_in(line), line
    assert commands_in(safe(line)) == []


def test_the_models_rules_are_the_runners() -> None:
    assert parse_v2("::warning file=a::data") == "warning"
    assert parse_v2("::warning file=a") is None  # no second ::
    assert parse_v2("::nonsense::data") is None  # not a registered command
    assert parse_v2("x ::warning::data") is None  # only at the start
    assert parse_legacy("text ##[warning]data") == "warning"
    assert parse_legacy("##[warning data") is None  # no ]
    assert parse_legacy("##[nonsense]data") is None
    assert parse_legacy("# #[warning]data") is None


def test_safe_text_stays_readable() -> None:
    assert safe("x##[warning title=forged]y") == "x##\\[warning title=forged]y"
    assert safe("  ::error::x") == "  \\::error::x"
    assert safe("a::b ##c [d]") == "a::b ##c [d]"  # nothing the runner reads: as it was
    assert safe("#\ufe0f#[x") == "#\\ufe0f#[x"
    assert safe("caf\u00e9 \u00a0tab\there") == "caf\u00e9 \u00a0tab\there"


_PIECES = st.sampled_from(
    [
        "::",
        ":",
        "##[",
        "#",
        "[",
        "]",
        "warning",
        "error",
        "stop-commands",
        "add-mask",
        " ",
        "\t",
        "\u00a0",
        "\r",
        "\n",
        "\r\n",
        "\u00ad",
        "\ufe0f",
        "\u200b",
        "\u034f",
        "\x1b",
        "=",
        ",",
        "%",
    ]
)
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=3)), max_size=25).map("".join)


@settings(max_examples=2000, derandomize=True, deadline=None)
@given(_TEXT)
def test_no_safe_text_is_a_command_to_the_runner(value: str) -> None:
    assert commands_in(safe(value)) == []


@settings(max_examples=1000, derandomize=True, deadline=None)
@given(_TEXT, st.one_of(st.none(), _TEXT))
def test_an_annotation_is_one_error_command_and_nothing_else(value: str, file: str | None) -> None:
    assert commands_in(annotation(value, file=file, line=3)) == ["error"]


@settings(max_examples=500, derandomize=True, deadline=None)
@given(st.recursive(st.one_of(st.none(), st.booleans(), _TEXT), st.lists, max_leaves=10))
def test_json_made_safe_is_the_same_document_and_no_command(value: object) -> None:
    document = json.dumps({"value": value}, indent=2)
    shown = safe_json(document)
    assert json.loads(shown) == json.loads(document)
    assert commands_in(shown) == []


def _echoed(call: ast.Call) -> ast.expr | None:
    """The text a click.echo(...) or print(...) call prints."""
    name = ast.unparse(call.func)
    if name in ("click.echo", "print") and call.args:
        return call.args[0]
    return None


def _escaped(node: ast.expr) -> bool:
    """Whether printing `node` cannot print a value unescaped: a constant, or what
    safe, safe_json or annotation made of it."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.IfExp):
        return _escaped(node.body) and _escaped(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _escaped(node.left) and _escaped(node.right)
    if isinstance(node, ast.Call):
        return ast.unparse(node.func) in ("safe", "safe_json", "annotation")
    return False


# Prints that take no value from outside, each with the reason.
_UNESCAPED = {
    ("entry.py", "print(f'uvtorch-ci, version {__version__}')"),  # the tool's own version
    # the fast check prints a name only when it is printable ASCII with nothing to escape
    (
        "fastcheck.py",
        "print(f'{label} and the generated files: up to date (unchanged)', file=sys.stderr)",
    ),
    ("verify.py", "click.echo(line)"),  # each line is an annotation(...)
}


def test_every_print_of_the_command_layer_goes_through_safe() -> None:
    """One place escapes and redacts what is printed: a print that bypasses it is named."""
    bypassing = []
    for path in sorted(COMMANDS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or (printed := _echoed(node)) is None:
                continue
            if not _escaped(printed) and (path.name, ast.unparse(node)) not in _UNESCAPED:
                bypassing.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert bypassing == []


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("UVTORCH_", "GITHUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", *args],
        cwd=cwd,
        env={**clean, "UVTORCH_CI_CACHE_DIR": "off", "GITHUB_ACTIONS": "true", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_forged_command_in_the_spec_reaches_the_log_escaped(tmp_path: Path) -> None:
    """The issue's case: a package name holding `##[warning ...]`, under GitHub Actions."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        text(SEED_PYPROJECT).replace(
            '"torchvision"]', '"torchvision", "x##[warning title=forged]y"]', 1
        )
    )
    result = _run(["render", "--check"], project)
    assert result.returncode == 2
    assert "x##\\[warning title=forged]y" in result.stderr
    assert commands_in(result.stdout) == []
    assert commands_in(result.stderr) == ["error"]  # the one annotation of the error


@pytest.mark.parametrize("command", [["detect"], ["sync", "--dry-run"]])
def test_a_forged_command_in_the_platform_override_reaches_the_log_escaped(
    tmp_path: Path, command: list[str]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(text(SEED_PYPROJECT))
    result = _run(command, project, UVTORCH_PLATFORM="linux##[stop-commands]x")
    assert result.returncode == 2
    assert "##[" not in result.stdout + result.stderr
    assert commands_in(result.stdout) == []
    assert commands_in(result.stderr) == ["error"]


def test_a_forged_command_in_a_locked_version_reaches_the_log_escaped(tmp_path: Path) -> None:
    """A hand-edited uv.lock: the version is refused (uv would not write it), and the message
    quoting it holds no command but the error's own annotation."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(text(SEED_PYPROJECT))
    forged = text(SEED_LOCK).replace('"2.5.0+cu124"', '"2.5.0+cu124##[warning title=x]forged"')
    (project / "uv.lock").write_text(forged)
    for command in (["verify"], ["explain", "--json"]):
        result = _run(command, project)
        assert result.returncode == 2, result.stderr
        assert "is not a version (PEP 440)" in result.stderr
        assert commands_in(result.stdout + result.stderr) == ["error"], command
