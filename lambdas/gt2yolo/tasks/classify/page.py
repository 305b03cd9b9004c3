"""The page's sections for a classification dataset: images per class and per split, and for
multi-label datasets the labels per image and the classes given together.

An image holds no boxes here: the numbers come from report.json's `classification` section and
from annot.csv's one row per image (`stats`); the gallery captions images with their classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gt2yolo.insights.charts import Bar, Series, bar_chart, column_chart, stacked_chart
from gt2yolo.insights.colors import name_color
from gt2yolo.insights.markup import count_tiles, note_paragraphs, section, swatch, table
from gt2yolo.insights.parts import PageData, PageSections, gallery, labelers, rejections_section
from gt2yolo.tasks.classify.report import ClassifySection

# Pairs of classes shown in the co-occurrence table, most frequent first.
PAIRS_SHOWN = 20


def _classification(data: PageData) -> ClassifySection:
    section = data.report.section
    return section if isinstance(section, ClassifySection) else ClassifySection()


def multilabel(data: PageData) -> bool:
    return _classification(data).multilabel


def kind(data: PageData) -> str:
    """The dataset, in the page's header."""
    if multilabel(data):
        return "Multi-label classification dataset (labels.csv)"
    return "YOLO classification dataset"


def counts(data: PageData) -> str:
    r = data.report
    facts = _classification(data)
    per_class = facts.images_per_class
    tiles: list[tuple[str, Any]] = [("images", r.images)]
    if facts.multilabel:
        tiles.append(("labels", sum(per_class.values())))
    tiles.append(("classes", len(r.classes)))
    if facts.multilabel:
        tiles.append(("images without a class", facts.images_without_class))
    tiles += [
        ("manifest lines", r.lines), ("rejected lines", r.rejected_lines),
        ("dropped labels", sum(facts.dropped_labels.values())),
    ]  # fmt: skip
    return count_tiles(tiles)


def classes(data: PageData) -> str:
    """Images per class: a bar per class, a row per class with its folder and split counts."""
    r = data.report
    facts = _classification(data)
    names = r.classes
    splits = list(r.images_per_split)
    total = r.images or 1
    single = not facts.multilabel
    headers = ["id", "class", *(["folder", "Ultralytics id"] if single else []),
               "images", "share", *splits]  # fmt: skip
    rows = [
        (i, swatch(name), *([facts.folder_of(name), facts.ultralytics_id_of(name)] if single
                            else []),
         facts.images_of(name), f"{facts.images_of(name) / total:.0%}",
         *(data.stats.class_images[split, i] for split in splits))
        for i, name in enumerate(names)
    ]  # fmt: skip
    numeric = set(range(len(headers))) - {1, 2} if single else set(range(len(headers))) - {1}
    chart = bar_chart(
        "Images per class", [Bar(n, facts.images_of(n), name_color(n)) for n in names]
    )
    # Multi-label: an image counts once per class it has, so a column adds up its labels.
    per_split = "Labels per split, by class" if not single else "Images per split, by class"
    series = [
        Series(name, name_color(name), tuple(data.stats.class_images[s, i] for s in splits))
        for i, name in enumerate(names)
    ]
    by_split = stacked_chart(per_split, splits, series, 460)
    texts = []
    empty = [n for n in names if not facts.images_of(n)]
    if empty:
        texts.append(f"No image has class {', '.join(empty)}.")
    if single:
        texts.append(
            "Ultralytics numbers classes by their folder names sorted (the Ultralytics id); "
            "classes.txt and annot.csv keep the job's order (the id)."
        )
    else:
        texts.append("Share: of the images, those with the class (an image has any number).")
    body = (
        f'<div class="grid">{chart}{table(headers, rows, numeric)}</div>'
        f'<div class="grid"><div><h3>{per_split}</h3>{by_split}</div></div>'
        + note_paragraphs(texts)
    )
    return section("classes", "Images per class", body)


def labels(data: PageData) -> str:
    """Multi-label only: labels per image, and the pairs of classes most often given together."""
    if not multilabel(data):
        return ""
    names = data.report.classes
    stats = data.stats
    per_image = column_chart(
        "Labels per image", [Bar(label, n) for label, n in stats.per_image_histogram()], 520
    )
    pairs = sorted(stats.class_pairs.items(), key=lambda item: (-item[1], item[0]))
    rows = [(swatch(_name(names, a)), swatch(_name(names, b)), n)
            for (a, b), n in pairs[:PAIRS_SHOWN]]  # fmt: skip
    together = (
        table(("class", "given with", "images"), rows, {2})
        if rows
        else '<p class="note">No image has two classes.</p>'
    )
    if len(pairs) > PAIRS_SHOWN:
        together += f'<p class="note">{len(pairs) - PAIRS_SHOWN} more pairs.</p>'
    body = (
        f'<div class="grid"><div><h3>Labels per image</h3>{per_image}</div>'
        f"<div><h3>Classes given together</h3>{together}</div></div>"
    )
    return section("labels", "Labels per image and classes given together", body)


def _name(names: Sequence[str], class_id: int) -> str:
    return names[class_id] if 0 <= class_id < len(names) else f"id {class_id}"


def splits(data: PageData) -> str:
    images = data.report.images_per_split
    total = sum(images.values()) or 1
    multi = multilabel(data)
    rows = [
        (split, n, f"{n / total:.0%}",
         *((data.stats.boxes_per_split[split],
            f"{data.stats.boxes_per_split[split] / max(n, 1):.2f}") if multi else ()))
        for split, n in images.items()
    ]  # fmt: skip
    headers = ("split", "images", "share", *(("labels", "labels/image") if multi else ()))
    chart = bar_chart(
        "Images per split",
        [Bar(split, n, name_color(split), f"{n} ({n / total:.0%})") for split, n in images.items()],
        460,
        80,
    )
    numeric = set(range(1, len(headers)))
    return section(
        "splits", "Split balance", f'<div class="grid">{chart}{table(headers, rows, numeric)}</div>'
    )


def dropped_labels(data: PageData) -> str:
    dropped = _classification(data).dropped_labels
    return rejections_section(data, "dropped labels", list(dropped.items()))


def gallery_intro(data: PageData, legend: str) -> str:
    where = "its row of labels.csv" if multilabel(data) else "its class folder"
    return (
        "<p>A stable sample of the images, each captioned with its classes as the dataset "
        f"gives them ({where}). Legend: {legend}. Click a picture for full size.</p>"
    )


def previews(data: PageData) -> str:
    return gallery(data, gallery_intro)


SECTIONS = PageSections(kind, (counts, classes, labels, splits, dropped_labels, labelers, previews))
