"""Frozen entry point of `bizra` (the console executable beside the windowed one).

`multiprocessing.freeze_support()` comes first (after frozen_startup.py), for the same
reason as in entry_gui.py: `bizra ask` starts the inference host as a spawned child of this
executable.
"""

import multiprocessing
import sys

from frozen_startup import prepare_process

if __name__ == "__main__":
    prepare_process()
    multiprocessing.freeze_support()

    from bizra_desktop.main import main

    sys.exit(main())
