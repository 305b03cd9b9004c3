"""The report of a dataset of video frames: each sequence with its frames, boxes, tracks and
split; tracks per class and their lengths; a few evenly spaced frames of each sequence drawn
with their boxes' track ids. Counted from what the conversion wrote (the sample video job,
converted and reported by the CLI), and never failing on a table without the video columns."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import Counter, defaultdict
from html import unescape
from pathlib import Path

import pytest
from gt2yolo.insights.dataset import ImageRow, LocalDatasetFiles, annot_rows, image_rows
from gt2yolo.insights.video import VideoStats, evenly_spaced, pick_frames
from gt2yolo.storage import LocalStorage
from gt2yolo_cli.main import main
from gt2yolo_report import ReportOptions, build_report
from gt_builders import Workspace, box, line, ref
from test_report_tasks import _page

from samples.video import make_video_job

BUCKET, IMAGES = "stack-bucket", "customer-images"
SEQUENCES, FRAMES = 3, 20


def _convert(root: Path, tracking: bool = True, *extra: str) -> Path:
    job = make_video_job(BUCKET, sequences=SEQUENCES, frames=FRAMES, tracking=tracking,
                         image_bucket=IMAGES)  # fmt: skip
    mirror = root / "mirror"
    for bucket, objects in ((BUCKET, job.objects), (IMAGES, job.image_objects)):
        for key, body in objects.items():
            path = mirror / bucket / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
    out = root / "dataset"
    assert main([
        "convert", f"s3://{BUCKET}/{job.manifest_key}", "--s3-mirror", str(mirror),
        "--label-config", f"s3://{BUCKET}/{job.config_key}", "--out", str(out), "--no-progress",
        *extra,
    ]) == 0  # fmt: skip
    assert main(["report", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def tracking_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _convert(tmp_path_factory.mktemp("tracking"))


@pytest.fixture(scope="module")
def detection_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _convert(tmp_path_factory.mktemp("detection"), False, "--frame-step", "3")


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _tracks(dataset: Path) -> dict[tuple[str, str], list[dict[str, str]]]:
    """annot.csv's kept boxes by (sequence, track id)."""
    tracks = defaultdict(list)
    for row in _csv(dataset / "annot.csv"):
        if row["track_id"] and not row["status"].startswith("dropped"):
            tracks[row["sequence"], row["track_id"]].append(row)
    return tracks


def _section(html: str, anchor: str) -> str:
    match = re.search(f'<section id="{anchor}">(.*?)</section>', html, re.S)
    assert match, anchor
    return match.group(1)


# --- sequences ------------------------------------------------------------------------------


def test_the_page_lists_each_sequence_with_its_frames_boxes_tracks_and_split(
    tracking_dataset: Path,
) -> None:
    images = _csv(tracking_dataset / "images.csv")
    tracks = _tracks(tracking_dataset)
    report = json.loads((tracking_dataset / "report.json").read_text())
    html, page = _page(tracking_dataset)
    by_sequence = defaultdict(list)
    for row in images:
        by_sequence[row["sequence"]].append(row)
    assert len(by_sequence) == report["video"]["sequences"] == SEQUENCES
    expected = [
        [name, rows[0]["split"], str(len(rows)), str(sum(r["boxes"] != "0" for r in rows)),
         str(sum(int(r["boxes"]) for r in rows)), str(sum(s == name for s, _ in tracks)),
         f"{min(int(r['frame_number']) for r in rows)}..{max(int(r['frame_number']) for r in rows)}"]
        for name, rows in sorted(by_sequence.items())
    ]  # fmt: skip
    assert page.rows["sequences"] == expected
    # Every sequence has frames without boxes too (the sample's first frame is empty)
    assert all(int(row[3]) < int(row[2]) for row in expected)
    assert f'data-count="sequences"><b>{SEQUENCES}</b>' in html
    assert f'data-count="tracks"><b>{report["video"]["tracks"]}</b>' in html
    assert "YOLO dataset of video frames" in html


def test_the_detect_sections_are_all_still_there(tracking_dataset: Path) -> None:
    html, page = _page(tracking_dataset)
    report = json.loads((tracking_dataset / "report.json").read_text())
    for anchor in ("counts", "classes", "boxes", "splits", "rejected", "labelers", "previews"):
        assert f'<section id="{anchor}">' in html, anchor
    assert [r[1:] for r in page.rows["classes"]] == [
        [name, str(n)] for name, n in report["boxes_per_class"].items()
    ]
    assert ["failed_object", "1"] in page.rows["rejected"]


