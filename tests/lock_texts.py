# ruff: noqa: E501 (the markers below are verbatim, as uv writes them)
"""uv.lock texts as uv writes them (hashes shortened), the pyproject.toml each was locked from,
and the specs behind them; {pt} and {pypi} stand for the index URLs until `text` fills them in."""

from __future__ import annotations

import json
from collections.abc import Sequence

PT = "https://download.pytorch.org/whl"
PYPI = "https://pypi.org/simple"
FILES = "https://files.pythonhosted.org/packages"  # where PyPI's files live


def text(template: str) -> str:
    """A text below with its index URLs in place."""
    return template.replace("{pt}", PT).replace("{pypi}", PYPI)


# -- builders: the repeated tables, in the exact text uv and uvtorch-ci write ----------------


def spec(
    torch: str,
    python: Sequence[str],
    targets: Sequence[tuple[str, str]],
    packages: Sequence[str] = (),
) -> str:
    """The body of a [tool.uvtorch] table; `targets` are (platform, backend) pairs."""
    lines = [f'torch = "{torch}"']
    if packages:
        lines.append(f"packages = {json.dumps(list(packages))}")
    lines.append(f"python = {json.dumps(list(python))}")
    for platform, backend in targets:
        lines += ["[[tool.uvtorch.targets]]", f'platform = "{platform}"', f'backend = "{backend}"']
    return "\n".join(lines) + "\n"


def indexes(*backends: str) -> str:
    """pyproject.toml's [[tool.uv.index]] tables for the PyTorch indexes of `backends`."""
    return "\n".join(
        f'[[tool.uv.index]]\nname = "pytorch-{b}"\nurl = "{{pt}}/{b}"\nexplicit = true\n'
        for b in backends
    )


def wheels(stem: str, pythons: Sequence[str], platforms: Sequence[str]) -> list[str]:
    """The URLs of `stem`'s CPython wheels, e.g. `stem`-cp312-cp312-win_amd64.whl."""
    return [f"{stem}-cp{p}-cp{p}-{platform}.whl" for p in pythons for platform in platforms]


def package(
    name: str,
    version: str,
    registry: str,
    *,
    markers: Sequence[str] = (),
    dependencies: Sequence[str] = (),
    files: Sequence[str] = (),
) -> str:
    """A [[package]] table of uv.lock; `files` are the wheels' URLs."""
    lines = [
        "[[package]]",
        f'name = "{name}"',
        f'version = "{version}"',
        f'source = {{ registry = "{registry}" }}',
    ]
    lines += _array("resolution-markers", [f'"{marker}"' for marker in markers])
    lines += _array("dependencies", dependencies)
    lines += _array("wheels", [f'{{ url = "{url}", hash = "sha256:00" }}' for url in files])
    return "\n".join(lines) + "\n"


def _array(key: str, items: Sequence[str]) -> list[str]:
    return [f"{key} = [", *(f"    {item}," for item in items), "]"] if items else []


EVERY_PLATFORM = (
    "macosx_11_0_arm64",
    "manylinux_2_28_aarch64",
    "manylinux_2_28_x86_64",
    "win_amd64",
)
ARM = ("macosx_11_0_arm64", "manylinux_2_28_aarch64")
X86_64 = ("manylinux_2_28_x86_64",)

# pyproject.toml's markers, as uvtorch-ci renders them, and uv.lock's, as uv rewrites them.
LINUX_X86_64 = "sys_platform == 'linux' and platform_machine == 'x86_64'"
MACOS_ARM64 = "sys_platform == 'darwin' and platform_machine == 'arm64'"
LINUX_AARCH64 = "sys_platform == 'linux' and platform_machine == 'aarch64'"
LOCKED_X86_64 = "platform_machine == 'x86_64' and sys_platform == 'linux'"
LOCKED_ARM = "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')"
LOCKED_ELSEWHERE = "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'"

# -- the seed: torch 2.5.0 and torchvision, Python 3.11 and 3.12, cu124 / mps / cpu ----------

SEED_SPEC = spec(
    "2.5.0",
    ["3.11", "3.12"],
    [("linux-x86_64", "cu124"), ("macos-arm64", "mps"), ("linux-aarch64", "cpu")],
    packages=["torchvision"],
)
CU124_SOURCE = f'  {{ index = "pytorch-cu124", marker = "{LINUX_X86_64}" }},\n'
CPU_SOURCE = f'  {{ index = "pytorch-cpu", marker = "({MACOS_ARM64}) or ({LINUX_AARCH64})" }},\n'

