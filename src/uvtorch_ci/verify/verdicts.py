"""Pure: prove from uv.lock that every target x Python installs the torch build the spec asks
for, or say why not, or that the lock is stale.

Each torch-family package a target installs is judged by what a lock proves: the registry it was
locked from and where its file is downloaded from (locations.py: the official index links its
files on download.pytorch.org or download-r2.pytorch.org, in the backend's folder or the
channel's root), the version, and a wheel that fits the platform and Python. Then the local tag:
the backend's own (+cu128 on the cu128 index) or none is right, because the indexes tag
irregularly; another backend's tag is not. The Triton build torch requires is judged by the lock
itself: it must come from a PyTorch index where only those serve it. Every other file of the
family, for Pythons and platforms outside the CI axis too, is judged in files.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..lock.model import Lock, LockedPackage, evaluate
from ..lock.reader import parse_lock
from ..plan.planner import Build, Plan
from ..platforms import PLATFORMS
from ..pyproject.data import parse_toml
from ..releases.table import Release, ReleaseTable, load_table, own_tag
from .files import INDEX_ONLY_TRITONS, TRITONS, judge_files
from .locations import (
    PYPI_REGISTRIES,
    FileHosts,
    file_hosts,
    file_problem,
    from_pypi,
    other_backend_folder,
)
from .messages import (
    elsewhere_problem,
    index_label,
    index_problem,
    public_version,
    tag_problem,
    version_problem,
    wheel_problem,
    wheel_tag,
)
from .staleness import allows_python, normalized_url, staleness

# uv sync installs the `dev` dependency group unless [tool.uv] default-groups says otherwise.
DEFAULT_GROUPS = ("dev",)


@dataclass(frozen=True)
class PackageVerdict:
    """One torch-family package in one target x Python: what uv.lock installs, and why not ok."""

    package: str
    expected_version: str  # the public version: the local tag is judged apart
    expected_index: str
    version: str | None  # None: uv.lock installs no such package there
    index: str | None  # the registry URL it comes from
    index_label: str  # "cu124", "cpu", "PyPI", or the URL
    wheel: str | None  # the file uv would install
    problems: tuple[str, ...]
    expected_local_tag: str = ""  # the backend's own tag; no tag is right as well

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def local_tag(self) -> str | None:
        """The locked version's local tag ("cu124"; "" untagged; None when nothing is locked)."""
        return _local(self.version) if self.version else None

    @property
    def wheel_tag(self) -> str | None:
        """The tags of the wheel uv would install ('cp312-cp312-manylinux_2_28_x86_64')."""
        return wheel_tag(self.wheel) if self.wheel else None


@dataclass(frozen=True)
class TargetVerdict:
    """One target on one Python: its torch-family packages and its download."""

    build: Build
    python: str
    packages: tuple[PackageVerdict, ...]
    problems: tuple[str, ...]  # about the environment as a whole
    # every package `uv sync` installs there (its files are read only when sizes are asked)
    installs: tuple[LockedPackage, ...] = field(default=(), compare=False, repr=False)
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and all(p.ok for p in self.packages)

    @property
    def name(self) -> str:
        return self.build.target.name

    @property
    def installed(self) -> int:
        return len(self.installs)

    @cached_property
    def _sizes(self) -> tuple[int, int]:
        """(bytes uv.lock records for the files `uv sync` downloads, files without a size)."""
        platform = PLATFORMS[self.build.target.platform]
        size, unsized = 0, 0
        for package in self.installs:
            if package.is_root or package.source.partition(":")[0] in ("editable", "directory"):
                continue
            artifact = package.best_artifact(platform, self.python)
            if artifact is None or artifact.size is None:
                unsized += 1
            else:
                size += artifact.size
        return size, unsized

    @property
    def download_bytes(self) -> int:
        return self._sizes[0]

    @property
    def unsized(self) -> int:
        return self._sizes[1]


