"""`bizra presets`: the presets `--preset` (and the local API's `bizra.preset`) can name."""

from __future__ import annotations

import argparse
import json
import sys

from bizra_desktop.core.paths import data_paths
from bizra_desktop.core.presets import BUILT_IN, Preset, PresetStore
from bizra_desktop.core.text import printable


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `presets` to the `bizra` parser."""
    presets = commands.add_parser(
        "presets", help="list the presets: built in, and the ones made in the window"
    )
    presets.add_argument("--json", action="store_true", help="one JSON array")
    presets.set_defaults(handler=cmd_presets)


def cmd_presets(args: argparse.Namespace) -> int:
    paths = data_paths()
    presets: list[Preset] = list(BUILT_IN)
    if paths.database.exists():  # listing creates no data folder
        with PresetStore(paths.database) as store:
            presets = store.list()
    if args.json:
        records = [{**preset.to_json(), "built_in": preset.built_in} for preset in presets]
        sys.stdout.write(json.dumps(records) + "\n")
        return 0
    width = max(len(preset.name) for preset in presets)
    for preset in presets:
        mark = "built in" if preset.built_in else "yours   "
        sys.stdout.write(
            f"{printable(preset.name):<{width}}  {mark}  {printable(preset.summary())}\n"
        )
    return 0
