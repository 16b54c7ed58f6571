"""`bizra ask`, `bizra chat` and `bizra analyze`: prompts answered (or only rated) in the
terminal, with the routing and figures on stderr and the answers saved as conversations."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bizra_desktop.cli.console import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CliError,
    positive_int,
    print_json,
)
from bizra_desktop.core.analyzer import Analysis
from bizra_desktop.core.conversations import title_from_prompt
from bizra_desktop.core.engine.protocol import FailureKind
from bizra_desktop.core.exchanges import SaveTo
from bizra_desktop.core.paths import data_paths
from bizra_desktop.core.pipeline import (
    Failed,
    Finished,
    Pipeline,
    PromptError,
    Routed,
    RunOptions,
    Token,
    clean_prompt,
)
from bizra_desktop.core.presets import Preset, find_preset
from bizra_desktop.core.routing.preference import Preference
from bizra_desktop.core.run_defaults import run_defaults
from bizra_desktop.core.selector import RoutingDecision
from bizra_desktop.core.settings import load_settings
from bizra_desktop.core.tiers import Tier

TIER_CHOICES = ["auto", *(tier.name.lower() for tier in Tier)]


def _prompt_text(argument: str) -> str:
    """The prompt itself, or standard input for '-' (a long paste does not fit in argv)."""
    return sys.stdin.read() if argument == "-" else argument


def _temperature(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 2.0:
        raise argparse.ArgumentTypeError("must be between 0 and 2")
    return value


def _options(args: argparse.Namespace) -> RunOptions:
    """The settings' run options (as the window and the local API use them), then the preset
    (`--preset`), then what the command line sets."""
    paths = data_paths()
    options = replace(
        run_defaults(load_settings(paths.settings)),
        pin=None if args.tier == "auto" else Tier.parse(args.tier),
        model_path=args.model,
    )
    preset = _preset(args)
    if preset is not None:
        options = preset.applied_to(options)
    given = {name: getattr(args, name, None) for name in ("max_tokens", "temperature", "seed")}
    return replace(
        options,
        params=replace(
            options.params, **{name: value for name, value in given.items() if value is not None}
        ),
        preference=Preference(args.prefer) if args.prefer else options.preference,
    )


def _preset(args: argparse.Namespace) -> Preset | None:
    return find_preset(data_paths().database, args.preset) if args.preset else None


def _routing_record(analysis: Analysis, decision: RoutingDecision) -> dict[str, Any]:
    return {
        "complexity": analysis.complexity.label,
        "score": analysis.score,
        "confidence": analysis.confidence,
        "preference": analysis.preference.value,
        "tier": decision.tier.name,
        "model": decision.model.name,
        "reasons": [*analysis.reasons, *decision.reasons],
        "fallback": decision.fallback,
        "stand_in": decision.stand_in,
    }


# --- ask ----------------------------------------------------------------------------------


def cmd_ask(args: argparse.Namespace) -> int:
    paths = data_paths()
    pipeline = Pipeline(paths)
    conversation = _Conversation(pipeline, _preset(args))
    try:
        prompt = _prompt_text(args.prompt)
        outcome = _stream(pipeline, prompt, _options(args), args.json, conversation)
    finally:
        pipeline.close()
    if isinstance(outcome, Failed):
        stopped = EXIT_INTERRUPTED if outcome.stopped else None
        raise CliError(outcome.message, stopped or _FAILURE_CODES.get(outcome.kind, EXIT_FAILED))
    return EXIT_INTERRUPTED if outcome.stopped else EXIT_OK


# The caller's fault (exit 2) rather than the work's (exit 1); a stop is 130.
_FAILURE_CODES = {FailureKind.BAD_INPUT: EXIT_BAD_INPUT, FailureKind.NO_MODEL: EXIT_BAD_INPUT}


class _Conversation:
    """Answers given on the command line are saved as conversations too (the pipeline stores
    them): they show up in the app, and their texts back `receipts export --with-content`.
    The conversation is made with its first prompt."""

    def __init__(self, pipeline: Pipeline, preset: Preset | None) -> None:
        self.pipeline = pipeline
        self.preset = preset.name if preset is not None else None
        self.id: int | None = None

    def save_to(self, prompt: str) -> SaveTo:
        """Where `prompt` is stored. PromptError for a prompt with no text (no conversation is
        made for it), sqlite3.Error if the database cannot be written."""
        if self.id is None:
            title = title_from_prompt(clean_prompt(prompt))
            self.id = self.pipeline.conversations.create(title, self.preset, "cli").id
        return SaveTo(conversation_id=self.id)


def _stream(
    pipeline: Pipeline,
    prompt: str,
    options: RunOptions,
    as_json: bool,
    conversation: _Conversation,
) -> Finished | Failed:
    """Run one prompt: the answer streams to stdout, routing and figures go to stderr. The
    pipeline saves the exchange as it goes; the receipt shown is committed with its texts."""
    routed: Routed | None = None
    try:
        save_to = conversation.save_to(prompt)
    except PromptError as error:
        return Failed(FailureKind.BAD_INPUT, str(error))
    run = pipeline.start(prompt, replace(options, save_to=save_to))
    events = run.events()
    while True:
        try:
            event = next(events)
        except KeyboardInterrupt:
            # Stop the model, then let the generator finish: a stopped answer gets its receipt.
            run.stop()
            continue
        if isinstance(event, Routed):
            routed = event
            if not as_json:
                sys.stderr.write(f"[{event.decision.summary}]\n")
                if event.decision.fallback:
                    sys.stderr.write(f"[{event.decision.fallback}]\n")
        elif isinstance(event, Token) and not as_json:
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, Failed):
            return event
        elif isinstance(event, Finished):
            assert routed is not None
            _report(event, routed, as_json)
            return event


# --- chat ---------------------------------------------------------------------------------


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation in the terminal: one loaded model; each turn's history is the
    conversation as stored."""
    pipeline = Pipeline(data_paths())
    conversation = _Conversation(pipeline, _preset(args))
    options = _options(args)
    print("Type a prompt and press Enter; an empty line or Ctrl+D ends the chat.")
    try:
        while True:
            try:
                prompt = input("\nyou> ").strip()
            except (EOFError, KeyboardInterrupt):
                print()
                return EXIT_OK
            if not prompt:
                return EXIT_OK
            outcome = _stream(pipeline, prompt, options, False, conversation)
            if isinstance(outcome, Failed):
                sys.stderr.write(f"bizra: error: {outcome.message}\n")
    finally:
        pipeline.close()


