"""Video object tracking jobs -> MOTChallenge ground truth: mot/<sequence>/gt/gt.txt and
seqinfo.ini.

Track ids count 1.. per sequence in the order each Ground Truth `object-id` first appears (frame
by frame, box by box), so the same job always gets the same ids. gt.txt rows are `frame, id,
left, top, width, height, 1, class + 1, 1` with frames numbered 1.. over the converted frames and
boxes as clamped to the frame. An independent reader (motmetrics) reads the sample job's files
back to the truth the sample was drawn from. Detection jobs have no tracks: no mot/.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import motmetrics as mm
import pytest
from gt2yolo import ConversionOptions, convert_manifests
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalManifest, LocalStorage, MirrorImageSink, S3Mirror
from gt_builders import Dataset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from video_builders import (
    VideoWorkspace,
    frame_name,
    labeled,
    mirror_sample,
    mot_rows,
    seqinfo,
    tracked,
)

from samples.video import VideoSampleJob, make_video_job

BUCKET, IMAGES = "stack-bucket", "customer-images"
CAR, PERSON, BICYCLE = 0, 1, 2
# Ground Truth object-ids are UUIDs: their sort order is not the order objects appear in.
A, B, C = "f3c1a6e0-aaaa", "0b9d2e4c-bbbb", "7a11c0de-cccc"


@pytest.fixture
def video(tmp_path: Path) -> VideoWorkspace:
    return VideoWorkspace(tmp_path)


def _track_ids(dataset: Dataset, sequence: str) -> dict[str, str]:
    """object-id -> track id, from annot.csv (one id per object-id, checked)."""
    ids: dict[str, str] = {}
    for row in dataset.annot:
        if row["sequence"] == sequence and row["object_id"]:
            assert ids.setdefault(row["object_id"], row["track_id"]) == row["track_id"]
    return ids


# --- track ids ---------------------------------------------------------------------------------------


def test_track_ids_count_from_1_per_sequence_in_order_of_first_appearance(
    video: VideoWorkspace,
) -> None:
    # Given a sequence where A appears first, then B and C together (B's box listed first), and a
    # second sequence where the same object-ids appear as C, then A
    first = video.clip("first", {
        0: [tracked(CAR, 1, 1, 10, 10, A)],
        1: [tracked(PERSON, 30, 1, 5, 20, B), tracked(CAR, 5, 1, 10, 10, C),
            tracked(CAR, 2, 1, 10, 10, A)],
        2: [tracked(CAR, 6, 1, 10, 10, C), tracked(PERSON, 31, 1, 5, 20, B)],
    })  # fmt: skip
    second = video.clip("second", {1: [tracked(CAR, 1, 1, 10, 10, C)],
                                   2: [tracked(CAR, 9, 9, 10, 10, A),
                                       tracked(CAR, 2, 1, 10, 10, C)]})  # fmt: skip

    # When converting
    dataset = video.convert([first, second])

    # Then ids follow first appearance in each sequence, starting again at 1
    assert _track_ids(dataset, "first") == {A: "1", B: "2", C: "3"}
    assert _track_ids(dataset, "second") == {C: "1", A: "2"}
    assert [row[:2] for row in mot_rows(dataset, "first")] == [
        ["1", "1"], ["2", "2"], ["2", "3"], ["2", "1"], ["3", "3"], ["3", "2"]
    ]  # fmt: skip
    assert [row[:2] for row in mot_rows(dataset, "second")] == [["2", "1"], ["3", "2"], ["3", "1"]]
    assert dataset.report["video"]["tracks"] == 5


PLACES = {A: (CAR, 1, 1), B: (PERSON, 30, 1), C: (CAR, 50, 20)}


def _box_of(object_id: str, frame: int) -> dict[str, Any]:
    class_id, left, top = PLACES[object_id]
    return tracked(class_id, left + frame, top, 10, 10, object_id)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(orders=st.lists(st.permutations([A, B, C]), min_size=3, max_size=3))
def test_track_ids_are_stable_whatever_the_box_order_after_first_appearance(
    tmp_path_factory: pytest.TempPathFactory, orders: list[list[str]]
) -> None:
    # Given B then A appearing in frame 1 and C in frame 2, and frames 3..5 holding all three
    # in any order
    video = VideoWorkspace(tmp_path_factory.mktemp("stable"))
    boxes = {0: [_box_of(B, 0), _box_of(A, 0)], 1: [_box_of(C, 1)]}
    boxes |= {2 + i: [_box_of(o, 2 + i) for o in order] for i, order in enumerate(orders)}
    line = video.clip("clip", boxes, frames=5)

    # When converting it twice
    once = video.convert([line], out=video.tmp_path / "once")
    again = video.convert([line], out=video.tmp_path / "again")

    # Then both give the same files, and the ids are those of first appearance: B 1, A 2, C 3
    assert again.text("mot/clip/gt/gt.txt") == once.text("mot/clip/gt/gt.txt")
    assert again.text("annot.csv") == once.text("annot.csv")
    assert _track_ids(once, "clip") == {B: "1", A: "2", C: "3"}
    ids = {"1": B, "2": A, "3": C}
    assert all(int(left) == PLACES[ids[track]][1] + int(frame) - 1
               for frame, track, left, *_ in mot_rows(once, "clip"))  # fmt: skip


def test_a_dropped_box_neither_gets_nor_uses_up_a_track_id(video: VideoWorkspace) -> None:
    # Given A first drawn with no area in frame 1 (dropped), then properly in frame 2, after B;
    # and a box without an object-id
    line = video.clip("clip", {
        0: [tracked(CAR, 1, 1, 0, 10, A), tracked(PERSON, 30, 1, 5, 20)],
        1: [tracked(PERSON, 30, 1, 5, 20, B), tracked(CAR, 2, 1, 10, 10, A)],
    }, frames=2)  # fmt: skip

    # When converting
    dataset = video.convert([line])

    # Then B is track 1 and A track 2; the dropped box and the box without an id have no track
    # and no MOT row (the id-less box is still in its label file)
    assert [(r["status"], r["track_id"], r["object_id"]) for r in dataset.annot] == [
        ("dropped:zero_size", "", A), ("kept", "", ""), ("kept", "1", B), ("kept", "2", A)
    ]  # fmt: skip
    assert [row[:2] for row in mot_rows(dataset, "clip")] == [["2", "1"], ["2", "2"]]
    assert len(dataset.label_rows(video.frame_uri("clip", frame_name(1)))) == 1


# --- gt.txt and seqinfo.ini ------------------------------------------------------------------------


def test_gt_txt_rows_are_frame_id_box_1_class_plus_1_1(video: VideoWorkspace) -> None:
    # Given a car in frames 1 and 2 (at fractions of a pixel in 2: 7.77 + 5.55 - 7.77 is
    # 5.550000000000001 in floating point), a person in frame 2, a bicycle in frame 3 and nothing
    # in frame 4; the label config orders car, person, bicycle
    line = video.clip("clip", {
        0: [tracked(CAR, 10, 20, 30, 15, A)],
        1: [tracked(CAR, 7.77, 20.5, 5.55, 15, A), tracked(PERSON, 40, 5, 8, 30, B)],
        2: [tracked(BICYCLE, 3, 4, 20, 12, C)],
    }, frames=4)  # fmt: skip

    # When converting
    dataset = video.convert([line])

    # Then gt.txt has a row per box: frame, id, pixels as drawn, 1, class id + 1, 1
    assert dataset.text("mot/clip/gt/gt.txt").splitlines() == [
        "1,1,10,20,30,15,1,1,1",
        "2,1,7.77,20.5,5.55,15,1,1,1",
        "2,2,40,5,8,30,1,2,1",
        "3,3,3,4,20,12,1,3,1",
    ]
    assert dataset.text("mot/clip/gt/gt.txt").endswith("1\n")
    assert seqinfo(dataset, "clip")["seqLength"] == "4"  # the empty frame counts


def test_seqinfo_ini_names_the_sequence_its_frames_and_their_size(video: VideoWorkspace) -> None:
    # Given a sequence of 80x60 frames taken a tenth of a second apart, in a folder of its own
    stamps = [1795251600 + i / 10 for i in range(5)]
    line = video.clip("cams/north", {0: [tracked(CAR, 1, 1, 10, 10, A)]}, frames=5, size=(80, 60),
                      stamps=stamps)  # fmt: skip
    other = video.clip("south", {0: [tracked(CAR, 1, 1, 10, 10, A)]})

    # When converting
    dataset = video.convert([line, other])

    # Then seqinfo.ini has MOTChallenge's keys, its imDir the folder of the frames
    info = seqinfo(dataset, "cams/north")
    assert info == {
        "name": "north", "imDir": "../../../images/train/cams/north", "frameRate": "10",
        "seqLength": "5", "imWidth": "80", "imHeight": "60", "imExt": ".jpeg",
    }  # fmt: skip
    im_dir = dataset.root / "mot/cams/north" / info["imDir"]
    assert sorted(p.name for p in im_dir.iterdir()) == [frame_name(n) for n in range(1, 6)]


@pytest.mark.parametrize(
    ("stamps", "rate"),
    [(None, None), ([1795251600000 + 40 * i for i in range(4)], "25"), ([5, 5, 5, 5], None),
     ([1, 2, None, 4], None)],
    ids=["no-timestamps", "milliseconds", "all-equal", "one-missing"],
)  # fmt: skip
def test_seqinfo_frame_rate_comes_from_rising_unix_timestamps_else_is_left_out(
    video: VideoWorkspace, stamps: list[float | None] | None, rate: str | None
) -> None:
    # Given a sequence of 4 frames with or without usable unix-timestamps
    sequence = video.sequence("clip", 4, stamps=stamps)
    labels = video.seq_labels([labeled(frame_name(1), [tracked(CAR, 1, 1, 10, 10, A)], 0)])

    # When converting
    dataset = video.convert([video.video_line(sequence, labels)])

    # Then frameRate is the frames per second they give, or absent
    assert seqinfo(dataset, "clip").get("frameRate") == rate


# --- the sample job, read back by motmetrics --------------------------------------------------------


@dataclass(frozen=True)
class ConvertedSample:
    job: VideoSampleJob
    dataset: Dataset


def _convert_sample(root: Path, tracking: bool) -> ConvertedSample:
    job = make_video_job(BUCKET, tracking=tracking, image_bucket=IMAGES)
    mirror = S3Mirror(mirror_sample(root / "mirror", job))
    options = ConversionOptions(
        class_list=class_list_from_label_config(job.objects[job.config_key], "data.json"),
        fractions=SplitFractions(val=0.0),
    )
    storage = LocalStorage(root / "dataset")
    manifest = LocalManifest(mirror.path(f"s3://{BUCKET}/{job.manifest_key}"))
    convert_manifests([manifest], storage, options, MirrorImageSink(mirror, storage),
                      objects=mirror)  # fmt: skip
    return ConvertedSample(job, Dataset(root / "dataset"))


@pytest.fixture(scope="module")
def tracking_sample(tmp_path_factory: pytest.TempPathFactory) -> ConvertedSample:
    return _convert_sample(tmp_path_factory.mktemp("tracking"), tracking=True)


def _load_mot(path: Path, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        # motmetrics 1.4.0 shifts X and Y with `df[["X", "Y"]] -= (1, 1)`, which pandas 3
        # deprecates (Pandas4Warning); the result is still the documented one.
        warnings.filterwarnings("ignore", message="Operation with tuple is deprecated")
        return mm.io.loadtxt(str(path), fmt="mot15-2D", **kwargs)


def test_motmetrics_reads_every_box_and_track_of_the_sample_job(
    tracking_sample: ConvertedSample,
) -> None:
    # Given the sample tracking job (two tracks that cross, a car leaving the frame) converted
    job, dataset = tracking_sample.job, tracking_sample.dataset
    assert set(job.tracks) == {"street-01", "street-02"}
    for name, tracks in job.tracks.items():
        # The truth: ids by first appearance (ties: the SeqLabel's box order), boxes clamped
        width, height = job.frame_sizes[name]
        order = sorted(tracks, key=lambda object_id: min(i for i, _ in tracks[object_id]))
        truth = {}
        for track, object_id in enumerate(order, start=1):
            for index, shape in tracks[object_id]:
                x0, y0 = max(shape.left, 0), max(shape.top, 0)
                x1 = min(shape.left + shape.width, width)
                y1 = min(shape.top + shape.height, height)
                truth[index + 1, track] = (x0, y0, x1 - x0, y1 - y0)

        # When motmetrics reads its gt.txt (as ground truth: confidence 1 kept)
        frame = _load_mot(dataset.root / "mot" / name / "gt" / "gt.txt", min_confidence=1)

        # Then it holds every box of the truth at its frame and track, and nothing else
        # (motmetrics moves X and Y to 0-based: one less than the file)
        read = {(int(f), int(t)): (int(r.X) + 1, int(r.Y) + 1, int(r.Width), int(r.Height))
                for (f, t), r in frame.iterrows()}  # fmt: skip
        assert read == truth
        counts = frame.groupby(level="Id").size().to_dict()
        assert counts == {t: len(tracks[o]) for t, o in enumerate(order, start=1)}
        assert set(frame["ClassId"]) == {1, 2}  # car, person: class id + 1
        clamped = [box for box in truth.values() if box[0] + box[2] == width]
        assert clamped, "the sample's car leaves the frame"
        info = seqinfo(dataset, name)
        assert (info["imWidth"], info["imHeight"]) == tuple(str(v) for v in job.frame_sizes[name])
        assert int(info["seqLength"]) == sum(f"/{name}/" in uri for uri in job.truth)
    assert dataset.report["video"]["tracks"] == sum(len(t) for t in job.tracks.values())


def test_detection_jobs_write_no_mot_folder(tmp_path: Path) -> None:
    # Given the sample job as an object detection job (no object-ids)
    sample = _convert_sample(tmp_path, tracking=False)
    dataset = sample.dataset

    # Then the dataset has its frames and boxes, no mot/ and no track ids
    assert not (dataset.root / "mot").exists()
    assert dataset.report["images"] == len(sample.job.truth)
    assert dataset.report["boxes"] == sum(len(s) for s in sample.job.truth.values())
    assert {(r["track_id"], r["object_id"]) for r in dataset.annot} == {("", "")}
    video = dataset.report["video"]
    assert (video["tracking"], video["tracks"]) == (False, 0)
