"""Chat templates from a model's metadata are untrusted code: they execute nothing (the
CVE-2024-34359 kind of payload) and a runaway one is stopped in bounded time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bizra_desktop.core.engine.host import TEMPLATE_LIMIT_S
from bizra_desktop.core.engine.protocol import FailureKind, SamplingParams
from bizra_desktop.core.paths import DataPaths
from bizra_desktop.core.pipeline import Failed, Finished, Pipeline, PipelineEvent, RunOptions
from tests.gguf_tools import with_strings
from tests.helpers import RecordProperty, starter_path

pytestmark = pytest.mark.model

# The payload class behind CVE-2024-34359: reach Python's builtins through the template's
# objects and run a command.
INJECTION = (
    "{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch {marker}') }}"
    "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    "{% for message in messages %}{{ message['content'] }}{% endfor %}"
)
# Each range stays under the sandbox's cap; nested they are ten billion steps.
RUNAWAY = (
    "{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}"
    "{{ messages[0]['content'] }}"
)


def _run(tmp_path: Path, template: str) -> tuple[list[PipelineEvent], float, Pipeline]:
    model = with_strings(
        starter_path(), tmp_path / "hostile.gguf", {"tokenizer.chat_template": template}
    )
    pipeline = Pipeline(DataPaths(tmp_path / "home"))
    options = RunOptions(model_path=model, params=SamplingParams(max_tokens=4))
    started = time.monotonic()
    events = list(pipeline.run("Hello!", options))
    return events, time.monotonic() - started, pipeline


@pytest.mark.reliability(
    area="Hostile chat templates",
    case="a chat template that reaches for Python's builtins",
    done="the CVE-2024-34359 payload class as tokenizer.chat_template of the real starter model",
)
def test_a_template_injection_payload_executes_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    events, _, pipeline = _run(tmp_path, INJECTION.replace("{marker}", str(marker)))
    try:
        failure = events[-1]
        assert isinstance(failure, Failed), failure
        assert "SecurityError" in failure.message and "\n" not in failure.message
        assert not marker.exists()
        assert len(pipeline.chain) == 0
        # The host survives the refusal and answers with a sound model.
        assert isinstance(
            list(pipeline.run("Hello!", RunOptions(params=SamplingParams(max_tokens=4))))[-1],
            Finished,
        )
    finally:
        pipeline.close()


@pytest.mark.reliability(
    area="Hostile chat templates",
    case="a chat template that never finishes",
    done="two nested 99,999-step loops as tokenizer.chat_template",
)
def test_a_runaway_template_is_stopped_in_bounded_time(
    tmp_path: Path, record_property: RecordProperty
) -> None:
    events, elapsed, pipeline = _run(tmp_path, RUNAWAY)
    record_property("result", f"stopped after {elapsed:.1f} s, the next prompt answered")
    try:
        failure = events[-1]
        assert isinstance(failure, Failed), failure
        assert failure.kind is FailureKind.BAD_MODEL
        assert f"did not finish within {TEMPLATE_LIMIT_S:.0f} s" in failure.message
        assert elapsed < TEMPLATE_LIMIT_S + 30  # load and spawn included
        assert isinstance(
            list(pipeline.run("Hello!", RunOptions(params=SamplingParams(max_tokens=4))))[-1],
            Finished,
        )
    finally:
        pipeline.close()
