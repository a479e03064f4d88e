# ruff: noqa: E501 (the uv.lock texts below are verbatim, as uv writes them)
"""uv.lock reading: packages, markers, conflicting extras, wheel tags, and a 300-package lock."""

from __future__ import annotations

from typing import Any

import lock_texts
import pytest
from lock_texts import PT, PYPI, SEED_LOCK, synthetic_lock, text

from uvtorch_ci.errors import EXIT_BAD_INPUT, LockError
from uvtorch_ci.lock.model import Artifact, parse_marker
from uvtorch_ci.lock.reader import parse_lock
from uvtorch_ci.lock.wheel_tags import compatible_tags
from uvtorch_ci.platforms import PLATFORMS


def installed(
    locked: str, platform: str, python: str = "3.12", extras: tuple[str, ...] = ()
) -> dict[str, tuple[str, str]]:
    lock = parse_lock(locked)
    packages = lock.resolve(PLATFORMS[platform].marker_environment(python), extras)
    return {name: (p.version, p.source) for name, p in packages.items()}


@pytest.mark.parametrize(
    ("platform", "tag", "index"),
    [
        ("linux-x86_64", "+cu124", f"{PT}/cu124"),
        ("macos-arm64", "", f"{PT}/cpu"),
        ("linux-aarch64", "", f"{PT}/cpu"),
        ("windows-x86_64", "", PYPI),  # not a target: the default index
    ],
)
def test_resolve_follows_the_markers_uv_wrote(platform: str, tag: str, index: str) -> None:
    got = installed(text(SEED_LOCK), platform)
    assert got == {"torch": ("2.5.0" + tag, index), "torchvision": ("0.20.0" + tag, index)}


def test_packages_are_parsed_with_wheels_sizes_and_metadata() -> None:
    edited = text(SEED_LOCK).replace(
        'torch-2.5.0%2Bcu124-cp312-cp312-manylinux_2_28_x86_64.whl", hash = "sha256:00"',
        'torch-2.5.0%2Bcu124-cp312-cp312-manylinux_2_28_x86_64.whl", hash = "sha256:00", '
        "size = 906414807",
    )
    lock = parse_lock(edited)
    assert lock.requires_python == ">=3.11"
    assert len(lock.required_markers) == 3
    assert [p.version for p in lock.by_name["torch"]] == ["2.5.0", "2.5.0", "2.5.0+cu124"]
    cuda = lock.by_name["torch"][2]
    # file names are URL-decoded (%2B is the + of the local tag)
    url = f"{PT}/cu124/torch-2.5.0%2Bcu124-cp3{{}}-cp3{{}}-manylinux_2_28_x86_64.whl"
    assert cuda.wheels == (
        Artifact(
            "torch-2.5.0+cu124-cp311-cp311-manylinux_2_28_x86_64.whl",
            None,
            url.format(11, 11),
            "sha256:00",
        ),
        Artifact(
            "torch-2.5.0+cu124-cp312-cp312-manylinux_2_28_x86_64.whl",
            906414807,
            url.format(12, 12),
            "sha256:00",
        ),
    )
    root = lock.root("demo")
    assert root.is_root
    assert root.source == "virtual:."
    assert root.requires_dist is not None
    cu124 = [r for r in root.requires_dist if r.source == f"{PT}/cu124"]
    assert [(r.name, r.specifier) for r in cu124] == [
        ("torch", "==2.5.0"),
        ("torchvision", "==0.20.0"),
    ]
    assert all(
        r.marker == "platform_machine == 'x86_64' and sys_platform == 'linux'" for r in cu124
    )


