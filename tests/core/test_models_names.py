"""File names from the Hub, the registry and imports never lead outside the model folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from bizra_desktop.core.models.errors import UnsafeNameError
from bizra_desktop.core.models.names import check_name, inside, local_name

HOSTILE = [
    "../evil.gguf",
    "models/../../evil.gguf",
    "/abs.gguf",
    "C:\\x.gguf",
    "C:x.gguf",
    "\\\\server\\share\\x.gguf",
    "//server/share/x.gguf",
    "dir\\..\\evil.gguf",
    "./x.gguf",
    "x.gguf\x00.txt",
    "",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_hub_paths_are_refused(name: str) -> None:
    with pytest.raises(UnsafeNameError, match="refusing the file name"):
        local_name(name)


@pytest.mark.parametrize(
    "name",
    ["evil.txt", "nul.gguf", "CON.gguf", "x.gguf.", "x.gguf ", "a" * 300 + ".gguf", "..", "."],
)
def test_names_no_platform_can_hold_as_a_model_file_are_refused(name: str) -> None:
    with pytest.raises(UnsafeNameError):
        check_name(name)


@pytest.mark.parametrize(
    ("repo_path", "name"),
    [
        ("qwen2.5-0.5b-instruct-q4_k_m.gguf", "qwen2.5-0.5b-instruct-q4_k_m.gguf"),
        (
            "Q8_0/Qwen2.5-7B-Instruct-Q8_0-00001-of-00002.gguf",
            "Qwen2.5-7B-Instruct-Q8_0-00001-of-00002.gguf",
        ),
    ],
)
def test_ordinary_hub_paths_map_to_their_file_name(repo_path: str, name: str) -> None:
    assert local_name(repo_path) == name


def test_inside_keeps_paths_in_the_folder(tmp_path: Path) -> None:
    assert inside(tmp_path, "model.gguf") == tmp_path / "model.gguf"
    with pytest.raises(UnsafeNameError):
        inside(tmp_path, "../model.gguf")
