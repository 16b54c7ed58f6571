"""Speculative decoding: drafters guess the next tokens, the answering model checks them.

Two drafters: prompt lookup (the tokens that followed the latest earlier occurrence of the
answer's last few tokens, in the prompt or the answer: rewrites, code fixes and formatted
translations repeat what they quote) and a draft model (a smaller model with the same
vocabulary, greedily: Qwen2.5 NANO for MEDIUM and LARGE).

Verification is "sample, then match": the answering model decodes the pending token and the
draft in one batch, then its own sampler picks the token at each position in turn, exactly as
plain decoding would; a position's pick is kept and the next position is read only while the
pick equals the draft token there, because only then was that position computed on the right
prefix. Every answer token is therefore drawn from the answering model's own distribution on
a verified prefix, by the same sampler calls in the same order: greedy output is identical
token for token with and without drafting, and so is seeded sampling, as long as a batch's
logits are bit-identical to one-at-a-time decoding. On the CPU with flash attention they are
while the KV cache view is 256 cells (the tests check the tokens); past that, llama.cpp
reduces a single-token query's attention in split chunks and a batch's in one, the last bits
differ, and a near tie may pick the other greedy token: the same rounding by which plain
decoding already answers a prompt differently when part of it comes from the KV cache.
Rejection sampling (Leviathan et al.) accepts more drafted tokens at temperature > 0 but needs
the drafter's probabilities, which prompt lookup has not, and gives up the seeded identity.

Drafting pays only when a drafted token is cheaper than a decoded one: a batch of n tokens
costs far less than n single decodes on a GPU, but on two CPU cores a small model is
compute-bound: with logits for every row (verification needs them) a batch of 2, 4, 8 and 16
costs 1.9, 3.0, 5.0 and 9.2 single decodes (SmolLM2-135M, 250 tokens in the KV cache), about
1 + 0.57 (n - 1). An answer drafted entirely right is then at most 1.7 times as fast
(16 / 9.2), and the rewrite workload of `bizra bench --draft`, whose answers copy 60 % of their
tokens, at most 1.3 times even for a drafter that knew how far each copy runs. `DraftPolicy`
measures both costs as it goes, estimates how often each drafter is right, and drafts the
length that maximises expected tokens per second — nothing when a drafter keeps missing.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bizra_desktop.core.engine.protocol import DraftStats

if TYPE_CHECKING:
    from bizra_desktop.core.engine.decode import Decoder

# The longest draft one batch verifies: past this even a GPU's batch costs grow.
MAX_DRAFT = 16
# Prompt lookup matches the answer's last NGRAM_MAX..NGRAM_MIN tokens (longest first).
NGRAM_MAX = 4
NGRAM_MIN = 2
# A draft model stops drafting where its own top choice is less likely than this.
DRAFT_MODEL_MIN_P = 0.5


class Drafter(ABC):
    """Guesses the tokens that follow `context` (prompt, answer so far, pending token)."""

    method: str  # as receipts name it: "prompt_lookup", "draft_model"
    model: str | None = None  # the draft model's file name
    seconds_per_token: float = 0.0  # what a drafted token costs to draft (measured)

    @abstractmethod
    def draft(self, context: Sequence[int], limit: int) -> list[int]:
        """At most `limit` (≥ 1) tokens; empty when it has no guess."""


class PromptLookup(Drafter):
    """The continuation of the latest earlier occurrence of the context's last n-gram.

    Like llama-cpp-python's `LlamaPromptLookupDecoding`, but with an index built as the
    context grows (constant work a token instead of a scan of the whole context) and the
    latest occurrence instead of the first: an answer that repeats itself (a list, a table)
    repeats what it wrote last.
    """

    method = "prompt_lookup"

    def __init__(self) -> None:
        # n-gram → the position after its latest occurrence.
        self._next: dict[tuple[int, ...], int] = {}
        self._indexed = 0  # context positions whose n-grams ending there are in the index

    def draft(self, context: Sequence[int], limit: int) -> list[int]:
        end = len(context)
        # Index every n-gram that ends before the last token: the last n-gram itself must
        # not find itself.
        for stop in range(max(self._indexed, 1), end):
            for n in range(NGRAM_MIN, NGRAM_MAX + 1):
                if stop >= n:
                    self._next[tuple(context[stop - n : stop])] = stop
        self._indexed = max(self._indexed, end)
        for n in range(NGRAM_MAX, NGRAM_MIN - 1, -1):
            if end < n:
                continue
            start = self._next.get(tuple(context[end - n :]))
            if start is not None:
                return list(context[start : min(start + limit, end)])
        return []


class ModelDrafter(Drafter):
    """A smaller model with the same vocabulary drafts greedily from its own KV cache, which
    it keeps in step with the context (its cached prefix is reused, the rest decoded)."""

    method = "draft_model"

    def __init__(self, llama: Any, model: str) -> None:
        import numpy as np  # noqa: PLC0415 - comes with llama-cpp-python

        self._np = np
        self.llama = llama
        self.model = model
        self._n_vocab = llama.n_vocab()

    def draft(self, context: Sequence[int], limit: int) -> list[int]:
        np, llama = self._np, self.llama
        started = time.perf_counter()
        cached = llama.input_ids[: llama.n_tokens]
        shared = min(len(cached), len(context) - 1)  # at least one token decodes: fresh logits
        differ = np.nonzero(cached[:shared] != np.asarray(context[:shared], dtype=cached.dtype))
        if differ[0].size:
            shared = int(differ[0][0])
        llama.n_tokens = shared  # Llama.eval drops the KV cache past n_tokens
        llama.eval(context[shared:])
        drafted: list[int] = []
        while True:
            logits = np.ctypeslib.as_array(llama._ctx.get_logits_ith(-1), shape=(self._n_vocab,))
            best = int(logits.argmax())
            # Softmax probability of the top token: 1 / Σ exp(l - max).
            if float(np.exp(logits - logits[best]).sum()) * DRAFT_MODEL_MIN_P > 1:
                break
            drafted.append(best)
            if len(drafted) == limit:
                break
            llama.eval([best])
        # Timed per call, catching up included, but not a first call's prompt decode: that is
        # paid once an answer.
        if drafted and len(context) - shared <= MAX_DRAFT + 1:
            spent = (time.perf_counter() - started) / len(drafted)
            previous = self.seconds_per_token
            self.seconds_per_token = spent if not previous else 0.8 * previous + 0.2 * spent
        return drafted


def vocabulary_mismatch(target: Any, draft: Any) -> str | None:
    """Why `draft` cannot draft for `target` (None: it can): llama.cpp's own speculative
    example asks for the same vocabulary type and end token, sizes within 128 (Qwen2.5 pads
    its 0.5B and 7B vocabularies differently), and the same text for the same token ids."""
    t_model, d_model = target._model, draft._model
    if t_model.vocab_type() != d_model.vocab_type():
        return "its tokenizer is of another type"
    if target.token_eos() != draft.token_eos():
        return "its end-of-text token differs"
    common = min(target.n_vocab(), draft.n_vocab())
    if abs(target.n_vocab() - draft.n_vocab()) > 128:
        return f"its vocabulary has {draft.n_vocab():,} tokens, not {target.n_vocab():,}"
    # Every 61st id and the last: a different tokenizer differs almost everywhere.
    for token in (*range(0, common, 61), common - 1):
        if t_model.token_get_text(token) != d_model.token_get_text(token):
            return f"its token {token} is another text"
    return None


@dataclass
class _Record:
    """One drafter's record in one answer: for the receipt and for its acceptance estimate."""

    drafter: Drafter
    drafted: int = 0
    accepted: int = 0
    # A geometric model of acceptance: each drafted token is right with probability p, given
    # the ones before it were. Counts decay, so an answer that turns to copying (after an
    # introduction) is noticed: and while a drafter is not asked they drift to the prior.
    right: float = 3.0
    wrong: float = 1.0

    @property
    def p(self) -> float:
        return self.right / (self.right + self.wrong)

    def stats(self) -> DraftStats:
        return DraftStats(
            method=self.drafter.method,
            model=self.drafter.model,
            drafted=self.drafted,
            accepted=self.accepted,
        )


