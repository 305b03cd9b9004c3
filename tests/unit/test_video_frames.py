"""Video frame jobs -> a detection dataset of their frames: the rules of
gt2yolo.tasks.video (reader and yolo) through the real pipeline.

A line is a sequence: its sequence file lists the frames (`prefix` + `frame`, ordered by
`frame-no`), its SeqLabel.json the boxes of the frames someone labeled, joined to the sequence's
frames by file name (by number only when a SeqLabel frame has no name). Every frame becomes an
image, its size read from its own header; frames nobody labeled are background images. A whole
sequence lands in one split. A sequence whose files are missing or broken rejects its line; a
frame that is missing or not an image rejects that frame, and the rest of the sequence converts.
"""

from __future__ import annotations

import io
import json
import string
from pathlib import Path
from typing import Any

import pytest
from gt2yolo.paths import Layout
from gt2yolo.split import SplitFractions, assign_split
from gt_builders import Dataset
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image
from task_builders import jpeg
from video_builders import (
    FRAMES,
    INPUTS,
    VideoWorkspace,
    frame_entries,
    frame_name,
    labeled,
    mot_rows,
    seqinfo,
    tracked,
)

CAR, PERSON = 0, 1


@pytest.fixture
def video(tmp_path: Path) -> VideoWorkspace:
    return VideoWorkspace(tmp_path)


def _frames(dataset: Dataset, sequence: str | None = None) -> list[dict[str, str]]:
    return [r for r in dataset.images if sequence is None or r["sequence"] == sequence]


def _boxes_by_frame(dataset: Dataset, sequence: str) -> dict[str, int]:
    """Frame file name -> boxes in its label file."""
    return {
        row["source_ref"].rsplit("/", 1)[1]: len(dataset.text(row["label"]).splitlines())
        for row in _frames(dataset, sequence)
    }


# --- frame numbers and the join of SeqLabel.json to the sequence ----------------------------------


def test_frames_are_ordered_by_frame_number_given_as_int_or_digit_string(
    video: VideoWorkspace,
) -> None:
    # Given a sequence file listing its frames out of order, numbered with ints and digit strings
    # (numerically 2 < 9 < 10; as text "10" < "2" < "9")
    frames: list[dict[str, Any]] = [{"frame-no": "10", "frame": "c.jpeg"},
                                    {"frame-no": 9, "frame": "b.jpeg"},
                                    {"frame-no": "2", "frame": "a.jpeg"}]  # fmt: skip
    sequence = video.sequence("clip", frames)
    labels = video.seq_labels([labeled("b.jpeg", [tracked(CAR, 5, 5, 20, 20, "car-1")], 1)])

    # When converting
    dataset = video.convert([video.video_line(sequence, labels)])

    # Then the frames follow their numbers, and MOT numbers them 1.. in that order
    rows = [(r["source_ref"].rsplit("/", 1)[1], r["frame_number"], r["mot_frame"])
            for r in _frames(dataset)]  # fmt: skip
    assert rows == [("a.jpeg", "2", "1"), ("b.jpeg", "9", "2"), ("c.jpeg", "10", "3")]
    assert [row[0] for row in mot_rows(dataset, "clip")] == ["2"]


def test_seqlabel_frames_join_by_file_name_so_0_based_labels_fit_a_1_based_sequence(
    video: VideoWorkspace,
) -> None:
    # Given a sequence numbered 1..4 and a SeqLabel numbering the same frames 0..3, as Ground
    # Truth does: frame-no 0 is frame_0001.jpeg, frame-no 3 is frame_0004.jpeg
    sequence = video.sequence("clip", frame_entries(4, first=1))
    labels = video.seq_labels([
        labeled(frame_name(1), [tracked(CAR, 1, 1, 10, 10, "car-1")], number=0),
        labeled(frame_name(4), [tracked(CAR, 30, 1, 10, 10, "car-1"),
                                tracked(PERSON, 2, 2, 8, 30, "person-1")], number="3"),
    ])  # fmt: skip

    # When converting
    dataset = video.convert([video.video_line(sequence, labels)])

    # Then the boxes are on the frames the SeqLabel names, not on the frames of its numbers
    assert _boxes_by_frame(dataset, "clip") == {
        frame_name(1): 1, frame_name(2): 0, frame_name(3): 0, frame_name(4): 2,
    }  # fmt: skip
    assert dataset.report["video"]["boxes_outside_sequence"] == 0


