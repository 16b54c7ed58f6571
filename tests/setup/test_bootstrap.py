"""scripts/bootstrap.py's checks of what pip cannot install, pointed at a PATH and an ldd we
control (the machine itself is never changed)."""

from __future__ import annotations

import importlib.util
import stat
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bootstrap() -> ModuleType:
    # scripts/ is a folder of scripts, not a package: load the file.
    spec = importlib.util.spec_from_file_location("bootstrap", ROOT / "scripts" / "bootstrap.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("library", "package"),
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
    ],
)
def test_a_library_is_named_by_its_debian_package(
    bootstrap: ModuleType, library: str, package: str
) -> None:
    assert bootstrap.debian_package(library) == package


def _fake_ldd(folder: Path, output: str) -> str:
    script = folder / "ldd"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_the_missing_libraries_of_a_plugin_come_from_ldd(
    bootstrap: ModuleType, tmp_path: Path
) -> None:
    ldd = _fake_ldd(
        tmp_path,
        "\tlibQt6Gui.so.6 => /opt/qt/libQt6Gui.so.6 (0x1)\n"
        "\tlibxcb-icccm.so.4 => not found\n"
        "\tlibxcb-keysyms.so.1 => not found\n"
        "\tlibxcb-icccm.so.4 => not found",
    )
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    assert bootstrap.missing_libraries(plugin, ldd) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert bootstrap.missing_libraries(plugin, str(tmp_path / "no-such-ldd")) == []


def test_without_root_a_missing_package_stops_with_one_line(bootstrap: ModuleType) -> None:
    with pytest.raises(SystemExit) as stopped:
        bootstrap.ensure_packages(["libxcb-icccm4", "libxcb-keysyms1"], "Qt needs them", False)
    message = str(stopped.value)
    assert "\n" not in message
    assert "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1" in message
    bootstrap.ensure_packages([], "nothing missing", False)  # nothing to do, no exit


def test_a_missing_makensis_is_named_with_its_install_command(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bootstrap, "_can_install", lambda: False)
    with pytest.raises(SystemExit) as stopped:
        bootstrap.ensure_makensis(path=str(tmp_path))  # a PATH without makensis
    assert "nsis" in str(stopped.value) and "\n" not in str(stopped.value)
    tool = tmp_path / "makensis"
    tool.write_text("#!/bin/sh\n", encoding="utf-8")
    tool.chmod(0o755)
    bootstrap.ensure_makensis(path=str(tmp_path))  # found: nothing to do


def _fake_tool(folder: Path, name: str) -> None:
    tool = folder / name
    tool.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)


