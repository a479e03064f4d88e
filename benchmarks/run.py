"""Benchmarks of uvtorch-ci against the tools users already run in the same place.

Run: python benchmarks/run.py [--repeat N] [--out benchmarks/results.md]

Every measurement is a whole process, timed from outside, median of N runs, baseline and
uvtorch-ci interleaved so a busy machine slows both alike. The projects are built against the
test suite's local PyTorch/PyPI mirror (tests/mirror.py) on 127.0.0.1: no network.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from mirror import Mirror, uv_binary  # noqa: E402

PLATFORM_BACKENDS = [
    ("linux-x86_64", "cu124"),
    ("linux-x86_64", "cpu"),
    ("linux-aarch64", "cpu"),
    ("macos-arm64", "mps"),
    ("windows-x86_64", "cu124"),
    ("windows-x86_64", "cpu"),
]


@dataclass
class Row:
    name: str
    ours: float
    baseline_name: str
    baseline: float
    target: str
    ok: bool

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")


def timed(
    command: Sequence[str], cwd: Path, env: dict[str, str], before: Callable[[], None] | None = None
) -> float:
    if before is not None:
        before()
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"{command} failed ({result.returncode}):\n{result.stderr.decode()}")
    return elapsed


def pair(
    ours: Sequence[str],
    baseline: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    repeat: int,
    before: Callable[[], None] | None = None,
) -> tuple[float, float]:
    """Medians of `ours` and `baseline`, run alternately."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        a.append(timed(ours, cwd, env, before))
        b.append(timed(baseline, cwd, env))
    return statistics.median(a), statistics.median(b)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md")
    parser.add_argument(
        "--torch-python",
        default=os.environ.get(
            "UVTORCH_TEST_TORCH_PYTHON", str(ROOT / ".cache/torch-venv/bin/python")
        ),
    )
    args = parser.parse_args(argv)
    # the console script itself, not a version manager's shim in front of it
    uvtorch = str(Path(sysconfig.get_path("scripts")) / "uvtorch-ci")
    if not Path(uvtorch).exists():
        raise SystemExit("install the package first: python -m pip install -e .")
    uv = str(uv_binary())
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory() as scratch,
        Mirror(Path(scratch) / "mirror", ["2.5.0"]) as mirror,
    ):
        base = Path(scratch)
        env = mirror.uv_env(base / "cache")
        env["UVTORCH_CI_CACHE_DIR"] = str(base / "uvtorch-cache")

        # 1. render --check on the up-to-date seed example vs uv lock --check --offline
        seed = base / "seed"
        shutil.copytree(ROOT / "examples" / "seed", seed)
        subprocess.run([uvtorch, "render"], cwd=seed, env=env, check=True, capture_output=True)
        subprocess.run([uv, "lock"], cwd=seed, env=env, check=True, capture_output=True)
        ours, baseline = pair(
            [uvtorch, "render", "--check"],
            [uv, "lock", "--check", "--offline"],
            seed,
            env,
            args.repeat,
        )
        rows.append(
            Row(
                "render --check (seed, up to date)",
                ours,
                "uv lock --check --offline",
                baseline,
                "<= 0.5x",
                ours <= 0.5 * baseline,
            )
        )
        uv_check = baseline

        # 2. render (writing) for 3, 12 and 60 targets, each from its unrendered file
        times: dict[int, float] = {}
        for count in (3, 12, 60):
            directory = project(base, f"t{count}", spec(count))
            original = (directory / "pyproject.toml").read_text()

            def reset(directory: Path = directory, original: str = original) -> None:
                (directory / "pyproject.toml").write_text(original)
                shutil.rmtree(directory / ".github", ignore_errors=True)

            samples = [
                timed([uvtorch, "render"], directory, env, reset) for _ in range(args.repeat)
            ]
            times[count] = statistics.median(samples)
        rows.append(
            Row(
                "render, 12 targets (writing)",
                times[12],
                "uv lock --check --offline",
                uv_check,
                "<= 1.0x",
                times[12] <= uv_check,
            )
        )
        rows.append(
            Row(
                "render, 60 targets (writing)",
                times[60],
                "render, 3 targets",
                times[3],
                "< 1.5x",
                times[60] < 1.5 * times[3],
            )
        )

        # 3. verify on a ~300-package multi-platform lock
        many = project(base, "many", spec(6))
        names = [f"dep{i:03d}" for i in range(290)]
        for name in names:
            mirror.add_pypi_package(name, "1.0.0")
        text = (many / "pyproject.toml").read_text()
        deps = ", ".join(f'"{name}"' for name in names)
        (many / "pyproject.toml").write_text(
            text.replace("dependencies = []", f"dependencies = [{deps}]")
        )
        subprocess.run([uvtorch, "render"], cwd=many, env=env, check=True, capture_output=True)
        subprocess.run([uv, "lock"], cwd=many, env=env, check=True, capture_output=True)
        packages = (many / "uv.lock").read_text().count("[[package]]")
        samples = [timed([uvtorch, "verify"], many, env) for _ in range(args.repeat)]
        verify_time = statistics.median(samples)
        rows.append(
            Row(
                f"verify, {packages}-package lock",
                verify_time,
                "0.3 s",
                0.3,
                "< 0.3 s",
                verify_time < 0.3,
            )
        )

        # 4. the smoke check with a real CPU torch vs importing torch
        torch_python = args.torch_python
        if Path(torch_python).exists():
            smoke = str(ROOT / "src" / "uvtorch_ci" / "smoke.py")
            ours, baseline = pair(
                [torch_python, smoke, "--expect", "cpu"],
                [torch_python, "-c", "import torch"],
                base,
                env,
                args.repeat,
            )
            rows.append(
                Row(
                    "smoke --expect cpu (real torch)",
                    ours,
                    'python -c "import torch"',
                    baseline,
                    "<= 1.15x",
                    ours <= 1.15 * baseline,
                )
            )

        # 5. --help and --version vs a bare interpreter plus click
        for flag in ("--help", "--version"):
            ours, baseline = pair(
                [uvtorch, flag], [sys.executable, "-c", "import click"], base, env, args.repeat
            )
            rows.append(
                Row(
                    f"uvtorch-ci {flag}",
                    ours,
                    "python -c 'import click'",
                    baseline,
                    "<= 1.0x (+10 ms)",
                    ours <= baseline + 0.010,
                )
            )

    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} {platform.system()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"median of {args.repeat} runs.",
        "",
        "| measurement | uvtorch-ci | baseline | baseline time | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.ours * 1000:.0f} ms | {row.baseline_name} "
            f"| {row.baseline * 1000:.0f} ms | {row.ratio:.2f}x | {row.target} "
            f"| {'yes' if row.ok else 'no'} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
