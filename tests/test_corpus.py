"""Real pyproject.toml files from public projects: nothing outside the tool's entries changes."""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from shared import needs_shared, shared_files

from uvtorch_ci.errors import PyprojectError
from uvtorch_ci.project import ProjectTexts, render_project
from uvtorch_ci.pyproject.data import FAMILY, is_pytorch_index
from uvtorch_ci.releases.table import load_table

FILES = shared_files("corpus", "pyproject", pattern="*.toml")
BROKEN = shared_files("corpus", "pyproject-broken", pattern="*.toml")
needs_corpus = needs_shared("corpus", "pyproject")
BASE = "https://download.pytorch.org/whl"

SPEC = """\
torch = "2.9.1"
packages = ["torchvision", "torchaudio"]

[[targets]]
platform = "linux-x86_64"
backend = "cu128"

[[targets]]
platform = "macos-arm64"
backend = "mps"

[[targets]]
platform = "linux-aarch64"
backend = "cpu"
"""

FAMILY_WORD = re.compile(r"\b(torch|torchvision|torchaudio|pytorch)\b|/whl/", re.IGNORECASE)
# Keys whose whole value the tool owns (or empties): the family's sources, the extras named
# after a backend, and [tool.uv] conflicts / required-environments.
OWNED_KEY = re.compile(
    r"^\s*\"?(torch|torchvision|torchaudio|required-environments|conflicts|"
    r"cpu|mps|xpu|cu[0-9]{3}|rocm[0-9]+([-.][0-9]+)*)\"?\s*="
)
ADDED_SHAPES = re.compile(
    r"^\s*($|\]|\],|\[|explicit = true|\[\[tool\.uv\.index\]\]|\[tool\.uv\.sources\]|"
    r"\[tool\.uv\]|\[project\.optional-dependencies\]|dependencies = \[|"
    r"required-environments = \[|conflicts = \[|\{ extra = \"[a-z0-9-]+\" \},|"
    r"\"sys_platform == '[a-z0-9]+' and platform_machine == '[A-Za-z0-9_]+'\",|"
    r"(cpu|xpu|cu[0-9]{3}|rocm[0-9]+(-[0-9]+)+) = \[)"
)


LINUX_ONLY = SPEC.split('[[targets]]\nplatform = "macos-arm64"')[0]


def render(text: str, spec: str = SPEC) -> tuple[str, tuple[str, ...]]:
    rendered = render_project(
        ProjectTexts(text, "pyproject.toml", spec, "uvtorch.toml"),
        env={},
        table=load_table(),
        check_environments=True,
    )
    return rendered.pyproject.text, rendered.pyproject.notes


# For a project whose requires-python admits Python 3.8 or 3.9, which torch 2.9.1 has no
# wheels for (`uv lock` would fail): a release that has them.
OLD_PYTHON_SPEC = SPEC.replace('torch = "2.9.1"', 'torch = "2.4.1"').replace("cu128", "cu124")


def render_allowed(text: str) -> tuple[str, str]:
    """Render with the full spec; a project whose `environments` shut macOS out must be
    refused for it, and is then rendered with the Linux targets only. A project whose
    requires-python admits a Python torch 2.9.1 lacks must be refused, and is rendered with
    an older torch."""
    requires = tomllib.loads(text).get("project", {}).get("requires-python", "")
    if requires and SpecifierSet(requires).contains("3.9.0"):
        with pytest.raises(PyprojectError, match=r"project.requires-python: .* admits Python"):
            render(text)
        return render(text, OLD_PYTHON_SPEC)[0], OLD_PYTHON_SPEC
    environments = tomllib.loads(text).get("tool", {}).get("uv", {}).get("environments")
    if environments is None or any("darwin" in marker for marker in environments):
        return render(text)[0], SPEC
    with pytest.raises(PyprojectError, match=r"\[tool.uv\].environments: shuts out macos-arm64"):
        render(text)
    return render(text, LINUX_ONLY)[0], LINUX_ONLY


def owned_lines(lines: list[str]) -> set[int]:
    """Line numbers of the original that belong to what the tool owns (found independently)."""
    owned: set[int] = set()
    table: list[int] = []
    in_index = False
    index_url = ""
    depth = 0  # open brackets of an owned key's value
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not depth and stripped.startswith("["):
            if in_index and is_pytorch_index(index_url, BASE):
                owned.update(table)
            in_index = stripped.startswith("[[tool.uv.index]]")
            table, index_url = [], ""
            comments = number - 1
            while in_index and comments >= 0 and lines[comments].lstrip().startswith("#"):
                table.append(comments)
                comments -= 1
        if in_index:
            table.append(number)
            match = re.match(r'\s*url\s*=\s*"([^"]*)"', line)
            if match:
                index_url = match.group(1)
        if not depth and OWNED_KEY.match(line):
            depth = _brackets(line)
            owned.add(number)
        elif depth:
            depth += _brackets(line)
            owned.add(number)
        if FAMILY_WORD.search(line) or not stripped:
            owned.add(number)
    if in_index and is_pytorch_index(index_url, BASE):
        owned.update(table)
    return owned


