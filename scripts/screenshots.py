#!/usr/bin/env python3
"""Regenerate docs/screenshots/ from the real app (offscreen, real model, a scratch BIZRA_HOME).

The receipt browser is shot over the receipts of those answers (and three short ones more), then
with one receipt changed in the file behind the app's back, as Verify finds it; it is put back.
The model manager is shot against tests/hub_server.py on 127.0.0.1 (a download under way),
then with that server gone: offline, as a machine without network sees it. The first-run guide
likewise, in fresh data folders, on machines recorded in tests/data/machines.json.

.venv/bin/python scripts/screenshots.py
.venv/bin/python scripts/screenshots.py --only themes first-run   # some groups only
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.hub_server, the local stand-in for the Hub

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QToolTip, QWidget

from bizra_desktop.core.models.store import starter_model_path
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.settings import load_settings, save_settings
from bizra_desktop.core.tiers import Tier
from bizra_desktop.ui import theme
from bizra_desktop.ui.main_window import MainWindow
from bizra_desktop.ui.settings_dialog import SettingsDialog
from tests.helpers import recorded_machine
from tests.hub_server import Blob, Fault, HubServer

OUT = ROOT / "docs" / "screenshots"
PROMPTS = (
    "Hello!",
    "Write a Python function that checks whether a number is prime, in a code block.",
)


def _wait(app: QApplication, done: object, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        app.processEvents()
        time.sleep(0.01)


def _save(widget: QWidget, name: str) -> None:
    path = OUT / name
    widget.grab().save(str(path))
    print(f"wrote {path}")


def _routing_reasons(app: QApplication, window: MainWindow) -> None:
    """The badge's tooltip: what decided the rating, and the confidence."""
    window.pane.prompt.setPlainText(
        "Hi! Докажите, что проблема остановки неразрешима, шаг за шагом."
    )
    window.send()
    _wait(app, lambda: window.answer is None)
    badge = window.findChildren(QLabel, "badge")[-1]
    QToolTip.showText(badge.mapToGlobal(badge.rect().bottomLeft()), badge.toolTip(), badge)
    _wait(app, lambda: False, timeout_s=0.3)
    tips = [w for w in app.topLevelWidgets() if w.metaObject().className() == "QTipLabel"]
    _save(tips[0], "routing-reasons.png")
    QToolTip.hideText()


GROUPS = ("chat", "branches", "receipts", "models", "themes", "first-run")


def _use_hub(hub: HubServer) -> None:
    """Point huggingface_hub at the local Hub. Its constants are read when it is first
    imported, which the window's modules have done by now: set them, not only HF_ENDPOINT."""
    from huggingface_hub import constants  # noqa: PLC0415

    os.environ["HF_ENDPOINT"] = hub.url
    constants.ENDPOINT = hub.url
    constants.HUGGINGFACE_CO_URL_TEMPLATE = hub.url + "/{repo_id}/resolve/{revision}/{filename}"


def main() -> int:
    parser = argparse.ArgumentParser(description="Regenerate docs/screenshots/.")
    parser.add_argument(
        "--only", nargs="+", choices=GROUPS, default=GROUPS, help="only these groups of shots"
    )
    groups = set(parser.parse_args().only)
    hub = HubServer()  # serves only inside _model_manager; the address is fixed now
    _use_hub(hub)
    app = QApplication(sys.argv)
    theme.manager().set_choice("light")  # the shots do not depend on the machine's theme
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bizra-shots-") as scratch:
        paths = DataPaths(Path(scratch)).ensure()
        save_settings(paths.settings, replace(load_settings(paths.settings), max_tokens=160))
        window = MainWindow(paths)
        window.resize(1200, 800)
        window.show()
        if "chat" in groups:
            _save(window, "empty.png")
        for prompt in PROMPTS:
            window.pane.prompt.setPlainText(prompt)
            window.send()
            _wait(app, lambda: window.answer is None)
        answered = window.conversation_id
        if "chat" in groups:
            _chat(app, window, paths)
        if "branches" in groups:
            _branches(app, window)
        if "receipts" in groups:
            _receipt_browser(app, window)
        if "models" in groups:
            _model_manager(app, window, hub)
        if "themes" in groups:
            _code_and_themes(app, window, answered)
        window.close()
    if "first-run" in groups:
        _first_run(app)
    return 0


def _chat(app: QApplication, window: MainWindow, paths: DataPaths) -> None:
    """chat.png, routing-reasons.png, streaming.png and settings.png."""
    window.store.create("Trip ideas for Lisbon")
    window.store.create("Rust lifetimes question")
    window.controller.refresh()
    _wait(app, lambda: False, timeout_s=0.3)
    _save(window, "chat.png")
    _routing_reasons(app, window)

    window.pane.prompt.setPlainText("Write a very long story about a lighthouse keeper.")
    window.send()
    _wait(app, lambda: window.answer is not None and len(window.answer.text) > 40)
    _save(window, "streaming.png")
    window.stop()
    _wait(app, lambda: window.answer is None)

    dialog = SettingsDialog(window.settings, str(paths.root), parent=window)
    dialog.show()
    _wait(app, lambda: False, timeout_s=0.3)
    _save(dialog, "settings.png")
    dialog.close()


