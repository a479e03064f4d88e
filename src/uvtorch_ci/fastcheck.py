"""`render --check` without rendering: "up to date" from a digest of every input and output.

When a full render finds (or leaves) every output current, it records the sha256 of all it
read and wrote: the pyproject text, the spec file, UVTORCH_INDEX_URL, the generated files as
they are on disk, and the tool's own table, templates and smoke check. Rendering is
deterministic, so when the same digest comes up again nothing would change, and the command
answers before importing jinja2, tomlkit or packaging. The record is an empty file named by
the digest in the user's cache folder; nothing in the project is written. Anything
unexpected means a full render decides.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from pathlib import Path

from .fingerprint import package_digest

DEFAULT_WORKFLOW = ".github/workflows/torch.yml"
SMOKE_PATH = ".github/uvtorch/smoke.py"
CACHE_ENV = "UVTORCH_CI_CACHE_DIR"  # "" or "off" turns the cache off
KEEP = 512  # records kept; older ones are pruned


def cache_dir(env: Mapping[str, str]) -> Path | None:
    chosen = env.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen in ("", "off") else Path(chosen)
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".cache")
    return Path(base) / "uvtorch-ci"


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def state_digest(project_dir: Path, spec_file: Path | None, env: Mapping[str, str]) -> str | None:
    """The digest of every input and output of a render of this project, or None."""
    pyproject_text = _read(project_dir / "pyproject.toml")
    if pyproject_text is None:
        return None
    try:
        spec_path = spec_file
        if spec_path is None and "uvtorch" not in tomllib.loads(pyproject_text).get("tool", {}):
            spec_path = project_dir / "uvtorch.toml"
        spec_text = _read(spec_path) if spec_path is not None else None
        if spec_path is not None and spec_text is None:
            return None
        spec = (
            tomllib.loads(spec_text)
            if spec_text is not None
            else tomllib.loads(pyproject_text)["tool"]["uvtorch"]
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError):
        return None
    workflow = spec.get("workflow", DEFAULT_WORKFLOW) if isinstance(spec, dict) else None
    if not isinstance(workflow, str):
        return None
    generated = [project_dir / workflow]
    if spec.get("action") is None:
        generated.append(project_dir / SMOKE_PATH)
    parts = [
        package_digest(),
        str(project_dir.resolve()),
        str(spec_path.resolve()) if spec_path is not None else "",
        env.get("UVTORCH_INDEX_URL", ""),
        pyproject_text,
        spec_text or "",
    ]
    for path in generated:
        text = _read(path)
        if text is None:
            return None
        parts.append(text)
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8")
        hasher.update(len(data).to_bytes(8, "big") + data)
    return hasher.hexdigest()


def up_to_date(project_dir: Path, spec_file: Path | None, env: Mapping[str, str]) -> bool:
    """True when a render with exactly these inputs and outputs already found nothing to do."""
    folder = cache_dir(env)
    if folder is None:
        return False
    key = state_digest(project_dir, spec_file, env)
    return key is not None and (folder / key).is_file()


def remember(project_dir: Path, spec_file: Path | None, env: Mapping[str, str]) -> None:
    """Record that the project's outputs are current (after a render found or made them so)."""
    folder = cache_dir(env)
    key = state_digest(project_dir, spec_file, env) if folder is not None else None
    if folder is None or key is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / key).touch()
        records = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
        for old in records[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written only costs speed
