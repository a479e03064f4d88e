"""`releases refresh` against a hostile server on 127.0.0.1: it drips, floods, nests, redirects
elsewhere, lists thousands of indexes or pins torch to no version. Each is exit 2 with a
clear message, within seconds and a bounded amount of memory, and the table is left as it
was; no URL's secret is printed."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from uvtorch_ci.releases.table import ReleaseTable, dump_table, load_table

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
Route = Callable[[BaseHTTPRequestHandler, "Hostile"], None]


class Hostile:
    """A server whose answers are the routes given (path -> what to do); 404 elsewhere.
    `paths` records every request, in order."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.paths: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))

    def __enter__(self) -> Hostile:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, hostile: Hostile, *args: Any) -> None:
        self.hostile = hostile
        super().__init__(*args)

    def do_GET(self) -> None:
        self.hostile.paths.append(self.path)
        route = self.hostile.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
            route(self, self.hostile)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def answer(body: bytes, content_type: str = SIMPLE_JSON) -> Route:
    def route(handler: BaseHTTPRequestHandler, _: Hostile) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route


def drip(handler: BaseHTTPRequestHandler, hostile: Hostile) -> None:
    """A byte every tenth of a second, of a 10,000-byte answer: each read gets something."""
    handler.send_response(200)
    handler.send_header("Content-Type", SIMPLE_JSON)
    handler.send_header("Content-Length", "10000")
    handler.end_headers()
    for _byte in range(10000):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.1)


def flood(handler: BaseHTTPRequestHandler, hostile: Hostile) -> None:
    """2 GB of an answer without a length: read until the connection closes."""
    handler.send_response(200)
    handler.send_header("Content-Type", SIMPLE_JSON)
    handler.end_headers()
    block = b"[" * (1 << 20)
    for _block in range(2048):
        handler.wfile.write(block)


def claims_2_gb(handler: BaseHTTPRequestHandler, hostile: Hostile) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", SIMPLE_JSON)
    handler.send_header("Content-Length", str(2 << 30))
    handler.end_headers()
    handler.wfile.write(b"{}")


def redirect(location: str) -> Route:
    def route(handler: BaseHTTPRequestHandler, hostile: Hostile) -> None:
        handler.send_response(302)
        handler.send_header("Location", location.replace("{port}", str(hostile.url[-5:])))
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def listing(names: list[str]) -> Route:
    document = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
    return answer(json.dumps(document).encode())


def table_file(tmp_path: Path) -> Path:
    table = load_table()
    chosen = tuple(r for r in table.releases if r.torch in ("2.5.0", "2.5.1"))
    path = tmp_path / "releases.toml"
    path.write_text(dump_table(ReleaseTable(chosen, table.untagged_cpu)), encoding="utf-8")
    return path


