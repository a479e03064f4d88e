"""Pure: what a project's own uv.lock installs, for `init`: per platform and selector (the bare
project, one extra or one dependency group), the torch build real uv locked (version and
registry), the Pythons it has a wheel for there, and the companions locked with it, each with
the line of its [[package]] in uv.lock to say where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..errors import LockError
from ..lock.model import Lock, LockedPackage
from ..platforms import PLATFORMS
from ..releases.table import COMPANIONS

PYTHONS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14")


@dataclass(frozen=True)
class Locked:
    """One package as uv.lock installs it in one environment."""

    name: str
    version: str  # with its local tag
    registry: str  # the index URL it was locked from, or "url:...", "git:..." ...
    line: int | None  # its [[package]] line in uv.lock

    @property
    def public(self) -> str:
        return Version(self.version).public

    def shown(self, file: str) -> str:
        at = f"{file} line {self.line}" if self.line else file
        return f"{self.name} {self.version} from {self.registry} ({at})"


@dataclass(frozen=True)
class LockedTorch:
    """The torch build uv.lock installs on a platform with a selector, the Pythons it installs
    on there (torch and every torch-family package it brings have a wheel), the files uv
    downloads for them, and, when some Python has torch's wheel but not a companion's, why."""

    torch: Locked
    pythons: tuple[str, ...]
    companions: dict[str, Locked] = field(hash=False)
    files: tuple[str, ...] = ()  # the URLs of those wheels, for the newest Python
    unwheeled: str | None = None  # "triton 3.4.0 has no wheel for cp313 on linux-aarch64"


class LockView:
    """A parsed uv.lock asked about torch, platform by platform (cached: a big lock resolves
    slowly). `project` is the pyproject's name; LockError when the lock has no such root."""

    def __init__(self, lock: Lock, text: str, project: str | None) -> None:
        self.lock = lock
        self.file = lock.file
        self.root = lock.root(project)  # LockError: locked for another project
        self.text_lines = text.splitlines()
        self._seen: dict[tuple[str, str | None, str | None], LockedTorch | None] = {}

    @property
    def pythons(self) -> tuple[str, ...]:
        """The Pythons the lock's requires-python admits (some patch of each)."""
        return tuple(p for p in PYTHONS if _patch(self.lock.requires_python, p) is not None)

    def covers(self, platform: str) -> bool:
        """Whether the lock's environments admit `platform` with one of its Pythons."""
        return any(
            self.lock.covers(PLATFORMS[platform].marker_environment(p)) for p in self.pythons
        )

    def torch(
        self, platform: str, extra: str | None = None, group: str | None = None
    ) -> LockedTorch | None:
        """The torch build `uv sync` (with `extra` or `group`) installs on `platform`, and the
        Pythons it has a wheel for; None: uv.lock installs no torch there (or leaves the
        platform out). Where Pythons get different builds, the newest Python's."""
        key = (platform, extra, group)
        if key not in self._seen:
            self._seen[key] = self._torch(platform, extra, group)
        return self._seen[key]

    def _torch(self, platform: str, extra: str | None, group: str | None) -> LockedTorch | None:
        extras = (extra,) if extra and extra in self.root.optional else ()
        groups = (group,) if group and group in self.root.groups else ()
        if (extra and not extras) or (group and not groups):
            return None
        found: LockedTorch | None = None
        pythons: list[str] = []
        unwheeled: str | None = None
        for python in self.pythons:
            environment = PLATFORMS[platform].marker_environment(python)
            environment["python_full_version"] = (
                f"{python}.{_patch(self.lock.requires_python, python)}"
            )
            try:
                if not self.lock.covers(environment):
                    continue
                installed = self.lock.resolve(environment, extras, groups, project=self.root.name)
            except LockError:
                continue  # a marker uv.lock cannot evaluate here: nothing is claimed
            torch = installed.get("torch")
            if torch is None or torch.best_wheel(PLATFORMS[platform], python) is None:
                continue
            family = [torch, *(p for n, p in installed.items() if n in COMPANIONS or "triton" in n)]
            wheels = [p.best_wheel(PLATFORMS[platform], python) for p in family]
            lacking = next((p for p, w in zip(family, wheels, strict=True) if w is None), None)
            if lacking is not None:  # `uv sync` fails there: it has nothing to install
                found = found or LockedTorch(self._locked(torch), (), {})
                unwheeled = (
                    f"{lacking.name} {lacking.version} has no wheel for cp"
                    f"{python.replace('.', '')} on {platform}"
                )
                continue
            pythons.append(python)
            companions = {p.name: self._locked(p) for p in family[1:]}
            files = tuple(w.url for w in wheels if w is not None and w.url)
            found = LockedTorch(self._locked(torch), (), companions, files)
        if found is None:
            return None
        return LockedTorch(found.torch, tuple(pythons), found.companions, found.files, unwheeled)

    def _locked(self, package: LockedPackage) -> Locked:
        return Locked(package.name, package.version, package.source, self._line(package))

    def _line(self, package: LockedPackage) -> int | None:
        """The 1-based line of `package`'s [[package]] header in uv.lock."""
        name, version = f'name = "{package.name}"', f'version = "{package.version}"'
        lines = self.text_lines
        for number in range(len(lines) - 2):
            if lines[number] == name and lines[number + 1] == version:
                source = lines[number + 2]
                if package.source.partition(":")[2] in source or package.source in source:
                    return number  # the header is the line before `name`, 1-based
        return None


def locked_project(name: object) -> str | None:
    return canonicalize_name(name) if isinstance(name, str) else None


def _patch(requires_python: str, python: str) -> int | None:
    """The lowest patch of `python` that `requires_python` admits (0-99); None: none."""
    try:
        allowed = SpecifierSet(requires_python or "")
    except InvalidSpecifier:
        return 0
    for patch in range(100):
        if allowed.contains(f"{python}.{patch}", prereleases=True):
            return patch
    return None
