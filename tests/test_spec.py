"""The spec reader and the plan's release checks: every mistake names its place and the fix."""

from __future__ import annotations

import tomllib

import pytest

from uvtorch_ci.errors import PyprojectError, SpecError
from uvtorch_ci.plan.planner import Plan, plan_from_data
from uvtorch_ci.releases.table import load_table

SEED = """
torch = "2.5.0"
[[targets]]
platform = "linux-x86_64"
backend = "cu124"
[[targets]]
platform = "macos-arm64"
backend = "mps"
[[targets]]
platform = "linux-aarch64"
backend = "cpu"
"""


def plan(text: str, env: dict[str, str] | None = None, requires_python: str = ">=3.9") -> Plan:
    return plan_from_data(
        tomllib.loads(text),
        file="uvtorch.toml",
        prefix="",
        env=env or {},
        table=load_table(),
        requires_python=requires_python,
    )


def error(text: str, requires_python: str = ">=3.9", env: dict[str, str] | None = None) -> str:
    with pytest.raises(SpecError) as caught:
        plan(text, env=env, requires_python=requires_python)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_seed_spec_reads_into_frozen_targets() -> None:
    result = plan(SEED, requires_python=">=3.11")
    spec = result.spec
    assert spec.exact_torch == "2.5.0"
    assert [t.name for t in spec.targets] == [
        "linux-x86_64-cu124",
        "macos-arm64-mps",
        "linux-aarch64-cpu",
    ]
    assert spec.targets[0].runner == ("ubuntu-latest",)
    assert spec.targets[1].runner == ("macos-15",)
    assert spec.targets[2].runner == ("ubuntu-24.04-arm",)
    assert spec.index_url == "https://download.pytorch.org/whl"
    assert spec.workflow is None  # the default: named after the project's folder
    assert spec.python == ("3.12",)  # newest that torch 2.5 and requires-python allow
    with pytest.raises(AttributeError):
        spec.targets[0].backend = "cpu"  # type: ignore[misc]


