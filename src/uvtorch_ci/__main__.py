"""`python -m uvtorch_ci`: the same as the `uvtorch-ci` command."""

import sys

from .cli import main

sys.exit(main())
