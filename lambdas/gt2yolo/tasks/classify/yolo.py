"""Image classification lines -> an Ultralytics classification dataset.

Single label: `<split>/<class folder>/<image path>` (`yolo classify train data=DATASET_DIR`).
Ultralytics reads a classification dataset from its folders, not a data.yaml: its class ids are
the *sorted* names of the folders under `train/` (empty ones too), and images below a class folder
are read recursively. So every class of the job gets its folder in every split, even without an
image (an empty `.keep` file holds it, so it survives `aws s3 sync`), and `classes.txt` lists the
classes in the job's label-config order, the order `annot.csv`'s class_id follows; report.json's
`classification.ultralytics_class_ids` gives the ids a trained model reports.

Multi-label: Ultralytics has no multi-label classifier. Images go to `images/<split>/<path>` and
`labels.csv` holds one row per image with a 0/1 column per class, in label-config order.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Sequence
from typing import Any, ClassVar, TextIO

from gt2yolo.excerpts import shortened
from gt2yolo.exports.formats import ExportFormat
from gt2yolo.passes import Exporters, ExportGaps, Placed, TaskPass
from gt2yolo.paths import NAME_MAX, name_key
from gt2yolo.records import BoxDrop, ClassifiedImage, ImageClass, LineRejection, RejectedLine
from gt2yolo.split import Split
from gt2yolo.storage import Storage
from gt2yolo.task_types import LabelTask
from gt2yolo.tasks.classify.exports import RekognitionClassifyWriter, SageMakerClassifyWriter
from gt2yolo.tasks.classify.report import ClassifyCounts, ClassifySection
from gt2yolo.writers import CLASSES_TXT, LIST_SEPARATOR, DatasetWriter, image_key

ANNOT_COLUMNS = (
    "img_file", "category", "class_id", "confidence", "source_ref", "split", "folder", "manifest",
    "line",
)  # fmt: skip
IMAGES_COLUMNS = ("source_ref", "image", "split", "classes", "manifest", "line")
LABELS_CSV = "labels.csv"
KEEP_NAME = ".keep"
_UNSAFE_IN_FOLDER = re.compile(r'[%/\\\x00-\x1f\x7f<>:"|?*]')
# Names Windows reserves for devices, with or without an extension (`con`, `NUL.txt`).
_WINDOWS_DEVICES = re.compile(r"(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?", re.IGNORECASE)


def class_folders(names: Sequence[str]) -> tuple[str, ...]:
    """A folder name per class: the name itself where it is a safe, distinct folder name.

    `/`, `\\`, control and Windows-reserved characters and `%` are %-escaped, and so is the
    first letter of a Windows device name (`CON` -> `%43ON`); a leading `.`
    (hidden, or `..`) becomes `%2E`; names equal ignoring case (one folder on macOS and
    Windows) get `~2`, `~3`, ... in class order.
    """
    folders: list[str] = []
    taken: set[str] = set()
    for name in names:
        folder = _UNSAFE_IN_FOLDER.sub(lambda found: f"%{ord(found.group()):02X}", name)
        if folder.startswith("."):
            folder = "%2E" + folder[1:]
        if folder.endswith((" ", ".")):
            folder = folder[:-1] + f"%{ord(folder[-1]):02X}"
        if _WINDOWS_DEVICES.fullmatch(folder):
            folder = f"%{ord(folder[0]):02X}{folder[1:]}"
        candidate, number = folder, 1
        while name_key(candidate) in taken:
            number += 1
            candidate = f"{folder}~{number}"
        taken.add(name_key(candidate))
        folders.append(candidate)
    return tuple(folders)


def folder_bytes(folder: str) -> int:
    return len(folder.encode("utf-8", "surrogatepass"))


def fitting_folders(folders: Sequence[str]) -> tuple[str | None, ...]:
    """Each class's folder, None where its name is longer than a file system holds (NAME_MAX
    bytes of UTF-8): such a class keeps its id (classes.txt, annot.csv) but has no folder, and
    its lines are rejected `unsafe_path` rather than failing the whole run."""
    return tuple(folder if folder_bytes(folder) <= NAME_MAX else None for folder in folders)


def too_long_folder_warnings(names: Sequence[str], folders: Sequence[str]) -> list[str]:
    return [
        f"class {shortened(repr(name), 80)}: its folder name would be {folder_bytes(folder)} "
        f"bytes (at most {NAME_MAX}): it has no folder, its lines are rejected unsafe_path "
        "(Ultralytics' class ids leave it out)"
        for name, folder in zip(names, folders, strict=True)
        if folder_bytes(folder) > NAME_MAX
    ]


class ClassifyWriter(DatasetWriter):
    annot_columns = ANNOT_COLUMNS
    images_columns = IMAGES_COLUMNS

    def __init__(
        self,
        storage: Storage,
        splits: Sequence[Split],
        *,
        classes: Sequence[str],
        multilabel: bool,
        tables_prefix: str = "",
        header: bool = True,
    ) -> None:
        super().__init__(storage, splits, tables_prefix=tables_prefix, header=header)
        self.classes = tuple(classes)
        self.folders = class_folders(classes)
        self.multilabel = multilabel
        self._labels: Any = None
        if multilabel:
            self._labels_text: TextIO = self._open(LABELS_CSV)
            self._labels = csv.writer(self._labels_text, lineterminator="\n")
            if header:
                self._labels.writerow(("image", "split", *self.classes))

    def add_classified(
        self, image: ClassifiedImage, key: str, split: Split, kept: Sequence[tuple[int, ImageClass]]
    ) -> None:
        """`kept`: (dataset class id, label) of the image's classes in the class list."""
        self._lists[split].write(f"./{key}\n")
        names = LIST_SEPARATOR.join(self.classes[i] for i, _ in kept)
        ids = LIST_SEPARATOR.join(str(i) for i, _ in kept)
        confidences = LIST_SEPARATOR.join(
            "" if label.confidence is None else repr(label.confidence) for _, label in kept
        )
        folder = "" if self.multilabel else self.folders[kept[0][0]]
        origin = image.origin
        self._images.writerow((image.source_ref, key, split, names, origin.manifest, origin.line))
        self._annot.writerow((
            key, names, ids, confidences, image.source_ref, split, folder, origin.manifest,
            origin.line,
        ))  # fmt: skip
        if self._labels is not None:
            present = {i for i, _ in kept}
            row = [1 if i in present else 0 for i in range(len(self.classes))]
            self._labels.writerow((key, split, *row))

    def write_summary(
        self, classes: Sequence[str], splits: Sequence[Split], report: dict[str, Any]
    ) -> None:
        """The class folders' `.keep` files and classes.txt; no data.yaml or obj.data
        (Ultralytics reads the folders; Darknet has no classifier datasets of this shape)."""
        if not self.multilabel:
            for split in splits:
                for folder in fitting_folders(self.folders):
                    if folder is not None:
                        self.storage.write_bytes(f"{split}/{folder}/{KEEP_NAME}", b"")
        self.storage.write_bytes(CLASSES_TXT, "".join(f"{n}\n" for n in classes).encode())