def test_index_url_env_replaces_the_spec_value() -> None:
    text = 'index-url = "https://mirror.example/whl/"\n' + SEED
    assert plan(text).spec.index_url == "https://mirror.example/whl"
    mirrored = plan(text, env={"UVTORCH_INDEX_URL": "http://127.0.0.1:9/whl"})
    assert mirrored.spec.index_url == "http://127.0.0.1:9/whl"
    assert mirrored.indexes[0].url == "http://127.0.0.1:9/whl/cu124"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SEED.replace("torch =", "troch ="), 'troch: unknown key "troch" (did you mean "torch"?)'),
        (SEED.replace('torch = "2.5.0"', ""), "torch: missing"),
        (SEED.replace('"2.5.0"', "2.5"), "torch: must be a string, not a number"),
        (SEED.replace('"2.5.0"', '"two"'), '"two" is neither a version nor a PEP 440 specifier'),
        (SEED.replace('"2.5.0"', '"2.5.0+cu124"'), "carries a local tag"),
        (SEED.replace('"2.5.0"', '"2.5.7"'), 'no torch release in the table matches "2.5.7"'),
        (
            SEED.replace('platform = "linux-x86_64"', 'platform = "linux-x86-64"'),
            'targets[0].platform: unknown platform "linux-x86-64" (did you mean "linux-x86_64"?)',
        ),
        (
            SEED.replace('backend = "cu124"', 'backend = "cuda"'),
            'targets[0].backend: unknown backend "cuda"',
        ),
        (
            SEED.replace('backend = "cu124"', 'backend = "mps"'),
            "targets[0].backend: mps exists only on macOS, not on linux-x86_64",
        ),
        (
            SEED.replace('backend = "mps"', 'backend = "cu124"'),
            'targets[1].backend: macOS builds are cpu builds with MPS compiled in; "cu124"',
        ),
        (
            SEED.replace('backend = "cu124"', 'bakend = "cu124"'),
            'targets[0].bakend: unknown key "bakend" (did you mean "backend"?)',
        ),
        (
            SEED.replace('backend = "cu124"', 'backend = "cu124"\ngpu = "yes"'),
            "targets[0].gpu: must be true or false, not a string",
        ),
        (
            SEED.replace('backend = "cu124"', 'backend = "cu124"\ngpu = true'),
            "targets[0].gpu: gpu = true needs a runner with a GPU, and the default runner "
            "(a GitHub-hosted one) has none",
        ),
        (
            SEED.replace(
                'backend = "cu124"', 'backend = "cu124"\ngpu = true\nrunner = "ubuntu-24.04"'
            ),
            "targets[0].runner: gpu = true cannot run here: ubuntu-24.04 is a GitHub-hosted "
            "runner, and those have no GPU",
        ),
        (
            SEED.replace('backend = "mps"', 'backend = "mps"\ngpu = true\nrunner = "macos-15"'),
            "targets[1].runner: gpu = true cannot run here: macos-15 is a GitHub-hosted macOS "
            "runner: it reports MPS available, but MPS does not work there",
        ),
        (
            SEED.replace('backend = "cu124"', 'backend = "cu124"\nrunner = "gpu; rm -rf /"'),
            "targets[0].runner: runner label 'gpu; rm -rf /' may only hold",
        ),
        (
            SEED.replace('backend = "cu124"', 'backend = "cu124"\nname = "${{ github.token }}"'),
            "targets[0].name: target name '${{ github.token }}' may only hold",
        ),
        (
            SEED.replace('backend = "cu124"', 'backend = "cu124"\nname = "macos-arm64-mps"'),
            'targets[1].name: "macos-arm64-mps" is already the name of targets[0]',
        ),
        ('torch = "2.5.0"\n', "targets: missing"),
        ('torch = "2.5.0"\ntargets = []\n', "targets: must be a non-empty array"),
        ('torch = "2.5.0"\ntargets = ["linux"]\n', "targets[0]: must be a table, not a string"),
        ('packages = ["torchvison"]\n' + SEED, '(did you mean "torchvision"?)'),
        ('python = ["3.12", "3.12"]\n' + SEED, "python: lists a Python version twice"),
        ('python = ["py3.12"]\n' + SEED, 'python[0]: "py3.12" is not a Python version'),
        ('index-url = "download.pytorch.org"\n' + SEED, 'index-url: "download.pytorch.org" is not'),
        ('workflow = "../ci.yml"\n' + SEED, 'workflow: "../ci.yml" is not a .yml file directly in'),
        ('workflow = "ci/torch.yml"\n' + SEED, "GitHub runs workflows only from there"),
        ('workflow = ".github/workflows/sub/x.yml"\n' + SEED, "directly in .github/workflows/"),
        ("timeout-minutes = 0\n" + SEED, "timeout-minutes: must be a whole number of minutes"),
        ('timeout-minutes = "60"\n' + SEED, "from 1 to 7200, not '60'"),
        ("timeout-minutes = true\n" + SEED, "timeout-minutes: must be a whole number"),
        ('repository-root = "/"\n' + SEED, 'repository-root: "/" is not the project\'s folder'),
        ('repository-root = "../x"\n' + SEED, "repository-root"),
        ('action = "./../other"\n' + SEED, "action: './../other' leads outside the workspace"),
        ('action = "./a/../../b"\n' + SEED, "leads outside the workspace"),
    ],
)
def test_bad_specs_name_the_key_and_what_is_valid(text: str, expected: str) -> None:
    assert expected in error(text)


def test_cuda_version_the_release_does_not_publish() -> None:
    message = error(SEED.replace('backend = "cu124"', 'backend = "cu128"'))
    assert message.startswith("uvtorch.toml: targets[0].backend: ")
    assert "torch 2.5.0 does not publish cu128 for linux-x86_64" in message
    assert "it publishes: cpu, cu118, cu121, cu124, rocm6.1, rocm6.2, xpu" in message
    assert "the nearest release with cu128 on linux-x86_64 is torch 2.7.0" in message


