"""`releases refresh`: rebuild the release table from the PyTorch indexes and PyPI themselves.

Three parts, in this order: the pure part (index pages, PyPI JSON and core metadata -> a
ReleaseTable; no I/O), the reader (`Fetcher`, `observe`: urllib only, reads and never writes),
and `refresh_command`, which compares, prints the diff and writes through files.py.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from email.parser import HeaderParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from . import __version__
from .errors import EXIT_OK, EXIT_PROBLEM, UvtorchError
from .files import Output, read_text, write_atomic
from .platforms import PLATFORMS
from .releases import BACKEND_PATTERN, COMPANIONS, Release, ReleaseTable, dump_table, parse_table
from .spec import DEFAULT_INDEX_URL, INDEX_URL_ENV

DEFAULT_PYPI_URL = "https://pypi.org"
USER_AGENT = f"uvtorch-ci/{__version__} (releases refresh)"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
# PEP 691: prefer JSON, take HTML (PEP 503) from servers that only have that.
ACCEPT_SIMPLE = f"{SIMPLE_JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
# The order of platforms inside a row, as the shipped table has it (dump_table keeps it).
_ROW_ORDER = ("linux-x86_64", "linux-aarch64", "macos-arm64", "windows-x86_64", "macos-x86_64")
PLATFORM_ORDER = tuple(dict.fromkeys((*_ROW_ORDER, *PLATFORMS)))
# A requirement that pins the CUDA runtime a PyPI build links: nvidia-cuda-runtime-cu12==12.4.127
# up to 2.10, cuda-toolkit[...]==13.0.2 from 2.11 (and nvidia-cuda-runtime==13.0.* elsewhere).
_CUDA_PIN = re.compile(
    r"^(cuda-toolkit|nvidia-cuda-runtime(-cu[0-9]+)?|nvidia-cuda-nvrtc(-cu[0-9]+)?)$"
)
_PLATFORM_SYSTEM = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}


class RefreshError(UvtorchError):
    """An index could not be read, or answered something that is not an index."""


# --- pure: pages -> facts -----------------------------------------------------------------


@dataclass(frozen=True)
class IndexFile:
    """One file a simple index page lists."""

    filename: str
    url: str
    requires_python: str | None = None
    metadata_url: str | None = None  # PEP 658/714 core metadata, when the index serves it
    yanked: bool = False


@dataclass(frozen=True)
class SimplePage:
    """A simple index page: a root page names projects (or backends), a project page files."""

    names: tuple[str, ...]
    files: tuple[IndexFile, ...]


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: tuple[dict[str, str | None], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base":
            self.base = dict(attrs).get("href") or self.base
        elif tag == "a":
            self._open = (dict(attrs), [])

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open[0], "".join(self._open[1]).strip()))
            self._open = None


def _file(url: str, filename: str, requires_python: Any, metadata: bool, yanked: bool) -> IndexFile:
    url = url.split("#", 1)[0]
    return IndexFile(
        filename=filename,
        url=url,
        requires_python=str(requires_python) if requires_python else None,
        metadata_url=f"{url}.metadata" if metadata else None,
        yanked=yanked,
    )


def parse_simple_page(body: bytes, content_type: str, url: str) -> SimplePage:
    """Read a simple index page in either form: PEP 691 JSON or PEP 503 HTML.

    Raises ValueError (or KeyError, TypeError) when the body is not such a page.
    """
    if "json" in content_type.lower() or (not content_type and body.lstrip()[:1] == b"{"):
        return _json_page(json.loads(body), url)
    return _html_page(body.decode("utf-8", errors="replace"), url)


def _json_page(data: Any, url: str) -> SimplePage:
    if not isinstance(data, dict):
        raise ValueError("a PEP 691 page is a JSON object")
    files = tuple(
        _file(
            urljoin(url, item["url"]),
            str(item["filename"]),
            item.get("requires-python"),
            bool(item.get("core-metadata", item.get("dist-info-metadata"))),
            item.get("yanked") not in (None, False),
        )
        for item in data.get("files", [])
    )
    return SimplePage(tuple(str(p["name"]) for p in data.get("projects", [])), files)


def _html_page(text: str, url: str) -> SimplePage:
    parser = _Anchors()
    parser.feed(text)
    parser.close()
    base = urljoin(url, parser.base) if parser.base else url
    names: list[str] = []
    files: list[IndexFile] = []
    for attrs, anchor_text in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        names.append(anchor_text)
        target = urljoin(base, href)
        filename = unquote(urlsplit(target).path.rsplit("/", 1)[-1]) or anchor_text
        metadata = any(
            name in attrs and attrs[name] != "false"
            for name in ("data-core-metadata", "data-dist-info-metadata")
        )
        requires_python = attrs.get("data-requires-python")
        files.append(_file(target, filename, requires_python, metadata, "data-yanked" in attrs))
    return SimplePage(tuple(names), tuple(files))


@dataclass(frozen=True)
class WheelBuild:
    """What a wheel's file name says: project, public version, local tag, Pythons, platforms."""

    name: str
    version: str
    local: str  # "" when untagged
    pythons: frozenset[str]  # "3.11"
    platforms: frozenset[str]  # names in PLATFORMS

    def tagged_for(self, backend: str) -> bool:
        """Whether the local tag names `backend`: `+cpu.cxx11.abi` names cpu, `+rocm6.2.4`
        names rocm6.2.4 and not rocm6.2."""
        rest = self.local.removeprefix(f"{backend}.")
        return self.local == backend or (rest != self.local and not rest[:1].isdigit())


