"""Run a workflow's jobs the way a GitHub runner does, on this machine, for the tests.

Takes a workflow (the YAML render wrote) and runs one job of it, one matrix entry at a time:

- `${{ }}` expressions are evaluated (contexts `matrix`, `inputs`, `steps`, `github`, `env`,
  `runner`; the operators `! == != && ||`; `success()`, `always()`, `failure()`, `join`,
  `fromJSON`, `contains`), in `env:`, `with:`, `working-directory`, `if:` and step names;
- the job's `if:` decides whether it runs at all (a fork's pull request, say); the
  workflow's and the job's `env:` reach every step; the job's `outputs:` reach the jobs that
  need it (`needs.<job>.outputs`), and a matrix given as an expression is evaluated;
- each `run:` step is a file run with `bash --noprofile --norc -eo pipefail FILE` (GitHub's
  bash), in `working-directory` (the step's, else `defaults.run`), with the step's `env:`,
  fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV / GITHUB_PATH files read back after it
  (outputs become `steps.<id>.outputs`; env and path lines reach later steps);
- `actions/checkout` is the workspace as it stands (the test wrote the repository there);
- `astral-sh/setup-uv` is stood in for by what it exports: the real uv binary's folder on
  PATH, UV_PYTHON from `python-version`, and its working directory checked;
- `actions/upload-artifact` is what it would upload (the files under `path`, by `name`);
- a composite action (the reference the test maps to a folder: this repository) runs its own
  steps with GITHUB_ACTION_PATH set to that folder, its inputs from `with:` over the defaults,
  and its `outputs:` handed back as the step's outputs.

A step that fails skips the rest (unless its `if:` says `always()`), as on GitHub.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_TOKEN = re.compile(
    r"\s*(?:('(?:[^']|'')*')|(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_-]*)|(==|!=|&&|\|\||[!().\[\],*]))"
)
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(ValueError):
    """An expression this runner does not understand (a test must then say so, not pass)."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"cannot read {text[position:]!r} in {text!r}")
        string, number, name, operator = match.groups()
        if string is not None:
            tokens.append(("value", string[1:-1].replace("''", "'")))
        elif number is not None:
            tokens.append(("value", float(number) if "." in number else int(number)))
        elif name in ("true", "false", "null"):
            tokens.append(("value", {"true": True, "false": False, "null": None}[name]))
        elif name is not None:
            tokens.append(("name", name))
        else:
            tokens.append(("op", operator))
        position = match.end()
    return tokens


def truthy(value: Any) -> bool:
    return value not in (False, 0, "", None)


