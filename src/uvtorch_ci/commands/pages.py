"""Reading index pages for `verify --online`, bounded: one total deadline, a size cap per page,
at most a fixed number of pages, no redirect to another host. An index that cannot be read, or
answers something that is not an index page, is exit 2 with the URL."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from .. import __version__
from ..errors import UvtorchError
from ..redaction import redact_url as shown
from ..releases.fetch import BodyTooLarge, BodyTooLate, read_body
from ..releases.pages import SIMPLE_JSON, SimplePage, parse_simple_page

ACCEPT = f"{SIMPLE_JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
MAX_PAGES = 256
MAX_PAGE_BYTES = 32 * 1024 * 1024  # a nightly torch page is a few MB
HINT = (
    "check the network and the index (HTTPS_PROXY is honoured); --timeout SECONDS waits longer; "
    "verify without --online proves what it can offline"
)


class PageError(UvtorchError):
    """An index page `verify --online` needs could not be read."""


class _SameHost(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same scheme and host: an index page that sends the reader
    elsewhere proves nothing about the index."""

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        old, new = urlsplit(req.full_url), urlsplit(newurl)
        if (old.scheme, old.netloc) != (new.scheme, new.netloc):
            raise PageError(
                f"{shown(req.full_url)} redirects to another host ({shown(new.netloc)})", hint=HINT
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def read_pages(urls: Iterable[str], *, timeout: float) -> dict[str, SimplePage]:
    """Each page once, a few at a time, all within `timeout` seconds in total."""
    unique = list(dict.fromkeys(urls))
    if len(unique) > MAX_PAGES:
        raise PageError(
            f"uv.lock names {len(unique)} index pages to read; --online reads at most {MAX_PAGES}",
            hint="verify without --online, or split the project",
        )
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(_SameHost)
    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = pool.map(lambda url: _read(opener, url, deadline, timeout), unique)
        return dict(zip(unique, pages, strict=True))


def _read(
    opener: urllib.request.OpenerDirector, url: str, deadline: float, timeout: float
) -> SimplePage:
    left = deadline - time.monotonic()
    if left <= 0:
        raise PageError(f"the index pages were not all read within {timeout:g} s", hint=HINT)
    request = urllib.request.Request(
        url, headers={"Accept": ACCEPT, "User-Agent": f"uvtorch-ci/{__version__} (verify)"}
    )
    try:
        with opener.open(request, timeout=left) as answer:
            body = read_body(answer, until=deadline, limit=MAX_PAGE_BYTES)
            content_type = answer.headers.get("Content-Type", "")
            final = answer.geturl()
    except BodyTooLarge:
        raise PageError(
            f"{shown(url)} is larger than {MAX_PAGE_BYTES // 2**20} MiB: not an index page",
            hint=HINT,
        ) from None
    except BodyTooLate:
        raise PageError(
            f"the index pages were not all read within {timeout:g} s", hint=HINT
        ) from None
    except urllib.error.HTTPError as error:
        raise PageError(f"{shown(url)}: HTTP {error.code} {error.reason}", hint=HINT) from None
    except urllib.error.URLError as error:
        raise PageError(f"cannot reach {shown(url)}: {error.reason}", hint=HINT) from None
    except (OSError, ValueError) as error:
        raise PageError(f"cannot read {shown(url)}: {error}", hint=HINT) from None
    try:
        return parse_simple_page(body, content_type, final)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise PageError(
            f"{shown(url)} is not a simple index page ({type(error).__name__})", hint=HINT
        ) from None