def wheel_platform(tag: str) -> str | None:
    """The platform (a PLATFORMS name) a wheel platform tag is for, or None."""
    if tag == "win_amd64":
        return "windows-x86_64"
    for system, prefixes in (("linux", ("manylinux", "linux_")), ("macos", ("macosx_",))):
        if tag.startswith(prefixes):
            for arch in ("x86_64", "aarch64", "arm64"):
                if tag.endswith(f"_{arch}") and f"{system}-{arch}" in PLATFORMS:
                    return f"{system}-{arch}"
    return None


def wheel_build(filename: str) -> WheelBuild | None:
    """Parse a wheel file name; None for anything that is not a valid wheel name."""
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        return None
    pythons = {
        f"{found[1]}.{found[2]}"
        for tag in tags
        if (found := re.fullmatch(r"cp([0-9])([0-9]+)", tag.interpreter))
    }
    platforms = {p for tag in tags if (p := wheel_platform(tag.platform)) is not None}
    return WheelBuild(
        str(name), version.public, version.local or "", frozenset(pythons), frozenset(platforms)
    )


def backend_order(backend: str) -> tuple[int, tuple[int, ...], str]:
    """Sort key of backends as the table lists them: cpu, cuXYZ, rocmX.Y, xpu, anything else."""
    if backend == "cpu":
        return (0, (), "")
    if re.fullmatch(r"cu[0-9]{2,}", backend):
        return (1, (int(backend[2:]),), "")
    if re.fullmatch(r"rocm[0-9]+(\.[0-9]+)*", backend):
        return (2, tuple(int(part) for part in backend[4:].split(".")), "")
    return (3, (), "") if backend == "xpu" else (4, (), backend)


def candidate_backends(previous: ReleaseTable) -> tuple[str, ...]:
    """The indexes to probe when the root lists none: every backend the table knows, the gaps
    in the newest CUDA and ROCm series, and the plausible next ones (cu133, cu140, rocm7.3,
    rocm8.0 after cu132 and rocm7.2)."""
    known = {"cpu", "xpu"}
    for release in previous.releases:
        known.update(b for backends in release.builds.values() for b in backends)
    known.discard("mps")
    cuda = [(int(b[2:-1]), int(b[-1])) for b in known if re.fullmatch(r"cu[0-9]{3}", b)]
    if cuda:
        major = max(cuda)[0]
        top = max(minor for m, minor in cuda if m == major)
        known.update(f"cu{major}{minor}" for minor in range(top + 3))
        known.update(f"cu{major + 1}{minor}" for minor in range(2))
    rocm = [
        (int(found[1]), int(found[2]))
        for b in known
        if (found := re.fullmatch(r"rocm([0-9]+)\.([0-9]+).*", b))
    ]
    if rocm:
        major = max(rocm)[0]
        top = max(minor for m, minor in rocm if m == major)
        known.update(f"rocm{major}.{minor}" for minor in range(top + 3))
        known.update(f"rocm{major + 1}.{minor}" for minor in range(2))
    return tuple(sorted(known, key=backend_order))


