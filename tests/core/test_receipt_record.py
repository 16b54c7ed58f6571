"""The typed receipt record: version 2 round-trips through the chain, version 1 still reads,
malformed bodies are named by field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.commitments import commit
from bizra_desktop.core.receipts.record import (
    RECEIPT_VERSION,
    V2_ONLY,
    Engine,
    ModelIdentity,
    ReceiptFormatError,
    ReceiptRecord,
    Routing,
    history_commitment,
)
from tests.core.test_receipts import inference_fields

SALT = bytes(range(32))


def v2_record(**changes: Any) -> ReceiptRecord:
    fields: dict[str, Any] = {
        "model": ModelIdentity(
            name="SmolLM2-135M-Instruct", file="smol.gguf", sha256="ab" * 32, stand_in=True
        ),
        "tier": "NANO",
        "complexity": "simple",
        "params": {"temperature": 0.7, "seed": None, "stop": [], "n_ctx": 4096},
        "prompt_commitment": commit("What is 2 + 2?", SALT),
        "response_commitment": commit("4", SALT),
        "prompt_tokens": 12,
        "completion_tokens": 80,
        "ttft_ms": 31.5,
        "tokens_per_s": 8.46,
        "impact": 0.3498,
        "stopped": False,
        "app_version": "0.1.0",
        "engine": Engine(llama_cpp_python="0.3.36", system_info="CPU : AVX2 = 1 |"),
        "chat_template_sha256": "cd" * 32,
        "system_prompt_commitment": commit("Be brief.", SALT),
        "history_turns": 2,
        "history_commitment": history_commitment(
            [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}], SALT
        ),
        "seed": 123456,
        "cached_tokens": 9,
        "cache_left_by": "12" * 32,
        "routing": Routing(
            score=1.2,
            confidence=0.8,
            preference="balanced",
            rated="NANO",
            wanted="NANO",
            override=None,
            fallback="NANO (0.5B) is not installed; the starter stands in",
            reasons=("simple prompt → NANO (0.5B)",),
        ),
        "finish_reason": "stop",
        "parent_receipt": "ef" * 32,
    }
    return ReceiptRecord(**(fields | changes))


def test_a_version_2_record_round_trips_through_the_chain(tmp_path: Path) -> None:
    record = v2_record()
    with ReceiptChain(tmp_path / "bizra.sqlite3") as chain:
        receipt = chain.append(record.to_body())
        first = chain.append(v2_record(parent_receipt=None, history_turns=0).to_body())

    read = ReceiptRecord.from_body(receipt.body)
    assert read.version == RECEIPT_VERSION == receipt.body["version"] == 2
    assert (read.prev_hash, read.timestamp) == ("GENESIS", receipt.body["timestamp"])
    # Apart from what the chain adds, the record read back is the one written.
    assert read == v2_record(prev_hash="GENESIS", timestamp=receipt.body["timestamp"])
    assert receipt.body["prompt_cache"] == {"reused": True, "tokens": 9, "left_by": "12" * 32}
    assert receipt.body["history"]["turns"] == 2
    assert ReceiptRecord.from_body(first.body).parent_receipt is None
    assert read.replay_gaps() == ()
    assert read.impact_agrees and read.recomputed_impact == 0.3498


def test_a_version_1_body_still_reads_and_says_what_it_lacks() -> None:
    record = ReceiptRecord.from_body(inference_fields(1) | {"prev_hash": "GENESIS"})

    assert record.version == 1
    assert (record.seed, record.engine, record.routing, record.finish_reason) == (None,) * 4
    assert record.completion_tokens == 80 and record.model.sha256 == "ab" * 32
    assert record.replay_gaps() == V2_ONLY
    # Written back as version 1, it is the same body: old receipts keep their shape.
    assert "version" not in record.to_body()
    assert record.to_body() == inference_fields(1)


def test_a_remote_answer_cannot_be_replayed_here() -> None:
    record = v2_record(model=ModelIdentity(name="qwen", endpoint="http://10.0.0.2:8080/v1"))
    assert record.to_body()["model"] == {"name": "qwen", "endpoint": "http://10.0.0.2:8080/v1"}
    assert "remote server" in record.replay_gaps()[0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "note"}, "not an inference receipt"),
        ({"version": 3}, "receipt version 3 is newer than this app reads (2)"),
        ({"version": True}, "version is bool, not int"),
        ({"tokens": {"prompt": 1, "completion": "80"}}, "tokens.completion is str, not int"),
        ({"impact": float("nan")}, "impact is not a finite number"),
        ({"model": {"file": "x.gguf"}}, "model.name is missing"),
        ({"seed": 1.5}, "seed is float, not int"),
        ({"routing": {"score": 1}}, "routing.reasons is missing"),
    ],
)
def test_a_malformed_body_names_the_field(change: dict[str, Any], message: str) -> None:
    body = v2_record().to_body() | change
    with pytest.raises(ReceiptFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ReceiptRecord.from_body(body)


def test_the_history_commitment_binds_roles_texts_and_order() -> None:
    turns = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    assert history_commitment([], SALT) is None
    base = history_commitment(turns, SALT)
    assert base != history_commitment(turns[::-1], SALT)
    assert base != history_commitment([turns[0], {"role": "user", "content": "Hello!"}], SALT)
    assert base != history_commitment(turns, bytes(32))
