"""Pure: prove from uv.lock that every target x Python installs the torch build the spec asks
for (version, local tag, index, a wheel that fits), or say why not, or that the lock is stale."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .errors import LockError, PyprojectError
from .lock import Lock, LockedPackage, Requested, evaluate, marker_environment, parse_lock
from .plan import Build, Plan
from .platforms import PLATFORMS
from .pyproject import is_pytorch_index
from .releases import ReleaseTable, load_table

RUN_UV_LOCK = "run `uv lock`, then verify again"
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
    try:
        pyproject = tomllib.loads(pyproject_text)
    except tomllib.TOMLDecodeError as error:
        raise PyprojectError(f"not valid TOML: {error}", file=pyproject_file) from None
    name = _table(pyproject, "project").get("name")
    project = canonicalize_name(name) if isinstance(name, str) else None
    stale: list[str] = []
    notes: list[str] = []
    try:
        root = lock.root(project)
    except LockError:
        stale.append(f"{lock_file} has no project named {project!r}: it was locked for another")
        project = None
    else:
        stale, notes = _staleness(plan, lock, root, pyproject, lock_file)
    targets = tuple(
        _check_target(plan, lock, table, build, python, project)
        for build in plan.builds
        for python in plan.spec.python
    )
    return Verdicts(lock_file, targets, tuple(stale), tuple(notes))


# -- one target x Python -------------------------------------------------------------------


def _check_target(
    plan: Plan, lock: Lock, table: ReleaseTable, build: Build, python: str, project: str | None
) -> TargetVerdict:
    platform = PLATFORMS[build.target.platform]
    environment = marker_environment(platform, python)
    extras = (build.extra,) if build.extra else ()
    installed = lock.resolve(environment, extras, DEFAULT_GROUPS, project=project)
    problems: list[str] = []
    if not lock.covers(environment):
        problems.append(
            f"uv.lock does not cover {platform.name} with Python {python}: "
            "[tool.uv] environments leave it out"
        )
    if lock.requires_python and not _allows(lock.requires_python, python):
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
    if _url(got_index) != _url(want_index):
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
        if _url(index.url) == _url(url):
            return index.backend
    if is_pytorch_index(url, plan.spec.index_url):
        return _url(url).rsplit("/", 1)[-1]
    if "://pypi.org/" in url or "://pypi.python.org/" in url:
        return "PyPI"
    return url


def _url(url: str) -> str:
    return url.rstrip("/")


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


def _allows(specifier: str, python: str) -> bool:
    try:
        return SpecifierSet(specifier).contains(f"{python}.0", prereleases=True)
    except InvalidSpecifier:
        return True


# -- staleness -----------------------------------------------------------------------------
# The static signal: the root's `[package.metadata] requires-dist` in uv.lock records each
# torch-family requirement uv locked, with the index its source routed it to, split by marker.
# For every target environment, the (specifier, index) pairs pyproject.toml declares now must
# be the ones requires-dist records. Compared by evaluating both at the target's environment,
# not as text: uv rewrites and reorders markers, so textual comparison would cry wolf.

Want = frozenset[tuple[frozenset[Specifier], str | None, tuple[str, ...]]]


@dataclass(frozen=True)
class _Declared:
    name: str
    specifier: SpecifierSet
    marker: str | None
    extra: str | None  # the optional-dependency extra it is listed under
    extras: tuple[str, ...]


@dataclass(frozen=True)
class _Source:
    target: str  # an index URL, or "git", "url", "path"
    marker: str | None
    extra: str | None
    group: str | None


def _staleness(
    plan: Plan, lock: Lock, root: LockedPackage, pyproject: Mapping[str, Any], lock_file: str
) -> tuple[list[str], list[str]]:
    stale: list[str] = []
    notes: list[str] = []
    family = set(plan.packages)
    declared = _declared(pyproject, family)
    sources = _sources(pyproject, family)
    uv = _table(_table(pyproject, "tool"), "uv")
    mismatches: dict[tuple[str, Want, Want], list[str]] = {}
    for build in plan.builds:
        extra = canonicalize_name(build.extra) if build.extra else ""
        for python in plan.spec.python:
            base = marker_environment(PLATFORMS[build.target.platform], python)
            env = tuple(sorted({**base, "extra": extra}.items()))
            for name in sorted(family):
                if root.requires_dist is None:
                    break
                want = _want(declared, sources, name, env, extra)
                have = _have(root.requires_dist, name, env)
                if want != have:
                    where = mismatches.setdefault((name, want, have), [])
                    if build.target.name not in where:
                        where.append(build.target.name)
            for key, mine, theirs in (
                ("environments", uv.get("environments"), lock.supported_markers),
                ("required-environments", uv.get("required-environments"), lock.required_markers),
            ):
                if _any_marker(mine, env, key == "environments") != _any_marker(
                    theirs, env, key == "environments"
                ):
                    reason = f"[tool.uv] {key} changed for {build.target.platform}"
                    if reason not in stale:
                        stale.append(reason)
    if root.requires_dist is None:
        notes.append(
            f"{lock_file} records no requires-dist for the project (an old uv wrote it): "
            "staleness not checked"
        )
    for (name, want, have), where in mismatches.items():
        stale.append(
            f"{name} on {', '.join(where)}: pyproject.toml declares {_describe(name, want)}, "
            f"{lock_file} was locked with {_describe(name, have)}"
        )
    requires = _table(pyproject, "project").get("requires-python")
    for python in plan.spec.python:
        mine = _allows(requires, python) if isinstance(requires, str) else True
        if lock.requires_python and mine != _allows(lock.requires_python, python):
            stale.append(
                f"requires-python is {requires!r} in pyproject.toml, "
                f"{lock.requires_python!r} in {lock_file}"
            )
            break
    conflicts = _conflicts(uv.get("conflicts"), root.name)
    if conflicts is not None and conflicts != lock.conflicts:
        stale.append("[tool.uv] conflicts changed")
    return stale, notes


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _declared(pyproject: Mapping[str, Any], family: set[str]) -> list[_Declared]:
    project = _table(pyproject, "project")
    listed: list[tuple[object, str | None]] = [(r, None) for r in project.get("dependencies", [])]
    for optional, items in _table(project, "optional-dependencies").items():
        if isinstance(items, list):
            listed += [(r, canonicalize_name(optional)) for r in items]
    out = []
    for text, extra in listed:
        try:
            requirement = Requirement(str(text))
        except InvalidRequirement:
            continue  # uv would have refused the project; nothing to compare
        name = canonicalize_name(requirement.name)
        if name in family:
            marker = str(requirement.marker) if requirement.marker else None
            extras = tuple(sorted(canonicalize_name(e) for e in requirement.extras))
            out.append(_Declared(name, requirement.specifier, marker, extra, extras))
    return out


def _sources(pyproject: Mapping[str, Any], family: set[str]) -> dict[str, list[_Source]]:
    uv = _table(_table(pyproject, "tool"), "uv")
    urls: dict[object, str] = {
        entry.get("name"): str(entry.get("url", ""))
        for entry in uv.get("index", [])
        if isinstance(entry, dict)
    }
    out: dict[str, list[_Source]] = {}
    for raw_name, value in _table(uv, "sources").items():
        name = canonicalize_name(raw_name)
        if name not in family:
            continue
        for entry in value if isinstance(value, list) else [value]:
            if not isinstance(entry, dict):
                continue
            if "index" in entry:
                target = _url(urls.get(entry["index"]) or f"index:{entry['index']}")
            else:
                target = next((k for k in ("git", "url", "path") if k in entry), "path")
            extra = entry.get("extra")
            out.setdefault(name, []).append(
                _Source(
                    target,
                    entry.get("marker"),
                    canonicalize_name(extra) if isinstance(extra, str) else None,
                    entry.get("group"),
                )
            )
    return out


def _want(
    declared: list[_Declared],
    sources: dict[str, list[_Source]],
    name: str,
    env: tuple[tuple[str, str], ...],
    extra: str,
) -> Want:
    """What pyproject.toml asks uv to lock for `name` in `env`: uv applies the first source
    whose marker and extra hold, else the default index."""
    out = set()
    for item in declared:
        if item.name != name or (item.extra is not None and item.extra != extra):
            continue
        if item.marker and not evaluate(item.marker, env):
            continue
        target = None
        for source in sources.get(name, []):
            if source.group is not None or (source.extra is not None and source.extra != extra):
                continue
            if source.marker is None or evaluate(source.marker, env):
                target = source.target
                break
        out.add((frozenset(item.specifier), target, item.extras))
    return frozenset(out)


def _have(requested: tuple[Requested, ...], name: str, env: tuple[tuple[str, str], ...]) -> Want:
    out = set()
    for item in requested:
        if item.name != name or (item.marker and not evaluate(item.marker, env)):
            continue
        try:
            specifier = SpecifierSet(item.specifier)
        except InvalidSpecifier:
            specifier = SpecifierSet()
        source = _url(item.source) if item.source else None
        out.add((frozenset(specifier), source, item.extras))
    return frozenset(out)


def _describe(name: str, want: Want) -> str:
    if not want:
        return "nothing"
    parts = []
    for specifiers, source, extras in sorted(want, key=str):
        spec = ",".join(sorted(str(s) for s in specifiers))
        extra = f"[{','.join(extras)}]" if extras else ""
        parts.append(f"{name}{extra}{spec} from {source or 'the default index'}")
    return " and ".join(parts)


def _any_marker(markers: object, env: tuple[tuple[str, str], ...], empty: bool) -> bool:
    items = [markers] if isinstance(markers, str) else markers
    if not isinstance(items, list | tuple) or not items:
        return empty
    return any(evaluate(str(m), env) for m in items)


def _conflicts(raw: object, project: str) -> frozenset[frozenset[tuple[str, str, str]]] | None:
    if not isinstance(raw, list):
        return None
    out = set()
    for group in raw:
        if not isinstance(group, list):
            return None
        items = set()
        for item in group:
            if not isinstance(item, dict):
                return None
            kind = "extra" if "extra" in item else "group"
            package = canonicalize_name(str(item.get("package", project)))
            items.add((package, kind, canonicalize_name(str(item.get(kind, "")))))
        out.add(frozenset(items))
    return frozenset(out)


# -- reports -------------------------------------------------------------------------------


def format_table(verdicts: Verdicts) -> str:
    """One row per target x Python x package, and the problems under it."""
    header = ("TARGET", "PYTHON", "PACKAGE", "LOCKED", "INDEX", "WHEEL", "VERDICT")
    rows = [header]
    for target in verdicts.targets:
        for package in target.packages:
            verdict = "ok" if package.ok else "FAIL"
            if verdicts.stale:
                verdict = "stale"
            rows.append(
                (
                    target.name,
                    target.python,
                    package.package,
                    package.version or "missing",
                    package.index_label,
                    _wheel_tag(package.wheel) if package.wheel else "none",
                    verdict,
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    problems = [
        f"  {target.name}, Python {target.python}: {problem}"
        for target in verdicts.targets
        for problem in target.problems
    ] + [
        f"  {target.name}, Python {target.python}, {package.package}: {problem}"
        for target in verdicts.targets
        for package in target.packages
        for problem in package.problems
    ]
    if problems and not verdicts.stale:
        lines += ["", "problems:", *problems]
    return "\n".join(lines) + "\n"


def format_report(verdicts: Verdicts, *, sizes: bool = False) -> str:
    """The table, the stale reasons or the problems, notes, the download sizes when asked,
    and a one-line verdict."""
    out = [format_table(verdicts)]
    if verdicts.stale:
        out.append(
            f"{verdicts.lock_file} is stale: pyproject.toml changed since it was locked, so the "
            "rows above show the old lock, not wrong builds.\n"
            + "".join(f"  {reason}\n" for reason in verdicts.stale)
        )
    if sizes:
        out.append(format_sizes(verdicts))
    out += [f"note: {note}\n" for note in verdicts.notes]
    out.append(summary(verdicts) + "\n")
    return "\n".join(part for part in out if part)


def format_sizes(verdicts: Verdicts) -> str:
    lines = ["download per target (the files `uv sync` fetches):"]
    rows = []
    for target in verdicts.targets:
        rows.append((target.name, target.python, f"{target.installed} packages", _size(target)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines += [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _size(target: TargetVerdict) -> str:
    if target.unsized and not target.download_bytes:
        return "unknown (uv.lock records no sizes for these files)"
    text = _human(target.download_bytes)
    if target.unsized:
        return f"at least {text} ({target.unsized} files without a recorded size)"
    return text


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


def summary(verdicts: Verdicts) -> str:
    checked = sum(len(t.packages) for t in verdicts.targets)
    if verdicts.stale:
        return f"stale: {verdicts.lock_file} predates pyproject.toml; {RUN_UV_LOCK}"
    failed = [t for t in verdicts.targets if not t.ok]
    if not failed:
        return (
            f"ok: {len(verdicts.targets)} target x Python environments, {checked} packages, "
            "each the build the spec asks for"
        )
    names = ", ".join(dict.fromkeys(t.name for t in failed))
    return f"FAIL: {len(failed)} of {len(verdicts.targets)} target x Python environments ({names})"


def as_json(verdicts: Verdicts) -> dict[str, Any]:
    """The verdicts for machines; keys are stable."""
    return {
        "lock": verdicts.lock_file,
        "ok": verdicts.ok,
        "stale": bool(verdicts.stale),
        "stale_reasons": list(verdicts.stale),
        "notes": list(verdicts.notes),
        "targets": [
            {
                "target": t.name,
                "platform": t.build.target.platform,
                "backend": t.build.target.backend,
                "extra": t.build.extra,
                "python": t.python,
                "ok": t.ok,
                "problems": list(t.problems),
                "installed": t.installed,
                "download_bytes": t.download_bytes if t.download_bytes or not t.unsized else None,
                "files_without_size": t.unsized,
                "packages": [
                    {
                        "package": p.package,
                        "version": p.version,
                        "expected_version": p.expected_version,
                        "local_tag": _local(p.version) if p.version else None,
                        "expected_local_tag": _local(p.expected_version),
                        "index": p.index,
                        "expected_index": p.expected_index,
                        "wheel": p.wheel,
                        "ok": p.ok,
                        "problems": list(p.problems),
                    }
                    for p in t.packages
                ],
            }
            for t in verdicts.targets
        ],
    }