def listed_backends(page: SimplePage) -> tuple[str, ...]:
    """The backend indexes a root page names (download.pytorch.org's root names projects)."""
    names = {name.strip("/") for name in page.names}
    return tuple(
        sorted((n for n in names if BACKEND_PATTERN.match(n) and n != "mps"), key=backend_order)
    )


def parse_pypi_project(data: Any) -> dict[str, tuple[str, ...]]:
    """PyPI's `/pypi/<name>/json`: final versions -> the file names not yanked."""
    out: dict[str, tuple[str, ...]] = {}
    for version, files in data["releases"].items():
        try:
            parsed = Version(version)
        except InvalidVersion:
            continue
        names = tuple(str(f["filename"]) for f in files if not f.get("yanked"))
        if names and not parsed.is_prerelease and not parsed.is_postrelease:
            out[version] = names
    return out


@dataclass(frozen=True)
class PyPIRelease:
    """PyPI's `/pypi/<name>/<version>/json`: the metadata a release declares."""

    requires_dist: tuple[str, ...]
    requires_python: str | None


def parse_pypi_release(data: Any) -> PyPIRelease:
    info = data["info"]
    return PyPIRelease(
        tuple(str(r) for r in info.get("requires_dist") or ()),
        str(info["requires_python"]) if info.get("requires_python") else None,
    )


@dataclass
class Observed:
    """Everything refresh read, before any conclusion: the input of `build_table`."""

    # backend -> the files of <index-url>/<backend>/torch/, for the indexes that exist
    indexes: dict[str, tuple[IndexFile, ...]] = field(default_factory=dict)
    # torch, torchvision, torchaudio -> version -> file names on PyPI
    projects: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # (project, version) -> what PyPI's JSON API says of that release
    releases: dict[tuple[str, str], PyPIRelease] = field(default_factory=dict)
    # core metadata URL -> METADATA text (of the rocm/xpu torch builds: their Triton pin)
    metadata: dict[str, str] = field(default_factory=dict)


def _floor(previous: ReleaseTable, package: str) -> Version | None:
    versions = [Version(r.companion(package)) for r in previous.releases]
    return min(versions) if versions else None


def releases_wanted(
    projects: Mapping[str, Mapping[str, tuple[str, ...]]], previous: ReleaseTable
) -> list[tuple[str, str]]:
    """The (project, version) pairs whose PyPI metadata the table needs: torch and companion
    releases not older than the oldest the table lists (it starts at torch 2.0)."""
    wanted = []
    for package in ("torch", *COMPANIONS):
        floor = _floor(previous, package)
        for version in sorted(projects.get(package, {}), key=Version):
            if floor is None or Version(version) >= floor:
                wanted.append((package, version))
    return wanted


@dataclass(frozen=True)
class _Build:
    backend: str
    wheel: WheelBuild
    file: IndexFile


def _torch_builds(indexes: Mapping[str, Iterable[IndexFile]]) -> dict[str, list[_Build]]:
    """Public torch version -> every build the indexes publish of it.

    A file is a build of the index it is listed on when its local tag names that index or it
    has none (aarch64 CUDA builds are often untagged); one tagged for another backend is a
    copy, and macOS builds are cpu builds (with MPS) wherever they are listed."""
    out: dict[str, list[_Build]] = {}
    for backend, files in indexes.items():
        for item in files:
            wheel = wheel_build(item.filename)
            if wheel is not None and not item.yanked and _is_build_of(wheel, backend):
                out.setdefault(wheel.version, []).append(_Build(backend, wheel, item))
    return out


def _is_build_of(wheel: WheelBuild, backend: str) -> bool:
    if wheel.name != "torch" or Version(wheel.version).is_prerelease:
        return False
    if wheel.local and not wheel.tagged_for(backend):
        return False
    return backend == "cpu" or not all(p.startswith("macos-") for p in wheel.platforms)


def torch_versions(observed: Observed, previous: ReleaseTable) -> list[str]:
    """The torch releases the table covers: final releases on PyPI, not older than its oldest."""
    floor = _floor(previous, "torch")
    on_pypi = observed.projects.get("torch", {})
    return sorted((v for v in on_pypi if floor is None or Version(v) >= floor), key=Version)