def test_a_seqlabel_frame_without_a_name_joins_by_its_number_int_or_digit_string(
    video: VideoWorkspace,
) -> None:
    # Given SeqLabel frames without a `frame` name, numbered 2 (an int) and "3" (a digit string)
    sequence = video.sequence("clip", frame_entries(4, first=1))
    labels = video.seq_labels([
        labeled(None, [tracked(CAR, 1, 1, 10, 10, "car-1")], number=2),
        labeled(None, [tracked(CAR, 9, 1, 10, 10, "car-1")], number="3"),
    ])  # fmt: skip

    # When converting
    dataset = video.convert([video.video_line(sequence, labels)])

    # Then their boxes are on the sequence's frames of those numbers
    assert _boxes_by_frame(dataset, "clip") == {
        frame_name(1): 0, frame_name(2): 1, frame_name(3): 1, frame_name(4): 0,
    }  # fmt: skip


def test_frames_nobody_labeled_are_background_images(video: VideoWorkspace) -> None:
    # Given a sequence of 5 frames whose SeqLabel lists only the second and fourth
    line = video.clip("clip", {1: [tracked(CAR, 1, 1, 10, 10, "car-1")],
                               3: [tracked(CAR, 5, 1, 10, 10, "car-1")]}, frames=5)  # fmt: skip

    # When converting
    dataset = video.convert([line])

    # Then every frame is an image; the three unlisted ones have empty label files
    assert _boxes_by_frame(dataset, "clip") == {
        frame_name(1): 0, frame_name(2): 1, frame_name(3): 0, frame_name(4): 1, frame_name(5): 0,
    }  # fmt: skip
    assert all(dataset.text(r["label"]) == "" for r in _frames(dataset) if r["boxes"] == "0")
    report = dataset.report
    assert (report["images"], report["background_images"], report["boxes"]) == (5, 3, 2)
    assert report["video"]["frames"] == 5


def test_boxes_of_seqlabel_frames_the_sequence_lacks_are_counted_not_written(
    video: VideoWorkspace,
) -> None:
    # Given a SeqLabel with frames the sequence does not hold: a name it lacks (2 boxes), a name
    # it lacks though its number is the sequence's (1 box; the name decides), and a nameless
    # frame of a number it lacks (1 box)
    sequence = video.sequence("clip", frame_entries(2, first=1))
    labels = video.seq_labels([
        labeled(frame_name(1), [tracked(CAR, 1, 1, 10, 10, "car-1")], number=0),
        labeled(frame_name(9), [tracked(CAR, 1, 1, 10, 10, "car-1"),
                                tracked(PERSON, 20, 1, 5, 20, "person-1")], number=8),
        labeled("elsewhere.jpeg", [tracked(CAR, 3, 1, 10, 10, "car-1")], number=1),
        labeled(None, [tracked(CAR, 3, 1, 10, 10, "car-1")], number=42),
    ])  # fmt: skip

    # When converting
    dataset = video.convert([video.video_line(sequence, labels)])

    # Then only the sequence's frame has a box; the others' four are counted in the report
    assert _boxes_by_frame(dataset, "clip") == {frame_name(1): 1, frame_name(2): 0}
    report = dataset.report
    assert report["video"]["boxes_outside_sequence"] == 4
    assert report["boxes"] == 1 and len(dataset.annot) == 1
    assert report["rejected"] == {}


# --- frame sizes: each frame's own image header ----------------------------------------------------


def test_each_frame_is_normalized_by_the_size_in_its_own_image_header(
    video: VideoWorkspace,
) -> None:
    # Given one sequence whose frames come in two sizes, the same pixel box on each
    sizes = {frame_name(1): (64, 48), frame_name(2): (128, 96)}
    box = tracked(CAR, 16, 12, 32, 24, "car-1")
    line = video.clip("clip", {0: [box], 1: [box]}, frames=2, sizes=sizes)

    # When converting
    dataset = video.convert([line])

    # Then each frame's row has its size, and its label is normalized by it
    first, second = (video.frame_uri("clip", name) for name in sizes)
    rows = dataset.image_row(first), dataset.image_row(second)
    assert [(row["width"], row["height"]) for row in rows] == [("64", "48"), ("128", "96")]
    assert dataset.label_rows(first) == [["0", "0.5", "0.5", "0.5", "0.5"]]
    assert dataset.label_rows(second) == [["0", "0.25", "0.25", "0.25", "0.25"]]


