"""`python -m uvtorch_ci`: the same as the `uvtorch-ci` command."""

import sys

from .commands.entry import main

sys.exit(main())
