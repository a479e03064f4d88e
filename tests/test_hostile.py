"""Hostile repositories: what git can store (symbolic links anywhere), what a clone can hold
(a FIFO, a device) and what CI hands over. Every case exits 2 with its exact message,
within a few seconds, with no traceback, and changes nothing inside or outside the project."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed"
WORKFLOW = ".github/workflows/torch.yml"
SMOKE = ".github/uvtorch/smoke.py"
TIMEOUT = 20  # seconds: a hang fails the test instead of the suite
POLICY_HINT = (
    "  hint: uvtorch-ci reads and writes only inside the project: put the file itself there, "
    "or a link to a file within the project\n"
)
DANGLING_HINT = (
    "  hint: uvtorch-ci never creates a link's target: create the file, or remove the link\n"
)
REGULAR_HINT = "  hint: uvtorch-ci reads and writes only regular files; move it away\n"
pytestmark = pytest.mark.skipif(os.name != "posix", reason="FIFOs, devices and symlinks: POSIX")


def tree(top: Path) -> dict[str, tuple[str, object]]:
    """Every entry under `top` without following a link or opening anything but a regular
    file: its kind and its bytes, link target or mode."""
    entries: dict[str, tuple[str, object]] = {}
    for folder, names, files in os.walk(top):
        for name in names + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            relative = os.path.relpath(path, top)
            if stat.S_ISLNK(info.st_mode):
                entries[relative] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                entries[relative] = ("file", Path(path).read_bytes())
            else:
                entries[relative] = (oct(stat.S_IFMT(info.st_mode)), stat.S_IMODE(info.st_mode))
    return entries


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
    )


def clean_env(tmp_path: Path, cache: str = "off") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("UVTORCH_INDEX_URL", "GITHUB_ACTIONS")}
    return {**env, "UVTORCH_CI_CACHE_DIR": cache, "HOME": str(tmp_path / "home")}


def seed(tmp_path: Path) -> Path:
    """The seed project, rendered, with an `elsewhere` folder beside it."""
    project = tmp_path / "project"
    shutil.copytree(SEED, project)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep.txt").write_text("outside the project\n")
    return project


def replace(path: Path, make: Callable[[Path], None]) -> None:
    if path.is_symlink() or path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    make(path)


def link_github_outside(project: Path) -> None:
    shutil.rmtree(project / ".github")
    (project / ".github").symlink_to(Path("..") / "elsewhere")


def dangling_workflow(project: Path) -> None:
    replace(project / WORKFLOW, lambda p: p.symlink_to(Path("../../../gone/torch.yml")))


def dangling_workflow_inside(project: Path) -> None:
    replace(project / WORKFLOW, lambda p: p.symlink_to("missing.yml"))


def dangling_smoke(project: Path) -> None:
    replace(project / SMOKE, lambda p: p.symlink_to(project.parent / "gone" / "smoke.py"))


def workflow_to_device(project: Path) -> None:
    replace(project / WORKFLOW, lambda p: p.symlink_to("/dev/null"))


def fifo_at(relative: str) -> Callable[[Path], None]:
    def make(project: Path) -> None:
        replace(project / relative, lambda p: os.mkfifo(p))

    return make


def pyproject_to_device(project: Path) -> None:
    replace(project / "pyproject.toml", lambda p: p.symlink_to("/dev/zero"))


def pyproject_outside(project: Path) -> None:
    shutil.move(project / "pyproject.toml", project.parent / "elsewhere" / "pyproject.toml")
    (project / "pyproject.toml").symlink_to(Path("..") / "elsewhere" / "pyproject.toml")


def huge_pyproject(project: Path) -> None:
    with open(project / "pyproject.toml", "r+b") as file:
        file.truncate((64 << 20) + 1)  # sparse: nothing to write, all of it to read


def dangling_pyproject(project: Path) -> None:
    shutil.rmtree(project)
    project.mkdir()
    (project / "pyproject.toml").symlink_to(Path("..") / "gone" / "pyproject.toml")


CASES: list[tuple[str, Callable[[Path], None], list[str], str]] = [
    (
        "github-folder-links-outside",
        link_github_outside,
        ["render"],
        f"error: {WORKFLOW}: leads outside the project: .github is a symbolic link to "
        f"../elsewhere\n{POLICY_HINT}",
    ),
    (
        "workflow-dangling-link",
        dangling_workflow,
        ["render"],
        f"error: {WORKFLOW}: is a symbolic link to ../../../gone/torch.yml, which does not "
        f"exist\n{DANGLING_HINT}",
    ),
    (
        "workflow-dangling-link-inside",
        dangling_workflow_inside,
        ["render"],
        f"error: {WORKFLOW}: is a symbolic link to missing.yml, which does not exist\n"
        f"{DANGLING_HINT}",
    ),
    (
        "smoke-dangling-link",
        dangling_smoke,
        ["render"],
        f"error: {SMOKE}: is a symbolic link to {{tmp}}/gone/smoke.py, which does not exist\n"
        f"{DANGLING_HINT}",
    ),
    (
        "workflow-links-to-a-device-with-force",
        workflow_to_device,
        ["render", "--force"],
        f"error: {WORKFLOW}: is a symbolic link to /dev/null, outside the project\n{POLICY_HINT}",
    ),
    (
        "workflow-is-a-fifo",
        fifo_at(WORKFLOW),
        ["render"],
        f"error: {WORKFLOW}: is a named pipe (FIFO), not a regular file\n{REGULAR_HINT}",
    ),
    (
        "spec-option-is-a-fifo",
        fifo_at("spec.toml"),
        ["render", "--spec", "spec.toml"],
        f"error: spec.toml: is a named pipe (FIFO), not a regular file\n{REGULAR_HINT}",
    ),
    (
        "uvtorch-toml-is-a-fifo",  # read even though [tool.uvtorch] wins
        fifo_at("uvtorch.toml"),
        ["render"],
        f"error: uvtorch.toml: is a named pipe (FIFO), not a regular file\n{REGULAR_HINT}",
    ),
    (
        "lock-is-a-fifo",
        fifo_at("uv.lock"),
        ["verify"],
        f"error: uv.lock: is a named pipe (FIFO), not a regular file\n{REGULAR_HINT}",
    ),
    (
        "pyproject-links-to-a-device",
        pyproject_to_device,
        ["render"],
        f"error: pyproject.toml: is a symbolic link to /dev/zero, outside the project\n"
        f"{POLICY_HINT}",
    ),
    (
        "spec-option-is-a-device",  # named on the command line: outside the project is fine
        lambda project: None,
        ["render", "--spec", "/dev/zero"],
        f"error: /dev/zero: is a character device, not a regular file\n{REGULAR_HINT}",
    ),
    (
        "pyproject-links-outside",
        pyproject_outside,
        ["render"],
        f"error: pyproject.toml: is a symbolic link to ../elsewhere/pyproject.toml, outside "
        f"the project\n{POLICY_HINT}",
    ),
    (
        "pyproject-too-large",
        huge_pyproject,
        ["render"],
        "error: pyproject.toml: is larger than 64 MiB, more than uvtorch-ci reads\n"
        "  hint: is it the file you meant?\n",
    ),
    (
        "init-through-a-dangling-pyproject",
        dangling_pyproject,
        ["init", "--torch", "2.5.0"],
        "error: pyproject.toml: is a symbolic link to ../gone/pyproject.toml, which does not "
        f"exist\n{DANGLING_HINT}",
    ),
]


@pytest.mark.parametrize(
    ("setup", "args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_hostile_path_is_refused_and_nothing_changes(
    tmp_path: Path, setup: Callable[[Path], None], args: list[str], expected: str
) -> None:
    project = seed(tmp_path)
    setup(project)
    before = tree(tmp_path)
    result = run(args, project, clean_env(tmp_path))
    assert "Traceback" not in result.stderr
    assert result.stderr == expected.replace("{tmp}", str(tmp_path))
    assert result.returncode == 2
    assert tree(tmp_path) == before


def test_a_device_in_place_of_the_workflow_stays_a_device(tmp_path: Path) -> None:
    """`--force` overwrites hand edits, never a device node."""
    project = seed(tmp_path)
    (project / WORKFLOW).unlink()
    try:
        os.mknod(project / WORKFLOW, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    before = tree(tmp_path)
    result = run(["render", "--force"], project, clean_env(tmp_path))
    assert result.stderr == (
        f"error: {WORKFLOW}: is a character device, not a regular file\n{REGULAR_HINT}"
    )
    assert result.returncode == 2
    assert tree(tmp_path) == before


def test_a_link_out_of_the_project_is_refused_by_the_fast_check_too(tmp_path: Path) -> None:
    """A record made while the pyproject was a file never answers for a link out of the
    project with the same text: the full render refuses it."""
    project = seed(tmp_path)
    env = clean_env(tmp_path, cache=str(tmp_path / "cache"))
    assert run(["render"], project, env).returncode == 0
    assert "up to date (unchanged)" in run(["render", "--check"], project, env).stderr
    pyproject_outside(project)
    result = run(["render", "--check"], project, env)
    assert result.returncode == 2
    assert "outside the project" in result.stderr


@pytest.mark.parametrize("relative", ["uvtorch.toml", WORKFLOW])
def test_the_fast_check_does_not_hang_on_a_fifo(tmp_path: Path, relative: str) -> None:
    project = seed(tmp_path)
    env = clean_env(tmp_path, cache=str(tmp_path / "cache"))
    assert run(["render"], project, env).returncode == 0
    fifo_at(relative)(project)
    result = run(["render", "--check"], project, env)  # the timeout fails a hang
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {relative}: is a named pipe (FIFO)")


def test_a_link_within_the_project_is_followed(tmp_path: Path) -> None:
    """The supported form: pyproject.toml a link to a file inside the project; the file it
    points to is the one rewritten, and the link stays a link."""
    project = seed(tmp_path)
    (project / "config").mkdir()
    shutil.move(project / "pyproject.toml", project / "config" / "pyproject.toml")
    (project / "pyproject.toml").symlink_to(Path("config") / "pyproject.toml")
    target = project / "config" / "pyproject.toml"
    target.write_text(target.read_text().replace('torch = "2.5.0"', 'torch = "2.5.1"'))
    result = run(["render"], project, clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (project / "pyproject.toml").is_symlink()
    assert "torch==2.5.1" in target.read_text()


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: "# a note of mine\n" + text,
        lambda text: text.replace("do not edit by hand", "edited by hand", 1),
    ],
    ids=["a-line-above-the-header", "the-header-edited"],
)
def test_a_hand_edit_of_the_header_is_kept_without_force(
    tmp_path: Path, edit: Callable[[str], str]
) -> None:
    project = seed(tmp_path)
    workflow = project / WORKFLOW
    workflow.write_text(edit(workflow.read_text()))
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('torch = "2.5.0"', 'torch = "2.5.1"'))
    before = tree(tmp_path)
    result = run(["render"], project, clean_env(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: {WORKFLOW}: was edited by hand since uvtorch-ci generated it; nothing was "
        "written.\n"
    )
    assert tree(tmp_path) == before
    assert run(["render", "--force"], project, clean_env(tmp_path)).returncode == 0
    assert "2.5.1" in workflow.read_text()


def test_a_byte_order_mark_is_read_past_and_kept(tmp_path: Path) -> None:
    """uv reads a pyproject.toml that starts with a UTF-8 BOM; so does render, and the BOM
    is a byte of the user's that stays."""
    project = seed(tmp_path)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('torch = "2.5.0"', 'torch = "2.5.1"')
    pyproject.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = run(["render"], project, clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    written = pyproject.read_bytes()
    assert written.startswith(b"\xef\xbb\xbf[project]")
    assert b"torch==2.5.1" in written
    assert run(["render", "--check"], project, clean_env(tmp_path)).returncode == 0


@pytest.mark.parametrize("char", ["\u0080", "\ufffe", "\x7f", "\x9f"])
def test_a_ci_tool_url_with_any_character_gives_valid_yaml(tmp_path: Path, char: str) -> None:
    """The workflow's values are escaped where YAML forbids the raw character."""
    import json

    import yaml

    project = seed(tmp_path)
    pyproject = project / "pyproject.toml"
    url = f"uvtorch-ci @ https://example.com/uvtorch_ci-0.1.0-py3-none-any.whl#x{char}"
    pyproject.write_text(
        pyproject.read_text().replace(
            'torch = "2.5.0"', f'torch = "2.5.0"\nci-tool = {json.dumps(url)}'
        )
    )
    result = run(["render"], project, clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    workflow = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    assert workflow["jobs"]["check"]["env"]["UVTORCH_CI"] == url


@pytest.mark.parametrize(
    ("args", "env", "place", "shown"),
    [
        (
            [],
            {"UVTORCH_INDEX_URL": "https://bot:s3cr3t@mirror.example.com/whl"},
            "the environment variable UVTORCH_INDEX_URL",
            "https://***@mirror.example.com/whl",
        ),
        (
            ["--pypi-url", "https://pypi.example.com/?token=s3cr3t"],
            {},
            "--pypi-url",
            "https://pypi.example.com/?***",
        ),
    ],
    ids=["env-credentials", "pypi-url-query"],
)
def test_refresh_never_prints_a_secret_of_a_url(
    tmp_path: Path, args: list[str], env: dict[str, str], place: str, shown: str
) -> None:
    """refresh prints every URL it fetches: one with a secret is refused before any fetch,
    and the secret is not in the message."""
    result = run(["releases", "refresh", *args], tmp_path, {**clean_env(tmp_path), **env})
    assert result.returncode == 2
    assert result.stderr == (
        f'error: {place}: "{shown}" holds credentials, a query or a fragment\n'
        "  hint: refresh reads public indexes; give the URL without them\n"
    )
    assert "s3cr3t" not in result.stdout + result.stderr


def test_two_outputs_made_one_file_by_a_link_are_refused(tmp_path: Path) -> None:
    """The workflow linked to pyproject.toml (inside the project, so followed): even with
    --force, writing both would leave one of them lost."""
    project = seed(tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('torch = "2.5.0"', 'torch = "2.5.1"'))
    replace(project / WORKFLOW, lambda p: p.symlink_to(Path("../../pyproject.toml")))
    before = tree(tmp_path)
    result = run(["render", "--force"], project, clean_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr.endswith(
        f"error: {WORKFLOW}: is the same file as pyproject.toml (through a symbolic link)\n"
        "  hint: each file uvtorch-ci writes must be a file of its own; remove the link\n"
    )
    assert tree(tmp_path) == before


# --- the repository root is a boundary -------------------------------------------------------

ROOT_HINT = (
    "  hint: render writes the workflow at the repository's root, so uvtorch-ci uses only "
    "the repository of a regular checkout: remove what git found, or run in a clone\n"
)


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def clone_at(tmp_path: Path, depth: int) -> tuple[Path, Path]:
    """A git repository `depth` folders below tmp_path/top holding the seed project at its
    root, whose spec leaves the repository root to git: (the repository, the project)."""
    repository = tmp_path.joinpath("top", *["d"] * depth, "clone")
    shutil.copytree(SEED, repository)
    git("init", "-q", ".", cwd=repository)
    pyproject = repository / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('repository-root = "."\n', ""))
    return repository, repository


def test_repository_root_cannot_lead_above_the_clone(tmp_path: Path) -> None:
    """The issue's case: a cloned project's spec names a folder three above the repository;
    render (as the pre-commit hook runs it) writes nothing anywhere."""
    _, project = clone_at(tmp_path, 1)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'torch = "2.5.0"\n', 'torch = "2.5.1"\nrepository-root = "../../.."\n'
        )
    )
    before = tree(tmp_path)
    for args in (["render"], ["render", "--check"], ["upgrade", "--torch", "2.9.1", "--write"]):
        result = run(args, project, clean_env(tmp_path))
        assert result.returncode == 2, result.stderr
        assert result.stderr == (
            "error: pyproject.toml: tool.uvtorch.repository-root: names "
            f"{tmp_path}, above the root of the git repository that holds the project "
            f"({project})\n"
            "  hint: the repository root holds the project and lies within its git checkout: "
            'at most ".", or leave repository-root out (git decides)\n'
        ), args
        assert tree(tmp_path) == before


