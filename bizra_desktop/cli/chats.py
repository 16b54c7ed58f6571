"""`bizra chats …`: list the conversations, export one (Markdown, HTML or JSON) with the
receipts that prove its answers.

Exit codes as for every `bizra` command: 0 done; 1 the receipts do not verify; 2 no such
conversation, an unknown format, or a file that cannot be written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bizra_desktop.cli.receipts import report_export
from bizra_desktop.core.conversations import ConversationStore
from bizra_desktop.core.paths import data_paths
from bizra_desktop.core.receipts.chain import ReceiptChain
from bizra_desktop.core.receipts.chat_export import export_chat, format_for
from bizra_desktop.core.text import printable

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `chats` and its subcommands to the `bizra` parser."""
    chats = commands.add_parser("chats", help="the conversations: list, export")
    sub = chats.add_subparsers(dest="chats_command", required=True)

    listing = sub.add_parser("list", help="each conversation's id, title, times and messages")
    listing.add_argument("--json", action="store_true", help="one JSON array")
    listing.set_defaults(handler=cmd_list)

    export = sub.add_parser(
        "export", help="write a conversation with its receipts; `bizra receipts verify` checks it"
    )
    export.add_argument("id", type=int, metavar="ID", help="a conversation id (`chats list`)")
    export.add_argument("out", type=Path, metavar="OUT")
    export.add_argument(
        "--format",
        choices=["md", "html", "json"],
        help="Markdown, HTML or JSON (default: from OUT's suffix)",
    )
    export.set_defaults(handler=cmd_export)


def cmd_list(args: argparse.Namespace) -> int:
    paths = data_paths()
    records: list[dict[str, object]] = []
    if paths.database.exists():
        with ConversationStore(paths.database) as store:
            counts = store.message_counts()
            records = [
                {
                    "id": conversation.id,
                    "title": conversation.title,
                    "created_at": conversation.created_at,
                    "updated_at": conversation.updated_at,
                    "messages": counts.get(conversation.id, 0),
                    "preset": conversation.preset,
                    "source": conversation.source,  # app, cli or api
                }
                for conversation in store.list()
            ]
    if args.json:
        # ASCII with \u escapes: the same bytes whatever the console encodes with.
        print(json.dumps(records))
    elif not records:
        print("no conversations yet")
    else:
        for record in records:
            print(
                f"{record['id']:>5}  {str(record['updated_at'])[:16].replace('T', ' ')}  "
                f"{record['messages']:>4} messages  {printable(str(record['title']))}"
            )
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    try:
        fmt = format_for(args.out, args.format)
    except ValueError as error:
        return _error(str(error), EXIT_BAD_INPUT)
    paths = data_paths()
    if not paths.database.exists():
        return _error(f"there is no conversation with id {args.id}", EXIT_BAD_INPUT)
    with (
        ReceiptChain(paths.database, paths.keys) as chain,
        ConversationStore(paths.database) as store,
    ):
        return report_export(args.out, lambda: export_chat(chain, store, args.id, args.out, fmt))


def _error(message: str, code: int) -> int:
    print(f"bizra: error: {message}", file=sys.stderr)
    return code