@pytest.mark.parametrize(
    ("filename", "platform", "python", "fits"),
    [
        ("torch-2.5.0+cu124-cp312-cp312-manylinux_2_28_x86_64.whl", "linux-x86_64", "3.12", True),
        ("torch-2.5.0+cu124-cp312-cp312-linux_x86_64.whl", "linux-x86_64", "3.12", True),
        ("torch-2.5.0-cp312-none-macosx_11_0_arm64.whl", "macos-arm64", "3.12", True),
        ("torch-2.5.0-cp312-cp312-manylinux1_x86_64.whl", "linux-x86_64", "3.12", True),
        ("torch-2.5.0-cp312-cp312-manylinux2014_aarch64.whl", "linux-aarch64", "3.12", True),
        ("torch-2.9.1-cp313-cp313-manylinux_2_28_aarch64.whl", "linux-aarch64", "3.13", True),
        ("torch-2.9.1-cp313-cp313-win_amd64.whl", "windows-x86_64", "3.13", True),
        ("torch-2.9.1-cp313-cp313-macosx_14_0_arm64.whl", "macos-arm64", "3.13", True),
        ("numpy-2.0.0-cp311-abi3-macosx_10_9_universal2.whl", "macos-arm64", "3.13", True),
        ("filelock-3.16.1-py3-none-any.whl", "windows-x86_64", "3.11", True),
        # the wrong Python
        ("torch-2.5.0-cp312-cp312-macosx_11_0_arm64.whl", "macos-arm64", "3.13", False),
        ("torch-2.9.1-cp313-cp313t-macosx_11_0_arm64.whl", "macos-arm64", "3.13", False),
        ("numpy-2.0.0-cp313-abi3-manylinux_2_28_x86_64.whl", "linux-x86_64", "3.12", False),
        # the wrong platform
        ("torch-2.5.0-cp312-cp312-manylinux_2_28_x86_64.whl", "linux-aarch64", "3.12", False),
        ("torch-2.5.0-cp312-cp312-macosx_11_0_arm64.whl", "macos-x86_64", "3.12", False),
        ("torch-2.5.0-cp312-cp312-win_amd64.whl", "linux-x86_64", "3.12", False),
        ("torch-2.5.0-cp312-cp312-musllinux_1_2_x86_64.whl", "linux-x86_64", "3.12", False),
        # newer than the hosted runners' glibc (2.39) and macOS (15)
        ("torch-9.0.0-cp312-cp312-manylinux_2_40_x86_64.whl", "linux-x86_64", "3.12", False),
        ("torch-9.0.0-cp312-cp312-macosx_26_0_arm64.whl", "macos-arm64", "3.12", False),
    ],
)
def test_wheel_fits_platform_and_python(
    filename: str, platform: str, python: str, fits: bool
) -> None:
    ranks = compatible_tags(platform, python)
    assert any(tag in ranks for tag in Artifact(filename, None).tags) is fits


def test_best_wheel_prefers_the_most_specific_tag() -> None:
    edited = text(SEED_LOCK).replace(
        '{ url = "https://files.pythonhosted.org/packages/torch-2.5.0-cp312-cp312-win_amd64.whl"',
        '{ url = "https://files.pythonhosted.org/packages/torch-2.5.0-py3-none-any.whl", '
        'hash = "sha256:00" },\n'
        '    { url = "https://files.pythonhosted.org/packages/torch-2.5.0-cp312-cp312-win_amd64.whl"',
    )
    torch = parse_lock(edited).by_name["torch"][0]
    windows = PLATFORMS["windows-x86_64"]
    best = torch.best_wheel(windows, "3.12")
    assert best is not None
    assert best.filename == "torch-2.5.0-cp312-cp312-win_amd64.whl"
    other = torch.best_wheel(windows, "3.13")
    assert other is not None
    assert other.filename == "torch-2.5.0-py3-none-any.whl"
    assert parse_lock(text(SEED_LOCK)).by_name["torch"][2].best_wheel(windows, "3.12") is None


EXTRAS_ROOT = """\
version = 1
revision = 5
requires-python = ">=3.12"
conflicts = [[
    { package = "my-app", extra = "cpu" },
    { package = "my-app", extra = "cu124" },
]]

[[package]]
name = "my-app"
version = "0.1.0"
source = { editable = "." }

[package.optional-dependencies]
cpu = [
    { name = "torch", version = "2.5.0+cpu", source = { registry = "{pt}/cpu" }, \
marker = "(sys_platform == 'linux' and extra == 'extra-6-my-app-cpu') or \
(extra == 'extra-6-my-app-cpu' and extra == 'extra-6-my-app-cu124')" },
]
cu124 = [
    { name = "torch", version = "2.5.0+cu124", source = { registry = "{pt}/cu124" }, \
marker = "sys_platform == 'linux' and extra != 'extra-6-my-app-cpu' and \
extra == 'extra-6-my-app-cu124'" },
]

[[package]]
name = "torch"
version = "2.5.0+cpu"
source = { registry = "{pt}/cpu" }
wheels = [{ url = "{pt}/cpu/torch-2.5.0%2Bcpu-cp312-cp312-linux_x86_64.whl", hash = "sha256:00" }]

[[package]]
name = "torch"
version = "2.5.0+cu124"
source = { registry = "{pt}/cu124" }
wheels = [{ url = "{pt}/cu124/torch-2.5.0%2Bcu124-cp312-cp312-linux_x86_64.whl", hash = "sha256:00" }]
"""