def triton_probes(observed: Observed, versions: Iterable[str]) -> dict[tuple[str, str], str]:
    """(torch version, "rocm" | "xpu") -> the core metadata URL of one Linux x86_64 torch build
    on the newest such index: its Requires-Dist names the Triton package."""
    builds = _torch_builds(observed.indexes)
    probes: dict[tuple[str, str], str] = {}
    for version in versions:
        found = builds.get(Version(version).public, [])
        for build in sorted(found, key=lambda b: (backend_order(b.backend), b.file.filename)):
            kind = "rocm" if build.backend.startswith("rocm") else build.backend
            url = build.file.metadata_url
            if kind in ("rocm", "xpu") and url and "linux-x86_64" in build.wheel.platforms:
                probes[(version, kind)] = url  # sorted oldest first: the newest index wins
    return probes


def _requirements(lines: Iterable[str]) -> Iterable[Requirement]:
    for line in lines:
        try:
            yield Requirement(line)
        except InvalidRequirement:
            continue


def _pin(requirement: Requirement) -> str | None:
    for spec in requirement.specifier:
        if spec.operator in ("==", "===") and "*" not in spec.version:
            return spec.version
    return None


def triton_pin(metadata: str) -> str | None:
    """The Triton requirement ("name==version") in a torch build's core metadata, or None."""
    requires = HeaderParser().parsestr(metadata).get_all("Requires-Dist") or []
    for requirement in _requirements(requires):
        name = canonicalize_name(requirement.name)
        version = _pin(requirement)
        if "triton" in name and version is not None:
            return f"{name}=={version}"
    return None


def _marker_environment(platform: str, python: str) -> dict[str, str]:
    target = PLATFORMS[platform]
    return {
        "sys_platform": target.sys_platform,
        "platform_system": _PLATFORM_SYSTEM[target.sys_platform],
        "platform_machine": target.machine,
        "os_name": "nt" if target.sys_platform == "win32" else "posix",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }


def pypi_backend(requires_dist: Iterable[str], platform: str, python: str) -> str:
    """The backend of the plain PyPI build on `platform`: the CUDA runtime its metadata pins
    there (cu124 for `nvidia-cuda-runtime-cu12==12.4.127; platform_system == "Linux" and
    platform_machine == "x86_64"`), else cpu."""
    environment = _marker_environment(platform, python)
    for requirement in _requirements(requires_dist):
        if not _CUDA_PIN.match(canonicalize_name(requirement.name)):
            continue
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        for spec in requirement.specifier:
            found = re.match(r"([0-9]+)\.([0-9]+)", spec.version)
            if spec.operator in ("==", "===", "~=") and found:
                return f"cu{found[1]}{found[2]}"
    return "cpu"


@dataclass(frozen=True)
class CompanionLink:
    """What one companion release says of torch: an exact pin, or the range it serves."""

    version: Version
    exact: str | None
    serves: SpecifierSet | None


def companion_links(observed: Observed, package: str) -> list[CompanionLink]:
    links = []
    for (project, version), release in observed.releases.items():
        if project != package:
            continue
        for requirement in _requirements(release.requires_dist):
            if canonicalize_name(requirement.name) != "torch" or not requirement.specifier:
                continue
            if requirement.marker is not None and "extra" in str(requirement.marker):
                continue
            pinned = _pin(requirement)
            exact = Version(pinned).public if pinned else None
            links.append(
                CompanionLink(Version(version), exact, None if exact else requirement.specifier)
            )
    return links


def pair_companion(links: Iterable[CompanionLink], torch: str) -> str | None:
    """The companion release for `torch`: the newest that pins it exactly, else the newest whose
    range serves it (torchaudio 2.11.0 serves torch>=2.11, torchvision 0.29.2 torch>=2.14)."""
    links = list(links)
    exact = [link.version for link in links if link.exact == torch]
    if exact:
        return str(max(exact))
    serving = [link.version for link in links if link.serves and link.serves.contains(torch)]
    return str(max(serving)) if serving else None


@dataclass(frozen=True)
class Refreshed:
    """The rebuilt table, and notes on what the indexes did not show (kept or left out)."""

    table: ReleaseTable
    notes: tuple[str, ...]


def _wheels(filenames: Iterable[str]) -> list[WheelBuild]:
    return [wheel for name in filenames if (wheel := wheel_build(name)) is not None]


