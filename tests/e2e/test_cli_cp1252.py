"""The whole command-line contract on a Windows console: stdout and stderr encode cp1252 (as a
pipe or file does there), and answers hold text cp1252 lacks (CJK, →, ✓). Every command must
finish, print what it can ('?' for the rest), keep JSON and files exact, and log without a
"Logging error" traceback."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.settings import Settings, save_settings

pytestmark = pytest.mark.model
# The starter model answers this in Japanese script at temperature 0 (checked below, not assumed).
PROMPT = "Write the word cat in Japanese characters."
ASK = ("ask", PROMPT, "--temperature", "0", "--max-tokens", "12")  # chat reads the settings


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "BIZRA_HOME": str(home), "PYTHONIOENCODING": "cp1252"}
    env.pop("PYTHONUTF8", None)  # it would make Python ignore the console's encoding
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # `models list`: no Hub, at once
    return env


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str  # decoded as cp1252, as the Windows console shows it
    stderr: str


def cli(home: Path, *args: str, stdin: str | None = None) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "bizra_desktop", *args],
        input=stdin.encode("cp1252", "replace") if stdin is not None else None,
        capture_output=True,
        env=_env(home),
        timeout=300,
        check=False,
    )
    run = Run(done.returncode, done.stdout.decode("cp1252"), done.stderr.decode("cp1252"))
    assert "Traceback" not in run.stderr and "Logging error" not in run.stderr, run.stderr
    return run


def _on_console(text: str) -> str:
    """What a cp1252 console can show of `text`."""
    return text.encode("cp1252", "replace").decode("cp1252")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cp1252-home")
    settings = DataPaths(folder).ensure().settings  # greedy and short, for ask and chat alike
    save_settings(settings, Settings(temperature=0.0, max_tokens=12))
    return folder


def _last_answer(home: Path) -> str:
    with ConversationStore(home / "bizra.sqlite3") as store:
        latest = max(store.list(), key=lambda conversation: conversation.id)
        return store.messages(latest.id)[-1].content


@pytest.fixture(scope="module")
def asked(home: Path) -> tuple[Run, str]:
    """`bizra ask` in text mode, and the answer as stored."""
    return cli(home, *ASK), _last_answer(home)


def test_ask_prints_the_answer_and_its_figures(asked: tuple[Run, str]) -> None:
    run, answer = asked
    assert run.code == 0, run.stderr
    assert _on_console(answer) != answer, f"the answer is all cp1252: {answer!r}"
    assert _on_console(answer).strip() in run.stdout
    assert "[moderate · MICRO tier not installed — answered by the starter model]" in run.stderr
    assert re.search(r"tok/s · CPU · receipt [0-9a-f]{12}", run.stderr), run.stderr


def test_ask_json_keeps_every_character(home: Path, asked: tuple[Run, str]) -> None:
    run = cli(home, *ASK, "--json")
    assert run.code == 0, run.stderr
    record = json.loads(run.stdout)  # ASCII with \\u escapes: exact under any encoding
    assert record["text"] == _last_answer(home) == asked[1]  # greedy: the same answer again
    assert record["stand_in"] == "MICRO tier not installed"


def test_analyze_text_and_json(home: Path) -> None:
    text = cli(home, "analyze", PROMPT)
    assert text.code == 0 and text.stdout.startswith("moderate -> MICRO"), text.stderr
    record = json.loads(cli(home, "analyze", PROMPT, "--json").stdout)
    assert (record["complexity"], record["stand_in"]) == ("moderate", "MICRO tier not installed")
    lines = cli(home, "analyze", "--jsonl", stdin=json.dumps({"prompt": PROMPT}) + "\n")
    assert json.loads(lines.stdout)["tier"] == "MICRO"


def test_chat_answers_on_the_console(home: Path) -> None:
    run = cli(home, "chat", stdin=PROMPT + "\n")
    assert run.code == 0, run.stderr
    answer = _last_answer(home)
    assert _on_console(answer) != answer and _on_console(answer).strip() in run.stdout


def test_receipts_export_writes_utf8_and_verifies(home: Path, asked: tuple[Run, str]) -> None:
    export = home / "export.jsonl"
    run = cli(home, "receipts", "export", str(export), "--with-content")
    assert run.code == 0, run.stderr
    assert asked[1] in export.read_text(encoding="utf-8")  # the file is exact, not the console
    for command in (("receipts", "verify", str(export)), ("receipts", "verify")):
        verified = cli(home, *command)
        assert verified.code == 0, verified.stderr
    impact = cli(home, "receipts", "impact", "--json")
    assert impact.code == 0 and json.loads(impact.stdout)


def test_models_list(home: Path) -> None:
    for args in (("models", "list"), ("models", "list", "--json")):
        run = cli(home, *args)
        assert run.code == 0, run.stderr
        assert "NANO" in run.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_serve_logs_requests_whatever_they_hold(home: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bizra_desktop", "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        env=_env(home),
    )
    assert process.stderr is not None
    try:
        banner = process.stderr.readline().decode("cp1252")
        match = re.search(r"http://127\.0\.0\.1:(\d+)/v1", banner)
        assert match, banner
        # A path that decodes to characters cp1252 lacks (raw UTF-8 bytes in a request line
        # are refused as malformed, as HTTP wants): it is logged, in whatever the console can
        # show.
        path = quote("/v1/猫→✓")
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{match[1]}\r\nConnection: close\r\n\r\n"
        with closing(socket.create_connection(("127.0.0.1", int(match[1])), timeout=30)) as conn:
            conn.sendall(request.encode())
            assert conn.recv(1024).startswith(b"HTTP/1.1 404")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        log = process.stderr.read().decode("cp1252")
    finally:
        process.kill()  # after a failure above; a no-op once it has exited
        process.wait()
        process.stderr.close()
    assert "Traceback" not in log and "Logging error" not in log, log
    assert re.search(r"bizra serve: GET /v1/\S+ 404", log), log
