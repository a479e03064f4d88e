"""`releases`: print the shipped release table; `releases refresh`: read the indexes, rebuild the
table, print the diff against the table on disk, and write it (through files.py) only when
asked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

from ..errors import EXIT_OK, EXIT_PROBLEM
from ..redaction import holds_secret, redact_url
from ..releases.fetch import Fetcher, RefreshError, observe
from ..releases.refresh import build_table, summarize
from ..releases.table import TABLE_PATH, dump_table, load_table, parse_table
from ..releases.view import as_json, as_text, select
from ..spec.parse import DEFAULT_INDEX_URL, INDEX_URL_ENV
from ..spec.reader import quoted
from .files import Output, read_text, write_atomic
from .paths import display_path

DEFAULT_PYPI_URL = "https://pypi.org"


def releases_command(torch: str | None, *, json_output: bool, echo: Callable[[str], None]) -> int:
    """Print the shipped table (or the releases `torch` selects)."""
    table = load_table()
    releases = select(table, torch)
    echo(as_json(table, releases) if json_output else as_text(releases))
    return EXIT_OK


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
    index_place = "--index-url" if index_url else f"the environment variable {INDEX_URL_ENV}"
    index_url = index_url or env.get(INDEX_URL_ENV) or DEFAULT_INDEX_URL
    path = table_path if table_path is not None else TABLE_PATH
    label = display_path(path)
    old = read_text(path, label)
    if old is None:
        raise RefreshError("not found", file=label, hint="--table names the release table file")
    try:
        previous = parse_table(old)
    except (ValueError, KeyError, TypeError) as error:
        raise RefreshError(f"not a release table: {error}", file=label) from None
    pypi_url = pypi_url or DEFAULT_PYPI_URL
    for url, where in ((index_url, index_place), (pypi_url, "--pypi-url")):
        if holds_secret(url):  # refresh prints every URL it fetches: never a secret
            raise RefreshError(
                f"{quoted(redact_url(url))} holds credentials, a query or a fragment",
                where=where,
                hint="refresh reads public indexes; give the URL without them",
            )
    fetcher = Fetcher(timeout=timeout, progress=progress, hosts=(index_url, pypi_url))
    observed = observe(fetcher, index_url, pypi_url, previous)
    refreshed = build_table(observed, previous, date.today().isoformat())
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
