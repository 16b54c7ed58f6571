"""`python -m bizra_desktop` runs the command line."""

import sys

from bizra_desktop.main import main

sys.exit(main())
