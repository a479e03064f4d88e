"""Writes never tear: a render killed at any point leaves each file old or new, never a mix, and
the next render still works; permissions, line endings and links survive; two renders at once
agree; a path that cannot be written is a clean error that changes nothing; the directories
renamed into are synced once the renames are done, and a failure to sync them is no error."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
from projects import snapshot

from uvtorch_ci.commands import files
from uvtorch_ci.commands.entry import main
from uvtorch_ci.commands.files import write_all

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed" / "pyproject.toml"
WORKFLOW = ".github/workflows/torch.yml"
SMOKE = ".github/uvtorch/smoke.py"
# A long comment block makes pyproject.toml take many write() calls (and some time) to write.
PADDING = "".join(f"# padding line {n:05d} {'x' * 60}\n" for n in range(1500))

# Runs `render` with files.py's os seen through a proxy, and tempfile.mkstemp wrapped, so that
# each step is announced on stdout ("chunk <file> <n>", "replace-before <file>",
# "replace-after <file>") and slowed down: the test can SIGKILL the process at an exact point
# of a write.
DRIVER = r"""
import os, runpy, sys, tempfile, time, types
from uvtorch_ci.commands import files

def mark(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()

current = [""]
os_proxy = types.ModuleType("os")
os_proxy.__dict__.update(os.__dict__)
real_mkstemp = tempfile.mkstemp

def mkstemp(*args, prefix="", **kwargs):
    current[0] = prefix.strip(".")
    return real_mkstemp(*args, prefix=prefix, **kwargs)

class Slow:
    def __init__(self, stream):
        self.stream = stream
    def write(self, data):
        for number, start in enumerate(range(0, len(data), 8192)):
            self.stream.write(data[start : start + 8192])
            self.stream.flush()
            mark(f"chunk {current[0]} {number}")
            time.sleep(0.002)
        return len(data)
    def __getattr__(self, name):
        return getattr(self.stream, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self.stream.__exit__(*exc)

def replace(source, target):
    name = os.path.basename(target)
    mark(f"replace-before {name}")
    time.sleep(0.02)
    os.replace(source, target)
    mark(f"replace-after {name}")
    time.sleep(0.02)

os_proxy.fdopen = lambda *args, **kwargs: Slow(os.fdopen(*args, **kwargs))
os_proxy.replace = replace
tempfile.mkstemp = mkstemp  # files.py imports it when it writes
files.os = os_proxy
sys.argv = ["uvtorch-ci", "render"]
runpy.run_module("uvtorch_ci", run_name="__main__", alter_sys=True)
"""


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("UVTORCH_INDEX_URL", "GITHUB_ACTIONS")}
    return {**env, "UVTORCH_CI_CACHE_DIR": "off"}


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process renders too: no `render --check` answered from the user's cache."""
    monkeypatch.setenv("UVTORCH_CI_CACHE_DIR", "off")
    monkeypatch.delenv("UVTORCH_INDEX_URL", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def fresh_text() -> str:
    """The seed project before its first render, with a long comment block."""
    text = SEED.read_text(encoding="utf-8").split("\n[tool.uv.sources]")[0]
    return text.replace('dependencies = ["torch==2.5.0"]', "dependencies = []") + "\n" + PADDING


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """What one undisturbed render writes, by relative path."""
    project = tmp_path_factory.mktemp("once")
    (project / "pyproject.toml").write_text(fresh_text(), encoding="utf-8")
    result = run(project, "render")
    assert result.returncode == 0, result.stderr
    return {name: (project / name).read_bytes() for name in ("pyproject.toml", WORKFLOW, SMOKE)}


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", *args],
        cwd=project,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )


def render_in_process(project: Path, *args: str) -> int:
    return main(["render", "--project", str(project), *args])


def new_project(directory: Path) -> Path:
    directory.mkdir()
    (directory / "pyproject.toml").write_text(fresh_text(), encoding="utf-8")
    return directory


def leftovers(project: Path) -> list[str]:
    return sorted(str(p.relative_to(project)) for p in project.rglob(".*.tmp"))


def check_after_kill(project: Path, rendered: dict[str, bytes], old: bytes) -> dict[str, str]:
    """Each file is old (or absent) or new, never a mix; then a render and a check succeed."""
    states = {}
    for name, new in rendered.items():
        path = project / name
        now = path.read_bytes() if path.exists() else None
        before = old if name == "pyproject.toml" else None
        assert now in (before, new), f"{name} is neither the old nor the new file"
        states[name] = "new" if now == new else "old"
    stray = leftovers(project)
    assert render_in_process(project) == 0  # a leftover temporary file is ignored
    assert render_in_process(project, "--check") == 0
    for name, new in rendered.items():
        assert (project / name).read_bytes() == new
    assert leftovers(project) == stray  # neither read nor multiplied
    return states


def kill_at(project: Path, marker: str) -> None:
    """Start the announcing render and SIGKILL it right after it prints `marker`."""
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER],
        cwd=project,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line.strip())
        if line.strip() == marker:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=60)
    process.stdout.close()
    assert marker in seen, f"the render never reached {marker!r} (it printed {seen[-3:]})"


