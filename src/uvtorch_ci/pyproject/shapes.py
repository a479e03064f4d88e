"""Pure: the pyproject.toml values the merge refuses up front, naming the key: a value of the
wrong type where the merge reads one, and a `[tool.uv] environments` that shuts out a
platform the spec targets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from packaging.markers import InvalidMarker, Marker

from ..errors import PyprojectError


def check_shapes(data: Mapping[str, Any], file: str) -> None:
    """Refuse, naming the key, a value of the wrong type where the merge reads one (uv would
    refuse the file too), so that nothing below meets a string where it expects a table."""

    def fail(where: str, what: str) -> PyprojectError:
        return PyprojectError(f"must be {what}", file=file, where=where)

    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise fail("tool", "a table ([tool])")
    uv = tool.get("uv", {})
    if not isinstance(uv, dict):
        raise fail("[tool].uv", "a table ([tool.uv])")
    if not isinstance(uv.get("sources", {}), dict):
        raise fail("[tool.uv].sources", "a table ([tool.uv.sources])")
    index = uv.get("index", [])
    if not isinstance(index, list) or not all(isinstance(i, dict) for i in index):
        raise fail("[tool.uv].index", "an array of tables ([[tool.uv.index]])")
    conflicts = uv.get("conflicts", [])
    if not isinstance(conflicts, list) or not all(isinstance(c, list) for c in conflicts):
        raise fail("[tool.uv].conflicts", 'an array of arrays, e.g. [[{ extra = "cpu" }, ...]]')
    environments = uv.get("environments", [])
    if not isinstance(environments, str | list) or not all(
        isinstance(e, str)
        for e in ([environments] if isinstance(environments, str) else environments)
    ):
        raise fail("[tool.uv].environments", "a marker string or an array of marker strings")
    project = data.get("project")
    if not isinstance(project, dict):
        return  # run() says what is missing
    if not isinstance(project.get("dynamic", []), list):
        raise fail("[project].dynamic", "an array of field names")
    extras = project.get("optional-dependencies", {})
    if not isinstance(extras, dict):
        raise fail("[project].optional-dependencies", "a table ([project.optional-dependencies])")
    for extra, requirements in extras.items():
        if not isinstance(requirements, list):
            raise fail(
                f"[project.optional-dependencies].{extra}", "an array of requirement strings"
            )


def check_environments(
    data: Mapping[str, Any], environments: Mapping[str, Mapping[str, str]], file: str
) -> None:
    """Refuse a `[tool.uv] environments` setting that shuts out one of `environments` (each
    targeted platform -> its PEP 508 environment): uv would not lock for it."""
    declared = data.get("tool", {}).get("uv", {}).get("environments")
    if not declared:
        return
    declared = [declared] if isinstance(declared, str) else declared
    try:
        markers = [Marker(m) for m in declared]
    except InvalidMarker as error:
        raise PyprojectError(
            f"holds an invalid marker: {error}", file=file, where="[tool.uv].environments"
        ) from None
    for platform, environment in environments.items():
        if not any(m.evaluate(dict(environment)) for m in markers):
            raise PyprojectError(
                f"shuts out {platform}, which the spec targets: uv would not lock for it",
                file=file,
                where="[tool.uv].environments",
                hint=f"add a marker for {platform} to environments, or remove the setting",
            )