SEED_PYPROJECT = (
    """\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["torch==2.5.0", "torchvision==0.20.0"]

[tool.uvtorch]
"""
    + SEED_SPEC
    + f"""
[tool.uv]
required-environments = [
  "{LINUX_X86_64}",
  "{MACOS_ARM64}",
  "{LINUX_AARCH64}",
]

[tool.uv.sources]
torch = [
{CU124_SOURCE}{CPU_SOURCE}]
torchvision = [
{CU124_SOURCE}{CPU_SOURCE}]

"""
    + indexes("cu124", "cpu")
)

# What `uv lock` (0.13) writes for SEED_PYPROJECT against the test mirror.
SEED_LOCK = "\n".join(
    [
        """\
version = 1
revision = 5
requires-python = ">=3.11"
resolution-markers = [
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
    "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')",
    "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'",
]
required-markers = [
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
    "platform_machine == 'arm64' and sys_platform == 'darwin'",
    "platform_machine == 'aarch64' and sys_platform == 'linux'",
]
""",
        """\
[[package]]
name = "demo"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "torch", version = "2.5.0", source = { registry = "{pypi}" }, marker = "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'" },
    { name = "torch", version = "2.5.0", source = { registry = "{pt}/cpu" }, marker = "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')" },
    { name = "torch", version = "2.5.0+cu124", source = { registry = "{pt}/cu124" }, marker = "platform_machine == 'x86_64' and sys_platform == 'linux'" },
    { name = "torchvision", version = "0.20.0", source = { registry = "{pypi}" }, marker = "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'" },
    { name = "torchvision", version = "0.20.0", source = { registry = "{pt}/cpu" }, marker = "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')" },
    { name = "torchvision", version = "0.20.0+cu124", source = { registry = "{pt}/cu124" }, marker = "platform_machine == 'x86_64' and sys_platform == 'linux'" },
]

[package.metadata]
requires-dist = [
    { name = "torch", marker = "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'", specifier = "==2.5.0" },
    { name = "torch", marker = "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')", specifier = "==2.5.0", index = "{pt}/cpu" },
    { name = "torch", marker = "platform_machine == 'x86_64' and sys_platform == 'linux'", specifier = "==2.5.0", index = "{pt}/cu124" },
    { name = "torchvision", marker = "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'", specifier = "==0.20.0" },
    { name = "torchvision", marker = "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')", specifier = "==0.20.0", index = "{pt}/cpu" },
    { name = "torchvision", marker = "platform_machine == 'x86_64' and sys_platform == 'linux'", specifier = "==0.20.0", index = "{pt}/cu124" },
]
""",
        package(
            "torch",
            "2.5.0",
            "{pypi}",
            markers=[LOCKED_ELSEWHERE],
            files=wheels(f"{FILES}/torch-2.5.0", ["311", "312"], EVERY_PLATFORM),
        ),
        package(
            "torch",
            "2.5.0",
            "{pt}/cpu",
            markers=[LOCKED_ARM],
            files=wheels("{pt}/cpu/torch-2.5.0", ["311", "312"], ARM),
        ),
        package(
            "torch",
            "2.5.0+cu124",
            "{pt}/cu124",
            markers=[LOCKED_X86_64],
            files=wheels("{pt}/cu124/torch-2.5.0%2Bcu124", ["311", "312"], X86_64),
        ),
        package(
            "torchvision",
            "0.20.0",
            "{pypi}",
            markers=[LOCKED_ELSEWHERE],
            dependencies=[
                '{ name = "torch", version = "2.5.0", source = { registry = "{pypi}" } }'
            ],
            files=wheels(f"{FILES}/torchvision-0.20.0", ["311", "312"], EVERY_PLATFORM),
        ),
        package(
            "torchvision",
            "0.20.0",
            "{pt}/cpu",
            markers=[LOCKED_ARM],
            dependencies=[
                '{ name = "torch", version = "2.5.0", source = { registry = "{pt}/cpu" } }'
            ],
            files=wheels("{pt}/cpu/torchvision-0.20.0", ["311", "312"], ARM),
        ),
        package(
            "torchvision",
            "0.20.0+cu124",
            "{pt}/cu124",
            markers=[LOCKED_X86_64],
            dependencies=[
                '{ name = "torch", version = "2.5.0+cu124", source = { registry = "{pt}/cu124" } }'
            ],
            files=wheels("{pt}/cu124/torchvision-0.20.0%2Bcu124", ["311", "312"], X86_64),
        ),
    ]
)

# -- several backends on one platform: extras and conflicts (torch only, Python 3.12) ---------

EXTRAS_SPEC = spec(
    "2.5.0", ["3.12"], [("linux-x86_64", "cpu"), ("linux-x86_64", "cu124"), ("macos-arm64", "mps")]
)

