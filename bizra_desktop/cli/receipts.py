"""`bizra receipts …`: verify the chain or an export, export receipts, keep a checkpoint, and
the impact the verified chain adds up to.

Exit codes as for every `bizra` command: 0 valid / done; 1 invalid (what and where on one line
of standard error); 2 unreadable input or a request that cannot be met as asked.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from bizra_desktop.core.engine.host import InferenceHost
from bizra_desktop.core.paths import DataPaths, data_paths
from bizra_desktop.core.presets import PresetStore
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.export import ExportError, export_receipts
from bizra_desktop.core.receipts.export_verify import verify_export
from bizra_desktop.core.receipts.impact_ledger import ImpactLedger, ImpactWalk, accumulate
from bizra_desktop.core.receipts.replay import (
    ReplayInputError,
    ReplayUnavailableError,
    plan_replay,
    replay,
)
from bizra_desktop.core.settings import load_settings

EXIT_OK, EXIT_INVALID, EXIT_BAD_INPUT = 0, 1, 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `receipts` and its subcommands to the `bizra` parser."""
    receipts = commands.add_parser("receipts", help="the receipt chain")
    sub = receipts.add_subparsers(dest="receipts_command", required=True)

    verify = sub.add_parser(
        "verify", help="check the local chain, or an export (offline) when FILE is given"
    )
    verify.add_argument("file", nargs="?", type=Path, metavar="FILE", help="an export to check")
    verify.add_argument(
        "--checkpoint",
        type=Path,
        metavar="KEPT",
        help="a checkpoint kept earlier: detects a cut-off tail or a rolled-back database",
    )
    verify.set_defaults(handler=cmd_verify)

    export = sub.add_parser("export", help="write receipts as JSON Lines anyone can verify")
    export.add_argument("out", type=Path, metavar="OUT")
    export.add_argument(
        "--with-content", action="store_true", help="include prompts, responses and their salts"
    )
    which = export.add_mutually_exclusive_group()
    which.add_argument("--conversation", type=int, metavar="ID", help="only this conversation")
    which.add_argument("--receipt", metavar="HASH", help="one receipt, with its inclusion proof")
    export.set_defaults(handler=cmd_export)

    checkpoint = sub.add_parser(
        "checkpoint", help="print (or save to OUT) the latest signed checkpoint, to keep"
    )
    checkpoint.add_argument("out", nargs="?", type=Path, metavar="OUT")
    checkpoint.set_defaults(handler=cmd_checkpoint)

    impact = sub.add_parser("impact", help="total impact and stage, from the verified chain")
    impact.add_argument("--json", action="store_true")
    impact.set_defaults(handler=cmd_impact)

    replay = sub.add_parser(
        "replay",
        help="make a receipt's answer again with its model, template and parameters",
        description="Re-run the prompt of receipt HASH with the model the receipt names (found "
        "by its SHA-256), its chat template, sampling parameters and seed, and say whether the "
        "answer is identical. The texts come from the conversation that holds the receipt, or "
        "from --prompt/--system, checked against the receipt's commitments.",
        epilog="exit codes: 0 identical; 1 the answer differs, or the receipt cannot be "
        "replayed here (the line says why: a version 1 receipt, the model not installed, the "
        "texts not available, ...); 2 bad input (no such receipt, a prompt that is not the "
        "receipt's)",
    )
    replay.add_argument("hash", metavar="HASH", help="the receipt's hash (8 or more hex digits)")
    replay.add_argument(
        "--prompt", metavar="TEXT", help="the prompt, when no conversation holds it (- reads stdin)"
    )
    replay.add_argument("--system", metavar="TEXT", help="the system prompt it was answered with")
    replay.add_argument(
        "--json", action="store_true", help="print one object: identical, answer, notes, ..."
    )
    replay.set_defaults(handler=cmd_replay)


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        kept = _read_kept(args.checkpoint) if args.checkpoint else None
    except _UnreadableError as error:
        return _error(str(error), EXIT_BAD_INPUT)
    if args.file is not None:
        report = verify_export(args.file, kept)
        _say(report.message, report.ok)
        return report.code
    paths = data_paths()
    if not paths.database.exists():
        if kept is None:
            print(f"no receipts yet ({paths.database} does not exist)")
            return EXIT_OK
        return _error(
            f"there is no receipt database at {paths.database}, but a checkpoint was kept: the "
            "database was deleted or replaced",
            EXIT_INVALID,
        )
    walk = ImpactWalk()  # in the same pass: receipts whose stated impact is not their own
    with _chain(paths) as chain:
        chain_report = chain.verify(kept_checkpoint=kept, visit=walk.visit)
    _say(chain_report.message, chain_report.ok)
    if not chain_report.ok:
        return EXIT_INVALID
    for disagreement in walk.disagreements:
        _say(disagreement.describe(), False)
    return EXIT_INVALID if walk.disagreements else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    paths = data_paths()
    if not paths.database.exists():
        return _error(f"no receipts to export ({paths.database} does not exist)", EXIT_INVALID)
    with _chain(paths) as chain:
        return report_export(
            args.out,
            lambda: export_receipts(
                chain,
                args.out,
                with_content=args.with_content,
                conversation_id=args.conversation,
                receipt_hash=args.receipt,
            ),
        )