def test_repository_root_above_a_project_outside_git_is_refused(tmp_path: Path) -> None:
    project = seed(tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('repository-root = "."', 'repository-root = ".."')
    )
    before = tree(tmp_path)
    result = run(["render"], project, clean_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr == (
        f"error: pyproject.toml: tool.uvtorch.repository-root: names {tmp_path}, above the "
        "project, which is in no git repository\n"
        "  hint: the repository root holds the project and lies within its git checkout: "
        '"." (or leave repository-root out)\n'
    )
    assert tree(tmp_path) == before


def bare_repository_in(folder: Path, tmp_path: Path, *, bare: bool) -> None:
    """A repository's own files (HEAD, config, objects/, refs/), committed as plain files into
    `folder`, whose config sends git's top level three folders up."""
    made = tmp_path / "made.git"
    git("init", "-q", "--bare", str(made), cwd=tmp_path)
    shutil.copytree(made, folder, dirs_exist_ok=True)
    shutil.rmtree(made)
    config = folder / "config"
    config.write_text(
        config.read_text().replace("bare = true", f"bare = {str(bare).lower()}")
        + "\tworktree = ../../..\n"
    )


@pytest.mark.parametrize("bare", [True, False])
def test_a_repository_committed_into_the_project_is_refused(tmp_path: Path, bare: bool) -> None:
    repository, _ = clone_at(tmp_path, 2)
    project = repository / "project"
    shutil.copytree(SEED, project)
    bare_repository_in(project, tmp_path, bare=bare)
    before = tree(tmp_path)
    for args in (["render"], ["init", "--torch", "2.5.0", "--target", "linux-x86_64:cu124"]):
        if args[0] == "init":  # a project without its spec yet: init would add it
            pyproject = project / "pyproject.toml"
            pyproject.write_text(pyproject.read_text().split("[tool.uvtorch]")[0])
            before = tree(tmp_path)
        result = run(args, project, clean_env(tmp_path))
        assert result.returncode == 2, result.stderr
        assert result.stderr.endswith(  # init says what it inferred first
            f"error: {project}: git found a bare repository for the project and refuses it "
            f"(safe.bareRepository=explicit): cannot use bare repository '{project}' "
            f"(safe.bareRepository is 'explicit')\n{ROOT_HINT}"
        )
        assert tree(tmp_path) == before


def test_a_git_folder_inside_the_project_naming_an_ancestor_is_refused(tmp_path: Path) -> None:
    """A .git folder in the project's folder (a tarball can hold one) whose core.worktree
    makes git name a folder above as the top level: the repository is not the checkout's."""
    repository, _ = clone_at(tmp_path, 1)
    project = repository / "sub"
    shutil.copytree(SEED, project)
    git("init", "-q", ".", cwd=project)
    git("config", "core.worktree", "../../..", cwd=project)
    before = tree(tmp_path)
    result = run(["render"], project, clean_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {project}: git found the repository {project}/.git, which is not the .git of "
        f"the checkout it names ({tmp_path / 'top' / 'd'}): a repository inside the project is not "
        f"trusted\n{ROOT_HINT}"
    )
    assert tree(tmp_path) == before


def test_a_worktree_and_a_subfolder_project_keep_to_their_repository(tmp_path: Path) -> None:
    """What git names in a regular checkout stays the root: a worktree (its .git a file), and
    a project in a subfolder with repository-root up to the repository's root."""
    main, _ = clone_at(tmp_path, 0)
    git("add", "-A", cwd=main)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "seed", cwd=main)
    worktree = tmp_path / "worktree"
    git("worktree", "add", "-q", str(worktree), cwd=main)
    (worktree / WORKFLOW).unlink()
    assert run(["render"], worktree, clean_env(tmp_path)).returncode == 0
    assert (worktree / WORKFLOW).is_file()
    project = main / "LLM" / "PyTorch"
    shutil.copytree(SEED, project)
    for root, workflow in (
        ("..", "LLM/.github/workflows/torch-PyTorch.yml"),
        ("../..", ".github/workflows/torch-LLM-PyTorch.yml"),
    ):
        pyproject = project / "pyproject.toml"
        pyproject.write_text((SEED / "pyproject.toml").read_text().replace('"."', f'"{root}"'))
        result = run(["render"], project, clean_env(tmp_path))
        assert result.returncode == 0, result.stderr
        assert (main / workflow).is_file(), result.stderr


