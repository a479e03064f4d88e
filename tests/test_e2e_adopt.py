"""End to end: `init --lock` adopts projects as users wrote them (the uv docs' extras, an XPU
project, a CPU-only project), against the local mirror with the real uv: the spec keeps the
backends they had, the lock gives every target x Python the same builds as before, and
`verify` and `render --check` accept the result. A docling-serve-like project selects its
backends by dependency groups, with a default group."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from mirror import Mirror, uv_binary
from packaging.requirements import Requirement
from shared import SHARED, needs_shared
from test_e2e_init import resolved, run, uvtorch

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(mirror: Mirror, tmp_path: Path) -> dict[str, str]:
    return mirror.uv_env(tmp_path / "uv-cache")


HEAD = """\
[project]
name = "adopted"
version = "1.0"
requires-python = ">=3.11"
"""


def index(name: str, url: str) -> str:
    return f'\n[[tool.uv.index]]\nname = "{name}"\nurl = "{url}"\nexplicit = true\n'


def uv_docs_extras(mirror: Mirror) -> str:
    """uv's PyTorch guide: cpu and cu126 extras, conflicting, sources keyed by extra."""
    return (
        HEAD
        + """dependencies = ["numpy-free-package-list-is-empty; python_version < '3'"]

[project.optional-dependencies]
cpu = ["torch==2.9.1", "torchvision==0.24.1", "torchaudio==2.9.1"]
cu126 = ["torch==2.9.1", "torchvision==0.24.1", "torchaudio==2.9.1"]

[tool.uv]
conflicts = [
  [
    { extra = "cpu" },
    { extra = "cu126" },
  ],
]

[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", extra = "cpu" },
  { index = "pytorch-cu126", extra = "cu126", marker = "sys_platform != 'darwin'" },
]
torchvision = [
  { index = "pytorch-cpu", extra = "cpu" },
  { index = "pytorch-cu126", extra = "cu126", marker = "sys_platform != 'darwin'" },
]
torchaudio = [
  { index = "pytorch-cpu", extra = "cpu" },
  { index = "pytorch-cu126", extra = "cu126", marker = "sys_platform != 'darwin'" },
]
"""
        + index("pytorch-cpu", mirror.index_url("cpu"))
        + index("pytorch-cu126", mirror.index_url("cu126"))
    )


def xpu_project(mirror: Mirror) -> str:
    """torch for Intel GPUs on Linux and Windows (its Triton package too), PyPI elsewhere."""
    linux = "sys_platform == 'linux' and platform_machine == 'x86_64'"
    windows = "sys_platform == 'win32' and platform_machine == 'AMD64'"
    marker = f"{linux} or {windows}"
    return (
        HEAD
        + f"""dependencies = [
  "torch==2.9.1",
  "pytorch-triton-xpu==3.5.0 ; {marker}",
]

[tool.uv]
environments = ["{linux}", "{windows}"]

[tool.uv.sources]
torch = [{{ index = "intel", marker = "{marker}" }}]
pytorch-triton-xpu = [{{ index = "intel", marker = "{marker}" }}]
"""
        + index("intel", mirror.index_url("xpu"))
    )


def cpu_only(mirror: Mirror) -> str:
    """uv's guide: CPU-only builds on all platforms through an unmarked source."""
    return (
        HEAD
        + """dependencies = ["torch>=2.9", "torchvision"]

[tool.uv.sources]
torch = { index = "pytorch-cpu" }
torchvision = { index = "pytorch-cpu" }
"""
        + index("pytorch-cpu", mirror.index_url("cpu"))
    )


