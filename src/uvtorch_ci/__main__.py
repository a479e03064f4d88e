"""`python -m uvtorch_ci`: the same as the `uvtorch-ci` command."""

import sys

from .entry import main

sys.exit(main())
