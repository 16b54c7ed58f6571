"""First thing both frozen executables do, before `multiprocessing.freeze_support()`.

Standard streams: a windowed Windows executable, and the inference host it spawns, start
without standard handles: file descriptors 0, 1 and 2 are closed and sys.stdout/sys.stderr are
None. llama-cpp-python silences llama.cpp by dup()-ing descriptors 1 and 2 onto os.devnull,
which fails on a closed descriptor, or, once some file has taken the lowest free number,
silently redirects that file instead. Pointing every closed standard descriptor at os.devnull
first makes both impossible. A process started from a console or with pipes is left as it is.

GPU toolkits: the bundle carries the GPU runtime its llama.cpp build links (the CUDA variant:
cudart, cuBLAS). On Windows, importing llama_cpp adds the folders named by CUDA_PATH and
HIP_PATH to the DLL search, and raises FileNotFoundError when such a variable outlived the
toolkit it named: the app would not start. The frozen app forgets both variables and runs on
what it ships; the inference host, a spawned child, inherits the environment without them.
"""

import os
import sys

TOOLKIT_VARIABLES = ("CUDA_PATH", "HIP_PATH")


def prepare_process() -> None:
    ensure_standard_streams()
    for name in TOOLKIT_VARIABLES:
        os.environ.pop(name, None)


def ensure_standard_streams() -> None:
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if sys.stdout is None:
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