def _branches(app: QApplication, window: MainWindow) -> None:
    """branches.png: an earlier prompt edited into a second branch, its answer regenerated
    (each shows "2/2" between its arrows)."""
    window.new_chat()
    for prompt in ("My name is Ada. Say hello to me.", "What is my name?"):
        window.pane.prompt.setPlainText(prompt)
        window.send()
        _wait(app, lambda: window.answer is None)
    window.pane.chat.messages()[0].edit.click()
    window.pane.prompt.setPlainText("My name is Grace. Say hello to me.")
    window.send()
    _wait(app, lambda: window.answer is None)
    window.pane.regenerate_button.click()
    _wait(app, lambda: window.answer is None)
    _wait(app, lambda: False, timeout_s=0.3)
    _save(window, "branches.png")


CODE_ANSWER = """Here is a prime check that tries odd divisors up to √n:

```python
def is_prime(n: int) -> bool:
    \"\"\"True when n has no divisor but 1 and itself.\"\"\"
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    divisor = 3
    while divisor * divisor <= n:  # a factor above √n pairs with one below it
        if n % divisor == 0:
            return False
        divisor += 2
    return True


print([n for n in range(30) if is_prime(n)])  # [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
```

It does about $\\sqrt{n}/2$ divisions, so checking $n = 10^{12}$ takes $5 \\times 10^5$ steps.

| n | prime? | divisions |
|---|---|---|
| 97 | yes | 4 |
| 1001 | no: $7 \\times 11 \\times 13$ | 3 |

Run it with:

```bash
python primes.py
```
"""


def _code_and_themes(app: QApplication, window: MainWindow, answered: int | None) -> None:
    """code-answer.png (a fixed answer with code, a table and maths, drawn by the real view),
    dark.png (the model's answers in the dark theme) and shortcuts.png (Help → Keyboard
    shortcuts)."""
    from bizra_desktop.ui.chat.message_view import MessageView  # noqa: PLC0415

    window.new_chat()
    window.pane.chat.add(MessageView("user", "How do I check whether a number is prime, quickly?"))
    answer = window.pane.chat.add(MessageView("assistant", CODE_ANSWER))
    answer.set_badge("moderate", "MICRO", "Qwen2.5-1.5B-Instruct", "")
    answer.set_figures("212 tokens · TTFT 140 ms · 38.2 tok/s · CPU")
    _wait(app, lambda: False, timeout_s=0.3)
    _save(window, "code-answer.png")
    theme.manager().set_choice("dark")
    if answered is not None:
        window.sidebar.list_view.setCurrentIndex(
            window.sidebar.conversations.index(window.sidebar.conversations.row_of(answered) or 0)
        )
    _wait(app, lambda: False, timeout_s=0.3)
    _save(window, "dark.png")
    theme.manager().set_choice("light")
    dialog = window.show_shortcuts()
    _wait(app, lambda: False, timeout_s=0.3)
    _save(dialog, "shortcuts.png")
    dialog.close()


def _first_run(app: QApplication) -> None:
    """first-run-online.png (the recommended set downloading from a local Hub, on a recorded
    desktop with an RTX 3060) and first-run-offline.png (a recorded 8 GB laptop, the Hub gone),
    each in a fresh data folder, as a new user sees them."""
    from huggingface_hub.utils import close_session  # noqa: PLC0415

    starter = starter_model_path()
    assert starter is not None
    hub = HubServer()  # the first one has stopped; point huggingface_hub at this one
    _use_hub(hub)
    nano = Tier.NANO.spec
    hub.add_repo(nano.repo_id, {nano.filename: Blob(starter)})
    hub.fail_next(Fault(hold_after=6 * 10 * 1024 * 1024))  # NANO stalls at ~64 %
    with hub, tempfile.TemporaryDirectory(prefix="bizra-first-run-") as scratch:
        window = MainWindow(DataPaths(Path(scratch)).ensure())
        guide = window.open_first_run_guide(recorded_machine("desktop-rtx3060"))
        _wait(app, lambda: guide.recommendation is not None)
        guide.download()
        nano_state = guide.table.item(Tier.NANO, 4)
        assert nano_state is not None
        _wait(app, lambda: nano_state.text().startswith("downloading 6"))
        _save(guide, "first-run-online.png")
        window.close()  # pauses the download
    close_session()  # drop keep-alive connections: the network is gone
    with tempfile.TemporaryDirectory(prefix="bizra-first-run-") as scratch:
        window = MainWindow(DataPaths(Path(scratch)).ensure())
        guide = window.open_first_run_guide(recorded_machine("laptop-8gb"))
        _wait(app, lambda: guide.recommendation is not None)
        _wait(app, lambda: False, timeout_s=0.3)
        _save(guide, "first-run-offline.png")
        window.close()


