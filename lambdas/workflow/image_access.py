"""Before converting: can the stack read the images the manifest names?

Manifests usually name images in the customer's own buckets, which the stack may read only when
deployed with `imageBuckets` (and, for SSE-KMS objects, `imageKmsKeys`); without it S3 refuses
every copy from there. So Convert first reads the head of
the manifest (one ranged GET), takes the first image of each bucket named there, and reads its
first byte (one ranged GET per bucket): S3 refusing access fails the conversion before anything
is written, with one error naming the bucket and the option to set. A bucket first named past
the head is caught by the copy itself (the image sink raises on the first refusal).
A missing image is not a refusal (the readers may list the sources, so S3 answers 404): it stays
a counted `image_not_found` rejection of its line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gt2yolo.fanout import RangedManifest
from gt2yolo.nesting import loads_bounded
from gt2yolo.storage import ReadDenied, S3Uri, SourceObjects

from workflow.errors import ImageAccessDenied

HEAD_BYTES = 1024 * 1024  # about 1,500 lines of a bounding-box manifest
MAX_PROBED_BUCKETS = 20
SOURCE_REF = "source-ref"
OPTION = "imageBuckets"
BUCKET_POLICY_OUTPUT = "ImageBucketPolicy"  # stacks.constructs.image_sources, + position
KEY_OPTION = "imageKmsKeys"


@dataclass(frozen=True)
class ImageAccess:
    """Where the stack lets the converters read images: its own bucket's images prefix (and
    manifests/, groundtruth/, which it reads anyway), and the `imageBuckets` entries."""

    stack_bucket: str
    images_prefix: str = "images/"
    sources: tuple[str, ...] = field(default_factory=tuple)  # "bucket" or "bucket/prefix"

    @classmethod
    def from_setting(cls, stack_bucket: str, images_prefix: str, setting: str) -> ImageAccess:
        entries = tuple(entry.strip() for entry in setting.split(",") if entry.strip())
        return cls(stack_bucket, images_prefix, entries)

    def buckets(self) -> list[str]:
        return list(dict.fromkeys(entry.partition("/")[0] for entry in self.sources))

    def prefixes_in(self, bucket: str) -> list[str]:
        return [prefix for name, _, prefix in map(_split, self.sources) if name == bucket]


def _split(entry: str) -> tuple[str, str, str]:
    return entry.partition("/")


def require_image_access(
    manifest: RangedManifest, access: ImageAccess, sources: SourceObjects
) -> int:
    """Raise ImageAccessDenied if S3 refuses an image of a bucket the manifest's head names;
    return how many buckets were probed."""
    first = first_image_per_bucket(manifest, HEAD_BYTES)
    for source in first.values():
        try:
            probe_image(sources, source)
        except ReadDenied as denied:
            raise access_denied(denied, access) from denied
    return len(first)


def probe_image(sources: SourceObjects, source: S3Uri) -> None:
    """Read the first byte of an image: raise ReadDenied if S3 refuses, return if it is
    readable or missing (a missing image stays a counted rejection).

    A GET, not a HEAD: it needs what a CopyObject from there needs (s3:GetObject, and kms:Decrypt
    for an SSE-KMS object); a HEAD of an SSE-KMS object succeeds without the key.
    """
    try:
        sources.read(str(source), max_bytes=1)
    except FileNotFoundError:
        return  # missing (or empty): the conversion counts it


def first_image_per_bucket(
    manifest: RangedManifest, head_bytes: int = HEAD_BYTES
) -> dict[str, S3Uri]:
    """The first image of each bucket named in the manifest's first `head_bytes` (lines that do
    not parse are the conversion's business: they are skipped here). An empty manifest names
    none."""
    first: dict[str, S3Uri] = {}
    for line in list(manifest.lines_between(0, head_bytes)):
        try:
            record = loads_bounded(line)
            source = S3Uri.parse(record[SOURCE_REF])
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        if source.key and source.bucket not in first:
            first[source.bucket] = source
            if len(first) == MAX_PROBED_BUCKETS:
                break
    return first


def access_denied(denied: ReadDenied, access: ImageAccess) -> ImageAccessDenied:
    """The one error a user reads: the bucket, what S3 said, and what to set."""
    bucket = denied.bucket
    said = f"S3 refused {denied.operation} of {denied.uri} ({denied.code})"
    fix = _fix(bucket, denied.key, access)
    return ImageAccessDenied(f"cannot read the images in bucket {bucket}: {said}. {fix}")


def _fix(bucket: str, key: str, access: ImageAccess) -> str:
    entry = _entry_for(bucket, key)
    deploy = f"`-c {OPTION}={','.join([*access.sources, entry])}`"
    if bucket == access.stack_bucket:
        return (
            f"The stack reads images of its own bucket under {access.images_prefix} (and next "
            f"to the manifests): move them there, or deploy with {deploy}"
        )
    prefixes = access.prefixes_in(bucket)
    if not prefixes:
        whole = f"`-c {OPTION}={','.join([*access.sources, bucket])}`"
        part = f" (or {entry} for that folder only)" if entry != bucket else ""
        return f"The stack may not read that bucket: deploy with {whole}{part}"
    if not any(key.startswith(prefix) for prefix in prefixes):
        allowed = ", ".join(f"{bucket}/{prefix}" for prefix in prefixes)
        return f"The stack may read only {allowed} there: deploy with {deploy}"
    position = access.buckets().index(bucket) + 1
    return (
        f"{OPTION} lists it, so the bucket or a key refused: if the bucket is in another "
        f"account, its owner adds the stack output {BUCKET_POLICY_OUTPUT}{position} to its "
        f"bucket policy; if its images are encrypted with a KMS key, deploy with "
        f"`-c {KEY_OPTION}=<key ARN>` (a key of another account must also allow the stack's "
        "roles: the stack output ImageKeyPolicyStatement)"
    )


def _entry_for(bucket: str, key: str) -> str:
    """What to add to imageBuckets for this image: its bucket's top folder, or the bucket."""
    folder, slash, _ = key.partition("/")
    return f"{bucket}/{folder}/" if slash and folder else bucket
