"""The `uvtorch-ci` entry point: answers the cheapest questions before loading the CLI.

`--version` and an up-to-date `render --check` (see fastcheck.py) need neither click nor the
rendering stack; everything else goes to main.py.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing itself would load re and collections
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from .. import __version__

        print(f"uvtorch-ci, version {__version__}")
        return 0
    if args[:1] == ["render"]:
        from .fastcheck import main as fast_main

        answer = fast_main(args)
        if answer is not None:
            return answer
    from .main import main as cli_main

    return cli_main(args)
