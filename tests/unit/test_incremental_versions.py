"""Incremental versions: a rerun writes only what changed, and its version is byte for byte the
dataset a conversion into an empty folder writes (Hypothesis: random edits of a manifest).

A version is read the way users read it: its entry files (data.yaml -> lists -> files) and
`materialize` (every file at its dataset key).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from gt2yolo import ConversionOptions
from gt2yolo.classes import class_list_from_label_config
from gt2yolo.errors import ConversionError
from gt2yolo.incremental import Baseline, VersionResult, convert_version
from gt2yolo.split import SplitFractions
from gt2yolo.storage import LocalManifest, LocalStorage, MirrorImageSink, S3Mirror
from gt2yolo.versions import (
    INDEX_NAME,
    POINTER,
    Stored,
    VersionedStorage,
    collect_garbage,
    dump_index,
    label_of,
    load_index,
    materialize,
    new_version_id,
    publish_version,
    read_pointer,
    version_key,
)
from gt_builders import PREFIX, box, label_config, line, ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CLASSES = ("cat", "dog", "bird")


def _options() -> ConversionOptions:
    return ConversionOptions(
        class_list=class_list_from_label_config(label_config(*CLASSES), "config.json"),
        fractions=SplitFractions(val=0.25, test=0.0),
    )


def _version(n: int) -> str:
    return new_version_id(datetime(2026, 12, 2, 8, 0, n, tzinfo=UTC), token=f"{n:06x}")


class Dataset:
    """A published dataset in a local folder, with the bucket mirror its images come from."""

    def __init__(self, root: Path, mirror: Path) -> None:
        self.root = root
        self.objects = LocalStorage(root)
        self.mirror = S3Mirror(mirror)

    def convert(self, lines: Sequence[str], version: str, keep: int = 3) -> VersionResult:
        # One manifest path for every dataset: its name is in images.csv and report.json.
        manifest = self.root.parent.parent / "output.manifest"
        manifest.write_text("".join(f"{entry}\n" for entry in lines), encoding="utf-8")
        storage = LocalStorage(self.root)
        result = convert_version(
            [LocalManifest(manifest)], self.objects, storage, _options(), version,
            Baseline.of(self.objects), MirrorImageSink(self.mirror, storage),
        )  # fmt: skip
        publish_version(self.objects, version, keep, job_name="job")
        return result

    def files(self, version: str | None = None) -> dict[str, bytes]:
        return dict(materialize(self.objects, version))


def _mirror(root: Path, paths: Sequence[str]) -> Path:
    prefix = PREFIX.removeprefix("s3://")
    for path in paths:
        target = root / prefix / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f"image {path}".encode())
    return root


def _lines(images: dict[str, list[tuple[int, int]]]) -> list[str]:
    """{image path: [(class id, left)]} -> manifest lines, in path order."""
    return [
        line(ref(path), [box(class_id, left=left) for class_id, left in boxes])
        for path, boxes in images.items()
    ]


@pytest.fixture
def images(tmp_path: Path) -> list[str]:
    paths = [f"cam{i % 2}/img{i}.jpg" for i in range(40)] + ["new/late.jpg", "moved/img3.jpg"]
    _mirror(tmp_path / "mirror", paths)
    return paths


def _dataset(tmp_path: Path, name: str) -> Dataset:
    return Dataset(tmp_path / name / "dataset", tmp_path / "mirror")


BASE = {f"cam{i % 2}/img{i}.jpg": [(i % 3, 10 + i)] for i in range(40)}


def test_a_rerun_with_one_label_changed_writes_that_label_file_its_image_and_the_tables(
    tmp_path: Path, images: list[str]
) -> None:
    dataset = _dataset(tmp_path, "a")
    first = dataset.convert(_lines(BASE), _version(1))
    assert (first.written, first.reused) == (80, 0)  # 40 label files, 40 images
    edited = dict(BASE, **{"cam1/img5.jpg": [(0, 99)]})
    second = dataset.convert(_lines(edited), _version(2))
    # The label file, and its image copied beside it (readers look for labels there)
    assert (second.written, second.reused) == (2, 78)
    stored = dataset.root / "files" / _version(2)
    written = sorted(p.relative_to(stored).as_posix() for p in stored.rglob("*") if p.is_file())
    split = _split_of(dataset, "cam1/img5")
    assert written == [f"images/{split}/cam1/img5.jpg", f"labels/{split}/cam1/img5.txt"]


def _split_of(dataset: Dataset, stem: str) -> str:
    for key in dataset.files():
        if key.startswith("labels/") and key.endswith(f"/{stem}.txt"):
            return key.split("/")[1]
    raise AssertionError(stem)


def test_a_moved_or_new_image_is_copied_a_gone_one_is_no_longer_named(
    tmp_path: Path, images: list[str]
) -> None:
    dataset = _dataset(tmp_path, "a")
    dataset.convert(_lines(BASE), _version(1))
    edited = {k: v for k, v in BASE.items() if k != "cam0/img0.jpg"}
    edited["new/late.jpg"] = [(1, 5)]
    edited["moved/img3.jpg"] = edited.pop("cam1/img3.jpg")
    result = dataset.convert(_lines(edited), _version(2))
    # late.jpg and img3 at their new keys: an image and a label file each.
    assert result.written == 4
    files = dataset.files()
    assert not any("img0." in key for key in files)
    assert any(key.endswith("moved/img3.jpg") for key in files)


def test_the_same_input_again_writes_no_dataset_file(tmp_path: Path, images: list[str]) -> None:
    dataset = _dataset(tmp_path, "a")
    dataset.convert(_lines(BASE), _version(1))
    again = dataset.convert(_lines(BASE), _version(2))
    assert (again.written, again.reused) == (0, 80)
    assert dataset.files(_version(2)) == _replace_version(dataset.files(_version(1)), 1, 2)


def _replace_version(files: dict[str, bytes], old: int, new: int) -> dict[str, bytes]:
    return {k: v.replace(_version(old).encode(), _version(new).encode()) for k, v in files.items()}


# --- the equivalence: random edits, incremental == full -----------------------------------

_EDIT = st.sampled_from(["keep", "keep", "keep", "relabel", "drop", "move", "empty", "reclass"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(_EDIT, min_size=40, max_size=40),
    added=st.booleans(),
    collide=st.booleans(),
    shuffle=st.randoms(use_true_random=False),
)
def test_incremental_equals_full_for_random_edits(
    tmp_path_factory: pytest.TempPathFactory,
    edits: list[str],
    added: bool,
    collide: bool,
    shuffle: object,
) -> None:
    tmp = tmp_path_factory.mktemp("eq")
    others = ["new/late.jpg", "CAM1/img1.jpg", *(f"moved/img{i}.jpg" for i in range(40))]
    _mirror(tmp / "mirror", [*BASE, *others])
    edited: dict[str, list[tuple[int, int]]] = {}
    for (path, boxes), edit in zip(BASE.items(), edits, strict=True):
        number = int(path.rsplit("img", 1)[1].split(".")[0])
        if edit == "keep":
            edited[path] = boxes
        elif edit == "relabel":
            edited[path] = [(c, left + 7) for c, left in boxes]
        elif edit == "move":
            edited[f"moved/img{number}.jpg"] = boxes
        elif edit == "empty":
            edited[path] = []
        elif edit == "reclass":
            edited[path] = [((c + 1) % 3, left) for c, left in boxes]
    if added:
        edited["new/late.jpg"] = [(2, 1), (0, 3)]
    if collide:  # a name differing only by case: both are renamed, the old one moves
        edited["CAM1/img1.jpg"] = [(1, 9)]
    order = list(edited.items())
    shuffle.shuffle(order)  # type: ignore[attr-defined]
    lines = _lines(dict(order))

    incremental = _dataset(tmp, "incremental")
    incremental.convert(_lines(BASE), _version(1))
    rerun = incremental.convert(lines, _version(2))
    full = _dataset(tmp, "full")
    once = full.convert(lines, _version(2))

    assert incremental.files() == full.files()
    # Every version file too: the entry files users train from, the index.
    assert _own_files(incremental, _version(2)) == _own_files(full, _version(2))
    changed = sum(1 for e in edits if e not in {"keep", "drop"}) * 2 + (4 if added else 0)
    changed += 4 if collide else 0
    assert rerun.written <= changed
    assert rerun.written + rerun.reused == once.written
    _entry_lists_resolve(incremental)


def _own_files(dataset: Dataset, version: str) -> dict[str, bytes]:
    own = version_key(version)
    return {
        key[len(own) :]: dataset.objects.read_bytes(key) or b""
        for key in dataset.objects.list_keys(own)
        if not key.endswith(INDEX_NAME)
    }


def _entry_lists_resolve(dataset: Dataset) -> None:
    """data.yaml -> its lists -> every listed image and the label file beside it, as
    Ultralytics finds them (`./` relative to the list's folder; the last `/images/` of the
    image's path replaced by `/labels/`), are the current version's image and label file."""
    files = dataset.files()
    document = yaml.safe_load((dataset.root / "data.yaml").read_text())
    assert "path" not in document
    read = 0
    for split in ("train", "val"):
        listed = (dataset.root / document[split]).read_text().splitlines()
        for entry in listed:
            assert entry.startswith("./files/")
            image = dataset.root / entry[2:]
            key = entry.split("/", 3)[3]  # ./files/<v>/images/...
            assert image.read_bytes() == files[key], entry
            head, _, tail = str(image).rpartition("/images/")
            label = Path(f"{head}/labels/{tail}").with_suffix(".txt")
            assert label.read_bytes() == files[label_of(key)], label
            read += 1
    assert read == len([key for key in files if key.startswith("images/")])


# --- the flip and the versions kept ---------------------------------------------------------


def test_the_pointer_names_the_new_version_and_keeps_the_last_n(
    tmp_path: Path, images: list[str]
) -> None:
    dataset = _dataset(tmp_path, "a")
    for n in range(1, 5):
        dataset.convert(_lines(dict(BASE, **{"cam0/img0.jpg": [(0, n)]})), _version(n), keep=2)
    pointer = read_pointer(dataset.objects)
    assert pointer is not None
    assert pointer.versions == (_version(4), _version(3))
    versions = sorted(p.name for p in (dataset.root / "versions").iterdir())
    assert versions == [_version(3), _version(4)]
    assert sorted(p.name for p in (dataset.root / "files").iterdir()) == [
        _version(1),
        _version(3),
        _version(4),
    ]  # fmt: skip   version 1's files are still named by 3 and 4; 2's only label is gone
    assert not list(dataset.root.glob(f"{_version(1)}.*"))
    dataset.files(_version(3))  # every file a kept version names is there


def test_a_crashed_runs_version_is_deleted_at_the_next_flip(
    tmp_path: Path, images: list[str]
) -> None:
    dataset = _dataset(tmp_path, "a")
    dataset.convert(_lines(BASE), _version(1))
    crashed = _version(2)
    dataset.objects.write_bytes(f"files/{crashed}/labels/train/x.txt", b"0 0.5 0.5 0.1 0.1\n")
    dataset.objects.write_bytes(version_key(crashed, "annot.csv"), b"partial")
    with pytest.raises(ConversionError, match="not complete"):
        publish_version(dataset.objects, crashed)
    dataset.convert(_lines(BASE), _version(3))
    assert not (dataset.root / "files" / crashed).exists()
    assert not (dataset.root / "versions" / crashed).exists()


def test_garbage_collection_keeps_every_file_a_kept_version_names(
    tmp_path: Path, images: list[str]
) -> None:
    dataset = _dataset(tmp_path, "a")
    dataset.convert(_lines(BASE), _version(1))
    dataset.convert(_lines(BASE), _version(2))
    own = list(dataset.objects.list_keys(version_key(_version(1))))
    entry = list(dataset.root.glob(f"{_version(1)}.*"))
    files_before = len(list(dataset.objects.list_keys(f"files/{_version(1)}/")))
    assert collect_garbage(dataset.objects, [_version(2)]) == len(own) + len(entry)
    assert len(list(dataset.objects.list_keys(f"files/{_version(1)}/"))) == files_before == 80
    # Version 1's own files are gone, its dataset files stay: version 2 names all of them.
    assert not (dataset.root / "versions" / _version(1)).exists()
    assert len(dataset.files(_version(2))) > 80


def test_keep_must_be_at_least_one(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        publish_version(LocalStorage(tmp_path), _version(1), keep=0)


def test_the_stable_data_yaml_is_the_current_versions_entry_file(
    tmp_path: Path, images: list[str]
) -> None:
    dataset = _dataset(tmp_path, "a")
    dataset.convert(_lines(BASE), _version(1))
    dataset.convert(_lines(dict(BASE, **{"cam0/img0.jpg": []})), _version(2))
    stable = (dataset.root / "data.yaml").read_text()
    assert stable == (dataset.root / f"{_version(2)}.yaml").read_text()
    document = yaml.safe_load(stable)
    assert document["train"] == f"{_version(2)}.train.txt"
    assert document["names"] == dict(enumerate(CLASSES))
    darknet = (dataset.root / "obj.data").read_text()
    assert f"train = {_version(2)}.train.txt" in darknet
    assert f"names = versions/{_version(2)}/classes.txt" in darknet
    report = json.loads(dataset.files()["report.json"])
    assert report["version"] == _version(2)
    pointer = json.loads((dataset.root / POINTER).read_text())
    assert pointer["version"] == _version(2) and pointer["data"] == f"{_version(2)}.yaml"


# --- the index ------------------------------------------------------------------------------


@given(
    st.dictionaries(
        st.text(min_size=1).filter(lambda k: "\x00" not in k),
        st.tuples(
            st.just(_version(1)), st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
        ),
        max_size=20,
    )
)
def test_the_index_round_trips_any_key(entries: dict[str, tuple[str, str]]) -> None:
    index = {k: Stored(*v) for k, v in entries.items()}
    data = dump_index(index)
    assert load_index(data) == index
    assert dump_index(load_index(data)) == data  # the same entries, the same bytes


def test_an_unreadable_index_is_a_clear_error() -> None:
    with pytest.raises(ConversionError, match="version index is unreadable"):
        load_index(b"not gzip")


def test_label_files_written_from_threads_are_all_recorded(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = VersionedStorage(LocalStorage(tmp_path), _version(1), None)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: store.write_bytes(f"labels/train/{i}.txt", b"x"), range(500)))
    assert store.written == 500 and len(store.entries) == 500


@pytest.mark.parametrize(
    ("image", "label"),
    [
        ("images/train/a/x.jpg", "labels/train/a/x.txt"),
        ("images/val/frame.v2.final.png", "labels/val/frame.v2.final.txt"),
        ("images/train/a.b/x.jpeg", "labels/train/a.b/x.txt"),
        ("images/test/noext", "labels/test/noext.txt"),
    ],
)
def test_a_label_file_is_found_where_ultralytics_looks_for_it(image: str, label: str) -> None:
    assert label_of(image) == label


def test_gt2yolo_report_reads_a_synced_published_dataset_through_its_current_version(
    tmp_path: Path, images: list[str]
) -> None:
    from gt2yolo_cli.main import main

    dataset = _dataset(tmp_path, "a")
    dataset.convert(_lines(BASE), _version(1))
    dataset.convert(_lines(dict(BASE, **{"cam0/img0.jpg": []})), _version(2))
    assert main(["report", str(dataset.root), "--previews", "5"]) == 0
    page = dataset.root / "versions" / _version(2) / "report.html"
    assert page.is_file()
    assert "report.html" not in {p.name for p in dataset.root.iterdir()}


def test_a_dataset_written_in_place_before_versions_is_removed_at_its_first_flip(
    tmp_path: Path, images: list[str]
) -> None:
    # Given a dataset folder as gt2yolo wrote it before versions (tables and folders in place)
    dataset = _dataset(tmp_path, "a")
    for key in ("data.yaml", "annot.csv", "train.txt", "images/train/cam0/old.jpg",
                "labels/train/cam0/old.txt", "previews/train/cam0/old.jpg", "_SUCCESS"):  # fmt: skip
        dataset.objects.write_bytes(key, b"old")
    # When the first version is published there
    dataset.convert(_lines(BASE), _version(1))
    # Then only the version, its entry files and the markers are left
    left = {
        p.relative_to(dataset.root).as_posix().split("/")[0]
        for p in dataset.root.rglob("*")
        if p.is_file()
    }
    assert left == {
        "current.json", "data.yaml", "obj.data", "_SUCCESS", "files", "versions",
        f"{_version(1)}.yaml", f"{_version(1)}.obj.data", f"{_version(1)}.train.txt",
        f"{_version(1)}.val.txt",
    }  # fmt: skip
    assert dataset.files()["annot.csv"] != b"old"
    _entry_lists_resolve(dataset)


def test_a_damaged_index_of_the_current_version_makes_the_next_one_write_everything(
    tmp_path: Path, images: list[str]
) -> None:
    dataset = _dataset(tmp_path, "a")
    dataset.convert(_lines(BASE), _version(1))
    dataset.objects.write_bytes(version_key(_version(1), INDEX_NAME), b"damaged")
    rerun = dataset.convert(_lines(BASE), _version(2))
    assert (rerun.written, rerun.reused, rerun.previous) == (80, 0, None)
    _entry_lists_resolve(dataset)


def test_collection_keeps_every_dataset_file_when_a_kept_index_is_unreadable(
    tmp_path: Path, images: list[str]
) -> None:
    dataset = _dataset(tmp_path, "a")
    dataset.convert(_lines(BASE), _version(1))
    dataset.convert(_lines(dict(BASE, **{"cam0/img0.jpg": []})), _version(2), keep=2)
    # version 2 (kept at the next flip) names most of version 1's files: its index is lost
    dataset.objects.write_bytes(version_key(_version(2), INDEX_NAME), b"damaged")
    dataset.convert(_lines(BASE), _version(3), keep=2)  # evicts version 1
    assert not (dataset.root / "versions" / _version(1)).exists()
    assert len(list(dataset.objects.list_keys(f"files/{_version(1)}/"))) == 80
