"""The fast `render --check`: answers "up to date" from a recorded digest, and only then."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from uvtorch_ci import resources
from uvtorch_ci.commands.fastcheck import inputs_digest, up_to_date

ROOT = Path(__file__).resolve().parents[1]
FAST = "and the generated files: up to date (unchanged)"


def run(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UVTORCH_CI_CACHE_DIR": str(cache)}
    env.pop("UVTORCH_INDEX_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    project = tmp_path / "seed"
    shutil.copytree(ROOT / "examples" / "seed", project)
    return project


def test_a_full_render_records_and_the_next_check_is_fast(seed: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run("render", "--check", cwd=seed, cache=cache)
    assert first.returncode == 0
    assert FAST not in first.stderr  # nothing recorded yet: the full render decided
    assert len(list((cache / "records").iterdir())) == 1
    second = run("render", "--check", cwd=seed, cache=cache)
    assert second.returncode == 0
    assert FAST in second.stderr


def test_any_change_of_an_input_or_output_goes_the_full_way(seed: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run("render", cwd=seed, cache=cache).returncode == 0
    assert FAST in run("render", "--check", cwd=seed, cache=cache).stderr

    pyproject = seed / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'backend = "cpu"', 'backend = "cpu"\nrunner = "ubuntu-22.04-arm"'
        )
    )
    changed = run("render", "--check", cwd=seed, cache=cache)
    assert changed.returncode == 1
    assert "would change" in changed.stderr

    assert run("render", cwd=seed, cache=cache).returncode == 0
    workflow = seed / ".github" / "workflows" / "torch.yml"
    workflow.write_text(workflow.read_text() + "# a note\n")
    edited = run("render", "--check", cwd=seed, cache=cache)
    assert edited.returncode == 1
    assert "edited by hand" in edited.stderr

    workflow.unlink()
    missing = run("render", "--check", cwd=seed, cache=cache)
    assert missing.returncode == 1
    assert FAST not in missing.stderr


def test_the_digest_covers_the_mirror_url_and_the_cache_can_be_off(
    seed: Path, tmp_path: Path
) -> None:
    plain = inputs_digest(seed, None, {})
    mirrored = inputs_digest(seed, None, {"UVTORCH_INDEX_URL": "http://127.0.0.1:1/whl"})
    assert plain is not None
    assert mirrored is not None
    assert plain != mirrored
    cache = tmp_path / "cache"
    assert run("render", cwd=seed, cache=cache).returncode == 0
    assert up_to_date(seed, None, {"UVTORCH_CI_CACHE_DIR": str(cache)})
    assert not up_to_date(seed, None, {"UVTORCH_CI_CACHE_DIR": "off"})
    assert not up_to_date(seed, None, {"UVTORCH_CI_CACHE_DIR": str(tmp_path / "empty")})


def test_only_the_plain_check_takes_the_fast_path(seed: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run("render", cwd=seed, cache=cache).returncode == 0
    diff = run("render", "--check", "--diff", cwd=seed, cache=cache)
    assert diff.returncode == 0
    assert FAST not in diff.stderr
    other = run("render", "--check", "--project", str(seed), cwd=tmp_path, cache=cache)
    assert other.returncode == 0
    assert FAST in other.stderr
    assert run("--version", cwd=seed, cache=cache).stdout.startswith("uvtorch-ci, version ")


def test_a_torn_or_foreign_record_is_not_trusted(seed: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run("render", cwd=seed, cache=cache).returncode == 0
    (record,) = (cache / "records").iterdir()
    whole = record.read_text()
    assert whole.endswith("\nend\n")
    record.write_text(whole.removesuffix("end\n"))  # a record cut short: the last line lost
    assert FAST not in run("render", "--check", cwd=seed, cache=cache).stderr
    record.write_bytes(b"\xff\xfe")
    assert FAST not in run("render", "--check", cwd=seed, cache=cache).stderr
    # the full render rewrote the record, so the next check is fast again
    assert FAST in run("render", "--check", cwd=seed, cache=cache).stderr


def test_a_standalone_spec_file_is_an_input(seed: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    pyproject = seed / "pyproject.toml"
    text = pyproject.read_text()
    head, _, rest = text.partition("[tool.uvtorch]\n")
    spec, _, tail = rest.partition("[tool.uv]\n")
    pyproject.write_text(f"{head}[tool.uv]\n{tail}")
    spec = spec.replace("[[tool.uvtorch.targets]]", "[[targets]]")
    (seed / "uvtorch.toml").write_text(spec)
    assert run("render", cwd=seed, cache=cache).returncode == 0
    assert FAST in run("render", "--check", cwd=seed, cache=cache).stderr
    (seed / "uvtorch.toml").write_text(
        spec.replace('backend = "cpu"', 'backend = "cpu"\nrunner = "ubuntu-22.04-arm"')
    )
    changed = run("render", "--check", cwd=seed, cache=cache)
    assert changed.returncode == 1
    assert FAST not in changed.stderr
    named = tmp_path / "other.toml"
    named.write_text(spec)
    assert inputs_digest(seed, named, {}) != inputs_digest(seed, None, {})


def test_the_fast_path_loads_nothing_heavy(seed: Path, tmp_path: Path) -> None:
    """Compared with a bare interpreter, an up-to-date check imports only our five small
    modules and CPython's built-in sha256: no click, Jinja2, tomlkit, packaging, tomllib,
    pathlib or re."""
    cache = tmp_path / "cache"
    assert run("render", cwd=seed, cache=cache).returncode == 0
    show = "import os, sys; print(' '.join(sorted(sys.modules)))"  # os: loaded by site
    fast = (
        "import sys; from uvtorch_ci.commands.entry import main; "
        f"code = main(['render', '--check']); {show}; sys.exit(code)"
    )
    src = str(Path(resources.PACKAGE_DIR).parent)
    env = {"PYTHONPATH": src, "UVTORCH_CI_CACHE_DIR": str(cache), "HOME": str(tmp_path)}

    def modules(code: str) -> set[str]:
        # -S: without site, so this machine's own .pth hooks don't blur the comparison
        done = subprocess.run(
            [sys.executable, "-S", "-c", code], cwd=seed, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return set(done.stdout.split())

    extra = modules(fast) - modules(show)
    assert {"uvtorch_ci.commands.entry", "uvtorch_ci.commands.fastcheck"} <= extra
    assert extra <= {
        "__future__",
        "uvtorch_ci",
        "uvtorch_ci.commands",
        "uvtorch_ci.commands.entry",
        "uvtorch_ci.commands.fastcheck",
        "uvtorch_ci.commands.paths",
        "uvtorch_ci.reading",
        "uvtorch_ci.resources",
        "_sha2",
        "_sha256",
    }, extra


def test_compiled_templates_are_kept_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jinja2

    from uvtorch_ci import templating
    from uvtorch_ci.plan.planner import plan_from_data
    from uvtorch_ci.releases.table import load_table

    plan = plan_from_data(
        {"torch": "2.5.0", "targets": [{"platform": "linux-x86_64", "backend": "cu124"}]},
        file="uvtorch.toml",
        prefix="",
        env={},
        table=load_table(),
    )
    folder = tmp_path / "templates"
    name = "pyproject-blocks.toml.j2"
    templating.environment.cache_clear()
    first = templating.environment(str(folder)).get_template(name).render(plan=plan)
    assert len(list(folder.glob("*.cache"))) == 1

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("the template was compiled again")

    templating.environment.cache_clear()
    monkeypatch.setattr(jinja2.Environment, "_parse", no_parsing)
    try:
        again = templating.environment(str(folder)).get_template(name).render(plan=plan)
    finally:
        templating.environment.cache_clear()
    assert again == first
    assert 'url = "https://download.pytorch.org/whl/cu124"' in again


def test_a_cache_folder_that_cannot_be_written_only_costs_speed(seed: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    done = run("render", cwd=seed, cache=blocked)
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stderr
    assert blocked.read_text() == "not a folder"


def test_old_records_and_a_killed_writers_leftovers_are_pruned(seed: Path, tmp_path: Path) -> None:
    from uvtorch_ci.commands import fastcheck

    records = tmp_path / "cache" / "records"
    records.mkdir(parents=True)
    for i in range(fastcheck.KEEP + 3):
        old = records / f"{i:064x}"
        old.write_text("end\n")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    leftover = records / ".abc.123.tmp"
    leftover.write_text("half")
    os.utime(leftover, (1_000_000, 1_000_000))
    fresh = records / ".def.456.tmp"  # a writer at work right now
    fresh.write_text("half")
    assert run("render", cwd=seed, cache=tmp_path / "cache").returncode == 0
    names = {p.name for p in records.iterdir()}
    assert len([n for n in names if not n.startswith(".")]) == fastcheck.KEEP
    assert f"{0:064x}" not in names  # the oldest went
    assert f"{fastcheck.KEEP + 2:064x}" in names
    assert ".abc.123.tmp" not in names
    assert ".def.456.tmp" in names


def test_the_tools_own_code_is_an_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another build under the same version (or an edited checkout) must not be answered
    from the records of the old code."""
    from uvtorch_ci.commands import fastcheck

    package = tmp_path / "uvtorch_ci"
    shutil.copytree(Path(resources.PACKAGE_DIR), package)
    templates = resources.templates_folder()
    monkeypatch.setattr(fastcheck, "templates_folder", lambda: templates)
    monkeypatch.setattr(fastcheck, "PACKAGE_DIR", str(package))
    before = fastcheck.package_digest()
    assert fastcheck.package_digest() == before  # stable while nothing changes
    module = package / "plan" / "planner.py"  # a module in a subpackage counts too
    module.write_text(module.read_text() + "\n# a fix\n")
    assert fastcheck.package_digest() != before


