"""A POST /v1/chat/completions body, checked and turned into what Pipeline.run takes.

The last message is the prompt (it must be the user's), earlier user and assistant messages
are the history, and system (or developer) messages together are the system prompt. Sampling
fields and stop sequences map onto SamplingParams; a field that would change the answer in a
way the pipeline cannot honour (tools, n > 1, ...) is refused rather than silently ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any

from bizra_desktop.api.catalog import ModelCatalog
from bizra_desktop.api.errors import ApiError, bad_param, unknown_model
from bizra_desktop.core.engine.protocol import SamplingParams
from bizra_desktop.core.pipeline import PromptError, RunOptions, clean_prompt
from bizra_desktop.core.presets import Preset, UnknownPresetError
from bizra_desktop.core.routing.preference import Preference

MAX_TOKENS = 32768  # as the settings allow
MAX_SEED = 2**32 - 1  # llama.cpp's seed is 32 bits
MAX_STOPS = 4  # as OpenAI allows
# Every token is checked against every prefix of every stop: a bound keeps that cheap.
MAX_STOP_CHARS = 256
_SYSTEM_ROLES = ("system", "developer")  # "developer" is the newer OpenAI name for "system"
_TURN_ROLES = ("user", "assistant")
# Set to anything but these values, these fields ask for what the pipeline does not do.
_UNSUPPORTED: dict[str, tuple[Any, ...]] = {
    "n": (None, 1),
    "tools": (None, []),
    "functions": (None, []),
    "logprobs": (None, False),
    "response_format": (None, {"type": "text"}),
}


@dataclass(frozen=True)
class ChatRequest:
    prompt: str
    options: RunOptions
    stream: bool
    include_usage: bool  # stream_options.include_usage: a last chunk with the token counts
    preset: str | None = None  # `bizra.preset`, as the preset spells its name


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; ApiError 400 in OpenAI's words otherwise."""
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # undecodable bytes, bad JSON, NaN, absurd nesting
        data = None
    if not isinstance(data, dict):
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "We could not parse the JSON body of your request: it must be a JSON object.",
        )
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


PresetLookup = Callable[[str], Preset]  # a preset by name, or UnknownPresetError


def parse_chat_request(
    body: bytes, catalog: ModelCatalog, defaults: RunOptions, presets: PresetLookup
) -> ChatRequest:
    """ApiError 400 or 404 for a request that cannot run; `defaults`: what it does not set, or
    its preset (`bizra.preset`, found by `presets`) does not."""
    data = parse_json(body)
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_param("model", "'model' must name a model; GET /v1/models lists them")
    entry = catalog.find(model)
    if entry is None:
        raise unknown_model(model)
    for name, allowed in _UNSUPPORTED.items():
        if data.get(name) not in allowed:
            raise bad_param(name, f"'{name}' is not supported here", "unsupported_parameter")
    stream = _field(data, "stream", bool, False)
    stream_options = _field(data, "stream_options", dict, {})
    if stream_options and not stream:
        raise bad_param("stream_options", "'stream_options' is only allowed with 'stream': true")
    system, history, prompt = _conversation(data.get("messages"))
    base, preset = _extension(_field(data, "bizra", dict, {}), defaults, presets)
    options = replace(
        base,
        pin=base.pin if entry.tier is None else entry.tier,
        params=_sampling(data, base.params),
        history=history,
        system_prompt=base.system_prompt if system is None else system,
    )
    include_usage = _field(stream_options, "include_usage", bool, False)
    return ChatRequest(prompt, options, stream, include_usage, preset)


def _extension(
    extension: dict[str, Any], defaults: RunOptions, presets: PresetLookup
) -> tuple[RunOptions, str | None]:
    """The `bizra` request field: {"preset": NAME, "prefer": "quality" | "balanced" | "speed"}.
    The preset applies first, so `prefer` beside it wins, as the request's own fields do.
    Also the preset's name as stored (the request's may differ in case and spaces), or None."""
    unknown = sorted(set(extension) - {"prefer", "preset"})
    if unknown:
        raise bad_param(f"bizra.{unknown[0]}", f"'bizra.{unknown[0]}' is not a known option")
    options = defaults
    name = extension.get("preset")
    if name is not None:
        if not isinstance(name, str):
            raise bad_param("bizra.preset", "'bizra.preset' must be a string", "invalid_type")
        try:
            preset = presets(name)
        except UnknownPresetError as error:
            raise bad_param("bizra.preset", f"'bizra.preset': {error.args[0]}") from None
        options, name = preset.applied_to(options), preset.name
    value = extension.get("prefer")
    if value is None:
        return options, name
    if not isinstance(value, str):
        raise bad_param("bizra.prefer", "'bizra.prefer' must be a string", "invalid_type")
    try:
        return replace(options, preference=Preference.parse(value)), name
    except ValueError as error:
        raise bad_param("bizra.prefer", f"'bizra.prefer' {error}") from None


