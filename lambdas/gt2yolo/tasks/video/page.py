"""The page's sections for a dataset of video frames (report.json has a `video` section): its
sequences (frames, frames with boxes, boxes, tracks, split) and, for tracking jobs, the tracks
per class and how many frames a track lasts. The detection sections follow as usual.
"""

from __future__ import annotations

from html import escape

from gt2yolo.insights.charts import Bar, bar_chart, column_chart
from gt2yolo.insights.colors import name_color
from gt2yolo.insights.markup import count_tiles, note_paragraphs, section, swatch, table
from gt2yolo.insights.parts import (
    PageData,
    PageSections,
    PreviewTile,
    labelers,
    legend,
    tile,
)
from gt2yolo.insights.video import VideoStats
from gt2yolo.tasks.detect import page as shape_sections
from gt2yolo.tasks.video.report import VideoSection

KIND = "YOLO dataset of video frames"
# Sequences charted; the table lists them all.
SEQUENCES_CHARTED = 40


def _facts(data: PageData) -> VideoSection:
    section = data.report.section
    return section if isinstance(section, VideoSection) else VideoSection()


def _stats(data: PageData) -> VideoStats:
    return data.video if data.video is not None else VideoStats()


def tracking(data: PageData) -> bool:
    return _facts(data).tracking


def counts(data: PageData) -> str:
    """The detection counts, then the sequences (and tracks, for tracking jobs)."""
    facts = _facts(data)
    tiles = shape_sections.shape_tiles(data)
    tiles.append(("sequences", facts.sequences or 0))
    if facts.tracking:
        tiles.append(("tracks", facts.tracks or 0))
    return count_tiles(tiles)


def sequences(data: PageData) -> str:
    facts, stats = _facts(data), _stats(data)
    listed = sorted(stats.sequences.values(), key=lambda s: s.name)
    rows = [
        (s.name, ", ".join(sorted(s.splits)), s.frames, s.frames_with_boxes, s.boxes,
         s.tracks if tracking(data) else "", f"{s.first_frame}..{s.last_frame}")
        for s in listed
    ]  # fmt: skip
    headers = ("sequence", "split", "frames", "frames with boxes", "boxes", "tracks",
               "frame numbers")  # fmt: skip
    body = ""
    if listed:
        charted = listed[:SEQUENCES_CHARTED]
        chart = bar_chart(
            "Frames per sequence",
            [Bar(s.name, s.frames, name_color(min(s.splits)),
                 f"{s.frames} ({s.frames_with_boxes} with boxes)") for s in charted],
            560,
        )  # fmt: skip
        body = f'<div class="grid">{chart}{table(headers, rows, {2, 3, 4, 5})}</div>'
    stated = facts.sequences
    texts = [
        f"{len(listed) if stated is None else stated} sequences, {facts.frames} frames: "
        f"{_every(facts.frame_step)} of each sequence file kept "
        f"({facts.frames_skipped_by_step} skipped by the step). Frames are split by "
        "sequence: all frames of a clip are in one split, so near-identical frames never sit "
        "in train and val at once. Bars are colored by split."
    ]
    if len(listed) > SEQUENCES_CHARTED:
        texts.append(f"The chart shows the first {SEQUENCES_CHARTED} sequences by name.")
    if not listed:
        texts.append("images.csv has no sequence column: no sequence to list.")
    outside, invalid = facts.boxes_outside_sequence, facts.invalid_boxes
    if outside or invalid:
        texts.append(
            f"{outside} boxes were on frames the sequence file does not list and {invalid} "
            "boxes were invalid: not converted."
        )
    return section("sequences", "Sequences", body + note_paragraphs(texts))


def _every(step: int) -> str:
    """`--frame-step` in words: every frame, every 2nd frame, ..."""
    if step <= 1:
        return "every frame"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(step % 10 if step % 100 not in (11, 12, 13) else 0)
    return f"every {step}{suffix or 'th'} frame"


def tracks(data: PageData) -> str:
    if not tracking(data):
        return section(
            "tracks", "Tracks",
            '<p class="note">A detection job of video frames: its boxes have no object ids, '
            "so there are no tracks (and no mot/ folder).</p>",
        )  # fmt: skip
    stats = _stats(data)
    names = data.report.classes
    per_class = stats.tracks_per_class()
    ordered = [n for n in names if n in per_class] + sorted(set(per_class) - set(names))
    rows = [(swatch(n), per_class[n]) for n in ordered]
    by_class = bar_chart("Tracks per class", [Bar(n, per_class[n], name_color(n)) for n in ordered])
    lengths = column_chart(
        "Track length: frames per track",
        [Bar(label, n, "#6a8d3a") for label, n in stats.track_length_histogram()],
        520,
    )
    texts = [
        f"{len(stats.tracks)} tracks: an object id of Ground Truth is a track in its "
        "sequence (ids 1.. per sequence, as in annot.csv's track_id and mot/<sequence>/gt/gt.txt"
        "). A track's length counts the frames where it has a kept box."
    ]
    reported = _facts(data).tracks
    if reported is not None and reported != len(stats.tracks):
        texts.append(f"report.json counts {reported} tracks; annot.csv holds {len(stats.tracks)}.")
    body = (
        f'<div class="grid"><div><h3>Tracks per class</h3>{by_class}'
        f"{table(('class', 'tracks'), rows, {1})}</div>"
        f"<div><h3>Track length (frames)</h3>{lengths}</div></div>" + note_paragraphs(texts)
    )
    return section("tracks", "Tracks", body)


def previews(data: PageData) -> str:
    """A few frames of each sequence, evenly spaced, then the other frames whose boxes the
    rules changed."""
    if not data.previews and not data.sequence_previews:
        return section("previews", "Previews", '<p class="note">No previews.</p>')
    intro = (
        "<p>Boxes read back from the written YOLO label files, each named with its class and "
        f"its track id (<code>car #3</code>) when it has one. Legend: {legend(data)}. Orange "
        "frames: frames with clamped or dropped boxes. Click a picture for full size.</p>"
    )
    unread = sum(t.label_problem for t in (*data.sequence_previews, *data.previews))
    if unread:
        intro += (
            f'<p class="note"><span class="flag">{unread} drawn frames have a missing or '
            "unreadable label file</span>: they are drawn without labels.</p>"
        )
    groups: dict[str, list[PreviewTile]] = {}
    for preview in data.sequence_previews:
        groups.setdefault(preview.sequence or "", []).append(preview)
    body = "".join(
        f'<h3>{escape(name)}</h3><div class="gallery">'
        + "".join(tile(preview, "boxes") for preview in tiles) + "</div>"
        for name, tiles in groups.items()
    )  # fmt: skip
    if data.sequences_not_drawn:
        body += (
            f'<p class="note">{data.sequences_not_drawn} more sequences are not drawn (limit); '
            "images.csv lists their frames.</p>"
        )
    if data.previews:
        others = "".join(tile(preview, "boxes") for preview in data.previews)
        body += (
            "<h3>Other frames with clamped or dropped boxes</h3>"
            f'<div class="gallery">{others}</div>'
        )
    if data.flagged_not_drawn:
        body += (
            f'<p class="note">{data.flagged_not_drawn} more frames with clamped or dropped '
            "boxes are not drawn (limit); images.csv lists them.</p>"
        )
    return section("previews", "Previews by sequence", intro + body)


def _kind(data: PageData) -> str:
    return KIND


SECTIONS = PageSections(_kind, (
    counts, sequences, tracks, shape_sections.classes, shape_sections.boxes,
    shape_sections.splits, shape_sections.rejections, labelers, previews,
))  # fmt: skip
