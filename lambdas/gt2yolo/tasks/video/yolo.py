"""Video frame lines -> a detection dataset of frames, split by sequence, and MOT tracks.

Each accepted line is a sequence: its sequence file and SeqLabel.json are read (through
`SourceObjects`), every `--frame-step`th frame is kept (by frame number), each kept frame's
size is read from its image header (a ranged GET in AWS, a header read locally; in parallel,
never a full decode), and each frame becomes an image of the dataset:
`images/<split>/<sequence>/<frame>` with `labels/<split>/<sequence>/<frame stem>.txt`. The
box rules are the bounding-box rules (`tasks.detect.rules.evaluate_boxes`); a frame without boxes is a
background image. The split hashes the *sequence* (its source-ref), so all frames of a clip
land in one split: a frame-level split would put near-duplicate frames in train and val.

Tracking jobs also get `mot/<sequence>/gt/gt.txt` (MOTChallenge: `frame, id, left, top, width,
height, 1, class, 1`, frames numbered 1.. over the kept frames, ids 1.. per sequence in order of
first appearance of each `object-id`, class = dataset class id + 1, boxes as clamped to the
frame) and `mot/<sequence>/seqinfo.ini`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any, ClassVar

from gt2yolo.errors import ConversionError
from gt2yolo.excerpts import shortened
from gt2yolo.exports.formats import ExportFormat
from gt2yolo.geometry import yolo_line
from gt2yolo.image_header import HEAD_BYTES, UnknownImageSize, image_size
from gt2yolo.passes import Exporters, Placed, TaskPass
from gt2yolo.paths import (
    InvalidSourceRef,
    Layout,
    dataset_path,
    flat_path,
    label_path,
    name_key,
    numbered_path,
    source_ref_segments,
    unflat_path,
)
from gt2yolo.records import (
    BoxStatus,
    LabeledImage,
    LineOrigin,
    LineRejection,
    Rejected,
    RejectedLine,
    VideoSequence,
)
from gt2yolo.split import Split
from gt2yolo.storage import Storage
from gt2yolo.tasks.detect.rules import evaluate_boxes
from gt2yolo.tasks.detect.yolo import (
    _PIXEL_TEXT,
    ANNOT_COLUMNS,
    IMAGES_COLUMNS,
    BoxOutcome,
    DetectWriter,
    _number,
    _plain_annot_rows,
)
from gt2yolo.tasks.video.exports import (
    CocoVideoWriter,
    RekognitionVideoWriter,
    SageMakerVideoWriter,
)
from gt2yolo.tasks.video.frame_row import FrameRow
from gt2yolo.tasks.video.reader import (
    Frame,
    SequenceLabels,
    TrackedBox,
    parse_seq_labels,
    parse_sequence,
)
from gt2yolo.tasks.video.report import VideoCounts, VideoSection
from gt2yolo.writers import image_key, label_key

VIDEO_ANNOT_COLUMNS = (*ANNOT_COLUMNS, "sequence", "frame_number", "track_id", "object_id")
VIDEO_IMAGES_COLUMNS = (*IMAGES_COLUMNS, "sequence", "sequence_ref", "frame_number", "mot_frame")
MOT_PREFIX = "mot/"
# Most headers are in the first KiBs; a JPEG with a big EXIF block needs up to HEAD_BYTES.
FIRST_HEAD_BYTES = 16 * 1024
HEADER_THREADS = 16
COPY_BATCH = 64


class VideoWriter(DetectWriter):
    """A detection dataset of frames: annot.csv and images.csv say each frame's sequence."""

    annot_columns = VIDEO_ANNOT_COLUMNS
    images_columns = VIDEO_IMAGES_COLUMNS

    def add_frame(
        self,
        image: LabeledImage,
        path: str,
        label: str,
        split: Split,
        outcomes: Sequence[BoxOutcome],
        row: FrameRow,
        tracks: Sequence[tuple[int | None, str | None]],
    ) -> None:
        lines = [o.line if o.line is not None else yolo_line(o.yolo) for o in outcomes if o.yolo]
        label_file = label_key(split, label)
        self.storage.write_bytes(label_file, "".join(line + "\n" for line in lines).encode())
        image_path = image_key(split, path)
        self._lists[split].write(f"./{image_path}\n")
        clamped = sum(1 for o in outcomes if o.status is BoxStatus.CLAMPED)
        images_row = (
            image.source_ref, image_path, label_file, split, image.width, image.height,
            len(lines), len(outcomes) - len(lines), clamped, image.origin.manifest,
            image.origin.line, row.sequence, row.sequence_ref, row.number, row.mot_frame,
        )  # fmt: skip
        plain = self._plain(
            image.source_ref, path, label_file, image.origin.manifest, row.sequence,
            row.sequence_ref, *(object_id or "" for _, object_id in tracks),
        ) and all(self._plain_category(o.category) for o in outcomes)  # fmt: skip
        if plain:
            # No field needs quoting: csv.writer would write exactly these bytes, only slower
            # (three boxes a frame, a row each, are most of a video job's CPU otherwise).
            self._images_text.write(",".join(map(str, images_row)) + "\n")
            rows = _plain_annot_rows(image, path, label_file, split, outcomes).split("\n")
            self._annot_text.write("".join(
                f"{text},{row.sequence},{row.number},{'' if track is None else track},"
                f"{object_id or ''}\n"
                for text, (track, object_id) in zip(rows, tracks, strict=False)
            ))  # fmt: skip
            return
        self._images.writerow(images_row)
        for outcome, (track, object_id) in zip(outcomes, tracks, strict=True):
            self._annot.writerow((
                *self._annot_row(image, path, label, split, outcome), row.sequence, row.number,
                "" if track is None else track, object_id or "",
            ))  # fmt: skip

    def add_mot(self, sequence: str, rows: Sequence[str], seqinfo: str) -> None:
        folder = f"{MOT_PREFIX}{sequence}/"
        self.storage.write_bytes(folder + "gt/gt.txt", "".join(r + "\n" for r in rows).encode())
        self.storage.write_bytes(folder + "seqinfo.ini", seqinfo.encode())


