"""A dataset of video frames, by sequence: frames and boxes per sequence, tracks and their
lengths, and which frames to preview (a few per sequence, evenly spaced in time).

report.json's `video` section (`gt2yolo.tasks.video.report`) marks such a dataset; the numbers come from images.csv's
`sequence` and `frame_number` columns and annot.csv's `track_id` (tracking jobs). Rows without
them (a plain detection dataset) are skipped and the numbers stay empty. Memory grows with the
sequences and tracks, never with the frames or boxes: the previewed frames are picked in a
second pass over images.csv, once each sequence's first and last frame are known.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gt2yolo.insights.dataset import AnnotRow, ImageRow
from gt2yolo.insights.sampling import preview_rank

FRAMES_PER_SEQUENCE = 4
# Bounds the previews of a dataset of many clips; beyond it, sequences are counted, not drawn.
SEQUENCES_DRAWN = 25
# Track length histogram: frames per track, each bucket from its edge to the next one's.
TRACK_LENGTH_EDGES = (1, 2, 5, 10, 25, 50, 100, 250, 500)


@dataclass
class SequenceStats:
    name: str
    splits: set[str] = field(default_factory=set)  # one: datasets are split by sequence
    frames: int = 0
    frames_with_boxes: int = 0
    boxes: int = 0
    tracks: int = 0
    first_frame: int = 0
    last_frame: int = 0


@dataclass
class TrackStats:
    category: str  # of its first kept box: an object keeps its class in Ground Truth
    frames: int = 1
    last_frame: int | None = None


class _FramePositions:
    """A frame's place in its sequence: its frame number, or its row's rank in images.csv when
    the column is missing (both passes over the file count the same way)."""

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def __call__(self, row: ImageRow, sequence: str) -> int:
        self._seen[sequence] += 1
        return row.frame_number if row.frame_number is not None else self._seen[sequence]


@dataclass
class VideoStats:
    sequences: dict[str, SequenceStats] = field(default_factory=dict)
    tracks: dict[tuple[str, int], TrackStats] = field(default_factory=dict)
    _positions: _FramePositions = field(default_factory=_FramePositions, repr=False)

    def add_image(self, row: ImageRow) -> None:
        if row.sequence is None:
            return
        stats = self.sequences.get(row.sequence)
        position = self._positions(row, row.sequence)
        if stats is None:
            stats = self.sequences[row.sequence] = SequenceStats(
                row.sequence, first_frame=position, last_frame=position
            )
        stats.splits.add(row.split)
        stats.frames += 1
        stats.frames_with_boxes += row.boxes > 0
        stats.boxes += row.boxes
        stats.first_frame = min(stats.first_frame, position)
        stats.last_frame = max(stats.last_frame, position)

    def add_box(self, row: AnnotRow) -> None:
        """A kept box of a track lengthens it by a frame (a track has one box per frame)."""
        if not row.kept or row.sequence is None or row.track_id is None:
            return
        key = (row.sequence, row.track_id)
        track = self.tracks.get(key)
        if track is None:
            self.tracks[key] = TrackStats(row.category, last_frame=row.frame_number)
            if row.sequence in self.sequences:
                self.sequences[row.sequence].tracks += 1
        elif row.frame_number is None or row.frame_number != track.last_frame:
            track.frames += 1
            track.last_frame = row.frame_number

    def tracks_per_class(self) -> Counter[str]:
        return Counter(track.category for track in self.tracks.values())

    def track_length_histogram(self) -> list[tuple[str, int]]:
        """Tracks by their number of frames, one bucket per TRACK_LENGTH_EDGES edge."""
        counts = Counter(_bucket(track.frames) for track in self.tracks.values())
        return [(label, counts[label]) for label in _bucket_labels()]


def _bucket_labels() -> list[str]:
    ends = [*TRACK_LENGTH_EDGES[1:], None]
    return [
        f"{start}+" if end is None else str(start) if end == start + 1 else f"{start}-{end - 1}"
        for start, end in zip(TRACK_LENGTH_EDGES, ends, strict=True)
    ]


def _bucket(frames: int) -> str:
    labels = _bucket_labels()
    for label, edge in zip(reversed(labels), reversed(TRACK_LENGTH_EDGES), strict=True):
        if frames >= edge:
            return label
    return labels[0]


def evenly_spaced(first: int, last: int, count: int) -> list[float]:
    """`count` points from the first frame to the last, both included."""
    if count <= 0:
        return []
    if count == 1:
        return [(first + last) / 2]
    return [first + i * (last - first) / (count - 1) for i in range(count)]


@dataclass(frozen=True)
class FramePicks:
    frames: tuple[ImageRow, ...]  # by sequence name, then frame
    sequences_not_drawn: int


def pick_frames(
    rows: Iterable[ImageRow],
    stats: VideoStats,
    per_sequence: int = FRAMES_PER_SEQUENCE,
    sequences_drawn: int = SEQUENCES_DRAWN,
) -> FramePicks:
    """The frames nearest to evenly spaced points of each drawn sequence (fewer when frames
    are fewer). Drawn sequences: all, or the stable sample of the previews' hash."""
    names = sorted(stats.sequences, key=preview_rank)[: max(sequences_drawn, 0)]
    targets = {
        name: evenly_spaced(stats.sequences[name].first_frame, stats.sequences[name].last_frame,
                            per_sequence)
        for name in names
    }  # fmt: skip
    best: dict[tuple[str, int], tuple[float, int, ImageRow]] = {}
    positions = _FramePositions()
    for row in rows:
        if row.sequence is None:
            continue
        position = positions(row, row.sequence)
        for index, target in enumerate(targets.get(row.sequence, ())):
            candidate = (abs(position - target), position, row)
            current = best.get((row.sequence, index))
            if current is None or candidate[:2] < current[:2]:
                best[row.sequence, index] = candidate
    chosen: dict[str, tuple[str, int, ImageRow]] = {}
    for (name, _), (_, position, row) in best.items():
        chosen[row.image] = (name, position, row)
    frames = tuple(row for _, _, row in sorted(chosen.values(), key=lambda c: c[:2]))
    return FramePicks(frames, len(stats.sequences) - len(names))


def track_labels(
    names: Sequence[str], boxes: Sequence[tuple[str, int | None]]
) -> tuple[list[str], tuple[int | None, ...]] | None:
    """Each label row's text, `class #track`, from annot.csv's kept boxes of the frame (in the
    label file's order). None when they do not line up with the label file's classes."""
    if len(names) != len(boxes) or any(n != c for n, (c, _) in zip(names, boxes, strict=True)):
        return None
    texts = [name if track is None else f"{name} #{track}" for name, (_, track) in
             zip(names, boxes, strict=True)]  # fmt: skip
    return texts, tuple(track for _, track in boxes)