@dataclass(frozen=True)
class Verdicts:
    """Everything `verify` found. `stale` non-empty: the lock predates pyproject.toml, and the
    rows describe the old lock. `problems`: files of the lock no target row names that are not
    where their index serves them; `warnings`: what is worth knowing but proves nothing wrong
    (files without a hash)."""

    lock_file: str
    targets: tuple[TargetVerdict, ...]
    stale: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.stale and not self.problems and all(t.ok for t in self.targets)

    def with_notes(self, *notes: str) -> Verdicts:
        return replace(self, notes=(*self.notes, *notes))

    def with_findings(self, problems: tuple[str, ...], warnings: tuple[str, ...]) -> Verdicts:
        """These verdicts with more lock-wide problems and warnings (`verify --online`)."""
        return replace(
            self,
            problems=(*self.problems, *problems),
            warnings=(*self.warnings, *warnings),
        )


def verify(
    plan: Plan,
    lock_text: str,
    pyproject_text: str,
    *,
    table: ReleaseTable | None = None,
    lock_file: str = "uv.lock",
    pyproject_file: str = "pyproject.toml",
) -> Verdicts:
    """Check uv.lock against the plan for every target x Python of the spec.

    `pyproject_text` is the pyproject.toml the lock should have been made from (staleness, the
    default groups). Raises LockError (exit 2) when uv.lock is unreadable, PyprojectError when
    pyproject.toml is.
    """
    lock = parse_lock(lock_text, lock_file)
    return verify_lock(plan, lock, pyproject_text, table=table, pyproject_file=pyproject_file)


def verify_lock(
    plan: Plan,
    lock: Lock,
    pyproject_text: str,
    *,
    table: ReleaseTable | None = None,
    pyproject_file: str = "pyproject.toml",
) -> Verdicts:
    """`verify` on a uv.lock already read (its file named as `lock.file`)."""
    table = table or load_table()
    lock_file = lock.file
    pyproject = parse_toml(pyproject_text, pyproject_file)
    stale = staleness(plan, lock, pyproject, lock_file=lock_file)
    hosts = file_hosts(plan.spec.index_url, plan.spec.file_hosts)
    root = lock.root(stale.project)  # LockError (exit 2) when uv.lock holds no project
    defaults = _default_groups(pyproject, root)
    targets = tuple(
        _check_target(plan, lock, table, hosts, build, python, root, defaults)
        for build in plan.builds
        for python in plan.spec.python
    )
    files = judge_files(lock, plan.packages, hosts)
    named = {p for t in targets for row in t.packages for p in row.problems}
    problems = tuple(p for p in files.problems if p.partition(": ")[2] not in named)
    notes = (*stale.notes, *dict.fromkeys(n for t in targets for n in t.notes))
    return Verdicts(lock_file, targets, stale.reasons, notes, problems, files.warnings)


# -- which groups a target's `uv sync` installs -----------------------------------------------


def _default_groups(pyproject: Mapping[str, Any], root: LockedPackage) -> tuple[str, ...]:
    """[tool.uv] default-groups (uv's default: dev; "all": every group the lock holds)."""
    tool = pyproject.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    value = uv.get("default-groups") if isinstance(uv, dict) else None
    if value == "all":
        return tuple(root.groups)
    if isinstance(value, list):
        return tuple(canonicalize_name(str(v)) for v in value)
    return DEFAULT_GROUPS


