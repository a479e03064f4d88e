"""`releases refresh`: the table rebuilt from index pages and PyPI's JSON API, never the network.

The mirror (tests/mirror.py) is re-served by `FakeIndexes`: its PyTorch pages as PEP 503 HTML,
PEP 691 JSON, or either by the Accept header, with or without a root listing of the backends;
and a fake PyPI JSON API generated from the mirror's PyPI wheels and the release table.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date
from email.parser import HeaderParser
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

import pytest
import validators
from mirror import PYPI, Mirror, cuda_version, triton_marker
from mirror_stack import for_torch, index_backends
from mirror_tritons import required_tritons, requires_triton_on
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from uvtorch_ci.commands.main import main
from uvtorch_ci.commands.releases import refresh_command
from uvtorch_ci.releases.extensions import EXTENSIONS, ExtensionEntry
from uvtorch_ci.releases.pages import (
    SIMPLE_JSON,
    IndexFile,
    backend_order,
    candidate_backends,
    listed_backends,
    parse_simple_page,
    wheel_build,
)
from uvtorch_ci.releases.pypi import (
    CompanionLink,
    PyPIRelease,
    pair_companion,
    pypi_backend,
    triton_requirements,
)
from uvtorch_ci.releases.refresh import Observed, build_table, collapse_tritons
from uvtorch_ci.releases.table import Release, ReleaseTable, dump_table, load_table, parse_table
from uvtorch_ci.releases.triton import TritonEntry, TritonRequirement

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "refresh-releases.yml"
Pages = Literal["html", "json", "negotiate"]


# --- the fake indexes ----------------------------------------------------------------------


def cuda_requirements(release: Release) -> list[str]:
    """What real torch metadata on PyPI pins for its CUDA build, per the table's `pypi`:
    nvidia-cuda-runtime-cu12==12.4.127 (up to CUDA 12), cuda-toolkit[...]==13.0.2 (CUDA 13)."""
    platforms_of: dict[str, list[str]] = {}
    for platform, backend in release.pypi.items():
        if backend.startswith("cu"):
            platforms_of.setdefault(backend, []).append(platform)
    requirements = []
    for backend, platforms in platforms_of.items():
        cuda = cuda_version(backend)
        assert cuda is not None
        major = cuda.split(".")[0]
        both_linux = set(platforms) == {"linux-x86_64", "linux-aarch64"}
        marker = 'platform_system == "Linux"' if both_linux else triton_marker(platforms)
        if int(major) >= 13:
            requirements.append(f"cuda-toolkit[cublas,cudart]=={cuda}.2; {marker}")
        else:
            requirements.append(f"nvidia-cuda-runtime-cu{major}=={cuda}.127; {marker}")
    return requirements


class FakeIndexes:
    """Serves `mirror` on 127.0.0.1 the ways real indexes do (see the module docstring).

    `hide` takes torch versions out of every page and of PyPI, as if never published;
    `fail` answers the given paths with an HTTP error status.
    `served` counts the simple pages answered, by form ("html" or "json").
    """

    def __init__(
        self,
        mirror: Mirror,
        *,
        pages: Pages = "negotiate",
        root_listing: bool = False,
        hide: Iterable[str] = (),
        fail: dict[str, int] | None = None,
    ) -> None:
        self.mirror = mirror
        self.fail = dict(fail or {})
        self.pages = pages
        self.root_listing = root_listing
        self.hidden = tuple(hide)
        self.served: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, self))
        self._thread = threading.Thread(
            target=partial(self._server.serve_forever, 0.05), daemon=True
        )

    def __enter__(self) -> FakeIndexes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def index_url(self) -> str:
        return f"{self.url}/whl"

    def shown(self, filename: str) -> bool:
        name, version, _, _ = parse_wheel_filename(filename)
        return not (name == "torch" and version.public in self.hidden)

    def form(self, accept: str) -> Literal["html", "json"]:
        if self.pages == "negotiate":
            return "json" if SIMPLE_JSON in accept else "html"
        return self.pages

    # -- simple pages

    def root_page(self, form: str) -> tuple[bytes, str] | None:
        if not self.root_listing:
            return None
        backends = sorted(p.name for p in (self.mirror.www / "whl").iterdir() if p.is_dir())
        if form == "json":
            document = {"meta": {"api-version": "1.1"}, "projects": [{"name": b} for b in backends]}
            return json.dumps(document).encode(), SIMPLE_JSON
        links = "".join(f'<a href="{b}/">{b}</a><br/>\n' for b in backends)
        return f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n".encode(), "text/html"

    def project_page(self, index: str, project: str, form: str) -> tuple[bytes, str] | None:
        html = self.mirror.www / "whl" / index / project / "index.html"
        if not html.is_file():
            return None
        if form == "html":  # the mirror's own page, less the hidden releases' lines
            lines = html.read_text().splitlines(keepends=True)
            kept = [
                line
                for line in lines
                if not (m := re.search(r">([^<]+\.whl)<", line)) or self.shown(m[1])
            ]
            return "".join(kept).encode(), "text/html; charset=utf-8"
        files = [
            {
                "filename": w.filename,
                "url": f"/whl/{index}/{quote(w.filename)}",
                "hashes": {"sha256": w.sha256},
                "requires-python": w.requires_python,
                "core-metadata": {"sha256": w.metadata_sha256},
            }
            for w in self.mirror.wheels(index, project)
            if self.shown(w.filename)
        ]
        document = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
        return json.dumps(document).encode(), SIMPLE_JSON

    # -- PyPI's JSON API

    def pypi_json(self, name: str, version: str | None) -> bytes | None:
        wheels = [w for w in self.mirror.wheels(PYPI, name) if self.shown(w.filename)]
        by_version: dict[str, list[Any]] = {}
        for wheel in wheels:
            by_version.setdefault(str(parse_wheel_filename(wheel.filename)[1]), []).append(wheel)
        if not by_version or (version is not None and version not in by_version):
            return None
        latest = version or max(by_version, key=Version)
        metadata = HeaderParser().parsestr(by_version[latest][0].metadata.decode())
        requires = list(metadata.get_all("Requires-Dist") or [])
        release = self.mirror.table.get(latest)
        if canonicalize_name(name) == "torch" and release is not None:
            requires += cuda_requirements(release)
        info = {
            "name": name,
            "version": latest,
            "requires_dist": requires or None,
            "requires_python": metadata.get("Requires-Python"),
        }

        def files(listed: list[Any]) -> list[dict[str, Any]]:
            return [
                {
                    "filename": w.filename,
                    "url": f"{self.url}/whl/pypi-files/{w.filename}",
                    "packagetype": "bdist_wheel",
                    "requires_python": w.requires_python,
                    "digests": {"sha256": w.sha256},
                    "yanked": False,
                }
                for w in listed
            ]

        document: dict[str, Any] = {"info": info, "urls": files(by_version[latest])}
        if version is None:
            document["releases"] = {v: files(listed) for v, listed in by_version.items()}
        return json.dumps(document).encode()


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, fake: FakeIndexes, *args: Any) -> None:
        self.fake = fake
        super().__init__(*args)

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        accept = self.headers.get("Accept", "")
        form = self.fake.form(accept)
        answer: tuple[bytes, str] | None = None
        if path in self.fake.fail:
            self.send_error(self.fake.fail[path])
            return
        if found := re.fullmatch(r"/pypi/([^/]+)/(?:([^/]+)/)?json", path):
            body = self.fake.pypi_json(found[1], found[2])
            answer = (body, "application/json") if body is not None else None
        elif path == "/whl/":
            answer = self.fake.root_page(form)
        elif found := re.fullmatch(r"/whl/([^/]+)/([^/]+)/", path):
            answer = self.fake.project_page(found[1], found[2], form)
        elif (file := self.fake.mirror.www / path.lstrip("/")).is_file() and ".." not in path:
            answer = (file.read_bytes(), "application/octet-stream")
        if answer is None:
            self.send_error(404)
            return
        if path.startswith("/whl/") and path.endswith("/"):
            with self.fake._lock:
                self.fake.served["json" if "json" in answer[1] else "html"] += 1
        self.send_response(200)
        self.send_header("Content-Type", answer[1])
        self.send_header("Content-Length", str(len(answer[0])))
        self.end_headers()
        self.wfile.write(answer[0])

    def log_message(self, format: str, *args: Any) -> None:
        pass


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib honours *_proxy; a proxy set for the real network must not catch 127.0.0.1.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def full_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    """Every release of the shipped table on the mirror (about 7,000 tiny wheels, ~7 s)."""
    with Mirror(tmp_path_factory.mktemp("full-mirror"), load_table().versions()) as served:
        yield served


DEFAULT_VERSIONS = ("2.5.0", "2.5.1", "2.7.0", "2.9.1", "2.13.0")  # the session mirror's

# The source of the Triton pins in `rows`: as if an earlier refresh had read the mirror.
MIRRORED = "wheel metadata, refreshed 2026-12-01"


def listed_on_mirror(package: str, served: Iterable[str]) -> dict[str, dict[str, set[str]]]:
    """version -> platform -> the backends whose page on the mirror lists `package` (as
    mirror.stack_wheels serves it for the torch releases `served`)."""
    table = load_table()
    out: dict[str, dict[str, set[str]]] = {}
    for torch in served:
        release, found = table.get(torch), for_torch(package, torch)
        if release is None or found is None:
            continue
        for platform, backends in release.builds.items():
            for backend in index_backends(found, platform, backends):
                out.setdefault(found.version, {}).setdefault(platform, set()).add(backend)
    return out


def mirrored_packages(
    release: Release, served: Iterable[str], day: str = "2026-12-01"
) -> dict[str, ExtensionEntry]:
    """The shipped row's [release.packages] as a refresh against the mirror finds them:
    xformers paired by its wheels' Requires-Dist (torchao's name no torch: the table's pairing
    stays), each confirmed where the mirror's pages list the paired version."""
    served = tuple(served)
    entries = {}
    for package in EXTENSIONS:
        before = release.extension(package)
        listed = listed_on_mirror(package, served)
        version, paired_by = before.version, before.paired_by
        found = for_torch(package, release.torch) if package == "xformers" else None  # pins
        if found is not None and found.version in listed and found.version != version:
            version, paired_by = found.version, f"wheel metadata, refreshed {day}"
        if version is None:
            continue
        seen = listed.get(version, {})
        builds = {
            platform: tuple(sorted(seen[platform] & set(backends), key=backend_order))
            for platform, backends in release.builds.items()
            if seen.get(platform, set()) & set(backends)
        }
        same = before.confirmed and before.version == version and before.builds == builds
        source = before.source if same else (f"index pages, refreshed {day}" if builds else None)
        entries[package] = ExtensionEntry(version, paired_by, builds if source else {}, source)
    return entries


