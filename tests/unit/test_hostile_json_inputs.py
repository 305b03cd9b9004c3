"""JSON we do not control is refused with a clear error, never a RecursionError traceback.

Label configs, sidecars, label files and worker responses are decoded with a fixed nesting limit
(`gt2yolo.nesting.MAX_NESTING`, far above any real document): deeper ones are refused, in the
words of the input ("label config X is nested too deeply"), whatever the caller's stack depth.
"""

from __future__ import annotations

import json

import pytest
from gt2yolo import ConversionError
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.insights.workers import InvalidResponse, parse_response_file
from gt2yolo.labeling_job import LabelingJobError, parse_label_file
from gt2yolo.nesting import MAX_NESTING, NestedTooDeep, loads_bounded
from gt2yolo_cli.main import main
from gt_builders import Workspace, box, line, ref
from hypothesis import given, settings
from hypothesis import strategies as st

DEEP = 100_000


def _deep_lists(depth: int) -> bytes:
    return b'{"labels": ' + b"[" * depth + b"]" * depth + b"}"


def _deep_objects(depth: int) -> bytes:
    return b'{"labels": [' + b'{"a": ' * depth + b"1" + b"}" * depth + b"]}"


@pytest.mark.parametrize(
    "document",
    [_deep_lists(DEEP), _deep_objects(DEEP), _deep_lists(MAX_NESTING + 1)],
    ids=["lists", "objects", "just-too-deep"],
)
def test_a_label_config_nested_too_deeply_is_an_error_saying_so(document: bytes) -> None:
    with pytest.raises(ConversionError, match=r"label config data\.json is nested too deeply"):
        class_list_from_label_config(document, "data.json")


def test_a_label_config_at_the_nesting_limit_is_read_as_any_other() -> None:
    # Nested just within the limit, the config is judged on its content
    document = b'{"labels": [{"label": "cat", "x": ' + b"[" * 250 + b"]" * 250 + b"}]}"
    assert class_list_from_label_config(document, "data.json").names == ("cat",)


def test_the_cli_refuses_a_deeply_nested_label_config_on_one_line(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a manifest and a label config nested 100,000 levels deep
    manifest = workspace.manifest([line(ref("a.jpg"), [box()])])
    config = workspace.tmp_path / "deep.json"
    config.write_bytes(_deep_lists(DEEP))

    # When converting
    status = main(["convert", str(manifest), "--out", str(workspace.out),
                   "--label-config", str(config), "--images", "skip"])  # fmt: skip

    # Then it fails on one line saying so, no traceback
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1
    assert "is nested too deeply" in err and "Traceback" not in err


def test_a_label_file_or_a_worker_response_nested_too_deeply_is_refused_in_its_own_words() -> None:
    deep = "[" * DEEP + "]" * DEEP
    with pytest.raises(LabelingJobError, match="nested deeper than"):
        parse_label_file(deep)
    key = "annotations/worker-response/iteration-1/0/2026-01-01_00:00:00.json"
    with pytest.raises(InvalidResponse, match="nested deeper than"):
        parse_response_file(key, deep.encode())


def test_bounded_decoding_is_json_loads_below_the_limit_and_a_value_error_above() -> None:
    text = '{"a": [1, {"b": "[[[["}], "c": "\\"{{{"}'
    assert loads_bounded(text) == json.loads(text)
    with pytest.raises(NestedTooDeep):
        loads_bounded("[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1))
    assert issubclass(NestedTooDeep, ValueError)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=12,
)  # fmt: skip


@st.composite
def hostile_config(draw: st.DrawFn) -> bytes:
    """A label config as a hostile or broken exporter may write it."""
    labels = draw(st.lists(st.one_of(JSON, st.builds(lambda n: {"label": n}, st.text())),
                           max_size=4))  # fmt: skip
    document: object = draw(st.sampled_from([{"labels": labels}, labels, {"labels": 3}]))
    text = json.dumps(document)
    depth = draw(st.sampled_from([0, 0, MAX_NESTING, 2000, 50_000]))
    kind = draw(st.sampled_from(["lists", "objects"]))
    if depth and kind == "lists":
        text = '{"labels": [' + "[" * depth + text + "]" * depth + "]}"
    elif depth:
        text = '{"labels": [' + '{"a": ' * depth + text + "}" * depth + "]}"
    data = text.encode()
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=4)) + data[cut:]
    return data


@settings(max_examples=200, deadline=None)
@given(document=hostile_config())
def test_only_conversion_errors_escape_from_reading_any_label_config(document: bytes) -> None:
    # Any config is read into classes or refused with a ConversionError naming it; any other
    # exception (RecursionError, TypeError, ...) fails the test
    try:
        classes = class_list_from_label_config(document, "data.json")
    except ConversionError as exc:
        assert "data.json" in str(exc)
    else:
        assert classes.names and all(isinstance(name, str) for name in classes.names)