def _brackets(line: str) -> int:
    code = re.sub(r'"[^"]*"|\'[^\']*\'', "", line.split("#", 1)[0] if '"#' not in line else line)
    return code.count("[") - code.count("]")


@needs_corpus
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_corpus_file_keeps_every_byte_it_does_not_own(path: Path) -> None:
    original = path.read_bytes().decode("utf-8")
    new, spec = render_allowed(original)

    # 1. the result parses, and a second render changes nothing
    parsed = tomllib.loads(new)
    again, notes = render(new, spec)
    assert again == new
    assert notes == ()

    # 2. line by line: only owned lines go, only the tool's own lines come
    old_lines = original.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    owned = owned_lines(old_lines)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            for number in range(i1, i2):
                # a line gaining only its missing final newline is not a change of content
                if number == len(old_lines) - 1 and not old_lines[number].endswith("\n"):
                    continue
                if number in owned:
                    continue
                pair = new_lines[j1 + number - i1] if tag == "replace" else ""
                assert same_inline_array(old_lines[number], pair), (
                    f"line {number + 1} changed: {old_lines[number]!r}"
                )
        if tag in ("insert", "replace"):
            for line in new_lines[j1:j2]:
                if line.rstrip("\r\n") and old_lines and line.rstrip("\r\n") == old_lines[-1]:
                    continue
                assert FAMILY_WORD.search(line) or ADDED_SHAPES.match(line), f"added {line!r}"

    # 3. semantically: everything outside the owned entries is equal
    assert _strip(original) == _strip(new)
    assert parsed["project"].get("dependencies")


def same_inline_array(old: str, new: str) -> bool:
    """A one-line requirement array that only gained or lost torch-family items."""
    match = re.match(r"\s*([A-Za-z0-9_.-]+)\s*=\s*\[.*\]", old)
    if not match:
        return False
    try:
        before = tomllib.loads(old)[match.group(1)]
        after = tomllib.loads(new)[match.group(1)]
    except (tomllib.TOMLDecodeError, KeyError):
        return False
    return _non_family(before) == _non_family(after)


def _non_family(requirements: list[str]) -> list[str]:
    return [r for r in requirements if not re.match(r"(torch|torchvision|torchaudio)\b", r)]


def _strip(text: str) -> dict[str, Any]:
    data = tomllib.loads(text)
    project = data.get("project", {})
    if "dependencies" in project:
        project["dependencies"] = _non_family(project["dependencies"])
    uv = data.get("tool", {}).get("uv", {})
    urls = {i.get("name"): i.get("url", "").rstrip("/") for i in uv.get("index", [])}
    sources = uv.get("sources", {})
    for key in list(sources):
        if key in FAMILY:
            del sources[key]
            continue
        for entry in sources[key] if isinstance(sources[key], list) else [sources[key]]:
            if isinstance(entry, dict) and "index" in entry:
                entry["index"] = urls.get(entry["index"], entry["index"])
    if "sources" in uv and not sources:
        del uv["sources"]
    uv.pop("required-environments", None)
    backend = re.compile(r"^(cpu|mps|xpu|cu[0-9]{3}|rocm[0-9]+(-[0-9]+)*)$")
    if "conflicts" in uv:
        uv["conflicts"] = [
            group
            for group in uv["conflicts"]
            if not all(set(i) == {"extra"} and backend.match(i["extra"]) for i in group)
        ]
        if not uv["conflicts"]:
            del uv["conflicts"]
    extras = project.get("optional-dependencies", {})
    for extra in list(extras):
        extras[extra] = _non_family(extras[extra])
        if not extras[extra] and backend.match(extra):
            del extras[extra]
    if "index" in uv:
        uv["index"] = [i for i in uv["index"] if not is_pytorch_index(i.get("url", ""), BASE)]
        if not uv["index"]:
            del uv["index"]
    return data


@needs_shared("corpus", "pyproject-broken")
@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_corpus_file_is_a_clean_error(path: Path) -> None:
    with pytest.raises(PyprojectError) as caught:
        render(path.read_bytes().decode("utf-8"))
    message = str(caught.value)
    assert re.match(r"pyproject\.toml: line \d+, column \d+: not valid TOML: ", message), message


@needs_shared("corpus")
def test_corpus_is_present() -> None:
    assert len(FILES) >= 25
    assert len(BROKEN) == 3
