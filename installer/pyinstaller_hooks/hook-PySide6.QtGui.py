"""PyInstaller hook for PySide6.QtGui: PyInstaller's own, minus the Qt plugins the app never uses.

build.spec puts this folder on `hookspath`, where it takes precedence over the stock hook of the
same name. Filtering here, before PyInstaller resolves shared-library dependencies, also keeps
out what only those plugins pull in: GTK, Pango and Cairo (the GTK3 platform theme), QtNetwork
(the TUIO touch input plugin) and the EGLFS support libraries (embedded-device platforms).
"""

from pathlib import PurePath

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

# Plugin folders the app has no use for.
_UNUSED_DIRS = {"egldeviceintegrations", "generic"}
# Single plugins, by file-name stem (lib prefix removed): embedded and VNC platforms, GTK theme.
_UNUSED_PLUGINS = {"qeglfs", "qlinuxfb", "qminimalegl", "qvnc", "qvkkhrdisplay", "qgtk3"}


def _used(source: str, destination: str) -> bool:
    folder = PurePath(destination).name
    stem = PurePath(source).name.split(".")[0].removeprefix("lib")
    return folder not in _UNUSED_DIRS and stem not in _UNUSED_PLUGINS


hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [(source, destination) for source, destination in binaries if _used(source, destination)]
