"""Where an image and its label file go inside the dataset.

An image's dataset path is its `bucket/key` relative to the longest common folder of all
source-refs: subfolders are kept (so `a/x.jpg` and `b/x.jpg` never collide) and nothing can point
outside the dataset folder.
"""

from __future__ import annotations

from collections.abc import Sequence

from gt2yolo.excerpts import shown

S3_SCHEME = "s3://"
# File systems name a file or folder in at most 255 bytes (ext4, XFS, Btrfs, APFS; NTFS 255
# UTF-16 units). 250 leaves room for the label file's `.txt` and the `_` a dataset path may add.
MAX_NAME_BYTES = 250
# S3 keys are at most 1024 bytes (UTF-8), so no real image has a longer one; it also keeps
# `<out>/images/<split>/<path>` well below Linux's 4096-byte limit on a whole path.
MAX_KEY_BYTES = 1024
# Ultralytics finds a label by replacing the *last* `/images/` of the image path with `/labels/`,
# Darknet the *first*: an inner folder named `images` would send them to different places.
RESERVED_SEGMENT = "images"
RESERVED_SEGMENT_REWRITE = "images_"


class InvalidSourceRef(ValueError):
    """A source-ref that is not `s3://bucket/key` naming a file."""


class UnsafeSourceRef(InvalidSourceRef):
    """A source-ref with a segment no file system can hold, or that would leave its folder."""


def source_ref_segments(source_ref: str) -> tuple[str, ...]:
    """`s3://bucket/a/b.jpg` -> ("bucket", "a", "b.jpg"), refusing unsafe parts."""
    if not source_ref.startswith(S3_SCHEME):
        raise InvalidSourceRef(f"not an s3:// URI: {shown(source_ref)}")
    if not source_ref.isascii():
        try:
            source_ref.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800"): no file can be named so
            raise UnsafeSourceRef(f"not encodable as UTF-8: {shown(source_ref)}") from None
    segments = tuple(source_ref[len(S3_SCHEME) :].split("/"))
    if len(segments) < 2 or not segments[0] or not segments[-1]:
        raise InvalidSourceRef(f"needs s3://bucket/key naming a file: {shown(source_ref)}")
    # Printable ASCII (nearly every real key) can't hold control characters or line breaks.
    plain = source_ref.isascii() and source_ref.isprintable()
    for segment in segments:
        if segment in ("", ".", ".."):
            raise UnsafeSourceRef(f"path segment {segment!r} would leave its folder")
        # Image lists are read with str.splitlines(), which also breaks on U+0085, U+2028, ...
        if plain:
            continue
        if any(ord(ch) < 0x20 for ch in segment) or segment.splitlines() != [segment]:
            raise UnsafeSourceRef("control character or line break in path")
    # Length in characters first: a source-ref of at most MAX_NAME_BYTES bytes fits both limits.
    if len(source_ref) > (MAX_NAME_BYTES if plain else MAX_NAME_BYTES // 4):
        _require_storable_lengths(segments)
    return segments


def _require_storable_lengths(segments: Sequence[str]) -> None:
    sizes = [len(segment.encode()) for segment in segments]
    key_bytes = sum(sizes[1:]) + len(sizes) - 2  # the key: segments after the bucket, `/` between
    if key_bytes > MAX_KEY_BYTES:
        raise UnsafeSourceRef(
            f"key of {key_bytes} bytes in {len(segments) - 1} parts: S3 keys, and the dataset's "
            f"paths, hold at most {MAX_KEY_BYTES}"
        )
    for segment, size in zip(segments, sizes, strict=True):
        if size > MAX_NAME_BYTES:
            raise UnsafeSourceRef(
                f"a name of {size} bytes ({shown(segment)}): file systems allow 255, "
                f"gt2yolo {MAX_NAME_BYTES} (room for .txt)"
            )


def common_folder(current: tuple[str, ...] | None, segments: Sequence[str]) -> tuple[str, ...]:
    """Fold one more source-ref into the common folder (file name excluded)."""
    folder = tuple(segments[:-1])
    if current is None:
        return folder
    length = 0
    for mine, theirs in zip(current, folder, strict=False):
        if mine != theirs:
            break
        length += 1
    return current[:length]


def dataset_path(segments: Sequence[str], common: Sequence[str]) -> str:
    """The image's path under `images/<split>/`, relative to the common folder."""
    relative = segments[len(common) :]
    path = "/".join(RESERVED_SEGMENT_REWRITE if s == RESERVED_SEGMENT else s for s in relative)
    # Ultralytics expands a list entry's leading `./` with `str.replace`, which replaces *every*
    # `./`: a folder name ending in `.` (`Acme Inc./x.jpg`) would point elsewhere.
    return path.replace("./", "._/")


def label_path(image_path: str) -> str:
    """`a/img.v2.final.jpg` -> `a/img.v2.final.txt`: only the last extension goes."""
    folder, _, name = image_path.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{folder}/{stem}.txt" if folder else f"{stem}.txt"