KILL_POINTS = [
    # (where the render is killed, what pyproject.toml / the workflow / the smoke copy are then)
    # Every temporary file is written before the first rename (files.write_all).
    ("chunk pyproject.toml 0", ("old", "old", "old")),
    ("chunk pyproject.toml 5", ("old", "old", "old")),
    ("chunk torch.yml 0", ("old", "old", "old")),
    ("chunk smoke.py 1", ("old", "old", "old")),
    ("replace-before pyproject.toml", ("old", "old", "old")),
    ("replace-after pyproject.toml", ("new", "old", "old")),
    ("replace-before torch.yml", ("new", "old", "old")),
    ("replace-after torch.yml", ("new", "new", "old")),
    ("replace-before smoke.py", ("new", "new", "old")),
    ("replace-after smoke.py", ("new", "new", "new")),
]


@pytest.mark.parametrize(("marker", "expected"), KILL_POINTS, ids=[m for m, _ in KILL_POINTS])
def test_killed_at_a_point_of_a_write(
    tmp_path: Path, rendered: dict[str, bytes], marker: str, expected: tuple[str, str, str]
) -> None:
    project = new_project(tmp_path / "p")
    old = (project / "pyproject.toml").read_bytes()
    kill_at(project, marker)
    states = check_after_kill(project, rendered, old)
    assert (states["pyproject.toml"], states[WORKFLOW], states[SMOKE]) == expected


