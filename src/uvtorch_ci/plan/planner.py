"""Pure: spec + release table -> what to render (dependencies, indexes, sources, the CI matrix)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from ..errors import PyprojectError, SpecError, did_you_mean
from ..platforms import PLATFORMS
from ..releases.table import COMPANIONS, Release, ReleaseTable, index_backend
from ..spec.parse import Spec, parse_spec
from ..spec.targets import PYPI, Target
from .extensions import (
    FROM_PYPI,
    INDEX,
    SKIP,
    Missing,
    extension_packages,
    extension_requirement,
    missing_notes,
    place_extensions,
)
from .gpus import check_gpu_archs

INDEX_PREFIX = "pytorch-"
PYPI_URL = "https://pypi.org/simple"


@dataclass(frozen=True)
class Index:
    """One explicit PyTorch index in [[tool.uv.index]]."""

    name: str
    backend: str
    url: str


@dataclass(frozen=True)
class Source:
    """One entry of a [tool.uv.sources] list."""

    index: str
    marker: str | None = None
    extra: str | None = None
    group: str | None = None

    def as_dict(self) -> dict[str, str]:
        entry = {"index": self.index}
        if self.extra:
            entry["extra"] = self.extra
        if self.group:
            entry["group"] = self.group
        if self.marker:
            entry["marker"] = self.marker
        return entry


@dataclass(frozen=True)
class Build:
    """What one target installs: the index it comes from and the versions it resolves."""

    target: Target
    index: Index
    local_tag: str
    versions: dict[str, str] = field(hash=False)  # package -> version with local tag
    extra: str | None = None  # the optional-dependency extra that selects it (extras mode)
    group: str | None = None  # the dependency group that selects it (groups mode)
    expect: str = ""  # what the smoke check expects, when not the target's backend (pypi)
    # the packages built against torch (xformers ...) that its index does not publish for it:
    # left to PyPI (package -> the version paired with its torch, None when unknown) ...
    elsewhere: dict[str, str | None] = field(default_factory=dict, hash=False)
    skipped: tuple[str, ...] = ()  # ... or not installed there (missing-builds = "skip")

    @property
    def torch(self) -> str:
        return self.versions["torch"]

    @property
    def from_pypi(self) -> bool:
        return self.index.backend == PYPI

    @property
    def check_backend(self) -> str:
        """The backend the installed build must have: for a pypi target, the build PyPI
        serves on its platform (the release table's `pypi`)."""
        return self.expect or self.target.backend


@dataclass(frozen=True)
class Job:
    """One CI job: a target on one Python."""

    build: Build
    python: str
    # what selects this job's build (`--extra cu126`); `--locked` is added by whoever runs
    # `uv sync` (the inline step, the action), once
    sync_args: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.build.target.name}-py{self.python}"


