"""Pure: mistakes in what the author wrote about torch that uv accepts silently: markers that
are never true (`platform_system == 'linux'`: the value is `Linux`; `sys_platform == 'win'`: it
is `win32`; `platform_machine == 'arm64'` on Linux, where it is `aarch64`), and sources that
name an index no [[tool.uv.index]] defines. Each finding names the file and line."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from packaging.markers import InvalidMarker, Marker

from ..errors import did_you_mean

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
