"""The light and dark themes: text contrast (WCAG 2 relative luminance, ≥ 4.5:1) for every
text/background pair, one owner of every colour, following the system, the Settings
override, and what the real window draws."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.settings import load_settings
from bizra_desktop.ui import theme
from bizra_desktop.ui.chat.message_view import MessageView
from bizra_desktop.ui.main_window import MainWindow
from bizra_desktop.ui.settings_dialog import SettingsDialog


@pytest.fixture
def window(qtbot: QtBot, paths: DataPaths) -> Iterator[MainWindow]:
    instance = MainWindow(paths)
    qtbot.addWidget(instance)
    instance.show()
    yield instance
    instance.close()
    theme.manager().set_choice(theme.SYSTEM)


def test_the_contrast_formula_matches_wcag_reference_values() -> None:
    assert theme.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert theme.contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert theme.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("palette", [theme.LIGHT, theme.DARK], ids=lambda p: p.name)
def test_every_text_colour_has_contrast_4_5_on_its_background(palette: theme.Palette) -> None:
    pairs = theme.text_pairs(palette)
    low = [
        (what, round(theme.contrast_ratio(fg, bg), 2))
        for what, fg, bg in pairs
        if theme.contrast_ratio(fg, bg) < theme.MIN_TEXT_CONTRAST
    ]
    assert not low, f"{palette.name}: below 4.5:1: {low}"
    # Every tier badge and every syntax colour is among the pairs checked.
    named = {what for what, _, _ in pairs}
    assert {f"{tier} badge" for tier in palette.tiers} <= named
    assert {f"code {role}" for role in theme.SYNTAX_ROLES} <= named
    rings = theme.indicator_pairs(palette)
    assert all(theme.contrast_ratio(fg, bg) >= theme.MIN_UI_CONTRAST for _, fg, bg in rings)


@pytest.mark.parametrize("palette", [theme.LIGHT, theme.DARK], ids=lambda p: p.name)
def test_the_stylesheet_uses_only_the_palettes_colours(palette: theme.Palette) -> None:
    values = {v for v in vars(palette).values() if isinstance(v, str) and v.startswith("#")}
    values |= {v for d in (palette.tiers, palette.syntax, palette.fit) for v in d.values()}
    used = set(re.findall(r"#[0-9a-fA-F]{6}\b", theme.stylesheet(palette)))
    assert used and used <= values


def test_the_window_follows_the_system_and_the_settings_override(
    qtbot: QtBot, window: MainWindow, qapp: QApplication
) -> None:
    answer = window.pane.chat.add(MessageView("assistant", "```python\nx = 1\n```"))
    frame = answer.body.document().rootFrame().childFrames()[0]
    assert frame.frameFormat().background().color().name() == theme.LIGHT.code_background
    # The platform reports a dark scheme (what a desktop's switch makes QStyleHints emit).
    QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert theme.current() is theme.DARK
    assert qapp.palette().color(QPalette.ColorRole.Base).name() == theme.DARK.base
    frame = answer.body.document().rootFrame().childFrames()[0]  # drawn again, dark
    assert frame.frameFormat().background().color().name() == theme.DARK.code_background
    # Settings → Theme: light, whatever the system says; saved.
    dialog = SettingsDialog(window.settings, str(window.paths.root), (), window)
    qtbot.addWidget(dialog)
    dialog.theme.setCurrentIndex(dialog.theme.findData("light"))
    window.apply_settings(dialog.result_settings())
    assert theme.current() is theme.LIGHT
    assert load_settings(window.paths.settings).theme == "light"
    QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert theme.current() is theme.LIGHT  # the override holds
    window.apply_settings(replace(window.settings, theme="dark"))
    assert theme.current() is theme.DARK
    with pytest.raises(ValueError, match="theme must be one of system, light, dark"):
        replace(window.settings, theme="sepia")


@pytest.mark.parametrize("choice", ["light", "dark"])
def test_badges_are_drawn_in_their_tier_colour(
    qtbot: QtBot, window: MainWindow, choice: str
) -> None:
    theme.manager().set_choice(choice)
    answer = window.pane.chat.add(MessageView("assistant", "hi"))
    answer.set_badge("simple", "MICRO", "Qwen2.5-1.5B", "why")
    qtbot.waitUntil(answer.badge.isVisible)
    image = answer.badge.grab().toImage()
    right_padding = image.pixelColor(image.width() - 3, image.height() // 2).name()
    assert right_padding == theme.current().tiers["MICRO"]
    answer.set_badge("simple", "NANO", "SmolLM2", "why", stand_in="NANO tier not installed")
    image = answer.badge.grab().toImage()
    right_padding = image.pixelColor(image.width() - 3, image.height() // 2).name()
    assert right_padding == theme.current().starter_badge