class _Summary(Protocol):
    def describe(self, out: Path) -> str: ...


def report_export(out: Path, write: Callable[[], _Summary]) -> int:
    """Run `write`, an export to `out`; print what it wrote, or why nothing was, in one line.
    The exit code: 0, or the export's own, or 2 for a file that cannot be written."""
    try:
        summary = write()
    except ExportError as error:
        return _error(str(error), error.code)
    except OSError as error:
        return _error(f"cannot write {out}: {error.strerror or error}", EXIT_BAD_INPUT)
    print(summary.describe(out))
    return EXIT_OK


def cmd_checkpoint(args: argparse.Namespace) -> int:
    paths = data_paths()
    note = None
    if paths.database.exists():
        with _chain(paths) as chain:
            note = chain.latest_checkpoint()
    if note is None:
        return _error("there is no checkpoint yet: the chain has no receipts", EXIT_INVALID)
    if args.out is None:
        # Bytes: the note's em dash must reach a redirected file as UTF-8 whatever the console's
        # code page, or the kept copy would not verify.
        sys.stdout.flush()
        sys.stdout.buffer.write(note.encode("utf-8"))
        sys.stdout.buffer.flush()
        return EXIT_OK
    try:
        args.out.write_text(note, encoding="utf-8", newline="\n")
    except OSError as error:
        return _error(f"cannot write {args.out}: {error.strerror or error}", EXIT_BAD_INPUT)
    print(
        f"saved the latest checkpoint to {args.out}; keep it apart from this computer, then "
        f"`bizra receipts verify --checkpoint {args.out}` proves the chain was not cut or rolled "
        "back"
    )
    return EXIT_OK


def cmd_impact(args: argparse.Namespace) -> int:
    paths = data_paths()
    if not paths.database.exists():
        print("no receipts yet: impact 0, stage SEED")
        return EXIT_OK
    with _chain(paths) as chain:
        ledger = accumulate(chain)
    if args.json:
        print(json.dumps(_ledger_record(ledger)))
    else:
        _print_ledger(ledger)
    if not ledger.verified:
        return _error(f"counted only up to the first bad receipt: {ledger.problem}", EXIT_INVALID)
    for disagreement in ledger.disagreements:
        _say(f"{disagreement.describe()}: counted as its fields give", False)
    return EXIT_INVALID if ledger.disagreements else EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    paths = data_paths()
    if not paths.database.exists():
        return _error(f"there are no receipts ({paths.database} does not exist)", EXIT_BAD_INPUT)
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    with _chain(paths) as chain:
        try:
            plan = plan_replay(
                paths,
                chain,
                args.hash,
                prompt=prompt,
                system_prompt=args.system,
                system_candidates=_system_prompts(paths),
            )
        except ReplayInputError as error:
            return _error(str(error), EXIT_BAD_INPUT)
        except ReplayUnavailableError as error:
            return _error(f"cannot replay: {error}", EXIT_INVALID)
    try:
        with InferenceHost() as host:
            result = replay(plan, host)
    except ReplayUnavailableError as error:
        return _error(f"cannot replay: {error}", EXIT_INVALID)
    message = result.describe(plan.seq)
    if args.json:
        record = {"seq": plan.seq, "model": plan.model.name, "message": message}
        print(json.dumps(record | asdict(result)))
    else:
        _say(message, result.identical)
    return EXIT_OK if result.identical else EXIT_INVALID


def _system_prompts(paths: DataPaths) -> list[str]:
    """The system prompts a receipt's may be: the settings' and every preset's."""
    with PresetStore(paths.database) as presets:
        return [
            load_settings(paths.settings).system_prompt,
            *(preset.system_prompt or "" for preset in presets.list()),
        ]


def _ledger_record(ledger: ImpactLedger) -> dict[str, object]:
    return {
        "total": ledger.total,
        "stage": ledger.stage.value,
        "receipts": ledger.receipts,
        "verified": ledger.verified,
        "per_tier": {tier: asdict(totals) for tier, totals in ledger.per_tier.items()},
        "per_day": [asdict(day) for day in ledger.per_day],
        "disagreements": [asdict(found) for found in ledger.disagreements],
    }


def _print_ledger(ledger: ImpactLedger) -> None:
    following = ledger.next_stage
    to_go = f" ({following[1]} to {following[0].value})" if following else ""
    print(f"impact {ledger.total} · stage {ledger.stage.value}{to_go} · {ledger.receipts} answers")
    for tier, totals in ledger.per_tier.items():
        print(f"  {tier:>8}: {totals.impact} from {totals.receipts}")
    for day in ledger.per_day[-7:]:
        print(f"  {day.day}: +{day.impact} from {day.receipts} → {day.cumulative}")


def _chain(paths: DataPaths) -> ReceiptChain:
    return ReceiptChain(paths.database, paths.keys)


class _UnreadableError(Exception):
    pass


def _read_kept(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise _UnreadableError(f"cannot read the kept checkpoint {path}: {reason}") from None


def _say(message: str, ok: bool) -> None:
    print(message, file=sys.stdout if ok else sys.stderr)


def _error(message: str, code: int) -> int:
    print(f"bizra: error: {message}", file=sys.stderr)
    return code
