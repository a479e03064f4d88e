"""Read and validate the spec ([tool.uvtorch] or uvtorch.toml) into frozen dataclasses: the
top-level keys here, its [[targets]] tables in targets.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import SpecError, did_you_mean, one_of
from ..releases.table import COMPANIONS, index_backend
from ..resources import DEFAULT_WORKFLOW
from .reader import Reader, kind
from .targets import Target, parse_targets

DEFAULT_INDEX_URL = "https://download.pytorch.org/whl"
INDEX_URL_ENV = "UVTORCH_INDEX_URL"

TOP_KEYS = (
    "torch",
    "packages",
    "python",
    "index-url",
    "workflow",
    "action",
    "ci-tool",
    "selector",
    "default-group",
    "other-platforms",
    "targets",
)
SELECTORS = ("markers", "extras", "groups")
ACTION_REF = re.compile(
    r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[A-Za-z0-9_./-]+|\./[A-Za-z0-9_./-]*)$"
)
PYTHON_VERSION = re.compile(r"^3\.[0-9]{1,2}$")


@dataclass(frozen=True)
class Spec:
    """The validated spec. `torch` is always a specifier (an exact version becomes ==X)."""

    torch: SpecifierSet
    torch_text: str
    packages: tuple[str, ...]
    python: tuple[str, ...]
    index_url: str
    workflow: str
    targets: tuple[Target, ...]
    file: str
    prefix: str  # "tool.uvtorch" in pyproject.toml, "" in uvtorch.toml
    action: str | None = None  # the composite action the CI jobs use instead of inline steps
    ci_tool: str | None = None  # the requirement `uvx --from` installs uvtorch-ci with in CI
    selector: str | None = None  # how a backend is chosen: "markers", "extras"; None: inferred
    default_group: str | None = None  # groups mode: the group a bare `uv sync` installs
    other_platforms: str = "pypi"  # what the platforms no target names get: PyPI or a backend

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

    packages = r.strings(data, "packages", "packages") or ()
    for i, package in enumerate(packages):
        if package not in COMPANIONS:
            hint = "torch itself is always installed" if package == "torch" else ""
            suggestion = "" if package == "torch" else did_you_mean(package, COMPANIONS)
            raise r.fail(
                f"packages[{i}]",
                f'unknown companion "{package}"{suggestion}; {one_of(COMPANIONS)}',
                hint,
            )
    if len(set(packages)) != len(packages):
        raise r.fail("packages", "lists a companion twice")

    python = r.strings(data, "python", "python") or ()
    for i, version in enumerate(python):
        if not PYTHON_VERSION.match(version):
            raise r.fail(f"python[{i}]", f'"{version}" is not a Python version like "3.12"')
    if len(set(python)) != len(python):
        raise r.fail("python", "lists a Python version twice")
    if requires_python and python:
        _check_requires_python(r, python, requires_python)

    index_url = env.get(INDEX_URL_ENV) or r.string(data, "index-url", "index-url")
    index_url = (index_url or DEFAULT_INDEX_URL).rstrip("/")
    if not re.match(r"^(https?|file)://[^\s\"'`$\\]+$", index_url):
        message = f'"{index_url}" is not an http(s) or file URL'
        hint = f"the base of the PyTorch indexes, e.g. {DEFAULT_INDEX_URL}"
        if env.get(INDEX_URL_ENV):  # the environment's value: not a key of the spec file
            raise SpecError(message, where=f"the environment variable {INDEX_URL_ENV}", hint=hint)
        raise r.fail("index-url", message, hint)

    workflow = r.string(data, "workflow", "workflow") or DEFAULT_WORKFLOW
    if (
        workflow.startswith(("/", "\\"))
        or ".." in workflow.split("/")
        or not re.match(r"^[A-Za-z0-9._/-]+\.ya?ml$", workflow)
    ):
        raise r.fail(
            "workflow",
            f'"{workflow}" is not a relative path to a .yml file inside the project',
            f"for example {DEFAULT_WORKFLOW}",
        )

    action = r.string(data, "action", "action")
    if action is not None and not ACTION_REF.match(action):
        raise r.fail(
            "action",
            f"{action!r} is not an action reference",
            'e.g. "my-org/uvtorch-action@<commit sha>" or "./" for this repository',
        )
    ci_tool = r.string(data, "ci-tool", "ci-tool")
    if ci_tool is not None:
        _check_requirement(r, ci_tool)

    selector = r.string(data, "selector", "selector")
    if selector is not None and selector not in SELECTORS:
        raise r.fail(
            "selector",
            f'unknown selector "{selector}"{did_you_mean(selector, SELECTORS)}; '
            f"{one_of(SELECTORS)}",
        )
    other = r.string(data, "other-platforms", "other-platforms") or "pypi"
    if other != "pypi" and not re.match(r"^(cpu|cu[0-9]{3})$", other):
        raise r.fail(
            "other-platforms",
            f'"{other}" is not "pypi" or a cpu or cuXYZ backend',
            'e.g. other-platforms = "cpu": every platform no target names gets the cpu index',
        )
    default_group = r.string(data, "default-group", "default-group")
    targets = parse_targets(r, data.get("targets"))
    if default_group is not None:
        groups = [t.group or index_backend(t.backend).replace(".", "-") for t in targets]
        if selector != "groups" or default_group not in groups:
            raise r.fail(
                "default-group",
                f'"{default_group}" is not one of the groups that select a backend'
                + ("" if selector == "groups" else ' (it needs selector = "groups")'),
                f"one of: {', '.join(dict.fromkeys(groups))}",
            )
    return Spec(
        torch=torch,
        torch_text=torch_text.strip(),
        packages=tuple(p for p in COMPANIONS if p in packages),
        python=python or ((default_python,) if default_python else ()),
        index_url=index_url,
        workflow=workflow,
        targets=targets,
        file=file,
        prefix=prefix,
        action=action,
        ci_tool=ci_tool,
        selector=selector,
        default_group=default_group,
        other_platforms=other,
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
            f'"{text}" carries a local tag; the tag differs per platform and uvtorch-ci picks it',
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
            f'"{text}" is neither a version nor a PEP 440 specifier',
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
