"""Benchmarks of uvtorch-ci against the tools users already run in the same place.

Run: python benchmarks/run.py [--repeat N] [--out benchmarks/results.md] [--tool PATH]

The tool is measured as users get it. `uv tool install uvtorch-ci`, uvx and pre-commit give it a
venv of its own with compiled bytecode, so the script first builds one the same way:
`uv venv` with this interpreter, then `uv pip install --compile-bytecode` of this repository
(not editable; its dependencies come from the default package index, so this step needs the
network). Every uvtorch-ci measurement runs that venv's console script, and the "bare
interpreter" baselines run that venv's python. `--tool PATH` measures an already-installed
console script instead (and the python next to it) and skips the build.

PYTHONDONTWRITEBYTECODE is removed from the environment of every measured process: with it,
modules without bytecode are compiled from source on every start, which no user pays twice.

Every measurement is a whole process, timed from outside, median of N runs after one untimed
warm-up, baseline and uvtorch-ci interleaved so a busy machine slows both alike. The projects
are built against the test suite's local PyTorch/PyPI mirror (tests/mirror.py) on 127.0.0.1.

The tool keeps a per-user cache (UVTORCH_CI_CACHE_DIR): records that let `render --check`
answer without rendering, and compiled templates. Rows marked "empty cache" empty that folder
before every run, which is what a fresh CI machine pays; the others keep it across runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

# mypy finds tests/ only when told (MYPYPATH=tests); plain `mypy benchmarks/run.py` does not
from locks import write_project as write_locked  # noqa: E402
from mirror import Mirror, uv_binary  # type: ignore[import-not-found,unused-ignore]  # noqa: E402

PLATFORM_BACKENDS = [
    ("linux-x86_64", "cu124"),
    ("linux-x86_64", "cpu"),
    ("linux-aarch64", "cpu"),
    ("macos-arm64", "mps"),
    ("windows-x86_64", "cu124"),
    ("windows-x86_64", "cpu"),
]
CACHE_ENV = "UVTORCH_CI_CACHE_DIR"
UV_CHECK = "uv lock --check --offline"
BUILT = "uv pip install --compile-bytecode"
REFRESH = ["--refresh-package", "uvtorch-ci"]  # never a wheel of this tree built before an edit
Hook = Callable[[], None]
# the libraries a full render loads (the CLI, the templates, the TOML editor, markers and
# versions), then all of them with the tool's own modules
# what `verify` loads on an up-to-date project before it reads uv.lock: the floor of its time
VERIFY_STACK = (
    "uvtorch_ci.commands.main, uvtorch_ci.commands.verify, uvtorch_ci.verify.verdicts, "
    "uvtorch_ci.verify.report"
)
RENDER_STACK = (
    "click",
    "jinja2",
    "tomlkit",
    "packaging.requirements",
    "uvtorch_ci.commands.render, uvtorch_ci.pyproject.merge, uvtorch_ci.templating, "
    "uvtorch_ci.github.workflow",
)


@dataclass(frozen=True)
class Target:
    """What a row must reach: its text in the table and the test of (ours, baseline)."""

    text: str
    met: Callable[[float, float], bool] | None  # None: a context row, no target


def at_most(factor: float, slack: float = 0.0) -> Target:
    text = f"<= {factor}x" + (f" (+{slack * 1000:.0f} ms)" if slack else "")
    return Target(text, lambda ours, base: ours <= factor * base + slack)


def below(factor: float) -> Target:
    return Target(f"< {factor}x", lambda ours, base: ours < factor * base)


def within(seconds: float) -> Target:
    return Target(f"< {seconds} s", lambda ours, _: ours < seconds)


CONTEXT = Target("context", None)


@dataclass
class Row:
    name: str
    ours: float
    baseline_name: str
    baseline: float
    target: str
    ok: bool | None  # None: context, no target
    unit: str = "s"  # "s" (shown in ms) or "MiB"

    def shown(self, value: float) -> str:
        return f"{value:.0f} MiB" if self.unit == "MiB" else f"{value * 1000:.0f} ms"

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")

    @property
    def met(self) -> str:
        return "-" if self.ok is None else "yes" if self.ok else "no"


@dataclass(frozen=True)
class Run:
    """One measured process: its command, where and with what environment, and what to do
    (untimed) before each run."""

    command: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    before: Hook | None = None
    codes: tuple[int, ...] = (0, 1)  # the exit codes it may end with


@dataclass(frozen=True)
class Tool:
    """The console script measured, the interpreter it runs on, and how it got there."""

    script: Path
    python: Path
    how: str


def timed(run: Run) -> float:
    if run.before is not None:
        run.before()
    start = time.perf_counter()
    result = subprocess.run(
        run.command, cwd=run.cwd, env=dict(run.env), capture_output=True, check=False
    )
    elapsed = time.perf_counter() - start
    if result.returncode not in run.codes:
        raise SystemExit(f"{run.command} failed ({result.returncode}):\n{result.stderr.decode()}")
    return elapsed


def peak_mib(run: Run) -> float:
    """The peak resident memory of one run of `run`, in MiB (the kernel's own accounting)."""
    if run.before is not None:
        run.before()
    process = subprocess.Popen(
        run.command,
        cwd=run.cwd,
        env=dict(run.env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{run.command} failed ({process.returncode})")
    return usage.ru_maxrss / 1024  # KiB on Linux


def median(run: Run, repeat: int) -> float:
    """Median of `repeat` runs after one untimed warm-up."""
    timed(run)
    return statistics.median(timed(run) for _ in range(repeat))


def pair(ours: Run, baseline: Run, repeat: int) -> tuple[float, float]:
    """Medians of `ours` and `baseline`, run alternately after one untimed warm-up each."""
    timed(ours)
    timed(baseline)
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        a.append(timed(ours))
        b.append(timed(baseline))
    return statistics.median(a), statistics.median(b)


class Table:
    """The rows measured so far, each against its baseline."""

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.rows: list[Row] = []

    def add(
        self,
        name: str,
        ours: float,
        baseline_name: str,
        baseline: float,
        target: Target,
        unit: str = "s",
    ) -> None:
        ok = None if target.met is None else target.met(ours, baseline)
        self.rows.append(Row(name, ours, baseline_name, baseline, target.text, ok, unit))

    def memory(self, name: str, ours: Run, baseline_name: str, baseline: Run) -> None:
        """A row of peak memory: the largest of `repeat` runs each, at most the baseline's."""
        runs = max(1, min(self.repeat, 3))
        a = max(peak_mib(ours) for _ in range(runs))
        b = max(peak_mib(baseline) for _ in range(runs))
        self.add(name, a, baseline_name, b, at_most(1.0), unit="MiB")

    def compare(
        self, name: str, ours: Run, baseline_name: str, baseline: Run, target: Target
    ) -> None:
        """A row from `ours` and `baseline` measured interleaved."""
        a, b = pair(ours, baseline, self.repeat)
        self.add(name, a, baseline_name, b, target)

    def limit(self, name: str, ours: Run, seconds: float) -> None:
        """A row from `ours` against a fixed time limit."""
        self.add(name, median(ours, self.repeat), f"{seconds} s", seconds, within(seconds))

    def markdown(self, header: str) -> str:
        lines = [
            header,
            "",
            "| measurement | uvtorch-ci | baseline | baseline time | ratio | target | met |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in self.rows:
            lines.append(
                f"| {row.name} | {row.shown(row.ours)} | {row.baseline_name} "
                f"| {row.shown(row.baseline)} | {row.ratio:.2f}x | {row.target} | {row.met} |"
            )
        return "\n".join(lines) + "\n"


def measured_env(env: Mapping[str, str]) -> dict[str, str]:
    """`env` as users have it: bytecode is written and read."""
    return {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}


def with_cache(env: Mapping[str, str], folder: Path) -> dict[str, str]:
    return {**env, CACHE_ENV: str(folder)}


def emptied(folder: Path) -> Hook:
    """A hook that leaves `folder` an empty directory."""

    def empty() -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    return empty


def both(*hooks: Hook) -> Hook:
    def run() -> None:
        for hook in hooks:
            hook()

    return run


def build_tool(scratch: Path) -> Tool:
    """uvtorch-ci in a fresh venv with compiled bytecode, as `uv tool install` leaves it."""
    uv = str(uv_binary())
    env = {
        key: value
        for key, value in measured_env(os.environ).items()
        if key not in ("VIRTUAL_ENV", "CONDA_PREFIX")
    }
    venv = scratch / "venv"
    python = venv / "bin" / "python"
    for command in (
        [uv, "venv", str(venv), "--python", sys.executable],
        [uv, "pip", "install", "--python", str(python), "--compile-bytecode", *REFRESH, str(ROOT)],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return Tool(venv / "bin" / "uvtorch-ci", python, f"installed by `{BUILT}` into a fresh venv")


def existing_tool(path: Path) -> Tool:
    """An installed console script and the interpreter it runs on (next to it, or its
    shebang's)."""
    script = path.resolve()
    if not script.is_file():
        raise SystemExit(f"--tool {path}: no such file")
    python = script.parent / "python"
    if not python.exists():
        first = script.read_bytes().split(b"\n", 1)[0].decode(errors="replace")
        python = Path(first[2:].strip()) if first.startswith("#!/") else python
        if not python.exists():
            raise SystemExit(f"--tool {path}: cannot tell which python runs it")
    return Tool(script, python, f"from `{path}` (--tool)")


def python_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def spec(targets: int, torch: str = "2.5.0") -> str:
    lines = [f'torch = "{torch}"', 'packages = ["torchvision"]']
    for i in range(targets):
        platform_name, backend = PLATFORM_BACKENDS[i % len(PLATFORM_BACKENDS)]
        lines += [
            "[[tool.uvtorch.targets]]",
            f'platform = "{platform_name}"',
            f'backend = "{backend}"',
            f'runner = "runner-{i}"',
            f'name = "t{i}"',
        ]
    return "\n".join(lines) + "\n"


def project(base: Path, name: str, body: str) -> Path:
    directory = base / name
    directory.mkdir()
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0"\nrequires-python = ">=3.11"\n'
        f"dependencies = []\n\n[tool.uvtorch]\n{body}"
    )
    return directory


def resetter(directory: Path) -> Hook:
    """A hook that puts `directory` back to its unrendered pyproject.toml."""
    original = (directory / "pyproject.toml").read_text()

    def reset() -> None:
        (directory / "pyproject.toml").write_text(original)
        shutil.rmtree(directory / ".github", ignore_errors=True)

    return reset


def setup(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
    result = subprocess.run(command, cwd=cwd, env=dict(env), capture_output=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{command} failed ({result.returncode}):\n{result.stderr.decode()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md")
    parser.add_argument(
        "--tool",
        type=Path,
        help="an installed uvtorch-ci console script to measure (default: build a fresh venv)",
    )
    parser.add_argument(
        "--torch-python",
        default=os.environ.get(
            "UVTORCH_TEST_TORCH_PYTHON", str(ROOT / ".cache/torch-venv/bin/python")
        ),
    )
    args = parser.parse_args(argv)
    uv = str(uv_binary())
    table = Table(args.repeat)
    with (
        tempfile.TemporaryDirectory() as scratch,
        Mirror(Path(scratch) / "mirror", ["2.5.0"]) as mirror,
    ):
        base = Path(scratch)
        tool = existing_tool(args.tool) if args.tool else build_tool(base)
        uvtorch = str(tool.script)
        python = str(tool.python)
        env = with_cache(measured_env(mirror.uv_env(base / "cache")), base / "uvtorch-cache")
        empty_folder = base / "uvtorch-cache-empty"
        empty_env = with_cache(env, empty_folder)
        empty = emptied(empty_folder)

        # 0. the floor: the tool's interpreter doing nothing, vs uv lock --check --offline
        seed = base / "seed"
        shutil.copytree(ROOT / "examples" / "seed", seed)
        setup([uvtorch, "render"], seed, env)
        setup([uv, "lock"], seed, env)
        uv_check = Run([uv, "lock", "--check", "--offline"], seed, env)
        floor = Run([python, "-c", "pass"], base, env)
        table.compare(
            "interpreter floor (the tool's python -c pass)",
            floor,
            UV_CHECK,
            uv_check,
            CONTEXT,
        )

        # 1. render --check on the up-to-date seed example, warm and empty cache
        check = Run([uvtorch, "render", "--check"], seed, env)
        table.compare("render --check (seed, up to date)", check, UV_CHECK, uv_check, at_most(0.5))
        table.compare(
            "render --check (seed, up to date, empty cache)",
            replace(check, env=empty_env, before=empty),
            UV_CHECK,
            uv_check,
            at_most(0.5),
        )

        # 2. render (writing) for 3, 12 and 60 targets, each from its unrendered file
        render = {count: project(base, f"t{count}", spec(count)) for count in (3, 12, 60)}
        reset = {count: resetter(directory) for count, directory in render.items()}
        writes = {
            count: Run([uvtorch, "render"], directory, env, reset[count])
            for count, directory in render.items()
        }
        table.compare("render, 12 targets (writing)", writes[12], UV_CHECK, uv_check, at_most(1.0))
        table.compare(
            "render, 12 targets (writing, empty cache)",
            replace(writes[12], env=empty_env, before=both(reset[12], empty)),
            UV_CHECK,
            uv_check,
            at_most(1.0),
        )
        table.compare(
            "render, 60 targets (writing)", writes[60], "render, 3 targets", writes[3], below(1.5)
        )

        # 3. verify on a ~300-package multi-platform lock, after the render --check CI runs first
        many = project(base, "many", spec(6))
        names = [f"dep{i:03d}" for i in range(290)]
        for name in names:
            mirror.add_pypi_package(name, "1.0.0")
        text = (many / "pyproject.toml").read_text()
        deps = ", ".join(f'"{name}"' for name in names)
        (many / "pyproject.toml").write_text(
            text.replace("dependencies = []", f"dependencies = [{deps}]")
        )
        setup([uvtorch, "render"], many, env)
        setup([uv, "lock"], many, env)
        setup([uvtorch, "render", "--check"], many, env)
        packages = (many / "uv.lock").read_text().count("[[package]]")
        verify = Run([uvtorch, "verify"], many, env)
        table.limit(f"verify, {packages}-package lock", verify, 0.3)
        table.limit(
            f"verify, {packages}-package lock (empty cache)",
            replace(verify, env=empty_env, before=empty),
            0.3,
        )

        # 3b. verify on locks of 1,000 and 10,000 packages shaped as real uv writes them, against
        # `uv export --frozen` reading the same lock (both read it whole; neither resolves)
        export = "uv export --frozen"
        for count in (1_000, 10_000):
            big = write_locked(base / f"big{count}", count, mirror.pytorch_url)
            setup([uvtorch, "render"], big, env)
            setup([uvtorch, "render", "--check"], big, env)
            setup([uvtorch, "verify"], big, env)  # the lock is current: verify says ok
            ours = Run([uvtorch, "verify"], big, env)
            theirs = Run([uv, "export", "--frozen", "--quiet"], big, env)
            shown = f"{count:,}"
            table.compare(f"verify, {shown}-package lock", ours, export, theirs, at_most(2.0))
            if count == 10_000:
                table.memory(f"verify peak memory, {shown} packages", ours, export, theirs)
        oversized = base / "oversized"
        shutil.copytree(base / "big1000", oversized)
        with (oversized / "uv.lock").open("r+b") as lock:
            lock.truncate(161_000_000)  # sparse: a 161 MB lock that costs no disk
        # refused from its size before a byte is read: far cheaper than reading a 42 MB lock
        table.compare(
            "verify, a 161 MB lock (refused from its size, unread)",
            Run([uvtorch, "verify"], oversized, env, codes=(2,)),
            "verify, 10,000-package lock (42 MB read)",
            Run([uvtorch, "verify"], base / "big10000", env),
            at_most(0.5),
        )
        table.compare(
            "python -c 'import <what verify loads>'",
            Run([python, "-c", f"import {VERIFY_STACK}"], base, env),
            export + " (1,000 packages)",
            Run([uv, "export", "--frozen", "--quiet"], base / "big1000", env),
            CONTEXT,
        )

        # 4. the smoke check with a real CPU torch vs importing torch
        torch_python = args.torch_python
        if Path(torch_python).exists():
            smoke = str(ROOT / "src" / "uvtorch_ci" / "smoke.py")
            table.compare(
                "smoke --expect cpu (real torch)",
                Run([torch_python, smoke, "--expect", "cpu"], base, env),
                'python -c "import torch"',
                Run([torch_python, "-c", "import torch"], base, env),
                at_most(1.15),
            )

        # 5. --help and --version vs the same interpreter plus click
        for flag in ("--help", "--version"):
            table.compare(
                f"uvtorch-ci {flag}",
                Run([uvtorch, flag], base, env),
                "python -c 'import click'",
                Run([python, "-c", "import click"], base, env),
                at_most(1.0, slack=0.010),
            )

        # 6. context: what a full render must import before it does anything, above the floor
        for module in RENDER_STACK:
            table.compare(
                f"python -c 'import {module}'",
                Run([python, "-c", f"import {module}"], base, env),
                "python -c pass",
                floor,
                CONTEXT,
            )
        version = python_version(tool.python)

    header = (
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} {platform.system()}, "
        f"{os.cpu_count()} cores, Python {version}, median of {args.repeat} runs; "
        f"uvtorch-ci {tool.how}."
    )
    text = table.markdown(header)
    print(text)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
