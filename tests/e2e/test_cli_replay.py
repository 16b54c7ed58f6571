"""`bizra receipts replay` and the impact check of `receipts verify`, as users run them: a real
process, a temp BIZRA_HOME, the real starter model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.engine.protocol import SamplingParams
from bizra_desktop.core.models.hashing import sha256_files
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Finished, Pipeline, RunOptions
from bizra_desktop.core.presets import BUILT_IN
from bizra_desktop.core.receipts.chain import CHAIN_FIELDS, ReceiptChain
from bizra_desktop.core.receipts.record import Engine, ModelIdentity, ReceiptRecord
from tests.core.test_receipt_record import v2_record
from tests.core.test_receipts import inference_fields
from tests.e2e.test_cli import bizra
from tests.e2e.test_cli_receipts import build, one_line_error
from tests.helpers import starter_path


def asked(home: Path, *args: str) -> str:
    """`bizra ask … --json`: the receipt hash of its answer."""
    result = bizra(home, "ask", *args, "--max-tokens", "24", "--json")
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["receipt_hash"])


@pytest.mark.model
def test_a_greedy_answer_replays_identically(bizra_home: Path) -> None:
    receipt_hash = asked(bizra_home, "What is the capital of France?", "--temperature", "0")

    result = bizra(bizra_home, "receipts", "replay", receipt_hash[:12])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("identical: the answer of receipt #1 was made again")


@pytest.mark.model
def test_a_sampled_answer_replays_identically_under_the_seed_it_drew(bizra_home: Path) -> None:
    """No seed asked, temperature 0.9, a preset's system prompt: the host drew a seed, the
    receipt holds it, and the preset's system prompt is recognised by its commitment."""
    code = next(preset for preset in BUILT_IN if preset.name == "Code")
    receipt_hash = asked(
        bizra_home, "Write a haiku about rain.", "--temperature", "0.9", "--preset", "Code"
    )

    result = bizra(bizra_home, "receipts", "replay", receipt_hash, "--json")
    assert result.returncode == 0, result.stderr
    replayed = json.loads(result.stdout)
    assert replayed["identical"] is True and replayed["seq"] == 1
    with ReceiptChain(bizra_home / "bizra.sqlite3") as chain:
        receipt = chain.get(receipt_hash)
    assert receipt is not None
    record = ReceiptRecord.from_body(receipt.body)
    assert record.seed is not None and record.system_prompt_commitment is not None
    assert code.system_prompt
    # Given by hand instead, a prompt that is not the receipt's is bad input.
    wrong = bizra(bizra_home, "receipts", "replay", receipt_hash, "--prompt", "-", stdin="Hi")
    one_line_error(wrong, 2, "the prompt given is not the one receipt #1 was made for")


@pytest.mark.model
def test_a_later_turn_replays_with_its_history_and_a_changed_build_is_named(
    bizra_home: Path,
) -> None:
    """The window's way: one pipeline answers the turns, the conversation store keeps them.
    The second answer takes its prompt's start from the KV cache the first left, which can
    round otherwise than a fresh decode: the receipt names the first, and the replay rebuilds
    the cache by replaying it first."""
    paths = DataPaths(bizra_home)
    greedy = RunOptions(params=SamplingParams(temperature=0.0, max_tokens=20))
    pipeline = Pipeline(paths)
    with ConversationStore(paths.database) as store:
        chat = store.create("Capitals").id
        history: tuple[dict[str, str], ...] = ()
        answers: list[Finished] = []
        try:
            for prompt in ("What is the capital of France?", "And of Italy?"):
                store.add_message(chat, "user", prompt)
                finished = answered(pipeline, prompt, replace(greedy, history=history))
                store.add_message(
                    chat, "assistant", finished.text, receipt_hash=finished.receipt.hash
                )
                history += (
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": finished.text},
                )
                answers.append(finished)
        finally:
            pipeline.close()
        first, finished = answers
        record = ReceiptRecord.from_body(finished.receipt.body)
        assert record.cached_tokens and record.cache_left_by == first.receipt.hash
        # The second receipt as if an older llama.cpp had made it (appended anew, so the
        # chain verifies), in a copy of the conversation.
        body = {k: v for k, v in finished.receipt.body.items() if k not in CHAIN_FIELDS}
        older = Engine(llama_cpp_python="0.0.1", system_info="CPU : SSE3 = 1 |")
        changed = replace(ReceiptRecord.from_body(body), engine=older)
        with ReceiptChain(paths.database) as chain:
            relabelled = chain.append(changed.to_body(), salt_of(paths, finished))
        copy = store.create("Capitals, again").id
        for turn in history[:-1]:
            store.add_message(copy, turn["role"], turn["content"])
        store.add_message(copy, "assistant", finished.text, receipt_hash=relabelled.hash)

    second = bizra(bizra_home, "receipts", "replay", finished.receipt.hash)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("identical: the answer of receipt #2 was made again")
    assert "the KV cache it reused was rebuilt by replaying receipt #1 first" in second.stdout

    other_build = bizra(bizra_home, "receipts", "replay", relabelled.hash)
    assert other_build.returncode == 0, other_build.stderr
    assert other_build.stdout.startswith("identical: the answer of receipt #3")
    assert "a different llama.cpp build answers now" in other_build.stdout
    assert "the receipt's 0.0.1), so the same answer is not guaranteed" in other_build.stdout

    # An earlier turn edited since: not the history the answer was made with.
    with ConversationStore(paths.database) as store, store.connection() as conn:
        conn.execute("UPDATE messages SET content = 'What is the capital of Spain?' WHERE id = 1")
    one_line_error(
        bizra(bizra_home, "receipts", "replay", finished.receipt.hash),
        1,
        "the 2 earlier turns receipt #2 was answered with are not available as they were sent",
    )