@pytest.mark.parametrize(
    ("extras", "version"), [((), None), (("cpu",), "2.5.0+cpu"), (("cu124",), "2.5.0+cu124")]
)
def test_conflicting_extras_are_evaluated_as_uv_encodes_them(
    extras: tuple[str, ...], version: str | None
) -> None:
    lock = parse_lock(text(EXTRAS_ROOT))
    assert lock.conflicts == frozenset(
        {frozenset({("my-app", "extra", "cpu"), ("my-app", "extra", "cu124")})}
    )
    got = installed(text(EXTRAS_ROOT), "linux-x86_64", extras=extras)
    assert got.get("torch", (None,))[0] == version


GROUPS_AND_EXTRAS = """\
version = 1
revision = 3
requires-python = ">=3.12"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "lightning", extra = ["extra"] },
]

[package.dev-dependencies]
dev = [
    { name = "pytest" },
]

[[package]]
name = "lightning"
version = "2.5.0"
source = { registry = "{pypi}" }

[package.optional-dependencies]
extra = [
    { name = "torchvision", marker = "sys_platform == 'linux'" },
]

[[package]]
name = "pytest"
version = "8.3.0"
source = { registry = "{pypi}" }

[[package]]
name = "torchvision"
version = "0.20.0"
source = { registry = "{pypi}" }
"""


@pytest.mark.parametrize(
    ("platform", "groups", "names"),
    [
        ("linux-x86_64", ("dev",), ["app", "lightning", "pytest", "torchvision"]),
        ("macos-arm64", ("dev",), ["app", "lightning", "pytest"]),
        ("linux-x86_64", (), ["app", "lightning", "torchvision"]),
    ],
)
def test_resolve_follows_dependency_extras_and_groups(
    platform: str, groups: tuple[str, ...], names: list[str]
) -> None:
    """`uv sync` installs the dev group by default, and a dependency's extras."""
    lock = parse_lock(text(GROUPS_AND_EXTRAS))
    env = PLATFORMS[platform].marker_environment("3.12")
    assert sorted(["app", *lock.resolve(env, groups=groups)]) == names


def test_markers_are_parsed_once() -> None:
    marker = "platform_machine == 'x86_64' and sys_platform == 'linux'"
    assert parse_marker(marker) is parse_marker(marker)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version = 1\n[[package]\n", "not valid TOML"),
        ('name = "demo"\n', "is not a uv lock file"),
        ('version = 1\n\n[[package]]\nversion = "1"\n', "uv would not write"),
        (
            'version = 1\n\n[[package]]\nname = "a"\nversion = "1"\nsource = { virtual = "." }\n'
            'dependencies = [{ name = "b", marker = "sys_platform =! \'x\'" }]\n',
            "marker",
        ),
    ],
)
def test_unreadable_lock_is_bad_input(text: str, message: str) -> None:
    with pytest.raises(LockError) as caught:
        parse_lock(text, "sub/uv.lock")
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert message in str(caught.value)
    assert str(caught.value).startswith("sub/uv.lock: ")
    assert "uv lock" in str(caught.value)


@pytest.mark.parametrize(
    ("platform", "python", "chain", "torch"),
    [
        ("linux-x86_64", "3.12", 297, "2.5.0+cu124"),  # every link holds
        ("linux-x86_64", "3.11", 1, "2.5.0+cu124"),  # pkg-0001 needs 3.12
        ("macos-arm64", "3.12", 3, "2.5.0"),  # pkg-0003 is Linux-only
    ],
)
def test_a_300_package_lock_resolves(platform: str, python: str, chain: int, torch: str) -> None:
    big = synthetic_lock(300)
    lock = parse_lock(big)
    assert len(lock.packages) == 300
    got = installed(big, platform, python)
    assert got["torch"][0] == torch
    assert sorted(n for n in got if n.startswith("pkg-")) == [f"pkg-{i:04d}" for i in range(chain)]


def test_errors_found_after_parsing_name_the_lock_as_given() -> None:
    lock = parse_lock(text(SEED_LOCK), "services/api/uv.lock")
    with pytest.raises(LockError) as caught:
        lock.root("not-this-project")
    assert str(caught.value).startswith(
        "services/api/uv.lock: has no project named 'not-this-project'"
    )