def sequence_folder(path: str) -> str:
    """`clips/seq-a.json` -> `clips/seq-a`: the sequence file's dataset path without extension."""
    return label_path(path).removesuffix(".txt")


class VideoPass(TaskPass[VideoWriter]):
    reads = "video frame lines point at sequence files and SeqLabel.json"
    exporters: ClassVar[Exporters] = {
        ExportFormat.COCO: CocoVideoWriter,
        ExportFormat.REKOGNITION: RekognitionVideoWriter,
        ExportFormat.SAGEMAKER: SageMakerVideoWriter,
    }

    def open_writers(
        self,
        storage: Storage,
        splits: Sequence[Split],
        *,
        tables_prefix: str = "",
        header: bool = True,
    ) -> list[VideoWriter]:
        return [VideoWriter(storage, splits, tables_prefix=tables_prefix, header=header)]

    def check_ready(self) -> None:
        super().check_ready()
        if self.options.frame_step < 1:
            raise ConversionError("--frame-step must be 1 or more")

    def _write_batch(self, batch: list[Placed]) -> None:
        for placed in batch:
            self._convert_sequence(placed)

    def _convert_sequence(self, placed: Placed) -> None:
        sequence: VideoSequence = placed.image
        try:
            frames, labels = self._read_sequence(sequence)
        except Rejected as rejected:
            self._reject(RejectedLine(
                rejected.reason, shortened(rejected.detail), sequence.origin, sequence.source_ref
            ))  # fmt: skip
            return
        kept = frames[:: self.options.frame_step]
        counts = self.report.counts(VideoCounts)
        counts.sequences += 1
        counts.boxes_outside_sequence += labels.outside
        counts.invalid_boxes += labels.invalid
        counts.frames_skipped_by_step += len(frames) - len(kept)
        folder = sequence_folder(placed.path)
        paths = self._frame_paths(folder, kept)
        sizes = self._sizes(kept)
        ready = [f for f in kept if not isinstance(sizes[f.name], RejectedLine)]
        failures = self._copy_frames(ready, placed.split, paths)
        self._write_frames(placed, folder, kept, paths, sizes, failures, labels)

    def _read_sequence(self, sequence: VideoSequence) -> tuple[list[Frame], SequenceLabels]:
        try:
            data = self.objects.read(sequence.source_ref)
        except (OSError, ValueError) as exc:
            raise Rejected(LineRejection.SEQUENCE_NOT_FOUND, f"sequence file: {exc}") from None
        frames = parse_sequence(data)
        try:
            labels_data = self.objects.read(sequence.labels_ref)
        except (OSError, ValueError) as exc:
            raise Rejected(
                LineRejection.SEQ_LABELS_NOT_FOUND, f"{sequence.labels_ref}: {exc}"
            ) from None
        return frames, parse_seq_labels(labels_data, frames, dict(sequence.class_names))

    def _frame_paths(self, folder: str, frames: list[Frame]) -> dict[str, str | RejectedLine]:
        """Each frame's dataset path below images/<split>/: `<sequence>/<frame name>`; names
        equal ignoring case within the sequence numbered `~2`, ... as for images."""
        paths: dict[str, str | RejectedLine] = {}
        taken: set[str] = set()
        flat = self.options.layout is Layout.FLAT
        # A flat folder is already escaped: escape the whole path once (`a%2Fb%2Fframe.jpg`).
        natural = unflat_path(folder) if flat else folder
        for frame in frames:
            depth = frame.name.count("/") + 1
            try:
                segments = source_ref_segments(frame.uri)
            except (InvalidSourceRef, ValueError) as exc:
                paths[frame.name] = RejectedLine(
                    LineRejection.UNSAFE_PATH, str(exc), _NO, frame.uri
                )
                continue
            path = f"{natural}/{dataset_path(segments, segments[:-depth])}"
            candidate, number = path, 1
            while name_key(label_path(candidate)) in taken:
                number += 1
                candidate = numbered_path(path, number)
            taken.add(name_key(label_path(candidate)))
            paths[frame.name] = flat_path(candidate) if flat else candidate
        return paths

    def _sizes(self, frames: list[Frame]) -> dict[str, tuple[int, int] | RejectedLine]:
        with ThreadPoolExecutor(min(HEADER_THREADS, len(frames) or 1)) as pool:
            return dict(zip((f.name for f in frames), pool.map(self._size, frames), strict=True))

    def _size(self, frame: Frame) -> tuple[int, int] | RejectedLine:
        try:
            head = self.objects.read(frame.uri, FIRST_HEAD_BYTES)
            try:
                return image_size(head)
            except UnknownImageSize:
                if len(head) < FIRST_HEAD_BYTES:
                    raise
                return image_size(self.objects.read(frame.uri, HEAD_BYTES))
        except (OSError, ValueError) as exc:
            reason = (
                LineRejection.FRAME_UNREADABLE
                if isinstance(exc, UnknownImageSize)
                else LineRejection.FRAME_NOT_FOUND
            )
            return RejectedLine(reason, shortened(f"{frame.uri}: {exc}"), _NO, frame.uri)

    def _copy_frames(
        self, frames: list[Frame], split: Split, paths: dict[str, str | RejectedLine]
    ) -> dict[str, str]:
        if self.images is None:
            return {}
        items = [
            (f.uri, image_key(split, path))
            for f in frames
            if isinstance(path := paths[f.name], str)
        ]
        failures: dict[str, str] = {}
        for start in range(0, len(items), COPY_BATCH):
            failures.update(self.images.copy_batch(items[start : start + COPY_BATCH]))
        return failures

    def _write_frames(
        self,
        placed: Placed,
        folder: str,
        frames: list[Frame],
        paths: dict[str, str | RejectedLine],
        sizes: dict[str, tuple[int, int] | RejectedLine],
        failures: dict[str, str],
        labels: SequenceLabels,
    ) -> None:
        sequence: VideoSequence = placed.image
        tracks: dict[str, int] = {}
        mot_rows: list[str] = []
        mot_frame = 0
        first_size: tuple[int, int] | None = None
        for frame in frames:
            path, size = paths[frame.name], sizes[frame.name]
            rejected = path if isinstance(path, RejectedLine) else size
            if isinstance(rejected, RejectedLine):
                self._reject(_with_origin(rejected, sequence))
                continue
            assert isinstance(path, str) and isinstance(size, tuple)
            key = image_key(placed.split, path)
            if key in failures:
                self._reject(RejectedLine(
                    LineRejection.IMAGE_NOT_FOUND, failures[key], sequence.origin, frame.uri
                ))  # fmt: skip
                continue
            mot_frame += 1
            first_size = first_size or size
            drawn = labels.boxes.get(frame.name, [])
            image = LabeledImage(
                frame.uri, size[0], size[1], tuple(t.box for t in drawn), sequence.origin
            )
            outcomes = evaluate_boxes(image, self.survey.class_list)
            frame_tracks = self._tracks(drawn, outcomes, tracks, sequence.tracking)
            row = FrameRow(folder, sequence.source_ref, frame.number, mot_frame)
            for writer in self.writers:
                writer.add_frame(
                    image, path, label_path(path), placed.split, outcomes, row, frame_tracks
                )
            self._count_frame(placed, image, outcomes)
            if sequence.tracking:
                mot_rows += _mot_rows(mot_frame, image, outcomes, frame_tracks)
        if sequence.tracking and mot_frame:
            assert first_size is not None
            seqinfo = _seqinfo(
                folder, placed.split, frames, mot_frame, first_size, self.options.layout
            )
            for writer in self.writers:
                writer.add_mot(folder, mot_rows, seqinfo)
            self.report.counts(VideoCounts).tracks += len(tracks)

    def _tracks(
        self,
        drawn: list[TrackedBox],
        outcomes: list[BoxOutcome],
        tracks: dict[str, int],
        tracking: bool,
    ) -> list[tuple[int | None, str | None]]:
        """Each box's track id: 1.. per sequence, in order of first appearance (kept boxes)."""
        result: list[tuple[int | None, str | None]] = []
        for tracked, outcome in zip(drawn, outcomes, strict=True):
            object_id = tracked.object_id if tracking else None
            if object_id is None or outcome.yolo is None:
                result.append((None, object_id))
                continue
            track = tracks.setdefault(object_id, len(tracks) + 1)
            result.append((track, object_id))
        return result

    def _count_frame(self, placed: Placed, image: LabeledImage, outcomes: list[BoxOutcome]) -> None:
        report = self.report
        kept = 0
        for outcome in outcomes:
            if outcome.yolo is not None:
                kept += 1
                report.boxes_per_class[outcome.yolo.class_id] += 1
                report.clamped_boxes += outcome.status is BoxStatus.CLAMPED
            else:
                report.dropped_boxes[outcome.status.drop] += 1
        self._count_totals(placed, kept)

    def finish(self) -> dict[str, Any]:
        document = super().finish()
        section = VideoSection.of(
            self.report.counts(VideoCounts), self.survey.task.value.endswith("tracking"),
            self.report.images, self.options.frame_step,
        )  # fmt: skip
        document[VideoSection.key] = section.as_dict()
        return document


