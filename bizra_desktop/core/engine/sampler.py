"""The sampler chain llama-cpp-python builds, with a cheaper repetition penalty.

llama.cpp's penalty sampler looks every token of the vocabulary up in a hash map of the recent
tokens, once per generated token: 49,152 look-ups for the starter model, about 0.17 ms a token
(2 % of its decode time on two cores). Penalising only the recent tokens, straight in the
logits before the rest of the chain reads them, takes about 0.01 ms and gives the same scores
(the same float32 arithmetic), so the same tokens.

Greedy picks skip the chain: llama.cpp's greedy sampler first copies the whole vocabulary into
a candidate array (about 0.05 ms a token); the first largest logit, read in place, is the
token it picks.
"""

from __future__ import annotations

import collections
import ctypes
from typing import Any

import numpy as np

from bizra_desktop.core.engine.protocol import SamplingParams


class Sampler:
    """What `Llama.generate` asks of its sampler: `sample(ctx, idx)`, one token at a time.

    The chain is llama-cpp-python's own for these parameters (`Llama._init_sampler`), less its
    penalty sampler and its typical-p sampler (a no-op at typical_p 1, which it always uses).
    """

    def __init__(self, llama_cpp: Any, llama: Any, params: SamplingParams) -> None:
        self._llama_cpp = llama_cpp
        self._penalty = ctypes.c_float(params.repeat_penalty).value  # as llama.cpp holds it
        # Penalised: the tokens generated within llama-cpp-python's penalty window.
        self._recent: collections.deque[int] = collections.deque(maxlen=llama.last_n_tokens_size)
        self._chain = llama_cpp.llama_sampler_chain_init(
            llama_cpp.llama_sampler_chain_default_params()
        )
        self._greedy = params.temperature == 0
        # A row of logits, read in place (no copy) at the address llama.cpp gives.
        self._row = ctypes.c_float * llama.n_vocab()
        seed = llama_cpp.LLAMA_DEFAULT_SEED if params.seed is None else params.seed
        if params.temperature < 0:
            links = [llama_cpp.llama_sampler_init_dist(seed)]
        elif params.temperature == 0:
            links = [llama_cpp.llama_sampler_init_greedy()]
        else:
            links = [
                llama_cpp.llama_sampler_init_top_k(params.top_k),
                llama_cpp.llama_sampler_init_top_p(params.top_p, 1),
                llama_cpp.llama_sampler_init_min_p(params.min_p, 1),
                llama_cpp.llama_sampler_init_temp(params.temperature),
                llama_cpp.llama_sampler_init_dist(seed),
            ]
        for link in links:
            llama_cpp.llama_sampler_chain_add(self._chain, link)  # the chain now owns it

    def sample(self, ctx: Any, idx: int = -1) -> int:
        """The token at row `idx` of the logits of `ctx` (a llama-cpp-python LlamaContext)."""
        logits = self._llama_cpp.llama_get_logits_ith(ctx.ctx, idx)
        penalise = self._penalty != 1 and bool(self._recent)
        if self._greedy:
            token = self._argmax(logits)
            # A penalty above 1 only lowers the recent tokens' scores: unless the top token
            # is one of them, it stays on top (and ties go to the lower id either way).
            penalise = penalise and (self._penalty < 1 or token in self._recent)
        penalised = self._penalise(logits) if penalise else ()
        if not self._greedy:
            token = int(self._llama_cpp.llama_sampler_sample(self._chain, ctx.ctx, idx))
        elif penalised:
            token = self._argmax(logits)
        # The scores go back as llama.cpp left them: a prompt that is cached whole samples
        # these logits again.
        for penalised_token, score in penalised:
            logits[penalised_token] = score
        self._recent.append(token)
        return token

    def _argmax(self, logits: Any) -> int:
        """The first highest score's token: llama.cpp's greedy pick, read in place."""
        row = self._row.from_address(ctypes.addressof(logits.contents))
        return int(np.frombuffer(row, dtype=np.float32).argmax())

    def _penalise(self, logits: Any) -> list[tuple[int, float]]:
        """Penalise the recent tokens' scores in place; returns their scores before."""
        penalty = self._penalty
        before = [(token, logits[token]) for token in set(self._recent)]
        # A handful of scalar writes beats numpy here: decoding has just flushed the caches,
        # and every extra call runs cold. Python's double arithmetic rounded back to float32
        # is exactly llama.cpp's float32 arithmetic for one multiply or divide.
        for token, score in before:
            # As llama.cpp does: dividing a negative score would make the token more likely.
            logits[token] = score * penalty if score <= 0 else score / penalty
        return before

    def __del__(self) -> None:
        # Llama.generate keeps its sampler until the next answer replaces it.
        self._llama_cpp.llama_sampler_free(self._chain)
