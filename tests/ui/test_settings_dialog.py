"""The settings dialog's GPU choices, against recorded `nvidia-smi` output (no GPU here)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pytestqt.qtbot import QtBot

from bizra_desktop.core.hardware import Gpu, parse_smi_gpus
from bizra_desktop.core.run_defaults import run_defaults
from bizra_desktop.core.settings import Settings, load_settings, save_settings
from bizra_desktop.ui.settings_dialog import SettingsDialog

TWO_GPUS = parse_smi_gpus(
    "0, NVIDIA GeForce RTX 4090, 23782, 24564\n1, NVIDIA GeForce RTX 3060, 11840, 12288\n"
)


def _dialog(qtbot: QtBot, settings: Settings, gpus: Sequence[Gpu]) -> SettingsDialog:
    dialog = SettingsDialog(settings, "/data", gpus)
    qtbot.addWidget(dialog)
    return dialog


def _choices(dialog: SettingsDialog) -> list[tuple[str, int | None]]:
    box = dialog.gpu_device
    return [(box.itemText(i), box.itemData(i)) for i in range(box.count())]


def test_a_chosen_gpu_and_flash_attention_are_saved_and_reach_the_model(
    qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, Settings(), TWO_GPUS)
    assert _choices(dialog) == [
        ("every GPU (llama.cpp splits the layers)", None),
        ("GPU 0: NVIDIA GeForce RTX 4090 (24.9 of 25.8 GB free)", 0),
        ("GPU 1: NVIDIA GeForce RTX 3060 (12.4 of 12.9 GB free)", 1),
    ]
    assert dialog.gpu_device.currentData() is None and dialog.flash_attn.isChecked()
    dialog.gpu_device.setCurrentIndex(2)
    dialog.flash_attn.setChecked(False)
    settings = dialog.result_settings()
    assert (settings.gpu_device, settings.flash_attn) == (1, False)

    save_settings(tmp_path / "settings.json", settings)
    reloaded = load_settings(tmp_path / "settings.json")
    options = run_defaults(reloaded)
    assert (options.gpu_device, options.flash_attn) == (1, False)
    assert _dialog(qtbot, reloaded, TWO_GPUS).gpu_device.currentData() == 1


def test_without_a_gpu_the_choice_says_so_and_stays_automatic(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, Settings(), [])
    assert _choices(dialog) == [("every GPU llama.cpp finds (nvidia-smi lists none)", None)]
    assert not dialog.gpu_device.isEnabled()
    assert dialog.result_settings().gpu_device is None


def test_a_chosen_gpu_that_is_missing_now_is_kept(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, Settings(gpu_device=3), TWO_GPUS[:1])
    assert _choices(dialog)[-1] == ("GPU 3 (not found now: every GPU is used meanwhile)", 3)
    assert dialog.result_settings().gpu_device == 3
    assert _dialog(qtbot, Settings(gpu_device=3), []).result_settings().gpu_device == 3


def test_while_the_gpus_are_looked_for_the_saved_choice_stands(qtbot: QtBot) -> None:
    dialog = SettingsDialog(Settings(gpu_device=1), "/data", None)
    qtbot.addWidget(dialog)
    assert _choices(dialog) == [("looking for GPUs…", 1)] and not dialog.gpu_device.isEnabled()
    assert dialog.result_settings().gpu_device == 1  # OK before they are found changes nothing
    dialog.show_gpus(TWO_GPUS)
    assert dialog.gpu_device.isEnabled() and dialog.gpu_device.currentData() == 1
    assert len(_choices(dialog)) == 3


def test_speculative_decoding_switches_are_saved_and_reach_the_model(
    qtbot: QtBot, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, Settings(), TWO_GPUS)
    # Defaults: a smaller tier drafts; prompt lookup measured no faster on the CPU, so off.
    assert dialog.draft_model.isChecked() and not dialog.prompt_lookup.isChecked()
    dialog.draft_model.setChecked(False)
    dialog.prompt_lookup.setChecked(True)
    save_settings(tmp_path / "settings.json", dialog.result_settings())
    options = run_defaults(load_settings(tmp_path / "settings.json"))
    assert (options.draft_model, options.prompt_lookup) == (False, True)
    # A settings file from before the switches gets their defaults.
    (tmp_path / "old.json").write_text('{"schema_version": 1, "temperature": 0.2}', "utf-8")
    old = load_settings(tmp_path / "old.json")
    assert (old.temperature, old.draft_model, old.prompt_lookup) == (0.2, True, False)