@dataclass(frozen=True)
class Plan:
    """What to render. `mode` is "markers" (one backend per platform, sources keyed by marker),
    "extras" (several backends on a platform: one optional-dependency extra per backend,
    declared conflicting, sources keyed by extra) or "groups" (the same with dependency
    groups, and optionally a default group that a bare `uv sync` installs)."""

    spec: Spec
    mode: str
    packages: tuple[str, ...]  # every package whose source the tool writes
    dependencies: tuple[str, ...]  # what goes into [project].dependencies
    extras: dict[str, tuple[str, ...]] = field(hash=False)  # [project.optional-dependencies]
    conflicts: tuple[tuple[str, ...], ...]  # sets of mutually exclusive extras
    required_environments: tuple[str, ...]
    indexes: tuple[Index, ...]
    sources: dict[str, tuple[Source, ...]] = field(hash=False)
    builds: tuple[Build, ...]
    jobs: tuple[Job, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    default_groups: tuple[str, ...] = ()  # [tool.uv] default-groups (groups mode)
    notes: tuple[str, ...] = ()  # what render says of the packages it leaves to PyPI or skips

    @property
    def conflict_key(self) -> str:
        """What the conflict sets name: "group" in groups mode, else "extra"."""
        return "group" if self.mode == "groups" else "extra"


def index_name(backend: str) -> str:
    return INDEX_PREFIX + index_backend(backend)


def extra_name(backend: str) -> str:
    """The extra that selects `backend` (PEP 685 names: rocm6.2 becomes rocm6-2)."""
    return index_backend(backend).replace(".", "-")


def make_plan(spec: Spec, table: ReleaseTable, *, routing: bool = True) -> Plan:
    """Check every target x Python against the release table and lay out what to render.

    `routing=False` plans only to judge a lock (verify, init's proof): a torch range whose
    releases need differently named Triton packages, which render cannot route in one lock, is
    then planned with all of their names instead of refused."""
    releases = _releases(spec, table)
    newest = releases[-1]
    for i, python in enumerate(spec.python):
        _check_python(spec, table, releases, python, f"python[{i}]")
    for target in spec.targets:
        _check_target(spec, table, releases, target)
    for i, python in enumerate(spec.python):
        for target in spec.targets:
            _check_target_python(spec, releases, target, python, f"python[{i}]")

    companions = ("torch", *(p for p in spec.packages if p in COMPANIONS))
    extensions = extension_packages(spec)
    backends_on: dict[str, list[str]] = {}
    platforms_of: dict[str, list[str]] = {}
    for target in spec.targets:
        backend = index_backend(target.backend)
        _append_once(backends_on.setdefault(target.platform, []), backend)
        _append_once(platforms_of.setdefault(backend, []), target.platform)
    several = next((p for p, backends in backends_on.items() if len(backends) > 1), None)
    named = next((t for t in spec.targets if t.extra), None)
    if spec.selector == "markers" and (several or named):
        raise _fail(
            spec,
            spec.key("selector"),
            f"markers select one backend per platform, but {several} has several"
            if several
            else f"markers select no extra, but {named.where if named else ''} names one",
            'use selector = "extras", or one backend per platform and no `extra`',
        )
    grouped = spec.selector == "groups" or any(t.group for t in spec.targets)
    if grouped and (named or spec.selector not in (None, "groups")):
        raise _fail(
            spec,
            spec.key("selector"),
            "targets name dependency groups, so backends are selected by groups",
            'use selector = "groups", and `group` (not `extra`) in every target',
        )
    extras_mode = grouped or spec.selector == "extras" or bool(several or named)
    # The selectors: (backend, extra) -> the platforms it routes; one per backend in markers
    # mode, one per extra and backend in extras mode (an extra named by the spec, or the
    # backend's own name).
    selectors: dict[tuple[str, str | None], list[str]] = {}
    for target in spec.targets:
        key = (index_backend(target.backend), _extra_of(target) if extras_mode else None)
        _append_once(selectors.setdefault(key, []), target.platform)
    _check_extras(spec, selectors)

    indexes = {
        backend: Index(index_name(backend), backend, f"{spec.index_url}/{backend}")
        for backend in platforms_of
        if backend != PYPI
    }
    if len(indexes) == 0:
        raise _fail(
            spec,
            spec.key("targets"),
            "every target takes PyPI's build: there is nothing for uvtorch-ci to route",
            "target at least one platform with a PyTorch index's backend",
        )
    pypi = Index(PYPI, PYPI, PYPI_URL)  # the default index, whatever the project sets it to
    builds: list[Build] = []
    missing: list[Missing] = []
    for target in spec.targets:
        backend = index_backend(target.backend)
        release = _newest_publishing(releases, target) or newest
        tag = "" if backend == PYPI else table.local_tag(target.platform, backend)
        versions = {p: release.companion(p) + (f"+{tag}" if tag else "") for p in companions}
        having = [r for r in releases if _has_build(r, target.platform, target.backend)]
        placements, lacking = place_extensions(spec, having, target) if extensions else ((), ())
        missing += lacking
        versions |= {p.package: p.version for p in placements if p.how == INDEX and p.version}
        extra = _extra_of(target) if extras_mode else None
        index = pypi if backend == PYPI else indexes[backend]
        expect = release.pypi.get(target.platform, "cpu") if backend == PYPI else ""
        builds.append(
            Build(
                target,
                index,
                tag,
                versions,
                extra=None if grouped else extra,
                group=extra if grouped else None,
                expect=expect,
                elsewhere={p.package: p.version for p in placements if p.how == FROM_PYPI},
                skipped=tuple(p.package for p in placements if p.how == SKIP),
            )
        )

    for build in builds:  # a build that certainly lacks a GPU its target states (gpu-arch)
        check_gpu_archs(build, table, spec.file)

    # rocm and xpu builds require Triton packages only the PyTorch index serves: each must be
    # a direct dependency routed to the same index, or uv looks for it on PyPI.
    tritons = {
        backend: _tritons(spec, releases, backend, platforms, routing=routing)
        for backend, platforms in platforms_of.items()
        if backend != PYPI
    }

    requirements = {p: _requirement(spec, releases, p) for p in companions}
    extension_lines = {p: extension_requirement(p, releases) for p in extensions}
    indexed = [p for p in extensions if any(p in b.versions for b in builds)]
    routed = (
        *companions,
        *indexed,
        *dict.fromkeys(t.name for ts in tritons.values() for t in ts),
    )
    sources: dict[str, list[Source]] = {package: [] for package in routed}
    dependencies: list[str] = []
    extras: dict[str, tuple[str, ...]] = {}
    for (backend, extra), platforms in selectors.items():
        marker = _any_of(platforms)
        keyed = (None, extra) if grouped else (extra, None)
        if backend == PYPI:  # no source: the default index serves these platforms
            if extra is not None:
                extras[extra] = extras.get(extra) or tuple(requirements.values())
            continue
        for package in companions:
            sources[package].append(Source(indexes[backend].name, marker, *keyed))
        for package in indexed:  # only where the index publishes it for the target
            publishing = [
                b.target.platform
                for b in builds
                if package in b.versions
                and index_backend(b.target.backend) == backend
                and (b.extra or b.group) == extra
            ]
            if publishing:
                sources[package].append(Source(indexes[backend].name, _any_of(publishing), *keyed))
        needed = [(t, _any_of(on)) for t in tritons[backend] if (on := t.on(platforms))]
        for triton, where in needed:
            sources[triton.name].append(Source(indexes[backend].name, where, *keyed))
        if extra is not None:
            extras[extra] = (
                *(extras.get(extra) or requirements.values()),
                *(f"{triton.requirement} ; {where}" for triton, where in needed),
            )
    other = spec.other_platforms
    if other != PYPI:
        if extras_mode:
            raise _fail(
                spec,
                spec.key("other-platforms"),
                "routes the platforms no target names with markers, which extras and groups "
                "modes do not use",
                "leave other-platforms out (PyPI), or target those platforms",
            )
        index = indexes.setdefault(
            other, Index(index_name(other), other, f"{spec.index_url}/{other}")
        )
        rest = _none_of(list(backends_on))
        for package in companions:
            sources[package].append(Source(index.name, rest))
    if not extras_mode:
        dependencies = list(requirements.values())
        dependencies += _installed(extension_lines, builds)
        for required in tritons.values():
            dependencies += [f"{t.requirement} ; {_any_of(list(t.platforms))}" for t in required]
    for extra in extras:  # the packages built against torch, on the platforms that install them
        selected = [b for b in builds if (b.extra or b.group) == extra]
        extras[extra] = (*extras[extra], *_installed(extension_lines, selected))

    jobs = tuple(
        Job(build=build, python=python, sync_args=selector_args(build, spec.default_group))
        for build in builds
        for python in spec.python
    )
    groups = extras if grouped else {}
    extras = {} if grouped else extras
    selecting = groups or extras
    return Plan(
        spec=spec,
        mode="groups" if grouped else "extras" if extras_mode else "markers",
        packages=tuple(sources),
        dependencies=tuple(dependencies),
        extras=extras,
        groups=groups,
        default_groups=(spec.default_group,) if spec.default_group else (),
        conflicts=(tuple(selecting),) if len(selecting) > 1 else (),
        required_environments=tuple(PLATFORMS[p].marker for p in backends_on),
        indexes=tuple(indexes.values()),
        sources={p: tuple(entries) for p, entries in sources.items()},
        builds=tuple(builds),
        jobs=jobs,
        notes=missing_notes(missing),
    )


def _installed(lines: Mapping[str, str], builds: list[Build]) -> list[str]:
    """Each package's requirement, limited by a marker to the platforms of `builds` that
    install it when some skip it (missing-builds = "skip"); none when all do."""
    out = []
    for package, line in lines.items():
        platforms = list(dict.fromkeys(b.target.platform for b in builds))
        installed = [
            p
            for p in platforms
            if any(b.target.platform == p for b in builds if package not in b.skipped)
        ]
        if installed:
            out.append(line if installed == platforms else f"{line} ; {_any_of(installed)}")
    return out


def _extra_of(target: Target) -> str:
    """The extra (or group) that selects the target's backend: the spec's, or its own name."""
    return target.extra or target.group or extra_name(target.backend)


def selector_args(build: Build, default: str | None) -> tuple[str, ...]:
    """What selects a job's build for `uv sync` (which adds --locked itself): its extra, or
    its group (none for the default group, which a bare sync installs; the default group
    left out for any other)."""
    if build.extra:
        return ("--extra", build.extra)
    if build.group is None or build.group == default:
        return ()
    if default:
        return ("--no-group", default, "--group", build.group)
    return ("--group", build.group)


def _check_extras(spec: Spec, selectors: Mapping[tuple[str, str | None], list[str]]) -> None:
    """One extra selects one backend per platform: uv could not tell two apart."""
    seen: dict[tuple[str, str], str] = {}
    for (backend, extra), platforms in selectors.items():
        if extra is None:
            continue
        for platform in platforms:
            other = seen.setdefault((platform, extra), backend)
            if other != backend:
                target = next(
                    t
                    for t in spec.targets
                    if t.platform == platform and _extra_of(t) == extra and t.backend != other
                )
                kind = "group" if target.group else "extra"
                raise _fail(
                    spec,
                    f"{target.where}.{kind}",
                    f'the {kind} "{extra}" already selects {other} on {platform}',
                    f"give this target an {kind} of its own"
                    if kind == "extra"
                    else "give this target a group of its own",
                )


def _append_once(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _any_of(platforms: list[str]) -> str:
    markers = [PLATFORMS[p].marker for p in platforms]
    if len(markers) == 1:
        return markers[0]
    return " or ".join(f"({m})" for m in markers)


def _none_of(platforms: list[str]) -> str:
    """The marker true on every platform but `platforms`."""
    return " and ".join(
        f"(sys_platform != '{PLATFORMS[p].sys_platform}' or "
        f"platform_machine != '{PLATFORMS[p].machine}')"
        for p in platforms
    )


def _requirement(spec: Spec, releases: tuple[Release, ...], package: str) -> str:
    if package == "torch":
        exact = spec.exact_torch
        return f"torch=={exact}" if exact else "torch" + "".join(spec.torch_text.split())
    versions = sorted({Version(r.companion(package)) for r in releases})
    if len(versions) == 1:
        return f"{package}=={versions[0]}"
    return f"{package}>={versions[0]},<={versions[-1]}"


@dataclass(frozen=True)
class Triton:
    """A Triton package the builds of one backend require, and where they require it."""

    name: str
    requirement: str  # pinned where the table confirms every release's version, else the name
    platforms: tuple[str, ...]  # the backend's target platforms whose builds require it

    def on(self, platforms: list[str]) -> list[str]:
        return [p for p in platforms if p in self.platforms]


def _tritons(
    spec: Spec, releases: tuple[Release, ...], backend: str, platforms: list[str], *, routing: bool
) -> tuple[Triton, ...]:
    """What the `backend` builds of the spec's releases require of Triton on `platforms`.

    A version is pinned only where the table confirms it for every release the spec admits
    (seen in real locks, or read from the wheels by `releases refresh`); otherwise the package
    is routed unpinned and uv takes the version torch itself requires. Releases that need
    differently named packages cannot share one lock: routing a package a build does not
    require would install a second `triton` module next to its own (without `routing`, when
    the plan only judges a lock, every name is kept instead)."""
    names: dict[tuple[str, ...], list[str]] = {}  # name set -> the releases requiring it
    found: dict[str, dict[str, set[str | None]]] = {}  # name -> platform -> versions
    for release in releases:
        entry = release.triton_entry(backend)
        on = [p for p in platforms if release.publishes(p, backend)]
        if entry is None or not on:
            continue
        needed: set[str] = set()
        for requirement in entry.requires:
            for platform in on:
                if requirement.holds(platform, spec.python):
                    needed.add(requirement.name)
                    versions = found.setdefault(requirement.name, {}).setdefault(platform, set())
                    versions.add(requirement.version if entry.confirmed else None)
        if needed:
            names.setdefault(tuple(sorted(needed)), []).append(release.torch)
    if len(names) > 1 and routing:
        target = next(t for t in spec.targets if index_backend(t.backend) == backend)
        shown = sorted(" + ".join(n) for n in names)
        having = "; ".join(f"{' + '.join(n)} from torch {', '.join(v)}" for n, v in names.items())
        raise _fail(
            spec,
            spec.key("torch"),
            f'"{spec.torch_text}" spans releases whose {backend} builds need differently '
            f"named Triton packages ({', '.join(shown)}), which one lock cannot route",
            f"narrow torch so {target.name} gets one of them ({having})",
        )
    out = []
    for name, by_platform in found.items():
        versions = set().union(*by_platform.values())
        pinned = sorted((v for v in versions if v), key=Version)
        text = name
        if None not in versions:
            text += f"=={pinned[0]}" if len(pinned) == 1 else f">={pinned[0]},<={pinned[-1]}"
        out.append(Triton(name, text, tuple(p for p in platforms if p in by_platform)))
    return tuple(out)


def _fail(spec: Spec, where: str, message: str, hint: str = "") -> SpecError:
    return SpecError(message, file=spec.file, where=where, hint=hint)


def _releases(spec: Spec, table: ReleaseTable) -> tuple[Release, ...]:
    releases = table.matching(spec.torch)
    if releases:
        return releases
    known = table.versions()
    exact = spec.exact_torch
    suggestion = did_you_mean(exact, known) if exact else ""
    raise _fail(
        spec,
        spec.key("torch"),
        f'no torch release in the table matches "{spec.torch_text}"{suggestion}',
        f"known releases: {known[0]} ... {known[-1]} (see `uvtorch-ci releases`)",
    )


def _newest_publishing(releases: tuple[Release, ...], target: Target) -> Release | None:
    backend = index_backend(target.backend)
    if backend == PYPI:
        having = [r for r in releases if target.platform in r.pypi]
        return having[-1] if having else None
    having = [r for r in releases if r.publishes(target.platform, backend)]
    return having[-1] if having else None


def _check_target(
    spec: Spec, table: ReleaseTable, releases: tuple[Release, ...], target: Target
) -> None:
    if _newest_publishing(releases, target):
        return
    backend = index_backend(target.backend)
    if backend == PYPI:
        raise _fail(
            spec,
            f"{target.where}.backend",
            f"PyPI has no torch {releases[-1].torch} wheel for {target.platform}",
            "target it with a backend a PyTorch index publishes there",
        )
    newest = releases[-1]
    published = newest.backends(target.platform)
    shown = target.backend if target.backend == backend else f"{target.backend} ({backend} index)"
    if not published:
        message = f"torch {newest.torch} publishes no builds for {target.platform}"
        last = max(
            (r for r in table.releases if r.backends(target.platform)),
            key=lambda r: r.version,
            default=None,
        )
        hint = (
            f"the last release with {target.platform} builds is torch {last.torch}" if last else ""
        )
        raise _fail(spec, f"{target.where}.platform", message, hint)
    else:
        message = (
            f"torch {newest.torch} does not publish {shown} for {target.platform}; "
            f"it publishes: {', '.join(published)}"
        )
        nearest = table.nearest_with(newest.version, target.platform, backend)
        hint = (
            f"the nearest release with {backend} on {target.platform} is torch {nearest.torch}"
            if nearest
            else f"no release in the table publishes {backend} for {target.platform}"
        )
    raise _fail(spec, f"{target.where}.backend", message, hint)


def _check_python(
    spec: Spec, table: ReleaseTable, releases: tuple[Release, ...], python: str, where: str
) -> None:
    if any(python in r.python for r in releases):
        return
    newest = releases[-1]
    first = min(
        (r for r in table.releases if python in r.python), key=lambda r: r.version, default=None
    )
    hint = f"the first release with Python {python} wheels is torch {first.torch}" if first else ""
    raise _fail(
        spec,
        spec.key(where),
        f"torch {newest.torch} has no wheels for Python {python}; "
        f"it supports {', '.join(newest.python)}",
        hint,
    )


def _has_build(release: Release, platform: str, backend: str) -> bool:
    """Whether `release` has the target's build: on the backend's index, or (backend
    "pypi") on PyPI."""
    if backend == PYPI:
        return platform in release.pypi
    return release.publishes(platform, index_backend(backend))


def _pythons_of(releases: tuple[Release, ...], platform: str, backend: str) -> set[str]:
    """The Pythons a target's build has wheels for in some release of `releases`."""
    return {py for r in releases if _has_build(r, platform, backend) for py in r.python}


def _check_target_python(
    spec: Spec, releases: tuple[Release, ...], target: Target, python: str, where: str
) -> None:
    """A target whose build exists only in some releases of a torch range must not get a
    Python those releases lack: its CI job would fail at `uv sync`."""
    pythons = _pythons_of(releases, target.platform, target.backend)
    if python in pythons:
        return
    having = [r.torch for r in releases if _has_build(r, target.platform, target.backend)]
    shown = having[0] if len(having) == 1 else f"{having[0]} ... {having[-1]}"
    every = set.intersection(*(_pythons_of(releases, t.platform, t.backend) for t in spec.targets))
    hint = "the Pythons every target's build has: " + (
        ", ".join(sorted(every, key=Version)) if every else "none; split the targets"
    )
    raise _fail(
        spec,
        spec.key(where),
        f"{target.name} gets its {target.backend} build only from torch {shown}, which has no "
        "wheels "
        f"for Python {python}; it has {', '.join(sorted(pythons, key=Version))}",
        hint,
    )


def check_requires_python(
    spec: Spec, table: ReleaseTable, requires_python: str | None, pyproject_file: str
) -> None:
    """A requires-python that admits a Python older than every torch release of the spec:
    `uv lock` must solve for it and fails; refused here with the floor that would work."""
    if not requires_python:
        return
    try:
        allowed = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return
    releases = table.matching(spec.torch)
    if not releases:
        return
    lowest = min(Version(py) for r in releases for py in r.python)
    below = [
        f"{lowest.major}.{minor}"
        for minor in range(lowest.minor)
        if allowed.contains(Version(f"{lowest.major}.{minor}.0"), prereleases=True)
        or allowed.contains(Version(f"{lowest.major}.{minor}.99"), prereleases=True)
    ]
    if below:
        raise PyprojectError(
            f"requires-python ({requires_python}) admits Python {', '.join(below)}, for which "
            f"torch {spec.torch_text} has no wheels (its oldest is {lowest}): `uv lock` solves "
            "for every Python requires-python admits, and would fail",
            file=pyproject_file,
            where="project.requires-python",
            hint=f'raise it: requires-python = ">={lowest}"',
        )


def default_python(
    data: Mapping[str, Any], table: ReleaseTable, requires_python: str | None
) -> str | None:
    """The newest Python the spec's torch releases give every target's build, and the
    project's requires-python allows."""
    torch = data.get("torch")
    if not isinstance(torch, str):
        return None
    try:
        specifier = SpecifierSet(f"=={torch}" if torch[:1].isdigit() else torch)
    except InvalidSpecifier:
        return None
    releases = table.matching(specifier)
    if not releases:
        return None
    try:
        allowed = SpecifierSet(requires_python or "")
    except InvalidSpecifier:
        allowed = SpecifierSet()
    candidates = set(releases[-1].python)
    targets = data.get("targets")
    for target in targets if isinstance(targets, list) else []:
        if isinstance(target, dict):
            platform, backend = target.get("platform"), target.get("backend")
            if isinstance(platform, str) and isinstance(backend, str):
                pythons = _pythons_of(releases, platform, backend)
                if pythons and pythons & candidates:  # else make_plan reports the target
                    candidates &= pythons
    for python in sorted(candidates, key=lambda v: Version(v), reverse=True):
        if allowed.contains(Version(python + ".0")) or allowed.contains(Version(python + ".99")):
            return python
    return None


def plan_from_data(
    data: Mapping[str, Any],
    *,
    file: str,
    prefix: str,
    env: Mapping[str, str],
    table: ReleaseTable,
    requires_python: str | None = None,
    pyproject_file: str = "pyproject.toml",
    routing: bool = True,
) -> Plan:
    """Spec table -> validated Spec -> Plan, in one pure call. `pyproject_file` names
    pyproject.toml in an error about its requires-python; `routing` as in make_plan."""
    spec = parse_spec(
        data,
        file=file,
        prefix=prefix,
        env=env,
        requires_python=requires_python,
        default_python=default_python(data, table, requires_python),
    )
    _releases(spec, table)
    if not spec.python:
        raise _fail(
            spec,
            spec.key("python"),
            f"no Python version is allowed both by torch {spec.torch_text} and by the "
            f"project's requires-python ({requires_python})",
            'set python = ["3.X"] to one both allow',
        )
    plan = make_plan(spec, table, routing=routing)
    check_requires_python(spec, table, requires_python, pyproject_file)
    return plan
