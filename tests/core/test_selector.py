"""Routing over real GGUF files: SmolLM2 (starter) and Gemma 3 270M installed as a tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bizra_desktop.core.analyzer import analyze
from bizra_desktop.core.engine.protocol import SamplingParams
from bizra_desktop.core.hardware import MemoryBudget
from bizra_desktop.core.models.store import ModelStore, split_parts
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Finished, Pipeline, RunOptions
from bizra_desktop.core.placement import MEMORY_HEADROOM
from bizra_desktop.core.selector import AdaptiveSelector, NoModelError
from bizra_desktop.core.tiers import Tier
from tests.helpers import starter_path

PLENTY = MemoryBudget(ram_available=16_000_000_000, vram_free=None)
TABLE = {
    "Hello!": Tier.NANO,
    "What is entropy?": Tier.NANO,
    # The seed's moderate row: its rating is part of the rater's contract (docs/ROUTING.md).
    "Explain how a bicycle stays upright.": Tier.MICRO,
    "Analyze the causes of the 2008 financial crisis.": Tier.SMALL,
    "Design a distributed rate limiter for a global API.": Tier.MEDIUM,
}


def _install(models: Path, tier: Tier, source: Path) -> None:
    """Put a real GGUF under a tier's catalogue name. MEDIUM and LARGE are split models: their
    later parts are links too, which the selector accepts (it reads only the first part's
    header); these tests never load a split tier."""
    models.mkdir(parents=True, exist_ok=True)
    for part in split_parts(models / tier.spec.filename):
        part.symlink_to(source)


def _selector(models: Path, budget: MemoryBudget = PLENTY) -> AdaptiveSelector:
    store = ModelStore(models)
    return AdaptiveSelector(store.installed(), store.starter(), budget, n_ctx=4096)


@pytest.mark.parametrize(("prompt", "tier"), TABLE.items())
def test_the_starter_stands_in_for_every_tier_of_the_table(
    tmp_path: Path, prompt: str, tier: Tier
) -> None:
    decision = _selector(tmp_path).select(analyze(prompt))
    assert decision.tier is tier and decision.wanted is tier
    assert decision.model.is_starter
    assert decision.fallback == (
        "No Qwen2.5 tier is installed; the built-in starter model SmolLM2-135M-Instruct "
        f"stands in for {tier.display}."
    )
    # The badge must not pass the stand-in off as the tier.
    assert decision.stand_in == f"{tier.name} tier not installed"
    assert decision.summary.endswith(
        f"· {tier.name} tier not installed — answered by the starter model"
    )


def test_an_installed_tier_is_used_and_neighbours_fall_back_to_it(
    tmp_path: Path, gemma: Path
) -> None:
    _install(tmp_path, Tier.MICRO, gemma)
    selector = _selector(tmp_path)
    moderate = selector.select(analyze("Explain how a bicycle stays upright."))
    assert (moderate.tier, moderate.model.path.resolve(), moderate.fallback) == (
        Tier.MICRO,
        gemma.resolve(),
        None,
    )
    simple = selector.select(analyze("What is entropy?"))
    assert simple.wanted is Tier.NANO and simple.tier is Tier.MICRO
    assert simple.fallback == (
        "NANO (0.5B) is not installed; using MICRO (1.5B), the nearest installed tier that fits."
    )


def test_ties_between_neighbours_go_to_the_larger_tier(tmp_path: Path, gemma: Path) -> None:
    _install(tmp_path, Tier.MICRO, gemma)
    _install(tmp_path, Tier.MEDIUM, starter_path())
    decision = _selector(tmp_path).select(analyze("Analyze the causes of the 2008 crisis."))
    assert decision.wanted is Tier.SMALL
    assert decision.tier is Tier.MEDIUM  # MICRO and MEDIUM are both one step away


def test_expert_prompts_use_large_when_it_is_installed_and_fits(
    tmp_path: Path, gemma: Path
) -> None:
    _install(tmp_path, Tier.MEDIUM, starter_path())
    _install(tmp_path, Tier.LARGE, gemma)
    design = analyze("Design a distributed rate limiter for a global API.")
    decision = _selector(tmp_path).select(design)
    assert decision.tier is Tier.LARGE and decision.fallback is None
    assert any("expert prompts use it" in reason for reason in decision.reasons)

    installed = ModelStore(tmp_path).installed()
    needs = [installed[tier].memory_needed(4096) for tier in (Tier.MEDIUM, Tier.LARGE)]
    assert needs[0] < needs[1]
    tight = MemoryBudget(ram_available=int(sum(needs) / 2 / MEMORY_HEADROOM), vram_free=None)
    decision = _selector(tmp_path, tight).select(design)
    assert decision.tier is Tier.MEDIUM and decision.fallback is None


def test_a_tier_that_does_not_fit_is_explained(tmp_path: Path, gemma: Path) -> None:
    _install(tmp_path, Tier.MEDIUM, gemma)
    tiny = MemoryBudget(ram_available=200_000_000, vram_free=None)
    decision = _selector(tmp_path, tiny).select(analyze("Design a compiler for a new language."))
    assert decision.model.is_starter and decision.tier is Tier.MEDIUM
    assert decision.fallback is not None
    assert decision.fallback.startswith("MEDIUM (7B) does not fit in memory (needs ")
    assert "0.2 GB RAM free" in decision.fallback
    assert decision.fallback.endswith("stands in for it.")
    assert decision.stand_in == "MEDIUM tier too big for free memory"


def test_a_pin_overrides_the_rating(tmp_path: Path, gemma: Path) -> None:
    _install(tmp_path, Tier.SMALL, gemma)
    decision = _selector(tmp_path).select(analyze("Hello!"), pin=Tier.SMALL)
    assert decision.pinned and decision.tier is Tier.SMALL and decision.fallback is None
    assert decision.reasons[0] == "pinned by you to SMALL (3B)"


def test_a_broken_tier_file_is_not_installed(tmp_path: Path) -> None:
    tmp_path.joinpath(Tier.NANO.spec.filename).write_bytes(b"GGUF\x03\x00\x00\x00garbage")
    assert ModelStore(tmp_path).installed() == {}


def test_no_model_at_all_is_a_clear_error(tmp_path: Path) -> None:
    selector = AdaptiveSelector({}, None, PLENTY, n_ctx=4096)
    with pytest.raises(NoModelError, match="starter model"):
        selector.select(analyze("Hello!"))


@pytest.fixture
def gemma_home(tmp_path: Path, gemma: Path) -> Iterator[Pipeline]:
    paths = DataPaths(tmp_path / "home").ensure()
    _install(paths.models, Tier.MICRO, gemma)
    pipeline = Pipeline(paths)
    yield pipeline
    pipeline.close()


@pytest.mark.model
def test_a_routed_prompt_runs_on_the_installed_tier(gemma_home: Pipeline) -> None:
    options = RunOptions(params=SamplingParams(temperature=0.0, max_tokens=16))
    events = list(gemma_home.run("Explain how rainbows form.", options))
    result = events[-1]
    assert isinstance(result, Finished)
    assert result.decision.tier is Tier.MICRO and not result.decision.model.is_starter
    assert result.receipt.body["tier"] == "MICRO"
    assert result.receipt.body["model"]["name"] == "Gemma 3 270m"
    assert result.stats.completion_tokens > 0
