"""File names in the model folder: which may be written there, and where partial files go.

Names come from the Hub's listing, from the registry file and from files the user imports; a
name such as '../evil.gguf', '/etc/x.gguf', 'C:\\x.gguf' or '\\\\server\\share\\x.gguf' must
never turn into a path outside the model folder, on any platform.
"""

from __future__ import annotations

from pathlib import Path

from bizra_desktop.core.models.errors import UnsafeNameError

# Names Windows maps to devices whatever their extension ('nul.gguf' is the NUL device).
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{n}" for n in range(1, 10)]
    + [f"LPT{n}" for n in range(1, 10)]
)
_MAX_NAME = 255
# A file being downloaded or copied is NAME.part until it is complete and verified.
PART_SUFFIX = ".part"


def _refuse(name: str, why: str) -> UnsafeNameError:
    return UnsafeNameError(f"refusing the file name {name!r}: {why}")


def local_name(repo_path: str) -> str:
    """The model-folder file name for a path in a Hub repository ('dir/x.gguf' → 'x.gguf').

    Hub paths use '/' only; anything absolute, with '..', a drive, a backslash or a control
    character is refused rather than cleaned up, since a listing that contains one is not
    trustworthy.
    """
    if not repo_path:
        raise _refuse(repo_path, "it is empty")
    if any(ord(char) < 32 or char == "\x7f" for char in repo_path):
        raise _refuse(repo_path, "it contains control characters")
    if "\\" in repo_path or ":" in repo_path:
        raise _refuse(repo_path, "it has a drive, a UNC prefix or a Windows separator")
    if repo_path.startswith("/"):
        raise _refuse(repo_path, "it is an absolute path")
    components = repo_path.split("/")
    if any(component in ("", ".", "..") for component in components):
        raise _refuse(repo_path, "it leads outside its folder")
    return check_name(components[-1])


def check_name(name: str) -> str:
    """`name` itself if it is a plain GGUF file name for the model folder, else UnsafeNameError."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or ":" in name:
        raise _refuse(name, "it is not a plain file name")
    if any(ord(char) < 32 or char == "\x7f" for char in name):
        raise _refuse(name, "it contains control characters")
    if len(name.encode("utf-8")) > _MAX_NAME:
        raise _refuse(name, "it is too long")
    if not name.lower().endswith(".gguf"):
        raise _refuse(name, "it is not a .gguf file")
    if name.rstrip(" .") != name:
        raise _refuse(name, "Windows drops trailing dots and spaces")
    if name.split(".", maxsplit=1)[0].upper() in _WINDOWS_DEVICES:
        raise _refuse(name, "Windows reserves it for a device")
    return name


def inside(folder: Path, name: str) -> Path:
    """folder/name, after checking the name and that the result really is in `folder`."""
    path = folder / check_name(name)
    if path.resolve().parent != folder.resolve():
        raise _refuse(name, f"it resolves outside {folder}")
    return path


def part_path(final: Path) -> Path:
    return final.with_name(final.name + PART_SUFFIX)
