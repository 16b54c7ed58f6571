"""Where BIZRA Desktop keeps its data: BIZRA_HOME when set, else the platform's user data dir."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "BIZRA Desktop"
APP_AUTHOR = "BIZRA"
HOME_ENV = "BIZRA_HOME"


class DataFolderError(OSError):
    """The data folder cannot be made or used; str() is one line naming it."""


@dataclass(frozen=True)
class DataPaths:
    root: Path

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def database(self) -> Path:
        return self.root / "bizra.sqlite3"

    @property
    def settings(self) -> Path:
        return self.root / "settings.json"

    @property
    def remote_tiers(self) -> Path:
        return self.root / "remote_tiers.json"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    def ensure(self) -> DataPaths:
        """Make the data folder and its models folder; DataFolderError if they cannot be made."""
        try:
            self.models.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DataFolderError(f"cannot create the data folder {self.root}: {error}") from None
        return self


def data_paths() -> DataPaths:
    override = os.environ.get(HOME_ENV, "").strip()
    root = (
        Path(override).expanduser()
        if override
        else Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))
    )
    return DataPaths(root.resolve())
