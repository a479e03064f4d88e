"""The package's layout: the import contracts hold (and would catch a back-import), every
subpackage says what it takes and gives, and the docs' map (docs/design.md) names every module."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "uvtorch_ci"
DESIGN = (ROOT / "docs" / "design.md").read_text()  # the docs' page on how the code is built


def lint_imports(src: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """import-linter's own command on the package under `src`, with the contracts of `config`."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    lint = Path(sys.executable).with_name("lint-imports")
    command = [str(lint)] if lint.exists() else [sys.executable, "-m", "importlinter.cli"]
    return subprocess.run(
        [*command, str(config), "--no-cache"],
        cwd=src.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    done = lint_imports(ROOT / "src", ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"Contracts: (\d+) kept, 0 broken", done.stdout), done.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # a stage importing the command layer
        ("pyproject/values.py", "from ..commands import files", "Data flows downward"),
        # the merge engine reaching for the lock
        ("pyproject/merge.py", "from ..lock import model", "The merge engine knows"),
        # a lower layer importing a higher one, which is also a cycle
        ("lock/model.py", "from ..verify import verdicts", "No import cycles"),
        # verify loading tomlkit through the merge engine
        ("verify/verdicts.py", "from ..pyproject import merge", "load no tomlkit"),
        # a stage printing
        ("plan/planner.py", "import click", "Only the command layer"),
    ],
)
def test_a_back_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "uvtorch_ci", ignore=shutil.ignore_patterns("__pycache__"))
    target = src / "uvtorch_ci" / module
    text = target.read_text()
    future = "from __future__ import annotations\n"
    assert future in text
    at = text.index(future) + len(future)  # a line before it would not even compile
    target.write_text(f"{text[:at]}{line}  # a deliberate back-import\n{text[at:]}")
    done = lint_imports(src, ROOT / "pyproject.toml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "broken" in done.stdout
    report = done.stdout.split("Broken contracts", 1)[1]
    assert broken in report, report


def subpackages() -> list[Path]:
    return sorted(p.parent for p in PACKAGE.glob("*/__init__.py"))


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))


@pytest.mark.parametrize("package", subpackages(), ids=lambda p: p.name)
def test_every_subpackage_says_what_it_takes_and_gives(package: Path) -> None:
    init = package / "__init__.py"
    tree = ast.parse(init.read_text())
    docstring = ast.get_docstring(tree)
    assert docstring, f"{init} has no docstring"
    assert re.search(r"\bTakes\b", docstring) or "only place" in docstring, docstring
    assert re.search(r"\bgives\b", docstring, re.IGNORECASE), docstring
    # a docstring, nothing else: importing one module of a stage loads no other
    assert [type(node) for node in tree.body] == [ast.Expr], f"{init} does more than document"
    for path in package.glob("*.py"):
        if path.name != "__init__.py":
            assert not path.stem.startswith(f"{package.name}_"), (
                f"{path}: inside {package.name}/ the prefix is dropped"
            )


def how_it_is_built() -> str:
    section = DESIGN
    return section.split("```\n", 1)[1].split("```", 1)[0]


def test_the_docs_map_names_every_module_and_nothing_else() -> None:
    named: set[str] = set()
    folder: list[str] = []
    for line in how_it_is_built().splitlines():
        match = re.match(r"^( *)(\S+)", line)
        if match is None:
            continue
        depth, name = len(match.group(1)) // 2, match.group(2)
        if not line.startswith("  ") and name != "src/uvtorch_ci/":
            continue  # the repository's top level: action.yml, templates/, tests/ ...
        if name == "src/uvtorch_ci/":
            folder = []
            continue
        del folder[depth - 1 :]
        if name.endswith("/"):
            folder.append(name.rstrip("/"))
        elif name.endswith(".py"):
            named.add("/".join([*folder, name]))
    actual = {str(p.relative_to(PACKAGE)) for p in modules()}
    assert sorted(actual - named) == [], "modules missing from the docs' map"
    assert sorted(named - actual) == [], "the docs name modules that do not exist"
    for package in subpackages():
        assert f"  {package.name}/" in how_it_is_built(), f"{package.name}/ missing"