# Frame rejections carry their sequence's line: filled in by _with_origin.
_NO = LineOrigin("", 0)


def _with_origin(rejected: RejectedLine, sequence: VideoSequence) -> RejectedLine:
    return RejectedLine(rejected.reason, rejected.detail, sequence.origin, rejected.source_ref)


def _mot_rows(
    mot_frame: int,
    image: LabeledImage,
    outcomes: list[BoxOutcome],
    tracks: list[tuple[int | None, str | None]],
) -> list[str]:
    rows = []
    pixels = _PIXEL_TEXT.get  # whole pixels looked up, not formatted (as annot.csv does)
    for outcome, (track, _) in zip(outcomes, tracks, strict=True):
        if track is None or outcome.yolo is None:
            continue
        box = outcome.drawn
        left, top, width, height = box.left, box.top, box.width, box.height
        if outcome.status is BoxStatus.CLAMPED:
            # Only then computed: left + width - left is not width in floating point (5.55 ->
            # 5.550000000000001), and a box inside the frame keeps its pixels as drawn.
            x0, y0 = min(max(left, 0.0), image.width), min(max(top, 0.0), image.height)
            x1 = min(max(left + width, 0.0), image.width)
            y1 = min(max(top + height, 0.0), image.height)
            left, top, width, height = x0, y0, x1 - x0, y1 - y0
        rows.append(
            f"{mot_frame},{track},{pixels(left) or _number(left)},{pixels(top) or _number(top)},"
            f"{pixels(width) or _number(width)},{pixels(height) or _number(height)},1,"
            f"{outcome.yolo.class_id + 1},1"
        )
    return rows


