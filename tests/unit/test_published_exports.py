"""A published version's exports name each image where that version stores it.

The version's own copy (versions/<v>/exports/) names images by dataset key, as a local
conversion does; its root copies `<v>.<format>.<file>` name `files/<w>/<key>`, the version that
stored each image, and go with their version when it is collected.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from gt2yolo.exports.formats import ExportFormat
from gt2yolo.incremental import Baseline, convert_version
from gt2yolo.storage import LocalManifest, LocalStorage, MirrorImageSink, S3Mirror
from gt2yolo.versions import publish_version
from test_incremental_versions import BASE, _lines, _mirror, _options, _version

EXPORT_BASE = "s3://bucket/datasets/d/"
ALL = (ExportFormat.COCO, ExportFormat.REKOGNITION, ExportFormat.SAGEMAKER)


def _convert(root: Path, mirror: Path, lines: list[str], version: str, keep: int = 3) -> None:
    root.parent.mkdir(parents=True, exist_ok=True)
    manifest = root.parent / "output.manifest"
    manifest.write_text("".join(f"{entry}\n" for entry in lines), encoding="utf-8")
    objects, storage = LocalStorage(root), LocalStorage(root)
    options = replace(_options(), exports=ALL, export_base=EXPORT_BASE)
    convert_version(
        [LocalManifest(manifest)], objects, storage, options, version, Baseline.of(objects),
        MirrorImageSink(S3Mirror(mirror), storage),
    )  # fmt: skip
    publish_version(objects, version, keep, job_name="job")


def _coco_images(root: Path, version: str) -> dict[str, str]:
    """Dataset key -> file_name of every image in the version's root COCO copies."""
    named = {}
    for split in ("train", "val"):
        document = json.loads((root / f"{version}.coco.{split}.json").read_text("utf-8"))
        for image in document["images"]:
            named[image["file_name"].split("/", 2)[2]] = image["file_name"]
    return named


def _published(tmp_path: Path) -> tuple[Path, str, str, str]:
    mirror = _mirror(tmp_path / "mirror", list(BASE))
    root = tmp_path / "d" / "dataset"
    _convert(root, mirror, _lines(BASE), _version(1))
    edited = dict(BASE, **{"cam1/img5.jpg": [(0, 99)]})
    _convert(root, mirror, _lines(edited), _version(2))
    return root, mirror.as_posix(), _version(1), _version(2)


def test_the_root_coco_names_unchanged_images_from_the_version_that_stored_them(
    tmp_path: Path,
) -> None:
    # Given a version, then a rerun that changed one image's label
    root, _, first, second = _published(tmp_path)
    # When the second version's root COCO copies are read
    named = _coco_images(root, second)
    # Then every image is named where it is stored, from the dataset's root
    assert len(named) == len(BASE)
    for key, file_name in named.items():
        assert (root / file_name).is_file(), file_name
        # the relabeled image's pair was copied into the second version, the rest are shared
        expected = second if "/cam1/img5." in key else first
        assert file_name == f"files/{expected}/{key}"
    # And the version's own copy names the same images by dataset key
    plain = json.loads((root / "versions" / second / "exports/coco/train.json").read_text())
    assert all(image["file_name"] in named for image in plain["images"])


def test_the_root_manifests_name_stored_images_under_the_dataset_base(tmp_path: Path) -> None:
    # Given the same two versions
    root, _, first, second = _published(tmp_path)
    for name in ("rekognition.train.manifest", "sagemaker.train.manifest"):
        # When a root manifest of the second version is read
        lines = (root / f"{second}.{name}").read_text("utf-8").splitlines()
        # Then each source-ref is the base plus where the image is stored
        assert lines
        for text in lines:
            ref = json.loads(text)["source-ref"]
            assert ref.startswith(f"{EXPORT_BASE}files/{first}/") or ref.startswith(
                f"{EXPORT_BASE}files/{second}/"
            )
            assert (root / ref.removeprefix(EXPORT_BASE)).is_file()


def test_root_copies_are_collected_with_their_version(tmp_path: Path) -> None:
    # Given a version, then a second one published keeping one version
    mirror = _mirror(tmp_path / "mirror", list(BASE))
    root = tmp_path / "d" / "dataset"
    _convert(root, mirror, _lines(BASE), _version(1))
    assert (root / f"{_version(1)}.coco.train.json").is_file()
    edited = dict(BASE, **{"cam1/img5.jpg": [(0, 99)]})
    _convert(root, mirror, _lines(edited), _version(2), keep=1)
    # Then the first version's root copies are gone, and every image the second names is there
    assert not list(root.glob(f"{_version(1)}.*"))
    assert all((root / name).is_file() for name in _coco_images(root, _version(2)).values())