def _receipt_browser(app: QApplication, window: MainWindow) -> None:
    """receipts.png (a receipt and its exchange, after Verify), receipts-impact.png, and
    receipts-broken.png (Verify pinpointing a receipt changed in the file, then put back)."""
    from bizra_desktop.ui.receipts.browser import ReceiptBrowser  # noqa: PLC0415

    window.new_chat()
    for prompt in ("What is 17 times 3?", "Name three primary colours.", "Say hi in French."):
        window.pane.prompt.setPlainText(prompt)
        window.send()
        _wait(app, lambda: window.answer is None, timeout_s=600)
    window.menu_actions.browse_receipts_action.trigger()
    browser = window.findChild(ReceiptBrowser)
    assert browser is not None
    browser.resize(1280, 800)

    def idle() -> bool:
        return browser.reader.idle and browser.jobs.idle

    _wait(app, idle)
    browser.table.selectRow(browser.model.row_of(2) or 0)  # the prime-number answer
    browser.verify()
    _wait(app, idle)
    _wait(app, lambda: False, timeout_s=0.3)
    _save(browser, "receipts.png")
    browser.tabs.setCurrentWidget(browser.impact)
    _wait(app, lambda: False, timeout_s=0.3)
    _save(browser, "receipts-impact.png")

    original = _tamper(window.paths.database, seq=3)
    browser.tabs.setCurrentWidget(browser.receipts_tab)
    browser.verify()
    _wait(app, idle)
    _wait(app, lambda: False, timeout_s=0.3)
    _save(browser, "receipts-broken.png")
    _tamper(window.paths.database, seq=3, body=original)
    browser.close()


def _tamper(database: Path, seq: int, body: str | None = None) -> str:
    """Change one byte of receipt `seq`'s impact behind the app's back (or put `body` back);
    returns the body it replaced."""
    with closing(sqlite3.connect(database)) as conn:
        (stored,) = conn.execute("SELECT body FROM receipts WHERE seq = ?", (seq,)).fetchone()
        changed = body if body is not None else re.sub(r'"impact":0\.', '"impact":1.', stored)
        conn.execute("UPDATE receipts SET body = ? WHERE seq = ?", (changed, seq))
        conn.commit()
    return str(stored)


def _model_manager(app: QApplication, window: MainWindow, hub: HubServer) -> None:
    """models-downloading.png, models-remote.png and models.png (offline)."""
    from huggingface_hub.utils import close_session  # noqa: PLC0415 - after HF_ENDPOINT is set

    from bizra_desktop.ui.models.manager_window import ModelManagerWindow  # noqa: PLC0415
    from bizra_desktop.ui.models.tier_model import Column, ProgressRole  # noqa: PLC0415

    starter = starter_model_path()
    assert starter is not None
    micro = Tier.MICRO.spec
    hub.add_repo(micro.repo_id, {micro.filename: Blob(starter)})
    hub.fail_next(Fault(hold_after=4 * 10 * 1024 * 1024))  # stall after 4 chunks, ~43%
    with hub:
        window.menu_actions.manage_models_action.trigger()
        manager = window.findChild(ModelManagerWindow)
        assert manager is not None
        manager.resize(1100, 720)
        panel = manager.hub_panel

        def cell(tier: Tier, column: Column, role: int = 0) -> Any:
            return manager.tiers.index(tier, column).data(role or Qt.ItemDataRole.DisplayRole)

        _wait(app, lambda: cell(Tier.MICRO, Column.SIZE) == "98 MB")
        manager.select_tier(Tier.MICRO)
        manager.download()
        panel.query.setText("qwen2.5")
        panel.search_button.click()
        _wait(app, lambda: panel.repos.rowCount() == 1)
        panel.repo_view.setCurrentIndex(panel.repos.index(0))
        _wait(app, lambda: panel.models.rowCount() == 1)
        panel.model_view.setCurrentIndex(panel.models.index(0))
        _wait(app, lambda: (cell(Tier.MICRO, Column.PROGRESS, ProgressRole) or 0) > 0.4)
        _save(manager, "models-downloading.png")
        manager.pause()
        hub.release()
        _wait(app, lambda: cell(Tier.MICRO, Column.STATE) == "paused")

    close_session()  # drop keep-alive connections to the stopped server, as a lost network does
    manager.check_hub()  # the server is gone: offline
    manager.import_file(starter, Tier.NANO)
    _wait(app, lambda: manager.offline.isVisible() and cell(Tier.NANO, Column.STATE) == "installed")
    assert manager.offline.isVisible(), "the manager should say it is offline"
    manager.select_tier(Tier.LARGE)
    remote = manager.configure_remote()
    assert remote is not None
    remote.base_url.setText("http://gpu-box:8080/v1")
    remote.model.setText("qwen2.5-14b-instruct")
    _wait(app, lambda: False, timeout_s=0.3)
    _save(remote, "models-remote.png")
    remote.accept()
    manager.select_tier(Tier.MICRO)
    _wait(app, lambda: cell(Tier.LARGE, Column.RUNS_ON) != "—")
    _wait(app, lambda: False, timeout_s=0.3)
    _save(manager, "models.png")
    manager.close()


if __name__ == "__main__":
    sys.exit(main())
