"""Pure: what `init` writes from its answers: the spec text, a new virtual pyproject.toml or an
existing one with the spec appended, and the commands to run next."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import PyprojectError, SpecError
from ..plan.planner import Plan
from ..pyproject.data import parse_toml
from ..releases.table import ReleaseTable
from ..templating import toml_string
from .answers import Answers, matching_releases, spec_table

NEW_VERSION = "0.1.0"
SPEC_COMMENT = (
    "# The one place that says which PyTorch build each platform gets.\n"
    "# `uvtorch-ci render` writes the dependencies, sources and indexes from it.\n"
)


def spec_text(answers: Answers) -> str:
    """The [tool.uvtorch] table (and its [[targets]]) as TOML text, with a comment on top:
    the spec the reader checks (answers.spec_table), key for key in its order."""
    table = spec_table(answers)
    targets = table.pop("targets")
    lines = [SPEC_COMMENT + "[tool.uvtorch]", *_toml_lines(table)]
    for target in targets:
        lines += ["", "[[tool.uvtorch.targets]]", *_toml_lines(target)]
    return "\n".join(lines) + "\n"


def _toml_lines(table: dict[str, Any]) -> list[str]:
    """`key = value` for each string, list of strings or table of strings (inline)."""
    return [f"{key} = {_toml_value(value)}" for key, value in table.items()]


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return _toml_list(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_string(v)}" for k, v in value.items()) + " }"
    return toml_string(value)


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(toml_string(item) for item in items) + "]"


def project_name(folder: str) -> str:
    """A valid, normalized project name from a folder name ("My Project" -> "my-project")."""
    name = canonicalize_name(re.sub(r"[^A-Za-z0-9._-]+", "-", folder).strip("._-"))
    return name or "project"


def requires_python(answers: Answers, table: ReleaseTable) -> str:
    """A requires-python every Python of the spec satisfies: the lowest Python named, else
    the lowest one every release the torch answer admits publishes wheels for."""
    if answers.python:
        lowest = min(answers.python, key=_python_key)
    else:
        releases = matching_releases(answers.torch, table) or (table.newest(),)
        lowest = max((min(r.python, key=_python_key) for r in releases), key=_python_key)
    return f">={lowest}"


def _python_key(version: str) -> tuple[int, ...]:
    try:
        return Version(version).release
    except InvalidVersion:
        return (0,)


def new_pyproject(name: str, answers: Answers, table: ReleaseTable) -> str:
    """A minimal virtual project (no build-system) holding the spec, ready for `render`."""
    return (
        "[project]\n"
        f"name = {toml_string(name)}\n"
        f'version = "{NEW_VERSION}"\n'
        f"requires-python = {toml_string(requires_python(answers, table))}\n"
        "dependencies = []\n"
        "\n" + spec_text(answers)
    )


def has_spec(pyproject: dict[str, Any]) -> bool:
    tool = pyproject.get("tool")
    return isinstance(tool, dict) and "uvtorch" in tool


def existing_spec(file: str, where: str) -> SpecError:
    """The refusal when the project already has a spec: `render` is the command then."""
    return SpecError(
        f"already has a spec ({where})",
        file=file,
        hint="init only bootstraps a spec; edit that one and run `uvtorch-ci render`",
    )


def append_spec(old_text: str, answers: Answers, *, file: str) -> str:
    """`old_text` with the spec appended after its last byte, one blank line between, in the
    file's own line endings. PyprojectError when the file already has a spec, or defines
    `tool` so that a [tool.uvtorch] table cannot be added."""
    if has_spec(parse_toml(old_text, file)):
        raise existing_spec(file, "[tool.uvtorch]")
    text = spec_text(answers)
    if old_text:
        text = ("\n" if old_text.endswith("\n") else "\n\n") + text
        if old_text.endswith("\n\n"):
            text = text[1:]
    crlf = "\r\n" in old_text and not re.search(r"(?<!\r)\n", old_text)
    new_text = old_text + (text.replace("\n", "\r\n") if crlf else text)
    try:
        parse_toml(new_text, file)
    except PyprojectError as error:
        raise PyprojectError(
            f"[tool.uvtorch] cannot be appended ({error.message}): "
            "the file defines `tool` in a way a new table cannot extend",
            file=file,
            hint="add the spec by hand, then run `uvtorch-ci render`",
        ) from None
    return new_text


def next_steps(plan: Plan, *, cd: str | None, locked: bool) -> list[str]:
    """The commands to run after init: lock (unless done), sync (with each target's extra or
    group in extras and groups mode, and `uvtorch-ci sync`, which picks the one this machine
    runs), verify."""
    steps = [f"cd {shlex.quote(cd)}"] if cd else []
    if not locked:
        steps.append("uv lock")
    if plan.mode in ("extras", "groups"):
        names: dict[str, list[str]] = {}
        for job in plan.jobs:
            args = " ".join(job.sync_args)
            targets = names.setdefault(f"uv sync {args}".strip(), [])
            if job.build.target.name not in targets:
                targets.append(job.build.target.name)
        steps += [f"{sync}    # {', '.join(n)}" for sync, n in names.items()]
        steps.append("uvtorch-ci sync    # or: the target this machine runs, chosen for you")
    else:
        steps.append("uv sync")
    if not locked:
        steps.append("uvtorch-ci verify")
    return steps