# --- tracks ---------------------------------------------------------------------------------


def test_tracks_per_class_count_each_track_of_each_sequence_once(tracking_dataset: Path) -> None:
    tracks = _tracks(tracking_dataset)
    _html, page = _page(tracking_dataset)
    per_class = Counter(rows[0]["category"] for rows in tracks.values())
    assert {row[0]: int(row[1]) for row in page.rows["tracks"]} == dict(per_class)
    # An object keeps its class along its track
    assert all(len({r["category"] for r in rows}) == 1 for rows in tracks.values())


def test_the_track_length_histogram_holds_every_track_by_its_frames(
    tracking_dataset: Path,
) -> None:
    report = json.loads((tracking_dataset / "report.json").read_text())
    html, _page_rows = _page(tracking_dataset)
    files = LocalDatasetFiles(tracking_dataset)
    stats = VideoStats()
    for image in image_rows(files):
        stats.add_image(image)
    for annot in annot_rows(files):
        stats.add_box(annot)
    histogram = dict(stats.track_length_histogram())
    # The buckets add up to the tracks, and each track's length is its frames in mot/ gt.txt
    assert sum(histogram.values()) == report["video"]["tracks"] == len(_tracks(tracking_dataset))
    lengths: Counter[int] = Counter()
    for gt in sorted((tracking_dataset / "mot").glob("*/gt/gt.txt")):
        lengths.update(Counter(line.split(",")[1] for line in gt.read_text().splitlines()).values())
    assert sorted(t.frames for t in stats.tracks.values()) == sorted(lengths.elements())
    # The page's chart shows the same buckets (an empty bucket has no bar)
    chart = _section(html, "tracks").split('aria-label="Track length')[1].split("</svg>")[0]
    shown = dict(re.findall(r"<rect [^>]*><title>(\S+) (\d+)</title>", chart))
    assert {label: int(n) for label, n in shown.items()} == {
        k: v for k, v in histogram.items() if v
    }


def test_track_lengths_fall_in_buckets_from_one_frame_up() -> None:
    stats = VideoStats()
    frames = {1: 1, 2: 2, 3: 4, 4: 5, 5: 24, 6: 25, 7: 600}
    for track, length in frames.items():
        for frame in range(length):
            stats.add_box(_annot(track, frame))
            stats.add_box(_annot(track, frame))  # the same frame twice counts once
    histogram = dict(stats.track_length_histogram())
    assert histogram["1"] == 1 and histogram["2-4"] == 2 and histogram["5-9"] == 1
    assert histogram["10-24"] == 1 and histogram["25-49"] == 1 and histogram["500+"] == 1
    assert sum(histogram.values()) == len(frames)


def _annot(track: int, frame: int) -> object:
    from gt2yolo.insights.dataset import AnnotRow

    return AnnotRow("s3://b/f.jpg", "car", 0, 0, 1, 1, 10, 10, "kept", sequence="s",
                    frame_number=frame, track_id=track)  # fmt: skip


def test_a_detection_job_of_frames_has_sequences_and_no_tracks(detection_dataset: Path) -> None:
    html, page = _page(detection_dataset)
    images = _csv(detection_dataset / "images.csv")
    # --frame-step 3: frames 1, 4, 7, ... of each sequence file
    assert {int(r["frame_number"]) % 3 for r in images} == {1}
    assert len(page.rows["sequences"]) == SEQUENCES
    assert "every 3rd frame of each sequence file kept" in html
    assert all(row[5] == "" for row in page.rows["sequences"])
    assert "there are no tracks" in _section(html, "tracks")
    assert 'data-count="tracks"' not in html and "tracks " not in "".join(page.captions)


# --- previews -------------------------------------------------------------------------------


def test_each_sequence_has_evenly_spaced_previews_with_the_track_ids_of_their_boxes(
    tracking_dataset: Path,
) -> None:
    html, _page_rows = _page(tracking_dataset)
    images = {r["image"]: r for r in _csv(tracking_dataset / "images.csv")}
    annot = _csv(tracking_dataset / "annot.csv")
    gallery = _section(html, "previews")
    groups = dict(re.findall(r"<h3>([^<]*)</h3>(.*?)(?=<h3>|$)", gallery, re.S))
    for name in sorted({r["sequence"] for r in images.values()}):
        # Its first frame, its last and two between, under its own heading
        frames = sorted(int(r["frame_number"]) for r in images.values() if r["sequence"] == name)
        captions = [
            unescape(c) for c in re.findall(r"<figcaption>(.*?)</figcaption>", groups[name])
        ]
        numbers = [int(c.split("· frame ")[1].split()[0]) for c in captions]
        assert numbers == evenly_spaced_frames(frames, 4), name
        # Each caption names the track ids of the frame's kept boxes, as annot.csv gives them
        for caption in captions:
            path = caption.split(" ·")[0]
            kept = [r["track_id"] for r in annot
                    if r["img_file"] == path and not r["status"].startswith("dropped")]  # fmt: skip
            assert path.startswith(f"{name}/")
            assert (f"tracks {', '.join(kept)}" in caption) if kept else "tracks" not in caption
    previews = {p.relative_to(tracking_dataset / "previews").parts[1]
                for p in (tracking_dataset / "previews").rglob("*.jpg")}  # fmt: skip
    assert previews == {r["sequence"] for r in images.values()}


