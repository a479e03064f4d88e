"""Pure: prove from uv.lock that every target x Python installs the torch build the spec asks
for (version, local tag, index, a wheel that fits), or say why not, or that the lock is stale."""

from __future__ import annotations

from dataclasses import dataclass, replace

from packaging.version import InvalidVersion, Version

from ..lock.model import Lock, LockedPackage
from ..lock.reader import parse_lock
from ..plan.planner import Build, Plan
from ..platforms import PLATFORMS
from ..pyproject.data import is_pytorch_index
from ..releases.table import ReleaseTable, load_table
from .staleness import allows_python, normalized_url, staleness

# uv sync installs the `dev` dependency group unless told otherwise.
DEFAULT_GROUPS = ("dev",)


@dataclass(frozen=True)
class PackageVerdict:
    """One torch-family package in one target x Python: what uv.lock installs, and why not ok."""

    package: str
    expected_version: str
    expected_index: str
    version: str | None  # None: uv.lock installs no such package there
    index: str | None  # the registry URL it comes from
    index_label: str  # "cu124", "cpu", "PyPI", or the URL
    wheel: str | None  # the file uv would install
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def local_tag(self) -> str | None:
        """The locked version's local tag ("cu124"; "" untagged; None when nothing is locked)."""
        return _local(self.version) if self.version else None

    @property
    def expected_local_tag(self) -> str:
        return _local(self.expected_version)

    @property
    def wheel_tag(self) -> str | None:
        """The tags of the wheel uv would install ('cp312-cp312-manylinux_2_28_x86_64')."""
        return _wheel_tag(self.wheel) if self.wheel else None


@dataclass(frozen=True)
class TargetVerdict:
    """One target on one Python: its torch-family packages and its download."""

    build: Build
    python: str
    packages: tuple[PackageVerdict, ...]
    problems: tuple[str, ...]  # about the environment as a whole
    installed: int  # packages `uv sync` installs there
    download_bytes: int  # the sizes uv.lock records for their files
    unsized: int  # files whose size uv.lock does not record

    @property
    def ok(self) -> bool:
        return not self.problems and all(p.ok for p in self.packages)

    @property
    def name(self) -> str:
        return self.build.target.name


@dataclass(frozen=True)
class Verdicts:
    """Everything `verify` found. `stale` non-empty: the lock predates pyproject.toml, and
    the rows describe the old lock, not wrong builds."""

    lock_file: str
    targets: tuple[TargetVerdict, ...]
    stale: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.stale and all(t.ok for t in self.targets)

    def with_notes(self, *notes: str) -> Verdicts:
        return replace(self, notes=(*self.notes, *notes))


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

    `pyproject_text` is the pyproject.toml the lock should have been made from (staleness).
    Raises LockError (exit 2) when uv.lock is unreadable, PyprojectError when pyproject is.
    """
    table = table or load_table()
    lock = parse_lock(lock_text, lock_file)
    stale = staleness(
        plan, lock, pyproject_text, lock_file=lock_file, pyproject_file=pyproject_file
    )
    targets = tuple(
        _check_target(plan, lock, table, build, python, stale.project)
        for build in plan.builds
        for python in plan.spec.python
    )
    return Verdicts(lock_file, targets, stale.reasons, stale.notes)


# -- one target x Python -------------------------------------------------------------------


def _check_target(
    plan: Plan, lock: Lock, table: ReleaseTable, build: Build, python: str, project: str | None
) -> TargetVerdict:
    platform = PLATFORMS[build.target.platform]
    environment = platform.marker_environment(python)
    extras = (build.extra,) if build.extra else ()
    groups = (build.group, *DEFAULT_GROUPS) if build.group else DEFAULT_GROUPS
    installed = lock.resolve(environment, extras, groups, project=project)
    problems: list[str] = []
    if not lock.covers(environment):
        problems.append(
            f"uv.lock does not cover {platform.name} with Python {python}: "
            "[tool.uv] environments leave it out"
        )
    if lock.requires_python and not allows_python(lock.requires_python, python):
        problems.append(f"uv.lock's requires-python ({lock.requires_python}) excludes {python}")

    torch = installed.get("torch")
    versions, triton = _expected_versions(plan, table, build, torch)
    expected: list[tuple[str, str, bool]] = [(p, v, True) for p, v in versions.items()]
    if triton is not None and (triton[0] in installed or triton[0] in plan.packages):
        expected.append((triton[0], triton[1], False))
    packages = tuple(
        _check_package(plan, build, python, name, version, exact, installed.get(name), torch)
        for name, version, exact in expected
    )

    size, unsized = 0, 0
    for package in installed.values():
        if package.is_root or package.source.partition(":")[0] in ("editable", "directory"):
            continue
        artifact = package.best_artifact(platform, python)
        if artifact is None or artifact.size is None:
            unsized += 1
        else:
            size += artifact.size
    return TargetVerdict(build, python, packages, tuple(problems), len(installed), size, unsized)


def _expected_versions(
    plan: Plan, table: ReleaseTable, build: Build, torch: LockedPackage | None
) -> tuple[dict[str, str], tuple[str, str] | None]:
    """package -> expected version (local tag included), and the (name, version) of the Triton
    package a rocm/xpu build needs. For a torch specifier, any matching release that
    publishes the target's build is right, with the companions of that release."""
    versions = dict(build.versions)
    release = table.get(_public(versions["torch"]) or "0")
    locked = _public(torch.version) if torch else None
    if (
        plan.spec.exact_torch is None
        and locked
        and plan.spec.torch.contains(locked, prereleases=True)
    ):
        candidate = table.get(locked)
        if candidate and candidate.publishes(build.target.platform, build.index.backend):
            release = candidate
            suffix = f"+{build.local_tag}" if build.local_tag else ""
            versions = {p: candidate.companion(p) + suffix for p in versions}
    triton = release.triton_for(build.index.backend) if release else None
    return versions, triton


