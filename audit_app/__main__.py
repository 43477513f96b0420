"""`python -m audit_app` is the same as the `tucano-audit` console script (jobs use it)."""

import sys

from audit_app.cli import main

sys.exit(main())
