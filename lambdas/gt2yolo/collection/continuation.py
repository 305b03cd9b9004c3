"""A dataset that grows: convert new manifests after a dataset of ours (`--continue-from`).

The earlier dataset (a folder gt2yolo convert wrote, or a published dataset's root with its
current.json) gives its class list and each image's split; the new conversion keeps both: its
classes are the earlier ones, then the new manifests' classes it lacks, appended (mapped by name,
as a collection's members are), and every image the earlier dataset holds keeps its split.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from gt2yolo.classes import ClassList
from gt2yolo.collection.conversion import collection_classes, folder_of_prefix, split_pins
from gt2yolo.collection.definition import CollectionError
from gt2yolo.collection.lines import LineRewrite, MemberManifest
from gt2yolo.manifest import ManifestSource
from gt2yolo.options import ConversionOptions
from gt2yolo.storage import ObjectStore, read_or_none
from gt2yolo.survey import survey_manifests
from gt2yolo.versions import read_pointer, version_key
from gt2yolo.writers import IMAGES_CSV, REPORT_JSON


@dataclass(frozen=True)
class EarlierDataset:
    """What a dataset of ours says about its classes and splits."""

    where: str
    classes: tuple[str, ...]
    task: str  # report.json's YOLO task
    images_csv: str
    common_prefix: str = ""

    @classmethod
    def read(cls, objects: ObjectStore, where: str) -> EarlierDataset:
        """A dataset folder (report.json at its root) or a published dataset (current.json: its
        current version's report.json and images.csv)."""
        pointer = read_pointer(objects)
        prefix = version_key(pointer.version) if pointer is not None else ""
        report = read_or_none(objects, prefix + REPORT_JSON)
        images = read_or_none(objects, prefix + IMAGES_CSV)
        if report is None or images is None:
            raise CollectionError(
                f"{where} is not a dataset of gt2yolo (no {prefix}{REPORT_JSON} and "
                f"{prefix}{IMAGES_CSV}): give a folder gt2yolo convert wrote, or a synced "
                "datasets/<name>/ with its current.json"
            )
        try:
            document = json.loads(report)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CollectionError(f"{where}: {REPORT_JSON} is not JSON: {exc}") from None
        classes = document.get("classes") if isinstance(document, dict) else None
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise CollectionError(f"{where}: {REPORT_JSON} has no list of classes")
        task = document.get("task", "detect")
        prefix = document.get("common_prefix")
        return cls(
            where, tuple(classes), str(task), images.decode("utf-8", "surrogatepass"),
            prefix if isinstance(prefix, str) else "",
        )  # fmt: skip


@dataclass(frozen=True)
class Continuation:
    sources: tuple[MemberManifest, ...]
    options: ConversionOptions
    new_classes: tuple[str, ...]
    kept_splits: int  # images whose earlier split the new fractions' hash would change


def continue_from(
    earlier: EarlierDataset, sources: Sequence[ManifestSource], options: ConversionOptions
) -> Continuation:
    """The sources and options converting `sources` after `earlier`: its class ids and splits
    kept, new classes appended (named in report.json's warnings)."""
    survey = survey_manifests(
        sources, options.label_attribute, options.class_list, task=options.task
    )
    if str(survey.task.yolo_task) != earlier.task:
        raise CollectionError(
            f"{earlier.where} is a {earlier.task} dataset; these manifests are "
            f"{survey.task.description} ({survey.task.yolo_task}): a dataset holds one task"
        )
    own = survey.class_list.names
    classes = collection_classes((), earlier.classes, [own])
    new = tuple(c for c in classes if c not in set(earlier.classes))
    # Lines that name a class by id only mean the manifests' own order (config or class-maps):
    # named from it, then mapped by name into the earlier dataset's ids.
    rewrite = LineRewrite(survey.label_attribute, survey.label_attribute, survey.task, own)
    pins = split_pins(earlier.images_csv, options.fractions)
    appended = f"; classes appended: {', '.join(new)}" if new else ""
    class_list = ClassList(
        classes,
        source=f"continued from {earlier.where} ({len(earlier.classes)} classes{appended})",
        warnings=survey.class_list.warnings,
    )
    continued = replace(
        options, label_attribute=survey.label_attribute, class_list=class_list,
        task=survey.task, split_pins={**(options.split_pins or {}), **pins},
        earlier_common_folder=folder_of_prefix(earlier.common_prefix),
    )  # fmt: skip
    views = tuple(MemberManifest(s.name, s, rewrite) for s in sources)
    return Continuation(views, continued, new, len(pins))
