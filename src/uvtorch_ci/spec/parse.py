"""Read and validate the spec ([tool.uvtorch] or uvtorch.toml) into frozen dataclasses: the
top-level keys here, its [[targets]] tables in targets.py."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import SpecError, did_you_mean, one_of
from ..releases.table import index_backend
from ..resources import DEFAULT_WORKFLOW
from .packages import parse_missing_builds, parse_packages
from .reader import Reader, kind, quoted
from .targets import Target, parse_targets
from .values import (
    index_url_problem,
    is_action_ref,
    is_commit,
    is_other_platforms,
    is_python_version,
    is_repository_root,
    is_workflow_path,
)

DEFAULT_INDEX_URL = "https://download.pytorch.org/whl"
INDEX_URL_ENV = "UVTORCH_INDEX_URL"
FILE_HOSTS_ENV = "UVTORCH_FILE_HOSTS"  # replaces file-hosts, as UVTORCH_INDEX_URL index-url

TOP_KEYS = (
    "torch",
    "packages",
    "python",
    "index-url",
    "file-hosts",
    "workflow",
    "action",
    "ci-tool",
    "timeout-minutes",
    "repository-root",
    "selector",
    "default-group",
    "other-platforms",
    "missing-builds",
    "targets",
)
SELECTORS = ("markers", "extras", "groups")
DEFAULT_TIMEOUT_MINUTES = 60
MAX_TIMEOUT_MINUTES = 7200  # a self-hosted runner's job limit (five days); hosted stop at 360


@dataclass(frozen=True)
class Spec:
    """The validated spec. `torch` is always a specifier (an exact version becomes ==X)."""

    torch: SpecifierSet
    torch_text: str
    packages: tuple[str, ...]
    python: tuple[str, ...]
    index_url: str
    workflow: str | None  # None: the default for the project's folder in its repository
    targets: tuple[Target, ...]
    file: str
    prefix: str  # "tool.uvtorch" in pyproject.toml, "" in uvtorch.toml
    action: str | None = None  # the composite action the CI jobs use instead of inline steps
    ci_tool: str | None = None  # the requirement `uvx --from` installs uvtorch-ci with in CI
    timeout_minutes: int = DEFAULT_TIMEOUT_MINUTES  # each torch job's timeout-minutes
    # how many folders above the project the repository root is, when the spec says so
    # (`repository-root = "../.."` is 2); None: found with git
    root_depth: int | None = None
    selector: str | None = None  # how a backend is chosen: "markers", "extras"; None: inferred
    default_group: str | None = None  # groups mode: the group a bare `uv sync` installs
    other_platforms: str = "pypi"  # what the platforms no target names get: PyPI or a backend
    # URL prefixes a mirror's pages link files under, besides the mirror's own base
    file_hosts: tuple[str, ...] = ()
    # each package of `packages` built against torch (xformers ...) -> what it gets on a target
    # whose index does not publish it: "pypi", "skip" or "refuse"
    missing_builds: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def exact_torch(self) -> str | None:
        """The pinned torch version when the spec names exactly one."""
        specs = list(self.torch)
        if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
            return specs[0].version
        return None

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name


def parse_spec(
    data: Mapping[str, Any],
    *,
    file: str,
    prefix: str,
    env: Mapping[str, str],
    requires_python: str | None = None,
    default_python: str | None = None,
) -> Spec:
    """Validate the spec table `data` (the contents of [tool.uvtorch] or uvtorch.toml).

    `env` supplies UVTORCH_INDEX_URL; `default_python` is the Python chosen by the plan
    when the spec names none. Structural mistakes raise SpecError; whether the release
    table publishes what the spec asks for is checked by the plan.
    """
    r = Reader(file, prefix)
    r.check_keys(data, TOP_KEYS, "")

    if not isinstance(data.get("torch", ""), str):  # torch = 2.5: a TOML number
        raise r.fail(
            "torch", f"must be a string, not {kind(data['torch'])}", 'quote it: torch = "2.5.0"'
        )
    torch_text = r.string(data, "torch", "torch")
    if torch_text is None:
        raise r.fail("torch", 'missing: the torch version is required, e.g. torch = "2.5.0"')
    torch = _torch_specifier(r, torch_text.strip())

    packages = parse_packages(r, data)
    missing_builds = parse_missing_builds(r, data, packages)

    python = r.strings(data, "python", "python") or ()
    for i, version in enumerate(python):
        if not is_python_version(version):
            raise r.fail(f"python[{i}]", f'{quoted(version)} is not a Python version like "3.12"')
    if len(set(python)) != len(python):
        raise r.fail("python", "lists a Python version twice")
    if requires_python and python:
        _check_requires_python(r, python, requires_python)

    index_url = env.get(INDEX_URL_ENV) or r.string(data, "index-url", "index-url")
    index_url = (index_url or DEFAULT_INDEX_URL).rstrip("/")
    problem = index_url_problem(index_url)
    if problem is not None:
        message = problem[0]
        hint = problem[1] or f"the base of the PyTorch indexes, e.g. {DEFAULT_INDEX_URL}"
        if env.get(INDEX_URL_ENV):  # the environment's value: not a key of the spec file
            raise SpecError(message, where=f"the environment variable {INDEX_URL_ENV}", hint=hint)
        raise r.fail("index-url", message, hint)

    file_hosts = _file_hosts(r, data, env)

    workflow = r.string(data, "workflow", "workflow")  # None: named after the project's folder
    if workflow is not None and not is_workflow_path(workflow):
        raise r.fail(
            "workflow",
            f"{quoted(workflow)} is not a .yml file directly in .github/workflows/: GitHub runs "
            "workflows only from there, at the repository root (not from subfolders of it)",
            f"for example {DEFAULT_WORKFLOW} or .github/workflows/torch-gpu.yml",
        )

    action = r.string(data, "action", "action")
    if action is not None:
        _check_action(r, action)
    ci_tool = r.string(data, "ci-tool", "ci-tool")
    if ci_tool is not None:
        _check_requirement(r, ci_tool)

    timeout = data.get("timeout-minutes", DEFAULT_TIMEOUT_MINUTES)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int)
        or not 1 <= timeout <= MAX_TIMEOUT_MINUTES
    ):
        shown = repr(timeout) if isinstance(timeout, int | float | str) else kind(timeout)
        raise r.fail(
            "timeout-minutes",
            f"must be a whole number of minutes from 1 to {MAX_TIMEOUT_MINUTES}, not {shown}",
            f"e.g. timeout-minutes = 90 (default {DEFAULT_TIMEOUT_MINUTES}; GitHub-hosted "
            "runners stop every job at 360)",
        )

    root = r.string(data, "repository-root", "repository-root")
    if root is not None and not is_repository_root(root):
        raise r.fail(
            "repository-root",
            f"{quoted(root)} is not the project's folder or one above it",
            '"." (the project is the repository) or "..", "../.." ... (default: found with git)',
        )
    root_depth = None if root is None else root.count("..")

    selector = r.string(data, "selector", "selector")
    if selector is not None and selector not in SELECTORS:
        raise r.fail(
            "selector",
            f"unknown selector {quoted(selector)}{did_you_mean(selector, SELECTORS)}; "
            f"{one_of(SELECTORS)}",
        )
    other = r.string(data, "other-platforms", "other-platforms") or "pypi"
    if not is_other_platforms(other):
        raise r.fail(
            "other-platforms",
            f'{quoted(other)} is not "pypi" or a cpu or cuXYZ backend',
            'e.g. other-platforms = "cpu": every platform no target names gets the cpu index',
        )
    default_group = r.string(data, "default-group", "default-group")
    targets = parse_targets(r, data.get("targets"))
    if default_group is not None:
        groups = [t.group or index_backend(t.backend).replace(".", "-") for t in targets]
        if selector != "groups" or default_group not in groups:
            raise r.fail(
                "default-group",
                f"{quoted(default_group)} is not one of the groups that select a backend"
                + ("" if selector == "groups" else ' (it needs selector = "groups")'),
                f"one of: {', '.join(dict.fromkeys(groups))}",
            )
    return Spec(
        torch=torch,
        torch_text=torch_text.strip(),
        packages=packages,
        python=python or ((default_python,) if default_python else ()),
        index_url=index_url,
        workflow=workflow,
        targets=targets,
        file=file,
        prefix=prefix,
        action=action,
        ci_tool=ci_tool,
        timeout_minutes=timeout,
        root_depth=root_depth,
        selector=selector,
        default_group=default_group,
        other_platforms=other,
        file_hosts=file_hosts,
        missing_builds=missing_builds,
    )


def _file_hosts(r: Reader, data: Mapping[str, Any], env: Mapping[str, str]) -> tuple[str, ...]:
    """`file-hosts` (or UVTORCH_FILE_HOSTS, space- or comma-separated): the URL prefixes, or bare
    hosts (https), a mirror's pages link files under; each normalised to a URL prefix."""
    from_env = env.get(FILE_HOSTS_ENV)
    if from_env is not None:
        items = tuple(item for item in re.split(r"[\s,]+", from_env) if item)
    else:
        items = r.strings(data, "file-hosts", "file-hosts") or ()
    out = []
    for i, item in enumerate(items):
        url = item if "://" in item else f"https://{item}"
        problem = index_url_problem(url)
        if problem is None and not URL_PREFIX.fullmatch(url):
            problem = (f"{quoted(item)} is not a host or an http(s) URL prefix", "")
        if problem is not None:
            hint = problem[1] or 'e.g. file-hosts = ["https://download-r2.pytorch.org/whl"]'
            if from_env is not None:
                raise SpecError(
                    problem[0], where=f"the environment variable {FILE_HOSTS_ENV}", hint=hint
                )
            raise r.fail(f"file-hosts[{i}]", problem[0], hint)
        out.append(url.rstrip("/"))
    return tuple(dict.fromkeys(out))


