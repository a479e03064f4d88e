"""README.md and the documentation site (docs/) against their one source: action.yml's inputs
and outputs, the click commands, what render writes; the README short, its commands working."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from uvtorch_ci.commands.main import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
GITHUB_PAGE = (DOCS / "github.md").read_text()
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())


def table_rows(heading: str) -> list[list[str]]:
    """The rows of the first Markdown table after the line `heading` of docs/github.md."""
    lines = GITHUB_PAGE.split(f"\n{heading}\n", 1)[1].splitlines()
    rows = []
    for line in lines:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
        elif rows:
            break
    return rows[2:]  # without the header and the separator


def test_action_inputs_table_matches_action_yml() -> None:
    rows = table_rows("Inputs:")
    documented = {row[0].strip("`"): (row[1], row[2]) for row in rows}
    assert list(documented) == list(ACTION["inputs"])
    for name, spec in ACTION["inputs"].items():
        description, default = documented[name]
        assert description == spec["description"], name
        if spec.get("required"):
            assert default == "", name
        else:
            assert default == f'`"{spec["default"]}"`', name


def test_check_action_inputs_table_matches_check_action_yml() -> None:
    check: dict[str, Any] = yaml.safe_load((ROOT / "check" / "action.yml").read_text())
    rows = table_rows(
        "Check-mode inputs (`check/action.yml`, `uses: OWNER/uvtorch-ci/check@<commit>`):"
    )
    assert {row[0].strip("`"): (row[1], row[2]) for row in rows} == {
        name: (spec["description"], f'`"{spec["default"]}"`')
        for name, spec in check["inputs"].items()
    }


def test_action_outputs_table_matches_action_yml() -> None:
    rows = table_rows("Outputs:")
    assert {row[0].strip("`"): row[1] for row in rows} == {
        name: spec["description"] for name, spec in ACTION["outputs"].items()
    }


def commands() -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(cli.commands.items()):
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in sorted(command.commands.items())]
    return found


@pytest.mark.parametrize(("name", "command"), commands(), ids=lambda v: str(v))
def test_every_command_and_option_is_documented(name: str, command: click.Command) -> None:
    top = name.split()[0]
    page = DOCS / "commands" / f"{top}.md"
    assert page.is_file(), f"the docs have no page for `uvtorch-ci {top}`"
    body = page.read_text()
    assert body.startswith(f"# uvtorch-ci {top}\n")
    assert f"uvtorch-ci {name}" in body
    options = [o for p in command.params for o in p.opts if o.startswith("--")]
    if name == "smoke":  # its options belong to the standalone smoke check
        from uvtorch_ci.smoke import build_parser

        options = [o for a in build_parser()._actions for o in a.option_strings if o != "--help"]
        options = [o for o in options if o.startswith("--")]
    for option in options:
        assert re.search(rf"{re.escape(option)}\b", body), f"{name}: {option} undocumented"


def test_readme_commands_run() -> None:
    # The README's tool command, the tool run from this checkout: the example is up to date.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "uvtorch_ci",
            "render",
            "--project",
            "examples/seed",
            "--check",
            "--diff",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "examples/seed/pyproject.toml: up to date" in result.stderr
    assert TEST_COMMAND in README


TEST_COMMAND = "python -m pip install nox && python -m nox -s tests"


def test_the_test_command_is_the_readmes_second_and_what_ci_runs() -> None:
    commands = re.findall(r"```console\n(.*?)\n```", README, re.DOTALL)
    assert commands[-1] == TEST_COMMAND  # after the quick start's, the two commands section's
    assert commands[-2] == "uvx --from . uvtorch-ci render --project examples/seed --check --diff"
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line.strip()]
    assert ci[-1] == TEST_COMMAND, ci[-1]


SHA = "0123456789abcdef0123456789abcdef01234567"


def section(heading: str) -> str:
    """A section of docs/github.md, to its next heading."""
    return GITHUB_PAGE.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def test_the_action_mode_workflow_is_what_render_writes(tmp_path: Path) -> None:
    (spec,) = fenced(section("Action mode: pin this repository"), "toml")
    (shown,) = fenced(section("Action mode: pin this repository"), "yaml")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        "dependencies = []\n\n" + spec.replace("<commit>", SHA)
    )
    env = {k: v for k, v in os.environ.items() if k != "UVTORCH_INDEX_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", "render"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**env, "UVTORCH_CI_CACHE_DIR": "off"},
    )
    assert result.returncode == 0, result.stderr
    written = (tmp_path / ".github" / "workflows" / "torch.yml").read_text()
    header, body = written.split("\n", 3)[:3], written.split("\n", 3)[3]
    assert header[0].startswith("# @generated by uvtorch-ci render")
    assert body == shown.replace("<commit>", SHA)


def test_the_own_workflow_is_clean(tmp_path: Path) -> None:
    import validators

    (shown,) = fenced(section("A workflow of your own on `uvtorch-ci matrix`"), "yaml")
    path = tmp_path / "torch.yml"
    path.write_text(shown.replace("<commit>", SHA))
    assert validators.schema(path, "workflow") == []
    assert validators.actionlint(path) == []
    assert validators.zizmor([path]) == []
    assert validators.zizmor([path], persona="auditor") == []


def test_the_readme_gets_a_newcomer_running_in_under_200_lines() -> None:
    lines = README.splitlines()
    assert len(lines) < 200
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == [
        "## Install",
        "## Quick start",
        "## What CI then checks",
        "## The two commands",
        "## Documentation",
    ]
    assert "uv tool install git+https://github.com/OWNER/uvtorch-ci" in README
    (pyproject,) = fenced(README, "toml")
    assert pyproject.startswith("[project]\n")  # a whole file: render accepts it pasted
    for word in ("performance issue", "met: no", "| met |"):
        assert word not in README


def test_every_docs_link_of_the_readme_names_a_page() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)\)", README)
    assert len(links) >= 15
    for link in links:
        assert (ROOT / link).is_file(), link
    pages = {str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md")} - {"docs/index.md"}
    assert pages <= set(links), "pages the README does not point to"
