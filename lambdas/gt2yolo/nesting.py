"""How deeply a JSON text nests, told before decoding it: input we do not control (manifest lines,
label configs, sidecars, response files) cannot make json.loads raise RecursionError.

Standard library only: every module that decodes such input may import it.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Python's json decodes nesting by recursion: past about 1,000 levels, less the caller's own stack
# depth, it raises RecursionError, so where a line would fail would depend on who calls. A fixed
# limit decides instead, far above any real line (Ground Truth's nest 4 levels deep).
MAX_NESTING = 256
_NESTING_TOKENS = re.compile(rb'\\.|["\[\]{}]', re.DOTALL)


class NestedTooDeep(ValueError):
    """A JSON text nested deeper than MAX_NESTING levels (a ValueError, as json's own errors)."""


def nesting_exceeds(raw: bytes | str, limit: int = MAX_NESTING) -> bool:
    """Whether the JSON text nests arrays and objects deeper than `limit` (strings skipped)."""
    if len(raw) <= limit:
        return False
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth, in_string = 0, False
    for token in _NESTING_TOKENS.finditer(data):
        text = token.group()
        if text == b'"':
            in_string = not in_string
        elif in_string or len(text) > 1:  # inside a string, or an escape (outside: not JSON)
            continue
        elif text in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads_bounded(raw: bytes | str, limit: int = MAX_NESTING) -> Any:
    """json.loads(raw), refusing (NestedTooDeep) a text nested deeper than `limit` levels.

    json.loads raises RecursionError at a depth that depends on the caller's own stack; the
    values decoded here stay shallow enough for any later recursion (repr, json.dumps) too."""
    if nesting_exceeds(raw, limit):
        raise NestedTooDeep(f"nested deeper than {limit} levels")
    try:
        return json.loads(raw)
    except RecursionError:  # a limit above the interpreter's: the same refusal
        raise NestedTooDeep(f"nested deeper than {limit} levels") from None
