"""Paged, filtered reads of the receipts for a browser: a page of rows at a time, never the
whole chain. Qt-free; a table model calls page() from fetchMore().

Rows are read as stored, unverified (the browser's Verify runs `ReceiptChain.verify`); a body
that is not JSON shows as a row of empty fields rather than failing the page.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from bizra_desktop.core.receipts import canonical
from bizra_desktop.core.receipts.chain import Receipt, ReceiptChain
from bizra_desktop.core.receipts.exchanges import (
    Exchange,
    exchange_for,
    exchanges_sql,
    has_conversations,
)
from bizra_desktop.core.receipts.verification import parse_object

# A row's columns. time, model and tier are the table's indexed generated columns (chain.py's
# migration 2), which the filters use; json_valid first: a damaged body gives NULLs, not an error.
_ROWS = """
SELECT seq, hash, time, model, tier,
       CASE WHEN json_valid(body) THEN json_extract(body, '$.complexity') END,
       CASE WHEN json_valid(body) THEN json_extract(body, '$.tokens_per_s') END,
       CASE WHEN json_valid(body) THEN json_extract(body, '$.impact') END
  FROM receipts"""
_CONTAINS = "bizra_receipts_contains"


@dataclass(frozen=True, kw_only=True)
class ReceiptFilter:
    """Receipts to show; None leaves a criterion out. Dates are UTC, both ends included."""

    model: str | None = None
    tier: str | None = None
    since: date | None = None
    until: date | None = None
    text: str | None = None  # in the prompt, the response or the conversation's title


@dataclass(frozen=True, kw_only=True)
class ReceiptDetail:
    seq: int
    hash: str
    receipt: Receipt | None  # None: the stored body is not a JSON object (see problem)
    problem: str | None
    exchange: Exchange | None  # None: no message carries this receipt


@dataclass(frozen=True, kw_only=True)
class ReceiptRow:
    seq: int
    hash: str
    time: str | None  # UTC ISO 8601, as in the receipt
    model: str | None
    tier: str | None
    complexity: str | None
    tokens_per_s: float | None
    impact: float | None


class ReceiptQuery:
    """Reads through the chain's own connection (and lock): one short query per page."""

    def __init__(self, chain: ReceiptChain) -> None:
        self._chain = chain
        with chain.connection() as conn:
            conn.create_function(_CONTAINS, 2, _contains, deterministic=True)

    def page(
        self,
        offset: int,
        limit: int,
        filters: ReceiptFilter | None = None,
        *,
        newest_first: bool = True,
    ) -> list[ReceiptRow]:
        order = "DESC" if newest_first else "ASC"
        with self._chain.connection() as conn:
            where, params = _where(conn, filters or ReceiptFilter())
            # The page's seqs are chosen on the indexes alone; only its rows are then read out of
            # their bodies, so stepping over the rows before the offset stays cheap.
            rows = conn.execute(
                f"{_ROWS} WHERE seq IN (SELECT seq FROM receipts {where} ORDER BY seq {order} "
                f"LIMIT ? OFFSET ?) ORDER BY seq {order}",
                (*params, max(limit, 0), max(offset, 0)),
            ).fetchall()
        return [_typed(row) for row in rows]

    def page_before(
        self,
        before_seq: int | None,
        filters: ReceiptFilter | None = None,
        limit: int | None = None,
        down_to: int | None = None,
    ) -> list[ReceiptRow]:
        """Rows newest first below `before_seq` (from the newest if None), none below `down_to`,
        at most `limit`: keyset paging, the same cost at any depth (for fetchMore)."""
        with self._chain.connection() as conn:
            bounds = (("seq < ?", before_seq), ("seq >= ?", down_to))
            where, params = _where(conn, filters or ReceiptFilter(), bounds)
            rows = conn.execute(
                f"{_ROWS} {where} ORDER BY seq DESC LIMIT ?",
                (*params, -1 if limit is None else limit),  # SQLite: LIMIT -1 is no limit
            ).fetchall()
        return [_typed(row) for row in rows]

    def detail(self, receipt_hash: str) -> ReceiptDetail | None:
        """One receipt with its parsed body and its exchange; None if there is no such receipt.
        A body that is not a JSON object comes back with `problem` saying so, not an error."""
        with self._chain.connection() as conn:
            row = conn.execute(
                "SELECT seq, CAST(body AS BLOB) FROM receipts WHERE hash = ?", (receipt_hash,)
            ).fetchone()
            if row is None:
                return None
            seq, body = int(row[0]), bytes(row[1])
            parsed = parse_object(body, canonical.loads)
            exchange = exchange_for(conn, receipt_hash, parsed) if parsed is not None else None
        if parsed is None:
            problem = f"receipt #{seq} is unreadable (its body is not a JSON object)"
            return ReceiptDetail(
                seq=seq, hash=receipt_hash, receipt=None, problem=problem, exchange=None
            )
        receipt = Receipt(seq, receipt_hash, MappingProxyType(parsed))
        return ReceiptDetail(
            seq=seq, hash=receipt_hash, receipt=receipt, problem=None, exchange=exchange
        )

    def count(self, filters: ReceiptFilter | None = None) -> int:
        with self._chain.connection() as conn:
            where, params = _where(conn, filters or ReceiptFilter())
            (count,) = conn.execute(f"SELECT count(*) FROM receipts {where}", params).fetchone()
        return int(count)

    def models(self) -> list[str]:
        """The model names that occur, for a filter's choices."""
        with self._chain.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT model FROM receipts WHERE model IS NOT NULL ORDER BY model"
            ).fetchall()
        return [str(row[0]) for row in rows]


def _where(
    conn: sqlite3.Connection,
    filters: ReceiptFilter,
    bounds: tuple[tuple[str, int | None], ...] = (),
) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (or "") and its parameters for `filters` and any (clause, value)
    `bounds` whose value is not None."""
    clauses = [clause for clause, value in bounds if value is not None]
    params: list[Any] = [value for _, value in bounds if value is not None]
    if filters.model is not None:
        clauses.append("model = ?")
        params.append(filters.model)
    if filters.tier is not None:
        clauses.append("tier = ?")
        params.append(filters.tier)
    # Timestamps are fixed-width UTC ISO strings, so text order is time order.
    if filters.since is not None:
        clauses.append("time >= ?")
        params.append(filters.since.isoformat())
    if filters.until is not None:
        clauses.append("time < ?")
        params.append((filters.until + timedelta(days=1)).isoformat())
    needle = (filters.text or "").strip().casefold()
    if needle:
        if not has_conversations(conn):
            clauses.append("0")
        else:
            clauses.append(
                f"hash IN (SELECT receipt_hash FROM ({exchanges_sql(conn)}) WHERE "
                f"{_CONTAINS}(prompt, ?) OR {_CONTAINS}(response, ?) OR {_CONTAINS}(title, ?))"
            )
            params += [needle] * 3
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def _contains(text: str | None, folded_needle: str) -> bool:
    # Unicode case folding, every character literal: SQLite's LIKE folds ASCII only and gives
    # % and _ a meaning.
    return text is not None and folded_needle in text.casefold()


def _typed(row: tuple[Any, ...]) -> ReceiptRow:
    """A row of _ROWS with its fields as ReceiptRow types them, None where a body holds
    something else."""
    seq, receipt_hash, time, model, tier, complexity, tokens_per_s, impact = row
    return ReceiptRow(
        seq=seq,
        hash=str(receipt_hash),
        time=_text(time),
        model=_text(model),
        tier=_text(tier),
        complexity=_text(complexity),
        tokens_per_s=_number(tokens_per_s),
        impact=_number(impact),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