def _selection(
    plan: Plan, build: Build, lock: Lock, root: str, defaults: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The extras and groups the target's job installs (its own extra or group, and the default
    groups less the one the job leaves out with `--no-group`), and why uv would refuse that
    selection: a default group that conflicts with what the job selects makes `uv sync` stop
    ("... (enabled by default) are incompatible with the declared conflicts", uv 0.13). The
    rows then show what the job would install with that group left out."""
    extras = (build.extra,) if build.extra else ()
    groups = [build.group] if build.group else []
    selected = {(root, "extra", canonicalize_name(e)) for e in extras}
    selected |= {(root, "group", canonicalize_name(g)) for g in groups}
    left_out = plan.spec.default_group if build.group != plan.spec.default_group else None
    problems = []
    for group in defaults:
        if group in groups or (build.group and group == left_out):
            continue
        me = (root, "group", group)
        if any(me in conflict and conflict & selected for conflict in lock.conflicts):
            what = f"extra {build.extra!r}" if build.extra else f"group {build.group!r}"
            problems.append(
                f"uv sync refuses this job: the default group {group!r} conflicts with the "
                f"{what} in [tool.uv] conflicts; take it out of default-groups, or leave it "
                f"out of this job (uv sync --no-group {group})"
            )
            continue
        groups.append(group)
    return extras, tuple(groups), tuple(problems)


# -- one target x Python -------------------------------------------------------------------


def _check_target(
    plan: Plan,
    lock: Lock,
    table: ReleaseTable,
    hosts: FileHosts,
    build: Build,
    python: str,
    root: LockedPackage,
    defaults: tuple[str, ...],
) -> TargetVerdict:
    platform = PLATFORMS[build.target.platform]
    environment = platform.marker_environment(python)
    extras, groups, refused = _selection(plan, build, lock, root.name, defaults)
    installed = lock.resolve(environment, extras, groups, project=root.name)
    problems: list[str] = list(refused)
    if not lock.covers(environment):
        problems.append(
            f"uv.lock does not cover {platform.name} with Python {python}: "
            "[tool.uv] environments leave it out"
        )
    if lock.requires_python and not allows_python(lock.requires_python, python):
        problems.append(f"uv.lock's requires-python ({lock.requires_python}) excludes {python}")

    torch = installed.get("torch")
    expected, notes = _expected_versions(plan, table, build, torch)
    rows = [
        _check_package(plan, lock, hosts, build, python, name, version, installed.get(name), torch)
        for name, version in expected.items()
        if name not in build.elsewhere
    ]
    rows += [  # the packages its index does not publish for it, left to PyPI (missing-builds)
        _check_package(
            plan, lock, hosts, build, python, name, version, installed.get(name), torch, pypi=True
        )
        for name, version in expected.items()
        if name in build.elsewhere
    ]
    if torch is not None:
        rows += _triton_rows(lock, hosts, build, python, torch, (extras, groups, root.name))

    return TargetVerdict(
        build, python, tuple(rows), tuple(problems), tuple(installed.values()), notes
    )


def _has_build(release: Release, build: Build) -> bool:
    if build.from_pypi:
        return build.target.platform in release.pypi
    return release.publishes(build.target.platform, build.index.backend)


def _expected_versions(
    plan: Plan, table: ReleaseTable, build: Build, torch: LockedPackage | None
) -> tuple[dict[str, str | None], tuple[str, ...]]:
    """package -> the public version the target must have (None: any), and notes. For a torch
    specifier, any release it admits that has the target's build is right, with that release's
    companions; a release newer than the table is taken as the range admits it."""
    versions: dict[str, str | None] = {p: public_version(v) or v for p, v in build.versions.items()}
    versions |= build.elsewhere
    locked = public_version(torch.version) if torch else None
    if plan.spec.exact_torch is not None or not locked:
        return versions, ()
    if not plan.spec.torch.contains(locked, prereleases=True):
        return versions, ()
    candidate = table.get(locked)
    if candidate is None:
        note = (
            f"torch {locked} is not in the release table: its build is judged by its index, "
            "its companions' versions are not checked (`uvtorch-ci releases refresh` learns it)"
        )
        return {p: (locked if p == "torch" else None) for p in versions}, (note,)
    # the companions go with the torch the lock holds; torch itself must have the build
    companions = {p: candidate.paired(p) for p in versions if p != "torch"}
    torch_version = locked if _has_build(candidate, build) else versions["torch"]
    return {"torch": torch_version, **companions}, ()


def _check_package(
    plan: Plan,
    lock: Lock,
    hosts: FileHosts,
    build: Build,
    python: str,
    name: str,
    expected: str | None,
    locked: LockedPackage | None,
    torch: LockedPackage | None,
    *,
    pypi: bool = False,
) -> PackageVerdict:
    """One package's row. `pypi`: the target's index does not publish it, so PyPI's build is
    the one the spec asks for (missing-builds = "pypi")."""
    platform = PLATFORMS[build.target.platform]
    want_index = PYPI_REGISTRIES[0] if pypi else build.index.url
    shown_expected = expected or "any"
    if locked is None:
        extra = f" with the extra {build.extra!r}" if build.extra else ""
        problem = (
            f"{name} is missing: nothing in uv.lock installs it on {platform.name} "
            f"with Python {python}{extra}{_left_out(lock, name, python, platform.name)}"
        )
        return PackageVerdict(
            name, shown_expected, want_index, None, None, "-", None, (problem,), ""
        )
    problems: list[str] = []
    got_index = locked.source
    artifact = locked.best_artifact(platform, python)
    if build.from_pypi or pypi:  # the default index, whatever the project or uv sets it to
        if hosts.serves(got_index) or ":" not in got_index:
            problems.append(
                elsewhere_problem(plan, build, name, got_index)
                if pypi
                else index_problem(plan, build, got_index)
            )
        else:
            want_index = got_index
    elif normalized_url(got_index) != normalized_url(want_index):
        problems.append(index_problem(plan, build, got_index))
    elif artifact is not None:
        download = file_problem(artifact.url, artifact.filename, got_index, hosts)
        folder = other_backend_folder(artifact.url, build.index.backend)
        if folder and not download:
            download = f"{artifact.filename} comes from the {folder} folder: {artifact.url}"
        if download:
            problems.append(
                f"{download}; expected a file of the {build.index.backend} index ({want_index})"
            )
    if expected is not None and public_version(locked.version) != expected:
        problems.append(version_problem(plan, build, name, locked, torch, expected))
    wheel = locked.best_wheel(platform, python)
    if wheel is None:
        problems.append(wheel_problem(locked, platform.name, python))
    own = own_tag(build.target.backend)
    got = _local(locked.version)
    if got not in ("", own):
        problems.append(tag_problem(got, build.target.backend))
    return PackageVerdict(
        name,
        shown_expected,
        want_index,
        locked.version,
        got_index,
        index_label(plan, got_index),
        wheel.filename if wheel else None,
        tuple(problems),
        own,
    )


def _left_out(lock: Lock, name: str, python: str, platform: str) -> str:
    """Why uv never installs `name` here, when an override says so (`torch; sys_platform ==
    'never'`: the project leaves torch to its container)."""
    environment = tuple(sorted(PLATFORMS[platform].marker_environment(python).items()))
    for override in lock.overrides:
        if override.name == name and override.marker and not evaluate(override.marker, environment):
            return (
                f": [tool.uv] override-dependencies replaces every requirement on it with "
                f"{name}; {override.marker}, which excludes this platform"
            )
    return ""


def _triton_rows(
    lock: Lock,
    hosts: FileHosts,
    build: Build,
    python: str,
    torch: LockedPackage,
    selection: tuple[tuple[str, ...], tuple[str, ...], str | None],
) -> list[PackageVerdict]:
    """The Triton builds the locked torch requires in this environment, as the lock records
    them (not as the release table guesses): each must be locked, from the target's PyTorch
    index where only the PyTorch indexes serve it (PyPI's `triton` serves CUDA builds too)."""
    platform = PLATFORMS[build.target.platform]
    extras, groups, project = selection
    environment = platform.marker_environment(python)
    rows = []
    for dependency, package in lock.requirements_in(torch, environment, extras, groups, project):
        if dependency.name not in TRITONS:
            continue
        want = build.index.url
        if package is None:
            problem = f"torch requires {dependency.name}, which uv.lock does not hold"
            rows.append(
                PackageVerdict(dependency.name, "-", want, None, None, "-", None, (problem,))
            )
            continue
        problems = []
        registry = package.source
        ours = hosts.serves(registry)
        pypi = from_pypi(registry)
        # Triton files sit in the channel's root, which every backend's page links: from any
        # of the spec's PyTorch indexes it is the same file
        if dependency.name in INDEX_ONLY_TRITONS and not ours and not build.from_pypi:
            problems.append(
                f"comes from {registry}: only the PyTorch indexes serve {dependency.name} (the "
                f"name elsewhere is someone else's package); expected the {build.index.backend} "
                f"index ({want})"
            )
        elif not ours and not pypi and ":" in registry:
            problems.append(f"comes from {registry}, neither a PyTorch index nor PyPI")
        wheel = package.best_wheel(platform, python)
        if wheel is None:
            problems.append(wheel_problem(package, platform.name, python))
        elif ours and (download := file_problem(wheel.url, wheel.filename, registry, hosts)):
            problems.append(download)
        rows.append(
            PackageVerdict(
                dependency.name,
                public_version(package.version) or package.version,
                want,
                package.version,
                registry,
                "PyPI" if pypi else normalized_url(registry).rsplit("/", 1)[-1],
                wheel.filename if wheel else None,
                tuple(problems),
            )
        )
    return rows


def _local(version: str) -> str:
    try:
        return Version(version).local or ""
    except InvalidVersion:
        return version.partition("+")[2]
