"""Where an image and its label file go inside the dataset.

An image's dataset path is its `bucket/key` relative to the longest common folder of all
source-refs: subfolders are kept (so `a/x.jpg` and `b/x.jpg` never collide) and nothing can point
outside the dataset folder. Images that would still share a label file (`x.jpg` beside `x.png`,
`Cat.jpg` beside `cat.jpg`) are told apart by `numbered_path` (the rule is in `names`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from enum import StrEnum

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
    body = source_ref[len(S3_SCHEME) :]
    segments = tuple(body.split("/"))
    if len(segments) < 2 or not segments[0] or not segments[-1]:
        raise InvalidSourceRef(f"needs s3://bucket/key naming a file: {shown(source_ref)}")
    # Printable ASCII (nearly every real key) can't hold control characters or line breaks.
    plain = source_ref.isascii() and source_ref.isprintable()
    # No segment empty (the ends are checked above), none starting with `.`: nothing to find.
    clear = plain and "//" not in body and "/." not in body and not body.startswith(".")
    for segment in () if clear else segments:
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
    last = len(relative) - 1
    return "/".join(_safe_segment(s, i < last) for i, s in enumerate(relative))


def plain_key(body: str) -> bool:
    """A key (`bucket/key`) that source_ref_segments accepts and dataset_path leaves as it is: no
    empty, `.` or `..` segment, nothing hidden, no folder ending in `.`, no `images` anywhere.
    Below a common folder its dataset path is then the key's rest, as it stands."""
    return (
        "/" in body
        and not body.startswith(("/", "."))
        and not body.endswith("/")
        and "//" not in body
        and "/." not in body
        and "./" not in body
        and RESERVED_SEGMENT not in body
    )


def folder_prefix(common: Sequence[str]) -> str:
    """`dataset_path` of the common folder itself, with a trailing `/` ("" for none): a dataset
    path below it, appended, gives `dataset_path(segments, ())`."""
    return "".join(_safe_segment(s, True) + "/" for s in common)


def _safe_segment(segment: str, is_folder: bool) -> str:
    if segment == RESERVED_SEGMENT:
        segment = RESERVED_SEGMENT_REWRITE
    # Folder readers glob (`**/*.*`: Ultralytics, Python's glob), which skips hidden names.
    if segment.startswith("."):
        segment = "_" + segment
    # Ultralytics expands a list entry's leading `./` with `str.replace`, which replaces *every*
    # `./`: a folder name ending in `.` (`Acme Inc./x.jpg`) would point elsewhere.
    if is_folder and segment.endswith("."):
        segment += "_"
    return segment


def label_path(image_path: str) -> str:
    """`a/img.v2.final.jpg` -> `a/img.v2.final.txt`: only the last extension goes."""
    folder, _, name = image_path.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{folder}/{stem}.txt" if folder else f"{stem}.txt"


# The longest file or folder name most file systems hold (ext4, APFS, NTFS: 255 bytes or units).
NAME_MAX = 255


def longest_name(*paths: str) -> int | None:
    """The byte length of the longest name in the paths when one exceeds NAME_MAX, else None."""
    # A UTF-8 character is 1 to 4 bytes: most paths are shown short enough without encoding.
    if all(len(p) <= NAME_MAX and (p.isascii() or len(p) <= NAME_MAX // 4) for p in paths):
        return None
    longest = max(len(name.encode()) for path in paths for name in path.split("/"))
    return longest if longest > NAME_MAX else None


RENAME_MARK = "~"


def numbered_path(image_path: str, number: int) -> str:
    """`a/x.png`, 2 -> `a/x~2.png`; `a/z`, 3 -> `a/z~3`: the number goes before the extension.

    Not `x.png.png`: Darknet (AlexeyAB) replaces an extension only where it first occurs, so a
    name holding its extension twice would make the image its own label file.
    """
    folder, slash, name = image_path.rpartition("/")
    stem, dot, extension = name.rpartition(".") if "." in name else (name, "", "")
    return f"{folder}{slash}{stem}{RENAME_MARK}{number}{dot}{extension}"


def name_key(path: str) -> str:
    """What a case-insensitive file system compares: case folded, canonically decomposed.

    Windows and macOS checkouts hold `Cat.txt` and `cat.txt` as one file; macOS also holds the
    composed and decomposed spellings of `é` as one name.
    """
    if path.isascii():
        return path.lower()
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", path).casefold())


class Layout(StrEnum):
    """`folders`: `images/<split>/<path>` keeps the source folders; `flat`: every file directly in
    `images/<split>/`, its folders encoded in its name (`flat_path`), for tools that don't recurse."""

    FOLDERS = "folders"
    FLAT = "flat"


# The flat layout: a path's folders are kept in its one file name, reversibly (unquote).
FLAT_ESCAPES = (("%", "%25"), ("/", "%2F"))


def flat_path(path: str) -> str:
    """`a/b/x.jpg` -> `a%2Fb%2Fx.jpg`; `100%/x.jpg` -> `100%25%2Fx.jpg`."""
    for character, escape in FLAT_ESCAPES:
        path = path.replace(character, escape)
    return path


def unflat_path(name: str) -> str:
    """The inverse of `flat_path` (what `urllib.parse.unquote` gives for such names)."""
    for character, escape in reversed(FLAT_ESCAPES):
        name = name.replace(escape, character)
    return name