def test_a_frame_whose_size_lies_past_the_first_16_kib_still_gets_its_size(
    video: VideoWorkspace,
) -> None:
    # Given a frame whose JPEG frame header follows a 40 KB comment segment
    line = video.clip("clip", {0: [tracked(CAR, 16, 12, 32, 24, "car-1")]}, frames=1)
    plain = jpeg(80, 60)
    comment = b"x" * 40_000
    padded = plain[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + plain[2:]
    assert Image.open(io.BytesIO(padded)).size == (80, 60)
    video.put(video.frame_uri("clip", frame_name(1)), padded)

    # When converting
    dataset = video.convert([line])

    # Then its size is read from the header further on
    row = dataset.image_row(video.frame_uri("clip", frame_name(1)))
    assert (row["width"], row["height"]) == ("80", "60")


def test_a_missing_frame_is_rejected_naming_its_uri_and_the_rest_converts(
    video: VideoWorkspace,
) -> None:
    # Given a sequence of 4 frames, labeled throughout, whose second frame file is missing
    car = tracked(CAR, 1, 1, 10, 10, "car-1")
    line = video.clip("clip", {i: [car] for i in range(4)}, frames=4)
    missing = video.frame_uri("clip", frame_name(2))
    video.path(missing).unlink()

    # When converting
    dataset = video.convert([line])

    # Then the frame is rejected as frame_not_found, naming its URI and its sequence's line
    [rejected] = dataset.rejected
    assert rejected["reason"] == "frame_not_found"
    assert (rejected["source_ref"], rejected["line"]) == (missing, 1)
    assert missing in rejected["detail"]
    # And the other frames convert, numbered 1..3 in MOT (no gap where the missing frame was)
    assert [r["frame_number"] for r in _frames(dataset)] == ["1", "3", "4"]
    assert [r["mot_frame"] for r in _frames(dataset)] == ["1", "2", "3"]
    assert seqinfo(dataset, "clip")["seqLength"] == "3"
    assert dataset.report["rejected"] == {"frame_not_found": 1}
    assert not (dataset.root / "images/train/clip" / frame_name(2)).exists()


@pytest.mark.parametrize(
    "content", [b"", b"frame 2 was never encoded", b"\x89PNG\r\n\x1a\n\x00\x00"],
    ids=["empty", "text", "cut-png"],
)  # fmt: skip
def test_a_frame_that_is_not_an_image_is_rejected_as_frame_unreadable(
    video: VideoWorkspace, content: bytes
) -> None:
    # Given a sequence whose second frame file holds no image header
    line = video.clip("clip", {0: [tracked(CAR, 1, 1, 10, 10, "car-1")]}, frames=3)
    unreadable = video.put(video.frame_uri("clip", frame_name(2)), content)

    # When converting
    dataset = video.convert([line])

    # Then that frame is rejected as frame_unreadable, and the other two convert
    [rejected] = dataset.rejected
    assert (rejected["reason"], rejected["source_ref"]) == ("frame_unreadable", unreadable)
    assert [r["frame_number"] for r in _frames(dataset)] == ["1", "3"]


# --- the split: by sequence -----------------------------------------------------------------------

SEQUENCE_NAMES = st.text(string.ascii_letters + string.digits + "-_ .é", min_size=1, max_size=12)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # Names equal but for case (`A`, `a`) included: their folders are told apart as for images
    names=st.lists(SEQUENCE_NAMES.filter(lambda n: n.strip(".") != ""), min_size=1, max_size=6,
                   unique=True),
    val=st.floats(0.0, 0.6),
    test=st.floats(0.0, 0.35),
)  # fmt: skip
@example(names=["Clip", "clip", "CLIP"], val=0.4, test=0.3)
def test_every_frame_of_a_sequence_lands_in_its_sequences_split(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], val: float, test: float
) -> None:
    # Given sequences of any names, three frames each, and any split fractions
    video = VideoWorkspace(tmp_path_factory.mktemp("split"))
    fractions = SplitFractions(val=val, test=test)
    lines = [video.clip(name, {0: [tracked(CAR, 1, 1, 10, 10, "car-1")]}, frames=3)
             for name in names]  # fmt: skip

    # When converting without copying the images
    dataset = video.convert(lines, images=False, val=val, test=test)

    # Then all frames of a sequence are in one split: the split its sequence file hashes to
    splits: dict[str, set[str]] = {}
    for row in dataset.images:
        splits.setdefault(row["sequence_ref"], set()).add(row["split"])
    assert splits == {f"{INPUTS}/{n}.json": {str(assign_split(f"{INPUTS}/{n}.json", fractions))}
                      for n in names}  # fmt: skip
    assert all(row["image"].startswith(f"images/{row['split']}/") for row in dataset.images)
    assert dataset.report["video"]["split_by"] == "sequence"
    # And each sequence has a folder of its own (ignoring case, as Windows and macOS compare)
    folders = {row["sequence_ref"]: row["sequence"].casefold() for row in dataset.images}
    assert len(set(folders.values())) == len(names)