_MALFORMED_BASE = (
    'version = 1\nrequires-python = ">=3.10"\n{top}\n[[package]]\nname = "demo"\n'
    'version = "0.1.0"\nsource = {{ virtual = "." }}\ndependencies = [{{ name = "torch" }}]\n\n'
    '[[package]]\nname = "torch"\nversion = "2.5.0"\n{package}\n'
)
_CPU = 'source = { registry = "https://download.pytorch.org/whl/cpu" }\n'


@pytest.mark.parametrize(
    ("top", "package", "where", "message"),
    [
        ("", "source = {}", "package[1] (torch)", "source must name one kind"),
        ("", "source = { registry = 5 }", "package[1] (torch)", "source registry must be a str"),
        ("", _CPU + "wheels = [{ url = 5 }]", "package[1] (torch)", "wheels[0]'s url must be"),
        (
            "",
            _CPU + 'wheels = [{ url = "https://download.pytorch.org/whl/cpu/t.whl", size = -3 }]',
            "package[1] (torch)",
            "wheels[0]'s size must be a whole number of bytes, not -3",
        ),
        (
            "",
            _CPU + 'dependencies = [{ name = "a", extra = "cuda" }]',
            "package[1] (torch)",
            "the dependency on a's extra must be an array",
        ),
        (
            "",
            _CPU + 'dependencies = [{ name = "a", marker = 5 }]',
            "package[1] (torch)",
            "the dependency on a's marker must be a string, not 5",
        ),
        (
            'supported-markers = ["sys_platform =! 1"]',
            _CPU,
            "supported-markers[0]",
            "is a marker uv would not write",
        ),
        ("required-markers = [5]", _CPU, "required-markers[0]", "must be a string, not 5"),
    ],
)
def test_every_malformed_value_names_the_file_and_the_package(
    top: str, package: str, where: str, message: str
) -> None:
    """No traceback and no silent pass: exit 2 naming the lock as given, and where."""
    with pytest.raises(LockError) as caught:
        parse_lock(_MALFORMED_BASE.format(top=top, package=package), "sub/uv.lock")
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert str(caught.value).startswith(f"sub/uv.lock: {where}"), str(caught.value)
    assert message in str(caught.value)


def test_wheel_urls_are_kept_for_verify() -> None:
    lock = parse_lock(text(SEED_LOCK))
    torch = next(p for p in lock.packages if p.name == "torch" and p.wheels)
    assert all(w.url and w.url.endswith(w.filename.replace("+", "%2B")) for w in torch.wheels)


# -- uv's layout read fast, and the same as tomllib reads it ----------------------------------


def _lock_texts() -> list[tuple[str, str]]:
    """Every lock the suite holds as text, and every real one of ../shared's corpus."""
    from shared import SHARED

    texts = [
        (name, text(value))
        for name, value in vars(lock_texts).items()
        if name.endswith("_LOCK") and isinstance(value, str)
    ]
    texts.append(("synthetic", synthetic_lock(300)))
    locks = SHARED / "corpus" / "locks"
    if locks.is_dir():
        texts += [(p.parent.name, p.read_text()) for p in sorted(locks.glob("*/uv.lock"))]
    return texts


@pytest.mark.parametrize(("name", "lock"), _lock_texts(), ids=lambda v: v if len(v) < 60 else "")
def test_the_layout_reads_every_lock_as_tomllib_does(name: str, lock: str) -> None:
    fast = parse_lock(lock)
    # read by layout: the files are still lines (until the comparison reads them)
    assert any(p.files._value is None for p in fast.packages), name
    assert fast == parse_lock(lock, by_layout=False)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda t: t.replace("size = 906414807", "size = -1"), "size must be a whole number"),
        (lambda t: t.replace('{ url = "', '{ url = 5, x = "', 1), "must be a string"),
    ],
)
def test_a_file_line_uv_would_not_write_is_refused_when_read(edit: Any, words: str) -> None:
    """Files are read when asked for; what uv would not write is then the same exit 2."""
    sized = text(SEED_LOCK).replace('hash = "sha256:00"', 'hash = "sha256:00", size = 906414807', 1)
    lock = parse_lock(edit(sized))
    with pytest.raises(LockError, match=words):
        [package.wheels for package in lock.packages]  # reading them is what raises