def mirrored(release: Release, served: Iterable[str] = ()) -> Release:
    """The shipped row with the Triton entries a refresh reads from the mirror's wheels
    (mirror_tritons' data, confirmed), per backend and collapsed as refresh collapses them,
    and its packages as a mirror serving the torch releases `served` lists them."""
    entries = {}
    backends = {b for bs in release.builds.values() for b in bs}
    for backend in sorted(backends, key=backend_order):
        required = required_tritons(release.torch, backend)
        platforms = [p for p, bs in release.builds.items() if backend in bs]
        needing = [p for p in platforms if requires_triton_on(release.torch, backend, p)]
        if not required or not needing:
            continue
        marker = None if needing == platforms else triton_marker(needing).replace('"', "'")
        requires = tuple(TritonRequirement(name, pin, marker) for name, pin in required)
        entries[backend] = TritonEntry(requires, MIRRORED)
    packages = mirrored_packages(release, served or DEFAULT_VERSIONS)
    return replace(release, triton=collapse_tritons(entries), packages=packages)


def rows(*versions: str) -> ReleaseTable:
    """The shipped table's rows of `versions`, with the Triton pins and the packages the
    session mirror serves: what a refresh against it finds current."""
    table = load_table()
    chosen = tuple(mirrored(r) for r in table.releases if r.torch in versions)
    assert len(chosen) == len(versions)
    return ReleaseTable(chosen, table.untagged_cpu)