def test_a_record_says_only_what_one_render_read_and_wrote(
    seed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race, made deterministic: render A (mirror A) writes its outputs; render B
    (mirror B) runs to the end in between; then A records. A's record must not claim that
    B's outputs are what mirror A renders: the fast check with mirror A goes the full way
    and finds the drift."""
    from uvtorch_ci.commands import fastcheck
    from uvtorch_ci.commands.entry import main

    cache = tmp_path / "cache"
    mirror_a, mirror_b = "https://a.example.com/whl", "https://b.example.com/whl"
    env_b = {**os.environ, "UVTORCH_CI_CACHE_DIR": str(cache), "UVTORCH_INDEX_URL": mirror_b}
    real_remember = fastcheck.remember

    def remember_after_b(*args: object, **kwargs: object) -> None:
        other = subprocess.run(
            [sys.executable, "-m", "uvtorch_ci", "render", "--project", str(seed)],
            env=env_b,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode == 0, other.stderr
        real_remember(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fastcheck, "remember", remember_after_b)
    monkeypatch.setenv("UVTORCH_CI_CACHE_DIR", str(cache))
    monkeypatch.setenv("UVTORCH_INDEX_URL", mirror_a)
    assert main(["render", "--project", str(seed)]) == 0
    assert mirror_b in (seed / "pyproject.toml").read_text()  # B wrote last

    env_a = {"UVTORCH_CI_CACHE_DIR": str(cache), "UVTORCH_INDEX_URL": mirror_a}
    assert not up_to_date(seed, None, env_a)
    assert up_to_date(seed, None, {**env_a, "UVTORCH_INDEX_URL": mirror_b})  # B's own record
    monkeypatch.setattr(fastcheck, "remember", real_remember)
    assert main(["render", "--project", str(seed), "--check"]) == 1  # the drift is found


def test_a_record_is_keyed_by_the_inputs_as_read(seed: Path, tmp_path: Path) -> None:
    """A spec edited after the render read it: the record names the text the render used,
    so the edited spec is not answered from it."""
    from uvtorch_ci.commands.fastcheck import remember

    cache = tmp_path / "cache"
    env = {"UVTORCH_CI_CACHE_DIR": str(cache)}
    assert run("render", cwd=seed, cache=cache).returncode == 0
    shutil.rmtree(cache)
    pyproject = (seed / "pyproject.toml").read_text()
    generated = {
        name: (seed / name).read_text()
        for name in (".github/workflows/torch.yml", ".github/uvtorch/smoke.py")
    }
    # what a render read before someone edited pyproject.toml: it records nothing
    (seed / "pyproject.toml").write_text(pyproject.replace('"2.5.0"', '"2.5.1"', 1))
    remember(seed, None, env, pyproject=pyproject, spec=None, generated=generated)
    assert not (cache / "records").exists() or not list((cache / "records").iterdir())
    assert not up_to_date(seed, None, env)
    # the same render, with the disk as it left it: recorded, and the check answers from it
    (seed / "pyproject.toml").write_text(pyproject)
    remember(seed, None, env, pyproject=pyproject, spec=None, generated=generated)
    assert up_to_date(seed, None, env)


def test_the_spec_files_path_is_part_of_the_key(tmp_path: Path) -> None:
    """The same spec text under another name renders other files (their header names the
    spec), so a record made for one path must not answer for the other."""
    project = tmp_path / "project"
    (project / "a").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        "dependencies = []\n"
    )
    spec = 'torch = "2.5.0"\n[[targets]]\nplatform = "linux-x86_64"\nbackend = "cu124"\n'
    (project / "a" / "uvtorch.toml").write_text(spec)
    (project / "a" / "other.toml").write_text(spec)
    cache = tmp_path / "cache"
    assert run("render", "--spec", "a/uvtorch.toml", cwd=project, cache=cache).returncode == 0
    same = run("render", "--check", "--spec", "a/uvtorch.toml", cwd=project, cache=cache)
    assert FAST in same.stderr
    other = run("render", "--check", "--spec", "a/other.toml", cwd=project, cache=cache)
    assert other.returncode == 1, other.stderr
    assert FAST not in other.stderr
    assert ".github/workflows/torch.yml: would change" in other.stderr


def test_a_check_that_found_drift_records_nothing(seed: Path, tmp_path: Path) -> None:
    """Drift found by `render --check` stays drift: the next --check must find it again."""
    cache = tmp_path / "cache"
    assert run("render", cwd=seed, cache=cache).returncode == 0
    pyproject = seed / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"torch==2.5.0"', '"torch==2.4.0"'))
    for _ in range(2):
        drift = run("render", "--check", cwd=seed, cache=cache)
        assert drift.returncode == 1, drift.stderr
        assert FAST not in drift.stderr
        assert "pyproject.toml: would change" in drift.stderr


def test_an_edited_template_is_never_answered_from_an_old_record(tmp_path: Path) -> None:
    """The tool installed as a wheel lays it out (templates inside the package): after its
    workflow template changes, the same project's record no longer answers, and the full
    render finds the workflow out of date."""
    site = tmp_path / "site"
    package = site / "uvtorch_ci"
    shutil.copytree(resources.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(resources.templates_folder(), package / "templates")
    project = tmp_path / "seed"
    shutil.copytree(ROOT / "examples" / "seed", project)
    cache = tmp_path / "cache"
    env = {**os.environ, "UVTORCH_CI_CACHE_DIR": str(cache), "PYTHONPATH": str(site)}
    env.pop("UVTORCH_INDEX_URL", None)

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "uvtorch_ci", "render", "--check"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert check().returncode == 0  # the full render records
    assert FAST in check().stderr
    template = package / "templates" / "workflow.yml.j2"
    text = template.read_text()
    assert "    name: lock is current\n" in text
    template.write_text(text.replace("    name: lock is current\n", "    name: lock checked\n"))
    after = check()
    assert FAST not in after.stderr
    assert after.returncode == 1
    assert ".github/workflows/torch.yml: would change" in after.stderr