def refresh(
    hostile: Hostile, tmp_path: Path, *extra: str, timeout: str = "2"
) -> subprocess.CompletedProcess[str]:
    """`releases refresh` against the server, in a process of its own with 300 MB of
    address space: reading a 2 GB answer whole would fail there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UVTORCH_")}
    env.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    table = table_file(tmp_path)
    before = table.read_bytes()
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (300 << 20, 300 << 20))\n"
        "from uvtorch_ci.commands.entry import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = ["releases", "refresh", "--index-url", f"{hostile.url}/whl"]
    args += ["--pypi-url", hostile.url, "--table", str(table), "--write", "--timeout", timeout]
    done = subprocess.run(
        [sys.executable, "-c", code, *args, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert table.read_bytes() == before  # nothing written
    assert "Traceback" not in done.stderr
    # what it read, on stderr, then the error: the error is the test's
    at = done.stderr.find("error: ")
    done.stderr = done.stderr[at:] if at >= 0 else done.stderr
    return done


@pytest.fixture(autouse=True)
def _posix_only() -> None:
    if sys.platform == "win32":
        pytest.skip("the address-space limit is POSIX's")


def test_a_server_dripping_a_byte_at_a_time_is_cut_off(tmp_path: Path) -> None:
    """--timeout is for the whole answer: a reply that never ends is not waited for."""
    with Hostile({"/whl/": drip}) as hostile:
        done = refresh(hostile, tmp_path, timeout="1")
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {hostile.url}/whl/: no whole answer within 1 s\n")


@pytest.mark.parametrize("route", [flood, claims_2_gb], ids=["streamed", "announced"])
def test_a_2_gb_answer_is_refused_unread(tmp_path: Path, route: Route) -> None:
    with Hostile({"/whl/": route}) as hostile:
        done = refresh(hostile, tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"error: {hostile.url}/whl/: the answer is larger than 32 MiB, more than refresh reads\n"
    )


def test_json_nested_200000_deep_is_refused(tmp_path: Path) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    with Hostile({"/whl/": answer(deep)}) as hostile:
        done = refresh(hostile, tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {hostile.url}/whl/: not a simple index page (nested too deeply to read)\n"
    )


@pytest.mark.parametrize(
    "location",
    [
        "http://localhost:{port}/whl/cpu/",  # another host name for the same server
        "https://127.0.0.1:{port}/whl/",  # another scheme
        "http://user:s3cr3t@example.invalid/whl/",
    ],
)
def test_a_redirect_off_the_index_host_is_refused(tmp_path: Path, location: str) -> None:
    with Hostile({"/whl/": redirect(location)}) as hostile:
        done = refresh(hostile, tmp_path)
    assert done.returncode == 2
    shown = location.replace("{port}", hostile.url[-5:]).replace("user:s3cr3t", "***")
    assert done.stderr.startswith(
        f"error: {hostile.url}/whl/: redirects to {shown}, on another host; refresh follows "
        "redirects only within the hosts of --index-url and --pypi-url\n"
    )
    assert "s3cr3t" not in done.stdout + done.stderr
    assert hostile.paths == ["/whl/"]  # nothing else was asked for


def test_a_redirect_within_the_index_host_is_followed(tmp_path: Path) -> None:
    routes = {"/whl/": redirect("/whl/listing/"), "/whl/listing/": listing(["cpu"])}
    with Hostile(routes) as hostile:
        done = refresh(hostile, tmp_path)
    assert done.returncode == 2  # the cpu index has no torch page here
    assert "no PyTorch index under" in done.stderr
    assert hostile.paths[:3] == ["/whl/", "/whl/listing/", "/whl/cpu/torch/"]


def test_thousands_of_listed_indexes_cost_one_request(tmp_path: Path) -> None:
    names = [f"cu{n}" for n in range(100, 1000)]
    names += [f"rocm{major}.{minor}" for major in range(1, 22) for minor in range(100)][:2100]
    with Hostile({"/whl/": listing(names)}) as hostile:
        done = refresh(hostile, tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"error: {hostile.url}/whl/ lists 3000 backend indexes, more than the 200 refresh reads\n"
    )
    assert hostile.paths == ["/whl/"]


def pypi_project(name: str, versions: list[str]) -> Route:
    document = {
        "info": {"name": name, "version": versions[-1]},
        "releases": {
            v: [{"filename": f"{name}-{v}-cp312-cp312-manylinux_2_28_x86_64.whl"}] for v in versions
        },
    }
    return answer(json.dumps(document).encode(), "application/json")


def pypi_release(requires: list[str]) -> Route:
    document = {"info": {"requires_dist": requires, "requires_python": ">=3.9"}}
    return answer(json.dumps(document).encode(), "application/json")


def test_a_companion_pinning_torch_to_no_version_is_refused(tmp_path: Path) -> None:
    torch_file = "torch-2.5.0%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl"
    page = {
        "meta": {"api-version": "1.1"},
        "name": "torch",
        "files": [{"filename": torch_file.replace("%2B", "+"), "url": torch_file}],
    }
    routes = {
        "/whl/": listing(["cpu"]),
        "/whl/cpu/torch/": answer(json.dumps(page).encode()),
        "/pypi/torch/json": pypi_project("torch", ["2.5.0"]),
        "/pypi/torchvision/json": pypi_project("torchvision", ["0.20.0"]),
        "/pypi/torchaudio/json": pypi_project("torchaudio", ["2.5.0"]),
        "/pypi/torch/2.5.0/json": pypi_release([]),
        "/pypi/torchvision/0.20.0/json": pypi_release(["torch (===notaversion)"]),
        "/pypi/torchaudio/2.5.0/json": pypi_release(["torch (==2.5.0)"]),
    }
    with Hostile(routes) as hostile:
        done = refresh(hostile, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"error: {hostile.url}/pypi/torchvision/0.20.0/json: not PyPI's JSON API (ValueError: "
        "\"requires_dist 'torch===notaversion' pins 'notaversion', which is no version\")\n"
    )