def _check_package(
    plan: Plan,
    build: Build,
    python: str,
    name: str,
    expected: str,
    exact: bool,
    locked: LockedPackage | None,
    torch: LockedPackage | None,
) -> PackageVerdict:
    platform = PLATFORMS[build.target.platform]
    want_index = build.index.url
    if locked is None:
        extra = f" with the extra {build.extra!r}" if build.extra else ""
        return PackageVerdict(
            name,
            expected,
            want_index,
            None,
            None,
            "-",
            None,
            (
                f"{name} is missing: nothing in uv.lock installs it on {platform.name} "
                f"with Python {python}{extra}",
            ),
        )
    problems: list[str] = []
    got_index = locked.source
    if build.from_pypi:  # the default index, whatever the project or uv sets it to
        if is_pytorch_index(got_index, plan.spec.index_url) or ":" not in got_index:
            problems.append(_index_problem(plan, build, got_index))
        want_index = got_index if not problems else want_index
    elif normalized_url(got_index) != normalized_url(want_index):
        problems.append(_index_problem(plan, build, got_index))
    got, want = _local(locked.version), _local(expected)
    if exact and got != want:
        problems.append(_tag_problem(got, want, build.index.backend))
    if _public(locked.version) != _public(expected):
        of = "the spec's torch"
        if name != "torch":
            of = f"the {name} of torch {_public(torch.version if torch else build.torch)}"
        problems.append(f"version {_public(locked.version)}, expected {_public(expected)} ({of})")
    wheel = locked.best_wheel(platform, python)
    if wheel is None:
        problems.append(_wheel_problem(locked, platform.name, python))
    return PackageVerdict(
        name,
        expected,
        want_index,
        locked.version,
        got_index,
        _index_label(plan, got_index),
        wheel.filename if wheel else None,
        tuple(problems),
    )


def _index_problem(plan: Plan, build: Build, got: str) -> str:
    want = f"expected the {build.index.backend} index ({build.index.url})"
    if build.from_pypi:
        want = f"expected PyPI's {build.check_backend} build, from the default index"
    if got.partition(":")[0] in ("git", "url", "path", "editable", "directory", "virtual"):
        return f"comes from {got}, not from a registry; {want}"
    if is_pytorch_index(got, plan.spec.index_url):
        return f"comes from the {_index_label(plan, got)} index ({got}); {want}"
    return (
        f"comes from {got}, which is not a PyTorch index: {build.target.platform} falls back "
        f"to the default index (PyPI); {want}"
    )


def _tag_problem(got: str, want: str, backend: str) -> str:
    text = f"local tag {_tag(got)}, expected {_tag(want)}: "
    if not got:
        return text + f"an untagged build (PyPI's or the cpu index's), not the {want} build"
    if not want:
        return text + f"the {got} build, not the untagged {backend} build"
    return text + f"built for {got}, not {want}"


def _wheel_problem(package: LockedPackage, platform: str, python: str) -> str:
    interpreter = "cp" + python.replace(".", "")
    text = f"no wheel for {interpreter} on {platform} in uv.lock"
    if not package.wheels:
        if package.sdist is not None:
            return text + f" (only an sdist: uv would build {package.name} from source)"
        return text + " (it lists no files for this package)"
    shown = sorted({_wheel_tag(w.filename) for w in package.wheels})
    more = f" and {len(shown) - 6} more" if len(shown) > 6 else ""
    return text + f" (it has {', '.join(shown[:6])}{more})"


def _wheel_tag(filename: str) -> str:
    """'cp312-cp312-manylinux_2_28_x86_64' from a wheel's file name."""
    parts = filename.removesuffix(".whl").split("-")
    return "-".join(parts[-3:])


def _index_label(plan: Plan, url: str) -> str:
    for index in plan.indexes:
        if normalized_url(index.url) == normalized_url(url):
            return index.backend
    if is_pytorch_index(url, plan.spec.index_url):
        return normalized_url(url).rsplit("/", 1)[-1]
    if "://pypi.org/" in url or "://pypi.python.org/" in url:
        return "PyPI"
    return url


def _public(version: str) -> str | None:
    try:
        return Version(version).public
    except InvalidVersion:
        return None


def _local(version: str) -> str:
    try:
        return Version(version).local or ""
    except InvalidVersion:
        return version.partition("+")[2]


def _tag(local: str) -> str:
    return f"+{local}" if local else "none"
