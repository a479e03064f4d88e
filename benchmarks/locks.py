"""Large uv.lock files shaped like the ones real uv writes, for the benchmark: a project whose
torch comes from two PyTorch indexes (cu124 on Linux x86_64, cpu elsewhere) and which depends
on `count` PyPI packages, each with an sdist and twelve wheels (four Pythons, three platforms)
with PyPI's long URLs, sha256 hashes, sizes and upload times, as real locks hold them; every
package needs one further down, on Linux."""

from __future__ import annotations

import hashlib
from pathlib import Path

LINUX = "platform_machine == 'x86_64' and sys_platform == 'linux'"
OTHER = "platform_machine != 'x86_64' or sys_platform != 'linux'"
PYTHONS = ("310", "311", "312", "313")
PLATFORMS = ("manylinux_2_17_x86_64.manylinux2014_x86_64", "macosx_11_0_arm64", "win_amd64")
DIRECT = 200  # packages the project names itself; the rest come through them
SPEC = """\
torch = "2.5.0"
python = ["3.12"]

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu124"

[[tool.uvtorch.targets]]
platform = "macos-arm64"
backend = "mps"
"""


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _file(name: str, version: str, tail: str, size: int) -> str:
    digest = _hash(name + tail)
    url = (
        f"https://files.pythonhosted.org/packages/{digest[:2]}/{digest[2:4]}/{digest[4:]}/"
        f"{name.replace('-', '_')}-{version}{tail}"
    )
    return (
        f'{{ url = "{url}", hash = "sha256:{digest}", size = {size}, '
        'upload-time = "2025-01-01T00:00:00.000Z" }'
    )


def lock_text(count: int, index_url: str) -> str:
    """A uv.lock of `count` PyPI packages besides the project and its two torch builds."""
    names = [f"pkg-{i:05d}" for i in range(count)]
    direct = names[:DIRECT]
    required = "    \"platform_machine == 'x86_64' and sys_platform == 'linux'\",\n"
    required += "    \"platform_machine == 'arm64' and sys_platform == 'darwin'\",\n"
    out = [
        f'version = 1\nrevision = 3\nrequires-python = ">=3.11"\nrequired-markers = [\n'
        f"{required}]\n"
    ]
    root_deps = (
        f'    {{ name = "torch", version = "2.5.0", source = {{ registry = "{index_url}/cpu" }}, '
        f'marker = "{OTHER}" }},\n'
        f'    {{ name = "torch", version = "2.5.0+cu124", source = {{ registry = '
        f'"{index_url}/cu124" }}, marker = "{LINUX}" }},\n'
    )
    root_deps += "".join(f'    {{ name = "{name}" }},\n' for name in direct)
    requires = (
        f'    {{ name = "torch", marker = "{OTHER}", specifier = "==2.5.0", '
        f'index = "{index_url}/cpu" }},\n'
        f'    {{ name = "torch", marker = "{LINUX}", specifier = "==2.5.0", '
        f'index = "{index_url}/cu124" }},\n'
    )
    requires += "".join(f'    {{ name = "{name}" }},\n' for name in direct)
    out.append(
        f'[[package]]\nname = "big"\nversion = "1.0"\nsource = {{ virtual = "." }}\n'
        f"dependencies = [\n{root_deps}]\n\n[package.metadata]\nrequires-dist = [\n{requires}]\n"
    )
    for version, index, platforms in (
        ("2.5.0", "cpu", ("macosx_11_0_arm64", "manylinux_2_28_aarch64")),
        ("2.5.0+cu124", "cu124", ("manylinux_2_28_x86_64", "win_amd64")),
    ):
        tag = version.replace("+", "%2B")
        wheels = "".join(
            f'    {{ url = "{index_url}/{index}/torch-{tag}-cp{py}-cp{py}-{platform}.whl", '
            f'hash = "sha256:{_hash(index + py + platform)}" }},\n'
            for py in PYTHONS
            for platform in platforms
        )
        out.append(
            f'[[package]]\nname = "torch"\nversion = "{version}"\n'
            f'source = {{ registry = "{index_url}/{index}" }}\nwheels = [\n{wheels}]\n'
        )
    for i, name in enumerate(names):
        version = f"1.{i}"
        needs = ""
        if i + DIRECT < count:
            needs = (
                f'dependencies = [\n    {{ name = "{names[i + DIRECT]}", '
                "marker = \"sys_platform == 'linux'\" },\n]\n"
            )
        wheels = "".join(
            f"    {_file(name, version, f'-cp{py}-cp{py}-{platform}.whl', 10_000 + i)},\n"
            for py in PYTHONS
            for platform in PLATFORMS
        )
        out.append(
            f'[[package]]\nname = "{name}"\nversion = "{version}"\n'
            'source = { registry = "https://pypi.org/simple" }\n'
            f"{needs}sdist = {_file(name, version, '.tar.gz', 5_000 + i)}\n"
            f"wheels = [\n{wheels}]\n"
        )
    return "\n".join(out)


def write_project(directory: Path, count: int, index_url: str) -> Path:
    """A project whose spec targets cu124 and MPS, its `count`-package uv.lock beside it (the
    benchmark renders the project before measuring)."""
    directory.mkdir(parents=True)
    deps = "".join(f'  "pkg-{i:05d}",\n' for i in range(min(count, DIRECT)))
    (directory / "pyproject.toml").write_text(
        '[project]\nname = "big"\nversion = "1.0"\nrequires-python = ">=3.11"\n'
        f"dependencies = [\n{deps}]\n\n[tool.uvtorch]\n{SPEC}"
    )
    (directory / "uv.lock").write_text(lock_text(count, index_url))
    return directory