def test_a_compiler_is_a_c_and_a_cpp_compiler_on_path(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.delenv("CXX", raising=False)
    _fake_tool(tmp_path, "gcc")
    assert not bootstrap.has_compiler(path=str(tmp_path))  # C only: llama.cpp needs C++ too
    _fake_tool(tmp_path, "g++")
    assert bootstrap.has_compiler(path=str(tmp_path))
    monkeypatch.setenv("CXX", "clang++ -stdlib=libc++")  # CMake uses $CXX alone when it is set
    assert not bootstrap.has_compiler(path=str(tmp_path))


def test_a_missing_compiler_stops_before_pip_with_one_line(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bootstrap, "_can_install", lambda: False)
    monkeypatch.setattr(bootstrap, "_llama_cpp_needs_building", lambda python: True)
    with pytest.raises(SystemExit) as stopped:
        bootstrap.ensure_compiler(Path("python"), path=str(tmp_path))  # a PATH without compilers
    message = str(stopped.value)
    assert "\n" not in message
    assert "sudo apt-get install -y build-essential" in message
    # Once llama-cpp-python is installed (or its wheel is cached) no compiler is needed.
    monkeypatch.setattr(bootstrap, "_llama_cpp_needs_building", lambda python: False)
    bootstrap.ensure_compiler(Path("python"), path=str(tmp_path))


def test_an_installed_llama_cpp_needs_no_compiler(bootstrap: ModuleType) -> None:
    # This suite runs inside the set-up's own environment, where llama-cpp-python is installed.
    assert not bootstrap._llama_cpp_needs_building(Path(sys.executable))


def test_the_installed_llama_cpp_decodes_a_batch_without_crashing(bootstrap: ModuleType) -> None:
    # The real probe on this environment's build: after the set-up, llama.cpp runs here.
    assert bootstrap.engine_crash(Path(sys.executable)) is None


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_probe_killed_by_a_signal_is_a_crash(bootstrap: ModuleType) -> None:
    segfault = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    assert bootstrap.engine_crash(Path(sys.executable), segfault) == "signal 11"


def test_a_python_error_in_the_probe_stops_with_its_message(bootstrap: ModuleType) -> None:
    # Not a crash: rebuilding llama.cpp would not mend it, so the set-up says what it is.
    said = r"cannot run the starter model: ValueError: no such model$"
    with pytest.raises(SystemExit, match=said):
        bootstrap.engine_crash(Path(sys.executable), "raise ValueError('no such model')")


def test_a_crashing_build_is_rebuilt_portable_and_replaces_the_cached_wheel(
    bootstrap: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rebuild itself takes minutes and runs for real only on a machine where the native
    # build crashes; here pip is recorded and the probe crashes once, then runs.
    commands: list[tuple[str, ...]] = []
    flags: list[str | None] = []

    def run(*command: str | Path, env: dict[str, str] | None = None) -> int:
        commands.append(tuple(str(part) for part in command[1:]))
        flags.append((env or {}).get("CMAKE_ARGS"))
        return 0

    probes = iter(["signal 11", None])
    monkeypatch.setattr(bootstrap, "_run", run)
    monkeypatch.setattr(bootstrap, "engine_crash", lambda python: next(probes))
    bootstrap.ensure_engine_runs(Path(sys.executable), {"CMAKE_ARGS": "-DGGML_BLAS=ON"})
    import llama_cpp  # noqa: PLC0415 - the version the rebuild must keep

    assert commands == [
        ("-m", "pip", "cache", "remove", "llama_cpp_python"),
        (
            "-m",
            "pip",
            "install",
            "--quiet",
            "--force-reinstall",
            "--no-deps",
            f"llama-cpp-python=={llama_cpp.__version__}",
        ),
    ]
    assert flags[1] == "-DGGML_BLAS=ON -DGGML_NATIVE=OFF"


def test_a_build_that_crashes_even_portable_stops_with_one_line(
    bootstrap: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bootstrap, "_run", lambda *command, env=None: 0)
    monkeypatch.setattr(bootstrap, "engine_crash", lambda python: "signal 4")
    with pytest.raises(SystemExit, match="crashes on this machine even when built portable"):
        bootstrap.ensure_engine_runs(Path(sys.executable), {})


def _fake_tools(folder: Path, *names: str) -> str:
    """A PATH of one folder that holds these tools."""
    folder.mkdir()
    for name in names:
        _fake_tool(folder, name)
    return str(folder)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Wine test runs on Linux")
def test_a_missing_wine_is_named_with_its_packages(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bootstrap, "_can_install", lambda: False)
    no_loader = tmp_path / "no-wine64"
    with pytest.raises(SystemExit) as stopped:
        bootstrap.ensure_wine(path=_fake_tools(tmp_path / "empty"), debian_wine64=no_loader)
    message = str(stopped.value)
    assert "\n" not in message
    assert "sudo apt-get install -y wine wine64 xvfb xauth" in message
    # Only what is missing is named: here the 64-bit loader and the virtual display.
    wine_only = _fake_tools(tmp_path / "wine-only", "wine")
    with pytest.raises(SystemExit) as stopped:
        bootstrap.ensure_wine(path=wine_only, debian_wine64=no_loader)
    assert "sudo apt-get install -y wine64 xvfb xauth" in str(stopped.value)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Wine test runs on Linux")
def test_wine_with_a_64_bit_loader_and_a_virtual_display_is_enough(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bootstrap, "_can_install", lambda: False)
    # WineHQ's packages put wine64 on PATH.
    winehq = _fake_tools(tmp_path / "winehq", "wine", "wine64", "xvfb-run", "xauth")
    bootstrap.ensure_wine(path=winehq, debian_wine64=tmp_path / "no-wine64")
    # Debian's keep it off PATH, where Debian's `wine` script looks for it.
    debian = _fake_tools(tmp_path / "debian", "wine", "xvfb-run", "xauth")
    _fake_tool(tmp_path, "wine64")
    bootstrap.ensure_wine(path=debian, debian_wine64=tmp_path / "wine64")


def test_python_without_ensurepip_is_named_before_the_venv_fails(
    bootstrap: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Debian's python3 without python3-venv: venv would stop half-way about ensurepip.
    monkeypatch.setattr(bootstrap, "_can_install", lambda: False)
    monkeypatch.setattr(bootstrap.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit) as stopped:
        bootstrap.ensure_venv_support()
    assert str(stopped.value) == (
        "BIZRA Desktop needs python3-venv (Python needs it to make the virtual environment); "
        "install with: sudo apt-get install -y python3-venv"
    )


def test_qt_is_checked_for_the_platform_it_will_draw_on(
    bootstrap: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyside = Path("/venv/PySide6")
    assert bootstrap.qt_files(pyside, "offscreen")[0] == (
        pyside / "Qt" / "plugins" / "platforms" / "libqoffscreen.so"
    )
    # A fresh minimal Debian lacks libEGL even for offscreen windows (the tests' windows).
    looked_at: list[str] = []

    def ldd_says(path: Path, ldd: str = "ldd") -> list[str]:
        looked_at.append(path.name)
        return ["libEGL.so.1"]

    monkeypatch.setattr(bootstrap, "missing_libraries", ldd_says)
    monkeypatch.setattr(bootstrap, "_bin", lambda name: Path(sys.executable))
    monkeypatch.setattr(bootstrap, "_can_install", lambda: False)
    with pytest.raises(SystemExit) as stopped:
        bootstrap.ensure_qt_libraries("offscreen")
    assert str(stopped.value) == (
        "BIZRA Desktop needs libegl1 (Qt needs them for its offscreen windows); install "
        "with: sudo apt-get install -y libegl1"
    )
    assert looked_at == ["libqoffscreen.so", "libQt6Gui.so.6", "libQt6Widgets.so.6"]


def test_a_python_without_its_shared_library_names_the_package(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Debian's python3 without libpython3.X: PyInstaller cannot bundle the interpreter.
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    name = f"libpython{version}.so.1.0"
    layout = {"INSTSONAME": name, "LIBDIR": str(tmp_path)}
    monkeypatch.setattr(bootstrap.sysconfig, "get_config_var", layout.get)
    monkeypatch.setattr(bootstrap, "_can_install", lambda: False)
    with pytest.raises(SystemExit) as stopped:
        bootstrap.ensure_python_library()
    assert f"sudo apt-get install -y libpython{version}" in str(stopped.value)
    (tmp_path / name).write_bytes(b"")
    bootstrap.ensure_python_library()  # there: nothing to do