EXTRAS_PYPROJECT = (
    """\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[project.optional-dependencies]
cpu = [
  "torch==2.5.0",
]
cu124 = [
  "torch==2.5.0",
]

[tool.uvtorch]
"""
    + EXTRAS_SPEC
    + f"""
[tool.uv]
required-environments = [
  "{LINUX_X86_64}",
  "{MACOS_ARM64}",
]
conflicts = [
  [
    {{ extra = "cpu" }},
    {{ extra = "cu124" }},
  ],
]

[tool.uv.sources]
torch = [
  {{ index = "pytorch-cpu", extra = "cpu", marker = "({LINUX_X86_64}) or ({MACOS_ARM64})" }},
  {{ index = "pytorch-cu124", extra = "cu124", marker = "{LINUX_X86_64}" }},
]

"""
    + indexes("cpu", "cu124")
)

EXTRAS_LOCK = "\n".join(
    [
        """\
version = 1
revision = 5
requires-python = ">=3.11"
resolution-markers = [
    "platform_machine == 'x86_64' and sys_platform == 'linux' and extra != 'extra-4-demo-cpu' and extra == 'extra-4-demo-cu124'",
    "(platform_machine != 'x86_64' or sys_platform != 'linux') and extra != 'extra-4-demo-cpu' and extra == 'extra-4-demo-cu124'",
    "platform_machine == 'x86_64' and sys_platform == 'linux' and extra == 'extra-4-demo-cpu' and extra != 'extra-4-demo-cu124'",
    "platform_machine == 'arm64' and sys_platform == 'darwin' and extra == 'extra-4-demo-cpu' and extra != 'extra-4-demo-cu124'",
    "(platform_machine != 'arm64' and platform_machine != 'x86_64' and extra == 'extra-4-demo-cpu' and extra != 'extra-4-demo-cu124') or (platform_machine == 'x86_64' and sys_platform == 'darwin' and extra == 'extra-4-demo-cpu' and extra != 'extra-4-demo-cu124') or (platform_machine == 'arm64' and sys_platform == 'linux' and extra == 'extra-4-demo-cpu' and extra != 'extra-4-demo-cu124') or (sys_platform != 'darwin' and sys_platform != 'linux' and extra == 'extra-4-demo-cpu' and extra != 'extra-4-demo-cu124')",
    "extra != 'extra-4-demo-cpu' and extra != 'extra-4-demo-cu124'",
]
required-markers = [
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
    "platform_machine == 'arm64' and sys_platform == 'darwin'",
]
conflicts = [[
    { package = "demo", extra = "cpu" },
    { package = "demo", extra = "cu124" },
]]
""",
        """\
[[package]]
name = "demo"
version = "0.1.0"
source = { virtual = "." }

[package.optional-dependencies]
cpu = [
    { name = "torch", version = "2.5.0", source = { registry = "{pypi}" }, marker = "(platform_machine != 'arm64' and platform_machine != 'x86_64' and extra == 'extra-4-demo-cpu') or (platform_machine == 'x86_64' and sys_platform == 'darwin' and extra == 'extra-4-demo-cpu') or (platform_machine == 'arm64' and sys_platform == 'linux' and extra == 'extra-4-demo-cpu') or (sys_platform != 'darwin' and sys_platform != 'linux' and extra == 'extra-4-demo-cpu') or (extra == 'extra-4-demo-cpu' and extra == 'extra-4-demo-cu124')" },
    { name = "torch", version = "2.5.0", source = { registry = "{pt}/cpu" }, marker = "(platform_machine == 'arm64' and sys_platform == 'darwin' and extra == 'extra-4-demo-cpu') or (extra == 'extra-4-demo-cpu' and extra == 'extra-4-demo-cu124')" },
    { name = "torch", version = "2.5.0+cpu", source = { registry = "{pt}/cpu" }, marker = "(platform_machine == 'x86_64' and sys_platform == 'linux' and extra == 'extra-4-demo-cpu') or (extra == 'extra-4-demo-cpu' and extra == 'extra-4-demo-cu124')" },
]
cu124 = [
    { name = "torch", version = "2.5.0", source = { registry = "{pypi}" }, marker = "(platform_machine != 'x86_64' or sys_platform != 'linux' or extra == 'extra-4-demo-cpu') and extra == 'extra-4-demo-cu124'" },
    { name = "torch", version = "2.5.0+cu124", source = { registry = "{pt}/cu124" }, marker = "(platform_machine == 'x86_64' and sys_platform == 'linux' and extra == 'extra-4-demo-cu124') or (extra == 'extra-4-demo-cpu' and extra == 'extra-4-demo-cu124')" },
]

[package.metadata]
requires-dist = [
    { name = "torch", marker = "(platform_machine == 'arm64' and sys_platform == 'darwin' and extra == 'cpu') or (platform_machine == 'x86_64' and sys_platform == 'linux' and extra == 'cpu')", specifier = "==2.5.0", index = "{pt}/cpu", conflict = { package = "demo", extra = "cpu" } },
    { name = "torch", marker = "(platform_machine != 'arm64' and platform_machine != 'x86_64' and extra == 'cpu') or (platform_machine == 'x86_64' and sys_platform == 'darwin' and extra == 'cpu') or (platform_machine == 'arm64' and sys_platform == 'linux' and extra == 'cpu') or (sys_platform != 'darwin' and sys_platform != 'linux' and extra == 'cpu')", specifier = "==2.5.0" },
    { name = "torch", marker = "platform_machine == 'x86_64' and sys_platform == 'linux' and extra == 'cu124'", specifier = "==2.5.0", index = "{pt}/cu124", conflict = { package = "demo", extra = "cu124" } },
    { name = "torch", marker = "(platform_machine != 'x86_64' or sys_platform != 'linux') and extra == 'cu124'", specifier = "==2.5.0" },
]
provides-extras = ["cpu", "cu124"]
""",
        package(
            "torch",
            "2.5.0",
            "{pypi}",
            markers=[
                "(platform_machine != 'x86_64' or sys_platform != 'linux') and extra != 'extra-4-demo-cpu' and extra == 'extra-4-demo-cu124'",
                "(platform_machine != 'arm64' and platform_machine != 'x86_64' and extra == 'extra-4-demo-cpu' and extra != 'extra-4-demo-cu124') or (platform_machine == 'x86_64' and sys_platform == 'darwin' and extra == 'extra-4-demo-cpu' and extra != 'extra-4-demo-cu124') or (platform_machine == 'arm64' and sys_platform == 'linux' and extra == 'extra-4-demo-cpu' and extra != 'extra-4-demo-cu124') or (sys_platform != 'darwin' and sys_platform != 'linux' and extra == 'extra-4-demo-cpu' and extra != 'extra-4-demo-cu124')",
            ],
            files=wheels(f"{FILES}/torch-2.5.0", ["312"], EVERY_PLATFORM),
        ),
        package(
            "torch",
            "2.5.0",
            "{pt}/cpu",
            markers=["platform_machine == 'arm64' and sys_platform == 'darwin'"],
            files=wheels("{pt}/cpu/torch-2.5.0", ["312"], ARM),
        ),
        package(
            "torch",
            "2.5.0+cpu",
            "{pt}/cpu",
            markers=[LOCKED_X86_64],
            files=wheels("{pt}/cpu/torch-2.5.0%2Bcpu", ["312"], [*X86_64, "win_amd64"]),
        ),
        package(
            "torch",
            "2.5.0+cu124",
            "{pt}/cu124",
            markers=[LOCKED_X86_64],
            files=wheels("{pt}/cu124/torch-2.5.0%2Bcu124", ["312"], [*X86_64, "win_amd64"]),
        ),
    ]
)

