"""Pure: mistakes in what the author wrote about torch that uv accepts silently: markers that
are never true (`platform_system == 'linux'`: the value is `Linux`; `sys_platform == 'win'`: it
is `win32`; `platform_machine == 'arm64'` on Linux, where it is `aarch64`), and sources that
name an index no [[tool.uv.index]] defines, and an extra named after a backend that no source
routes. Each finding names the file and line, and what the project installs because of it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.markers import InvalidMarker, Marker

from ..errors import did_you_mean
from ..platforms import PLATFORMS
from ..releases.table import BACKEND_PATTERN
from .locked import LockView
from .requirements import Found, at
from .sources import Route, line_of, route_for, table_at

# The values each platform variable takes on the machines wheels are built for; a comparison
# with any other value is never true (`never` is uv's own idiom for "nowhere", left alone).
VALUES: dict[str, tuple[str, ...]] = {
    "sys_platform": ("linux", "darwin", "win32", "cygwin", "emscripten", "freebsd", "aix"),
    "platform_system": ("Linux", "Darwin", "Windows", "FreeBSD", "Emscripten", "Java", "AIX"),
    "os_name": ("posix", "nt", "java"),
    "platform_machine": (
        "x86_64",
        "aarch64",
        "arm64",
        "AMD64",
        "ARM64",
        "x86",
        "i686",
        "armv7l",
        "ppc64le",
        "s390x",
        "riscv64",
    ),
}
# Real (sys_platform, platform_system, platform_machine) triples: a marker over them that holds
# on none of them (`sys_platform == 'linux' and platform_machine == 'arm64'`) is never true.
MACHINES: tuple[tuple[str, str, str], ...] = (
    *(
        ("linux", "Linux", m)
        for m in ("x86_64", "aarch64", "armv7l", "i686", "ppc64le", "s390x", "riscv64")
    ),
    ("darwin", "Darwin", "arm64"),
    ("darwin", "Darwin", "x86_64"),
    ("win32", "Windows", "AMD64"),
    ("win32", "Windows", "ARM64"),
    ("win32", "Windows", "x86"),
)
COMPARISON = re.compile(
    r"\b(?P<variable>sys_platform|platform_system|os_name|platform_machine)\s*"
    r"(?P<op>==|!=)\s*(?P<quote>['\"])(?P<value>[^'\"]*)(?P=quote)"
)
# What authors write for a platform, and the value the variable really takes there.
ALIASES = {
    "sys_platform": {
        "windows": "win32",
        "win64": "win32",
        "macos": "darwin",
        "mac": "darwin",
        "osx": "darwin",
    },
    "platform_system": {"macos": "Darwin", "mac": "Darwin", "osx": "Darwin", "win32": "Windows"},
}
MACHINE_WORDS = {
    "arm64": "'aarch64' on Linux, 'ARM64' on Windows; 'arm64' only on macOS",
    "aarch64": "'arm64' on macOS, 'ARM64' on Windows; 'aarch64' only on Linux",
    "AMD64": "'x86_64' on Linux and macOS; 'AMD64' only on Windows",
    "x86_64": "'AMD64' on Windows; 'x86_64' only on Linux and macOS",
}


@dataclass(frozen=True)
class Finding:
    """One mistake: where, what is wrong, and what it makes the project do."""

    where: str  # "pyproject.toml line 12"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def never_true(marker: str) -> str | None:
    """Why `marker` is never true, in words; None when it can be (or does not parse)."""
    try:
        parsed = Marker(marker)
    except InvalidMarker:
        return None  # the source reader names an unreadable marker
    for match in COMPARISON.finditer(marker):
        variable, op, value = match["variable"], match["op"], match["value"]
        known = VALUES[variable]
        if value in known or value == "never":
            continue
        alias = ALIASES.get(variable, {}).get(value.lower())
        fix = f" (it is {alias!r})" if alias else _nearest(value, known)
        truth = "never true" if op == "==" else "always true"
        return f"`{match[0]}` is {truth}: {variable} is never {value!r}{fix}"
    if not COMPARISON.search(marker) or re.search(r"python|implementation|extra|never", marker):
        return None
    for system, name, machine in MACHINES:
        environment = {
            "sys_platform": system,
            "platform_system": name,
            "platform_machine": machine,
            "os_name": "nt" if system == "win32" else "posix",
        }
        if parsed.evaluate(environment):
            return None
    machines = [
        m["value"] for m in COMPARISON.finditer(marker) if m["variable"] == "platform_machine"
    ]
    why = next((MACHINE_WORDS[m] for m in machines if m in MACHINE_WORDS), "")
    return f"`{marker}` holds on no platform" + (f": platform_machine is {why}" if why else "")


def _nearest(value: str, known: Sequence[str]) -> str:
    """' (it is 'Linux')' for a value that differs from a known one in case, or is close."""
    same = [k for k in known if k.lower() == value.lower()]
    if same:
        return f" (it is {same[0]!r}: the comparison is case-sensitive)"
    prefixed = [k for k in known if k.lower().startswith(value.lower())]
    if len(prefixed) == 1:
        return f" (it is {prefixed[0]!r})"
    return (
        did_you_mean(value, known)
        .replace(' (did you mean "', " (did you mean '")
        .replace('"?)', "'?)")
    )


def markers_of(
    items: Sequence[tuple[str | None, int | None]], file: str, what: str
) -> Iterator[Finding]:
    """A finding per (marker, line) in `items` that is never true; `what` says what the
    marker selects ("this torch source"), for the message."""
    for marker, line in items:
        if marker is None:
            continue
        why = never_true(marker)
        if why is not None:
            where = f"{file} line {line}" if line else file
            yield Finding(where, f"{why}; so {what}")


def lint_project(
    data: Mapping[str, Any],
    lines: Sequence[str],
    file: str,
    routes: Mapping[str, Sequence[Route]],
    wanted: Sequence[Found],
    lock: LockView | None,
) -> list[Finding]:
    """Markers that are never true and sources naming an undefined index, each with what the
    project really installs because of it."""
    findings: list[Finding] = []
    for package, entries in routes.items():
        for route in entries:
            what = f"the {package} source to {route.index!r} never applies"
            if package == "torch":
                what += _fallback(entries, route, lock)
            findings += markers_of([(route.marker, route.line)], file, what)
            if route.kind == "missing":
                findings.append(
                    Finding(
                        at(file, route.line),
                        f"the {package} source names the index {route.index!r}, which no "
                        "[[tool.uv.index]] defines: uv refuses to lock the project",
                    )
                )
    named = {r.extra or r.group for r in routes["torch"]}
    for r in wanted:
        selector = r.extra or r.group
        kind = "extra" if r.extra else "group"
        backend_named = bool(selector and BACKEND_PATTERN.match(selector.replace("-", ".")))
        if r.name == "torch" and backend_named and selector not in named and routes["torch"]:
            findings.append(
                Finding(
                    r.at(file),
                    f"the {kind} {selector} holds torch, but no torch source names it, so it "
                    f"installs PyPI's build, not {selector}'s; the spec adopts it as a `pypi` "
                    f'target of that name (a source with {kind} = "{selector}" routes it to '
                    f"the {selector} index instead)",
                )
            )
            named.add(selector)
    for r in wanted:
        what = f"{r.requirement} in {r.place} is required on no platform"
        findings += markers_of([(r.marker, r.line)], file, what)
    environments = table_at(data, "tool", "uv").get("environments")
    for marker in environments if isinstance(environments, list) else []:
        if isinstance(marker, str):
            what = "[tool.uv] environments admits no platform through it"
            findings += markers_of([(marker, line_of(lines, marker))], file, what)
    return findings


def _fallback(routes: Sequence[Route], dead: Route, lock: LockView | None) -> str:
    """What the platforms a dead torch source was meant for get instead, in words."""
    pypi = [p for p in PLATFORMS if route_for(routes, p, dead.extra, dead.group) is None]
    if not pypi:
        return ""
    text = f": {', '.join(pypi)} install PyPI's torch"
    if lock is not None:
        locked = lock.torch(pypi[0], dead.extra, dead.group)
        if locked is not None:
            text += f" ({lock.file}: {locked.torch.shown(lock.file)} on {pypi[0]})"
    return text
