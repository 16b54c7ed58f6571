"""The app's look, light and dark: every colour the UI uses, its stylesheet and Qt palette.

The single owner of colours: widgets name a role (``current().link``), never a hex value, so a
theme switch and the contrast test (every text colour against every background it is drawn on,
WCAG 2 relative luminance, at least 4.5:1) cover all of them. The theme follows the system's
colour scheme (Qt 6.5+ ``QStyleHints.colorScheme``) unless Settings picks light or dark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from bizra_desktop.core.settings import THEMES

SYSTEM, LIGHT_NAME, DARK_NAME = THEMES
MIN_TEXT_CONTRAST = 4.5  # WCAG 2.1 AA, normal text
MIN_UI_CONTRAST = 3.0  # WCAG 2.1 1.4.11: focus rings and other non-text indicators
SYNTAX_ROLES = ("keyword", "string", "comment", "number", "function", "builtin")


@dataclass(frozen=True, kw_only=True)
class Palette:
    name: str
    window: str  # behind everything; the chat column
    base: str  # inputs, lists, tables
    text: str
    muted: str  # secondary text: figures, notes, placeholders
    button: str
    button_border: str
    focus: str  # the ring around the focused control
    highlight: str  # selected rows and text
    highlighted_text: str
    user_bubble: str
    user_border: str
    assistant_bubble: str
    assistant_border: str
    error_bubble: str
    error_border: str
    link: str
    code_background: str
    code_border: str
    code_text: str
    table_border: str
    table_header: str
    error_text: str
    good_text: str
    warning_background: str
    warning_border: str
    warning_text: str
    info_background: str
    info_border: str
    ok_background: str
    ok_border: str
    broken_row: str  # a receipt row that does not verify
    chip_background: str  # the "where it runs" chip on an answer
    chip_text: str
    badge_text: str
    starter_badge: str
    tiers: dict[str, str]  # tier name → badge background
    syntax: dict[str, str]  # SYNTAX_ROLES → colour on code_background
    fit: dict[str, str]  # "fits" | "tight" | "wont_fit" → text colour on base
    chart_line: str
    chart_grid: str

    def tier_colour(self, tier: str) -> str:
        return self.tiers.get(tier, self.starter_badge)


_TIER_BADGES = {  # white text on each, in both themes
    "NANO": "#2e7d32",
    "MICRO": "#00707a",
    "SMALL": "#1565c0",
    "MEDIUM": "#6a1b9a",
    "LARGE": "#c62828",
}

LIGHT = Palette(
    name=LIGHT_NAME,
    window="#f6f7f9",
    base="#ffffff",
    text="#1f2328",
    muted="#575e66",
    button="#ffffff",
    button_border="#b9bfc7",
    focus="#1a63d6",
    highlight="#1558b0",
    highlighted_text="#ffffff",
    user_bubble="#e8f0fe",
    user_border="#c9d8f5",
    assistant_bubble="#ffffff",
    assistant_border="#dde1e6",
    error_bubble="#fdecea",
    error_border="#f5c2bd",
    link="#1558b0",
    code_background="#f3f4f6",
    code_border="#d0d4da",
    code_text="#1f2328",
    table_border="#b9bfc7",
    table_header="#eef0f3",
    error_text="#b3261e",
    good_text="#1e6b30",
    warning_background="#fef7e0",
    warning_border="#f9d98c",
    warning_text="#5f4200",
    info_background="#e8f0fe",
    info_border="#c9d8f5",
    ok_background="#e6f4ea",
    ok_border="#b7dfc2",
    broken_row="#fdecea",
    chip_background="#eceff1",
    chip_text="#37474f",
    badge_text="#ffffff",
    starter_badge="#455a64",
    tiers=_TIER_BADGES,
    syntax={
        "keyword": "#a31545",
        "string": "#0a3069",
        "comment": "#586069",
        "number": "#0550ae",
        "function": "#6639ba",
        "builtin": "#8a3c00",
    },
    fit={"fits": "#1e6b30", "tight": "#8a4b00", "wont_fit": "#b3261e"},
    chart_line="#00707a",
    chart_grid="#9aa0a6",
)

DARK = Palette(
    name=DARK_NAME,
    window="#17191c",
    base="#1f2226",
    text="#e8eaed",
    muted="#a9b0b8",
    button="#2a2e33",
    button_border="#4a5058",
    focus="#8ab4f8",
    highlight="#2f5fb3",
    highlighted_text="#ffffff",
    user_bubble="#1e2a3d",
    user_border="#2f4363",
    assistant_bubble="#212429",
    assistant_border="#363b42",
    error_bubble="#3a1f1d",
    error_border="#6b2f2a",
    link="#8ab4f8",
    code_background="#131518",
    code_border="#363b42",
    code_text="#e6e6e6",
    table_border="#4a5058",
    table_header="#2a2e33",
    error_text="#f28b82",
    good_text="#81c995",
    warning_background="#3b3220",
    warning_border="#6b5a2e",
    warning_text="#fde293",
    info_background="#1e2a3d",
    info_border="#2f4363",
    ok_background="#1d3324",
    ok_border="#2f5a3b",
    broken_row="#4a2220",
    chip_background="#2d3238",
    chip_text="#d7dce2",
    badge_text="#ffffff",
    starter_badge="#455a64",
    tiers=_TIER_BADGES,
    syntax={
        "keyword": "#ff7b72",
        "string": "#a5d6ff",
        "comment": "#9ea7b3",
        "number": "#79c0ff",
        "function": "#d2a8ff",
        "builtin": "#ffa657",
    },
    fit={"fits": "#81c995", "tight": "#fdd663", "wont_fit": "#f28b82"},
    chart_line="#4fc3cf",
    chart_grid="#6b7280",
)

PALETTES = {LIGHT_NAME: LIGHT, DARK_NAME: DARK}


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(foreground: str, background: str) -> float:
    lighter, darker = sorted(
        (relative_luminance(foreground), relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def text_pairs(p: Palette) -> list[tuple[str, str, str]]:
    """Every (what, text colour, background) the UI draws text with in this theme."""
    surfaces = {
        "window": p.window,
        "base": p.base,
        "button": p.button,
        "user bubble": p.user_bubble,
        "assistant bubble": p.assistant_bubble,
        "error bubble": p.error_bubble,
    }
    pairs = [(f"text on {name}", p.text, bg) for name, bg in surfaces.items()]
    pairs += [(f"muted on {name}", p.muted, bg) for name, bg in surfaces.items()]
    pairs += [
        (f"link on {name}", p.link, bg)
        for name, bg in surfaces.items()
        if name in ("assistant bubble", "window", "base")
    ]
    pairs += [
        ("error text on error bubble", p.error_text, p.error_bubble),
        ("error text on base", p.error_text, p.base),
        ("error text on window", p.error_text, p.window),
        ("good text on base", p.good_text, p.base),
        ("selected text", p.highlighted_text, p.highlight),
        ("code text", p.code_text, p.code_background),
        ("table header text", p.text, p.table_header),
        ("offline banner", p.warning_text, p.warning_background),
        ("text on info banner", p.text, p.info_background),
        ("text on ok banner", p.text, p.ok_background),
        ("text on broken receipt row", p.text, p.broken_row),
        ("runtime chip", p.chip_text, p.chip_background),
        ("starter badge", p.badge_text, p.starter_badge),
        ("chart labels", p.text, p.base),
    ]
    pairs += [(f"{tier} badge", p.badge_text, colour) for tier, colour in p.tiers.items()]
    pairs += [(f"code {role}", colour, p.code_background) for role, colour in p.syntax.items()]
    pairs += [(f"fit {fit}", colour, p.base) for fit, colour in p.fit.items()]
    return pairs


def indicator_pairs(p: Palette) -> list[tuple[str, str, str]]:
    """Non-text indicators that must stand out 3:1 from what they sit on: the focus ring."""
    return [
        (f"focus ring on {name}", p.focus, bg)
        for name, bg in (("window", p.window), ("base", p.base), ("button", p.button))
    ]


def qpalette(p: Palette) -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: p.window,
        QPalette.ColorRole.WindowText: p.text,
        QPalette.ColorRole.Base: p.base,
        QPalette.ColorRole.AlternateBase: p.table_header,
        QPalette.ColorRole.Text: p.text,
        QPalette.ColorRole.PlaceholderText: p.muted,
        QPalette.ColorRole.Button: p.button,
        QPalette.ColorRole.ButtonText: p.text,
        QPalette.ColorRole.BrightText: p.error_text,
        QPalette.ColorRole.Highlight: p.highlight,
        QPalette.ColorRole.HighlightedText: p.highlighted_text,
        QPalette.ColorRole.ToolTipBase: p.base,
        QPalette.ColorRole.ToolTipText: p.text,
        QPalette.ColorRole.Link: p.link,
        QPalette.ColorRole.LinkVisited: p.link,
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    # Disabled controls are exempt from the contrast rule (WCAG 1.4.3), and must look disabled.
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(p.chart_grid))
    return palette


def stylesheet(p: Palette) -> str:
    """The application stylesheet: message bubbles, badges, banners, and a visible focus ring
    on every control that takes the keyboard."""
    badges = "\n".join(
        f'QLabel#badge[tier="{tier}"] {{ background: {colour}; }}'
        for tier, colour in p.tiers.items()
    )
    return f"""
