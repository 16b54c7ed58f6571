"""Receipts of version 2 on the real starter model: everything needed to make the answer again."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator

import llama_cpp
import pytest

from bizra_desktop import __version__
from bizra_desktop.core.engine.protocol import SamplingParams
from bizra_desktop.core.models.store import open_model
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Finished, Pipeline, RunOptions
from bizra_desktop.core.receipts.commitments import commit
from bizra_desktop.core.receipts.record import ReceiptRecord, history_commitment
from bizra_desktop.core.tiers import Tier
from tests.helpers import starter_path

pytestmark = pytest.mark.model

GREEDY = SamplingParams(temperature=0.0, max_tokens=16)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    instance = Pipeline(DataPaths(tmp_path_factory.mktemp("receipt-v2-home")))
    yield instance
    instance.close()


def answer(pipeline: Pipeline, prompt: str, options: RunOptions) -> tuple[Finished, ReceiptRecord]:
    events = list(pipeline.run(prompt, options))
    finished = events[-1]
    assert isinstance(finished, Finished), finished
    return finished, ReceiptRecord.from_body(finished.receipt.body)


def salt_of(pipeline: Pipeline, receipt_hash: str) -> bytes:
    with sqlite3.connect(pipeline.paths.database) as db:
        (salt,) = db.execute(
            "SELECT salt FROM commitment_salts WHERE receipt_hash = ?", (receipt_hash,)
        ).fetchone()
    return bytes(salt)


def test_a_receipt_records_build_template_seed_routing_and_finish(pipeline: Pipeline) -> None:
    options = RunOptions(params=SamplingParams(temperature=0.8, max_tokens=16))
    finished, record = answer(pipeline, "Name a colour.", options)

    assert record.version == 2 and record.app_version == __version__
    assert record.engine is not None
    assert record.engine.llama_cpp_python == llama_cpp.__version__
    assert record.engine.system_info.startswith("CPU :")
    template = open_model(starter_path(), is_starter=True).header.chat_template
    assert template
    assert record.chat_template_sha256 == hashlib.sha256(template.encode()).hexdigest()
    # No seed was asked for: the host drew one, and the receipt holds it.
    assert record.params["seed"] is None
    assert isinstance(record.seed, int) and 0 <= record.seed < 2**32 - 1
    assert record.finish_reason == finished.stats.finish_reason.value
    assert record.routing is not None
    assert (record.routing.score, record.routing.confidence) == (
        finished.analysis.score,
        finished.analysis.confidence,
    )
    assert (record.routing.rated, record.routing.override) == ("NANO", None)
    assert record.routing.fallback == finished.decision.fallback
    assert (record.system_prompt_commitment, record.history_turns) == (None, 0)
    assert (record.history_commitment, record.parent_receipt) == (None, None)
    assert record.impact_agrees


def test_a_second_turn_records_its_history_system_prompt_parent_and_cache(
    pipeline: Pipeline,
) -> None:
    system = "You answer in one short sentence."
    first, _ = answer(pipeline, "What is the capital of France?", RunOptions(params=GREEDY))
    history = (
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": first.text},
    )
    options = RunOptions(
        params=GREEDY,
        system_prompt=system,
        history=history,
        pin=Tier.MICRO,
        parent_receipt=first.receipt.hash,
    )
    # The same conversation again, with its system prompt: the second run finds the first's
    # tokens in the KV cache.
    again, _ = answer(pipeline, "And of Italy?", options)
    second, record = answer(pipeline, "And of Italy?", options)

    salt = salt_of(pipeline, second.receipt.hash)
    assert record.system_prompt_commitment == commit(system, salt)
    assert (record.history_turns, record.history_commitment) == (
        2,
        history_commitment(history, salt),
    )
    assert record.parent_receipt == first.receipt.hash
    assert record.routing is not None and record.routing.override == "tier"
    assert record.routing.wanted == "MICRO"
    assert record.cached_tokens is not None and record.cached_tokens > 0
    assert record.cached_tokens < record.prompt_tokens
    # The first run of this prompt left the cache the second reused.
    assert second.receipt.body["prompt_cache"] == {
        "reused": True,
        "tokens": record.cached_tokens,
        "left_by": again.receipt.hash,
    }
    assert pipeline.chain.verify().ok


def test_a_seed_given_is_the_seed_recorded_and_the_answer_repeats(pipeline: Pipeline) -> None:
    """Under one seed, sampling at temperature 0.9 gives the same answer twice: the engine is
    deterministic under a seed, which is what lets `receipts replay` check a sampled answer."""
    options = RunOptions(params=SamplingParams(temperature=0.9, max_tokens=24, seed=4242))
    first, record = answer(pipeline, "Tell me a fact about owls.", options)
    again, _ = answer(pipeline, "Tell me a fact about owls.", options)

    assert record.seed == 4242 == record.params["seed"]
    assert first.text == again.text
