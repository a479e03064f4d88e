"""Pure: the words verify uses for what is wrong with one locked package in one target: the index
it comes from, its version, its wheels and its local tag."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from ..lock.model import LockedPackage
from ..plan.planner import Build, Plan
from ..pyproject.data import is_pytorch_index
from ..releases.table import BACKEND_PATTERN, accepted_tags
from .staleness import normalized_url


def index_problem(plan: Plan, build: Build, got: str) -> str:
    want = f"expected the {build.index.backend} index ({build.index.url})"
    if build.from_pypi:
        want = f"expected PyPI's {build.check_backend} build, from the default index"
    if got.partition(":")[0] in ("git", "url", "path", "editable", "directory", "virtual"):
        return f"comes from {got}, not from a registry; {want}"
    if is_pytorch_index(got, plan.spec.index_url):
        return f"comes from the {index_label(plan, got)} index ({got}); {want}"
    return (
        f"comes from {got}, which is not a PyTorch index: {build.target.platform} falls back "
        f"to the default index (PyPI); {want}"
    )


def elsewhere_problem(plan: Plan, build: Build, name: str, got: str) -> str:
    """A package the target's index does not publish, locked from somewhere else than PyPI."""
    where = (
        f"the {index_label(plan, got)} index" if is_pytorch_index(got, plan.spec.index_url) else got
    )
    return (
        f"comes from {where} ({got}); expected PyPI's build: the {build.index.backend} index "
        f"does not publish {name} for {build.target.platform} (missing-builds)"
    )


def version_problem(
    plan: Plan,
    build: Build,
    name: str,
    locked: LockedPackage,
    torch: LockedPackage | None,
    expected: str,
) -> str:
    """Why the locked version is not the one the target must have."""
    got = public_version(locked.version) or locked.version
    spec = plan.spec
    if name != "torch":
        of = public_version(torch.version) if torch else public_version(build.torch)
        return f"version {got}, expected {expected} (the {name} of torch {of})"
    if spec.exact_torch is not None:
        return f"version {got}, expected {expected} (the spec's torch)"
    if not spec.torch.contains(got, prereleases=True):
        return f'version {got}, which torch = "{spec.torch_text}" does not admit'
    where = "on PyPI" if build.from_pypi else f"on the {build.index.backend} index"
    return (
        f"version {got} has no {build.target.platform} build {where}; the newest torch the spec "
        f"admits that has one is {expected}"
    )


def tag_problem(got: str, backend: str) -> str:
    """Words for a local tag that is neither the backend's own nor absent."""
    text = f"local tag +{got}, expected {accepted_tags(backend)}: "
    if backend == "mps":
        return text + "macOS builds are never tagged"
    if BACKEND_PATTERN.fullmatch(got):
        return text + f"built for {got}, not {backend}"
    return text + f"a tag that names no backend (a stray build, not the {backend} build)"


def wheel_problem(package: LockedPackage, platform: str, python: str) -> str:
    interpreter = "cp" + python.replace(".", "")
    text = f"no wheel for {interpreter} on {platform} in uv.lock"
    if not package.wheels:
        if package.sdist is not None:
            return text + f" (only an sdist: uv would build {package.name} from source)"
        return text + " (it lists no files for this package)"
    shown = sorted({wheel_tag(w.filename) for w in package.wheels})
    more = f" and {len(shown) - 6} more" if len(shown) > 6 else ""
    return text + f" (it has {', '.join(shown[:6])}{more})"


def index_label(plan: Plan, url: str) -> str:
    for index in plan.indexes:
        if normalized_url(index.url) == normalized_url(url):
            return index.backend
    if is_pytorch_index(url, plan.spec.index_url):
        return normalized_url(url).rsplit("/", 1)[-1]
    if "://pypi.org/" in url or "://pypi.python.org/" in url:
        return "PyPI"
    return url


def wheel_tag(filename: str) -> str:
    """'cp312-cp312-manylinux_2_28_x86_64' from a wheel's file name."""
    parts = filename.removesuffix(".whl").split("-")
    return "-".join(parts[-3:])


def public_version(version: str) -> str | None:
    """The version without its local tag ('2.5.0' of '2.5.0+cu124'); None when unreadable."""
    try:
        return Version(version).public
    except InvalidVersion:
        return None
