"""Pure: one validator per kind of value the spec and init's flags hold, each matching the
whole value (fullmatch: `re.match(r"^...$")` lets a final newline through, and
"ubuntu-latest\\n" is then a runner no job ever finds).

Takes a value's text; gives whether it is one of its kind (or, for an index URL, what is
wrong with it). The spec reader, its targets and init all check through these.
"""

from __future__ import annotations

import json
import re

from ..redaction import redact_url
from ..releases.table import BACKEND_PATTERN

PYTHON_VERSION = re.compile(r"3\.[0-9]{1,2}")
# an NVIDIA compute capability as nvidia-smi's compute_cap writes it: "7.5", "12.0"
COMPUTE_CAPABILITY = re.compile(r"[1-9][0-9]?\.[0-9]")
# Names and runner labels end up in YAML and in shell environments: a charset that needs no
# quoting anywhere.
TARGET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
RUNNER_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# GitHub reads workflows only from .github/workflows/ at the repository root, not below it
WORKFLOW_PATH = re.compile(r"\.github/workflows/[A-Za-z0-9._-]+\.ya?ml")
COMMIT = re.compile(r"[0-9a-f]{40}")
REPOSITORY_ROOT = re.compile(r"(\.|\.\.(/\.\.)*)/?")
ACTION_REF = re.compile(
    r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[A-Za-z0-9_./-]+|\./[A-Za-z0-9_./-]*"
)
# An extra's or a dependency group's name as PEP 685 normalizes it: what uv's `--extra`,
# `--group` and conflicts compare.
EXTRA_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?")
OTHER_PLATFORMS = re.compile(r"pypi|cpu|cu[0-9]{3}")
# PEP 508's name (what uv parses in [project].name)
PROJECT_NAME = re.compile(r"[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]")
URL = re.compile(r"(https?|file)://[^\s\"'`$\\]+")


def is_python_version(text: str) -> bool:
    """A CI Python: "3.12" (minor versions only)."""
    return PYTHON_VERSION.fullmatch(text) is not None


def is_backend(text: str) -> bool:
    """A backend's spelling: cpu, mps, xpu, cuXYZ or rocmX.Y (whether it exists is the
    release table's question)."""
    return BACKEND_PATTERN.fullmatch(text) is not None


def is_compute_capability(text: str) -> bool:
    """An NVIDIA GPU's compute capability: "7.5", "12.0"."""
    return COMPUTE_CAPABILITY.fullmatch(text) is not None


def is_target_name(text: str) -> bool:
    return TARGET_NAME.fullmatch(text) is not None


def is_runner_label(text: str) -> bool:
    return RUNNER_LABEL.fullmatch(text) is not None


def is_workflow_path(text: str) -> bool:
    """A .yml or .yaml file directly in .github/workflows/ (relative to the repository root)."""
    return WORKFLOW_PATH.fullmatch(text) is not None


def is_commit(text: str) -> bool:
    """A full 40-hex commit sha, the only action reference that cannot be moved."""
    return COMMIT.fullmatch(text) is not None


def is_repository_root(text: str) -> bool:
    """The project's folder or one above it: ".", "..", "../.." ..."""
    return REPOSITORY_ROOT.fullmatch(text) is not None


def is_action_ref(text: str) -> bool:
    """owner/repo[/path]@ref, or ./path for an action of this repository."""
    return ACTION_REF.fullmatch(text) is not None


def is_extra_name(text: str) -> bool:
    """A normalized extra or dependency-group name: lowercase letters, digits and '-'."""
    return EXTRA_NAME.fullmatch(text) is not None


def is_other_platforms(text: str) -> bool:
    """What the platforms no target names get: "pypi", or the cpu or a cuXYZ index."""
    return OTHER_PLATFORMS.fullmatch(text) is not None


def is_project_name(text: str) -> bool:
    return PROJECT_NAME.fullmatch(text) is not None


CREDENTIALS_HINT = (
    "give uv the credentials instead, where they are never committed: "
    "UV_INDEX_<NAME>_USERNAME and UV_INDEX_<NAME>_PASSWORD (NAME: the index's name in "
    "upper case, - as _, e.g. UV_INDEX_PYTORCH_CU124_PASSWORD), a netrc file, or keyring "
    "(--keyring-provider)"
)


def index_url_problem(url: str) -> tuple[str, str] | None:
    """What makes `url` unusable as the base of the PyTorch indexes, as (message, hint), or
    None. The message never holds a secret (see redaction.redact_url): uvtorch-ci writes
    this URL into pyproject.toml, which is committed, and uv keeps credentials out of
    uv.lock, so a lock made with such a URL would look stale forever."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        credentials = parts.username is not None or parts.password is not None
    except ValueError:  # an invalid IPv6 host, a bad port
        parts, credentials = None, False
    if (
        credentials
        or "@" in url.partition("://")[2].partition("/")[0]
        or (parts is None and "@" in url)
    ):
        return (
            f"{_quoted(redact_url(url))} holds credentials; "
            "they would be written into pyproject.toml",
            CREDENTIALS_HINT,
        )
    if "?" in url or "#" in url:
        return (
            f"{_quoted(redact_url(url))} has a query or a fragment; the index of each backend is "
            "<index-url>/<backend>, so there is nowhere for one to go",
            "give the URL without ?... or #...; credentials go to uv's own settings",
        )
    if URL.fullmatch(url) is None or parts is None or not url.isprintable():
        return f"{_quoted(redact_url(url))} is not an http(s) or file URL", ""
    return None


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


MISSING_BUILDS = ("pypi", "skip", "refuse")


def is_missing_builds(text: str) -> bool:
    """What a package gets on a target whose PyTorch index does not publish it: "pypi"
    (PyPI's build there), "skip" (not installed there) or "refuse" (render stops)."""
    return text in MISSING_BUILDS
