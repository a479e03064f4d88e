"""Run a workflow's jobs the way a GitHub runner does, on this machine, for the tests.

Takes a workflow (the YAML render wrote) and runs one job of it, one matrix entry at a time:

- `${{ }}` expressions are evaluated (tests/expressions.py) in `env:`, `with:`,
  `working-directory`, `if:` and step names;
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
  and its `outputs:` handed back as the step's outputs;
- any other action is what the test stands in for it (`stand_ins`), or an error.

A step that fails skips the rest (unless its `if:` says `always()`), as on GitHub.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from expressions import EXPRESSION, as_text, condition, evaluate, interpolate


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
    # actions a test stands in for (one that talks to GitHub or PyPI): reference -> what the
    # step does with its `with:` inputs, returning the step as it ran
    stand_ins: dict[str, Callable[[Mapping[str, str]], Step]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # `secrets.*`; GitHub gives "" when unset

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
            whole = EXPRESSION.fullmatch(matrix.strip())
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
            "secrets": self.secrets,
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
        if reference in self.stand_ins:
            done = self.stand_ins[reference](with_)
            return Step(name, done.outcome, done.log, done.outputs)
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