_DECAY = 0.8
_PRIOR_RIGHT, _PRIOR_WRONG = 3.0, 1.0


class DraftPolicy:
    """How many tokens to draft: the length with the most expected tokens per second, from
    measured batch costs (t(n) = single + slope·(n - 1)) and each drafter's acceptance."""

    def __init__(self) -> None:
        self.single = 0.0  # seconds for a one-token decode; 0 until measured
        self.slope = 0.0  # seconds each further token in a batch adds; 0 until measured

    def observe(self, n: int, seconds: float) -> None:
        if n == 1:
            self.single = seconds if not self.single else 0.8 * self.single + 0.2 * seconds
        elif self.single:
            slope = max(0.0, (seconds - self.single) / (n - 1))
            self.slope = slope if not self.slope else 0.8 * self.slope + 0.2 * slope

    def length(self, record: _Record, limit: int) -> int:
        if not self.single:
            return 0  # measure one plain token first
        # Before any batch is measured: a little below two CPU cores' slope (module docstring),
        # so that drafting is tried and its batches measured; the measured slope then decides.
        slope = self.slope or 0.45 * self.single
        p, best, best_rate, expected = record.p, 0, 1 / self.single, 1.0
        for k in range(1, min(limit, MAX_DRAFT) + 1):
            expected += p**k
            cost = self.single + k * (slope + record.drafter.seconds_per_token)
            if expected / cost > best_rate:
                best, best_rate = k, expected / cost
        return best