def _untagged_cpu(builds: Iterable[_Build], previous: ReleaseTable) -> tuple[str, ...]:
    """Platforms whose cpu builds carry no local tag: as observed, else as the table had it."""
    seen: dict[str, set[bool]] = {}
    for build in builds:
        if build.backend == "cpu":
            for platform in build.wheel.platforms:
                seen.setdefault(platform, set()).add(build.wheel.local == "")
    kept = [p for p in previous.untagged_cpu if seen.get(p) != {False}]
    return (*kept, *(p for p in PLATFORM_ORDER if seen.get(p) == {True} and p not in kept))


class _Rows:
    """build_table's working state: the observations indexed, and the notes taken."""

    def __init__(self, observed: Observed, previous: ReleaseTable) -> None:
        self.observed = observed
        self.previous = previous
        self.builds = _torch_builds(observed.indexes)
        self.links = {package: companion_links(observed, package) for package in COMPANIONS}
        self.versions = torch_versions(observed, previous)
        probes = triton_probes(observed, self.versions)
        self.triton_metadata = {key: observed.metadata.get(url) for key, url in probes.items()}
        self.notes: list[str] = []

    def row(self, version: str) -> Release | None:
        old = self.previous.get(version)
        found = self.builds.get(Version(version).public, [])
        if not found:
            self.notes.append(f"torch {version}: on PyPI but on no PyTorch index; left out")
            return None
        builds: dict[str, set[str]] = {}
        for build in found:
            for platform in build.wheel.platforms:
                builds.setdefault(platform, set()).add(build.backend)
        companions = {package: self.companion(package, version, old) for package in COMPANIONS}
        if None in companions.values():
            self.notes.append(f"torch {version}: no companion release names it yet; left out")
            return None
        on_pypi = _wheels(self.observed.projects["torch"][version])
        pythons = {py for w in on_pypi for py in w.pythons}
        pythons = pythons or {py for build in found for py in build.wheel.pythons}
        python = tuple(sorted(pythons, key=Version))
        release = self.observed.releases.get(("torch", version))
        requires = release.requires_dist if release is not None else ()
        pypi_platforms = {p for w in on_pypi for p in w.platforms}
        return Release(
            torch=version,
            torchvision=str(companions["torchvision"]),
            torchaudio=str(companions["torchaudio"]),
            python=python,
            builds={
                p: tuple(sorted(builds[p], key=backend_order))
                for p in PLATFORM_ORDER
                if p in builds
            },
            pypi={
                p: pypi_backend(requires, p, python[-1] if python else "3")
                for p in PLATFORM_ORDER
                if p in pypi_platforms
            },
            triton=self.triton(version, builds, old),
        )

    def companion(self, package: str, version: str, old: Release | None) -> str | None:
        paired = pair_companion(self.links[package], version)
        if paired is None and old is not None:
            paired = old.companion(package)
            self.notes.append(f"torch {version}: no {package} release names it; kept {paired}")
        return paired

    def triton(
        self, version: str, builds: Mapping[str, set[str]], old: Release | None
    ) -> dict[str, str]:
        out = {}
        for kind in ("rocm", "xpu"):
            if not any(b.startswith(kind) for backends in builds.values() for b in backends):
                continue
            text = self.triton_metadata.get((version, kind))
            pinned = triton_pin(text) if text is not None else None
            if pinned is None and old is not None and kind in old.triton:
                pinned = old.triton[kind]
                self.notes.append(
                    f"torch {version}: no core metadata names its {kind} Triton; kept {pinned}"
                )
            if pinned is not None:
                out[kind] = pinned
        return out


def build_table(observed: Observed, previous: ReleaseTable) -> Refreshed:
    """The release table the observations describe: one row per torch release on PyPI not older
    than the oldest in `previous`. What the indexes do not show is kept from `previous`, or the
    release left out, and noted either way."""
    rows = _Rows(observed, previous)
    releases = tuple(r for version in rows.versions if (r := rows.row(version)) is not None)
    on_pypi = {Version(v).public for v in rows.versions}
    floor = _floor(previous, "torch")
    for version in sorted(rows.builds, key=Version):
        if version not in on_pypi and (floor is None or Version(version) >= floor):
            rows.notes.append(f"torch {version}: on a PyTorch index but not on PyPI; left out")
    every_build = [build for found in rows.builds.values() for build in found]
    table = ReleaseTable(releases, _untagged_cpu(every_build, previous))
    return Refreshed(table, tuple(rows.notes))


