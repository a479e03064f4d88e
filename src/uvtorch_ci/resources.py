"""Where things are: the tool's own files (templates, release table, smoke check) and the paths
it writes inside a project. The one accessor for both, so no stage works out a path itself.

Only os here: the fast `render --check` (commands/fastcheck.py) needs these names too, and
must not pay for importing pathlib.
"""

from __future__ import annotations

import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
TABLE_FILE = os.path.join(PACKAGE_DIR, "data", "releases.toml")
SMOKE_FILE = os.path.join(PACKAGE_DIR, "smoke.py")

# what render writes in a project, relative to its root (a project in a subfolder of its
# repository gets a workflow named after the folder: github/workflow.py)
DEFAULT_WORKFLOW = ".github/workflows/torch.yml"

# the tool's own repository: the generated check job installs a copy run from a checkout of
# it from the release tag of its version (pyproject.toml's [project.urls] says the same, and
# the release workflow refuses to publish from any other repository)
REPOSITORY = "https://github.com/OWNER/uvtorch-ci"


def dist_info_folder(version: str) -> str:
    """Where an installed copy's metadata is: beside the package in site-packages. A source
    tree (an editable install, a checkout on PYTHONPATH) has none there."""
    return os.path.join(os.path.dirname(PACKAGE_DIR), f"uvtorch_ci-{version}.dist-info")


SMOKE_PATH = ".github/uvtorch/smoke.py"


def templates_folder() -> str:
    """The templates folder: inside the wheel, or the repository's top-level templates/."""
    packaged = os.path.join(PACKAGE_DIR, "templates")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(os.path.dirname(os.path.dirname(PACKAGE_DIR)), "templates")


def smoke_source() -> str:
    """The standalone smoke check's text, as the workflow's copy carries it."""
    with open(SMOKE_FILE, encoding="utf-8") as file:
        return file.read()
