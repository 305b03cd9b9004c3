"""Which images get a preview: a stable hash sample plus every image with clamped/dropped boxes."""

from __future__ import annotations

import random

from gt2yolo.insights.dataset import ImageRow
from gt2yolo.insights.sampling import choose_previews, preview_rank
from gt2yolo.split import SplitFractions, assign_split


def row(name: str, clamped: int = 0, dropped: int = 0, split: str = "train") -> ImageRow:
    return ImageRow(
        source_ref=f"s3://bucket/photos/{name}", image=f"images/{split}/{name}",
        label=f"labels/{split}/{name.rsplit('.', 1)[0]}.txt", split=split, width=100,
        height=80, boxes=1, dropped_boxes=dropped, clamped_boxes=clamped,
        manifest="m", line=1,
    )  # fmt: skip


ROWS = [row(f"img_{i:04d}.jpg") for i in range(300)]


def test_the_sample_has_the_configured_size() -> None:
    assert len(choose_previews(ROWS, sample_size=50).sample) == 50
    assert len(choose_previews(ROWS[:10], sample_size=50).sample) == 10
    assert choose_previews(ROWS, sample_size=0).images == ()


def test_the_sample_is_the_same_whatever_the_order_of_the_images() -> None:
    shuffled = ROWS[:]
    random.Random(3).shuffle(shuffled)
    assert choose_previews(shuffled, 20).sample == choose_previews(ROWS, 20).sample


def test_the_sample_is_the_images_with_the_smallest_stable_rank() -> None:
    expected = sorted(ROWS, key=lambda r: preview_rank(r.source_ref))[:20]
    assert set(choose_previews(ROWS, 20).sample) == set(expected)


def test_adding_images_keeps_the_sampled_ones_that_still_rank_first() -> None:
    before = set(choose_previews(ROWS[:200], 20).sample)
    after = set(choose_previews(ROWS, 20).sample)
    assert all(r in after for r in before if preview_rank(r.source_ref) <=
               max(preview_rank(a.source_ref) for a in after))  # fmt: skip


def test_the_sample_is_not_the_validation_split() -> None:
    # The split hashes the same source-ref; an unkeyed hash would sample val images only
    fractions = SplitFractions(val=0.2)
    splits = {assign_split(r.source_ref, fractions) for r in choose_previews(ROWS, 30).sample}
    assert len(splits) == 2


def test_every_image_with_clamped_or_dropped_boxes_is_previewed_on_top_of_the_sample() -> None:
    flagged = [row("edge.jpg", clamped=1), row("bad.jpg", dropped=2)]
    choice = choose_previews([*ROWS, *flagged], sample_size=5)
    assert set(choice.flagged) == set(flagged)
    assert len(choice.sample) == 5
    assert not set(choice.sample) & set(flagged)
    assert choice.images[:2] == (flagged[1], flagged[0])  # flagged first, by image path


def test_flagged_images_beyond_the_limit_are_counted_not_drawn() -> None:
    flagged = [row(f"edge_{i}.jpg", clamped=1) for i in range(7)]
    choice = choose_previews(flagged, sample_size=5, flagged_limit=3)
    assert (len(choice.flagged), choice.flagged_total, choice.flagged_not_drawn) == (3, 7, 4)