# -- a rocm build and the Triton package it needs from the same index (Python 3.12) -----------

ROCM_PYPROJECT = (
    """\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["torch==2.9.1", "pytorch-triton-rocm ; sys_platform == 'linux' and platform_machine == 'x86_64'"]

[tool.uvtorch]
"""
    + spec("2.9.1", ["3.12"], [("linux-x86_64", "rocm6.4")])
    + f"""
[tool.uv]
required-environments = [
  "{LINUX_X86_64}",
]

[tool.uv.sources]
torch = [
  {{ index = "pytorch-rocm6.4", marker = "{LINUX_X86_64}" }},
]
pytorch-triton-rocm = [
  {{ index = "pytorch-rocm6.4", marker = "{LINUX_X86_64}" }},
]

"""
    + indexes("rocm6.4")
)

ROCM_LOCK = "\n".join(
    [
        """\
version = 1
revision = 5
requires-python = ">=3.11"
resolution-markers = [
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
    "platform_machine != 'x86_64' or sys_platform != 'linux'",
]
required-markers = [
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
]
""",
        """\
[[package]]
name = "demo"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "pytorch-triton-rocm", marker = "platform_machine == 'x86_64' and sys_platform == 'linux'" },
    { name = "torch", version = "2.9.1", source = { registry = "{pypi}" }, marker = "platform_machine != 'x86_64' or sys_platform != 'linux'" },
    { name = "torch", version = "2.9.1+rocm6.4", source = { registry = "{pt}/rocm6.4" }, marker = "platform_machine == 'x86_64' and sys_platform == 'linux'" },
]

[package.metadata]
requires-dist = [
    { name = "pytorch-triton-rocm", marker = "platform_machine == 'x86_64' and sys_platform == 'linux'", index = "{pt}/rocm6.4" },
    { name = "torch", marker = "platform_machine != 'x86_64' or sys_platform != 'linux'", specifier = "==2.9.1" },
    { name = "torch", marker = "platform_machine == 'x86_64' and sys_platform == 'linux'", specifier = "==2.9.1", index = "{pt}/rocm6.4" },
]
""",
        package(
            "pytorch-triton-rocm",
            "3.5.1",  # what the real torch 2.9.1+rocm6.x wheels require
            "{pt}/rocm6.4",
            files=wheels("{pt}/rocm6.4/pytorch_triton_rocm-3.5.1", ["312", "313", "314"], X86_64),
        ),
        package(
            "torch",
            "2.9.1",
            "{pypi}",
            markers=["platform_machine != 'x86_64' or sys_platform != 'linux'"],
            files=wheels(f"{FILES}/torch-2.9.1", ["312", "313", "314"], EVERY_PLATFORM),
        ),
        package(
            "torch",
            "2.9.1+rocm6.4",
            "{pt}/rocm6.4",
            markers=[LOCKED_X86_64],
            dependencies=['{ name = "pytorch-triton-rocm" }'],
            files=wheels("{pt}/rocm6.4/torch-2.9.1%2Brocm6.4", ["312", "313", "314"], X86_64),
        ),
    ]
)