def _report(result: Finished, routed: Routed, as_json: bool) -> None:
    stats = result.stats
    if as_json:
        print_json(
            {
                "text": result.text,
                **_routing_record(routed.analysis, result.decision),
                "ttft_ms": stats.ttft_ms,
                "tokens_per_s": stats.tokens_per_s,
                "receipt_hash": result.receipt.hash,
                "tokens": {"prompt": stats.prompt_tokens, "completion": stats.completion_tokens},
                "finish_reason": stats.finish_reason.value,
                "backend": stats.backend,
                "impact": result.impact,
                "note": result.note,
            },
            sys.stdout,
        )
    else:
        sys.stdout.write("\n")
        stopped = " · stopped by you" if result.stopped else ""
        note = f" · {result.note}" if result.note else ""
        sys.stderr.write(
            f"[{stats.completion_tokens} tokens · TTFT {stats.ttft_ms:.0f} ms · "
            f"{stats.tokens_per_s:.1f} tok/s · {stats.backend} · receipt "
            f"{result.receipt.hash[:16]}…{stopped}{note}]\n"
        )


# --- analyze ------------------------------------------------------------------------------


def cmd_analyze(args: argparse.Namespace) -> int:
    pipeline = Pipeline(data_paths())
    options = _options(args)
    selector = pipeline.selector(options)

    def analyze(prompt: str) -> dict[str, Any]:
        analysis, decision = pipeline.route(clean_prompt(prompt), options, selector)
        return _routing_record(analysis, decision)

    if args.jsonl:
        return _analyze_lines(sys.stdin, analyze)
    if args.prompt is None:
        raise CliError("give a PROMPT, or --jsonl to read prompts from standard input")
    record = analyze(_prompt_text(args.prompt))
    if args.json:
        print_json(record, sys.stdout)
    else:
        print(f"{record['complexity']} → {record['tier']} · {record['model']}")
        for reason in record["reasons"]:
            print(f"  - {reason}")
    return EXIT_OK


def _analyze_lines(lines: Iterable[str], analyze: Callable[[str], dict[str, Any]]) -> int:
    """One result line per input line; a bad line gets an error line and the rest go on."""
    failures = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            prompt = item["prompt"] if isinstance(item, dict) else None
            if not isinstance(prompt, str):
                raise PromptError('each line must be a JSON object with a string "prompt"')
            record = analyze(prompt)
        except (ValueError, KeyError) as error:
            failures += 1
            message = str(error) if not isinstance(error, KeyError) else 'missing "prompt"'
            record = {"error": f"line {number}: {message}"}
        print_json(record, sys.stdout)
    return EXIT_BAD_INPUT if failures else EXIT_OK


# --- wiring -------------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`bizra ask`, `bizra chat` and `bizra analyze`."""

    def routing_args(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--tier",
            choices=TIER_CHOICES,
            default="auto",
            help="pin a tier instead of automatic routing",
        )
        sub.add_argument("--model", type=Path, help="run this GGUF file instead")
        sub.add_argument(
            "--prefer",
            choices=[p.value for p in Preference],
            help="quality routes up sooner, speed later (default: the settings' choice)",
        )
        sub.add_argument(
            "--preset",
            help="answer with a preset's system prompt, sampling and routing preference "
            "(built in: Precise, Balanced, Creative, Code; `bizra presets` lists them)",
        )

    ask = commands.add_parser("ask", help="answer a prompt with the model it deserves")
    ask.add_argument("prompt", help="the prompt, or - to read it from standard input")
    routing_args(ask)
    ask.add_argument(
        "--max-tokens", type=positive_int, help="answer length limit (default: the settings')"
    )
    ask.add_argument(
        "--temperature",
        type=_temperature,
        help="0 picks the likeliest token every time (repeatable answers; default: the settings')",
    )
    ask.add_argument("--seed", type=int, help="sampling seed, for repeatable answers")
    ask.add_argument("--json", action="store_true", help="print one JSON object at the end")
    ask.set_defaults(handler=cmd_ask)

    chat = commands.add_parser("chat", help="a conversation in the terminal")
    routing_args(chat)
    chat.set_defaults(handler=cmd_chat)

    analyze = commands.add_parser(
        "analyze", help="rate prompts and show the routing; no model runs"
    )
    analyze.add_argument("prompt", nargs="?")
    routing_args(analyze)
    analyze.add_argument("--json", action="store_true")
    analyze.add_argument(
        "--jsonl",
        action="store_true",
        help='read {"prompt": ...} lines on stdin, write one result line each',
    )
    analyze.set_defaults(handler=cmd_analyze)