def as_text(value: Any) -> str:
    """How GitHub turns a value into a string (env values, inputs, interpolation)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()  # GitHub compares strings ignoring case
    return bool(a == b)


class _Parser:
    def __init__(self, text: str, context: Mapping[str, Any], status: str) -> None:
        self.tokens = _tokens(text)
        self.text = text
        self.context = context
        self.status = status  # "success" or "failure": what success()/failure() answer

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[0] if self.tokens else None

    def take(self, op: str | None = None) -> tuple[str, Any]:
        if not self.tokens or (op is not None and self.tokens[0] != ("op", op)):
            raise ExpressionError(f"expected {op or 'more'} in {self.text!r}")
        return self.tokens.pop(0)

    def parse(self) -> Any:
        value = self.either()
        if self.tokens:
            raise ExpressionError(f"unexpected {self.tokens[0][1]!r} in {self.text!r}")
        return value

    def either(self) -> Any:
        value = self.both()
        while self.peek() == ("op", "||"):
            self.take()
            other = self.both()
            value = value if truthy(value) else other
        return value

    def both(self) -> Any:
        value = self.comparison()
        while self.peek() == ("op", "&&"):
            self.take()
            other = self.comparison()
            value = other if truthy(value) else value
        return value

    def comparison(self) -> Any:
        value = self.unary()
        token = self.peek()
        if token in (("op", "=="), ("op", "!=")):
            self.take()
            other = self.unary()
            same = _equal(value, other)
            return same if token == ("op", "==") else not same
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, value = self.take()
        if kind == "value":
            return value
        if (kind, value) == ("op", "("):
            inner = self.either()
            self.take(")")
            return inner
        if kind != "name":
            raise ExpressionError(f"unexpected {value!r} in {self.text!r}")
        if self.peek() == ("op", "("):
            return self.call(value)
        if value not in self.context:
            raise ExpressionError(f"unknown context {value!r} in {self.text!r}")
        current: Any = self.context[value]
        while self.peek() in (("op", "."), ("op", "[")):
            _, op = self.take()
            if op == ".":
                _, key = self.take()
            else:
                key = self.either()
                self.take("]")
            current = current.get(key) if isinstance(current, dict) else None
        return current

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek() != ("op", ")"):
            args.append(self.either())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        if name == "success":
            return self.status == "success"
        if name == "failure":
            return self.status == "failure"
        if name == "always":
            return True
        if name == "join":
            items = args[0] if isinstance(args[0], list) else [args[0]]
            return (args[1] if len(args) > 1 else ",").join(as_text(x) for x in items)
        if name == "fromJSON":
            return json.loads(args[0])
        if name == "toJSON":
            return json.dumps(args[0])
        if name == "contains":
            haystack, needle = args
            if isinstance(haystack, list):
                return any(_equal(item, needle) for item in haystack)
            return as_text(needle).lower() in as_text(haystack).lower()
        raise ExpressionError(f"unknown function {name}() in {self.text!r}")


def evaluate(expression: str, context: Mapping[str, Any], status: str = "success") -> Any:
    """The value of one expression (the text inside `${{ }}`, or a bare `if:`)."""
    return _Parser(expression, context, status).parse()


def interpolate(value: Any, context: Mapping[str, Any]) -> str:
    """A YAML value with every `${{ }}` in it replaced by its value, as text."""
    if not isinstance(value, str):
        return as_text(value)
    return _EXPRESSION.sub(lambda m: as_text(evaluate(m.group(1), context)), value)


def condition(text: Any, context: Mapping[str, Any], status: str) -> bool:
    """An `if:`: a bare expression or one in `${{ }}`; no `if:` means success()."""
    if text is None:
        return status == "success"
    if isinstance(text, bool):
        return text and status == "success"
    inner = text.strip()
    whole = _EXPRESSION.fullmatch(inner)
    expression = whole.group(1) if whole else inner
    uses_status = re.search(r"\b(always|failure|success|cancelled)\(", expression)
    if not uses_status and status != "success":
        return False
    return truthy(evaluate(expression, context, status))


# --- running ---------------------------------------------------------------------------


@dataclass
class Step:
    """One step as it ran: its name, success / failure / skipped, output and outputs."""

    name: str
    outcome: str
    log: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Job:
    """One job (one matrix entry) as it ran. `conclusion` is success, failure or skipped."""

    job: str
    entry: dict[str, Any]
    conclusion: str
    steps: list[Step]
    summary: str
    artifacts: dict[str, list[Path]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> str:
        return "\n".join(f"--- {s.name} [{s.outcome}]\n{s.log}" for s in self.steps)


@dataclass
class Machine:
    """What a job finds on the runner: the workspace (the checkout), the environment every
    process gets (the test's hermetic uv environment), the folder holding the real uv binary,
    and the composite actions the test serves from local folders, by reference without
    `@REF` (`my-org/uvtorch-ci` -> this repository; `my-org/uvtorch-ci/check` -> its check/)."""

    workspace: Path
    env: dict[str, str]
    uv_dir: Path
    actions: dict[str, Path]
    temp: Path
    github: dict[str, Any] = field(default_factory=dict)
    # the workflow's own `env:` values a test replaces (one that names a place on GitHub)
    env_overrides: dict[str, str] = field(default_factory=dict)

    def jobs(self, workflow_file: Path) -> dict[str, dict[str, Any]]:
        loaded: dict[str, Any] = yaml.safe_load(workflow_file.read_text(encoding="utf-8"))
        jobs: dict[str, dict[str, Any]] = loaded["jobs"]
        return jobs

    def entries(
        self, workflow_file: Path, job: str, needs: Mapping[str, Job] | None = None
    ) -> list[dict[str, Any]]:
        """The matrix entries of one job (`[{}]` for a job without a matrix); a matrix given
        as an expression (`${{ fromJSON(needs.matrix.outputs.matrix) }}`) is evaluated."""
        spec = self.jobs(workflow_file)[job]
        matrix: Any = spec.get("strategy", {}).get("matrix", {})
        if isinstance(matrix, str):
            whole = _EXPRESSION.fullmatch(matrix.strip())
            assert whole, f"{job}: matrix {matrix!r}"
            matrix = evaluate(whole.group(1), self._context({}, needs))
        include: list[dict[str, Any]] = matrix.get("include", [{}])
        return include

    def _context(self, matrix: dict[str, Any], needs: Mapping[str, Job] | None) -> dict[str, Any]:
        return {
            "github": {"workspace": str(self.workspace), **self.github},
            "matrix": matrix,
            "steps": {},
            "env": {},
            "runner": {"os": "Linux", "arch": "X64", "temp": str(self.temp)},
            "inputs": {},
            "needs": {
                name: {"result": done.conclusion, "outputs": done.outputs}
                for name, done in (needs or {}).items()
            },
        }

    def run_job(
        self,
        workflow_file: Path,
        job: str,
        entry: Mapping[str, Any] | None = None,
        needs: Mapping[str, Job] | None = None,
    ) -> Job:
        """Run one job for one matrix entry; `needs` are the jobs it needs, as they ran."""
        loaded: dict[str, Any] = yaml.safe_load(workflow_file.read_text(encoding="utf-8"))
        spec = loaded["jobs"][job]
        matrix = dict(entry or {})
        context = self._context(matrix, needs)
        if not condition(spec.get("if"), context, "success"):
            return Job(job, matrix, "skipped", [], "")
        timeout = spec.get("timeout-minutes")
        assert isinstance(timeout, int), f"{job}: timeout-minutes is {timeout!r}"
        assert timeout > 0, f"{job}: timeout-minutes is {timeout}"
        defaults = spec.get("defaults", {}).get("run", {})
        state = _State(dict(self.env))
        for level in (loaded.get("env", {}), spec.get("env", {})):
            values = {key: interpolate(value, context) for key, value in level.items()}
            values.update({k: v for k, v in self.env_overrides.items() if k in values})
            state.env.update(values)
            context["env"].update(values)
        steps = self._steps(spec["steps"], context, state, defaults, action_path=None)
        failed = any(s.outcome == "failure" for s in steps)
        conclusion = "failure" if failed else "success"
        outputs = {k: interpolate(v, context) for k, v in spec.get("outputs", {}).items()}
        return Job(job, matrix, conclusion, steps, state.summary, state.artifacts, outputs)

    def _steps(
        self,
        steps: list[dict[str, Any]],
        context: dict[str, Any],
        state: _State,
        defaults: Mapping[str, Any],
        action_path: Path | None,
    ) -> list[Step]:
        done: list[Step] = []
        for index, step in enumerate(steps):
            status = "failure" if any(s.outcome == "failure" for s in done) else "success"
            name = interpolate(step.get("name") or step.get("uses") or step["run"], context)
            if not condition(step.get("if"), context, status):
                done.append(Step(name, "skipped"))
                continue
            env = {k: interpolate(v, context) for k, v in step.get("env", {}).items()}
            if "uses" in step:
                with_ = {k: interpolate(v, context) for k, v in step.get("with", {}).items()}
                result = self._uses(step["uses"], name, with_, context, state)
            else:
                shell = step.get("shell") or defaults.get("shell") or "bash"
                assert shell == "bash", f"{name}: shell {shell!r}"
                directory = step.get("working-directory") or defaults.get("working-directory")
                cwd = self.workspace / interpolate(directory or ".", context)
                result = self._run(name, step["run"], cwd, env, state, action_path, index)
            if "id" in step:
                context["steps"][step["id"]] = {"outputs": result.outputs}
            done.append(result)
        return done

    def _uses(
        self,
        uses: str,
        name: str,
        with_: dict[str, str],
        context: dict[str, Any],
        state: _State,
    ) -> Step:
        reference = uses.split("@", 1)[0]
        if reference == "actions/checkout":
            assert with_.get("persist-credentials") == "false", f"{name}: credentials persist"
            return Step(name, "success", "checkout: the workspace as the test wrote it")
        if reference == "astral-sh/setup-uv":
            return self._setup_uv(name, with_, state)
        if reference == "actions/upload-artifact":  # stood in for: what it would upload
            # hidden files stay behind unless include-hidden-files (upload-artifact >= 4.4)
            found = sorted(
                path
                for path in (self.workspace / with_["path"]).glob("*")
                if not path.name.startswith(".") or with_.get("include-hidden-files") == "true"
            )
            if not found and with_.get("if-no-files-found") == "error":
                return Step(name, "failure", f"upload-artifact: nothing in {with_['path']}")
            state.artifacts[with_["name"]] = found
            return Step(name, "success", "upload-artifact: " + " ".join(p.name for p in found))
        if uses.startswith("./"):
            folder = self.workspace / uses[2:]
        elif reference in self.actions:
            folder = self.actions[reference]
        else:
            raise AssertionError(f"{name}: no stand-in for the action {uses!r}")
        return self._composite(name, folder, with_, context, state)

    def _setup_uv(self, name: str, with_: Mapping[str, str], state: _State) -> Step:
        """What setup-uv leaves behind: uv on PATH, UV_PYTHON from python-version."""
        directory = with_.get("working-directory") or "."
        if not (self.workspace / directory).is_dir():
            return Step(name, "failure", f"setup-uv: working-directory {directory} not found")
        state.path.insert(0, str(self.uv_dir))
        if with_.get("python-version"):
            state.env["UV_PYTHON"] = with_["python-version"]
        state.setup_uv.append(dict(with_))
        return Step(name, "success", f"setup-uv stand-in: {self.uv_dir}/uv", {"uv-path": "uv"})

    def _composite(
        self,
        name: str,
        folder: Path,
        with_: Mapping[str, str],
        outer: dict[str, Any],
        state: _State,
    ) -> Step:
        action: dict[str, Any] = yaml.safe_load((folder / "action.yml").read_text())
        assert action["runs"]["using"] == "composite"
        inputs = {k: as_text(v.get("default", "")) for k, v in action.get("inputs", {}).items()}
        unknown = set(with_) - set(inputs)
        assert not unknown, f"{name}: inputs the action does not declare: {sorted(unknown)}"
        inputs.update(with_)
        context = {**outer, "inputs": inputs, "steps": {}}
        steps = self._steps(action["runs"]["steps"], context, state, {}, action_path=folder)
        outputs = {
            key: interpolate(spec["value"], context)
            for key, spec in action.get("outputs", {}).items()
        }
        failed = any(s.outcome == "failure" for s in steps)
        log = "\n".join(f"  > {s.name} [{s.outcome}]\n{s.log}" for s in steps)
        return Step(name, "failure" if failed else "success", log, outputs)

    def _run(
        self,
        name: str,
        script: str,
        cwd: Path,
        env: Mapping[str, str],
        state: _State,
        action_path: Path | None,
        index: int,
    ) -> Step:
        if not cwd.is_dir():
            return Step(name, "failure", f"working-directory {cwd} not found")
        number = state.next_number()
        files = {
            key: self.temp / f"{key.lower()}-{number}"
            for key in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH")
        }
        for path in files.values():
            path.write_text("")
        script_file = self.temp / f"step-{number}.sh"
        script_file.write_text(script)
        environment = {
            **state.env,
            **env,
            **{key: str(path) for key, path in files.items()},
            "PATH": os.pathsep.join([*state.path, state.env.get("PATH", "")]),
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(self.temp),
        }
        if action_path is not None:
            environment["GITHUB_ACTION_PATH"] = str(action_path)
        process = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        outputs = _key_values(files["GITHUB_OUTPUT"].read_text())
        state.env.update(_key_values(files["GITHUB_ENV"].read_text()))
        state.path[:0] = files["GITHUB_PATH"].read_text().split()
        state.summary += files["GITHUB_STEP_SUMMARY"].read_text()
        outcome = "success" if process.returncode == 0 else "failure"
        log = f"{process.stdout}{process.stderr}(exit {process.returncode})"
        return Step(name, outcome, log, outputs)


@dataclass
class _State:
    """What a job accumulates as it runs: its environment, PATH additions, the summary."""

    env: dict[str, str]
    path: list[str] = field(default_factory=list)
    summary: str = ""
    setup_uv: list[dict[str, str]] = field(default_factory=list)
    artifacts: dict[str, list[Path]] = field(default_factory=dict)
    count: int = 0

    def next_number(self) -> int:
        self.count += 1
        return self.count


def _key_values(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV lines: `name=value`, or `name<<DELIMITER` ... `DELIMITER`."""
    found: dict[str, str] = {}
    lines = text.splitlines()
    while lines:
        line = lines.pop(0)
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            value = []
            while lines and lines[0] != delimiter:
                value.append(lines.pop(0))
            lines.pop(0)
            found[key] = "\n".join(value)
        elif "=" in line:
            key, value_text = line.split("=", 1)
            found[key] = value_text
    return found


# --- the tool's dependencies, for the check-mode action without a network ---------------


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def installed_closure(names: list[str]) -> list[str]:
    """The named distributions and everything they require here, as installed (markers
    evaluated for this interpreter, no extras): what uv would resolve for them."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: dict[str, None] = {}
    pending = [canonicalize_name(name) for name in names]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen[name] = None
        for text in importlib.metadata.distribution(name).requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    return sorted(seen)


def repack_installed(names: list[str], folder: Path) -> Path:
    """Wheels of the named distributions as installed in this environment (their RECORDed
    files, their WHEEL's tags), in `folder`: a find-links folder uv installs from when
    the check-mode action asks for the tool's dependencies and there is no PyPI to ask."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        dist = importlib.metadata.distribution(name)
        tags = [
            line.split(":", 1)[1].strip().split("-")
            for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")
        ]
        # the compressed tag set of the file name: py2.py3-none-any
        tag = "-".join(".".join(dict.fromkeys(part[i] for part in tags)) for i in range(3))
        stem = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
        target = folder / f"{stem}-{dist.version}-{tag}.whl"
        entries: list[tuple[str, bytes]] = []
        record_name = ""
        for file in dist.files or []:
            relative = str(file)
            if relative.endswith(".pyc") or relative.startswith(".."):
                continue
            if relative.endswith(".dist-info/RECORD"):
                record_name = relative
                continue
            entries.append((relative, Path(str(dist.locate_file(file))).read_bytes()))
        record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in entries)
        entries.append((record_name, (record + f"{record_name},,\n").encode()))
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, data in entries:
                archive.writestr(path, data)
    return folder