def test_python_the_release_has_no_wheels_for() -> None:
    assert plan(SEED.replace('"2.5.0"', '"2.3.0"').replace("cu124", "cu121"))
    message = error(
        'python = ["3.13"]\n' + SEED.replace('"2.5.0"', '"2.3.0"').replace("cu124", "cu121")
    )
    assert "python[0]: torch 2.3.0 has no wheels for Python 3.13" in message
    assert "the first release with Python 3.13 wheels is torch 2.6.0" in message


def test_intel_macos_after_2_2() -> None:
    text = SEED.replace('platform = "macos-arm64"', 'platform = "macos-x86_64"')
    message = error(text)
    assert "targets[1].platform: torch 2.5.0 publishes no builds for macos-x86_64" in message
    assert "the last release with macos-x86_64 builds is torch 2.2.2" in message
    assert plan(
        text.replace('"2.5.0"', '"2.2.2"').replace("cu124", "cu121"), requires_python=">=3.9"
    )


def test_python_outside_requires_python() -> None:
    message = error('python = ["3.9"]\n' + SEED, requires_python=">=3.11")
    assert "python[0]: Python 3.9 is outside the project's requires-python (>=3.11)" in message


def test_no_python_both_allow() -> None:
    message = error(SEED, requires_python=">=3.13")
    assert "no Python version is allowed both by torch 2.5.0" in message


def test_several_backends_on_one_platform_render_extras() -> None:
    text = SEED + '[[targets]]\nplatform = "linux-x86_64"\nbackend = "cpu"\n'
    result = plan(text)
    assert result.mode == "extras"
    assert result.dependencies == ()
    assert result.extras == {"cu124": ("torch==2.5.0",), "cpu": ("torch==2.5.0",)}
    assert result.conflicts == (("cu124", "cpu"),)
    cpu_marker = (
        "(sys_platform == 'darwin' and platform_machine == 'arm64') or "
        "(sys_platform == 'linux' and platform_machine == 'aarch64') or "
        "(sys_platform == 'linux' and platform_machine == 'x86_64')"
    )
    assert [s.as_dict() for s in result.sources["torch"]] == [
        {
            "index": "pytorch-cu124",
            "extra": "cu124",
            "marker": "sys_platform == 'linux' and platform_machine == 'x86_64'",
        },
        {"index": "pytorch-cpu", "extra": "cpu", "marker": cpu_marker},
    ]
    assert [(j.build.target.name, j.sync_args) for j in result.jobs] == [
        ("linux-x86_64-cu124", ("--extra", "cu124")),
        ("macos-arm64-mps", ("--extra", "cpu")),
        ("linux-aarch64-cpu", ("--extra", "cpu")),
        ("linux-x86_64-cpu", ("--extra", "cpu")),
    ]
    assert result.required_environments == (
        "sys_platform == 'linux' and platform_machine == 'x86_64'",
        "sys_platform == 'darwin' and platform_machine == 'arm64'",
        "sys_platform == 'linux' and platform_machine == 'aarch64'",
    )


LINUX = "sys_platform == 'linux' and platform_machine == 'x86_64'"


def test_rocm_routes_its_triton_package_to_the_same_index() -> None:
    text = 'torch = "2.5.0"\n[[targets]]\nplatform = "linux-x86_64"\nbackend = "rocm6.2"\n'
    result = plan(text)
    # no real lock or wheel confirmed 2.5.0's pin: routed unpinned, uv takes torch's own
    assert result.dependencies == ("torch==2.5.0", f"pytorch-triton-rocm ; {LINUX}")
    assert [s.as_dict() for s in result.sources["pytorch-triton-rocm"]] == [
        {"index": "pytorch-rocm6.2", "marker": LINUX}
    ]