def _seqinfo(
    folder: str,
    split: Split,
    frames: list[Frame],
    length: int,
    size: tuple[int, int],
    layout: Layout = Layout.FOLDERS,
) -> str:
    name = folder.rsplit("/", 1)[-1]
    depth = folder.count("/") + 2  # mot/<folder>/ back to the dataset root
    extension = "." + frames[0].name.rsplit(".", 1)[-1] if "." in frames[0].name else ""
    # Flat: the frames are directly in images/<split>/, named `<folder>%2F<frame>`.
    im_dir = f"images/{split}" if layout is Layout.FLAT else f"images/{split}/{folder}"
    lines = [
        "[Sequence]",
        f"name={name}",
        # The frames keep their own names (images.csv maps mot_frame to each file).
        f"imDir={'../' * depth}{im_dir}",
        *([f"frameRate={rate}"] if (rate := _frame_rate(frames)) else []),
        f"seqLength={length}",
        f"imWidth={size[0]}",
        f"imHeight={size[1]}",
        f"imExt={extension}",
    ]
    return "\n".join(lines) + "\n"


def _frame_rate(frames: list[Frame]) -> int | None:
    """Frames per second from the unix-timestamps, when every frame has one and they rise."""
    stamps = [f.timestamp for f in frames]
    if len(stamps) < 2 or any(s is None for s in stamps):
        return None
    gaps = [b - a for a, b in pairwise(stamps) if a is not None and b is not None]
    gap = statistics.median(gaps)
    if gap <= 0:
        return None
    # Unix time in seconds (about 1.7e9 today) or in milliseconds (1.7e12).
    seconds = gap / 1000 if (stamps[0] or 0) > 1e11 else gap
    return round(1 / seconds) or None


__all__ = ["VideoPass", "VideoWriter"]
