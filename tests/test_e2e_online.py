"""End to end: `verify --online` reads the local index's pages (served on 127.0.0.1, and counted)
and proves every locked file of the torch family is one the index lists, at its URL and with its
hash; a moved or re-hashed file fails, and an index that cannot be reached is exit 2."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from lock_texts import SEED_SPEC
from mirror import Mirror
from projects import uv, uvtorch, write_project

from uvtorch_ci.lock.reader import parse_lock
from uvtorch_ci.verify.locations import file_hosts
from uvtorch_ci.verify.online import pages_to_read

pytestmark = pytest.mark.e2e


class CountingIndex:
    """The mirror's PyTorch indexes served again on a port of their own, counting each path
    asked for: how many requests `verify --online` makes."""

    def __init__(self, www: Path) -> None:
        self.paths: list[str] = []
        index = self

        class Handler(SimpleHTTPRequestHandler):
            def list_directory(self, path: Any) -> None:
                self.send_error(404, "Not Found")

            def do_GET(self) -> None:
                index.paths.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(www)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def counting(mirror: Mirror) -> Iterator[CountingIndex]:
    index = CountingIndex(mirror.www)
    yield index
    index.close()


@pytest.fixture(scope="module")
def locked(
    mirror: Mirror, counting: CountingIndex, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    env = mirror.uv_env(tmp_path_factory.mktemp("uv-cache"))
    env["UVTORCH_INDEX_URL"] = f"{counting.url}/whl"
    project = write_project(tmp_path_factory.mktemp("online") / "seed", SEED_SPEC)
    uvtorch(["render"], project, env)
    uv(["lock"], project, env)
    return project, env


def copy_of(locked: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    project = tmp_path / "seed"
    shutil.copytree(locked[0], project)
    return project


def test_a_fresh_lock_is_proven_with_one_request_per_page(
    locked: tuple[Path, dict[str, str]], counting: CountingIndex, tmp_path: Path
) -> None:
    project = copy_of(locked, tmp_path)
    env = locked[1]
    lock = parse_lock((project / "uv.lock").read_text())
    wanted = pages_to_read(lock, ("torch", "torchvision"), file_hosts(env["UVTORCH_INDEX_URL"]))
    assert len(wanted) == 4  # torch and torchvision, each from cu124 and cpu
    counting.paths.clear()
    result = uvtorch(["verify", "--online"], project, env)
    assert sorted(counting.paths) == sorted(w.url.removeprefix(counting.url) for w in wanted)
    files = sum(len(w.files) for w in wanted)
    assert f"note: --online: {files} locked files checked against 4 index pages, each listed " in (
        result.stdout
    )
    assert result.stdout.splitlines()[-1].startswith("ok: ")


def test_a_file_the_index_does_not_list_fails(
    locked: tuple[Path, dict[str, str]], counting: CountingIndex, tmp_path: Path
) -> None:
    """The file moved to the root of the indexes, where shared files may sit: offline that is a
    place the index serves from; only its page shows it does not list that file there."""
    project = copy_of(locked, tmp_path)
    lock = project / "uv.lock"
    text = lock.read_text()
    cu124 = f"{counting.url}/whl/cu124/torch-2.5.0%2Bcu124-cp312"
    assert cu124 in text
    lock.write_text(text.replace(cu124, f"{counting.url}/whl/torch-2.5.0%2Bcu124-cp312"))
    uvtorch(["verify"], project, locked[1])  # offline: a place the index keeps files
    result = uvtorch(["verify", "--online"], project, locked[1], expect=1)
    assert (
        f"torch 2.5.0+cu124: {counting.url}/whl/torch-2.5.0%2Bcu124-cp312-cp312-"
        f"manylinux_2_28_x86_64.whl is not a file the index lists for torch "
        f"({counting.url}/whl/cu124/torch/)"
    ) in result.stdout


def test_a_hash_the_index_does_not_give_fails(
    locked: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    project = copy_of(locked, tmp_path)
    lock = project / "uv.lock"
    text = lock.read_text()
    start = text.index("torch-2.5.0%2Bcu124-cp311")
    at = text.index('hash = "sha256:', start) + len('hash = "sha256:')
    lock.write_text(text[:at] + "0" * 64 + text[at + 64 :])
    uvtorch(["verify"], project, locked[1])  # offline, a hash proves nothing
    result = uvtorch(["verify", "--online"], project, locked[1], expect=1)
    assert (
        "torch 2.5.0+cu124: torch-2.5.0+cu124-cp311-cp311-manylinux_2_28_x86_64.whl is locked "
        f"with hash sha256:{'0' * 64}, but the index lists sha256:"
    ) in result.stdout


def test_an_index_that_cannot_be_reached_is_exit_2(
    locked: tuple[Path, dict[str, str]], counting: CountingIndex, tmp_path: Path
) -> None:
    project = copy_of(locked, tmp_path)
    port = counting.url.rsplit(":", 1)[1]
    dead = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    closed = f"127.0.0.1:{dead.server_address[1]}"
    dead.server_close()  # a port nothing listens on
    lock = project / "uv.lock"
    lock.write_text(lock.read_text().replace(f"127.0.0.1:{port}", closed))
    env = {**locked[1], "UVTORCH_INDEX_URL": f"http://{closed}/whl"}
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text().replace(f"127.0.0.1:{port}", closed)
    )
    result = uvtorch(["verify", "--online"], project, env, expect=2)
    assert result.stderr.startswith(f"error: cannot reach http://{closed}/whl/")
    assert "Traceback" not in result.stderr
    assert "verify without --online proves what it can offline" in result.stderr


def test_a_page_dripped_a_byte_at_a_time_is_cut_off_at_the_timeout(
    locked: tuple[Path, dict[str, str]], counting: CountingIndex, mirror: Mirror, tmp_path: Path
) -> None:
    """A socket timeout bounds each read only: the page is read a chunk at a time against one
    deadline for all pages, so a server that keeps sending one byte is not waited for."""
    import time

    class Dripping(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(600):  # a minute, were it read to the end
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Dripping)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        project = copy_of(locked, tmp_path)
        port = counting.url.rsplit(":", 1)[1]
        dripping = f"127.0.0.1:{server.server_address[1]}"
        for name in ("uv.lock", "pyproject.toml"):
            path = project / name
            path.write_text(path.read_text().replace(f"127.0.0.1:{port}", dripping))
        env = {**locked[1], "UVTORCH_INDEX_URL": f"http://{dripping}/whl"}
        started = time.monotonic()
        result = uvtorch(["verify", "--online", "--timeout", "2"], project, env, expect=2)
        assert time.monotonic() - started < 30
        assert "error: the index pages were not all read within 2 s" in result.stderr
    finally:
        server.shutdown()
        server.server_close()