class Speculation:
    """Decodes the answer with drafts from `drafters` (the first with a guess is used),
    verified as the module docstring says. `stats()` reports each drafter's counts."""

    def __init__(self, drafters: Sequence[Drafter]) -> None:
        self.records = [_Record(drafter) for drafter in drafters]
        self.policy = DraftPolicy()

    def stats(self) -> tuple[DraftStats, ...]:
        return tuple(record.stats() for record in self.records)

    def tokens(
        self, decoder: Decoder, token: int, sample: Callable[[int], int], budget: int
    ) -> Iterator[int]:
        """The answer's tokens, at most `budget`, the first being `token` (sampled from the
        prompt's logits); `sample` picks the token at a row of the last batch's logits."""
        llama = decoder.llama
        context = [*decoder.cached(), token]
        produced = 1
        yield token
        while produced < budget:
            start = llama.n_tokens
            # input_ids holds the n_ctx asked for; llama.cpp may round the context up.
            room = min(budget - produced - 1, len(llama.input_ids) - start - 1)
            record, draft = self._draft(context, room)
            batch = [token, *draft]
            started = time.perf_counter()
            decoder.decode(batch, all_logits=True)
            self.policy.observe(len(batch), time.perf_counter() - started)
            for index in range(len(batch)):
                token = sample(index)
                context.append(token)
                produced += 1
                if index < len(draft) and token == draft[index]:
                    yield token
                    continue
                if index < len(draft):  # a miss: the positions after it are wrong
                    decoder.truncate(start + index + 1)
                if record is not None:
                    self._learn(record, len(draft), index)
                yield token
                break

    def _draft(self, context: list[int], room: int) -> tuple[_Record | None, list[int]]:
        for record in self.records:
            length = self.policy.length(record, room)
            if not length:
                # Not asked: its estimate drifts back to the prior, so it is tried again.
                record.right = _DECAY * record.right + (1 - _DECAY) * _PRIOR_RIGHT
                record.wrong = _DECAY * record.wrong + (1 - _DECAY) * _PRIOR_WRONG
                continue
            draft = record.drafter.draft(context, length)
            if draft:
                return record, draft
        return None, []

    def _learn(self, record: _Record, drafted: int, accepted: int) -> None:
        record.drafted += drafted
        record.accepted += accepted
        record.right = _DECAY * record.right + accepted
        record.wrong = _DECAY * record.wrong + (accepted < drafted)
