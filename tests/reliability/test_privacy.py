"""Prompts stay where the user's conversations are: after prompts through the command line and
the local API, no file under BIZRA_HOME and no line of the API's log holds their text, except
the conversation store; the receipt tables hold commitments only (docs/RECEIPTS.md)."""

from __future__ import annotations

import http.client
import json
import re
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.api_support import JSON, chat_body
from tests.e2e.test_cli import bizra
from tests.helpers import RecordProperty

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
]

AREA = "Secrets and privacy"
# Where texts legitimately live: the conversations (titles, messages and their metadata).
CONTENT_TABLES = frozenset({"conversations", "messages"})
DATABASE_FILES = ("bizra.sqlite3", "bizra.sqlite3-wal", "bizra.sqlite3-shm")
MARKS = {"cli": "zebraquartz4711", "api": "orchidvector2718", "refused": "copperlantern1618"}


@dataclass(frozen=True)
class Traces:
    home: Path
    api_log: str


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Traces:
    """A home where one prompt went through `bizra ask`, one through `bizra serve` and one
    request was refused by the API (400), each carrying a word found nowhere else."""
    home = tmp_path_factory.mktemp("privacy") / "home"
    asked = bizra(home, "ask", f"Repeat the word {MARKS['cli']}.", "--max-tokens", "8")
    assert asked.returncode == 0, asked.stderr
    env = {"BIZRA_HOME": str(home), "PATH": "/usr/bin:/bin"}
    with subprocess.Popen(
        [sys.executable, "-m", "bizra_desktop", "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as server:
        assert server.stderr is not None
        match = re.search(r"http://127\.0\.0\.1:(\d+)/v1", server.stderr.readline())
        assert match
        with closing(http.client.HTTPConnection("127.0.0.1", int(match[1]), timeout=120)) as conn:
            for mark, extra in (("api", {"max_tokens": 8}), ("refused", {"n": 2})):
                body = chat_body(f"Repeat the word {MARKS[mark]}.", **extra)
                conn.request("POST", "/v1/chat/completions", body, JSON)
                response = conn.getresponse()
                assert response.status == (200 if mark == "api" else 400)
                json.loads(response.read())
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 0
        log = server.stderr.read()
    assert "bizra serve: POST /v1/chat/completions 200" in log
    return Traces(home, log)


def _leaks(text: str) -> list[str]:
    return [mark for mark in MARKS.values() if mark in text]


@pytest.mark.reliability(
    area=AREA,
    case="receipts carry commitments, never texts",
    done="prompts through `bizra ask` and `bizra serve`; every column of every table of the "
    "database but the conversations' scanned for them",
)
def test_no_table_but_the_conversations_holds_a_prompt(
    traces: Traces, record_property: RecordProperty
) -> None:
    with closing(sqlite3.connect(traces.home / "bizra.sqlite3")) as db:
        tables = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith("sqlite_")
        ]
        assert {"receipts", "commitment_salts", "checkpoints", "merkle_state"} <= set(tables)
        scanned = 0
        for table in sorted(set(tables) - CONTENT_TABLES):
            for row in db.execute(f"SELECT * FROM {table}"):
                for value in row:
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                    assert not _leaks(str(text)), (table, value)
                    scanned += 1
        (messages,) = db.execute("SELECT group_concat(content, ' ') FROM messages").fetchone()
    # Both front ends' exchanges are conversations; a refused request left nothing.
    assert MARKS["cli"] in messages and MARKS["api"] in messages
    assert MARKS["refused"] not in messages
    record_property("runs", scanned)
    record_property(
        "result", f"{scanned} values in {len(tables) - len(CONTENT_TABLES)} tables: no prompt"
    )


@pytest.mark.reliability(
    area=AREA,
    case="no file or log line holds a prompt",
    done="after `bizra ask` and `bizra serve` (an answer and a refused request): every file "
    "under BIZRA_HOME but the database, and the API's request log",
)
def test_no_file_or_log_line_holds_a_prompt(
    traces: Traces, record_property: RecordProperty
) -> None:
    files = [
        path
        for path in traces.home.rglob("*")
        if path.is_file() and path.name not in DATABASE_FILES
    ]
    for path in files:
        assert not _leaks(path.read_bytes().decode("utf-8", "replace")), path
    assert not _leaks(traces.api_log), traces.api_log
    log_lines = traces.api_log.count("\n")
    record_property("runs", len(files) + log_lines)
    record_property("result", f"{len(files)} files and {log_lines} log lines: no prompt")
