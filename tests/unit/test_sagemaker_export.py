"""The SageMaker built-in algorithm export: augmented manifests under exports/sagemaker/.

`train.manifest`, `validation.manifest` (our val split) and `test.manifest` (only with a test
split); Object Detection lines with 0-based consecutive class ids (the dataset's), Image
Classification lines with `class` an id or a list of ids; report.json says how to train from
them (AttributeNames, Pipe mode, RecordIO wrapping, content type, hyperparameters).
"""

from __future__ import annotations

import json
from pathlib import Path

from export_builders import (
    BASE,
    ExportWorkspace,
    VideoExportWorkspace,
    export_entry,
    image_path,
    manifest_lines,
)
from gt2yolo.exports.formats import ExportFormat
from gt_builders import box, line, ref
from task_builders import PETS, classification_record, multilabel_record
from video_builders import tracked

SAGEMAKER = ExportFormat.SAGEMAKER
TRAIN, VALIDATION, TEST = "train.manifest", "validation.manifest", "test.manifest"


def _lines(count: int) -> list[str]:
    """Images whose Ground Truth class-map numbers cat 0, dog 1, bird 2 (the job's own ids)."""
    names = {"0": "cat", "1": "dog", "2": "bird"}
    return [
        line(ref(f"cam/{i}.jpg"), [box(i % 3), box((i + 1) % 3, left=300)], class_map=names)
        for i in range(count)
    ]


def test_box_class_ids_are_the_datasets_0_based_consecutive_ids(tmp_path: Path) -> None:
    # Given a label config ordering the classes bird, cat, dog (not the job's class-map ids)
    workspace = ExportWorkspace(tmp_path)

    # When converting with the SageMaker export
    dataset = workspace.convert(_lines(12), classes=("bird", "cat", "dog"), val=0.3, images=False)

    # Then every box's class_id is its dataset id: the YOLO label file's class, in 0..n-1
    entry = export_entry(dataset, SAGEMAKER)
    assert entry["num_classes"] == 3
    lines = manifest_lines(dataset, SAGEMAKER, TRAIN) + manifest_lines(
        dataset, SAGEMAKER, VALIDATION
    )
    assert len(lines) == 12
    for entry_line in lines:
        image = image_path(entry_line["source-ref"])
        label = image.replace("images/", "labels/", 1).rsplit(".", 1)[0] + ".txt"
        yolo = [int(row.split()[0]) for row in dataset.text(label).splitlines()]
        ids = [a["class_id"] for a in entry_line["bounding-box"]["annotations"]]
        assert ids == yolo and set(ids) <= {0, 1, 2}
        names = entry_line["bounding-box-metadata"]["class-map"]
        assert names == {str(i): ("bird", "cat", "dog")[i] for i in sorted(set(ids))}


def test_detection_lines_carry_the_attribute_names_report_json_gives(tmp_path: Path) -> None:
    # Given detection images in train, val and test
    dataset = ExportWorkspace(tmp_path).convert(_lines(30), val=0.3, test=0.2, images=False)

    # Then report.json names the channel settings, the image first, then the boxes
    entry = export_entry(dataset, SAGEMAKER)
    assert entry["attribute_names"] == ["source-ref", "bounding-box"]
    assert entry["channel"] == {
        "s3_data_type": "AugmentedManifestFile", "input_mode": "Pipe",
        "record_wrapping": "RecordIO", "content_type": "application/x-recordio",
    }  # fmt: skip
    assert entry["algorithm"] == "object-detection"
    assert entry["max_boxes_per_image"] == 2
    # And every line holds those attributes, the image size and boxes in pixels
    for name in (TRAIN, VALIDATION, TEST):
        for entry_line in manifest_lines(dataset, SAGEMAKER, name):
            assert list(entry_line)[:2] == entry["attribute_names"]
            value = entry_line["bounding-box"]
            assert value["image_size"] == [{"width": 500, "height": 400, "depth": 3}]
            assert {"left", "top", "width", "height", "class_id"} == set(value["annotations"][0])
    # And num_training_samples is the training manifest's line count
    assert entry["num_training_samples"] == len(manifest_lines(dataset, SAGEMAKER, TRAIN)) > 0


