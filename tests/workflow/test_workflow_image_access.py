"""The image probe on fakes: a refused bucket fails before any write, a missing image does not."""

from __future__ import annotations

import pytest
from gt2yolo.memory_store import MemoryObjects, MemorySources
from gt2yolo.storage import StoredManifest
from workflow.convert import ConvertSettings, convert_request
from workflow.errors import ImageAccessDenied
from workflow.image_access import ImageAccess, require_image_access
from workflow.models import ConversionRequest
from workflow_fakes import BUCKET, box_line, memory_ports


def _manifest(objects: MemoryObjects, *refs: str) -> StoredManifest:
    objects.put(f"s3://{BUCKET}/m.manifest", "".join(box_line(r) + "\n" for r in refs))
    return StoredManifest(objects.at(f"s3://{BUCKET}/"), "m.manifest")


def test_one_image_per_bucket_is_probed_and_missing_or_empty_ones_pass() -> None:
    objects = MemoryObjects()
    objects.put("s3://customer/a.jpg", b"")
    manifest = _manifest(
        objects, "s3://customer/a.jpg", "s3://customer/b.jpg", f"s3://{BUCKET}/gone.jpg"
    )
    assert require_image_access(manifest, ImageAccess(BUCKET), MemorySources(objects)) == 2


def test_a_refused_bucket_names_the_option_to_set() -> None:
    objects = MemoryObjects(denied={"customer"})
    manifest = _manifest(objects, "s3://customer/cats/a.jpg")
    with pytest.raises(ImageAccessDenied, match="-c imageBuckets=customer`"):
        require_image_access(manifest, ImageAccess(BUCKET), MemorySources(objects))


def test_convert_refused_by_an_image_bucket_writes_nothing(
    objects: MemoryObjects, request_: ConversionRequest
) -> None:
    objects.put(request_.manifest_uri, box_line("s3://customer/cats/a.jpg", [(0, 1, 1, 5, 5)]))
    objects.denied.add("customer")  # a bucket the stack was not deployed to read
    with pytest.raises(ImageAccessDenied, match="cannot read the images in bucket customer"):
        convert_request(request_, ConvertSettings(BUCKET), memory_ports(objects))
    assert objects.keys(f"s3://{BUCKET}/datasets/") == []