# -- a 300-package lock, and the project "big" it is locked for --------------------------------

BIG_PYPROJECT = """\
[project]
name = "big"
version = "1.0"
requires-python = ">=3.11"
dependencies = ["torch==2.5.0"]

[tool.uvtorch]
""" + spec("2.5.0", ["3.12", "3.11"], [("linux-x86_64", "cu124")])


def synthetic_lock(count: int) -> str:
    """A uv-shaped lock with `count` packages: the root needs torch (cu124 on Linux x86_64, cpu
    elsewhere) and a chain of packages, every third Linux-only and every third from 3.12 on;
    each needs torch and the next package of the chain."""
    linux = "platform_machine == 'x86_64' and sys_platform == 'linux'"
    other = "platform_machine != 'x86_64' or sys_platform != 'linux'"
    torch_deps = (
        f'{{ name = "torch", version = "2.5.0+cu124", source = {{ registry = "{PT}/cu124" }}, '
        f'marker = "{linux}" }},\n'
        f'    {{ name = "torch", version = "2.5.0", source = {{ registry = "{PT}/cpu" }}, '
        f'marker = "{other}" }},\n'
    )
    markers = ["sys_platform == 'linux'", "python_full_version >= '3.12'", None]
    chain = count - 3  # the root and two torch builds
    out = ['version = 1\nrevision = 3\nrequires-python = ">=3.11"\n']
    root_deps = "    " + torch_deps + '    { name = "pkg-0000" },\n'
    out.append(
        '[[package]]\nname = "big"\nversion = "1.0"\nsource = { virtual = "." }\n'
        f"dependencies = [\n{root_deps}]\n"
    )
    for version, index in (("2.5.0+cu124", "cu124"), ("2.5.0", "cpu")):
        tag = "%2Bcu124" if index == "cu124" else ""
        out.append(
            f'[[package]]\nname = "torch"\nversion = "{version}"\n'
            f'source = {{ registry = "{PT}/{index}" }}\n'
            f'wheels = [{{ url = "{PT}/{index}/torch-2.5.0{tag}-cp312-cp312-manylinux_2_28_x86_64'
            '.whl", hash = "sha256:00", size = 1000 }]\n'
        )
    for i in range(chain):
        deps = "    " + torch_deps
        if i + 1 < chain:
            marker = markers[(i + 1) % 3]
            clause = f', marker = "{marker}"' if marker else ""
            deps += f'    {{ name = "pkg-{i + 1:04d}"{clause} }},\n'
        out.append(
            f'[[package]]\nname = "pkg-{i:04d}"\nversion = "1.{i}"\n'
            f'source = {{ registry = "{PYPI}" }}\ndependencies = [\n{deps}]\n'
            f'wheels = [{{ url = "https://files.pythonhosted.org/pkg_{i:04d}-1.{i}-py3-none-any'
            f'.whl", hash = "sha256:00", size = {i} }}]\n'
        )
    return "\n".join(out)
