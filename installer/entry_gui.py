"""Frozen entry point of `BIZRA Desktop` (the windowed executable; build.spec freezes it).

`multiprocessing.freeze_support()` comes first (after frozen_startup.py makes sure the
standard streams exist and no installed GPU toolkit is used), before anything else is
imported: the inference host is started with the "spawn" method, which re-runs this executable
with `--multiprocessing-fork` (and, on Linux and macOS, once more for the resource tracker);
those runs must turn into the child process at once, without loading Qt or opening a window.
"""

import multiprocessing
import sys

from frozen_startup import prepare_process

if __name__ == "__main__":
    prepare_process()
    multiprocessing.freeze_support()

    from bizra_desktop.gui import main

    sys.exit(main())
