"""Pure: the builds a project's lock gave each target before `init` against those after, for
`init --lock`. Takes the plan and the two uv.lock texts; gives one row per target x Python x
torch-family package, and the lines that show them."""

from __future__ import annotations

from dataclasses import dataclass

from ..lock.model import Lock
from ..lock.reader import parse_lock
from ..plan.planner import Plan
from ..platforms import PLATFORMS

Build = tuple[str, str] | None  # (version with local tag, index URL); None: not installed


@dataclass(frozen=True)
class Row:
    """What one target x Python installed of one package, before and after."""

    job: str
    package: str
    before: Build
    after: Build

    @property
    def same(self) -> bool:
        return self.before == self.after


def compare_locks(plan: Plan, before_text: str, after_text: str) -> list[Row]:
    """Per job of the plan and package it routes (torch and its companions): the build each
    lock installs, with the job's extra or group active in both (init keeps their names)."""
    before = parse_lock(before_text, "uv.lock (before)")
    after = parse_lock(after_text, "uv.lock")
    packages = ("torch", *plan.spec.packages)
    rows = []
    for job in plan.jobs:
        extras = (job.build.extra,) if job.build.extra else ()
        groups = (job.build.group,) if job.build.group else ()
        environment = PLATFORMS[job.build.target.platform].marker_environment(job.python)
        old = _installed(before, environment, extras, groups)
        new = _installed(after, environment, extras, groups)
        rows += [Row(job.name, p, old.get(p), new.get(p)) for p in packages]
    return rows


def _installed(
    lock: Lock, environment: dict[str, str], extras: tuple[str, ...], groups: tuple[str, ...]
) -> dict[str, tuple[str, str]]:
    if not lock.covers(environment):
        return {}
    root = lock.root()
    known = tuple(e for e in extras if e in root.optional)
    grouped = tuple(g for g in groups if g in root.groups)
    resolved = lock.resolve(environment, known, grouped)
    return {n: (p.version, p.source) for n, p in resolved.items()}


def comparison_lines(rows: list[Row]) -> list[str]:
    """One line per row that changed, or one line saying every build is the same."""
    changed = [r for r in rows if not r.same]
    if not changed:
        jobs = len({r.job for r in rows})
        return [f"every target x Python ({jobs}) gets the same builds, from the same indexes"]
    return [f"{r.job}: {r.package} {_shown(r.before)} -> {_shown(r.after)}" for r in changed]


def _shown(build: Build) -> str:
    return f"{build[0]} from {build[1]}" if build else "not installed"