def table_file(tmp_path: Path, table: ReleaseTable) -> Path:
    path = tmp_path / "releases.toml"
    path.write_text(dump_table(table), encoding="utf-8")
    return path


def refresh(
    fake: FakeIndexes, table: Path, *extra: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(
        [
            "releases",
            "refresh",
            "--index-url",
            fake.index_url,
            "--pypi-url",
            fake.url,
            "--table",
            str(table),
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    return code, out, err


# --- against the mirror --------------------------------------------------------------------


TRITON_LINE = re.compile(r'^[-+](rocm|xpu|"rocm[0-9.]+") = \{ requires = \[')
PACKAGE_LINE = re.compile(
    r"^[-+]((xformers|torchao|torchcodec|fbgemm-gpu) = \{ version = |\[release\.packages\]$)"
)


def test_refresh_rebuilds_the_whole_shipped_table(
    full_mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every row, byte for byte: builds per platform, Pythons, companions (torchaudio 2.11.0
    # serving torch>=2.11), PyPI's build per platform, untagged cpu platforms. Triton: the
    # mirror's wheels require what real locks show, so every pin the shipped table confirms
    # stays as it is, with its source; the entries it only names get the wheels' pins.
    shipped = table_file(tmp_path, load_table())
    before = shipped.read_text(encoding="utf-8")
    with FakeIndexes(full_mirror) as fake:
        today = date.today().isoformat()
        code, out, err = refresh(fake, shipped, "--write", capsys=capsys)
        assert code == 1, err
        # the only notes: pairings kept where no wheel on the index names the torch (torchao's
        # never do; the mirror serves xformers only from torch 2.5)
        notes = [line for line in err.splitlines() if "note:" in line]
        kept = re.compile(r"note: torch [0-9.]+: no [a-z-]+ wheel's metadata names this torch; ")
        assert all(kept.match(line.strip()) for line in notes), notes
        changed = [line for line in out.splitlines()[2:] if line[:1] in "+-"]
        assert changed
        odd = [
            line for line in changed if not (TRITON_LINE.match(line) or PACKAGE_LINE.match(line))
        ]
        assert not odd, odd
        refreshed = parse_table(shipped.read_text(encoding="utf-8"))
        for old, new in zip(load_table().releases, refreshed.releases, strict=True):
            assert replace(old, triton={}, packages={}) == replace(new, triton={}, packages={})
            # what the mirror serves of the packages built against torch, found by refresh
            assert new.packages == mirrored_packages(old, load_table().versions(), today)
            for key, entry in old.triton.items():
                if entry.confirmed:  # the lock's fact, confirmed again, keeps its source
                    assert new.triton_entry(key) == entry, (old.torch, key)
            for backend in {b for bs in new.builds.values() for b in bs}:
                found = new.triton_entry(backend)
                if backend.startswith(("rocm", "xpu")):
                    assert found is not None, (new.torch, backend)
                    assert found.source in (
                        f"wheel metadata, refreshed {today}",
                        *(e.source for e in old.triton.values()),
                    ), (new.torch, backend)
        # 2.7.1: rocm6.2.4 read from its wheels, rocm6.3 as farmers-eye-pytorch's lock shows it
        refreshed_on = f'source = "wheel metadata, refreshed {today}" }}'
        assert f'+rocm = {{ requires = ["pytorch-triton-rocm==3.3.0"], {refreshed_on}' in out
        # written, the table is current: no date churn on a second run
        code, out, err = refresh(fake, shipped, capsys=capsys)
    assert (code, out) == (0, ""), err
    assert f"is current ({len(load_table().releases)} releases)" in err
    assert before != shipped.read_text(encoding="utf-8")
    # No root listing: the candidate indexes were probed, and the pages came as JSON.
    assert "probing" in err
    assert fake.served["json"] > 0
    assert fake.served["html"] == 0


@pytest.mark.parametrize(
    ("pages", "root_listing"),
    [("html", False), ("json", False), ("html", True), ("negotiate", True)],
)
def test_html_only_json_only_and_root_listing_servers_agree(
    mirror: Mirror,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    pages: Pages,
    root_listing: bool,
) -> None:
    path = table_file(tmp_path, rows(*DEFAULT_VERSIONS))
    with FakeIndexes(mirror, pages=pages, root_listing=root_listing) as fake:
        code, out, err = refresh(fake, path, capsys=capsys)
    assert (code, out) == (0, ""), err
    assert "is current (5 releases)" in err
    if pages == "negotiate":
        assert fake.served["json"] > 0
        assert fake.served["html"] == 0
    else:
        assert fake.served[pages] > 0
        assert sum(fake.served.values()) == fake.served[pages]
    if root_listing:
        assert "the listing names" in err
        assert "probing" not in err
    else:
        assert "probing" in err


def test_progress_names_each_index_on_stderr(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = table_file(tmp_path, rows(*DEFAULT_VERSIONS))
    with FakeIndexes(mirror) as fake:
        code, _, err = refresh(fake, path, capsys=capsys)
    assert code == 0
    assert f"reading {fake.index_url}/\n" in err
    assert f"reading {fake.index_url}/cu124/torch/\n" in err
    assert f"reading {fake.index_url}/rocm6.2/torch/\n" in err
    assert f"reading {fake.url}/pypi/torchvision/json\n" in err
    assert "indexes with torch: cpu cu118 cu121 cu124 cu126 cu128 cu130 cu132" in err


def test_a_removed_release_is_a_diff_and_write_makes_the_table_current(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = table_file(tmp_path, rows(*DEFAULT_VERSIONS))
    before = path.read_text(encoding="utf-8")
    with FakeIndexes(mirror, hide=["2.7.0"]) as fake:
        code, out, err = refresh(fake, path, capsys=capsys)
        assert code == 1
        assert f"--- a/{path}" in out
        assert '-torch = "2.7.0"' in out
        assert '-torchvision = "0.22.0"' in out
        assert not re.search(r"^\+", out.split("\n@@", 1)[1], re.MULTILINE)  # removals only
        assert "- torch 2.7.0: no longer found" in err
        assert "run with --write" in err
        assert path.read_text(encoding="utf-8") == before  # nothing written without --write

        code, out, err = refresh(fake, path, "--write", capsys=capsys)
        assert code == 1
        assert f"wrote {path}" in err
        assert path.read_text(encoding="utf-8") == dump_table(
            rows("2.5.0", "2.5.1", "2.9.1", "2.13.0")
        )
        assert not list(tmp_path.glob(".releases.toml.*"))  # the atomic write left no temp file

        code, out, err = refresh(fake, path, "--write", capsys=capsys)
        assert (code, out) == (0, "")
        assert "is current (4 releases)" in err


def test_the_shipped_table_differs_from_a_mirror_of_five_releases(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = table_file(tmp_path, load_table())
    with FakeIndexes(mirror) as fake:
        code, out, err = refresh(fake, path, capsys=capsys)
    assert code == 1
    assert '-torch = "2.0.0"' in out
    assert '-torch = "2.5.0"' not in out
    assert err.count("no longer found") == len(load_table().releases) - 5


def test_a_new_release_is_added(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = table_file(tmp_path, rows("2.5.0", "2.5.1", "2.9.1", "2.13.0"))
    with FakeIndexes(mirror) as fake:
        code, out, err = refresh(fake, path, capsys=capsys)
    assert code == 1
    assert '+torch = "2.7.0"' in out
    assert '+linux-aarch64 = ["cpu", "cu128"]' in out
    assert "+ torch 2.7.0: new" in err


# --- unreachable and broken indexes --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_index_is_exit_2_with_a_clear_message(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = table_file(tmp_path, rows(*DEFAULT_VERSIONS))
    before = path.read_bytes()
    dead = f"http://127.0.0.1:{free_port()}"
    capsys.readouterr()
    code = main(["releases", "refresh", "--index-url", f"{dead}/whl", "--table", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: cannot reach {dead}/whl/: Connection refused" in err
    assert "hint:" in err
    assert "Traceback" not in err
    assert path.read_bytes() == before

    with FakeIndexes(mirror) as fake:
        capsys.readouterr()
        code = main(
            [
                *("releases", "refresh", "--index-url", fake.index_url, "--pypi-url", dead),
                *("--table", str(path), "--write"),
            ]
        )
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: cannot reach {dead}/pypi/torch/json: Connection refused" in err
    assert path.read_bytes() == before


def test_an_index_that_never_answers_times_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = table_file(tmp_path, rows(*DEFAULT_VERSIONS))
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/whl"
        code = main(
            ["releases", "refresh", "--index-url", url, "--timeout", "0.3", "--table", str(path)]
        )
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: {url}/: no whole answer within 0.3 s" in err


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/pypi/torch/json", 404, "/pypi/torch/json: HTTP 404 Not Found"),
        ("/whl/cu124/torch/", 500, "/whl/cu124/torch/: HTTP 500 Internal Server Error"),
    ],
)
def test_an_http_error_is_exit_2(
    mirror: Mirror,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    path: str,
    status: int,
    message: str,
) -> None:
    table = table_file(tmp_path, rows(*DEFAULT_VERSIONS))
    with FakeIndexes(mirror, fail={path: status}) as fake:
        code, out, err = refresh(fake, table, "--write", capsys=capsys)
    assert (code, out) == (2, "")
    assert f"error: {fake.url}{message}" in err


def test_the_index_url_defaults_to_uvtorch_index_url(mirror: Mirror, tmp_path: Path) -> None:
    table = table_file(tmp_path, rows(*DEFAULT_VERSIONS))
    said: list[str] = []
    with FakeIndexes(mirror) as fake:
        code = refresh_command(
            index_url=None,
            pypi_url=fake.url,
            table_path=table,
            write=False,
            timeout=10,
            env={"UVTORCH_INDEX_URL": fake.index_url},
            echo=said.append,
            progress=said.append,
        )
    assert code == 0
    assert f"reading {fake.index_url}/cpu/torch/" in said


def test_an_index_without_torch_pages_is_an_error(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = table_file(tmp_path, rows(*DEFAULT_VERSIONS))
    with FakeIndexes(mirror) as fake:
        capsys.readouterr()
        code = main(
            [
                *("releases", "refresh", "--index-url", f"{fake.url}/nothing-here"),
                *("--pypi-url", fake.url, "--table", str(path)),
            ]
        )
    err = capsys.readouterr().err
    assert code == 2
    assert "no PyTorch index under" in err


# --- the pure part -------------------------------------------------------------------------

_LINUX = "torch-2.5.0%2Bcu124-cp311-cp311-linux_x86_64.whl"
_WINDOWS = "torch-2.5.0%2Bcu124-cp311-cp311-win_amd64.whl"
HTML_PAGE = (
    '<!DOCTYPE html>\n<html><head><base href="/whl/cu124/"></head><body>\n'
    f'<a href="{_LINUX}#sha256=ab" data-dist-info-metadata="sha256=cd"'
    ' data-requires-python="&gt;=3.9">torch-2.5.0+cu124-cp311-cp311-linux_x86_64.whl</a><br/>\n'
    f'<a href="/whl/cu124/{_WINDOWS}" data-yanked="">'
    "torch-2.5.0+cu124-cp311-cp311-win_amd64.whl</a>\n</body></html>\n"
).encode()


def test_html_and_json_pages_read_the_same() -> None:
    url = "https://download.example/whl/cu124/torch/"
    html = parse_simple_page(HTML_PAGE, "text/html", url)
    document = {
        "meta": {"api-version": "1.0"},
        "name": "torch",
        "files": [
            {
                "filename": "torch-2.5.0+cu124-cp311-cp311-linux_x86_64.whl",
                "url": "../torch-2.5.0%2Bcu124-cp311-cp311-linux_x86_64.whl#sha256=ab",
                "hashes": {"sha256": "ab"},
                "requires-python": ">=3.9",
                "dist-info-metadata": {"sha256": "cd"},
            },
            {
                "filename": "torch-2.5.0+cu124-cp311-cp311-win_amd64.whl",
                "url": "/whl/cu124/torch-2.5.0%2Bcu124-cp311-cp311-win_amd64.whl",
                "hashes": {},
                "yanked": "",
            },
        ],
    }
    as_json = parse_simple_page(json.dumps(document).encode(), SIMPLE_JSON, url)
    assert html.files == as_json.files
    assert html.files == (
        IndexFile(
            "torch-2.5.0+cu124-cp311-cp311-linux_x86_64.whl",
            "https://download.example/whl/cu124/torch-2.5.0%2Bcu124-cp311-cp311-linux_x86_64.whl",
            ">=3.9",
            "https://download.example/whl/cu124/torch-2.5.0%2Bcu124-cp311-cp311-linux_x86_64.whl.metadata",
            sha256="ab",  # from the #sha256= fragment, or PEP 691's "hashes"
        ),
        IndexFile(
            "torch-2.5.0+cu124-cp311-cp311-win_amd64.whl",
            "https://download.example/whl/cu124/torch-2.5.0%2Bcu124-cp311-cp311-win_amd64.whl",
            yanked=True,
        ),
    )


def test_a_root_listing_names_backends_not_projects() -> None:
    page = parse_simple_page(
        b'<a href="cpu/">cpu</a><a href="cu130/">cu130</a><a href="rocm6.2.4/">rocm6.2.4</a>'
        b'<a href="torch/">torch</a><a href="mps/">mps</a>',
        "text/html",
        "https://x/whl/",
    )
    assert listed_backends(page) == ("cpu", "cu130", "rocm6.2.4")


def test_wheel_names() -> None:
    wheel = wheel_build("torch-2.9.0+cu130-cp313-cp313t-manylinux_2_28_aarch64.whl")
    assert wheel is not None
    assert (wheel.version, wheel.local) == ("2.9.0", "cu130")
    assert wheel.tagged_for("cu130")
    assert not wheel.tagged_for("cu13")
    assert wheel.pythons == {"3.13"}
    assert wheel.platforms == {"linux-aarch64"}
    wheel = wheel_build("torch-2.5.0+cpu.cxx11.abi-cp310-cp310-linux_x86_64.whl")
    assert wheel is not None
    assert wheel.tagged_for("cpu")
    wheel = wheel_build("torch-2.6.0+rocm6.2.4-cp310-cp310-manylinux_2_28_x86_64.whl")
    assert wheel is not None
    assert wheel.tagged_for("rocm6.2.4")
    assert not wheel.tagged_for("rocm6.2")
    wheel = wheel_build("torch-2.2.2-cp312-none-macosx_10_9_x86_64.whl")
    assert wheel is not None
    assert (wheel.local, set(wheel.platforms)) == ("", {"macos-x86_64"})
    wheel = wheel_build("torch-2.0.0-cp38-cp38-manylinux2014_aarch64.manylinux_2_17_aarch64.whl")
    assert wheel is not None
    assert wheel.platforms == {"linux-aarch64"}
    assert wheel_build("torch-2.5.0.tar.gz") is None
    assert wheel_build("torch-2.5.0-cp311-cp311-win_arm64.whl").platforms == set()  # type: ignore[union-attr]


def test_which_build_a_listed_file_is() -> None:
    def files(index: str, *names: str) -> tuple[IndexFile, ...]:
        return tuple(IndexFile(n, f"https://x/whl/{index}/{n}") for n in names)

    observed = Observed(
        indexes={
            "cpu": files(
                "cpu",
                "torch-2.7.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
                "torch-2.7.0-cp311-none-macosx_11_0_arm64.whl",
                "torch-2.7.0-cp311-cp311-manylinux_2_28_aarch64.whl",
            ),
            "cu128": files(
                "cu128",
                "torch-2.7.0+cu128-cp311-cp311-manylinux_2_28_x86_64.whl",
                "torch-2.7.0-cp311-cp311-manylinux_2_28_aarch64.whl",  # untagged SBSA build
                "torch-2.7.0+cpu-cp311-cp311-win_amd64.whl",  # a cpu build listed here too
                "torch-2.7.0-cp311-none-macosx_11_0_arm64.whl",  # macOS is cpu everywhere
                "torch-2.7.0rc1+cu128-cp311-cp311-win_amd64.whl",  # not a release
            ),
        },
        projects={
            "torch": {"2.7.0": ("torch-2.7.0-cp311-cp311-manylinux_2_28_x86_64.whl",)},
            "torchvision": {"0.22.0": ()},
            "torchaudio": {"2.7.0": ()},
        },
    )
    observed.releases[("torchvision", "0.22.0")] = PyPIRelease(("torch==2.7.0",), None)
    observed.releases[("torchaudio", "2.7.0")] = PyPIRelease(("torch==2.7.0",), None)
    refreshed = build_table(observed, rows("2.7.0"), "2026-12-08")
    (release,) = refreshed.table.releases
    assert release.builds == {
        "linux-x86_64": ("cpu", "cu128"),
        "linux-aarch64": ("cpu", "cu128"),
        "macos-arm64": ("cpu",),
    }
    assert release.python == ("3.11",)
    assert release.pypi == {"linux-x86_64": "cpu"}  # no CUDA runtime pinned in this metadata
    assert refreshed.table.untagged_cpu == ("linux-aarch64", "macos-arm64", "macos-x86_64")


def test_what_the_indexes_do_not_show_is_kept_from_the_table_and_noted() -> None:
    rocm = "torch-2.5.0+rocm6.2-cp311-cp311-manylinux_2_28_x86_64.whl"
    observed = Observed(
        indexes={"rocm6.2": (IndexFile(rocm, f"https://x/whl/rocm6.2/{rocm}"),)},  # no metadata
        projects={
            "torch": {
                "2.5.0": ("torch-2.5.0-cp311-cp311-manylinux_2_28_x86_64.whl",),
                "2.6.0": ("torch-2.6.0-cp311-cp311-manylinux_2_28_x86_64.whl",),
            },
            "torchvision": {"0.20.0": ()},
            "torchaudio": {},
        },
        releases={("torchvision", "0.20.0"): PyPIRelease(("torch==2.5.0",), None)},
    )
    shipped = load_table().get("2.5.0")
    assert shipped is not None
    refreshed = build_table(observed, ReleaseTable((shipped,)), "2026-12-08")
    (release,) = refreshed.table.releases
    assert (release.torchvision, release.torchaudio) == ("0.20.0", "2.5.0")
    assert release.triton == {"rocm": TritonEntry((TritonRequirement("pytorch-triton-rocm"),))}
    assert refreshed.notes == (
        "torch 2.5.0: no torchaudio release names it; kept 2.5.0",
        "torch 2.5.0: no core metadata names the Triton of its rocm6.2 builds; kept "
        "pytorch-triton-rocm",
        "torch 2.6.0: on PyPI but on no PyTorch index; left out",
    )


def test_the_build_plain_pypi_serves_comes_from_its_cuda_pins() -> None:
    linux_x86 = 'platform_system == "Linux" and platform_machine == "x86_64"'
    cu12 = [f"nvidia-cuda-runtime-cu12==12.4.127; {linux_x86}"]
    assert pypi_backend(cu12, "linux-x86_64", "3.12") == "cu124"
    assert pypi_backend(cu12, "linux-aarch64", "3.12") == "cpu"
    assert pypi_backend(cu12, "windows-x86_64", "3.12") == "cpu"
    cu13 = ['cuda-toolkit[cublas,cudart]==13.0.2; platform_system == "Linux"', "filelock"]
    assert pypi_backend(cu13, "linux-aarch64", "3.12") == "cu130"
    assert pypi_backend(cu13, "macos-arm64", "3.12") == "cpu"
    assert (
        pypi_backend(
            ['nvidia-cuda-runtime==13.0.*; sys_platform == "linux"'], "linux-x86_64", "3.12"
        )
        == "cu130"
    )


def test_companions_pair_by_exact_pin_then_by_the_range_they_serve() -> None:
    links = [
        CompanionLink(Version("0.29.0"), "2.14.0", None),
        CompanionLink(Version("0.29.1"), "2.14.1", None),
        CompanionLink(Version("0.29.2"), None, SpecifierSet(">=2.14.0")),
    ]
    assert pair_companion(links, "2.14.0") == "0.29.0"
    assert pair_companion(links, "2.14.1") == "0.29.1"
    assert pair_companion(links, "2.15.0") == "0.29.2"
    assert pair_companion(links, "2.13.0") is None


def test_triton_requirements_from_core_metadata() -> None:
    metadata = (
        "Metadata-Version: 2.1\nName: torch\nVersion: 2.13.0+rocm7.2\n"
        "Requires-Dist: filelock\n"
        'Requires-Dist: triton-rocm==3.7.1; platform_system == "Linux"\n'
        "Requires-Dist: pytorch-triton-xpu==3.1.0\n"
    )
    assert triton_requirements(metadata) == (
        TritonRequirement("triton-rocm", "3.7.1", "platform_system == 'Linux'"),
        TritonRequirement("pytorch-triton-xpu", "3.1.0"),
    )
    assert triton_requirements("Name: torch\nRequires-Dist: triton>=3\n") == ()


def test_refresh_confirms_each_backends_triton_from_its_wheels(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The shipped 2.13.0 row: rocm7.2 and xpu confirmed by real locks, rocm7.1 names only.
    shipped = load_table().get("2.13.0")
    assert shipped is not None
    path = table_file(tmp_path, ReleaseTable((shipped,), load_table().untagged_cpu))
    with FakeIndexes(mirror) as fake:
        today = date.today().isoformat()
        code, out, err = refresh(fake, path, capsys=capsys)
    refreshed_on = f'source = "wheel metadata, refreshed {today}" }}'
    assert code == 1
    assert "reading the core metadata of 3 rocm/xpu torch builds" in err  # one per backend
    # rocm7.1 is read from its own wheel; the locks' facts, read again, keep their sources
    assert [line for line in out.splitlines() if line[:1] in "+-" and "requires" in line] == [
        '-rocm = { requires = ["triton-rocm"] }',
        f'+rocm = {{ requires = ["triton-rocm==3.9.0"], {refreshed_on}',
    ]
    assert "~ torch 2.13.0: triton" in err


def test_refresh_confirms_the_packages_built_against_torch_from_the_index(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The shipped 2.9.1 row: xformers confirmed on the CUDA indexes (a live check of the real
    # index), torchao paired by its maintainers' table only; the mirror also lists xformers on
    # rocm6.4 (its build scripts' intent), and torchao on the cpu and CUDA indexes.
    shipped = load_table().get("2.9.1")
    assert shipped is not None
    row = replace(mirrored(shipped), packages=shipped.packages)
    path = table_file(tmp_path, ReleaseTable((row,), load_table().untagged_cpu))
    with FakeIndexes(mirror) as fake:
        today = date.today().isoformat()
        code, out, err = refresh(fake, path, capsys=capsys)
    assert code == 1
    added = [line for line in out.splitlines() if line.startswith("+") and " = { version" in line]
    pages = f'source = "index pages, refreshed {today}" }}'
    xformers = shipped.packages["xformers"]
    assert set(added) >= {
        '+xformers = { version = "0.0.33.post2", paired-by = '
        f'"{xformers.paired_by}", builds = {{ linux-x86_64 = ["cu126", "cu128", "cu130", '
        f'"rocm6.4"], windows-x86_64 = ["cu126", "cu128", "cu130"] }}, {pages}',
        '+torchao = { version = "0.15.0", paired-by = "pytorch/ao#2919: the maintainers\' '
        'compatibility table", builds = { linux-x86_64 = ["cpu", "cu126", "cu128", "cu130"], '
        f'linux-aarch64 = ["cpu"] }}, {pages}',
    }
    # torchao's wheels name no torch: its pairing is kept, and said so
    assert "torch 2.9.1: no torchao wheel's metadata names this torch; kept 0.15.0" in err
    assert "~ torch 2.9.1: packages" in err


def test_a_pin_the_wheels_contradict_is_replaced_with_theirs(
    mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = TritonEntry((TritonRequirement("triton-xpu", "3.9.0"),), "uv.lock of x/y@0000")
    release = rows("2.13.0").releases[0]
    table = ReleaseTable((replace(release, triton={**release.triton, "xpu": wrong}),))
    path = table_file(tmp_path, table)
    with FakeIndexes(mirror) as fake:
        today = date.today().isoformat()
        code, out, _ = refresh(fake, path, "--write", capsys=capsys)
    assert code == 1
    assert '-xpu = { requires = ["triton-xpu==3.9.0"], source = "uv.lock of x/y@0000" }' in out
    refreshed = parse_table(path.read_text(encoding="utf-8")).releases[0]
    assert refreshed.triton_entry("xpu") == TritonEntry(
        (TritonRequirement("triton-xpu", "3.7.2"),), f"wheel metadata, refreshed {today}"
    )


def test_a_marker_is_kept_only_where_it_leaves_out_a_platform_of_the_build() -> None:
    # torch 2.5.1+xpu is built for Linux and Windows and requires its Triton on Linux only
    (release,) = rows("2.5.1").releases
    entry = release.triton_entry("xpu")
    assert entry is not None
    assert [r.text for r in entry.requires] == [
        "pytorch-triton-xpu==3.1.0; platform_system == 'Linux' and platform_machine == 'x86_64'"
    ]
    rocm = release.triton_entry("rocm6.2")
    assert rocm is not None
    assert [r.text for r in rocm.requires] == ["pytorch-triton-rocm==3.1.0"]  # Linux-only build


def test_candidate_indexes_cover_the_table_and_what_may_come_next() -> None:
    candidates = candidate_backends(load_table())
    known = {b for r in load_table().releases for bs in r.builds.values() for b in bs}
    assert known <= set(candidates)
    assert {"cu131", "cu133", "cu134", "cu140", "rocm7.3", "rocm7.4", "rocm8.0"} <= set(candidates)
    assert "mps" not in candidates
    assert candidates[0] == "cpu"
    assert candidates[-1] == "xpu"


# --- the scheduled workflow ----------------------------------------------------------------


def test_refresh_workflow_passes_every_checker() -> None:
    assert validators.zizmor([WORKFLOW]) == []
    assert validators.actionlint(WORKFLOW) == []
    assert validators.schema(WORKFLOW, "workflow") == []


def test_refresh_workflow_is_hardened() -> None:
    import yaml

    text = WORKFLOW.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {}
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML 1.1 reads `on` as True
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    for step in job["steps"]:
        assert "${{" not in step.get("run", "")
    assert "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0" in text
    assert "astral-sh/setup-uv@20cfd1bf945f4377ade1205e4dbc17946fc9a30d # v10.0.1" in text
    assert "persist-credentials: false" in text
    assert "uvtorch-ci releases refresh --write" in text
    assert "gh pr create" in text