QWidget#chat-column {{ background: {p.window}; }}
QFrame#message-user {{ background: {p.user_bubble}; border: 1px solid {p.user_border};
                       border-radius: 10px; }}
QFrame#message-assistant {{ background: {p.assistant_bubble};
                            border: 1px solid {p.assistant_border}; border-radius: 10px; }}
QFrame#message-error {{ background: {p.error_bubble}; border: 1px solid {p.error_border};
                        border-radius: 10px; }}
QFrame#message-user QTextBrowser, QFrame#message-assistant QTextBrowser,
QFrame#message-error QTextBrowser {{ background: transparent; color: {p.text};
                                     border: 2px solid transparent; border-radius: 4px; }}
QFrame#message-user QTextBrowser:focus, QFrame#message-assistant QTextBrowser:focus,
QFrame#message-error QTextBrowser:focus {{ border: 2px solid {p.focus}; }}
QFrame#message-assistant QScrollBar:horizontal {{ background: {p.code_background};
    height: 12px; border: none; }}
QFrame#message-assistant QScrollBar::handle:horizontal {{ background: {p.button_border};
    border-radius: 4px; min-width: 32px; margin: 2px; }}
QFrame#message-assistant QScrollBar::add-line:horizontal,
QFrame#message-assistant QScrollBar::sub-line:horizontal {{ width: 0; }}
QLabel#figures {{ color: {p.muted}; }}
QLabel#placeholder {{ color: {p.muted}; font-size: 15px; padding: 40px; }}
QLabel#badge {{ background: {p.starter_badge}; color: {p.badge_text}; border-radius: 8px;
                padding: 2px 8px; }}
{badges}
QLabel#runtime {{ background: {p.chip_background}; color: {p.chip_text}; border-radius: 8px;
                  padding: 2px 8px; }}