class ClassifyPass(TaskPass[ClassifyWriter]):
    exporters: ClassVar[Exporters] = {
        ExportFormat.REKOGNITION: RekognitionClassifyWriter,
        ExportFormat.SAGEMAKER: SageMakerClassifyWriter,
    }
    export_gaps: ClassVar[ExportGaps] = {
        ExportFormat.COCO: "image classification has no COCO form (COCO holds objects: boxes, "
        "polygons): train from the class folders, or export rekognition or sagemaker"
    }

    @functools.cached_property
    def _folders(self) -> tuple[str, ...]:
        """The class folders, named once per pass (not once per image)."""
        return class_folders(self.survey.class_list.names)

    @property
    def multilabel(self) -> bool:
        return self.survey.task is LabelTask.IMAGE_CLASSIFICATION_MULTILABEL

    def open_writers(
        self,
        storage: Storage,
        splits: Sequence[Split],
        *,
        tables_prefix: str = "",
        header: bool = True,
    ) -> list[ClassifyWriter]:
        return [ClassifyWriter(
            storage, splits, classes=self.survey.class_list.names, multilabel=self.multilabel,
            tables_prefix=tables_prefix, header=header,
        )]  # fmt: skip

    def _place(self, image: Any) -> Placed | RejectedLine:
        placed = super()._place(image)
        if isinstance(placed, RejectedLine) or self.multilabel:
            return placed
        (label,) = image.classes
        class_id = self.survey.class_list.resolve(label.class_id, label.class_name)
        if isinstance(class_id, BoxDrop):
            name = label.class_name if label.class_name is not None else f"id {label.class_id}"
            detail = f"class {name} ({class_id}): not in the dataset's classes"
            return RejectedLine(LineRejection.UNKNOWN_CLASS, detail, image.origin, image.source_ref)
        folder = self._folders[class_id]
        if folder_bytes(folder) > NAME_MAX:
            detail = f"class folder name of {folder_bytes(folder)} bytes (at most {NAME_MAX})"
            return RejectedLine(LineRejection.UNSAFE_PATH, detail, image.origin, image.source_ref)
        return Placed(image, placed.path, placed.label, placed.split, folder)

    def _image_key(self, placed: Placed) -> str:
        if self.multilabel:
            return image_key(placed.split, placed.path)
        return f"{placed.split}/{placed.folder}/{placed.path}"

    def _written_keys(self, placed: Placed) -> tuple[str, ...]:
        return (self._image_key(placed),)  # no label file: the folder is the label

    def _accept(self, placed: Placed) -> None:
        image: ClassifiedImage = placed.image
        classes = self.survey.class_list
        kept: list[tuple[int, ImageClass]] = []
        report = self.report
        counts = report.counts(ClassifyCounts)
        for label in image.classes:
            class_id = classes.resolve(label.class_id, label.class_name)
            if isinstance(class_id, BoxDrop):
                counts.dropped_labels[class_id] += 1
            else:
                kept.append((class_id, label))
        key = self._image_key(placed)
        for writer in self.writers:
            writer.add_classified(image, key, placed.split, kept)
        for class_id, _ in kept:
            counts.images_per_class[class_id] += 1
        report.images += 1
        report.manifest(image.origin.manifest).images += 1
        report.background_images += not kept
        report.images_per_split[placed.split] += 1

    def finish(self) -> dict[str, Any]:
        names = self.survey.class_list.names
        folders = class_folders(names)
        if not self.multilabel:
            self.report.warnings.extend(too_long_folder_warnings(names, folders))
        document = super().finish()
        section = ClassifySection.of(
            self.report.counts(ClassifyCounts), names, fitting_folders(folders), self.multilabel,
            self.report.background_images,
        )  # fmt: skip
        document[ClassifySection.key] = section.as_dict()
        return document
