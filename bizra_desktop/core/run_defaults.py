"""Run options from the user's settings: what the window, the command line and the local API
run a prompt with when it sets nothing itself."""

from __future__ import annotations

from bizra_desktop.core.pipeline import RunOptions
from bizra_desktop.core.settings import Settings


def run_defaults(settings: Settings) -> RunOptions:
    """Sampling, context size, threads, GPU use, system prompt and routing preference from the
    settings; no pin (a request's model picks the tier) and no history (a request brings its
    own)."""
    return RunOptions(
        params=settings.sampling(),
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        n_gpu_layers=settings.n_gpu_layers,
        gpu_device=settings.gpu_device,
        flash_attn=settings.flash_attn,
        draft_model=settings.draft_model,
        prompt_lookup=settings.prompt_lookup,
        system_prompt=settings.system_prompt,
        preference=settings.preference(),
    )