# --- images.csv and annot.csv -----------------------------------------------------------------------


def test_images_csv_has_a_row_per_frame_with_its_sequence_and_frame_numbers(
    video: VideoWorkspace,
) -> None:
    # Given two sequences of 3 and 2 frames
    lines = [video.clip("north", {0: [tracked(CAR, 1, 1, 10, 10, "car-1")]}, frames=3),
             video.clip("south", {1: [tracked(PERSON, 1, 1, 5, 20, "p-1")]}, frames=2)]  # fmt: skip

    # When converting
    dataset = video.convert(lines)

    # Then images.csv has the image columns, then the frame's sequence and numbers
    rows = dataset.images
    assert list(rows[0])[-4:] == ["sequence", "sequence_ref", "frame_number", "mot_frame"]
    assert [(r["source_ref"], r["image"], r["label"], r["sequence"], r["sequence_ref"],
             r["frame_number"], r["mot_frame"], r["line"]) for r in rows] == [
        (f"{FRAMES}/{seq}/{frame_name(n)}", f"images/train/{seq}/{frame_name(n)}",
         f"labels/train/{seq}/frame_{n:04d}.txt", seq, f"{INPUTS}/{seq}.json", str(n), str(n), line)
        for seq, count, line in (("north", 3, "1"), ("south", 2, "2")) for n in range(1, count + 1)
    ]  # fmt: skip
    # And each frame image is the file its source-ref names
    for row in rows:
        copied, source = dataset.root / row["image"], video.path(row["source_ref"])
        assert copied.read_bytes() == source.read_bytes()


def test_annot_csv_rows_name_the_sequence_frame_track_and_object_id(
    video: VideoWorkspace,
) -> None:
    # Given a tracked car in frames 1 and 2 and a person in frame 2
    car = "1f0c-car"
    line = video.clip("clip", {0: [tracked(CAR, 1, 1, 10, 10, car)],
                               1: [tracked(CAR, 5, 1, 10, 10, car),
                                   tracked(PERSON, 40, 2, 5, 20, "8e2a-person")]})  # fmt: skip

    # When converting
    dataset = video.convert([line])

    # Then each box's row names its sequence, frame number, track id and Ground Truth object-id
    assert list(dataset.annot[0])[-4:] == ["sequence", "frame_number", "track_id", "object_id"]
    assert [(r["category"], r["sequence"], r["frame_number"], r["track_id"], r["object_id"])
            for r in dataset.annot] == [
        ("car", "clip", "1", "1", car), ("car", "clip", "2", "1", car),
        ("person", "clip", "2", "2", "8e2a-person"),
    ]  # fmt: skip


# --- --frame-step ----------------------------------------------------------------------------------


def test_frame_step_keeps_every_nth_frame_by_frame_number_and_renumbers_mot_frames(
    video: VideoWorkspace,
) -> None:
    # Given a sequence of frames 0..6 listed in reverse, a car in every frame
    frames = list(reversed(frame_entries(7, first=0)))
    sequence = video.sequence("clip", frames)
    labels = video.seq_labels(
        [labeled(frame_name(i + 1), [tracked(CAR, 1 + i, 1, 10, 10, "car-1")], i) for i in range(7)]
    )

    # When converting with --frame-step 3
    dataset = video.convert([video.video_line(sequence, labels)], frame_step=3)

    # Then frames 0, 3 and 6 are kept, as MOT frames 1..3, and nothing of the others is written
    rows = _frames(dataset)
    assert [(r["frame_number"], r["mot_frame"]) for r in rows] == [("0", "1"), ("3", "2"),
                                                                   ("6", "3")]  # fmt: skip
    assert [row[:2] for row in mot_rows(dataset, "clip")] == [["1", "1"], ["2", "1"], ["3", "1"]]
    assert [row[2] for row in mot_rows(dataset, "clip")] == ["1", "4", "7"]  # lefts of 0, 3, 6
    assert seqinfo(dataset, "clip")["seqLength"] == "3"
    assert sorted(p.name for p in (dataset.root / "images/train/clip").iterdir()) == [
        frame_name(1), frame_name(4), frame_name(7)
    ]  # fmt: skip
    assert len(list((dataset.root / "labels/train/clip").iterdir())) == 3
    video_report = dataset.report["video"]
    assert (video_report["frame_step"], video_report["frames"]) == (3, 3)
    assert video_report["frames_skipped_by_step"] == 4
    assert dataset.report["boxes"] == 3