def test_each_split_has_its_manifest_and_test_only_with_a_test_split(tmp_path: Path) -> None:
    # Given the same images, without a test split and with one
    workspace = ExportWorkspace(tmp_path)
    manifest = workspace.manifest(_lines(30))
    two = workspace.convert(manifest, val=0.3, images=False, out=tmp_path / "two")
    three = workspace.convert(manifest, val=0.3, test=0.2, images=False, out=tmp_path / "three")

    # Then train and validation manifests always, test.manifest only with a test split
    assert {f for f in two.files() if f.startswith("exports/")} == {
        "exports/sagemaker/train.manifest", "exports/sagemaker/validation.manifest",
        "exports/rekognition/train.manifest", "exports/rekognition/test.manifest",
    }  # fmt: skip
    assert (three.root / "exports/sagemaker/test.manifest").is_file()
    # And each holds its split's images
    for split, name in (("train", TRAIN), ("val", VALIDATION), ("test", TEST)):
        lines = manifest_lines(three, SAGEMAKER, name)
        assert lines and {image_path(e["source-ref"]).split("/")[1] for e in lines} == {split}
        assert len(lines) == three.report["images_per_split"][split]


def test_images_without_boxes_or_not_png_or_jpeg_are_excluded_and_counted(
    tmp_path: Path,
) -> None:
    # Given images with boxes, one without, one GIF and one BMP
    lines = [*_lines(3), line(ref("cam/empty.jpg"), []), line(ref("cam/a.gif"), [box(0)]),
             line(ref("cam/b.bmp"), [box(0)])]  # fmt: skip

    # When converting them
    dataset = ExportWorkspace(tmp_path).convert(lines, images=False)

    # Then the YOLO dataset has all six, the manifest the three with boxes
    entry = export_entry(dataset, SAGEMAKER)
    assert dataset.report["images"] == 6
    assert entry["excluded"] == {"no_boxes": 1, "unsupported_format": 2}
    assert len(manifest_lines(dataset, SAGEMAKER, TRAIN)) == entry["num_training_samples"] == 3


def test_single_label_classification_lines_hold_the_class_id(tmp_path: Path) -> None:
    # Given single-label images of the pets job
    workspace = ExportWorkspace(tmp_path)
    lines = [json.dumps(classification_record(workspace.image(ref(f"p/{i}.jpg")), i % 4,
                                              PETS[i % 4])) for i in range(8)]  # fmt: skip

    # When converting them
    dataset = workspace.convert(lines, classes=PETS, images=False)

    # Then each line is {source-ref, class: id}, its image the one in the class folder
    entries = manifest_lines(dataset, SAGEMAKER, TRAIN)
    assert len(entries) == 8
    for entry_line in entries:
        assert sorted(entry_line) == ["class", "source-ref"]
        folder = image_path(entry_line["source-ref"]).split("/")[1]
        assert PETS[entry_line["class"]] == folder
    # And report.json: AttributeNames, num_classes and no multi_label hyperparameter
    entry = export_entry(dataset, SAGEMAKER)
    assert entry["attribute_names"] == ["source-ref", "class"]
    assert entry["algorithm"] == "image-classification"
    assert entry["num_classes"] == 4 and "multi_label" not in entry
    assert entry["channel"]["content_type"] == "application/x-recordio"


def test_multilabel_lines_hold_the_class_ids_and_say_multi_label(tmp_path: Path) -> None:
    # Given multi-label images, one of them without a label
    workspace = ExportWorkspace(tmp_path)
    lines = [json.dumps(multilabel_record(workspace.image(ref(f"t/{i}.jpg")), ids))
             for i, ids in enumerate([[0, 2], [3], []])]  # fmt: skip

    # When converting them
    dataset = workspace.convert(lines, classes=PETS, images=False)

    # Then the lines hold lists of class ids; the unlabeled image is left out as no_labels
    entries = manifest_lines(dataset, SAGEMAKER, TRAIN)
    assert [e["class"] for e in entries] == [[0, 2], [3]]
    entry = export_entry(dataset, SAGEMAKER)
    assert entry["excluded"] == {"no_labels": 1}
    # And training says multi-label, the class-id label format
    assert entry["multi_label"] == 1
    assert entry["channel"]["content_type"] == "application/x-recordio; label-format=class-id"
    assert entry["num_training_samples"] == 2


def test_video_frames_are_object_detection_lines(tmp_path: Path) -> None:
    # Given a tracking job of one sequence of three frames
    workspace = VideoExportWorkspace(tmp_path)
    boxes = {i: [tracked(1, 5 + i, 5, 20, 20, object_id="p-1")] for i in range(3)}
    dataset = workspace.convert([workspace.clip("seq-a", boxes)])

    # Then each frame is a line naming its image in the dataset, the person's class id 1
    lines = [e for name in (TRAIN, VALIDATION) for e in manifest_lines(dataset, SAGEMAKER, name)]
    assert len(lines) == 3
    for entry_line in lines:
        assert entry_line["source-ref"].startswith(BASE + "images/")
        assert (dataset.root / image_path(entry_line["source-ref"])).is_file()
        assert [a["class_id"] for a in entry_line["bounding-box"]["annotations"]] == [1]