def test_a_sibling_whose_name_starts_with_the_projects_is_outside(tmp_path: Path) -> None:
    """`project-x` begins with `project` but is not inside it: a link there is refused by
    render, and the fast check does not answer for a pyproject.toml linked there."""
    project = seed(tmp_path)
    sibling = tmp_path / "project-x"
    shutil.copytree(project / ".github", sibling / ".github")
    shutil.rmtree(project / ".github")
    (project / ".github").symlink_to(Path("..") / "project-x" / ".github")
    before = tree(tmp_path)
    result = run(["render"], project, clean_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {WORKFLOW}: leads outside the project: .github is a symbolic link to "
        f"../project-x/.github\n{POLICY_HINT}"
    )
    assert tree(tmp_path) == before

    project = seed(tmp_path / "again")
    sibling = tmp_path / "again" / "project-x"
    sibling.mkdir()
    env = clean_env(tmp_path, cache=str(tmp_path / "cache"))
    assert run(["render"], project, env).returncode == 0
    assert "up to date (unchanged)" in run(["render", "--check"], project, env).stderr
    shutil.move(project / "pyproject.toml", sibling / "pyproject.toml")
    (project / "pyproject.toml").symlink_to(Path("..") / "project-x" / "pyproject.toml")
    result = run(["render", "--check"], project, env)
    assert result.returncode == 2
    assert "outside the project" in result.stderr