def docling_like_groups(mirror: Mirror) -> str:
    """docling-serve's way: a dependency group per backend, group conflicts, sources keyed by
    group, and a default backend through default-groups."""
    return (
        HEAD
        + """dependencies = []

[dependency-groups]
dev = []
cpu = ["torch==2.9.1", "torchvision==0.24.1"]
cu126 = ["torch==2.9.1", "torchvision==0.24.1"]

[tool.uv]
default-groups = ["dev", "cu126"]
conflicts = [
  [
    { group = "cpu" },
    # CUDA on Linux only
    { group = "cu126" },
  ],
]

[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", group = "cpu" },
  { index = "pytorch-cu126", group = "cu126", marker = "sys_platform == 'linux'" },
]
torchvision = [
  { index = "pytorch-cpu", group = "cpu" },
  { index = "pytorch-cu126", group = "cu126", marker = "sys_platform == 'linux'" },
]
"""
        + index("pytorch-cpu", mirror.index_url("cpu"))
        + index("pytorch-cu126", mirror.index_url("cu126"))
    )


CASES = {
    "groups": (
        docling_like_groups,
        [
            {"platform": "linux-x86_64", "backend": "cpu", "group": "cpu"},
            {"platform": "linux-aarch64", "backend": "cpu", "group": "cpu"},
            {"platform": "macos-arm64", "backend": "cpu", "group": "cpu"},
            {"platform": "windows-x86_64", "backend": "cpu", "group": "cpu"},
            {"platform": "linux-x86_64", "backend": "cu126", "group": "cu126"},
            {"platform": "linux-aarch64", "backend": "cu126", "group": "cu126"},
        ],
    ),
    "uv-docs-extras": (
        uv_docs_extras,
        [
            {"platform": "linux-x86_64", "backend": "cpu"},
            {"platform": "linux-aarch64", "backend": "cpu"},
            {"platform": "macos-arm64", "backend": "cpu"},
            {"platform": "windows-x86_64", "backend": "cpu"},
            {"platform": "linux-x86_64", "backend": "cu126"},
            {"platform": "linux-aarch64", "backend": "cu126"},
            {"platform": "windows-x86_64", "backend": "cu126"},
        ],
    ),
    "xpu": (
        xpu_project,
        [
            {"platform": "linux-x86_64", "backend": "xpu"},
            {"platform": "windows-x86_64", "backend": "xpu"},
        ],
    ),
    "cpu-only": (
        cpu_only,
        [
            {"platform": "linux-x86_64", "backend": "cpu"},
            {"platform": "linux-aarch64", "backend": "cpu"},
            {"platform": "macos-arm64", "backend": "cpu"},
            {"platform": "windows-x86_64", "backend": "cpu"},
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_init_lock_adopts_the_project_with_the_same_builds(
    case: str, mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    make, targets = CASES[case]
    project = tmp_path / case
    project.mkdir()
    original = make(mirror)
    (project / "pyproject.toml").write_text(original)
    run([str(uv_binary()), "lock"], project, env)  # the project locks as it was
    before = {p: resolved(project, p, "3.12") for p in ("linux-x86_64", "windows-x86_64")}

    result = uvtorch(["init", "--lock"], project, env)
    assert "inferred from the project's torch setup and uv.lock" in result.stderr
    # before anything is written or locked: the spec, proven against the lock real uv made
    proof = "this spec describes what uv.lock already installs: every target x Python"
    assert proof in result.stderr, result.stderr
    assert result.stderr.index(proof) < result.stderr.index("pyproject.toml: spec added")
    spec = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["uvtorch"]
    assert spec["targets"] == targets
    assert "builds before and after init:\n  every target x Python" in result.stderr, result.stderr
    assert "gets the same builds, from the same indexes" in result.stderr
    if case in ("xpu", "cpu-only"):  # without an extra: the bare project, before and after
        for platform, packages in before.items():
            assert resolved(project, platform, "3.12")["torch"] == packages["torch"]
    uvtorch(["render", "--check"], project, env)
    uvtorch(["verify"], project, env)
    run([str(uv_binary()), "lock", "--check"], project, env)


def test_init_lock_lists_each_build_a_flag_changes(
    mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "switched"
    project.mkdir()
    (project / "pyproject.toml").write_text(cpu_only(mirror))
    run([str(uv_binary()), "lock"], project, env)  # the project's own lock, to prove against
    args = ["init", "--lock", "--target", "linux-x86_64:cu126", "--target", "macos-arm64:cpu"]
    result = uvtorch([*args, "--python", "3.12"], project, env)
    cpu, cu126 = mirror.index_url("cpu"), mirror.index_url("cu126")
    # the proof against the project's own lock says what the next `uv lock` changes
    assert (
        "uv.lock differs from this spec in 1 of 2 target x Python environments; after "
        "`uv lock`:\n  linux-x86_64-cu126, Python 3.12: torch: comes from the cpu index"
    ) in result.stderr
    assert (
        "builds before and after init:\n"
        f"  linux-x86_64-cu126-py3.12: torch 2.13.0+cpu from {cpu} -> 2.13.0+cu126 from {cu126}\n"
        f"  linux-x86_64-cu126-py3.12: torchvision 0.28.0+cpu from {cpu} -> "
        f"0.28.0+cu126 from {cu126}\n"
    ) in result.stderr


def test_a_project_that_does_not_lock_as_it_was_is_said_so(
    mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "unlockable"
    project.mkdir()
    text = cpu_only(mirror).replace('"torchvision"]', '"torchvision", "no-such-package"]')
    (project / "pyproject.toml").write_text(text)
    result = uvtorch(["init", "--lock"], project, env, code=1)  # the new lock fails too
    assert "note: the project as it was does not lock (uv lock exit 1:" in result.stderr
    assert "builds before and after" not in result.stderr


def test_the_default_group_is_what_a_bare_sync_installs(
    mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "groups"
    project.mkdir()
    (project / "pyproject.toml").write_text(docling_like_groups(mirror))
    uvtorch(["init", "--lock", "--python", "3.12"], project, env)
    assert 'default-group = "cu126"' in (project / "pyproject.toml").read_text()
    run([str(uv_binary()), "sync", "--locked"], project, env)
    probe = "import torch; print(torch.__version__)"
    python = str(project / ".venv" / "bin" / "python")
    assert run([python, "-c", probe], project, env).stdout.split() == ["2.9.1+cu126"]
    run(
        [str(uv_binary()), "sync", "--locked", "--no-group", "cu126", "--group", "cpu"],
        project,
        env,
    )
    assert run([python, "-c", probe], project, env).stdout.split() == ["2.9.1+cpu"]


def test_a_pypi_target_keeps_the_build_pypi_serves(
    mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    """`backend = "pypi"`: Linux x86_64 keeps PyPI's (CUDA) build, Windows gets cu126; verify
    checks both (render --lock runs it)."""
    project = tmp_path / "pypi"
    project.mkdir()
    text = (
        HEAD
        + 'dependencies = ["torch==2.9.1"]\n'
        + (
            '\n[tool.uvtorch]\ntorch = "2.9.1"\npython = ["3.12"]\n\n'
            '[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "pypi"\n\n'
            '[[tool.uvtorch.targets]]\nplatform = "windows-x86_64"\nbackend = "cu126"\n'
        )
    )
    (project / "pyproject.toml").write_text(text)
    uvtorch(["render", "--lock"], project, env)
    new = (project / "pyproject.toml").read_text()
    assert "pytorch-pypi" not in new
    assert 'name = "pypi"' not in new
    assert resolved(project, "linux-x86_64", "3.12")["torch"] == ("2.9.1", mirror.pypi_url)
    assert resolved(project, "windows-x86_64", "3.12")["torch"] == (
        "2.9.1+cu126",
        mirror.index_url("cu126"),
    )
    matrix = uvtorch(["matrix"], project, env).stdout
    assert '"backend": "cu128"' in matrix  # what PyPI's Linux build is, for the smoke check


def test_other_platforms_take_the_index_the_spec_names(
    mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    """`other-platforms = "cpu"`: the platforms no target names get the cpu index (uv's guide:
    CPU-only builds everywhere), through a marker that leaves the targets out."""
    project = tmp_path / "others"
    project.mkdir()
    text = (
        HEAD
        + 'dependencies = ["torch==2.9.1"]\n'
        + (
            '\n[tool.uvtorch]\ntorch = "2.9.1"\npython = ["3.12"]\nother-platforms = "cpu"\n\n'
            '[[tool.uvtorch.targets]]\nplatform = "linux-x86_64"\nbackend = "cu126"\n'
        )
    )
    (project / "pyproject.toml").write_text(text)
    uvtorch(["render", "--lock"], project, env)
    assert resolved(project, "linux-x86_64", "3.12")["torch"] == (
        "2.9.1+cu126",
        mirror.index_url("cu126"),
    )
    # linux-aarch64 torch is +cpu on the cpu index from 2.6, as the real index serves it
    for platform, tag in (
        ("windows-x86_64", "+cpu"),
        ("macos-arm64", ""),
        ("linux-aarch64", "+cpu"),
    ):
        got = resolved(project, platform, "3.12")["torch"]
        assert got == ("2.9.1" + tag, mirror.index_url("cpu")), platform
    uvtorch(["render", "--check"], project, env)


# -- corpus projects, stripped to their torch setup, against the mirror ----------------------

CORPUS = SHARED / "corpus" / "pyproject"
# the corpus projects whose torch pins the mirror serves
LOCKABLE = (
    "expert-kit__expert-kit",
    "jesusdpa1__emgonset",
    "kyutai-labs__pocket-tts",
    "meta-llama__llama-stack",
    "tryfasting__karpathy-zero-to-hero-clone",
)


# llama-stack requires torch only in its `test` group; markers mode declares torch in
# [project].dependencies, so a bare sync now installs it, and init --lock says so
CHANGED = {
    "meta-llama__llama-stack": "linux-x86_64-cpu-py3.14: torch not installed -> 2.13.0+cpu from ",
}


def stripped(text: str, mirror: Mirror) -> str:
    """The project's torch setup alone: its torch-family requirements, their sources, the
    PyTorch indexes (pointed at the mirror), conflicts and environments; everything that
    would need the network left out."""
    import tomlkit

    data = tomllib.loads(text)
    project = data["project"]

    def family(items: list[object]) -> list[str]:
        return [i for i in items if isinstance(i, str) and is_family(i)]

    new: dict[str, object] = {
        "project": {
            "name": "adopted",
            "version": "1.0",
            "requires-python": ">=3.11",
            "dependencies": family(project.get("dependencies", [])),
        }
    }
    extras = {k: family(v) for k, v in project.get("optional-dependencies", {}).items()}
    if any(extras.values()):
        new["project"]["optional-dependencies"] = {k: v for k, v in extras.items() if v}  # type: ignore[index]
    groups = {k: family(v) for k, v in data.get("dependency-groups", {}).items()}
    if any(groups.values()):
        new["dependency-groups"] = {k: v for k, v in groups.items() if v}
    uv = data.get("tool", {}).get("uv", {})
    urls = {i["name"]: i["url"] for i in uv.get("index", [])}
    indexes = [
        {**i, "url": mirror.index_url(i["url"].rstrip("/").rsplit("/", 1)[-1])}
        for i in uv.get("index", [])
        if "download.pytorch.org/whl/" in i["url"]
    ]
    out_uv: dict[str, object] = {"index": indexes}
    for key in ("conflicts", "environments"):
        if key in uv:
            out_uv[key] = uv[key]
    out_uv["sources"] = {k: inline(v) for k, v in uv.get("sources", {}).items() if is_family(k)}
    if "conflicts" in out_uv:
        out_uv["conflicts"] = [inline(group) for group in uv["conflicts"]]
    assert all(name in urls for name in (i["name"] for i in indexes))
    new["tool"] = {"uv": out_uv}
    return tomlkit.dumps(new)


FAMILY = ("torch", "torchvision", "torchaudio", "pytorch-triton-rocm", "pytorch-triton-xpu")


def is_family(requirement: str) -> bool:
    return Requirement(requirement).name in FAMILY


def inline(value: object) -> object:
    """Tables inside arrays as inline tables, as the corpus writes its sources."""
    import tomlkit

    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update(value)
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(inline(v) for v in value)
        return array
    return value


@needs_shared("corpus", "pyproject")
@pytest.mark.parametrize("name", LOCKABLE)
def test_a_corpus_project_adopts_with_identical_builds(
    name: str, mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / name
    project.mkdir()
    (project / "pyproject.toml").write_text(stripped((CORPUS / f"{name}.toml").read_text(), mirror))
    run([str(uv_binary()), "lock"], project, env)
    result = uvtorch(["init", "--lock"], project, env)
    if name in CHANGED:  # init lists each build that differs
        cpu = mirror.index_url("cpu")
        assert f"  {CHANGED[name]}{cpu}\n" in result.stderr, result.stderr
    else:
        assert "gets the same builds, from the same indexes" in result.stderr, result.stderr
    uvtorch(["verify"], project, env)


def test_a_dead_marker_is_named_with_what_the_lock_installs(
    mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    """`platform_system == 'linux'` is never true (it is 'Linux'): real uv locks PyPI's torch
    everywhere; init names the marker, the line, and what uv.lock installs because of it."""
    project = tmp_path / "dead"
    project.mkdir()
    text = (
        HEAD
        + """dependencies = ["torch==2.9.1"]

[tool.uv.sources]
torch = [{ index = "pytorch-cu126", marker = "platform_system == 'linux'" }]
"""
        + index("pytorch-cu126", mirror.index_url("cu126"))
    )
    (project / "pyproject.toml").write_text(text)
    run([str(uv_binary()), "lock"], project, env)
    result = uvtorch(["init"], project, env, code=2)
    assert (
        "warning: pyproject.toml line 8: `platform_system == 'linux'` is never true: "
        "platform_system is never 'linux' (it is 'Linux': the comparison is case-sensitive); "
        "so the torch source to 'pytorch-cu126' never applies: linux-x86_64, linux-aarch64, "
        "macos-arm64, macos-x86_64, windows-x86_64 install PyPI's torch (uv.lock: torch 2.9.1 "
        f"from {mirror.pypi_url}"
    ) in result.stderr
    assert "error: --target: cannot infer it: no torch source routes a platform" in result.stderr
    assert (project / "pyproject.toml").read_text() == text


def test_a_base_torch_beside_selecting_extras_does_not_lock(
    mirror: Mirror, env: dict[str, str], tmp_path: Path
) -> None:
    """Why render takes torch out of [project].dependencies in extras mode (and init says what
    a bare `uv sync` then installs): beside the extras, with the required environments the
    spec adds, real uv finds no solution for the extra whose source leaves macOS to PyPI when it
    locks afresh; the project init renders locks."""
    project = tmp_path / "base"
    project.mkdir()
    text = (
        HEAD
        + """dependencies = ["torch==2.9.1"]

[project.optional-dependencies]
cpu = ["torch==2.9.1"]
cu126 = ["torch==2.9.1"]

[tool.uv]
conflicts = [[{ extra = "cpu" }, { extra = "cu126" }]]

[tool.uv.sources]
torch = [
  { index = "pytorch-cpu", extra = "cpu" },
  { index = "pytorch-cu126", extra = "cu126", marker = "sys_platform == 'linux'" },
]
"""
        + index("pytorch-cpu", mirror.index_url("cpu"))
        + index("pytorch-cu126", mirror.index_url("cu126"))
    )
    (project / "pyproject.toml").write_text(text)
    run([str(uv_binary()), "lock"], project, env)  # as it is: it locks
    result = uvtorch(["init", "--lock", "--python", "3.12"], project, env)
    assert "removed 'torch==2.9.1' from [project].dependencies" in result.stderr
    assert "so a bare `uv sync` or `uv run` installs no torch (before: PyPI's)" in result.stderr
    rendered = (project / "pyproject.toml").read_text()
    kept = rendered.replace("dependencies = []", 'dependencies = ["torch==2.9.1"]', 1)
    (project / "pyproject.toml").write_text(kept)
    (project / "uv.lock").unlink()  # a fresh lock (an old one steers uv to a solution)
    failed = run([str(uv_binary()), "lock"], project, env, code=1)
    assert "No solution found" in failed.stderr