def summarize(old: ReleaseTable, new: ReleaseTable) -> list[str]:
    """One line per release that was added, removed or changed (naming the changed keys)."""
    before = {r.torch: r for r in old.releases}
    after = {r.torch: r for r in new.releases}
    lines = []
    for version in sorted(before.keys() | after.keys(), key=Version):
        a, b = before.get(version), after.get(version)
        if a is None:
            lines.append(f"+ torch {version}: new")
        elif b is None:
            lines.append(f"- torch {version}: no longer found")
        elif a != b:
            keys = [f.name for f in fields(Release) if getattr(a, f.name) != getattr(b, f.name)]
            lines.append(f"~ torch {version}: {', '.join(keys)}")
    if old.untagged_cpu != new.untagged_cpu:
        lines.append(f"~ untagged-cpu: {', '.join(new.untagged_cpu)}")
    return lines


# --- reading: urllib only, never writes ----------------------------------------------------


@dataclass(frozen=True)
class Response:
    url: str
    body: bytes
    content_type: str


_HINT = "check the URL and the network (HTTPS_PROXY is honoured); --timeout SECONDS waits longer"


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)


class Fetcher:
    """Reads URLs with urllib: one timeout for every request, a missing page (404, 403, 410) as
    None where a page may not exist, every other failure a RefreshError (exit 2)."""

    def __init__(
        self, *, timeout: float, progress: Callable[[str], None], workers: int = 8
    ) -> None:
        self.timeout = timeout
        self.workers = workers
        self._progress = progress
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener()

    def progress(self, message: str) -> None:
        with self._lock:
            self._progress(message)

    def get(
        self, url: str, accept: str, *, missing_ok: bool = False, announce: bool = False
    ) -> Response | None:
        if announce:
            self.progress(f"reading {url}")
        request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": USER_AGENT})
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                body = answer.read()
                return Response(answer.geturl(), body, answer.headers.get("Content-Type", ""))
        except urllib.error.HTTPError as error:
            if missing_ok and error.code in (403, 404, 410):
                return None
            raise RefreshError(f"{url}: HTTP {error.code} {error.reason}", hint=_HINT) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise self._timeout(url) from None
            raise RefreshError(f"cannot reach {url}: {_reason(error.reason)}", hint=_HINT) from None
        except TimeoutError:
            raise self._timeout(url) from None
        except (OSError, http.client.HTTPException) as error:
            raise RefreshError(f"cannot read {url}: {_reason(error)}", hint=_HINT) from None

    def _timeout(self, url: str) -> RefreshError:
        return RefreshError(f"{url}: no answer within {self.timeout:g} s", hint=_HINT)

    def get_many(
        self, urls: Iterable[str], accept: str, *, missing_ok: bool = False, announce: bool = False
    ) -> dict[str, Response | None]:
        """`get` for each URL, a few at a time; the first failure is raised."""
        unique = list(dict.fromkeys(urls))
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            answers = pool.map(
                lambda url: self.get(url, accept, missing_ok=missing_ok, announce=announce), unique
            )
            return dict(zip(unique, answers, strict=True))


def _parse(answer: Response, parse: Callable[[Any], Any], what: str) -> Any:
    """Run a parser on a JSON answer; anything unexpected becomes a RefreshError naming the URL."""
    try:
        return parse(json.loads(answer.body))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise RefreshError(f"{answer.url}: not {what} ({type(error).__name__}: {error})") from None


def _simple(answer: Response) -> SimplePage:
    try:
        return parse_simple_page(answer.body, answer.content_type, answer.url)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise RefreshError(
            f"{answer.url}: not a simple index page ({type(error).__name__}: {error})"
        ) from None


