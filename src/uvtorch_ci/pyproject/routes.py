"""Pure: what the spec cannot own, refused before anything is written, naming the key and what
to do. Takes the pyproject data, the plan and the release table; raises PyprojectError.

- a torch-family requirement in an extra or dependency group the tool does not fill: one of a
  package the spec does not route (its build would not match torch's); any, in extras mode,
  where only the spec's extras route the family (`--extra amd` would install PyPI's build);
  one that allows none of the builds the spec gives the platforms its marker admits;
- a torch-family entry of `[tool.uv] override-dependencies` or `constraint-dependencies` that
  allows none of the spec's builds (uv would lock another torch than the spec's);
- `[tool.uv] environments` admitting a platform the spec does not target and for which the
  release has no wheel on PyPI either (`uv lock` would fail there).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..errors import PyprojectError
from ..plan.planner import Plan
from ..platforms import PLATFORMS
from ..releases.table import ReleaseTable
from .data import FAMILY
from .values import is_backend_extra


def check_routes(data: Mapping[str, Any], plan: Plan, table: ReleaseTable, file: str) -> None:
    """Refuse, naming the key, what the spec's entries would break (see the module)."""
    managed = {canonicalize_name(p) for p in (*plan.packages, *plan.spec.packages)}
    owned_extras: set[str] = {canonicalize_name(e) for e in (*plan.extras, *plan.groups)}
    judged = {*FAMILY, *managed}
    for where, extra, requirement in _family_requirements(data, owned_extras, plan.mode, judged):
        name = canonicalize_name(requirement.name)
        if name not in managed:
            raise _fail(
                file,
                where,
                f"{name} is required here but not in the spec's packages, so its build would "
                "not match torch's",
                f'add "{name}" to packages in the spec (or remove the requirement)',
            )
        selector = where.startswith(("[project.optional-dependencies]", "[dependency-groups]"))
        if plan.mode in ("extras", "groups") and selector:
            flag = f"--extra {extra}" if extra else f"--group {where.split('.', 1)[1]}"
            flag = flag.split("[")[0]
            kind = "group" if plan.mode == "groups" else "extra"
            raise _fail(
                file,
                where,
                f"holds {name}, which the spec routes only through its {kind}s "
                f"({', '.join(plan.groups or plan.extras)}): `uv sync {flag}` would install "
                "PyPI's build",
                f"remove the requirement here, or make this {flag.split()[0][2:]} a target's "
                f"`{kind}` in the spec",
            )
        _check_builds(plan, name, requirement, extra, file, where)
    _check_environments(data, plan, table, file)


def _family_requirements(
    data: Mapping[str, Any], owned: set[str], mode: str, names: set[str]
) -> Iterator[tuple[str, str | None, Requirement]]:
    """(key, the extra it belongs to, requirement) of each requirement on one of `names` (the
    torch family, and what the spec routes) in what the tool does not fill: other extras, the
    dependency groups, overrides and constraints."""
    project = data.get("project")
    extras = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    groups = data.get("dependency-groups", {})
    tool = data.get("tool", {})
    uv = tool.get("uv", {}) if isinstance(tool, dict) else {}
    places: list[tuple[str, str | None, Any]] = []
    if isinstance(extras, dict):
        for extra, items in extras.items():
            name = canonicalize_name(extra)
            if name not in owned and not (mode != "groups" and is_backend_extra(name)):
                places.append((f"[project.optional-dependencies].{extra}", name, items))
    if isinstance(groups, dict):
        places += [
            (f"[dependency-groups].{g}", None, items)
            for g, items in groups.items()
            if canonicalize_name(g) not in owned
            and not (mode == "groups" and is_backend_extra(canonicalize_name(g)))
        ]
    if isinstance(uv, dict):
        for key in ("override-dependencies", "constraint-dependencies"):
            places.append((f"[tool.uv].{key}", None, uv.get(key)))
    for where, extra, items in places:
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, str):
                continue
            try:
                requirement = Requirement(item)
            except InvalidRequirement:
                continue  # uv names it
            if canonicalize_name(requirement.name) in names:
                yield f"{where}[{i}]", extra, requirement


def _fail(file: str, where: str, message: str, hint: str) -> PyprojectError:
    return PyprojectError(message, file=file, where=where, hint=hint)


def _check_builds(
    plan: Plan, name: str, requirement: Requirement, extra: str | None, file: str, where: str
) -> None:
    """The requirement must allow the build the spec gives each platform its marker admits."""
    relevant = []
    for build in plan.builds:
        environment = PLATFORMS[build.target.platform].marker_environment(plan.spec.python[0])
        environment["extra"] = extra or ""
        if requirement.marker is None or requirement.marker.evaluate(environment):
            relevant.append(build)
    if not relevant or name not in relevant[0].versions:
        return
    allowed = [b for b in relevant if requirement.specifier.contains(b.versions[name], True)]
    if allowed:
        return
    builds = ", ".join(sorted({f"{b.versions[name]} ({b.target.name})" for b in relevant}))
    raise _fail(
        file,
        where,
        f'"{requirement}" allows none of the builds the spec gives: {builds}',
        "loosen the requirement to the spec's torch, or change torch in the spec",
    )


def _check_environments(
    data: Mapping[str, Any], plan: Plan, table: ReleaseTable, file: str
) -> None:
    tool = data.get("tool", {})
    uv = tool.get("uv", {}) if isinstance(tool, dict) else {}
    declared = uv.get("environments") if isinstance(uv, dict) else None
    if not declared:
        return
    markers = [Marker(m) for m in ([declared] if isinstance(declared, str) else declared)]
    releases = table.matching(plan.spec.torch)
    newest = releases[-1]
    targeted = {t.platform for t in plan.spec.targets}
    for name, platform in PLATFORMS.items():
        if name in targeted or name in newest.pypi:
            continue
        pythons = sorted(newest.python, key=Version)
        if any(m.evaluate(platform.marker_environment(p)) for m in markers for p in pythons):
            raise PyprojectError(
                f"admits {name}, which the spec does not target and for which torch "
                f"{newest.torch} has no wheel on PyPI either: uv lock would fail there",
                file=file,
                where="[tool.uv].environments",
                hint=f"narrow environments to leave {name} out (`{platform.marker}` is the "
                "marker that admits it), or target it in the spec",
            )
