"""Where the generated check job gets uvtorch-ci: this very copy of the tool, as a requirement
for `uvx --from`, so that CI runs `render --check` and `verify` with the code that rendered
the workflow, and no release has to exist beyond the one this copy came from.

- Installed from a git repository (`uv tool install git+https://github.com/OWNER/uvtorch-ci`,
  uvx alike): that repository at the exact commit, from the install's record (PEP 610's
  direct_url.json).
- Installed from an index (PyPI): that release, `uvtorch-ci==VERSION`.
- Run from a checkout (an editable install, a local folder or wheel): the repository's tag of
  its version, `vVERSION`, which the release workflow is started by.

CI installs the requirement and renders with it; that copy then names the same requirement
(a git install of a commit records that commit), so the workflow it renders is the same.
"""

from __future__ import annotations

import json
import os
import re

from .. import __version__
from ..resources import REPOSITORY, dist_info_folder

NAME = "uvtorch-ci"
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# an https repository without credentials (user:token@) or anything a requirement would parse
_PUBLIC_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~%+-]+)+/?")


def tool_requirement(dist_info: str | None = None, version: str = __version__) -> str:
    """The requirement that installs this copy, from its metadata folder (default: the one
    beside the package)."""
    folder = dist_info if dist_info is not None else dist_info_folder(version)
    tagged = f"{NAME} @ git+{REPOSITORY}@v{version}"
    if not os.path.isdir(folder):
        return tagged
    record = os.path.join(folder, "direct_url.json")
    if not os.path.isfile(record):
        return f"{NAME}=={version}"
    try:
        with open(record, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError):
        return tagged
    if not isinstance(data, dict) or not isinstance(data.get("vcs_info"), dict):
        return tagged  # a local folder, wheel or archive: nothing CI can fetch
    url, vcs = data.get("url"), data["vcs_info"]
    commit = vcs.get("commit_id")
    if vcs.get("vcs") != "git" or not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
        return tagged
    if not isinstance(url, str) or not _PUBLIC_URL.fullmatch(url):
        return tagged  # a clone on this machine, or a URL with credentials: not for CI
    return f"{NAME} @ git+{url}@{commit}"
