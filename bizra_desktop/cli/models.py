"""`bizra models …`: list, download, verify, import and delete the tiers' GGUF models.

Each command is a thin front end on core.models.manager.ModelManager, the same object the
manager window drives. Errors are raised for bizra_desktop.main to print as one line: an
OSError (the Hub, a download, the disk) exits 1, a ValueError (an unusable file, an unknown
quantization) exits 2, and Ctrl+C during a download pauses it and exits 130.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from bizra_desktop.core.hardware import memory_budget
from bizra_desktop.core.models.errors import DownloadPaused
from bizra_desktop.core.models.progress import ModelState, Progress, size_text
from bizra_desktop.core.paths import data_paths
from bizra_desktop.core.settings import load_settings
from bizra_desktop.core.tiers import Tier

if TYPE_CHECKING:
    from bizra_desktop.core.models.manager import ModelManager, TierStatus

TIER_NAMES = [tier.name.lower() for tier in Tier]
Result = TypeVar("Result")


class VerificationFailed(OSError):
    """At least one installed model no longer matches its SHA-256 or header check."""


def _manager() -> ModelManager:
    # Imported here: huggingface_hub takes a third of a second to import, and every `bizra`
    # command would pay for it; only `models` needs it.
    from huggingface_hub.utils import logging as hub_logging  # noqa: PLC0415

    from bizra_desktop.core.models.manager import ModelManager  # noqa: PLC0415

    # huggingface_hub logs its own retries as multi-line warnings; our errors say it in one.
    hub_logging.set_verbosity_error()
    return ModelManager(data_paths().ensure())


# --- list ---------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    settings = load_settings(data_paths().settings)
    n_ctx = args.ctx or settings.n_ctx
    overview = _manager().overview(memory_budget(settings.gpu_device), n_ctx)
    if args.json:
        record = {
            "n_ctx": n_ctx,
            "hub_error": overview.hub_error,
            "tiers": [_status_record(status) for status in overview.tiers],
        }
        print(json.dumps(record))  # ASCII: survives any console encoding
    else:
        _print_table(overview.tiers, sys.stdout)
    if overview.hub_error:
        print(f"bizra: note: {overview.hub_error} (sizes marked ~ are estimates)", file=sys.stderr)
    return 0


def _status_record(status: TierStatus) -> dict[str, Any]:
    return {
        "tier": status.tier.name,
        "params": status.tier.spec.params_label,
        "model": status.name,
        "repo_id": status.source.repo_id if status.source else None,
        "state": status.state.value,
        "size_bytes": status.size,
        "size_is_estimate": status.size_is_estimate,
        "fit": status.fit.fit.value if status.fit else None,
        "memory_needed": status.fit.needed if status.fit else None,
        "memory_budget": status.fit.budget if status.fit else None,
        "path": str(status.model.path) if status.model else None,
        "detail": status.detail,
    }


def _print_table(statuses: list[TierStatus], out: TextIO) -> None:
    rows = [("TIER", "MODEL", "STATE", "SIZE", "FIT")]
    for status in statuses:
        size = "?" if status.size is None else size_text(status.size)
        rows.append(
            (
                status.tier.display,
                status.name,
                status.state.value,
                f"~{size}" if status.size_is_estimate else size,
                status.fit.describe() if status.fit else "?",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        out.write("  ".join([*cells, row[4]]) + "\n")
    for status in statuses:
        if status.detail:
            out.write(f"{status.tier.name}: {status.detail}\n")


# --- download -----------------------------------------------------------------------------


class _ProgressLine:
    """Progress on stderr: redrawn in place on a terminal, else a line every few seconds."""

    def __init__(self, tier: Tier, out: TextIO) -> None:
        self.tier = tier
        self.out = out
        self.live = out.isatty()
        self.interval = 0.2 if self.live else 5.0
        self._shown_at = -self.interval
        self._shown_state = ModelState.NOT_INSTALLED
        self._drawn = False  # a line without its newline is on the terminal

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        news = progress.state is not self._shown_state or progress.done >= progress.total
        if not news and now - self._shown_at < self.interval:
            return
        self._shown_at, self._shown_state = now, progress.state
        left = f" · {_clock(progress.eta_s)} left" if progress.eta_s is not None else ""
        text = (
            f"{self.tier.name}: {progress.state.value} {progress.file} "
            f"{progress.fraction:4.0%} of {size_text(progress.total)} · "
            f"{progress.speed / 1e6:.1f} MB/s{left}"
        )
        self.out.write(f"\r{text}\x1b[K" if self.live else f"{text}\n")
        self.out.flush()
        self._drawn = self.live

    def end(self) -> None:
        """Finish the redrawn line, so that what follows starts on a line of its own."""
        if self._drawn:
            self.out.write("\n")
            self._drawn = False


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _wait(future: Future[Result]) -> Result:
    # A timed wait, so that Ctrl+C reaches this thread on every platform.
    while True:
        try:
            return future.result(timeout=0.2)
        except FutureTimeout:
            continue


def cmd_download(args: argparse.Namespace) -> int:
    tier = Tier.parse(args.tier)
    manager = _manager()
    source = manager.source(tier, args.quant) if args.quant else None
    cancel = threading.Event()
    line = _ProgressLine(tier, sys.stderr)
    # The download runs on a thread of its own, as in the window, so that Ctrl+C here is a
    # Pause through the same flag: the partial file stays for the next run.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bizra-download") as pool:
        future = pool.submit(manager.download, tier, source, report=line, cancel=cancel)
        try:
            model = _wait(future)
        except KeyboardInterrupt:
            cancel.set()
            try:
                model = _wait(future)  # DownloadPaused, unless it had just finished
            except DownloadPaused as paused:
                line.end()
                print(f"bizra: {paused}", file=sys.stderr)
                raise KeyboardInterrupt from None
        finally:
            line.end()
    print(f"{tier.display}: installed {model.path.name} ({size_text(model.size_bytes)})")
    return 0


# --- verify, import, delete ---------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    tiers = (Tier.parse(args.tier),) if args.tier else tuple(Tier)
    results = _manager().verify(tiers)
    if not results:
        print("no tier models installed: nothing to verify")
        return 0
    for result in results:
        print(f"{result.tier.name:<7} {'ok' if result.ok else 'FAILED':<7} {result.message}")
    failed = sum(not result.ok for result in results)
    if failed:
        raise VerificationFailed(f"{failed} of {len(results)} models failed verification")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    tier = Tier.parse(args.tier)
    model = _manager().import_file(args.path, tier)
    print(f"{tier.display}: now uses {model.path.name} ({size_text(model.size_bytes)}, imported)")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    tier = Tier.parse(args.tier)
    removed = _manager().delete(tier)
    if removed:
        print(f"{tier.display}: removed {', '.join(path.name for path in removed)}")
    else:
        print(f"{tier.display}: nothing to remove")
    return 0


# --- wiring -------------------------------------------------------------------------------


def _context(text: str) -> int:
    value = int(text)
    if value < 256:
        raise argparse.ArgumentTypeError("must be at least 256")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `models` and its commands to the `bizra` parser."""
    models = subparsers.add_parser("models", help="download, verify, import and delete models")
    commands = models.add_subparsers(dest="models_command", required=True)

    listing = commands.add_parser("list", help="each tier's model: state, size and fit")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.add_argument(
        "--ctx", type=_context, help="context length for the fit (default: from the settings)"
    )
    listing.set_defaults(handler=cmd_list)

    download = commands.add_parser(
        "download", help="download a tier's model from Hugging Face (Ctrl+C pauses)"
    )
    download.add_argument("tier", choices=TIER_NAMES)
    download.add_argument(
        "--quant", help="quantization, e.g. q5_k_m or q8_0 (default: q4_k_m, or the paused one)"
    )
    download.set_defaults(handler=cmd_download)

    verify = commands.add_parser("verify", help="re-hash installed models against their SHA-256")
    verify.add_argument("tier", nargs="?", choices=TIER_NAMES)
    verify.set_defaults(handler=cmd_verify)

    importing = commands.add_parser("import", help="check a local GGUF file and use it for a tier")
    importing.add_argument("path", type=Path)
    importing.add_argument("--tier", required=True, choices=TIER_NAMES)
    importing.set_defaults(handler=cmd_import)

    delete = commands.add_parser("delete", help="remove a tier's model and partial downloads")
    delete.add_argument("tier", choices=TIER_NAMES)
    delete.set_defaults(handler=cmd_delete)