def evenly_spaced_frames(frames: list[int], count: int) -> list[int]:
    """The frames at (or nearest) `count` evenly spaced points from the first to the last."""
    points = [frames[0] + i * (frames[-1] - frames[0]) / (count - 1) for i in range(count)]
    return sorted({min(frames, key=lambda f: (abs(f - p), f)) for p in points})


def test_sequences_beyond_the_limit_are_counted_not_drawn(
    tracking_dataset: Path, tmp_path: Path
) -> None:
    dataset = tmp_path / "dataset"
    shutil.copytree(tracking_dataset, dataset, ignore=shutil.ignore_patterns("previews"))
    options = ReportOptions(sequences_drawn=1, frames_per_sequence=2)
    build_report(LocalDatasetFiles(dataset), LocalStorage(dataset), options=options)
    html, _page_rows = _page(dataset)
    assert f"{SEQUENCES - 1} more sequences are not drawn" in html
    assert _section(html, "previews").count("<h3>") <= 2  # one sequence, the flagged frames


def test_the_frames_nearest_to_evenly_spaced_points_are_picked() -> None:
    assert evenly_spaced(1, 10, 4) == [1, 4, 7, 10]
    assert evenly_spaced(5, 5, 3) == [5, 5, 5]
    stats = VideoStats()
    rows = [_image("a", n) for n in (1, 4, 7, 10, 13, 16, 19)] + [_image("b", 2)]
    for row in rows:
        stats.add_image(row)
    picks = pick_frames(rows, stats, per_sequence=3)
    # Sequence a spans 1..19: points 1, 10, 19; sequence b has one frame, picked once
    assert [(r.sequence, r.frame_number) for r in picks.frames] == [
        ("a", 1), ("a", 10), ("a", 19), ("b", 2),
    ]  # fmt: skip
    assert picks.sequences_not_drawn == 0


def _image(sequence: str, frame: int) -> ImageRow:
    return ImageRow(f"s3://b/{sequence}/{frame}.jpg", f"images/train/{sequence}/{frame}.jpg",
                    f"labels/train/{sequence}/{frame}.txt", "train", 10, 10, 1, 0, 0, "m", 1,
                    sequence=sequence, frame_number=frame)  # fmt: skip


# --- never failing on the columns -----------------------------------------------------------


def test_a_plain_detection_dataset_gets_no_video_sections(workspace: Workspace) -> None:
    dataset = workspace.convert([line(ref("a.jpg"), [box(0)])], classes=["cat"], val=0.0)
    build_report(LocalDatasetFiles(dataset.root), LocalStorage(dataset.root))
    html, _page_rows = _page(dataset.root)
    for absent in ('id="sequences"', 'id="tracks"', "video frames", "frame 1"):
        assert absent not in html


def test_a_video_report_over_tables_without_the_video_columns_still_renders(
    workspace: Workspace,
) -> None:
    # Given a detection dataset whose report.json says video, its tables holding no video column
    dataset = workspace.convert(
        [line(ref("a.jpg"), [box(0)]), line(ref("b.jpg"), [box(0)])], classes=["cat"], val=0.0
    )
    report_json = dataset.root / "report.json"
    report = json.loads(report_json.read_text())
    report["video"] = {"tracking": True, "sequences": 1, "frames": 2, "tracks": 1}
    report_json.write_text(json.dumps(report))
    # When the report is built
    result = build_report(LocalDatasetFiles(dataset.root), LocalStorage(dataset.root))
    # Then the page says so, its detect sections there, its flagged frames (none) drawn
    html, _page_rows = _page(dataset.root)
    assert "images.csv has no sequence column" in html
    assert "report.json counts 1 tracks; annot.csv holds 0." in html
    assert 'id="boxes"' in html and result.previews == 0
