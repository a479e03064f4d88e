"""Property-based tests: for any spec and any pyproject.toml, `render` either fails cleanly or
writes TOML (and a workflow) that keeps every byte it does not own and renders the same again.

Profiles: "ci" (the default: derandomized, a few thousand examples in all) and "thorough"
(random, ten times as many); pick one with UVTORCH_HYPOTHESIS_PROFILE=thorough.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import tomlkit
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from ruamel.yaml import YAML

from uvtorch_ci.errors import EXIT_BAD_INPUT, UvtorchError
from uvtorch_ci.platforms import PLATFORMS
from uvtorch_ci.project import ProjectTexts, Rendered, render_project
from uvtorch_ci.pyproject.data import FAMILY, is_pytorch_index
from uvtorch_ci.pyproject.values import is_backend_extra
from uvtorch_ci.releases.table import Release, load_table
from uvtorch_ci.spec.runners import is_hosted

# Every example builds its input from the strategies below, so the default health checks on
# generation speed would only measure the machine; `too_slow` is suppressed for that reason.
settings.register_profile(
    "ci",
    max_examples=600,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=6000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = os.environ.get("UVTORCH_HYPOTHESIS_PROFILE", "ci")
SCALE = {"ci": 1, "thorough": 10}.get(PROFILE, 1)


def examples(ci: int) -> Callable[[Any], Any]:
    """The test's own example count under the active profile (the ci count x the scale)."""
    return settings(settings.get_profile(PROFILE), max_examples=ci * SCALE)


TABLE = load_table()
PYPROJECT = "pyproject.toml"
SPEC_FILE = "uvtorch.toml"
# 3.10: torch 2.9 and later have no wheels below it, and a lower floor is refused for them.
HEAD = '[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'

# --- strategies: the spec ---------------------------------------------------------------------

METACHARACTERS = [
    "a: b",
    "x #y",
    "$(id)",
    "`id`",
    "'q'",
    '"q"',
    "${{ secrets.TOKEN }}",
    "{{ x }}",
    "{= x =}",
    "a\nb",
    "- item",
    "*anchor",
    "&ref",
    "!tag",
    "@at",
    "yes",
    "on",
    "null",
    "~",
    "01",
    "1e3",
    "a;b",
    "a|b",
    "a>b",
    "ünïcødé",
    "名前",
    "emoji-🔥",
    "",
    " ",
    "a" * 64,
    "a" * 63,
    "-leading",
    "ok-name",
    "ok.name_2",
]
BACKENDS = [
    "cpu",
    "mps",
    "xpu",
    "cu118",
    "cu121",
    "cu124",
    "cu126",
    "cu128",
    "cu130",
    "rocm6.2",
    "rocm6.2.4",
    "rocm6.4",
    "rocm5.7",
    "cu999",
    "rocm6",
    "CUDA",
    "cu12.4",
    "gpu",
]
TORCH_TEXTS = [
    *TABLE.versions(),
    ">=2.5,<2.6",
    "~=2.4.0",
    "==2.5.*",
    " 2.5.0 ",
    "2.5",
    "2.5.0+cu124",
    "",
    "latest",
    "2.99.0",
    ">=3",
    "1.0.0",
    "2.5.0.post1",
    "<2",
    ">=2.0",
    "!=2.5.0",
    "===2.5.0",
    ">=2.10,<2.12",
]
PYTHONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.7", "3", "3.x", "2.7"]


SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.dates(),
)
# any value TOML can hold, for keys given the wrong type
TOML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def sometimes(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The value, or (one time in eight) something of the wrong type."""
    return st.one_of(*[value] * 7, TOML_VALUES)


def some(choices: list[str], size: int = 10) -> st.SearchStrategy[Any]:
    """One of `choices` or any text, sometimes of the wrong type."""
    return sometimes(st.one_of(st.sampled_from(choices), st.text(max_size=size)))


names = st.one_of(st.sampled_from(METACHARACTERS), st.text(max_size=12))
SAFE_NAMES = ["gpu", "Linux.CUDA_12-4", "a" * 63, "x1"]
COMPANION_NAMES = ["torchvision", "torchaudio", "torch", "torchtext", "Torchvision"]
WILD_TARGET = st.fixed_dictionaries(
    {},
    optional={
        "platform": some([*PLATFORMS, "linux", "macos-x86", "win64"], 6),
        "backend": some(BACKENDS, 6),
        "runner": sometimes(st.one_of(names, st.lists(names, max_size=3))),
        "gpu": sometimes(st.booleans()),
        "name": sometimes(names),
    },
)
WILD_SPEC = st.fixed_dictionaries(
    {},
    optional={
        "torch": some(TORCH_TEXTS, 12),
        "packages": sometimes(
            st.one_of(
                st.lists(st.sampled_from(COMPANION_NAMES), max_size=3),
                st.sampled_from(["torchvision", "vision"]),
            )
        ),
        "python": sometimes(
            st.one_of(st.lists(st.sampled_from(PYTHONS), max_size=3), st.sampled_from(PYTHONS))
        ),
        "index-url": some(
            ["https://x.example/whl", "ftp://x", "https://a b", "https://x/$(id)", "file:///w"]
        ),
        "workflow": some(
            ["ci.yml", "../x.yml", "/abs.yml", "a b.yml", "x.txt", "é.yml", ".github/w/t.yaml"]
        ),
        "action": some(["./", "org/action@v1", "org@v1", "org/a@$(id)", "./path/to"]),
        "ci-tool": some(
            ["uvtorch-ci", "uvtorch-ci==0.1", "other==1", "uvtorch-ci; rm -rf /", "uvtorch-ci[x"]
        ),
        "targets": sometimes(st.lists(WILD_TARGET, max_size=4)),
    },
)
EXTRA_KEYS = st.dictionaries(
    st.one_of(
        st.sampled_from(["torhc", "target", "backend", "Torch", "index_url"]), st.text(max_size=6)
    ),
    TOML_VALUES,
    max_size=2,
)


@cache
def _pairs(release: Release) -> tuple[tuple[str, str], ...]:
    """Every (platform, backend) the release publishes."""
    pairs = [(p, b) for p in release.builds if p in PLATFORMS for b in release.builds[p]]
    pairs += [(p, "mps") for p in release.builds if p.startswith("macos")]
    return tuple(pairs)


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Specs built from the release table: most of them render."""
    release = draw(st.sampled_from(TABLE.releases))
    chosen = draw(st.lists(st.sampled_from(_pairs(release)), min_size=1, max_size=4, unique=True))
    targets = []
    for platform, backend in chosen:
        target: dict[str, Any] = {"platform": platform, "backend": backend}
        if draw(st.booleans()):
            target["gpu"] = draw(st.booleans())
        if draw(st.integers(0, 3)) == 0:
            target["runner"] = draw(
                st.one_of(
                    st.sampled_from(["ubuntu-latest", "gpu-runner", "self-hosted"]),
                    st.lists(st.sampled_from(["self-hosted", "linux", "gpu", "x64"]), min_size=1),
                )
            )
        if target.get("gpu") and target.get("runner") in (None, "ubuntu-latest"):
            target["runner"] = ["self-hosted", "gpu"]  # a GPU job names its runner
        if draw(st.integers(0, 3)) == 0:
            target["name"] = draw(st.one_of(st.sampled_from(SAFE_NAMES), names, names))
        targets.append(target)
    spec: dict[str, Any] = {
        "torch": draw(
            st.sampled_from([release.torch, f"=={release.torch}", f"~={release.minor}.0"])
        )
    }
    if draw(st.booleans()):
        spec["packages"] = draw(
            st.lists(st.sampled_from(["torchvision", "torchaudio"]), unique=True)
        )
    if draw(st.booleans()):
        spec["python"] = draw(
            st.lists(st.sampled_from(release.python), min_size=1, max_size=3, unique=True)
        )
    if draw(st.integers(0, 4)) == 0:
        spec["index-url"] = draw(
            st.sampled_from(
                ["https://mirror.example.com/whl/", "http://127.0.0.1:8000/whl", "file:///srv/whl"]
            )
        )
    if draw(st.integers(0, 4)) == 0:
        spec["workflow"] = draw(
            st.sampled_from([".github/workflows/gpu.yaml", ".github/workflows/t.yml"])
        )
    if draw(st.integers(0, 5)) == 0:
        spec["action"] = draw(st.sampled_from(["./", "org/uvtorch-action@v1", "o/r/sub@abc123"]))
    if draw(st.integers(0, 5)) == 0:
        spec["ci-tool"] = draw(
            st.sampled_from(
                ["uvtorch-ci==0.1.0", "uvtorch-ci @ git+https://github.com/org/uvtorch-ci@abc"]
            )
        )
    spec["targets"] = targets
    return spec


@st.composite
def wild_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Specs from anything: random keys, types, versions, platforms, backends and names."""
    spec: dict[str, Any] = draw(WILD_SPEC)
    if draw(st.integers(0, 3)) == 0:
        for key, value in draw(EXTRA_KEYS).items():
            spec.setdefault(key, value)
    return spec


specs = st.one_of(valid_specs(), valid_specs(), wild_specs())


def spec_toml(spec: dict[str, Any], table: str | None) -> str:
    """The spec as TOML text, at the top level or under `table` (e.g. tool.uvtorch)."""
    if table is None:
        return tomlkit.dumps(spec)
    data: dict[str, Any] = spec
    for part in reversed(table.split(".")):
        data = {part: data}
    return tomlkit.dumps(data)


# --- strategies: pyproject.toml, as lines each marked with who owns it ------------------------

FOREIGN, OWNED, MIXED = "foreign", "owned", "mixed"
Line = tuple[str, str]  # (text without newline, owner)

FOREIGN_DEPS = [
    "numpy>=1.26",
    "rich",
    "requests[socks]>=2; python_version >= '3.9'",
    "pytorch-lightning>=2",
    "torchmetrics>=1",
    "einops",
]
TORCH_DEPS = [
    "torchaudio==2.5.0",
    "torch",
    "torch>=2.0",
    "torch==2.4.1+cu121",
    "torch[opt-einsum]>=2; sys_platform == 'linux'",
    "torchvision",
    "torchvision>=0.15",
    "Torch>=2",
    "torch ; python_version >= '3.10'",
    "torch @ https://download.pytorch.org/whl/cu121/torch-2.1.0%2Bcu121-cp311-cp311-linux_x86_64.whl",
]
COMMENTS = [
    "# a comment",
    "# [tool.uv.index]",
    '# torch = "2.0"',
    "#",
    "# ünïcødé ]] [[",
    "   # indented",
]
PYTORCH_INDEXES = [
    ("pytorch", "https://download.pytorch.org/whl/cu124"),
    ("pytorch-cu124", "https://download.pytorch.org/whl/cu124/"),
    ("pytorch-cpu", "https://download.pytorch.org/whl/cpu"),
    ("torch-nightly", "https://download.pytorch.org/whl/nightly/cu126"),
    ("pytorch-cu121", "https://download.pytorch.org/whl/cu121"),
    ("rocm", "https://download.pytorch.org/whl/rocm6.2"),
]
OTHER_INDEXES = [
    ("private", "https://pypi.example.com/simple"),
    ("flashinfer", "https://flashinfer.ai/whl/cu124/torch2.5"),
    ("testpypi", "https://test.pypi.org/simple/"),
]
FAMILY_SOURCES = [
    '{ index = "pytorch" }',
    '{ index = "pytorch-cu124", marker = "sys_platform == \'linux\'" }',
    '[{ index = "pytorch-cu124", marker = "sys_platform == \'linux\'" }, '
    '{ index = "pytorch-cpu", marker = "sys_platform != \'linux\'" }]',
    '[{ index = "pytorch-cpu", extra = "cpu" }, { index = "pytorch-cu124", extra = "cu124" }]',
    '{ url = "https://download.pytorch.org/whl/cpu/torch-2.5.0-cp311-none-macosx_11_0_arm64.whl" }',
]
OTHER_SOURCES = [
    'mylib = { path = "../mylib", editable = true }',
    'other = { git = "https://github.com/a/b", rev = "v1" }',
    "ws = { workspace = true }",
]


COMMENT_LISTS = st.lists(st.sampled_from(COMMENTS), max_size=2)


def comment_lines(draw: st.DrawFn, owner: str = FOREIGN) -> list[Line]:
    return [(c, owner) for c in draw(COMMENT_LISTS)]


TRAILING = st.sampled_from(("", "", "", "  # why", " # ]"))


def trailing(draw: st.DrawFn) -> str:
    return draw(TRAILING)


def family_name(requirement: str) -> bool:
    return canonicalize_name(Requirement(requirement).name) in FAMILY


DEPENDENCY_ITEMS = st.lists(
    st.one_of(st.sampled_from(FOREIGN_DEPS), st.sampled_from(TORCH_DEPS)), max_size=5
)


@st.composite
def dependency_lines(draw: st.DrawFn, key: str = "dependencies") -> list[Line]:
    items = draw(DEPENDENCY_ITEMS)
    if draw(st.integers(0, 2)) == 1:
        return [(f"{key} = {json.dumps(items)}{trailing(draw)}", MIXED)]
    lines: list[Line] = [(f"{key} = [{trailing(draw)}", MIXED)]
    for number, item in enumerate(items):
        lines += comment_lines(draw)
        comma = "," if number < len(items) - 1 or draw(st.booleans()) else ""
        owner = OWNED if family_name(item) else FOREIGN
        lines.append((f"    {json.dumps(item)}{comma}{trailing(draw)}", owner))
    lines.append(("]", MIXED))
    return lines


@st.composite
def project_block(draw: st.DrawFn) -> list[Line]:
    lines: list[Line] = [("[project]", FOREIGN), ('name = "demo"' + trailing(draw), FOREIGN)]
    lines.append(('version = "0.1.0"', FOREIGN))
    requires = draw(st.sampled_from((None, ">=3.9", ">=3.11", ">=3.10,<3.13", "<3.10", "~=3.12")))
    if requires:
        lines.append((f'requires-python = "{requires}"', FOREIGN))
    if draw(st.booleans()):
        lines += [('description = """', FOREIGN), ("[tool.uv.sources]", FOREIGN)]
        lines += [("torch = 1", FOREIGN), ('"""', FOREIGN)]
    lines += comment_lines(draw)
    if draw(st.integers(0, 5)):
        lines += draw(DEPENDENCY_LINES)
    extras = {3: "inline", 4: "dotted"}.get(draw(st.integers(0, 9)))
    if extras == "inline":
        lines.append(
            ('optional-dependencies = { dev = ["pytest"], cpu = ["torch==2.4.0"] }', MIXED)
        )
    elif extras == "dotted":
        lines.append(('optional-dependencies.dev = ["pytest"]', FOREIGN))
        lines.append(('optional-dependencies.cu124 = ["torch"]', OWNED))
    if draw(st.integers(0, 19)) == 9:  # values of the wrong type
        weird = ('dynamic = ["dependencies"]', 'dynamic = "version"', "dependencies = 1")
        lines.append((draw(st.sampled_from(weird)), FOREIGN))
    return lines


EXTRAS_CHOICES = st.lists(
    st.sampled_from(
        (
            ('dev = ["pytest>=8"]', FOREIGN),
            ('gpu = ["torch>=2"]', FOREIGN),
            ('cpu = ["torch==2.4.0"]', OWNED),
            ('cu124 = [ "torch", "numpy" ]', MIXED),
            ('"rocm6-2" = []', OWNED),
            ('docs = [\n  "sphinx",\n]', FOREIGN),
        )
    ),
    unique=True,
    max_size=4,
)


@st.composite
def extras_block(draw: st.DrawFn) -> list[Line]:
    lines: list[Line] = [("[project.optional-dependencies]", FOREIGN)]
    chosen = draw(EXTRAS_CHOICES)
    if draw(st.integers(0, 19)) == 9:
        chosen.append(('xpu = "torch"', OWNED))  # not an array
    for text, owner in chosen:
        lines += comment_lines(draw)
        lines += [(part, owner) for part in text.split("\n")]
    return lines


UV_CHOICES = st.lists(
    st.sampled_from(
        (
            ("package = false  # a virtual project", FOREIGN),
            ('dev-dependencies = ["pytest"]', FOREIGN),
            ("required-environments = [\"sys_platform == 'linux'\"]", OWNED),
            ('cache-keys = [{ file = "pyproject.toml" }]', FOREIGN),
            ("environments = [\"sys_platform != 'emscripten'\"]", FOREIGN),
        )
    ),
    unique=True,
    max_size=3,
)
WEIRD_UV = st.sampled_from(
    (
        'sources = { mylib = { path = "." } }',
        'index = [{ name = "private", url = "https://pypi.example.com/simple" }]',
        "index = [1]",
        'sources = "x"',
        "conflicts = 1",
        "environments = [1]",
        'sources.mylib = { path = "." }',
    )
)


@st.composite
def uv_block(draw: st.DrawFn) -> list[Line]:
    lines: list[Line] = [("[tool.uv]", FOREIGN)]
    chosen = draw(UV_CHOICES)
    conflicts = draw(st.integers(0, 5))
    if conflicts == 1:
        chosen.append(('conflicts = [[{ extra = "cpu" }, { extra = "cu124" }]]', OWNED))
    elif conflicts == 2:
        chosen.append(
            (
                'conflicts = [\n  [{ group = "a" }, { group = "b" }],\n  [{ extra = "cpu" }, '
                '{ extra = "cu126" }],\n]',
                MIXED,
            )
        )
    if draw(st.integers(0, 7)) == 3:  # uncommon: inline tables, values of the wrong type
        chosen.append((draw(WEIRD_UV), MIXED))
    for text, owner in draw(st.permutations(chosen)):
        lines += comment_lines(draw)
        lines += [(part, owner) for part in text.split("\n")]
    return lines


SOURCE_ENTRIES = st.lists(
    st.sampled_from(
        (
            *((text, FOREIGN) for text in OTHER_SOURCES),
            ('triton = { index = "pytorch" }', MIXED),
            *(
                (f"{package} = {value}", OWNED)
                for package in ("torch", "torchvision", '"torch"', "Torch")
                for value in FAMILY_SOURCES
            ),
            ('torch.index = "pytorch-cpu"', OWNED),
        )
    ),
    max_size=4,
)


@st.composite
def sources_block(draw: st.DrawFn) -> list[Line]:
    lines: list[Line] = [("[tool.uv.sources]", FOREIGN)]
    chosen = draw(SOURCE_ENTRIES)
    seen: set[str] = set()
    for text, owner in chosen:
        key = canonicalize_name(text.split("=")[0].split(".")[0].strip().strip('"'))
        if key in seen:
            continue
        seen.add(key)
        lines += comment_lines(draw)
        lines.append((text + trailing(draw), owner))
    entries = [owner for line, owner in lines[1:] if not line.lstrip().startswith("#")]
    if entries and all(owner == OWNED for owner in entries):
        # tomlkit drops the header of a table left empty when it has a subtable
        lines[0] = (lines[0][0], OWNED)
    return lines


@st.composite
def index_block(draw: st.DrawFn) -> list[Line]:
    pytorch = draw(st.booleans())
    name, url = draw(st.sampled_from(tuple(PYTORCH_INDEXES if pytorch else OTHER_INDEXES)))
    owner = OWNED if pytorch else FOREIGN
    lines = comment_lines(draw, owner)
    lines += [("[[tool.uv.index]]", owner), (f'name = "{name}"', owner), (f'url = "{url}"', owner)]
    if draw(st.booleans()):
        lines.append(("explicit = true", owner))
    return lines


# A user's index named like one of the spec's own (pytorch-cu124 ...) but pointing at something
# that is not a PyTorch index. Whether the tool takes it over or keeps it (and adds its own as
# <name>-uvtorch) depends on the whole file, so its lines' owner is CLAIM + its name, settled
# in check_output by the oracle `claims`.
CLAIM = "claim:"
CLAIM_URLS = (
    *["https://pypi.example.com/simple"] * 3,
    "https://flashinfer.ai/whl/cu124/torch2.5",
    "https://test.pypi.org/simple/",
    # a PyTorch index after all when the spec's index-url is this mirror
    "https://mirror.example.com/whl/private",
)
CLAIM_SETTINGS = st.sampled_from(
    (
        *[("explicit = true",)] * 5,
        (),
        ("explicit = false",),
        ("explicit = true", "default = true"),
        ("default = true",),
        ("explicit = true", "default = false"),
    )
)
CLAIM_USERS = ("numpy", "scipy", "Private_Lib", "numpy")  # never in the torch family
CLAIM_SOURCE_SHAPES = (
    '{{ index = "{}" }}',
    '[{{ index = "{}", marker = "sys_platform == \'linux\'" }}]',
    '{{ index = "{}", extra = "dev" }}',
)


def our_index_names(spec: Any) -> list[str]:
    """The names the spec's indexes get (pytorch-<backend>, MPS from the cpu index), read
    loosely from a spec that may not be valid; a few of the usual ones when it has none."""
    targets = spec.get("targets") if isinstance(spec, dict) else None
    names = [
        "pytorch-" + ("cpu" if t["backend"] == "mps" else t["backend"])
        for t in (targets if isinstance(targets, list) else [])
        if isinstance(t, dict) and isinstance(t.get("backend"), str)
    ]
    return list(dict.fromkeys(names)) or ["pytorch-cu124", "pytorch-cpu"]


@st.composite
def claimed_index_block(draw: st.DrawFn, names: tuple[str, ...]) -> tuple[list[Line], list[Line]]:
    """A non-PyTorch [[tool.uv.index]] named like one of `names` (now and then like the name the
    tool falls back to, <name>-uvtorch), and sometimes a [tool.uv.sources] entry of a package
    outside the torch family that names it."""
    name = draw(st.sampled_from(names))
    if draw(st.integers(0, 5)) == 0:
        name += "-uvtorch"
    owner = CLAIM + name
    lines = comment_lines(draw, owner)
    lines += [("[[tool.uv.index]]", owner), (f'name = "{name}"', owner)]
    lines.append((f'url = "{draw(st.sampled_from(CLAIM_URLS))}"', owner))
    lines += [(setting, owner) for setting in draw(CLAIM_SETTINGS)]
    users: list[Line] = []
    if draw(st.integers(0, 3)) == 0:
        package = draw(st.sampled_from(CLAIM_USERS))
        shape = draw(st.sampled_from(CLAIM_SOURCE_SHAPES))
        users.append((f"{package} = {shape.format(name)}{trailing(draw)}", FOREIGN))
    return lines, users


ARRAY_SOURCES = st.lists(
    st.sampled_from(
        (("pytorch-cpu", "sys_platform == 'darwin'"), ("pytorch", "sys_platform == 'linux'"))
    ),
    min_size=1,
    max_size=2,
)


@st.composite
def sources_array_block(draw: st.DrawFn) -> list[Line]:
    """A package's sources written as an array of tables: [[tool.uv.sources.torch]]."""
    package = draw(st.sampled_from(("other", "other", "torch", "torchvision")))
    owner = FOREIGN if package == "other" else OWNED
    lines: list[Line] = []
    if draw(st.integers(0, 3)) == 2:  # one table: [tool.uv.sources.torch]
        lines.append((f"[tool.uv.sources.{package}]", owner))
        lines.append(('index = "pytorch-cpu"', MIXED if package == "other" else owner))
        return lines
    for index, marker in draw(ARRAY_SOURCES):
        lines.append((f"[[tool.uv.sources.{package}]]", owner))
        lines.append((f'index = "{index}"', MIXED if package == "other" else owner))
        lines.append((f'marker = "{marker}"', owner))
    return lines


OTHER_BLOCKS = (
    "[tool.ruff]\nline-length = 100",
    '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"',
    '[[tool.mypy.overrides]]\nmodule = ["a.*"]',
    '[[tool.mypy.overrides]]\nmodule = ["b.*"]\nignore_errors = true',
    '[tool.notes]\ntext = """\n[tool.uv.sources]\ntorch = { index = "x" }\n"""',
    "[tool.literal]\ntext = '''\n[[tool.uv.index]]\n'''\nx = '[project]'",
    "[tool.hatch.metadata]\nallow-direct-references = true",
    '[dependency-groups]\ndev = ["pytest", { include-group = "lint" }]\nlint = ["ruff"]',
    '[tool.uv.pip]\nextra-index-url = ["https://download.pytorch.org/whl/cu124"]',
    '[tool.uv.workspace]\nmembers = ["pkgs/*"]',
)
# dotted keys at the top level: only before the first table header
ROOT_KEYS = 'tool.black.line-length = 100\ntool.isort.profile = "black"'


@st.composite
def other_block(draw: st.DrawFn) -> list[Line]:
    return [(line, FOREIGN) for line in draw(st.sampled_from(OTHER_BLOCKS)).split("\n")]


DEPENDENCY_LINES = dependency_lines()
PROJECT_BLOCK = project_block()
BLOCKS = [
    st.lists(strategy, max_size=most, unique_by=str)
    for strategy, most in (
        (extras_block(), 1),
        (uv_block(), 1),
        (sources_block(), 1),
        (sources_array_block(), 1),
        (index_block(), 4),
        (other_block(), 4),
    )
]


@dataclass(frozen=True)
class Project:
    """A generated pyproject.toml, its lines' owners, and the spec (inside it or beside it).
    `claims` are the lines (start, end) of each index named like the tool's (see CLAIM)."""

    text: str
    lines: tuple[Line, ...]
    spec_text: str | None
    claims: tuple[tuple[int, int], ...] = ()


def with_sources(blocks: list[list[Line]], entries: list[Line]) -> None:
    """Add `entries` (keys outside the torch family) to the [tool.uv.sources] block, or add one."""
    seen: set[str] = set()
    for block in blocks:
        if block and block[0][0] == "[tool.uv.sources]":
            block[0] = (block[0][0], FOREIGN)  # not left empty now
            seen = {canonicalize_name(line.split("=")[0].strip()) for line, _ in block[1:]}
            break
    else:
        block = [("[tool.uv.sources]", FOREIGN)]
        blocks.append(block)
    for line, owner in entries:
        key = canonicalize_name(line.split("=")[0].strip())
        if key not in seen:
            seen.add(key)
            block.append((line, owner))


@st.composite
def projects(
    draw: st.DrawFn,
    spec_strategy: st.SearchStrategy[dict[str, Any]],
    block_strategies: list[st.SearchStrategy[list[list[Line]]]] = BLOCKS,
    claim_sizes: tuple[int, int] | None = None,
    project_strategy: st.SearchStrategy[list[Line]] = PROJECT_BLOCK,
) -> Project:
    """A pyproject.toml: the [project] table and the blocks drawn, in any order, and (one time
    in three, or `claim_sizes` of them) indexes of the user's named like the spec's."""
    spec = draw(spec_strategy)
    blocks: list[list[Line]] = [draw(project_strategy)]
    for strategy in block_strategies:
        blocks += draw(strategy)
    if claim_sizes is None:
        claim_sizes = (0, 2) if draw(st.integers(0, 2)) == 0 else (0, 0)
    low, high = claim_sizes
    names = tuple(our_index_names(spec))
    claimed = draw(st.lists(claimed_index_block(names), min_size=low, max_size=high))
    claim_blocks = [index for index, _ in claimed]
    blocks += claim_blocks
    users = [line for _, entries in claimed for line in entries]
    if users:
        with_sources(blocks, users)
    in_pyproject = draw(st.booleans())
    if in_pyproject:
        blocks.append([(line, FOREIGN) for line in spec_toml(spec, "tool.uvtorch").splitlines()])
    order = draw(st.permutations(range(len(blocks))))
    lines: list[Line] = comment_lines(draw)
    if draw(st.integers(0, 4)) == 0:
        lines += [(line, FOREIGN) for line in ROOT_KEYS.split("\n")]
    claims: list[tuple[int, int]] = []
    for number in order:
        if draw(st.booleans()) and lines:
            lines.append(("", FOREIGN))
        (header, owner), *body = blocks[number]
        if header.startswith("["):  # a comment after a table header
            header += trailing(draw)
        if any(blocks[number] is block for block in claim_blocks):
            claims.append((len(lines), len(lines) + 1 + len(body)))
        lines += [(header, owner), *body]
        lines += comment_lines(draw)
    for number, (line, owner) in enumerate(lines):
        if owner == OWNED and not line.lstrip().startswith("#"):
            above = number - 1  # the comments directly above an owned entry may go with it
            while above >= 0 and lines[above][0].lstrip().startswith("#"):
                lines[above] = (lines[above][0], OWNED)
                above -= 1
    newline = "\r\n" if draw(st.integers(0, 4)) == 0 else "\n"
    text = newline.join(line for line, _ in lines)
    if draw(st.integers(0, 5)):
        text += newline
    spec_text = None if in_pyproject else spec_toml(spec, None)
    return Project(text, tuple(lines), spec_text, tuple(claims))


# --- the properties ---------------------------------------------------------------------------


def render(text: str, spec_text: str | None) -> Rendered:
    return render_project(
        ProjectTexts(text, PYPROJECT, spec_text, SPEC_FILE if spec_text is not None else None),
        env={},
        table=TABLE,
        smoke_source="print('smoke')\n",
    )


def check_error(error: UvtorchError, spec_text: str | None) -> None:
    """A clean error: exit code 2, names a file it read, and a key or line in it."""
    assert error.exit_code == EXIT_BAD_INPUT
    files = {PYPROJECT} | ({SPEC_FILE} if spec_text is not None else set())
    assert error.file in files, str(error)
    text = str(error)
    assert text.startswith(f"{error.file}: "), text
    assert error.where or re.search(r"\[[a-z.]+\]", error.message), f"no key or line: {text}"
    assert "please report" not in text, text
    assert error.message.strip(), text


def try_render(project: Project) -> Rendered | None:
    """Render; None after checking that an error is a clean one. Nothing else may escape."""
    try:
        return render(project.text, project.spec_text)
    except UvtorchError as error:
        check_error(error, project.spec_text)
        event(f"error: {type(error).__name__}")
        return None


@cache
def workflow_validator() -> Any:
    import jsonschema  # type: ignore[import-untyped]

    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("github-workflows.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def yaml12(text: str) -> Any:
    """The workflow as GitHub reads it (YAML 1.2: `on` is a key, not true), as ruamel.yaml
    loads it for check-jsonschema."""
    return YAML(typ="safe", pure=True).load(text)


def load_workflow(text: str) -> Any:
    """PyYAML's fast loader, with YAML 1.1's `on: -> true` undone: every value in the
    generated workflow is quoted, so the key is the one difference from YAML 1.2."""
    document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert isinstance(document, dict)
    if True in document:
        document["on"] = document.pop(True)
    return document


def check_workflow(rendered: Rendered) -> None:
    for path, text in rendered.ci_files.items():
        if not path.endswith((".yml", ".yaml")):
            continue
        document = load_workflow(text)
        errors = [
            f"{list(e.absolute_path)}: {e.message}"
            for e in workflow_validator().iter_errors(document)
        ]
        assert not errors, errors
        # hosted runners' jobs in `torch`, those on runners of the user's own after them
        jobs = document["jobs"]
        entries = [
            entry
            for name in ("torch", "torch-own-runners")
            if name in jobs
            for entry in jobs[name]["strategy"]["matrix"]["include"]
        ]
        plan_jobs = sorted(rendered.plan.jobs, key=lambda j: not is_hosted(j.build.target.runner))
        assert [e["target"] for e in entries] == [j.build.target.name for j in plan_jobs]


@dataclass(frozen=True)
class Claims:
    """What the rule for an index of the user's named like one of the tool's decides."""

    names: dict[str, str]  # each of the tool's index names -> the name its index gets
    taken: set[str]  # the user's non-PyTorch indexes the tool takes over (in place)
    kept: set[str]  # the user's non-PyTorch indexes under one of the tool's names, kept


def claims(data: dict[str, Any], ours: list[str], managed: set[str], base: str) -> Claims:
    """The rule, from the input: a non-PyTorch index named like one of the tool's is in use by
    other packages when a source outside the torch family names it, or it is not explicit, or
    it is the default. In use: kept, and the tool's index is <name>-uvtorch (-uvtorch-2 ... if
    that is taken by another index in use). Not in use: taken over."""
    uv = data.get("tool", {}).get("uv", {})
    tables = [i for i in uv.get("index", []) if isinstance(i, dict)]
    named: set[str] = set()
    for package, value in uv.get("sources", {}).items():
        if canonicalize_name(package) in managed:
            continue
        for entry in value if isinstance(value, list) else [value]:
            if isinstance(entry, dict) and isinstance(entry.get("index"), str):
                named.add(entry["index"])
    foreign: set[str] = set()
    in_use: set[str] = set()
    for table in tables:
        name = table.get("name")
        if not isinstance(name, str) or is_pytorch_index(str(table.get("url", "")), base):
            continue
        foreign.add(name)
        if name in named or table.get("default") is True or table.get("explicit") is not True:
            in_use.add(name)
    taken_names = in_use | set(ours)
    names: dict[str, str] = {}
    for name in ours:
        given = name
        if name in in_use:
            given, number = f"{name}-uvtorch", 1
            while given in taken_names:
                number += 1
                given = f"{name}-uvtorch-{number}"
            taken_names.add(given)
        names[name] = given
    return Claims(names, (foreign - in_use) & set(names.values()), foreign & in_use & set(ours))


def check_claims(
    project: Project, rendered: Rendered, old: dict[str, Any], found: Claims, managed: set[str]
) -> None:
    """The user's index named like the tool's: taken over, or kept byte for byte with the
    sources outside the torch family still on it; notes say which."""
    new = rendered.pyproject.text
    data = tomllib.loads(new)
    notes = rendered.pyproject.notes
    ours = {index.name: index.url for index in rendered.plan.indexes}
    old_uv, new_uv = old.get("tool", {}).get("uv", {}), data.get("tool", {}).get("uv", {})
    old_tables = [i for i in old_uv.get("index", []) if isinstance(i, dict)]
    new_tables = [i for i in new_uv.get("index", []) if isinstance(i, dict)]
    old_names = {i.get("name") for i in old_tables}
    base = rendered.plan.spec.index_url
    for name in found.taken:
        original = next(n for n, given in found.names.items() if given == name)
        assert [i for i in new_tables if i.get("name") == name] == [
            {"name": name, "url": ours[original], "explicit": True}
        ], f"{name!r} not taken over"
        for table in old_tables:
            url = str(table.get("url", ""))
            if table.get("name") != name or is_pytorch_index(url, base):
                continue
            said = (
                f"replaced index {name!r} ({url}, not a PyTorch index) with {ours[original]}; ",
                f"removed the duplicate index {name!r} ({url})",
            )
            assert any(note.startswith(said) for note in notes), (name, notes)
    for name in found.kept:
        assert [i for i in new_tables if i.get("name") == name] == [
            i for i in old_tables if i.get("name") == name
        ], f"{name!r} not kept"
        given = found.names[name]
        if given not in old_names:
            assert any(note.startswith(f"kept index {name!r} (") for note in notes), notes
    for key, value in old_uv.get("sources", {}).items():
        if canonicalize_name(key) in managed:
            continue
        if any(isinstance(e, dict) and e.get("index") in found.kept for e in _listed(value)):
            assert new_uv["sources"][key] == value, f"the source for {key} moved"
    newline = "\r\n" if "\r\n" in project.text else "\n"
    for start, end in project.claims:
        if not claim_is_owned(project.lines[start:end], found, base):
            block = newline.join(line for line, _ in project.lines[start:end])
            assert block in new, f"the user's index changed:\n{block}"


def claim_is_owned(lines: tuple[Line, ...], found: Claims, base: str) -> bool:
    """Whether the tool owns a generated index named like its own: taken over, or pointing
    at a PyTorch index after all (under the spec's index-url)."""
    values = tomllib.loads("\n".join(line for line, _ in lines))["tool"]["uv"]["index"][0]
    return values["name"] in found.taken or is_pytorch_index(values["url"], base)


def check_torch_sources(rendered: Rendered, managed: set[str]) -> None:
    """What uv reads: every torch-family source names one index, one of the tool's PyTorch
    indexes."""
    uv = tomllib.loads(rendered.pyproject.text).get("tool", {}).get("uv", {})
    base = rendered.plan.spec.index_url
    urls = {index.url.rstrip("/") for index in rendered.plan.indexes}
    tables = [i for i in uv.get("index", []) if isinstance(i, dict)]
    for key, value in uv.get("sources", {}).items():
        if canonicalize_name(key) not in managed:
            continue
        for entry in _listed(value):
            assert isinstance(entry, dict), (key, value)
            assert "index" in entry, (key, value)
            found = [str(i.get("url")) for i in tables if i.get("name") == entry["index"]]
            assert len(found) == 1, f"{key} names {entry['index']!r}: {found}"
            assert is_pytorch_index(found[0], base), f"{key} installs from {found[0]}"
            assert found[0].rstrip("/") in urls, f"{key} installs from {found[0]}"


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def check_output(project: Project, rendered: Rendered) -> None:
    new = rendered.pyproject.text
    parsed = tomllib.loads(new)
    managed = {canonicalize_name(p) for p in rendered.plan.packages} | set(FAMILY)
    base = rendered.plan.spec.index_url
    old = tomllib.loads(project.text)
    found = claims(old, [index.name for index in rendered.plan.indexes], managed, base)
    event(
        "claimed index: "
        + ("taken over" if found.taken else "")
        + (" kept" if found.kept else "")
        + (" none" if not found.taken | found.kept else "")
    )

    owners = [owner for _, owner in project.lines]
    for start, end in project.claims:  # the tool's when taken over or a PyTorch index after all
        ours_now = claim_is_owned(project.lines[start:end], found, base)
        owners[start:end] = [OWNED if ours_now else FOREIGN] * (end - start)
        above = start - 1  # as in `projects`: the comments directly above may go with it
        while ours_now and above >= 0 and project.lines[above][0].lstrip().startswith("#"):
            owners[above] = OWNED
            above -= 1

    assert parsed["project"].get("dependencies") is not None or rendered.plan.mode == "extras"

    # a second render changes nothing and has nothing to say
    again = render(new, project.spec_text)
    assert again.pyproject.text == new
    assert again.pyproject.notes == ()
    assert again.ci_files == rendered.ci_files

    # line endings: a CRLF file stays CRLF
    if "\r\n" in project.text and not re.search(r"(?<!\r)\n", project.text):
        assert not re.search(r"(?<!\r)\n", new), "a CRLF file got LF lines"

    # every foreign line is still there, in order
    # (an array item may gain the comma that separates it from an item added after it)
    kept = [
        _bare(line)
        for (line, _), owner in zip(project.lines, owners, strict=True)
        if owner == FOREIGN and line.strip()
    ]
    out = [_bare(line) for line in new.splitlines()]
    position = 0
    for line in kept:
        while position < len(out) and out[position] != line:
            position += 1
        assert position < len(out), f"lost or moved {line!r}"
        position += 1

    # every added line is one of the tool's
    original = {_bare(line) for line in project.text.splitlines()}
    for line in new.splitlines():
        if _bare(line) in original:
            continue
        assert FAMILY_WORD.search(line) or ADDED_SHAPES.match(line) or MIXED_KEY.match(line), (
            f"added {line!r}"
        )

    # semantically: equal once the owned entries are taken out
    ours = {index.name: index.url for index in rendered.plan.indexes}
    ours |= {found.names[name]: url for name, url in ours.items()}
    assert strip_owned(project.text, managed, base, ours, found.taken) == strip_owned(
        new, managed, base, ours
    )
    check_claims(project, rendered, old, found, managed)
    check_torch_sources(rendered, managed)


FAMILY_WORD = re.compile(r"\b(torch|torchvision|torchaudio|pytorch|triton)\b|/whl/", re.I)
ADDED_SHAPES = re.compile(
    r"^\s*($|\]|\],|\[|explicit = true|\[\[tool\.uv\.index\]\]|\[tool\.uv\.sources\]|"
    r"\[tool\.uv\]|\[project\.optional-dependencies\]|dependencies = \[|"
    r"required-environments = \[|conflicts = \[|\{ extra = \"[a-z0-9-]+\" \},|"
    r"\"sys_platform == '[a-z0-9]+' and platform_machine == '[A-Za-z0-9_]+'\",|"
    r"(cpu|xpu|cu[0-9]{3}|rocm[0-9]+(-[0-9]+)+) = \[)"
)
# keys whose one-line value mixes the user's and the tool's entries: tomlkit rewrites the line
MIXED_KEY = re.compile(r"^\s*(dependencies|optional-dependencies|sources|conflicts|cu124) = ")


def _bare(line: str) -> str:
    """A line without the comma an array item gains when an item is added after it."""
    return re.sub(r'^("[^"]*"),', r"\1", line.strip()).removesuffix(",")


def _family(requirements: list[str], managed: set[str]) -> list[str]:
    out = []
    for requirement in requirements:
        try:
            name: str = canonicalize_name(Requirement(requirement).name)
        except InvalidRequirement:
            name = ""
        if name not in managed:
            out.append(requirement)
    return out


def strip_owned(
    text: str,
    managed: set[str],
    base: str,
    ours: dict[str, str],
    taken: Collection[str] = (),
) -> dict[str, Any]:
    """The parsed file without what the tool owns (indexes compared by URL, not name; `ours`
    gives the URL of the tool's indexes, which a source may name before they exist, and which
    a PyTorch index under one of their names gets; `taken`, the names of the non-PyTorch
    indexes the tool takes over, see `claims`)."""
    data = tomllib.loads(text)
    project = data.get("project", {})
    if "dependencies" in project:
        project["dependencies"] = _family(project["dependencies"], managed)
        if not project["dependencies"]:
            del project["dependencies"]
    extras = project.get("optional-dependencies", {})
    for extra in list(extras):
        if is_backend_extra(extra):
            extras[extra] = _family(extras[extra], managed)
            if not extras[extra]:
                del extras[extra]
    if "optional-dependencies" in project and not extras:
        del project["optional-dependencies"]
    tool = data.get("tool", {})
    uv = tool.get("uv", {})
    uv.pop("required-environments", None)
    if "conflicts" in uv:
        uv["conflicts"] = [
            group
            for group in uv["conflicts"]
            if not all(set(item) == {"extra"} and is_backend_extra(item["extra"]) for item in group)
        ]
        if not uv["conflicts"]:
            del uv["conflicts"]
    indexes = uv.get("index", [])
    urls = dict(ours)
    for i in indexes:  # a PyTorch index under one of the tool's names is the tool's
        name, url = str(i.get("name")), str(i.get("url"))
        if name not in ours or not is_pytorch_index(url, base):
            urls[name] = url
    for name, url in urls.items():  # a PyTorch index is known by its backend (mirrors move it)
        url = url.rstrip("/")
        urls[name] = f"pytorch:{url.rsplit('/', 1)[-1]}" if is_pytorch_index(url, base) else url
    sources = uv.get("sources", {})
    for key in list(sources):
        if canonicalize_name(key) in managed:
            del sources[key]
            continue
        for entry in sources[key] if isinstance(sources[key], list) else [sources[key]]:
            if isinstance(entry, dict) and "index" in entry:
                entry["index"] = urls.get(entry["index"], entry["index"])
    if "sources" in uv and not sources:
        del uv["sources"]
    if "index" in uv:
        uv["index"] = [
            i
            for i in indexes
            if not is_pytorch_index(i.get("url", ""), base) and i.get("name") not in taken
        ]
        if not uv["index"]:
            del uv["index"]
    if "uv" in tool and not uv:
        del tool["uv"]
    if "tool" in data and not tool:
        del data["tool"]
    return data


SEED_SPECS: list[dict[str, Any]] = [
    {
        "torch": "2.5.0",
        "packages": ["torchvision"],
        "targets": [
            {"platform": "linux-x86_64", "backend": "cu124"},
            {"platform": "macos-arm64", "backend": "mps"},
            {"platform": "linux-aarch64", "backend": "cpu"},
        ],
    },
    {
        "torch": "2.9.1",
        "targets": [
            {"platform": "linux-x86_64", "backend": "cpu"},
            {"platform": "linux-x86_64", "backend": "cu126"},
            {"platform": "windows-x86_64", "backend": "cu126"},
        ],
    },
    {
        "torch": "2.5.1",
        "packages": ["torchaudio", "torchvision"],
        "targets": [
            {"platform": "linux-x86_64", "backend": "rocm6.2"},
            {"platform": "linux-x86_64", "backend": "cu124", "gpu": True, "runner": "gpu"},
        ],
    },
]


@examples(ci=600)
@given(projects(st.one_of(st.sampled_from(SEED_SPECS), valid_specs())))
def test_any_pyproject_renders_cleanly(project: Project) -> None:
    event("toml" if _parses(project.text) else "not toml")
    rendered = try_render(project)
    event("rendered" if rendered else "refused")
    if rendered is not None:
        check_output(project, rendered)


CLAIM_BLOCKS = [
    st.lists(sources_block(), max_size=1),
    st.lists(sources_array_block(), max_size=1),
    st.lists(index_block(), max_size=2, unique_by=str),
]
CLAIM_PROJECT = st.sampled_from(
    [
        [
            (line, OWNED if "torch" in line else MIXED if "= [" in line else FOREIGN)
            for line in text.split("\n")
        ]
        for text in (
            '[project]\nname = "demo"\nversion = "0.1.0"',
            '[project]\nname = "demo"\nversion = "0.1.0"\ndependencies = ["numpy"]',
            '[project]\nname = "demo"\nversion = "0"\ndependencies = [\n  "torch",\n]',
        )
    ]
)


@examples(ci=150)
@given(
    projects(
        st.one_of(st.sampled_from(SEED_SPECS), valid_specs()),
        CLAIM_BLOCKS,
        claim_sizes=(1, 2),
        project_strategy=CLAIM_PROJECT,
    )
)
def test_index_named_like_ours_is_taken_over_or_kept(project: Project) -> None:
    """The rule for a user's non-PyTorch index under one of the tool's names (see `claims`),
    on small files that all have one or more."""
    rendered = try_render(project)
    event("rendered" if rendered else "refused")
    if rendered is not None:
        check_output(project, rendered)


@examples(ci=600)
@given(projects(specs))
def test_any_spec_renders_cleanly(project: Project) -> None:
    rendered = try_render(project)
    event("rendered" if rendered else "refused")
    if rendered is not None:
        check_output(project, rendered)
        check_workflow(rendered)


@examples(ci=300)
@given(st.one_of(specs, st.sampled_from(SEED_SPECS)))
def test_any_spec_gives_a_valid_workflow(spec: dict[str, Any]) -> None:
    project = Project(
        HEAD, tuple((line, FOREIGN) for line in HEAD.splitlines()), spec_toml(spec, None)
    )
    rendered = try_render(project)
    event("rendered" if rendered else "refused")
    if rendered is not None:
        check_output(project, rendered)
        check_workflow(rendered)


@examples(ci=1000)
@given(st.text(max_size=200), st.sampled_from(["pyproject", "spec"]))
def test_any_text_is_a_clean_error_or_renders(text: str, where: str) -> None:
    spec = spec_toml(SEED_SPECS[0], None)
    project = Project(
        text if where == "pyproject" else HEAD,
        (),
        text if where == "spec" else spec,
    )
    rendered = try_render(project)
    if rendered is not None:
        tomllib.loads(rendered.pyproject.text)


def _parses(text: str) -> bool:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False
    return True


def test_in_process_schema_agrees_with_check_jsonschema(tmp_path: Path) -> None:
    """The in-process validator above is the one `tests/validators.schema` runs."""
    from validators import schema

    for number, spec in enumerate(SEED_SPECS):
        rendered = render(HEAD, spec_toml(spec, None))
        (workflow,) = (t for p, t in rendered.ci_files.items() if p.endswith(".yml"))
        path = tmp_path / f"w{number}.yml"
        path.write_text(workflow, encoding="utf-8")
        assert schema(path, "workflow") == []
        check_workflow(rendered)
        assert load_workflow(workflow) == yaml12(workflow)
    broken = tmp_path / "broken.yml"
    broken.write_text(workflow.replace("contents: read", "contents: maybe"))
    assert schema(broken, "workflow")
    assert list(workflow_validator().iter_errors(yaml12(broken.read_text())))


@pytest.mark.parametrize(
    "text", ['tool = "x"\n' + HEAD, HEAD + "[[tool]]\nx = 1\n"], ids=["string", "array"]
)
def test_tool_that_is_not_a_table_is_a_clean_error(text: str) -> None:
    with pytest.raises(UvtorchError) as caught:
        render(text, spec_toml(SEED_SPECS[0], None))
    check_error(caught.value, spec_toml(SEED_SPECS[0], None))


# --- hostile values and trees (issue 16) --------------------------------------------------------

# A valid value of each kind, and where it goes in a spec that renders as it stands.
VALUE_KINDS: dict[str, tuple[str, Callable[[str], dict[str, Any]]]] = {
    "workflow": (".github/workflows/t.yml", lambda v: {"workflow": v}),
    "python": ("3.12", lambda v: {"python": [v]}),
    "index-url": ("https://mirror.example.com/whl", lambda v: {"index-url": v}),
    "backend": ("cu124", lambda v: {"targets": [{"platform": "linux-x86_64", "backend": v}]}),
    "runner": (
        "ubuntu-latest",
        lambda v: {"targets": [{"platform": "linux-x86_64", "backend": "cu124", "runner": v}]},
    ),
    "name": (
        "gpu",
        lambda v: {"targets": [{"platform": "linux-x86_64", "backend": "cu124", "name": v}]},
    ),
}
UNPRINTABLE = st.one_of(
    st.sampled_from(["\n", "\r\n", "\r", "\x1b[31m", "\x1b]0;t\x07", "\u202e", "\x00", "\t"]),
    st.characters(categories=["Cc", "Cf", "Zl", "Zp"]),
)


def _harmless(line: str) -> bool:
    """Nothing in `line` steers a terminal: printable characters, tabs and spaces only."""
    import unicodedata

    return all(c.isprintable() or c == "\t" or unicodedata.category(c) == "Zs" for c in line)


@examples(ci=300)
@given(
    st.sampled_from(sorted(VALUE_KINDS)),
    UNPRINTABLE,
    st.sampled_from(["end", "start", "middle"]),
)
def test_a_value_with_a_newline_or_control_character_is_refused(
    kind: str, char: str, where: str
) -> None:
    """Every kind of value is matched whole: a trailing newline or a control character
    anywhere is a clean error, and the message shows the value escaped, on one line."""
    from uvtorch_ci.commands.terminal import safe

    valid, place = VALUE_KINDS[kind]
    value = {"end": valid + char, "start": char + valid}.get(where, valid[:2] + char + valid[2:])
    spec = {"torch": "2.5.0", "targets": [{"platform": "linux-x86_64", "backend": "cu124"}]}
    spec.update(place(value))
    spec_text = spec_toml(spec, None)
    render(HEAD, spec_toml({**spec, **place(valid)}, None))  # the valid value renders
    with pytest.raises(UvtorchError) as caught:
        render(HEAD, spec_text)
    check_error(caught.value, spec_text)
    assert "\n" not in caught.value.message
    assert "\r" not in caught.value.message
    for line in safe(str(caught.value)).split("\n"):
        assert _harmless(line), line
        assert not line.lstrip().startswith("::")


@examples(ci=500)
@given(st.text(max_size=40))
def test_a_validator_accepts_only_whole_printable_values(text: str) -> None:
    from uvtorch_ci.spec import values

    checks = [
        values.is_python_version,
        values.is_backend,
        values.is_target_name,
        values.is_runner_label,
        values.is_workflow_path,
        values.is_action_ref,
        values.is_project_name,
    ]
    for candidate in (text, text + "\n", "3.12" + text, "cu124" + text):
        for check in checks:
            if check(candidate):
                assert candidate.isprintable(), check
                assert candidate == candidate.strip(), check
        if values.index_url_problem(candidate) is None:
            assert candidate.isprintable()
            assert not {"@", "?", "#", " "} & set(candidate)


@examples(ci=500)
@given(
    st.text(max_size=60),
    st.one_of(st.none(), st.text(max_size=20)),
    st.one_of(st.none(), st.integers(1, 10**6)),
)
def test_no_text_forges_a_workflow_command_or_steers_the_terminal(
    text: str, file: str | None, line: int | None
) -> None:
    from uvtorch_ci.commands.terminal import annotation, safe

    for printed in safe(text).split("\n"):
        assert _harmless(printed.removesuffix("\r")), printed
        assert not printed.lstrip().startswith("::")
    command = annotation(text, file=file, line=line)
    assert _harmless(command), command  # one line: CR and LF are %0D and %0A
    head, _, data = command[2:].partition("::")
    assert head.startswith("error")
    properties = head.removeprefix("error").strip()
    for prop in filter(None, properties.split(",")):
        name, _, value = prop.partition("=")
        assert name in ("file", "line", "col")
        assert ":" not in value
        assert "," not in value
    unescaped = data.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
    assert unescaped == safe(text)


@examples(ci=60)
@given(
    st.integers(1, 3500),
    st.sampled_from(["array", "inline-table"]),
    st.sampled_from(["pyproject", "spec"]),
)
def test_nesting_at_any_depth_renders_or_is_a_clean_error(
    depth: int, shape: str, where: str
) -> None:
    value = "[" * depth + "]" * depth if shape == "array" else "{a = " * depth + "1" + "}" * depth
    spec = spec_toml(SEED_SPECS[0], None)
    deep = f"[tool.other]\ndeep = {value}\n"
    if where == "pyproject":
        texts = (HEAD + "\n" + deep, spec)
    else:
        texts = (HEAD, spec.replace("[[targets]]", f"deep = {value}\n[[targets]]", 1))
    try:
        rendered = render(*texts)
    except UvtorchError as error:
        refused = error
    else:
        tomllib.loads(rendered.pyproject.text)
        event(f"rendered: {shape} in {where}")
        return
    check_error(refused, texts[1])
    # a syntax or depth error names the line; a shallow value in the spec is an unknown key
    assert (refused.where or "").startswith("line ") or refused.where == "deep", str(refused)
    event(f"refused: {shape} in {where}: {refused.where}")


# One tree entry: a path of the seed project and what stands there instead of the file.
TREE_PATHS = [
    "pyproject.toml",
    "uvtorch.toml",
    "uv.lock",
    ".github",
    ".github/workflows",
    ".github/workflows/torch.yml",
    ".github/uvtorch/smoke.py",
]
TREE_KINDS = ["link-outside", "link-dangling", "link-dangling-inside", "link-inside", "fifo"]


def _entry_tree(top: Path) -> dict[str, tuple[str, object]]:
    import stat as stat_module

    entries: dict[str, tuple[str, object]] = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            key = os.path.relpath(path, top)
            if stat_module.S_ISLNK(mode):
                entries[key] = ("link", os.readlink(path))
            elif stat_module.S_ISREG(mode):
                entries[key] = ("file", Path(path).read_bytes())
            else:
                entries[key] = ("other", stat_module.S_IFMT(mode))
    return entries


def _plant(project: Path, relative: str, kind: str) -> None:
    import shutil

    path = project / relative
    folders = [
        project / Path(*path.relative_to(project).parts[:n])
        for n in range(1, len(path.relative_to(project).parts))
    ]
    if any(f.is_symlink() or (f.exists() and not f.is_dir()) for f in folders):
        return  # an earlier entry replaced a folder on its way: nothing to plant through
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    outside = project.parent / "outside"
    if kind == "link-outside":
        path.symlink_to(outside / ("folder" if "." not in path.name else "file.txt"))
    elif kind == "link-dangling":
        path.symlink_to(outside / "gone" / path.name)
    elif kind == "link-dangling-inside":
        path.symlink_to(project / "missing" / path.name)
    elif kind == "link-inside":
        (project / "inside").mkdir(exist_ok=True)
        target = project / "inside" / path.name
        if not target.exists():
            target.write_text("")
        path.symlink_to(target)
    else:
        os.mkfifo(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and symlinks: POSIX")
@examples(ci=80)
@given(
    st.lists(
        st.tuples(st.sampled_from(TREE_PATHS), st.sampled_from(TREE_KINDS)),
        min_size=1,
        max_size=3,
        unique_by=lambda entry: entry[0],
    ),
    st.sampled_from([["render"], ["render", "--force"], ["render", "--check"], ["verify"]]),
)
def test_a_hostile_tree_never_hangs_nor_writes_outside_the_project(
    entries: list[tuple[str, str]], args: list[str]
) -> None:
    """Links out of the project, dangling links and FIFOs, anywhere the tool reads or
    writes: it never blocks (a FIFO is never opened: an alarm fails a hang), never changes
    anything outside the project, never creates a dangling link's target, and on exit 2
    changes nothing at all."""
    import shutil
    import signal
    import tempfile

    from uvtorch_ci.commands.main import main

    top = Path(tempfile.mkdtemp())
    saved = os.environ.get("UVTORCH_CI_CACHE_DIR")
    try:
        project = top / "project"
        shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "seed", project)
        outside = top / "outside"
        (outside / "folder").mkdir(parents=True)
        (outside / "file.txt").write_text("outside\n")
        for relative, kind in entries:
            _plant(project, relative, kind)
        before_outside, before = _entry_tree(outside), _entry_tree(project)
        os.environ["UVTORCH_CI_CACHE_DIR"] = "off"

        def hang(signum: int, frame: object) -> None:
            raise AssertionError(f"{args} blocked on {entries}")

        signal.signal(signal.SIGALRM, hang)
        signal.alarm(20)
        try:
            code = main([*args, "--project", str(project)])
        finally:
            signal.alarm(0)
        assert code in (0, 1, 2)
        assert _entry_tree(outside) == before_outside
        assert not (project / "missing").exists()  # no dangling link's target was made
        if code == 2 or "--check" in args:
            assert _entry_tree(project) == before
        event(f"exit {code}")
    finally:
        if saved is None:
            os.environ.pop("UVTORCH_CI_CACHE_DIR", None)
        else:
            os.environ["UVTORCH_CI_CACHE_DIR"] = saved
        shutil.rmtree(top, ignore_errors=True)
