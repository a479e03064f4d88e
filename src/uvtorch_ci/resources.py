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

# what render writes in a project, relative to its root
DEFAULT_WORKFLOW = ".github/workflows/torch.yml"
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
