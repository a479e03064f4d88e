"""Pure: PyTorch simple index pages (PEP 503 HTML, PEP 691 JSON) and wheel file names -> facts,
and the backend indexes to read. No I/O."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion

from ..platforms import PLATFORMS
from .table import BACKEND_PATTERN, ReleaseTable

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class IndexFile:
    """One file a simple index page lists."""

    filename: str
    url: str
    requires_python: str | None = None
    metadata_url: str | None = None  # PEP 658/714 core metadata, when the index serves it
    yanked: bool = False
    sha256: str | None = None  # the hash the page gives (#sha256= or PEP 691 "hashes")


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


def _file(
    url: str,
    filename: str,
    requires_python: Any,
    metadata: bool,
    yanked: bool,
    sha256: object = None,
) -> IndexFile:
    url, _, fragment = url.partition("#")
    name, _, value = fragment.partition("=")
    if sha256 is None and name == "sha256" and value:
        sha256 = value
    return IndexFile(
        filename=filename,
        url=url,
        requires_python=str(requires_python) if requires_python else None,
        metadata_url=f"{url}.metadata" if metadata else None,
        yanked=yanked,
        sha256=str(sha256).lower() if isinstance(sha256, str) and sha256 else None,
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
            (item.get("hashes") or {}).get("sha256"),
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
    known.update(_series_ahead(cuda, "cu{}{}"))
    rocm = [
        (int(found[1]), int(found[2]))
        for b in known
        if (found := re.fullmatch(r"rocm([0-9]+)\.([0-9]+).*", b))
    ]
    known.update(_series_ahead(rocm, "rocm{}.{}"))
    return tuple(sorted(known, key=backend_order))


def _series_ahead(versions: list[tuple[int, int]], name: str) -> list[str]:
    """The newest major's minors up to two past its newest, and the next major's first two."""
    if not versions:
        return []
    major = max(versions)[0]
    top = max(minor for m, minor in versions if m == major)
    return [
        *(name.format(major, minor) for minor in range(top + 3)),
        *(name.format(major + 1, minor) for minor in range(2)),
    ]


def listed_backends(page: SimplePage) -> tuple[str, ...]:
    """The backend indexes a root page names (download.pytorch.org's root names projects)."""
    names = {name.strip("/") for name in page.names}
    return tuple(
        sorted((n for n in names if BACKEND_PATTERN.fullmatch(n) and n != "mps"), key=backend_order)
    )