def test_a_frame_step_below_1_is_refused_before_anything_is_written(video: VideoWorkspace) -> None:
    # Given a video job
    line = video.clip("clip", {0: [tracked(CAR, 1, 1, 10, 10, "car-1")]})

    # When converting with a frame step of 0
    message = video.fail([line], frame_step=0)

    # Then the conversion refuses it, and no dataset file exists
    assert message == "--frame-step must be 1 or more"
    assert not video.out.exists() or not any(video.out.iterdir())


# --- sequences whose files are missing or broken ---------------------------------------------------


def test_a_missing_sequence_file_rejects_its_line_as_sequence_not_found(
    video: VideoWorkspace,
) -> None:
    # Given a good sequence, and a line whose sequence file is not there
    good = video.clip("good", {0: [tracked(CAR, 1, 1, 10, 10, "car-1")]})
    labels = video.seq_labels([labeled(frame_name(1), [tracked(CAR, 1, 1, 10, 10, "c")], 0)])
    missing = video.video_line(f"{INPUTS}/gone.json", labels)

    # When converting
    dataset = video.convert([good, missing])

    # Then that line is rejected as sequence_not_found; the good sequence converts
    assert [(r["reason"], r["line"], r["source_ref"]) for r in dataset.rejected] == [
        ("sequence_not_found", 2, f"{INPUTS}/gone.json")
    ]
    assert {r["sequence"] for r in _frames(dataset)} == {"good"}
    assert dataset.report["video"]["sequences"] == 1


@pytest.mark.parametrize(
    "document",
    [
        b"{not json",
        b"[]",
        json.dumps({"prefix": f"{FRAMES}/bad/", "frames": []}).encode(),
        json.dumps({"frames": frame_entries(2)}).encode(),
        json.dumps({"prefix": "/", "frames": frame_entries(2)}).encode(),
        json.dumps({"prefix": f"{FRAMES}/bad/", "frames": [*frame_entries(2), *frame_entries(1)]}).encode(),
        json.dumps({"prefix": f"{FRAMES}/bad/", "frames": [{"frame-no": 1, "frame": "/etc/x.jpeg"}]}).encode(),
        json.dumps({"prefix": f"{FRAMES}/bad/", "frames": [{"frame-no": 1}]}).encode(),
    ],
    ids=["not-json", "not-an-object", "no-frames", "no-prefix", "empty-prefix", "frame-twice",
         "absolute-frame", "nameless-frame"],
)  # fmt: skip
def test_an_invalid_sequence_file_rejects_its_line_as_sequence_invalid(
    video: VideoWorkspace, document: bytes
) -> None:
    # Given a good sequence, and a line whose sequence file is broken
    good = video.clip("good", {0: [tracked(CAR, 1, 1, 10, 10, "car-1")]})
    broken = video.put(f"{INPUTS}/bad.json", document)
    labels = video.seq_labels([labeled(frame_name(1), [tracked(CAR, 1, 1, 10, 10, "c")], 0)])

    # When converting
    dataset = video.convert([good, video.video_line(broken, labels)])

    # Then that line is rejected as sequence_invalid; the good sequence converts
    assert [(r["reason"], r["line"], r["source_ref"]) for r in dataset.rejected] == [
        ("sequence_invalid", 2, broken)
    ]
    assert {r["sequence"] for r in _frames(dataset)} == {"good"}


