"""Our decode loop on llama.cpp's low-level API, in place of llama-cpp-python's `Llama.generate`.

It decodes what `Llama.generate` decodes, in the same batches (so the same logits, bit for bit,
and the same tokens), less its per-token Python work: no key-value cache removal before every
token, no batch refilled field by field through a loop, no sampler call through a dozen keyword
arguments. A token is four writes into one reused batch, one `llama_decode` and the sampler.

The KV cache is described by the `Llama` object's own `input_ids[:n_tokens]`, which the loop
keeps in step, so a prompt that continues an earlier conversation decodes only its new suffix,
and `Llama.eval` and `Llama.reset` (the load check, a draft model) see a true record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bizra_desktop.core.engine.drafts import Speculation

# llama.cpp's KV cache holds one sequence for a chat: id 0.
_SEQ = 0


class Decoder:
    """Decodes into one `Llama`'s context and KV cache through its reused batch."""

    def __init__(self, llama_cpp: Any, llama: Any) -> None:
        self.llama = llama
        self._llama_decode = llama_cpp.llama_decode
        self._seq_rm = llama_cpp.llama_memory_seq_rm
        self._ctx = llama._ctx.ctx
        self._memory = llama._ctx.memory
        self._input_ids = llama.input_ids
        self._n_batch = llama.n_batch
        # Sized n_batch; reused by every decode (llama-cpp-python's Llama.eval uses it too).
        self._batch = llama._batch.batch
        # What the last prompt() took from the cache, for the receipt (tokens() decodes the
        # prompt lazily, inside the answer's iteration, so its return value is not at hand).
        self.from_cache = 0

    def prompt(self, tokens: Sequence[int]) -> int:
        """Make the KV cache hold `tokens`, reusing the prefix it holds already, with the
        last token's logits ready to sample. Returns how many tokens came from the cache.

        As `Llama.generate` does: the whole prompt cached with live logits decodes nothing;
        else the cache is cut after the shared prefix (at least one token decodes, for fresh
        logits) and the rest decodes in batches of n_batch."""
        llama = self.llama
        held = llama.n_tokens
        shared = self._shared_prefix(tokens)
        if shared == len(tokens) == held and not llama._requires_eval:
            self.from_cache = int(held)
            return self.from_cache
        reuse = min(shared, len(tokens) - 1)
        if reuse > 0 and self._seq_rm(self._memory, _SEQ, reuse, -1):
            llama.n_tokens = reuse
        else:  # nothing shared (or a model whose cache cannot be cut): start afresh
            llama.reset()
            reuse = 0
            self._seq_rm(self._memory, _SEQ, 0, -1)
        for start in range(reuse, len(tokens), self._n_batch):
            self.decode(tokens[start : start + self._n_batch], all_logits=False)
        self.from_cache = reuse
        return reuse

    def _shared_prefix(self, tokens: Sequence[int]) -> int:
        held = self._input_ids[: min(self.llama.n_tokens, len(tokens))]
        if not len(held):
            return 0
        differ = (held != tokens[: len(held)]).nonzero()[0]
        return int(differ[0]) if differ.size else len(held)

    def decode(self, tokens: Sequence[int], all_logits: bool) -> None:
        """Decode `tokens` after the cached ones: logits for every token, or for the last."""
        llama, batch = self.llama, self._batch
        start = llama.n_tokens
        for index, token in enumerate(tokens):
            batch.token[index] = token
            batch.pos[index] = start + index
            batch.n_seq_id[index] = 1
            batch.seq_id[index][0] = _SEQ
            batch.logits[index] = all_logits
        batch.logits[len(tokens) - 1] = True
        batch.n_tokens = len(tokens)
        self._run(start, len(tokens))
        self._input_ids[start : start + len(tokens)] = tokens

    def step(self, token: int) -> None:
        """Decode one token after the cached ones (the hot path: one per answer token)."""
        batch, start = self._batch, self.llama.n_tokens
        # n_seq_id and seq_id of slot 0 are set by every decode() and never change.
        batch.token[0] = token
        batch.pos[0] = start
        batch.logits[0] = True
        batch.n_tokens = 1
        self._run(start, 1)
        self._input_ids[start] = token

    def _run(self, start: int, count: int) -> None:
        result = self._llama_decode(self._ctx, self._batch)
        if result != 0:
            # The cache may hold part of the batch: forget all of it past the old end.
            self.truncate(start)
            raise RuntimeError(f"llama_decode returned {result}")
        self.llama.n_tokens = start + count
        self.llama._requires_eval = False

    def truncate(self, n_tokens: int) -> None:
        """Drop the KV cache past the first `n_tokens` (a draft's rejected tail)."""
        self._seq_rm(self._memory, _SEQ, n_tokens, -1)
        self.llama.n_tokens = n_tokens
        # The last batch's logits are not the last kept position's any more.
        self.llama._requires_eval = True

    def cached(self) -> list[int]:
        return [int(token) for token in self._input_ids[: self.llama.n_tokens]]

    def tokens(
        self,
        prompt: Sequence[int],
        sample: Callable[[int], int],
        budget: int,
        speculation: Speculation | None = None,
    ) -> Iterator[int]:
        """The answer's tokens, one at a time, until the caller stops asking; `sample(i)`
        picks the token at row i of the last batch's logits. A token is decoded only when the
        next one is asked for, so the last one never is. With `speculation`, its drafters'
        tokens are verified in batches (at most `budget` tokens in all)."""
        self.prompt(prompt)
        token = sample(-1)
        if speculation is not None:
            yield from speculation.tokens(self, token, sample, budget)
            return
        while True:
            yield token
            self.step(token)
            token = sample(-1)
