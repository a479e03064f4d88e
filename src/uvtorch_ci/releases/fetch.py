"""Reading the PyTorch indexes and PyPI for `releases refresh`: urllib only, reads and never
writes; what it read goes to refresh.build_table."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from .. import __version__
from ..errors import UvtorchError, shown
from .extensions import EXTENSIONS
from .pages import (
    SIMPLE_JSON,
    SimplePage,
    candidate_backends,
    listed_backends,
    parse_simple_page,
)
from .pypi import parse_pypi_project, parse_pypi_release
from .refresh import Observed, releases_wanted, torch_versions, triton_probes
from .refresh_extensions import metadata_probes
from .table import COMPANIONS, ReleaseTable

USER_AGENT = f"uvtorch-ci/{__version__} (releases refresh)"
# PEP 691: prefer JSON, take HTML (PEP 503) from servers that only have that.
ACCEPT_SIMPLE = f"{SIMPLE_JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

T = TypeVar("T")


class RefreshError(UvtorchError):
    """An index could not be read, or answered something that is not an index."""


@dataclass(frozen=True)
class Response:
    url: str
    body: bytes
    content_type: str


_HINT = "check the URL and the network (HTTPS_PROXY is honoured); --timeout SECONDS waits longer"

# What one refresh reads at most: the real indexes and PyPI ask for about 500 answers of a
# few MB at most (300 for torch and its companions, a page per backend and package built
# against torch, and one metadata file per release of those), within a couple of minutes.
# A server that asks for more is refused (exit 2).
MAX_RESPONSE = 32 << 20  # bytes of one answer
MAX_REQUESTS = 2000  # answers in all
MAX_BACKENDS = 200  # backend indexes a root listing may name
TOTAL_DEADLINE = 900.0  # seconds for the whole refresh


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class _SameHosts(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only within the hosts refresh was pointed at (the index's and
    PyPI's) or the host that answered: never off to another host or scheme."""

    def __init__(self, allowed: frozenset[tuple[str, str]]) -> None:
        super().__init__()
        self.allowed = allowed

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        target = urljoin(req.full_url, newurl)
        if _origin(target) not in self.allowed | {_origin(req.full_url)}:
            raise RefreshError(
                f"{req.full_url}: redirects to {target}, on another host; refresh follows "
                "redirects only within the hosts of --index-url and --pypi-url",
                hint="give the URL the index really serves",
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class Fetcher:
    """Reads URLs with urllib, bounded: each answer whole within `timeout` seconds (a server
    dripping a byte at a time is cut off) and MAX_RESPONSE bytes, MAX_REQUESTS answers and
    TOTAL_DEADLINE seconds in all, redirects only within `hosts` (and the answering host).
    A missing page (404, 403, 410) is None where a page may not exist; every other failure
    a RefreshError (exit 2)."""

    def __init__(
        self,
        *,
        timeout: float,
        progress: Callable[[str], None],
        workers: int = 8,
        hosts: Iterable[str] = (),
        deadline: float = TOTAL_DEADLINE,
    ) -> None:
        self.timeout = timeout
        self.workers = workers
        self._progress = progress
        self._lock = threading.Lock()
        self._allowed = frozenset(_origin(url) for url in hosts)
        self._opener = urllib.request.build_opener(_SameHosts(self._allowed))
        self._deadline = time.monotonic() + deadline
        self._total = deadline
        self.requests = 0

    def progress(self, message: str) -> None:
        with self._lock:
            self._progress(message)

    def get(
        self, url: str, accept: str, *, missing_ok: bool = False, announce: bool = False
    ) -> Response | None:
        self._spend(url)
        if announce:
            self.progress(f"reading {url}")
        request = urllib.request.Request(url, headers={"Accept": accept, "User-Agent": USER_AGENT})
        until = min(time.monotonic() + self.timeout, self._deadline)
        try:
            wait = max(until - time.monotonic(), 0.01)
            with self._opener.open(request, timeout=wait) as answer:
                body = self._body(answer, url, until)
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

    def _spend(self, url: str) -> None:
        """Count one request against the budget, before it is made."""
        if _origin(url)[0] not in {scheme for scheme, _ in self._allowed} | {"https", "http"}:
            raise RefreshError(f"{url}: refresh reads only http(s) URLs (and file URLs given)")
        with self._lock:
            self.requests += 1
            spent = self.requests
        if spent > MAX_REQUESTS:
            raise RefreshError(
                f"{url}: one more answer than the {MAX_REQUESTS} a refresh reads",
                hint="the indexes list far more than PyTorch's do: is the URL right?",
            )
        if time.monotonic() > self._deadline:
            raise self._late(url)

    def _body(self, answer: Any, url: str, until: float) -> bytes:
        """The answer's body, read a chunk at a time: cut off past `until` or MAX_RESPONSE."""
        try:
            return read_body(answer, until=until, limit=MAX_RESPONSE)
        except BodyTooLarge:
            raise self._too_large(url) from None
        except BodyTooLate:
            raise self._late(url) if until >= self._deadline else self._timeout(url) from None

    def _timeout(self, url: str) -> RefreshError:
        return RefreshError(f"{url}: no whole answer within {self.timeout:g} s", hint=_HINT)

    def _late(self, url: str) -> RefreshError:
        return RefreshError(
            f"{url}: the refresh has run for {self._total:g} s, as long as it may",
            hint="the indexes answer too slowly: try again later",
        )

    def _too_large(self, url: str) -> RefreshError:
        return RefreshError(
            f"{url}: the answer is larger than {MAX_RESPONSE >> 20} MiB, more than refresh reads",
            hint="is the URL that of a PyTorch index (or PyPI)?",
        )

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


class BodyTooLarge(Exception):
    """An HTTP answer announced or sent more bytes than its reader takes."""


class BodyTooLate(Exception):
    """An HTTP answer was still arriving when its reader's time was up."""


def read_body(answer: Any, *, until: float, limit: int) -> bytes:
    """An HTTP answer's body, a chunk at a time: BodyTooLarge past `limit` bytes (or when its
    Content-Length says so), BodyTooLate once `time.monotonic()` passes `until`, so that a
    server dripping a byte at a time cannot hold a reader past its deadline (a socket timeout
    bounds only each read). `releases refresh` and `verify --online` both read through it."""
    digits = (answer.headers.get("Content-Length") or "").strip()
    if digits.isascii() and digits.isdigit() and (len(digits) > 12 or int(digits) > limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while chunk := answer.read1(1 << 16):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if time.monotonic() > until:
            raise BodyTooLate
    return b"".join(chunks)


def _parse(answer: Response, parse: Callable[[Response], T], what: str) -> T:
    """Run a parser on an answer; anything unexpected becomes a RefreshError naming the URL
    (JSON nested past the interpreter's depth too)."""
    try:
        return parse(answer)
    except RecursionError:
        raise RefreshError(f"{answer.url}: not {what} (nested too deeply to read)") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        message = shown(str(error))
        raise RefreshError(
            f"{answer.url}: not {what} ({type(error).__name__}: {message})"
        ) from None


def _simple(answer: Response) -> SimplePage:
    return _parse(
        answer, lambda a: parse_simple_page(a.body, a.content_type, a.url), "a simple index page"
    )


def _pypi_json(answer: Response, parse: Callable[[Any], T]) -> T:
    return _parse(answer, lambda a: parse(json.loads(a.body)), "PyPI's JSON API")


def observe(fetcher: Fetcher, index_url: str, pypi_url: str, previous: ReleaseTable) -> Observed:
    """Read what the table is built from: the torch page of every backend index, PyPI's JSON
    for torch and its companions, and the core metadata of rocm/xpu torch builds."""
    index_url, pypi_url = index_url.rstrip("/"), pypi_url.rstrip("/")
    observed = Observed()
    root = fetcher.get(f"{index_url}/", ACCEPT_SIMPLE, missing_ok=True, announce=True)
    backends = listed_backends(_simple(root)) if root is not None else ()
    if len(backends) > MAX_BACKENDS:
        raise RefreshError(
            f"{index_url}/ lists {len(backends)} backend indexes, more than the "
            f"{MAX_BACKENDS} refresh reads",
            hint="PyTorch's index lists a few dozen: is --index-url right?",
        )
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
    listings = {
        (backend, package): f"{index_url}/{backend}/{package}/"
        for backend in observed.indexes
        for package in EXTENSIONS
    }
    answers = fetcher.get_many(listings.values(), ACCEPT_SIMPLE, missing_ok=True)
    for listing, url in listings.items():
        if (answer := answers[url]) is not None:
            observed.packages[listing] = _simple(answer).files
    fetcher.progress(
        f"read {len(observed.packages)} pages of {', '.join(EXTENSIONS)} on those indexes"
    )

    for package in ("torch", *COMPANIONS):
        answer = fetcher.get(f"{pypi_url}/pypi/{package}/json", "application/json", announce=True)
        assert answer is not None  # missing_ok is off: a 404 raised
        observed.projects[package] = _pypi_json(answer, parse_pypi_project)
    urls = {
        (package, version): f"{pypi_url}/pypi/{package}/{version}/json"
        for package, version in releases_wanted(observed.projects, previous)
    }
    fetcher.progress(f"reading {pypi_url}/pypi/<name>/<version>/json for {len(urls)} releases")
    answers = fetcher.get_many(urls.values(), "application/json", missing_ok=True)
    for key, url in urls.items():
        if (answer := answers[url]) is not None:
            observed.releases[key] = _pypi_json(answer, parse_pypi_release)

    probes = sorted(set(triton_probes(observed, torch_versions(observed, previous)).values()))
    built = sorted(set(metadata_probes(observed.packages).values()))
    if probes or built:
        fetcher.progress(
            f"reading the core metadata of {len(probes)} rocm/xpu torch builds and "
            f"{len(built)} releases of the packages built against torch"
        )
        answers = fetcher.get_many([*probes, *built], "*/*", missing_ok=True)
        observed.metadata = {
            url: answer.body.decode("utf-8", errors="replace")
            for url, answer in answers.items()
            if answer is not None
        }
    return observed
