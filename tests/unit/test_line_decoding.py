"""A line decodes exactly as json.loads decodes it, with orjson installed or not.

orjson (optional) is used only where it provably agrees with json; every input it rejects goes to
json, so NaN, Infinity, 1e400, lone surrogates, a byte order mark, integers beyond 64 bits and
deep nesting behave, and fail, exactly as with the standard library alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gt2yolo import manifest
from gt2yolo.manifest import decode_json
from gt_builders import Workspace, box, line, ref
from hypothesis import given, settings
from hypothesis import strategies as st

try:
    import orjson  # noqa: F401

    DECODERS = ["json", "orjson"]
except ImportError:
    DECODERS = ["json"]


@pytest.fixture(params=DECODERS)
def decoder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each decoding path this environment has: json alone, and orjson first when installed."""
    if request.param == "json":
        monkeypatch.setattr(manifest, "_fast_loads", None)
    yield str(request.param)


def _outcome(raw: bytes) -> tuple[str, Any]:
    """What json.loads makes of `raw`: ("ok", value) or ("error", exception type)."""
    try:
        return ("ok", json.loads(raw))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        return ("error", type(exc))


def _decoded(raw: bytes) -> tuple[str, Any]:
    try:
        return ("ok", decode_json(raw))
    except (ValueError, RecursionError) as exc:
        return ("error", type(exc))


def _same(a: Any, b: Any) -> bool:
    """Equal with types: 1 is not 1.0, key order counts, NaN equals NaN, -0.0 is not 0.0.

    Iterative: the values may nest deeper than the recursion limit allows a recursive walk.
    """
    pending = [(a, b)]
    while pending:
        x, y = pending.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if list(x) != list(y):
                return False
            pending += [(x[k], y[k]) for k in x]
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            pending += list(zip(x, y, strict=True))
        elif isinstance(x, float):
            if not (
                (math.isnan(x) and math.isnan(y))
                or (x == y and math.copysign(1, x) == math.copysign(1, y))
            ):
                return False
        elif x != y:
            return False
    return True


def _agree(raw: bytes) -> bool:
    (kind, value), (other_kind, other) = _decoded(raw), _outcome(raw)
    return kind == other_kind and (_same(value, other) if kind == "ok" else value is other)


EDGE_CASES = [
    b'{"a": 1, "a": 2, "b": 3}',  # duplicate key: the last value, at the first key's position
    b'{"a": 1, "b": 2, "a": 3}',
    b'{"left": NaN}', b'{"left": Infinity}', b'{"left": -Infinity}',
    b'{"left": 1e400}', b'{"left": -1e400}', b'{"left": 1e-400}',
    b'{"id": 18446744073709551615}', b'{"id": 18446744073709551616}',  # u64 max, and past it
    b'{"id": -9223372036854775809}', b'{"id": 123456789012345678901234567890}',
    b'{"id": 1234567890123456789.5}', b'{"id": -0}', b'{"id": -0.0}', b'{"id": 1E+2}',
    b'{"s": "\\ud800"}', b'{"s": "\\udc00x"}', b'{"s": "\xed\xa0\x80"}', b'{"s": "\xff"}',
    b'\xef\xbb\xbf{"a": 1}', b'\xff\xfe{\x00}\x00', b'\x00{}', b'{}\x00', b'\x0c{}', b'{}\x0c',
    b' \t{"a": 1} \r\n', b'\xc2\xa0{}', b'{"a": 1,}', b'[1,]', b"01", b"1.", b".5", b"",
    b'{"s": "\x1f"}', b'{"s": "\x7f"}', b'{"s": "\\u0000"}', b"[" * 600 + b"]" * 600,
    b"[" * 2000 + b"]" * 2000, b'{"a": ' * 990 + b"1" + b"}" * 990,
    b'"just a string"', b"[]", b"null", b"true", b"1", b"-1.5e-3",
    b'{"id": ' + b"7" * 4300 + b"}", b'{"id": ' + b"7" * 4301 + b"}",  # the int digit limit
    b'{"id": -' + b"7" * 5000 + b"}", b'{"w": ' + b"9" * 401 + b"}", b'{"w": 1' + b"0" * 400 + b".5}",
]  # fmt: skip


@pytest.mark.parametrize("raw", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_a_line_decodes_or_fails_exactly_as_json_loads(decoder: str, raw: bytes) -> None:
    # Given a line at an edge where orjson and json differ (or could)
    # When decoding it
    # Then the value (types, key order, -0.0) or the exception type is json.loads's
    assert _agree(raw)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, ascii_only=st.booleans())
def test_any_json_text_decodes_as_json_loads_decodes_it(value: Any, ascii_only: bool) -> None:
    # Given any JSON text json.dumps writes (NaN, Infinity, big ints, lone surrogates included)
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    # When decoding it
    # Then the result equals json.loads's, with types
    assert _agree(raw)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, cut=st.integers(min_value=0), junk=st.binary(max_size=3))
def test_damaged_json_text_fails_or_decodes_as_json_loads_does(
    value: Any, cut: int, junk: bytes
) -> None:
    # Given JSON text with bytes cut off and junk inserted
    raw = json.dumps(value).encode()
    at = cut % (len(raw) + 1)
    damaged = raw[:at] + junk + raw[at + len(junk) :]
    # When decoding it
    # Then it is accepted or refused exactly as json.loads does
    assert _agree(damaged)


@settings(max_examples=200, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=1, max_size=30), sign=st.booleans(),
       fraction=st.text(alphabet="0123456789", max_size=25), exponent=st.integers(-400, 400))  # fmt: skip
def test_numbers_decode_to_the_same_int_or_float_as_json_loads(
    digits: str, sign: bool, fraction: str, exponent: int
) -> None:
    # Given a number in any JSON spelling (leading zeros make it invalid: both must agree)
    number = ("-" if sign else "") + digits + (f".{fraction}" if fraction else "") + f"e{exponent}"
    # When decoding it, with and without a fraction and exponent
    # Then the value and type are json.loads's
    for text in (number, number.split("e")[0], number.split(".")[0]):
        assert _agree(f'{{"n": {text}}}'.encode())


def test_a_dataset_is_byte_identical_with_and_without_orjson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a manifest of good lines and lines at the decoders' edges
    lines = [line(ref(f"ok{i}.jpg"), [box(i % 4, 10 + i, 20, 30, 40)]).encode() for i in range(5)]
    workspace = Workspace(tmp_path)
    manifest_path = tmp_path / "output.manifest"
    manifest_path.write_bytes(b"\n".join(lines + EDGE_CASES) + b"\n")

    # When converting it with each decoding path this environment has
    datasets = {}
    for name in DECODERS:
        with monkeypatch.context() as patch:
            if name == "json":
                patch.setattr(manifest, "_fast_loads", None)
            folder = f"dataset-{len(datasets)}"  # data.yaml names it
            workspace.out = tmp_path / folder
            workspace.convert(manifest_path, label_attribute="boxes")
        datasets[name] = {
            p.relative_to(workspace.out).as_posix(): p.read_bytes().replace(folder.encode(), b"~")
            for p in sorted(workspace.out.rglob("*"))
            if p.is_file()
        }

    # Then every file holds the same bytes (the dataset folder's own name aside)
    assert all(files == datasets["json"] for files in datasets.values())
    assert datasets["json"]["rejected.jsonl"].count(b"\n") > 30