def answered(pipeline: Pipeline, prompt: str, options: RunOptions) -> Finished:
    finished = list(pipeline.run(prompt, options))[-1]
    assert isinstance(finished, Finished), finished
    return finished


def salt_of(paths: DataPaths, finished: Finished) -> bytes:
    with ReceiptChain(paths.database) as chain, chain.connection() as conn:
        (salt,) = conn.execute(
            "SELECT salt FROM commitment_salts WHERE receipt_hash = ?", (finished.receipt.hash,)
        ).fetchone()
    return bytes(salt)


def test_what_cannot_be_replayed_is_named(bizra_home: Path) -> None:
    database = bizra_home / "bizra.sqlite3"
    (version_1,) = build(bizra_home, 1)
    starter = ModelIdentity(name="SmolLM2", sha256=sha256_files([starter_path()]))
    with ReceiptChain(database) as chain:
        missing = chain.append(v2_record().to_body()).hash  # a model no file here has
        untold = chain.append(v2_record(model=starter).to_body()).hash  # no texts kept
        remote = chain.append(
            inference_fields(9) | {"version": 2, "model": {"name": "qwen", "endpoint": "http://x"}}
        ).hash

    one_line_error(
        bizra(bizra_home, "receipts", "replay", version_1),
        1,
        "receipt #1 is version 1, which does not record the seed used, the chat template",
    )
    one_line_error(
        bizra(bizra_home, "receipts", "replay", missing, "--prompt", "What is 2 + 2?"),
        1,
        f"the model of receipt #2 is not installed: no model file here has SHA-256 {'ab' * 32}",
    )
    one_line_error(
        bizra(bizra_home, "receipts", "replay", remote), 1, "it answered on a remote server"
    )
    one_line_error(bizra(bizra_home, "receipts", "replay", "f" * 64), 2, "there is no receipt")
    one_line_error(bizra(bizra_home, "receipts", "replay", "xyz"), 2, "is not a receipt hash")
    no_text = bizra(bizra_home, "receipts", "replay", untold)
    one_line_error(no_text, 1, "the prompt of receipt #3 is not available")
    helped = bizra(bizra_home, "receipts", "replay", "--help")
    assert "exit codes: 0 identical; 1 the answer differs" in " ".join(helped.stdout.split())


def test_verify_and_impact_name_a_receipt_whose_impact_disagrees(bizra_home: Path) -> None:
    database = bizra_home / "bizra.sqlite3"
    build(bizra_home, 2)
    with ReceiptChain(database) as chain:
        chain.append(inference_fields(3) | {"impact": 0.9})  # its fields give 0.3498

    verified = bizra(bizra_home, "receipts", "verify")
    assert verified.returncode == 1
    assert verified.stdout.startswith("chain of 3 receipts is intact")
    assert verified.stderr == "receipt #3 states impact 0.9 but its fields give 0.3498\n"

    impact = bizra(bizra_home, "receipts", "impact", "--json")
    assert impact.returncode == 1
    record = json.loads(impact.stdout)
    assert record["total"] == pytest.approx(3 * 0.3498)
    assert record["disagreements"] == [
        {"seq": 3, "stated": 0.9, "recomputed": 0.3498, "problem": None}
    ]
