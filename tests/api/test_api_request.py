"""From an OpenAI chat request to Pipeline.run's prompt and RunOptions, and the model names."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from bizra_desktop.api.catalog import ModelCatalog
from bizra_desktop.api.chat_request import parse_chat_request
from bizra_desktop.api.errors import ApiError
from bizra_desktop.core.engine.protocol import SamplingParams
from bizra_desktop.core.models.store import ModelStore
from bizra_desktop.core.pipeline import RunOptions
from bizra_desktop.core.presets import Preset, PresetStore, find_preset
from bizra_desktop.core.routing.preference import Preference
from bizra_desktop.core.tiers import Tier
from tests.helpers import starter_path

DEFAULTS = RunOptions(
    params=SamplingParams(temperature=0.3, top_p=0.8, max_tokens=99), system_prompt="Be kind."
)


@pytest.fixture
def catalog(tmp_path: Path) -> ModelCatalog:
    return ModelCatalog(ModelStore(tmp_path / "models"))


@pytest.fixture(autouse=True)
def presets(tmp_path: Path) -> Path:
    """The database `bizra.preset` names are found in: the built-ins and one of the user's."""
    db = tmp_path / "bizra.sqlite3"
    with PresetStore(db) as store:
        store.save(Preset(name="Big", tier=Tier.LARGE, temperature=1.5))
    return db


def parse(catalog: ModelCatalog, **fields: Any) -> Any:
    body = {"model": "auto", "messages": [{"role": "user", "content": "Hi"}], **fields}
    lookup = functools.partial(find_preset, catalog.store.models_dir.parent / "bizra.sqlite3")
    return parse_chat_request(json.dumps(body).encode(), catalog, DEFAULTS, lookup)


def test_the_last_message_is_the_prompt_and_the_rest_the_history(catalog: ModelCatalog) -> None:
    chat = parse(
        catalog,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is 2 + 2?"},
            {"role": "assistant", "content": [{"type": "text", "text": "4"}]},
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": "And 3 + 3?"},
        ],
    )

    assert chat.prompt == "And 3 + 3?"
    assert chat.options.history == (
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "4"},
    )
    assert chat.options.system_prompt == "You are terse.\n\nAnswer in French."
    assert chat.options.pin is None and not chat.stream


def test_without_a_system_message_the_default_system_prompt_applies(
    catalog: ModelCatalog,
) -> None:
    assert parse(catalog).options.system_prompt == "Be kind."
    empty_system = [{"role": "system", "content": ""}, {"role": "user", "content": "Hi"}]
    assert parse(catalog, messages=empty_system).options.system_prompt == ""


def test_sampling_fields_map_onto_the_params_and_the_rest_stay_default(
    catalog: ModelCatalog,
) -> None:
    chat = parse(catalog, temperature=0, seed=7, max_tokens=12, stream=True)

    assert chat.options.params == SamplingParams(temperature=0.0, top_p=0.8, max_tokens=12, seed=7)
    assert chat.stream
    assert parse(catalog).options.params == DEFAULTS.params
    assert parse(catalog, max_tokens=5, max_completion_tokens=6).options.params.max_tokens == 6


@pytest.mark.parametrize(
    ("name", "tier"), [("auto", None), ("NANO", Tier.NANO), (" Small ", Tier.SMALL)]
)
def test_auto_and_tier_names_resolve(catalog: ModelCatalog, name: str, tier: Tier | None) -> None:
    assert parse(catalog, model=name).options.pin is tier


def test_an_installed_models_name_pins_its_tier(tmp_path: Path, catalog: ModelCatalog) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / Tier.MICRO.spec.filename).symlink_to(starter_path())
    installed = catalog.entries()[-1]

    assert installed.tier is Tier.MICRO and installed.id not in ("auto", "micro")
    assert parse(catalog, model=installed.id.upper()).options.pin is Tier.MICRO


def test_an_unknown_model_is_refused(catalog: ModelCatalog) -> None:
    with pytest.raises(ApiError) as caught:
        parse(catalog, model="qwen2.5-7b-instruct")  # a catalogue model, but not installed

    assert caught.value.status == 404 and caught.value.code == "model_not_found"


def test_the_bizra_field_sets_the_routing_preference(catalog: ModelCatalog) -> None:
    assert parse(catalog).options.preference is Preference.BALANCED  # the defaults'
    chosen = parse(catalog, bizra={"prefer": "Quality"}).options.preference
    assert chosen is Preference.QUALITY


def test_the_bizra_field_names_a_preset_under_the_requests_own_fields(
    catalog: ModelCatalog,
) -> None:
    code = parse(catalog, bizra={"preset": "code"}).options
    assert code.params.temperature == 0.2 and code.preference is Preference.QUALITY
    assert code.system_prompt and code.system_prompt.startswith("You are a careful programmer")
    assert code.params.max_tokens == DEFAULTS.params.max_tokens  # not the preset's to set
    mine = parse(
        catalog,
        bizra={"preset": "Code", "prefer": "speed"},
        temperature=0.9,
        messages=[{"role": "system", "content": "Mine."}, {"role": "user", "content": "Hi"}],
    ).options
    assert (mine.params.temperature, mine.preference, mine.system_prompt) == (
        0.9,
        Preference.SPEED,
        "Mine.",
    )
    # A user's preset from the database; its tier pins "auto" but not a model the request names.
    assert parse(catalog, bizra={"preset": "big"}).options.pin is Tier.LARGE


@pytest.mark.parametrize(
    ("extension", "param"),
    [
        ({"prefer": "fastest"}, "bizra.prefer"),
        ({"prefer": 2}, "bizra.prefer"),
        ({"preset": "Poetic"}, "bizra.preset"),
        ({"preset": ["Code"]}, "bizra.preset"),
        ("quality", "bizra"),
    ],
)
def test_a_bad_bizra_field_is_refused(catalog: ModelCatalog, extension: Any, param: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse(catalog, bizra=extension)
    assert caught.value.status == 400 and caught.value.param == param


@pytest.mark.parametrize(
    ("stop", "stops"),
    [
        ("\n\n", ("\n\n",)),
        (["END", "Q:"], ("END", "Q:")),
        ("", ()),  # what some clients send for "none"
        ([], ()),
        (["x" * 256, "", "y"], ("x" * 256, "y")),
    ],
)
def test_stop_sequences_become_the_params_stop(
    catalog: ModelCatalog, stop: Any, stops: tuple[str, ...]
) -> None:
    assert parse(catalog, stop=stop).options.params.stop == stops
    assert parse(catalog).options.params.stop == DEFAULTS.params.stop == ()


@pytest.mark.parametrize(
    ("stop", "code"),
    [
        (["a", "b", "c", "d", "e"], "invalid_value"),
        ("x" * 257, "invalid_value"),
        (7, "invalid_type"),
        (["a", None], "invalid_type"),
        ({"text": "a"}, "invalid_type"),
    ],
)
def test_bad_stop_sequences_are_refused(catalog: ModelCatalog, stop: Any, code: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse(catalog, stop=stop)
    assert caught.value.status == 400 and caught.value.param == "stop"
    assert caught.value.code == code
