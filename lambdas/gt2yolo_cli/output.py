"""`gt2yolo convert --out DIR` on the local disk: the dataset appears whole, or DIR stays as it was.

The conversion writes into a new sibling folder, `.DIR.gt2yolo-<random>`, which takes DIR's
place only once the conversion succeeded. A failed run leaves DIR untouched and removes its
folder, except when it got as far as report.json (no line of a manifest converts): that
attempt is kept as `DIR.failed`, for its report.json and rejected.jsonl.

DIR may be missing, empty, or one of our datasets, which is then replaced whole: no label file
or image of the earlier dataset remains, nor anything else in that folder. One of our datasets
is a folder holding the marker file `.gt2yolo-dataset` (written into every dataset gt2yolo
writes locally) or, for datasets written before the marker existed or synced down from S3,
both data.yaml and a report.json with gt2yolo's keys. Any other non-empty folder is refused,
never deleted, and so is a DIR that holds one of the run's own inputs.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gt2yolo import ConversionError
from gt2yolo.nesting import loads_bounded
from gt2yolo.writers import DATA_YAML, REPORT_JSON

MARKER = ".gt2yolo-dataset"
MARKER_TEXT = (
    '{"written_by": "gt2yolo convert", "note": "a later gt2yolo convert --out into this folder '
    'replaces it whole"}\n'
)
FAILED_SUFFIX = ".failed"
# Keys every report.json gt2yolo ever wrote has: with data.yaml beside it, a dataset of ours.
REPORT_KEYS = frozenset({"images", "boxes", "rejected", "dropped_boxes", "label_attribute"})
# Of DIR's name in the staging folder's (a name of 250 bytes plus the suffix would not fit).
_NAME_CHARS = 40


@contextmanager
def staged_output(out: str, inputs: Sequence[str] = ()) -> Iterator[Path]:
    """A new folder to write the dataset into; it replaces `out` when the block succeeds.

    `inputs`: local files the run reads (manifests, label config, image folder), which must not
    lie inside `out`, as replacing it would delete them.
    """
    target = Path(out).resolve()  # through a symlink: the folder it names is replaced
    _require_replaceable(target, out, inputs)
    staging = _new_sibling(target)
    try:
        yield staging
    except ConversionError as exc:
        kept = _keep_failed(staging, target)
        if kept is None:
            raise
        raise ConversionError(f"{exc} (that attempt is in {kept}; {out} is unchanged)") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        _swap(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def is_our_dataset(folder: Path) -> bool:
    """Whether `folder` holds a dataset gt2yolo wrote (see the module's docstring)."""
    if (folder / MARKER).is_file():
        return True
    report, data_yaml = folder / REPORT_JSON, folder / DATA_YAML
    if not (report.is_file() and data_yaml.is_file()):
        return False
    try:
        document = loads_bounded(report.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and document.keys() >= REPORT_KEYS


def _require_replaceable(target: Path, out: str, inputs: Sequence[str]) -> None:
    for location in inputs:
        if target == Path(location).resolve() or target in Path(location).resolve().parents:
            raise ConversionError(
                f"--out {out} holds {location}, which the run reads: a successful run replaces "
                "--out whole; choose another --out"
            )
    if not target.exists():
        return
    if not target.is_dir():
        raise ConversionError(f"--out {out} is a file, not a folder")
    if any(target.iterdir()) and not is_our_dataset(target):
        raise ConversionError(
            f"--out {out} is a folder with other files, not a gt2yolo dataset (no {MARKER}, "
            f"nor {DATA_YAML} and gt2yolo's {REPORT_JSON}); nothing was changed: choose a new "
            "or empty folder"
        )


def _new_sibling(target: Path) -> Path:
    """A new empty folder beside `target` (same file system: renames never copy), with the marker.

    os.mkdir, not tempfile.mkdtemp: the dataset keeps the user's usual permissions (umask), not
    mkdtemp's owner-only 0o700.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        staging = target.with_name(f".{target.name[:_NAME_CHARS]}.gt2yolo-{secrets.token_hex(4)}")
        try:
            staging.mkdir()
        except FileExistsError:
            continue
        (staging / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
        return staging


def _swap(staging: Path, target: Path) -> None:
    """Put the finished dataset at `target`, moving any earlier one aside and then removing it.

    As atomic as a file system allows: POSIX rename(2) replaces a directory only if the new name
    is an empty directory, and Python offers no renameat2(RENAME_EXCHANGE); so the swap is two
    renames of sibling folders, each atomic. A reader sees the old dataset, then for the instant
    between the renames no folder, then the new one: never a mix of both. A crash between them
    leaves the old dataset whole beside it (`.DIR.gt2yolo-<random>-old`).
    """
    if not os.path.lexists(target):
        os.rename(staging, target)
        return
    old = staging.with_name(staging.name + "-old")
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)  # put the earlier dataset back
        raise
    # The new dataset is in place: a leftover of the old one must not fail the run.
    shutil.rmtree(old, ignore_errors=True)


def _keep_failed(staging: Path, target: Path) -> Path | None:
    """Keep a failed attempt that wrote its report as `DIR.failed`; None if it wrote none."""
    if not (staging / REPORT_JSON).is_file():
        shutil.rmtree(staging, ignore_errors=True)
        return None
    failed = target.with_name(target.name + FAILED_SUFFIX)
    try:
        if failed.is_dir() and is_our_dataset(failed):
            shutil.rmtree(failed)
        if not os.path.lexists(failed):
            os.rename(staging, failed)
            return failed
    except OSError:  # a name too long for `.failed`, permissions: keep it where it is
        pass
    return staging