QLabel#guide-title {{ font-size: 18px; font-weight: 600; }}
QLabel#guide-offline, QLabel#offline {{ background: {p.warning_background};
    border: 1px solid {p.warning_border}; border-radius: 6px; padding: 8px;
    color: {p.warning_text}; }}
QLabel#guide-machine, QLabel#guide-starter {{ color: {p.text}; }}
QLabel#machine, QLabel#hub-note {{ color: {p.muted}; }}
QLabel#guide-message[error="true"], QLabel#message[error="true"], QLabel#failure,
QLabel#remote-error {{ color: {p.error_text}; }}
QLabel#banner[kind="info"] {{ background: {p.info_background};
    border: 1px solid {p.info_border}; padding: 6px; }}
QLabel#banner[kind="ok"] {{ background: {p.ok_background}; border: 1px solid {p.ok_border};
    padding: 6px; }}
QLabel#banner[kind="error"] {{ background: {p.error_bubble};
    border: 1px solid {p.error_border}; padding: 6px; }}
QPushButton, QToolButton#copy-code {{ background: {p.button}; color: {p.text};
    border: 1px solid {p.button_border}; border-radius: 6px; padding: 4px 12px; }}
QPushButton:hover, QToolButton#copy-code:hover {{ border-color: {p.focus}; }}
QPushButton:disabled {{ color: {p.chart_grid}; }}
QPushButton:focus, QToolButton:focus {{ border: 2px solid {p.focus}; padding: 3px 11px; }}
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus, QComboBox:focus, QSpinBox:focus,
QDoubleSpinBox:focus, QListView:focus, QTableView:focus, QTreeView:focus,
QTableWidget:focus, QTabWidget:focus {{ border: 2px solid {p.focus}; }}
QCheckBox:focus, QRadioButton:focus {{ border: 1px solid {p.focus}; border-radius: 3px; }}
"""


_current: Palette = LIGHT


def current() -> Palette:
    """The palette in use now (what newly drawn text and charts take their colours from)."""
    return _current


class ThemeManager(QObject):
    """One per application: applies the chosen theme and follows the system while the choice
    is "system". `changed` fires with the new Palette; views that baked colours into rich text
    (the chat's code blocks) re-render on it."""

    changed = Signal(object)
    OBJECT_NAME: ClassVar[str] = "bizra-theme"

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self.setObjectName(self.OBJECT_NAME)
        self._app = app
        self.choice = SYSTEM
        self.palette: Palette | None = None
        # Fusion draws every control from the palette on every platform; native styles ignore
        # parts of it (Windows' classic style has no dark buttons), and the contrast test is
        # only true of what is actually drawn.
        fusion = QStyleFactory.create("Fusion")
        if fusion is not None:
            app.setStyle(fusion)
        app.styleHints().colorSchemeChanged.connect(self._on_system_changed)

    def set_choice(self, choice: str) -> None:
        """ "system", "light" or "dark"; ValueError for anything else."""
        if choice not in THEMES:
            raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {choice!r}")
        self.choice = choice
        self.apply()

    def apply(self, system: Qt.ColorScheme | None = None) -> None:
        """Apply the chosen theme; `system`: the scheme the platform just reported."""
        global _current  # noqa: PLW0603 - the one place the current palette changes
        name = self.choice
        if name == SYSTEM:
            scheme = QGuiApplication.styleHints().colorScheme() if system is None else system
            name = DARK_NAME if scheme == Qt.ColorScheme.Dark else LIGHT_NAME
        palette = PALETTES[name]
        if palette is self.palette:
            return
        self.palette = _current = palette
        self._app.setPalette(qpalette(palette))
        self._app.setStyleSheet(stylesheet(palette))
        self.changed.emit(palette)

    def _on_system_changed(self, scheme: Qt.ColorScheme) -> None:
        if self.choice == SYSTEM:
            self.apply(scheme)


def manager() -> ThemeManager:
    """The application's ThemeManager, made (and the system theme applied) on first use."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        raise RuntimeError("the theme needs a QApplication")
    found = app.findChild(ThemeManager, ThemeManager.OBJECT_NAME)
    if found is None:
        found = ThemeManager(app)
        found.apply()
    return found