@pytest.mark.parametrize(
    ("torch", "backend", "tritons"),
    [
        # confirmed by real locks: pinned as the real wheels require
        ("2.7.1", "rocm6.3", ["pytorch-triton-rocm==3.3.1"]),
        ("2.9.1", "rocm6.4", ["pytorch-triton-rocm==3.5.1"]),
        ("2.10.0", "rocm7.1", ["triton-rocm==3.6.0"]),
        ("2.12.1", "rocm7.2", ["triton-rocm==3.7.1"]),  # and no pytorch-triton-rocm
        ("2.13.0", "rocm7.2", ["triton-rocm==3.7.1"]),
        ("2.13.0", "xpu", ["triton-xpu==3.7.2"]),
        # not confirmed: the name alone, per backend (2.7.1's rocm6.3 pin is not rocm6.2.4's)
        ("2.7.1", "rocm6.2.4", ["pytorch-triton-rocm"]),
        ("2.13.0", "rocm7.1", ["triton-rocm"]),
        ("2.9.1", "xpu", ["pytorch-triton-xpu"]),
        # two releases of a range, both confirmed the same: one pin
        (">=2.12.1,<2.14", "rocm7.2", ["triton-rocm==3.7.1"]),
        # one of them unconfirmed: no pin can be promised for the range
        (">=2.12,<2.13", "rocm7.2", ["triton-rocm"]),
    ],
)
def test_triton_pins_only_what_the_table_confirms(
    torch: str, backend: str, tritons: list[str]
) -> None:
    text = f'torch = "{torch}"\n[[targets]]\nplatform = "linux-x86_64"\nbackend = "{backend}"\n'
    result = plan(text, requires_python=">=3.10")
    assert result.dependencies[1:] == tuple(f"{t} ; {LINUX}" for t in tritons)
    names = [t.partition("=")[0] for t in tritons]
    assert list(result.packages) == ["torch", *names]
    for name in names:
        assert [s.as_dict() for s in result.sources[name]] == [
            {"index": f"pytorch-{backend}", "marker": LINUX}
        ]


def test_xpu_triton_is_routed_only_where_torch_requires_it() -> None:
    # torch 2.5.1+xpu requires its Triton on Linux only: Windows builds run without one
    windows = "sys_platform == 'win32' and platform_machine == 'AMD64'"
    text = (
        'torch = "2.5.1"\n[[targets]]\nplatform = "linux-x86_64"\nbackend = "xpu"\n'
        '[[targets]]\nplatform = "windows-x86_64"\nbackend = "xpu"\n'
    )
    result = plan(text)
    assert result.dependencies == ("torch==2.5.1", f"pytorch-triton-xpu ; {LINUX}")
    assert [s.as_dict() for s in result.sources["torch"]] == [
        {"index": "pytorch-xpu", "marker": f"({LINUX}) or ({windows})"}
    ]
    assert [s.as_dict() for s in result.sources["pytorch-triton-xpu"]] == [
        {"index": "pytorch-xpu", "marker": LINUX}
    ]
    # 2.13.0 requires triton-xpu on both
    both = plan(text.replace("2.5.1", "2.13.0"), requires_python=">=3.10")
    assert both.dependencies[1:] == (f"triton-xpu==3.7.2 ; ({LINUX}) or ({windows})",)


def test_a_range_across_the_triton_rename_is_refused() -> None:
    text = 'torch = ">=2.10,<2.12"\n[[targets]]\nplatform = "linux-x86_64"\nbackend = "xpu"\n'
    message = error(text, requires_python=">=3.10")
    assert (
        "need differently named Triton packages (pytorch-triton-xpu, triton-xpu), which one "
        "lock cannot route"
    ) in message
    assert "pytorch-triton-xpu from torch 2.10.0; triton-xpu from torch 2.11.0" in message
    ranged = plan(text.replace(">=2.10,<2.12", ">=2.11,<2.13"), requires_python=">=3.10")
    assert ranged.dependencies[1:] == (f"triton-xpu ; {LINUX}",)


