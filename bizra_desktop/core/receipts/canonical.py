"""RFC 8785 canonical JSON: the one byte form of a receipt body that its hash is taken over."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import rfc8785

# RFC 8785 reads every JSON number as an IEEE double; integers beyond +-(2**53 - 1) are not exact.
_SAFE_INT_MAX = 2**53 - 1


def dumps(value: Any) -> bytes:
    """The canonical UTF-8 bytes of `value`.

    Raises ValueError (rfc8785.CanonicalizationError) naming the problem: a type JSON cannot hold,
    a non-string key, NaN or infinity, an integer beyond 2**53, a string with a lone surrogate.
    """
    # rfc8785 takes dict, not any Mapping; a receipt's body is a read-only MappingProxyType.
    # Only the top level is converted: walking every value would slow verify() by a fifth,
    # and nested containers come from json.loads or the pipeline as dicts and lists.
    return rfc8785.dumps(dict(value) if isinstance(value, Mapping) else value)


def loads(data: bytes | str) -> Any:
    """Parse JSON so that `dumps(loads(dumps(x))) == dumps(x)` for every `x` that `dumps` accepts.

    RFC 8785 writes a float such as 1e20 without exponent or fraction ("100000000000000000000");
    Python's json would read that back as an int too large for `dumps`. Reading such integers as
    floats, as RFC 8785 itself does, keeps a receipt verifiable after a round trip.
    """
    return json.loads(data, parse_int=_parse_int)


def _parse_int(text: str) -> int | float:
    number = int(text)
    # float(text), not float(number): a huge literal becomes inf (which dumps rejects as
    # non-canonical) instead of raising OverflowError.
    return number if abs(number) <= _SAFE_INT_MAX else float(text)
