"""Reading the PyTorch indexes and PyPI for `releases refresh`: urllib only, reads and never
writes; what it read goes to refresh.build_table."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from .. import __version__
from ..errors import UvtorchError
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


def _parse(answer: Response, parse: Callable[[Response], T], what: str) -> T:
    """Run a parser on an answer; anything unexpected becomes a RefreshError naming the URL."""
    try:
        return parse(answer)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise RefreshError(f"{answer.url}: not {what} ({type(error).__name__}: {error})") from None


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
