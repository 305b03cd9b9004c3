"""The export formats, their option syntax and where their files go."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from gt2yolo.errors import ConversionError
from gt2yolo.split import Split
from gt2yolo.task_types import LabelTask

# Below the dataset root (and, published, a version's own files: versions/<v>/exports/...).
EXPORTS_PREFIX = "exports/"


class ExportFormat(StrEnum):
    COCO = "coco"
    REKOGNITION = "rekognition"
    SAGEMAKER = "sagemaker"

    @property
    def needs_base(self) -> bool:
        """Whether its files name images by S3 URI (where the dataset is, or will be synced)."""
        return self is not ExportFormat.COCO


def parse_exports(values: Iterable[str]) -> tuple[ExportFormat, ...]:
    """`["coco", "rekognition"]` or `["coco,rekognition"]` -> the formats, in the given order,
    once each; raises ConversionError naming the known ones for anything else."""
    found: list[ExportFormat] = []
    for value in values:
        for part in value.split(","):
            name = part.strip().lower()
            if not name or name == "none":
                continue
            try:
                export = ExportFormat(name)
            except ValueError:
                known = ", ".join(f.value for f in ExportFormat)
                raise ConversionError(f"unknown export {name!r} (known: {known})") from None
            if export not in found:
                found.append(export)
    return tuple(found)


def check_base(base: str | None, exports: Iterable[ExportFormat]) -> str | None:
    """The S3 folder the exports' image URIs start with, `s3://bucket/prefix/`; a
    ConversionError when an export that needs one has none, or it is no S3 folder."""
    needing = [e.value for e in exports if e.needs_base]
    if base is None:
        if needing:
            raise ConversionError(
                f"the {', '.join(needing)} export names images by S3 URI: give --export-base "
                "s3://BUCKET/PREFIX/ (where this dataset will be synced)"
            )
        return None
    if not base.startswith("s3://") or len(base) <= len("s3://") or base[5] == "/":
        raise ConversionError(f"--export-base {base!r}: not an s3://BUCKET/PREFIX/ URI")
    return base if base.endswith("/") else base + "/"


def export_folder(export: ExportFormat) -> str:
    return f"{EXPORTS_PREFIX}{export}/"


@dataclass(frozen=True)
class ExportContext:
    """What every export writer of one conversion knows besides its records."""

    classes: tuple[str, ...]
    task: LabelTask
    splits: tuple[Split, ...]
    # `s3://bucket/prefix/`: where the dataset is (or will be synced); None for COCO alone.
    base: str | None = None
    # The dataset version (published datasets): COCO's info, the manifests' creation-date.
    version: str | None = None

    def uri(self, key: str) -> str:
        """An image's S3 URI in the dataset (`images/train/a.jpg` -> `s3://b/p/images/...`)."""
        assert self.base is not None, "check_base() first"
        return self.base + key

    @property
    def created(self) -> str:
        """The manifests' creation-date: the version's time (a version id begins with it), so
        the same input gives the same bytes; the epoch where there is no version."""
        if self.version and len(self.version) >= 16:
            v = self.version
            return f"{v[0:4]}-{v[4:6]}-{v[6:8]}T{v[9:11]}:{v[11:13]}:{v[13:15]}"
        return "1970-01-01T00:00:00"