URL_PREFIX = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%+-]+)*/?")

ACTION_HINT = 'e.g. "my-org/uvtorch-ci@<40-hex commit sha>" or "./" for this repository'


def _check_action(r: Reader, action: str) -> None:
    if not is_action_ref(action):
        raise r.fail("action", f"{quoted(action)} is not an action reference", ACTION_HINT)
    if action.startswith("./"):
        inside = posixpath.normpath(action)
        if inside == ".." or inside.startswith("../"):
            raise r.fail(
                "action",
                f"{action!r} leads outside the workspace: a ./ reference is a folder of "
                "the repository the workflow runs in",
                "name a folder inside the repository, or OWNER/REPO@<commit sha>",
            )


def unpinned_action(spec: Spec) -> str | None:
    """Why the spec's `action` is not pinned to a commit, or None when it is (or is local)."""
    action = spec.action
    if action is None or action.startswith("./"):
        return None
    ref = action.rsplit("@", 1)[1]
    if is_commit(ref):
        return None
    return (
        f"{action!r} is not pinned to a commit: @{ref} can be moved to other code "
        "(zizmor: unpinned-uses)"
    )


CI_TOOL_HINT = (
    'e.g. "uvtorch-ci==0.1.0" or "uvtorch-ci@git+https://github.com/org/uvtorch-ci@<sha>"'
)