BOM = b"\xef\xbb\xbf"


def test_a_byte_order_mark_is_kept_by_every_writer(tmp_path: Path) -> None:
    """uv reads past a UTF-8 BOM; every command that rewrites pyproject.toml keeps it (and
    the CRLF line endings): render and its --diff, upgrade --write, init."""
    project = seed(tmp_path)
    pyproject = project / "pyproject.toml"
    crlf = pyproject.read_text().replace('torch = "2.5.0"', 'torch = "2.5.1"').replace("\n", "\r\n")
    pyproject.write_bytes(BOM + crlf.encode("utf-8"))
    diff = run(["render", "--check", "--diff"], project, clean_env(tmp_path))
    assert diff.returncode == 1
    assert "[project]" not in diff.stdout  # the first line, BOM and all, does not change
    assert run(["render"], project, clean_env(tmp_path)).returncode == 0
    assert pyproject.read_bytes().startswith(BOM + b"[project]\r\n")
    upgrade = run(["upgrade", "--torch", "2.9.1", "--write"], project, clean_env(tmp_path))
    assert upgrade.returncode == 0, upgrade.stderr
    written = pyproject.read_bytes()
    assert written.startswith(BOM + b"[project]\r\n")
    assert b'torch = "2.9.1"\r\n' in written
    assert run(["render", "--check"], project, clean_env(tmp_path)).returncode == 0

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    head = '[project]\nname = "fresh"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
    (fresh / "pyproject.toml").write_bytes(BOM + head.encode())
    init = run(
        ["init", "--torch", "2.5.0", "--target", "linux-x86_64:cu124"], fresh, clean_env(tmp_path)
    )
    assert init.returncode == 0, init.stderr
    assert (fresh / "pyproject.toml").read_bytes().startswith(BOM + b"[project]\n")


