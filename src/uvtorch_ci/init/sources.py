"""Pure: a package's [tool.uv.sources] entries as uv applies them, for `init`.

Per entry: what the index it names serves (a PyTorch backend, PyPI, another index, a nightly
or test channel), or that it is a direct source (url, path, git) or names an index the file
does not define; the extra or group that selects it; its marker; its line. `route_for` gives
the entry uv uses on a platform. An entry uv would not read (not a table, no source key, a
marker that does not parse) is refused with the key and what is valid (PyprojectError), never
dropped: the platform it was meant for would silently fall back to PyPI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.utils import canonicalize_name

from ..errors import PyprojectError
from ..platforms import PLATFORMS
from ..pyproject.data import source_entries
from ..releases.table import BACKEND_PATTERN

BACKEND_URL = re.compile(r"^(?P<base>.+)/(?P<backend>cpu|xpu|cu[0-9]{3}|rocm[0-9]+(\.[0-9]+)+)/?$")
CHANNEL_URL = re.compile(r"/whl/(?P<channel>nightly|test)(/|$)")
PYPI_URL = re.compile(r"^https?://(pypi\.org|pypi\.python\.org)/simple/?$")
ROOT_URL = re.compile(r"/whl/?$")
DIRECT_KEYS = ("url", "path", "git", "workspace")
# The Pythons markers are evaluated with when a platform is asked about (any that holds).
PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")


@dataclass(frozen=True)
class Route:
    """One source entry. `kind`: "backend" (a PyTorch index: `backend` says which), "pypi",
    "other" (an index that is neither), "channel" (a nightly or test PyTorch index), "root"
    (the root of the PyTorch indexes), "direct" (url, path, git) or "missing" (names an index
    [[tool.uv.index]] does not define)."""

    package: str
    kind: str
    index: str  # the index name, or the direct source's key ("url") for kind "direct"
    url: str
    backend: str | None
    marker: str | None
    extra: str | None  # canonical
    group: str | None  # canonical
    line: int | None

    @property
    def base(self) -> str | None:
        """The base URL of a PyTorch backend index (a mirror's, or the official one)."""
        match = BACKEND_URL.match(self.url.rstrip("/")) if self.kind == "backend" else None
        return match["base"] if match else None

    def selected_by(self, extra: str | None, group: str | None) -> bool:
        """Whether uv applies the entry with `extra` (or `group`) active: an entry keyed by
        an extra or group applies only with it, one keyed by neither always."""
        return (self.extra is None or self.extra == extra) and (
            self.group is None or self.group == group
        )

    def admits(self, platform: str, extra: str | None = None) -> bool:
        return self.marker is None or marker_holds(self.marker, platform, extra)

    @property
    def where(self) -> str:
        return f"line {self.line}" if self.line else f"[tool.uv.sources].{self.package}"


def marker_holds(marker: str, platform: str, extra: str | None = None) -> bool:
    """Whether `marker` holds on `platform` for some CPython, with `extra` active."""
    parsed = Marker(marker)
    for python in PYTHONS:
        environment = PLATFORMS[platform].marker_environment(python)
        environment["extra"] = extra or ""
        if parsed.evaluate(environment):
            return True
    return False


def read_routes(
    data: Mapping[str, Any],
    lines: Sequence[str],
    file: str,
    package: str,
    extras: Sequence[str] = (),
) -> tuple[Route, ...]:
    """`package`'s source entries, in the file's order; () when it has none. `extras` are the
    project's extras, for an entry that selects one through its marker (`extra == 'cu124'`)."""
    uv = table_at(data, "tool", "uv")
    sources = table_at(uv, "sources")
    key = next((k for k in sources if canonicalize_name(k) == package), None)
    if key is None:
        return ()
    value = sources[key]
    if not isinstance(value, dict | list):
        raise PyprojectError(
            f"{value!r} is not a source",
            file=file,
            where=f"[tool.uv.sources].{key}",
            hint='a table such as { index = "pytorch-cu128" }, or an array of them',
        )
    declared = uv.get("index")
    indexes = {
        str(i["name"]): str(i.get("url", ""))
        for i in (declared if isinstance(declared, list) else [])
        if isinstance(i, dict) and isinstance(i.get("name"), str)
    }
    start = next(
        (n for n, line in enumerate(lines) if re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", line)), 0
    )
    routes = []
    for position, raw in enumerate(source_entries(value)):
        where = f"[tool.uv.sources].{key}" + (f"[{position}]" if isinstance(value, list) else "")
        routes.append(_route(raw, package, indexes, extras, lines, start, file, where))
    return tuple(routes)


def route_for(
    routes: Sequence[Route], platform: str, extra: str | None = None, group: str | None = None
) -> Route | None:
    """The entry uv applies on `platform` with `extra` or `group` active (the first whose
    selector and marker match); None: none does, and the default index (PyPI) serves it."""
    for route in routes:
        if route.selected_by(extra, group) and route.admits(platform, extra):
            return route
    return None


def _route(
    raw: Any,
    package: str,
    indexes: Mapping[str, str],
    extras: Sequence[str],
    lines: Sequence[str],
    start: int,
    file: str,
    where: str,
) -> Route:
    def fail(message: str, hint: str) -> PyprojectError:
        return PyprojectError(message, file=file, where=where, hint=hint)

    if not isinstance(raw, dict):
        raise fail(
            f"{raw!r} is not a source table, so uv cannot read it (uvtorch-ci will not drop "
            "it: the platform it was meant for would fall back to PyPI)",
            'write it as a table, e.g. { index = "pytorch-cu128", marker = "..." }, or remove it',
        )
    marker = raw.get("marker")
    if marker is not None:
        try:
            Marker(str(marker))
        except InvalidMarker as error:
            raise fail(
                f"marker {marker!r} is not a PEP 508 marker: {error}",
                "e.g. marker = \"sys_platform == 'linux'\"",
            ) from None
    extra = raw.get("extra") if isinstance(raw.get("extra"), str) else None
    group = raw.get("group") if isinstance(raw.get("group"), str) else None
    if isinstance(marker, str) and extra is None and "extra" in marker:
        # `marker = "extra == 'cu124'"`: the extra it selects is the one that makes it true
        chosen = [e for e in extras if any(marker_holds(marker, p, e) for p in PLATFORMS)]
        if len(chosen) == 1:
            extra = chosen[0]
    index = raw.get("index")
    direct = next((k for k in DIRECT_KEYS if k in raw), None)
    if isinstance(index, str):
        value, search = index, index
        url = indexes.get(index, "")
        kind, backend = _kind(index, url, index in indexes)
    elif direct is not None:
        value, url, kind, backend = direct, str(raw[direct]), "direct", None
        search = url
    else:
        raise fail(
            f"{raw!r} names no index and no url, path or git source",
            'e.g. { index = "pytorch-cu128" }',
        )
    return Route(
        package,
        kind,
        value,
        url,
        backend,
        marker if isinstance(marker, str) else None,
        canonicalize_name(extra) if extra else None,
        canonicalize_name(group) if group else None,
        line_of(lines, search, start),
    )


def _kind(name: str, url: str, defined: bool) -> tuple[str, str | None]:
    if not defined:
        return ("pypi", None) if name == "pypi" else ("missing", None)
    if PYPI_URL.match(url):
        return "pypi", None
    if CHANNEL_URL.search(url):
        return "channel", None
    match = BACKEND_URL.match(url.rstrip("/"))
    if match and BACKEND_PATTERN.match(match["backend"]):
        return "backend", match["backend"]
    if ROOT_URL.search(url) and "pytorch" in url:
        return "root", None
    return "other", None


def line_of(lines: Sequence[str], value: str, start: int = 0) -> int | None:
    """The 1-based line at or after `start` whose code holds `value` as a quoted string."""
    for quoted in (f'"{value}"', f"'{value}'"):
        for number in range(start, len(lines)):
            if quoted in lines[number] and not lines[number].lstrip().startswith("#"):
                return number + 1
    return None


def table_at(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    """data[k1][k2]... as a table; an empty one where a key is missing or not a table (the
    merge names a value of the wrong shape)."""
    for key in keys:
        value = data.get(key)
        data = value if isinstance(value, dict) else {}
    return data