def _check_requirement(r: Reader, text: str) -> None:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise r.fail("ci-tool", f"{text!r} is not a requirement: {error}", CI_TOOL_HINT) from None
    if canonicalize_name(requirement.name) != "uvtorch-ci" or re.search(
        r"[\s\"'`$\\;]", text.replace(" @ ", "@")
    ):
        raise r.fail(
            "ci-tool",
            f"{text!r} must name uvtorch-ci and hold no quotes, spaces or shell characters",
            CI_TOOL_HINT,
        )


def _torch_specifier(r: Reader, text: str) -> SpecifierSet:
    if "+" in text:
        raise r.fail(
            "torch",
            f"{quoted(text)} carries a local tag; the tag differs per platform and uvtorch-ci "
            "picks it",
            f'write the plain version, e.g. "{text.split("+")[0]}"',
        )
    try:
        Version(text)
    except InvalidVersion:
        pass
    else:
        return SpecifierSet(f"=={text}")
    try:
        specifier = SpecifierSet(text)
    except InvalidSpecifier:
        raise r.fail(
            "torch",
            f"{quoted(text)} is neither a version nor a PEP 440 specifier",
            'e.g. "2.5.0" or ">=2.5,<2.6"',
        ) from None
    if not len(specifier):
        raise r.fail("torch", "is empty", 'e.g. "2.5.0" or ">=2.5,<2.6"')
    return specifier


def _check_requires_python(r: Reader, python: tuple[str, ...], requires_python: str) -> None:
    try:
        allowed = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return  # pyproject's own validity is uv's concern; the plan reports what it can
    for i, version in enumerate(python):
        if not allowed.contains(Version(version + ".0"), prereleases=True) and not allowed.contains(
            Version(version + ".99"), prereleases=True
        ):
            raise r.fail(
                f"python[{i}]",
                f"Python {version} is outside the project's requires-python ({requires_python})",
            )
