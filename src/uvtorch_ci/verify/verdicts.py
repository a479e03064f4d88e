"""Pure: prove from uv.lock that every target x Python installs the torch build the spec asks
for, or say why not, or that the lock is stale.

Each torch-family package is judged by what a lock proves: the registry it was locked from and
the URL of the file uv downloads (same scheme, host and path under the index base, and not
under another backend's index), the version, and a wheel that fits the platform and Python.
Then the local tag: the backend's own tag (+cu128 on the cu128 index) or none is right, because
the PyTorch indexes tag irregularly (aarch64 torch is +cpu on the cpu index in recent
releases, aarch64 torchvision is untagged even on CUDA indexes); another backend's tag is not."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import unquote, urlsplit

from packaging.version import InvalidVersion, Version

from ..lock.model import Artifact, Lock, LockedPackage
from ..lock.reader import parse_lock
from ..plan.planner import Build, Plan
from ..platforms import PLATFORMS
from ..pyproject.data import is_pytorch_index
from ..redaction import redact_url
from ..releases.table import BACKEND_PATTERN, ReleaseTable, accepted_tags, load_table, own_tag
from .staleness import allows_python, normalized_url, staleness

# uv sync installs the `dev` dependency group unless told otherwise.
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

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def local_tag(self) -> str | None:
        """The locked version's local tag ("cu124"; "" untagged; None when nothing is locked)."""
        return _local(self.version) if self.version else None

    expected_local_tag: str = ""  # the backend's own tag; no tag is right as well

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
    versions, tritons = _expected_versions(plan, table, build, torch)
    expected: list[tuple[str, str, bool]] = [(p, v, True) for p, v in versions.items()]
    for name, version in tritons:
        if name in installed or name in plan.packages:
            expected.append((name, version, False))
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
) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """package -> expected public version, and the (name, version) of each Triton
    package a rocm/xpu build needs. For a torch specifier, any matching release that
    publishes the target's build is right, with the companions of that release."""
    versions = {p: _public(v) or v for p, v in build.versions.items()}
    release = table.get(versions["torch"])
    locked = _public(torch.version) if torch else None
    if (
        plan.spec.exact_torch is None
        and locked
        and plan.spec.torch.contains(locked, prereleases=True)
    ):
        candidate = table.get(locked)
        if candidate and candidate.publishes(build.target.platform, build.index.backend):
            release = candidate
            versions = {p: candidate.companion(p) for p in versions}
    return versions, release.tritons_for(build.index.backend) if release else ()


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
    artifact = locked.best_artifact(platform, python)
    if build.from_pypi:  # the default index, whatever the project or uv sets it to
        if is_pytorch_index(got_index, plan.spec.index_url) or ":" not in got_index:
            problems.append(_index_problem(plan, build, got_index))
        want_index = got_index if not problems else want_index
    elif normalized_url(got_index) != normalized_url(want_index):
        problems.append(_index_problem(plan, build, got_index))
    elif artifact and (download := _download_problem(plan, build, artifact)):
        problems.append(download)  # the right registry, and files fetched from elsewhere
    if _public(locked.version) != _public(expected):
        of = "the spec's torch"
        if name != "torch":
            of = f"the {name} of torch {_public(torch.version if torch else build.torch)}"
        problems.append(f"version {_public(locked.version)}, expected {_public(expected)} ({of})")
    wheel = locked.best_wheel(platform, python)
    if wheel is None:
        problems.append(_wheel_problem(locked, platform.name, python))
    own = own_tag(build.target.backend)
    got = _local(locked.version)
    if exact and got not in ("", own):
        problems.append(_tag_problem(got, build.target.backend))
    return PackageVerdict(
        name,
        _public(expected) or expected,
        want_index,
        locked.version,
        got_index,
        _index_label(plan, got_index),
        wheel.filename if wheel else None,
        tuple(problems),
        own if exact else "",
    )


def _download_problem(plan: Plan, build: Build, artifact: Artifact) -> str | None:
    """Why the file uv would download is not from the target's index, or None. It must share
    the index base's scheme, host and path, and lie in the backend's own folder or directly
    under the base (where the PyTorch index keeps files several indexes share)."""
    url, name = artifact.url, artifact.filename
    want = f"expected a file of the {build.index.backend} index ({build.index.url})"
    if url is None:
        return f"uv.lock records no URL for {name}; {want}"
    if url.startswith("path:"):
        return f"downloads {name} from a local path ({url[5:]}), not a registry; {want}"
    got, base = urlsplit(url), urlsplit(plan.spec.index_url)
    if got.scheme.lower() != base.scheme.lower():
        return f"downloads {name} over {got.scheme or 'no scheme'} from {url}; {want}"
    if got.netloc.lower() != base.netloc.lower():
        host = redact_url(got.netloc)  # a netloc is no URL to the redaction of free text
        return f"downloads {name} from another host ({host}): {url}; {want}"
    prefix = base.path.rstrip("/") + "/"
    if not got.path.startswith(prefix):
        return f"downloads {name} from outside the PyTorch indexes ({url}); {want}"
    folder, _, rest = got.path[len(prefix) :].partition("/")
    if rest and unquote(folder) != build.index.backend:
        return f"downloads {name} from the {unquote(folder)} index ({url}); {want}"
    return None


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


def _tag_problem(got: str, backend: str) -> str:
    """Words for a local tag that is neither the backend's own nor absent."""
    text = f"local tag +{got}, expected {accepted_tags(backend)}: "
    if backend == "mps":
        return text + "macOS builds are never tagged"
    if BACKEND_PATTERN.fullmatch(got):
        return text + f"built for {got}, not {backend}"
    return text + f"a tag that names no backend (a stray build, not the {backend} build)"


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
