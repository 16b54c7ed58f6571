"""Faults while answering: `bizra` killed mid-answer and mid-save. A real process, the real model,
real SQLite files; after every fault the data is reopened and checked."""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from benchmarks.durability import check_after_kill
from bizra_desktop.core.conversations import ConversationStore
from tests.core.test_hostile_templates import RUNAWAY
from tests.e2e.test_cli import bizra
from tests.gguf_tools import with_strings
from tests.helpers import RecordProperty, starter_path
from tests.reliability.processes import (
    Child,
    bizra_command,
    bizra_env,
    chain_state,
    still_running,
    stored_messages,
)

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL and /proc"),
]

LONG_PROMPT = "Write a long story about a lighthouse keeper and the sea."
LONG_ANSWER = ("--max-tokens", "400", "--temperature", "0", "--seed", "1")
# A killed `bizra` leaves its inference host without a parent; the host must end by itself.
ORPHAN_GRACE_S = 10.0
# Kills aimed this long (at most) before `ask` would print: its run-to-run jitter is of that order.
KILL_WINDOW_S = 0.05

Stored = tuple[str, str, str | None]  # role, content, receipt hash


def _ask(home: Path, prompt: str) -> tuple[list[Stored], str]:
    """A `bizra ask` that runs to its end: the messages it saved and its receipt's hash."""
    result = bizra(home, "ask", prompt, "--max-tokens", "6", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    saved = [("user", prompt, None), ("assistant", answer["text"], answer["receipt_hash"])]
    return saved, answer["receipt_hash"]


def _routed(child: Child) -> bool:
    """The routing line is out: the model is being loaded."""
    return b"]\n" in child.stderr


def _rendering(child: Child) -> bool:
    """A second after the routing line: the host is inside the runaway template, well before
    the app's 10 s watchdog would stop it."""
    if not _routed(child):
        return False
    time.sleep(1.0)
    return True


def _answered(size: int, child: Child) -> bool:
    return len(child.stdout) >= size


def _printed(child: Child) -> bool:
    """`ask --json` printed its one line: the answer and its receipt's hash."""
    return child.stdout.endswith(b"\n")


def _stored(home: Path) -> list[Stored]:
    return [(m.role, m.content, m.receipt_hash) for m in stored_messages(home)]


@pytest.mark.reliability(
    area="Faults",
    case="SIGKILL of the app mid-generation, then restart",
    done="killed `bizra ask` at 6 moments (while the model loaded; after 1, 16, 64 and 160 "
    "bytes of the answer; while a runaway chat template rendered); after each kill reopened "
    "both stores, checked every acknowledged message and receipt, the killed answer's prompt and "
    "partial answer (a prefix of what was shown), the chain, and that the inference host ended; "
    "then asked again",
)
def test_sigkill_mid_generation_loses_nothing_acknowledged(
    record_property: RecordProperty, bizra_home: Path, tmp_path: Path
) -> None:
    # A host busy in a load, a long prompt or this template sends nothing, so it cannot learn
    # from its pipe that the app is gone.
    runaway = with_strings(
        starter_path(), tmp_path / "runaway.gguf", {"tokenizer.chat_template": RUNAWAY}
    )
    moments: dict[str, tuple[tuple[str, ...], Callable[[Child], bool]]] = {
        "while the model loads": ((), _routed),
        **{f"after {n} bytes of the answer": ((), partial(_answered, n)) for n in (1, 16, 64, 160)},
        "while a runaway chat template renders": (("--model", str(runaway)), _rendering),
    }
    acknowledged: list[Stored] = []
    receipts: list[str] = []
    orphans = 0
    for number, (moment, (model, ready)) in enumerate(moments.items(), 1):
        saved, receipt = _ask(bizra_home, f"Name a colour, please ({number}).")
        acknowledged += saved
        receipts.append(receipt)

        command = bizra_command("ask", LONG_PROMPT, *LONG_ANSWER, *model)
        with Child(command, bizra_env(bizra_home)) as child:
            child.wait_for(partial(ready, child))
            left = still_running(child.kill(), ORPHAN_GRACE_S)
        orphans += len(left)

        assert not left, f"killed {moment}: processes {left} outlived their parent"
        stored = _stored(bizra_home)
        assert stored[: len(acknowledged)] == acknowledged, f"killed {moment}"
        # The killed answer's conversation: its prompt, saved before the model ran, and the
        # answer as far as it was saved while it streamed (a prefix of what was shown, at most
        # about a second behind), marked partial and without a receipt.
        prompt, answer = stored[len(acknowledged) :]
        assert prompt == ("user", LONG_PROMPT, None), f"killed {moment}"
        assert (answer[0], answer[2]) == ("assistant", None), f"killed {moment}"
        assert bytes(child.stdout).startswith(answer[1].encode()), f"killed {moment}"
        assert stored_messages(bizra_home)[-1].meta.get("partial") is True
        acknowledged += [prompt, answer]
        report, hashes = chain_state(bizra_home)
        assert report.ok, f"killed {moment}: {report.message}"
        assert hashes == receipts, f"killed {moment}: the chain is not the acknowledged receipts"

    verified = bizra(bizra_home, "receipts", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    saved, receipt = _ask(bizra_home, "And one more colour?")
    assert _stored(bizra_home) == [*acknowledged, *saved]
    assert chain_state(bizra_home)[1] == [*receipts, receipt]

    record_property("runs", len(moments))
    record_property(
        "result",
        f"0 of {len(acknowledged)} acknowledged messages and 0 of {len(receipts)} receipts lost "
        f"(each killed answer kept its prompt and, marked partial, what had been saved of it); "
        f"chain verified {len(moments)}/{len(moments)}; {orphans} inference hosts outlived "
        "their parent; the next ask answered",
    )


@pytest.mark.reliability(
    area="Faults",
    case="SIGKILL mid-receipt-append and mid-save of a finished answer, then restart",
    done="killed `bizra ask --json` 12 times around the end of its answer: 0-8 ms after it "
    "printed the answer and its receipt and 0-50 ms before (while the receipt is appended and "
    "the conversation saved); the receipts chain alone: tests/core/test_durability.py",
)
def test_sigkill_while_a_finished_answer_is_saved(
    record_property: RecordProperty, bizra_home: Path
) -> None:
    rng = random.Random(8)
    acknowledged: list[str] = []  # receipt hashes printed before a kill
    outcomes: dict[str, int] = {}
    # How long `bizra ask` takes to print its answer (not to exit: the host's shutdown comes
    # after), to aim the kills before it: the second of two, the first warms the page cache.
    for prompt in ("Say hello.", "Say hi."):
        command = bizra_command("ask", prompt, "--max-tokens", "6", "--json")
        with Child(command, bizra_env(bizra_home)) as child:
            child.wait_for(partial(_printed, child))
            took = time.monotonic() - child.started
            assert child.finish() == 0, child.output()
        acknowledged.append(json.loads(child.stdout)["receipt_hash"])
    check_after_kill(bizra_home, acknowledged)
    prompts = {"Say hello.", "Say hi."}
    for number in range(12):
        prompt = f"Say hello to number {number}."
        prompts.add(prompt)
        command = bizra_command("ask", prompt, "--max-tokens", "6", "--json")
        with Child(command, bizra_env(bizra_home)) as child:
            if number % 2:  # just after the receipt was printed
                child.wait_for(partial(_printed, child))
                time.sleep(rng.uniform(0, 0.008))
            else:  # just before it would be printed: the receipt is being appended, or about to
                time.sleep(max(0.0, took - rng.uniform(0, KILL_WINDOW_S)))
            child.kill()
        printed = _printed(child)
        if printed:
            acknowledged.append(json.loads(child.stdout)["receipt_hash"])
        reconciled = check_after_kill(bizra_home, acknowledged)  # the chain verifies, none lost

        conversations = _conversations(bizra_home)
        state = _save_state(conversations.get(prompt))
        outcome = f"{'receipt printed' if printed else 'not printed'}, {state}"
        if reconciled:
            outcome = "receipt committed, not printed, " + state
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        # Every saved answer follows its prompt and links to a receipt in the chain, or was
        # killed before its receipt: the answer stored when its run began, still marked partial.
        for title, saved in conversations.items():
            assert [role for role, _, _ in saved] in ([], ["user"], ["user", "assistant"])
            for _, receipt, partial_answer in saved[1:]:
                linked = receipt in acknowledged and not partial_answer
                assert linked if receipt else partial_answer, title
        if printed:  # the conversation is saved before the receipt is shown
            assert state == "prompt and answer saved"
        assert set(conversations) <= prompts

    assert bizra(bizra_home, "receipts", "verify").returncode == 0
    _ask(bizra_home, "Still there?")
    record_property("runs", 12)
    record_property(
        "result",
        f"0 of {len(acknowledged)} acknowledged receipts lost, chain verified 12/12, every answer "
        "after its prompt, with its receipt or marked partial; outcomes: "
        + "; ".join(f"{count}x {outcome}" for outcome, count in sorted(outcomes.items())),
    )


SavedMessage = tuple[str, str | None, bool]  # role, receipt hash, marked partial


def _conversations(home: Path) -> dict[str, list[SavedMessage]]:
    """Each conversation by its title (its prompt): its messages' roles, receipt hashes and
    whether they are marked partial."""
    with ConversationStore(home / "bizra.sqlite3") as store:
        return {
            conversation.title: [
                (m.role, m.receipt_hash, m.meta.get("partial") is True)
                for m in store.messages(conversation.id)
            ]
            for conversation in store.list()
        }


def _save_state(saved: list[SavedMessage] | None) -> str:
    if saved is None:
        return "nothing saved"
    if len(saved) == 2 and saved[1][1] is None:
        return "prompt and partial answer saved"
    return {0: "empty conversation", 1: "prompt saved", 2: "prompt and answer saved"}[len(saved)]