def _sampling(data: dict[str, Any], defaults: SamplingParams) -> SamplingParams:
    max_tokens = _integer(data, "max_completion_tokens", 1, MAX_TOKENS)
    if max_tokens is None:
        max_tokens = _integer(data, "max_tokens", 1, MAX_TOKENS)
    temperature = _number(data, "temperature", 0.0, 2.0)
    top_p = _number(data, "top_p", 0.0, 1.0)
    seed = _integer(data, "seed", 0, MAX_SEED)
    return replace(
        defaults,
        temperature=defaults.temperature if temperature is None else temperature,
        top_p=defaults.top_p if top_p is None else top_p,
        max_tokens=defaults.max_tokens if max_tokens is None else max_tokens,
        seed=defaults.seed if seed is None else seed,
        stop=_stops(data.get("stop"), defaults.stop),
    )


def _stops(value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    """`stop`: a string, or a list of up to MAX_STOPS strings; "" and [] ask for none."""
    if value is None:
        return default
    stops = [value] if isinstance(value, str) else value
    if not isinstance(stops, list) or not all(isinstance(stop, str) for stop in stops):
        raise bad_param("stop", "'stop' must be a string or a list of strings", "invalid_type")
    stops = [stop for stop in stops if stop]
    if len(stops) > MAX_STOPS:
        raise bad_param("stop", f"'stop' takes at most {MAX_STOPS} sequences")
    if any(len(stop) > MAX_STOP_CHARS for stop in stops):
        raise bad_param("stop", f"each 'stop' sequence must be at most {MAX_STOP_CHARS} characters")
    return tuple(stops)


def _field(data: dict[str, Any], name: str, kind: type, default: Any) -> Any:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise bad_param(name, f"'{name}' must be a {kind.__name__}", "invalid_type")
    return value


def _number(data: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    # bool is an int to Python, but `true` is no temperature.
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise bad_param(name, f"'{name}' must be a number", "invalid_type")
    if not low <= value <= high:
        raise bad_param(name, f"'{name}' must be from {low} to {high}, not {value}")
    return float(value)


def _integer(data: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise bad_param(name, f"'{name}' must be a whole number", "invalid_type")
    if value is not None and not low <= value <= high:
        raise bad_param(name, f"'{name}' must be from {low} to {high}, not {value}")
    return value


def _conversation(
    messages: Any,
) -> tuple[str | None, tuple[dict[str, str], ...], str]:
    """(system prompt, or None without a system message; earlier turns; the prompt)."""
    if not isinstance(messages, list) or not messages:
        raise bad_param("messages", "'messages' must be a non-empty list of messages")
    system: list[str] | None = None
    turns: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        if not isinstance(message, dict):
            raise bad_param(param, f"'{param}' must be an object", "invalid_type")
        role = message.get("role")
        if role not in (*_SYSTEM_ROLES, *_TURN_ROLES):
            roles = ", ".join((*_SYSTEM_ROLES, *_TURN_ROLES))
            raise bad_param(f"{param}.role", f"'{param}.role' must be one of {roles}")
        text = _content(message.get("content"), f"{param}.content")
        if role in _SYSTEM_ROLES:
            if system is None:
                system = []
            if text:  # an empty system message asks for no system prompt
                system.append(text)
        elif text:
            turns.append({"role": role, "content": text})
        else:
            raise bad_param(f"{param}.content", f"'{param}.content' is empty")
    if messages[-1].get("role") != "user":
        raise bad_param("messages", "the last message must be the user's prompt")
    prompt = turns.pop()["content"]
    return (None if system is None else "\n\n".join(system)), tuple(turns), prompt


def _content(content: Any, param: str) -> str:
    """A message's text, as the model can take it: a string or a list of text parts (joined).

    Empty when there is no text (clean_prompt's rule: whitespace, NUL bytes).
    """
    if isinstance(content, list) and all(
        isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        for part in content
    ):
        content = "\n".join(part["text"] for part in content)
    if not isinstance(content, str):
        raise bad_param(param, f"'{param}' must be text or a list of text parts", "invalid_type")
    try:
        return clean_prompt(content)
    except PromptError:
        return ""