def observe(fetcher: Fetcher, index_url: str, pypi_url: str, previous: ReleaseTable) -> Observed:
    """Read what the table is built from: the torch page of every backend index, PyPI's JSON
    for torch and its companions, and the core metadata of rocm/xpu torch builds."""
    index_url, pypi_url = index_url.rstrip("/"), pypi_url.rstrip("/")
    observed = Observed()
    root = fetcher.get(f"{index_url}/", ACCEPT_SIMPLE, missing_ok=True, announce=True)
    backends = listed_backends(_simple(root)) if root is not None else ()
    if backends:
        fetcher.progress(f"the listing names {len(backends)} backend indexes")
    else:
        backends = candidate_backends(previous)
        fetcher.progress(f"no backend listing there; probing {len(backends)} candidate indexes")
    pages = {b: f"{index_url}/{b}/torch/" for b in backends}
    answers = fetcher.get_many(pages.values(), ACCEPT_SIMPLE, missing_ok=True, announce=True)
    for backend, url in pages.items():
        if (answer := answers[url]) is not None:
            observed.indexes[backend] = _simple(answer).files
    if not observed.indexes:
        raise RefreshError(
            f"no PyTorch index under {index_url}/ lists torch",
            hint="--index-url is the base of the backend indexes: <index-url>/cpu/torch/",
        )
    fetcher.progress(f"indexes with torch: {' '.join(observed.indexes)}")

    for package in ("torch", *COMPANIONS):
        answer = fetcher.get(f"{pypi_url}/pypi/{package}/json", "application/json", announce=True)
        assert answer is not None  # missing_ok is off: a 404 raised
        observed.projects[package] = _parse(answer, parse_pypi_project, "PyPI's JSON API")
    urls = {
        (package, version): f"{pypi_url}/pypi/{package}/{version}/json"
        for package, version in releases_wanted(observed.projects, previous)
    }
    fetcher.progress(f"reading {pypi_url}/pypi/<name>/<version>/json for {len(urls)} releases")
    answers = fetcher.get_many(urls.values(), "application/json", missing_ok=True)
    for key, url in urls.items():
        if (answer := answers[url]) is not None:
            observed.releases[key] = _parse(answer, parse_pypi_release, "PyPI's JSON API")

    probes = sorted(set(triton_probes(observed, torch_versions(observed, previous)).values()))
    if probes:
        fetcher.progress(f"reading the core metadata of {len(probes)} rocm/xpu torch builds")
        answers = fetcher.get_many(probes, "*/*", missing_ok=True)
        observed.metadata = {
            url: answer.body.decode("utf-8", errors="replace")
            for url, answer in answers.items()
            if answer is not None
        }
    return observed


# --- the command ---------------------------------------------------------------------------


def shipped_table_path() -> Path:
    """data/releases.toml inside the package (in a checkout: src/uvtorch_ci/data/)."""
    from .releases import TABLE_PATH

    return TABLE_PATH


def _label(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def refresh_command(
    *,
    index_url: str | None,
    pypi_url: str | None,
    table_path: Path | None,
    write: bool,
    timeout: float,
    env: Mapping[str, str],
    echo: Callable[[str], None],
    progress: Callable[[str], None],
) -> int:
    """Rebuild the table from the indexes; print the diff against `table_path` (default: the
    shipped table) and write it only when `write`. 0 when current, 1 when it changed."""
    index_url = index_url or env.get(INDEX_URL_ENV) or DEFAULT_INDEX_URL
    path = table_path if table_path is not None else shipped_table_path()
    label = _label(path)
    old = read_text(path, label)
    if old is None:
        raise RefreshError("not found", file=label, hint="--table names the release table file")
    try:
        previous = parse_table(old)
    except (ValueError, KeyError, TypeError) as error:
        raise RefreshError(f"not a release table: {error}", file=label) from None
    fetcher = Fetcher(timeout=timeout, progress=progress)
    observed = observe(fetcher, index_url, pypi_url or DEFAULT_PYPI_URL, previous)
    refreshed = build_table(observed, previous)
    for note in refreshed.notes:
        progress(f"note: {note}")
    if not refreshed.table.releases:
        raise RefreshError(
            f"no torch release found that is on both PyPI ({pypi_url}) and {index_url}",
            hint="the table is left as it is",
        )
    output = Output(path, label, old, dump_table(refreshed.table))
    if not output.changed:
        progress(f"{label} is current ({len(refreshed.table.releases)} releases)")
        return EXIT_OK
    echo(output.diff().rstrip("\n"))
    for line in summarize(previous, refreshed.table):
        progress(line)
    if write:
        write_atomic(path, output.new, label)
        progress(f"wrote {label}")
    else:
        progress(f"{label} would change; run with --write to update it")
    return EXIT_PROBLEM
