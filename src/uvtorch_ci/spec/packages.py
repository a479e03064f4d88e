"""Pure: the spec's `packages` (what follows torch's build) and `missing-builds` (what a package
gets on a target whose PyTorch index does not publish it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import did_you_mean, one_of
from ..releases.extensions import EXTENSIONS
from ..releases.table import COMPANIONS, PACKAGES
from .reader import Reader, kind, quoted
from .values import MISSING_BUILDS, is_missing_builds

DEFAULT_MISSING = "pypi"
MISSING_HINT = (
    '"pypi" (PyPI\'s build there, no source), "skip" (not installed there) or "refuse" '
    "(render stops); a string for every package, or a table per package: "
    'missing-builds = { xformers = "skip" }'
)


def parse_packages(r: Reader, data: Mapping[str, Any]) -> tuple[str, ...]:
    """`packages`, validated, in the table's order (companions first)."""
    packages = r.strings(data, "packages", "packages") or ()
    for i, package in enumerate(packages):
        if package not in PACKAGES:
            hint = "torch itself is always installed" if package == "torch" else ""
            suggestion = "" if package == "torch" else did_you_mean(package, PACKAGES)
            raise r.fail(
                f"packages[{i}]",
                f"unknown package {quoted(package)}{suggestion}; {one_of(PACKAGES)}",
                hint,
            )
    if len(set(packages)) != len(packages):
        raise r.fail("packages", "lists a package twice")
    return tuple(p for p in PACKAGES if p in packages)


def parse_missing_builds(
    r: Reader, data: Mapping[str, Any], packages: tuple[str, ...]
) -> dict[str, str]:
    """`missing-builds`: a mode for every extension package in `packages` ("pypi" unless the
    spec says otherwise)."""
    extensions = [p for p in packages if p in EXTENSIONS]
    value = data.get("missing-builds")
    if value is None:
        return dict.fromkeys(extensions, DEFAULT_MISSING)
    if isinstance(value, str):
        _check_mode(r, "missing-builds", value)
        if not extensions:
            raise _no_extension(r, "missing-builds", packages)
        return dict.fromkeys(extensions, value)
    if not isinstance(value, dict):
        raise r.fail(
            "missing-builds", f"must be a string or a table, not {kind(value)}", MISSING_HINT
        )
    out = dict.fromkeys(extensions, DEFAULT_MISSING)
    for package, mode in value.items():
        where = f"missing-builds.{package}"
        if package not in extensions:
            if package in COMPANIONS:
                raise r.fail(
                    where,
                    f"{package} is published wherever torch is: it is never missing",
                    "name only packages of " + ", ".join(EXTENSIONS),
                )
            raise _no_extension(r, where, packages, package)
        if not isinstance(mode, str):
            raise r.fail(where, f"must be a string, not {kind(mode)}", MISSING_HINT)
        _check_mode(r, where, mode)
        out[package] = mode
    return out


def _check_mode(r: Reader, where: str, mode: str) -> None:
    if not is_missing_builds(mode):
        raise r.fail(
            where,
            f"unknown mode {quoted(mode)}{did_you_mean(mode, MISSING_BUILDS)}; "
            f"{one_of(MISSING_BUILDS)}",
            MISSING_HINT,
        )


def _no_extension(
    r: Reader, where: str, packages: tuple[str, ...], package: str | None = None
) -> Exception:
    listed = [p for p in packages if p in EXTENSIONS]
    what = f"{quoted(package)} is not" if package else "none of"
    return r.fail(
        where,
        f"{what} the spec's packages that the PyTorch indexes publish on some backends only "
        f"({', '.join(listed) or 'packages lists none'})",
        f"add it to packages, or name one of: {', '.join(listed)}"
        if listed
        else f"list one of {', '.join(EXTENSIONS)} in packages, or leave missing-builds out",
    )
