"""What a request that sets nothing gets: the user's settings, as the window applies them."""

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
