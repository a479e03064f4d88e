"""Wheels of distributions installed in this environment, for a runner without a network:
the tool's dependencies (the check-mode action's `uv run --with`), its build backend (`uvx
--from` a checkout of it, `uv build`) and the release's checkers, served to uv as find-links."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import re
import zipfile
from pathlib import Path


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def installed_closure(names: list[str]) -> list[str]:
    """The named distributions and everything they require here, as installed (markers
    evaluated for this interpreter, no extras): what uv would resolve for them."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: dict[str, None] = {}
    pending = [canonicalize_name(name) for name in names]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen[name] = None
        for text in importlib.metadata.distribution(name).requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    return sorted(seen)


def repack_installed(names: list[str], folder: Path) -> Path:
    """Wheels of the named distributions as installed in this environment (their RECORDed
    files, their WHEEL's tags), in `folder`: a find-links folder uv installs from when
    the check-mode action asks for the tool's dependencies and there is no PyPI to ask."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        dist = importlib.metadata.distribution(name)
        tags = [
            line.split(":", 1)[1].strip().split("-")
            for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")
        ]
        # the compressed tag set of the file name: py2.py3-none-any
        tag = "-".join(".".join(dict.fromkeys(part[i] for part in tags)) for i in range(3))
        stem = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
        target = folder / f"{stem}-{dist.version}-{tag}.whl"
        entries: list[tuple[str, bytes]] = []
        record_name = ""
        for file in dist.files or []:
            relative = str(file)
            if relative.endswith(".pyc") or relative.startswith(".."):
                continue
            if relative.endswith(".dist-info/RECORD"):
                record_name = relative
                continue
            entries.append((relative, Path(str(dist.locate_file(file))).read_bytes()))
        record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in entries)
        entries.append((record_name, (record + f"{record_name},,\n").encode()))
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, data in entries:
                archive.writestr(path, data)
    return folder