LOCK_HEAD = """\
version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "seed"
version = "0.1.0"
source = { virtual = "." }
dependencies = [{ name = "torch" }]
"""
TORCH_ENTRY = """
[[package]]
name = "torch"
version = "2.5.0"
source = { registry = "https://download.pytorch.org/whl/cpu" }
wheels = [
    { url = "https://download.pytorch.org/whl/cpu/torch-2.5.0-cp312-none-macosx_11_0_arm64.whl" },
]
"""


@pytest.mark.parametrize(
    ("lock", "message"),
    [
        (
            LOCK_HEAD + TORCH_ENTRY * 20_000,
            "error: uv.lock: package[2] (torch): is a [[package]] entry uv would not write (the "
            "same package as package[1]: torch 2.5.0 from https://download.pytorch.org/whl/cpu)\n"
            "  hint: run `uv lock` to write it again\n",
        ),
        (
            LOCK_HEAD + TORCH_ENTRY.replace('url = "', "url = [" + "0," * 1_000_000 + '], x = "'),
            "error: uv.lock: package[1] (torch): is a [[package]] entry uv would not write "
            "(wheels[0]'s url must be a string, not [0, 0, 0, 0, 0, 0, ...])\n"
            "  hint: run `uv lock` to write it again\n",
        ),
    ],
    ids=["20000-duplicate-torch-entries", "a-million-element-value"],
)
def test_a_huge_lock_is_refused_in_a_few_lines(tmp_path: Path, lock: str, message: str) -> None:
    project = seed(tmp_path)
    (project / "uv.lock").write_text(lock)
    before = tree(tmp_path)
    result = run(["verify"], project, clean_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr == message
    assert tree(tmp_path) == before