def test_killed_at_random_times(tmp_path: Path, rendered: dict[str, bytes]) -> None:
    """Plain renders (nothing slowed down) killed at random moments of their run."""
    start = time.monotonic()
    assert run(new_project(tmp_path / "timing"), "render").returncode == 0
    duration = time.monotonic() - start
    chance = random.Random(20261124)
    outcomes = []
    for attempt in range(10):
        project = new_project(tmp_path / f"p{attempt}")
        old = (project / "pyproject.toml").read_bytes()
        process = subprocess.Popen(
            [sys.executable, "-m", "uvtorch_ci", "render"],
            cwd=project,
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(chance.uniform(0.5, 1.1) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        outcomes.append(check_after_kill(project, rendered, old)["pyproject.toml"])
    assert set(outcomes) <= {"old", "new"}


def test_two_renders_at_once_agree(tmp_path: Path, rendered: dict[str, bytes]) -> None:
    """Both slowed down like the killed ones, so that their writes overlap."""
    for attempt in range(10):
        project = new_project(tmp_path / f"p{attempt}")
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", DRIVER],
                cwd=project,
                env=environment(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for process in processes:
            _, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
        for name, new in rendered.items():
            assert (project / name).read_bytes() == new
        assert leftovers(project) == []
        assert render_in_process(project, "--check") == 0


def test_crlf_permissions_and_a_link_survive(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    real = project / "shared" / "pyproject.toml"  # a link within the project is followed
    real.parent.mkdir()
    crlf = fresh_text().replace("\n", "\r\n")
    real.write_bytes(crlf.encode("utf-8"))
    real.chmod(0o640)
    (project / "pyproject.toml").symlink_to(Path("shared") / "pyproject.toml")
    assert render_in_process(project) == 0
    assert (project / "pyproject.toml").is_symlink()  # the link's target was written
    text = real.read_bytes().decode("utf-8")
    assert text != crlf
    assert "\n" not in text.replace("\r\n", "")  # every line still ends in CRLF
    assert text.startswith(crlf.split("dependencies = []")[0])
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert render_in_process(project, "--check") == 0


def test_a_rewritten_workflow_keeps_its_permissions(tmp_path: Path) -> None:
    project = new_project(tmp_path / "p")
    assert render_in_process(project) == 0
    workflow = project / WORKFLOW
    workflow.chmod(0o600)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('torch = "2.5.0"', 'torch = "2.5.1"'))
    before = workflow.read_bytes()
    assert render_in_process(project) == 0
    assert workflow.read_bytes() != before
    assert stat.S_IMODE(workflow.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("blocker", "message"),
    [
        (".github", "error: .github/workflows/torch.yml: cannot be read or written: "),
        (".github/uvtorch", "error: .github/uvtorch/smoke.py: cannot be read or written: "),
    ],
)
def test_unwritable_path_is_a_clean_error(tmp_path: Path, blocker: str, message: str) -> None:
    """A directory on the output's path is a file (what even root cannot write through)."""
    project = new_project(tmp_path / "p")
    (project / blocker).parent.mkdir(parents=True, exist_ok=True)
    (project / blocker).write_text("not a directory\n")
    before = snapshot(project, directories=True)
    result = run(project, "render")
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(project, directories=True) == before


def test_output_that_is_a_directory_is_a_clean_error(tmp_path: Path) -> None:
    project = new_project(tmp_path / "p")
    (project / WORKFLOW).mkdir(parents=True)
    before = snapshot(project, directories=True)
    result = run(project, "render")
    assert result.returncode == 2
    assert result.stderr == f"error: {WORKFLOW}: is a directory, not a file\n"
    assert snapshot(project, directories=True) == before


PROC_FD = Path("/proc/self/fd")
needs_proc = pytest.mark.skipif(
    not PROC_FD.is_dir(), reason="reads which file a descriptor is from /proc/self/fd"
)


def record_syncs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """os.fsync and os.replace, still done, and logged in order: ("fsync", the synced path)
    and ("replace", the target)."""
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(PROC_FD / str(fd))))
        real_fsync(fd)

    def replace(source: str, target: str | Path) -> None:
        real_replace(source, target)
        events.append(("replace", os.path.realpath(target)))

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def synced_directories(events: list[tuple[str, str]]) -> list[str]:
    return [path for kind, path in events if kind == "fsync" and Path(path).is_dir()]


@needs_proc
def test_directories_are_synced_once_each_after_the_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(os.path.realpath(tmp_path))
    (root / "pyproject.toml").write_text("old\n")
    (root / "uvtorch.toml").write_text("old\n")
    events = record_syncs(monkeypatch)
    write_all(
        [
            (root / "pyproject.toml", "new\n", "pyproject.toml"),
            (root / "uvtorch.toml", "new\n", "uvtorch.toml"),  # the same directory
            (root / WORKFLOW, "workflow\n", WORKFLOW),  # .github and workflows are made
            (root / SMOKE, "smoke\n", SMOKE),  # .github/uvtorch is made
        ]
    )
    assert (root / WORKFLOW).read_text() == "workflow\n"
    renames = [i for i, (kind, _) in enumerate(events) if kind == "replace"]
    assert [events[i][1] for i in renames] == [
        str(root / name) for name in ("pyproject.toml", "uvtorch.toml", WORKFLOW, SMOKE)
    ]
    # each file's data before any rename; then each changed directory once, deepest first:
    # the outputs' own, and the parents of the directories made for them
    files_synced = [i for i, (kind, path) in enumerate(events) if kind == "fsync"]
    data = [i for i in files_synced if not Path(events[i][1]).is_dir()]
    assert len(data) == 4
    assert max(data) < min(renames)
    assert all(Path(events[i][1]).name.endswith(".tmp") for i in data)
    directories = [i for i in files_synced if Path(events[i][1]).is_dir()]
    assert min(directories) > max(renames)
    assert [events[i][1] for i in directories] == [
        str(root / ".github" / "workflows"),
        str(root / ".github" / "uvtorch"),
        str(root / ".github"),
        str(root),
    ]


@needs_proc
def test_a_render_syncs_the_directories_it_wrote_into_and_a_no_op_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = new_project(Path(os.path.realpath(tmp_path)) / "p")
    events = record_syncs(monkeypatch)
    assert render_in_process(project) == 0
    assert sorted(synced_directories(events)) == sorted(
        str(project / d) for d in ("", ".github", ".github/workflows", ".github/uvtorch")
    )
    last_rename = max(i for i, (kind, _) in enumerate(events) if kind == "replace")
    assert all(i > last_rename for i, (kind, path) in enumerate(events) if Path(path).is_dir())
    events.clear()
    assert render_in_process(project) == 0  # nothing changes: nothing written, nothing synced
    assert events == []


@needs_proc
def test_a_link_s_target_directory_is_the_one_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(os.path.realpath(tmp_path))
    (root / "shared").mkdir()
    (root / "shared" / "pyproject.toml").write_text("old\n")
    (root / "p").mkdir()
    (root / "p" / "pyproject.toml").symlink_to(root / "shared" / "pyproject.toml")
    events = record_syncs(monkeypatch)
    write_all([(root / "p" / "pyproject.toml", "new\n", "pyproject.toml")])
    assert (root / "shared" / "pyproject.toml").read_text() == "new\n"
    assert synced_directories(events) == [str(root / "shared")]


def test_a_directory_that_cannot_be_synced_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data is in place and renamed when the directory sync fails: a file system that
    refuses it (EINVAL on some network ones) must not turn a finished write into exit 2."""
    real_fsync = os.fsync
    refused: list[int] = []

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            refused.append(fd)
            raise OSError(22, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_all([(tmp_path / "sub" / "out.txt", "new\n", "out.txt")])
    assert (tmp_path / "sub" / "out.txt").read_text() == "new\n"
    assert len(refused) == 2  # sub, and tmp_path where sub was made
    assert leftovers(tmp_path) == []


def test_a_directory_that_cannot_be_opened_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Windows does (a directory cannot be opened), seen on POSIX: skipped quietly."""
    real_open = os.open
    tried: list[str] = []

    def open_(path: str | Path, flags: int, *args: int, **kwargs: int) -> int:
        if os.path.isdir(path):
            tried.append(str(path))
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    write_all([(tmp_path / "out.txt", "new\n", "out.txt")])
    assert (tmp_path / "out.txt").read_text() == "new\n"
    assert tried == [str(tmp_path)]


def test_off_posix_no_directory_is_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.name "nt" for files.py alone (its os seen through a proxy): no directory sync."""
    opened: list[str] = []
    proxy = types.ModuleType("os")
    proxy.__dict__.update(os.__dict__)
    proxy.name = "nt"  # type: ignore[attr-defined]

    def open_(path: str | Path, flags: int, *args: int, **kwargs: int) -> int:
        opened.append(str(path))
        return os.open(path, flags, *args, **kwargs)

    proxy.open = open_  # type: ignore[attr-defined]
    monkeypatch.setattr(files, "os", proxy)
    write_all([(tmp_path / "out.txt", "new\n", "out.txt")])
    assert (tmp_path / "out.txt").read_text() == "new\n"
    assert opened == []


def test_a_killed_renders_old_temporary_files_are_removed_by_the_next_render(
    tmp_path: Path,
) -> None:
    """Leftovers older than an hour go; a younger one may be a live writer's and stays;
    --check removes nothing; only the tool's own names are touched."""
    project = new_project(tmp_path / "p")
    assert render_in_process(project) == 0
    hour_ago = time.time() - 3700
    workflows = (project / WORKFLOW).parent
    old = [project / ".pyproject.toml.k1ll3d.tmp", workflows / ".torch.yml.x.tmp"]
    young = project / ".pyproject.toml.l1ve.tmp"
    foreign = project / ".mine.tmp"
    for path in (*old, young, foreign):
        path.write_text("half a file")
    for path in (*old, foreign):
        os.utime(path, (hour_ago, hour_ago))
    assert render_in_process(project, "--check") == 0
    assert all(path.exists() for path in old)
    assert render_in_process(project) == 0
    assert not any(path.exists() for path in old)
    assert young.exists()
    assert foreign.exists()


def test_an_oversized_file_is_refused_before_a_byte_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 161 MB uv.lock (sparse: it costs no disk) is refused from its size alone."""
    lock = tmp_path / "uv.lock"
    with lock.open("wb") as file:
        file.truncate(161_000_000)

    def no_read(*args: object) -> bytes:
        raise AssertionError("read a byte of a file it refuses")

    monkeypatch.setattr("uvtorch_ci.commands.files.os.read", no_read)
    with pytest.raises(files.PathError, match="is larger than 64 MiB, more than uvtorch-ci reads"):
        files.read_text(lock, "uv.lock", root=tmp_path)
