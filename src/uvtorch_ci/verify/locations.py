"""Pure: where a locked file may be downloaded from, judged the way the indexes really lay out
their files (../facts: "Where the files really are").

An index's pages and its files can live on different hosts: download.pytorch.org/whl/cu128/torch/
links https://download-r2.pytorch.org/whl/cu128/torch-...whl, and one lock can mix both hosts.
On the official index a file sits in its registry's own folder (/whl/cu128/, /whl/nightly/cu130/,
/whl/test/xpu/) or directly in its channel's root (/whl/, /whl/nightly/: Triton and the other files
several indexes share); the root index (/whl/) lists every folder. A mirror serves the same layout
from its own base, and may link files on other hosts, which the spec names (`file-hosts`): how a
mirror lays those out is its pages' business (`verify --online` reads them).

Every URL is taken apart strictly before it is judged: a user or `@` in the authority, a `.` or
`..` segment (`%2e%2e` included), an empty segment (`//`), an encoded slash, a query or a
fragment make it a URL uv would download something else from than it seems to name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..redaction import redact_url as shown

OFFICIAL_INDEX = "https://download.pytorch.org/whl"
# The hosts the official index links its files on: its own, and Cloudflare R2 since 2026
# (pytorch/test-infra s3_management/manage_v2.py, PT_R2_PACKAGES_PROD; #7776, #7902, #7914).
OFFICIAL_FILE_BASES = (OFFICIAL_INDEX, "https://download-r2.pytorch.org/whl")
CHANNELS = ("nightly", "test")
BACKEND_FOLDER = re.compile(r"cpu|xpu|cu[0-9]+|rocm[0-9]+(?:\.[0-9]+)*")
PYPI_REGISTRIES = ("https://pypi.org/simple", "https://pypi.python.org/simple")
PYPI_FILES = "https://files.pythonhosted.org/packages"
_DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclass(frozen=True)
class Place:
    """A URL taken apart: scheme and host (lower case, default port dropped) and its decoded
    path segments."""

    scheme: str
    host: str
    segments: tuple[str, ...]

    def under(self, base: Place) -> tuple[str, ...] | None:
        """The segments below `base`, or None when this is not under it."""
        if (self.scheme, self.host) != (base.scheme, base.host):
            return None
        size = len(base.segments)
        if self.segments[:size] != base.segments:
            return None
        return self.segments[size:]


class BadUrl(ValueError):
    """A URL that does not name plainly what it downloads; the message says why."""


def place(url: str, *, folder: bool = False) -> Place:
    """Take `url` apart, refusing (BadUrl) anything but a plain http(s) URL; `folder`: an index
    URL, whose trailing slash is allowed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise BadUrl(f"is not a URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadUrl(f"is not an http(s) URL (scheme {parts.scheme or 'none'!r})")
    if "@" in parts.netloc:
        raise BadUrl("names a user in its authority (user@host)")
    host = (parts.hostname or "").lower()
    if not host:
        raise BadUrl("names no host")
    if port is not None and str(port) != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise BadUrl("has a query or a fragment")
    path = parts.path
    if folder:
        path = path.rstrip("/")
    if not path.startswith("/") and path:
        raise BadUrl("has a relative path")
    segments = []
    for raw in path.split("/")[1:]:
        segment = unquote(raw)
        if raw == "":
            raise BadUrl("has an empty path segment (//)")
        if segment in (".", ".."):
            raise BadUrl(f"has a {segment!r} path segment")
        if "/" in segment or "\\" in segment or not segment.isprintable():
            raise BadUrl(f"has an encoded separator or control character in {raw!r}")
        segments.append(segment)
    return Place(scheme, host, tuple(segments))


@dataclass(frozen=True)
class FileHosts:
    """Where an index's files may come from: `strict` bases lay files out as the index does
    (the registry's folder, or its channel's root), `loose` ones as their pages say."""

    index_url: str
    strict: tuple[Place, ...]
    loose: tuple[Place, ...]
    official: bool

    def folder_of(self, registry: str) -> tuple[str, ...] | None:
        """The registry's folder below the index base (("cu128",), ("nightly", "cu130"), () for
        the root index), or None when the registry is not under the base."""
        try:
            registry_place = place(registry, folder=True)
        except BadUrl:
            return None
        return registry_place.under(self.strict[0])

    def serves(self, registry: str) -> bool:
        """Whether `registry` is one of the indexes under the index base."""
        return self.folder_of(registry) is not None


def file_hosts(index_url: str, extra: tuple[str, ...] = ()) -> FileHosts:
    """The places the index at `index_url` serves files from: the official index's two hosts,
    or a mirror's own base, and the `extra` URL prefixes the spec names (`file-hosts`)."""
    base = place(index_url, folder=True)
    official = base == place(OFFICIAL_INDEX)
    strict = [base]
    if official:
        strict += [place(b) for b in OFFICIAL_FILE_BASES if place(b) != base]
    loose = tuple(place(f"https://{h}" if "://" not in h else h, folder=True) for h in extra)
    return FileHosts(index_url, tuple(strict), loose, official)


def file_problem(url: str | None, filename: str, registry: str, hosts: FileHosts) -> str | None:
    """Why the file uv.lock records for a package of `registry` (an index under
    `hosts.index_url`) is not one that index serves, or None."""
    if url is None:
        return f"uv.lock records no URL for {filename}: uv would not know where to download it"
    if url.startswith("path:"):
        return f"{filename} is a local file ({url[5:]}), not a file of the index {registry}"
    try:
        got = place(url)
    except BadUrl as error:
        return f"the URL of {filename} {error}: {shown(url)}"
    folder = hosts.folder_of(registry)
    if folder is None:
        return None  # judged by the registry check: this is not one of the spec's indexes
    for base in hosts.strict:
        below = got.under(base)
        if below is None:
            continue
        where = below[:-1]
        if _in_folder(where, folder):
            return None
        shown_folder = "/".join(where) or "the root"
        own = "/".join(folder) or "any backend"
        return (
            f"{filename} comes from the {shown_folder} folder, not from {own} or its "
            f"channel's root: {shown(url)}"
        )
    if any(got.under(base) is not None for base in hosts.loose):
        return None
    for base in (*hosts.strict, *hosts.loose):
        if got.host != base.host:
            continue
        if got.scheme != base.scheme:
            return f"{filename} is downloaded over {got.scheme}, not {base.scheme}: {shown(url)}"
        return f"{filename} comes from outside the index's folders: {shown(url)}"
    hint = (
        ""
        if hosts.official
        else "; if the mirror's pages link files there, list it in the spec's file-hosts"
    )
    return f"{filename} comes from another host ({got.host}) than the index: {shown(url)}{hint}"


def _in_folder(where: tuple[str, ...], folder: tuple[str, ...]) -> bool:
    """Whether a file in `where` (below the index base) belongs to the registry `folder`: its
    own folder, or its channel's root (/whl/, /whl/nightly/); the root index lists every
    backend folder of the stable channel."""
    channel = folder[:-1] if folder and BACKEND_FOLDER.fullmatch(folder[-1]) else folder
    if where in (folder, channel):
        return True
    return not folder and len(where) == 1 and BACKEND_FOLDER.fullmatch(where[0]) is not None


def from_pypi(registry: str) -> bool:
    """Whether a package was locked from PyPI's own index."""
    return registry.rstrip("/") in PYPI_REGISTRIES


def pypi_file_problem(url: str | None, filename: str) -> str | None:
    """Why a file of a package locked from PyPI does not come from PyPI's file host, or None."""
    if url is None:
        return f"uv.lock records no URL for {filename}: uv would not know where to download it"
    try:
        got = place(url)
    except BadUrl as error:
        return f"the URL of {filename} {error}: {shown(url)}"
    if got.under(place(PYPI_FILES)) is None:
        return f"{filename} is locked from PyPI but comes from elsewhere: {shown(url)}"
    return None


def other_backend_folder(url: str | None, backend: str) -> str | None:
    """The backend folder (cpu, cu124 ...) in `url`'s path when it is not `backend`'s, or None:
    a CUDA target must not install a file of the cpu folder, whatever host serves it."""
    if not url or url.startswith("path:"):
        return None
    try:
        segments = place(url).segments[:-1]
    except BadUrl:
        return None
    for segment in segments:
        if BACKEND_FOLDER.fullmatch(segment) and segment != backend:
            return segment
    return None
