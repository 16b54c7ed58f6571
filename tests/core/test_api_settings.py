"""The local API's settings (api_enabled, api_port, api_key) and the defaults they give requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bizra_desktop.core.run_defaults import run_defaults
from bizra_desktop.core.settings import Settings, load_settings


def test_the_api_is_off_on_port_8765_without_a_key_by_default() -> None:
    settings = Settings()

    assert (settings.api_enabled, settings.api_port, settings.api_key) == (False, 8765, "")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"api_enabled": 1}, "api_enabled must be true or false"),
        ({"api_port": 0}, "api_port must be a whole number from 1 to 65535"),
        ({"api_key": "has space"}, "api_key must be printable ASCII"),
        ({"api_key": "clé"}, "api_key must be printable ASCII"),
    ],
)
def test_bad_api_settings_are_refused(changes: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Settings().with_changes(**changes)


def test_a_refused_key_is_not_repeated_in_the_error() -> None:
    with pytest.raises(ValueError) as caught:
        Settings(api_key="my secret")

    assert "secret" not in str(caught.value)


def test_bad_api_settings_in_the_file_are_repaired(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps({"api_enabled": "yes", "api_port": 70000, "api_key": "a b"}), encoding="utf-8"
    )

    assert load_settings(path) == Settings(api_port=65535)


def test_requests_default_to_the_settings_as_the_window_applies_them() -> None:
    settings = Settings(
        system_prompt="Be brief.", temperature=0.2, max_tokens=64, n_ctx=2048, n_threads=3
    )

    options = run_defaults(settings)

    assert options.params == settings.sampling()
    assert (options.n_ctx, options.n_threads, options.system_prompt) == (2048, 3, "Be brief.")
    assert options.pin is None and options.history == ()