@pytest.mark.parametrize(
    ("seq_label", "reason"),
    [(None, "seq_labels_not_found"), (b"{}", "seq_labels_invalid"),
     (b'{"tracking-annotations": {}}', "seq_labels_invalid"), (b"\x00", "seq_labels_invalid")],
    ids=["missing", "no-annotations", "not-a-list", "not-json"],
)  # fmt: skip
def test_a_missing_or_invalid_seqlabel_rejects_its_line(
    video: VideoWorkspace, seq_label: bytes | None, reason: str
) -> None:
    # Given a good sequence, and a sequence whose SeqLabel.json is missing or broken
    good = video.clip("good", {0: [tracked(CAR, 1, 1, 10, 10, "car-1")]})
    sequence = video.sequence("other", 2)
    labels_ref = f"{FRAMES}/nowhere/SeqLabel.json"
    if seq_label is not None:
        video.put(labels_ref, seq_label)

    # When converting
    dataset = video.convert([good, video.video_line(sequence, labels_ref)])

    # Then that line is rejected for its SeqLabel; the good sequence converts
    assert [(r["reason"], r["line"], r["source_ref"]) for r in dataset.rejected] == [
        (reason, 2, sequence)
    ]
    assert {r["sequence"] for r in _frames(dataset)} == {"good"}


# --- prefixes, and boxes past the edge --------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    [f"{FRAMES}/clip/", f"{FRAMES}/clip", "frames/clips/clip/", "frames/clips/clip",
     "/frames/clips/clip"],
    ids=["documented", "no-slash", "no-scheme", "neither", "leading-slash"],
)  # fmt: skip
def test_a_prefix_without_s3_scheme_or_trailing_slash_names_the_same_frames(
    video: VideoWorkspace, prefix: str
) -> None:
    # Given a sequence file whose prefix lacks `s3://` or the trailing `/` (an AWS sample writes
    # `bucket/key`)
    line = video.clip("clip", {0: [tracked(CAR, 1, 1, 10, 10, "car-1")]}, frames=2, prefix=prefix)

    # When converting
    dataset = video.convert([line])

    # Then the frames are the files under s3://<prefix>/
    assert [r["source_ref"] for r in _frames(dataset)] == [
        f"{FRAMES}/clip/{frame_name(1)}", f"{FRAMES}/clip/{frame_name(2)}"
    ]  # fmt: skip
    assert dataset.report["rejected"] == {}


def test_boxes_past_the_frame_edge_are_clamped_in_labels_and_in_mot(video: VideoWorkspace) -> None:
    # Given, in a 64x48 frame, a car leaving on the right and above, and a box wholly outside
    line = video.clip("clip", {0: [tracked(CAR, 50, -4, 30, 20, "car-1"),
                                   tracked(PERSON, 70, 5, 10, 10, "ghost")]}, frames=1)  # fmt: skip

    # When converting
    dataset = video.convert([line])

    # Then the car is clamped to x 50..64, y 0..16 (as image boxes are), in YOLO and in MOT; the
    # box outside is dropped and has no MOT row
    uri = video.frame_uri("clip", frame_name(1))
    [[class_id, *values]] = dataset.label_rows(uri)
    assert class_id == "0"
    assert [float(v) for v in values] == pytest.approx(
        [57 / 64, 8 / 48, 14 / 64, 16 / 48], abs=1e-6
    )
    assert mot_rows(dataset, "clip") == [["1", "1", "50", "0", "14", "16", "1", "1", "1"]]
    assert [r["status"] for r in dataset.annot] == ["clamped", "dropped:outside_image"]
    assert (dataset.report["clamped_boxes"], dataset.report["dropped_boxes"]) == (
        1, {"outside_image": 1}
    )  # fmt: skip


def test_flat_layout_names_frames_by_sequence_and_frame_escaped_once(
    video: VideoWorkspace,
) -> None:
    # Given a sequence whose file lies in a subfolder of the others' (its folder: `night/clip`)
    line = video.clip("night/clip", {0: [tracked(CAR, 1, 1, 10, 10, "car-1")]}, frames=2)
    day = video.clip("day", {0: [tracked(CAR, 1, 1, 10, 10, "car-1")]}, frames=1)

    # When converting with --layout flat
    dataset = video.convert([day, line], layout=Layout.FLAT)

    # Then each frame is directly in images/<split>/, named `<sequence folder>/<frame>` escaped
    # once (what urllib.parse.unquote turns back into that path)
    assert [r["image"] for r in _frames(dataset, "night%2Fclip")] == [
        f"images/train/night%2Fclip%2F{frame_name(n)}" for n in (1, 2)
    ]
    assert all((dataset.root / r["image"]).is_file() for r in dataset.images)
    # And seqinfo.ini's imDir is the folder that holds the frames
    for sequence in ("day", "night%2Fclip"):
        im_dir = dataset.root / "mot" / sequence / seqinfo(dataset, sequence)["imDir"]
        assert im_dir.resolve() == (dataset.root / "images/train").resolve()