def test_same_build_on_two_runners_is_allowed() -> None:
    text = SEED + (
        '[[targets]]\nplatform = "linux-x86_64"\nbackend = "cu124"\n'
        'runner = ["self-hosted", "t4"]\n'
        'gpu = true\nname = "linux-gpu"\n'
    )
    result = plan(text)
    assert result.spec.targets[-1].runs_on == ["self-hosted", "t4"]
    assert len(result.indexes) == 2


def test_same_build_twice_on_the_same_runner_is_an_error() -> None:
    text = SEED + '[[targets]]\nplatform = "linux-x86_64"\nbackend = "cu124"\nname = "again"\n'
    assert "targets[3]: linux-x86_64 with cu124 is already targets[0]" in error(text)


def test_specifier_torch_renders_ranges() -> None:
    result = plan('torch = ">=2.5,<2.6"\npackages = ["torchvision"]\n' + SEED.split("\n", 2)[2])
    assert result.dependencies == ("torch>=2.5,<2.6", "torchvision>=0.20.0,<=0.20.1")
    assert result.builds[0].torch == "2.5.1+cu124"


def test_errors_in_pyproject_name_the_tool_table() -> None:
    with pytest.raises(SpecError) as caught:
        plan_from_data(
            tomllib.loads(SEED.replace("cu124", "cu999")),
            file="pyproject.toml",
            prefix="tool.uvtorch",
            env={},
            table=load_table(),
        )
    assert str(caught.value).startswith("pyproject.toml: tool.uvtorch.targets[0].backend: ")


# -- Python per target ------------------------------------------------------------------------

RANGE_CU121 = (
    'torch = ">=2.5,<2.7"\n'
    '[[targets]]\nplatform = "linux-x86_64"\nbackend = "cu121"\n'
    '[[targets]]\nplatform = "linux-x86_64"\nbackend = "cu124"\n'
)


def test_the_default_python_is_one_every_targets_build_has() -> None:
    """cu121 exists only in 2.5.x (Python 3.9-3.12), 2.6 adds 3.13: the axis stops at 3.12."""
    result = plan(RANGE_CU121)
    assert result.spec.python == ("3.12",)
    assert {job.python for job in result.jobs} == {"3.12"}
    only_cu124 = plan(
        RANGE_CU121.split('[[targets]]\nplatform = "linux-x86_64"\nbackend = "cu121"\n')[0]
        + '[[targets]]\nplatform = "linux-x86_64"\nbackend = "cu124"\n'
    )
    assert only_cu124.spec.python == ("3.13",)


def test_a_python_a_targets_release_lacks_is_refused() -> None:
    message = error(RANGE_CU121.replace('<2.7"\n', '<2.7"\npython = ["3.12", "3.13"]\n', 1))
    assert message == (
        "uvtorch.toml: python[1]: linux-x86_64-cu121 gets its cu121 build only from torch "
        "2.5.0 ... 2.5.1, which has no wheels for Python 3.13; it has 3.9, 3.10, 3.11, 3.12\n"
        "  hint: the Pythons every target's build has: 3.9, 3.10, 3.11, 3.12"
    )


def test_requires_python_below_the_releases_oldest_python_is_refused() -> None:
    """`uv lock` solves for every Python requires-python admits: torch 2.13 has none for 3.8."""
    text = 'torch = "2.13.0"\npython = ["3.12"]\n'
    text += '[[targets]]\nplatform = "linux-x86_64"\nbackend = "cpu"\n'
    with pytest.raises(PyprojectError) as caught:
        plan(text, requires_python=">=3.8")
    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        "pyproject.toml: project.requires-python: requires-python (>=3.8) admits Python 3.8, "
        "3.9, for which torch 2.13.0 has no wheels (its oldest is 3.10): `uv lock` solves for "
        "every Python requires-python admits, and would fail\n"
        '  hint: raise it: requires-python = ">=3.10"'
    )
    assert plan(text, requires_python=">=3.10").spec.python == ("3.12",)
    # a range: a Python that some release of it has is fine (uv picks that release there)
    assert plan(text.replace('"2.13.0"', '">=2.8,<2.14"'), requires_python=">=3.9")
