"""Short renderings of manifest values for rejection details and error messages.

A value read from a manifest can be a 5 MB string, an integer of 4,000 digits or a list nested
hundreds deep: a detail shows a bounded excerpt of it, never the value whole (`repr` of such a
value is slow, huge, or raises).
"""

from __future__ import annotations

import reprlib

MAX_DETAIL_CHARS = 500

_DIGITS_PER_BIT = 0.30103  # log10(2)

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxlong = 40
_repr.maxother = 80
_repr.maxlevel = 2
_repr.maxlist = _repr.maxtuple = _repr.maxdict = 4


def shown(value: object) -> str:
    """repr(value), at most about 80 characters and 2 levels deep."""
    try:
        return _repr.repr(value)
    except ValueError:  # an int beyond sys.get_int_max_str_digits(): repr refuses it
        bits = value.bit_length() if isinstance(value, int) else 0
        return f"an integer of about {int(bits * _DIGITS_PER_BIT)} digits"


def shortened(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """`text`, or its start and end around a note of how many characters were left out: at most
    `limit` characters either way (`limit` of 60 or more)."""
    if len(text) <= limit:
        return text
    note = f"...({len(text)} characters, shortened)..."
    keep = (limit - len(note)) // 2
    return f"{text[:keep]}{note}{text[len(text) - keep :]}"
