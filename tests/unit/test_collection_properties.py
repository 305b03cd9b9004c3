"""Collections, as properties (Hypothesis): the order in which members' completions arrive never
changes the dataset, and a dataset grown version by version is the full conversion of its
members."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from collection_builders import OPTIONS, entry, labels_by_name, tree
from gt2yolo import convert_manifests
from gt2yolo.collection import (
    CollectionDefinition,
    Member,
    MemberInput,
    Membership,
    collection_input,
)
from gt2yolo.incremental import Baseline, convert_version
from gt2yolo.storage import LocalStorage, MirrorImageSink, S3Mirror
from gt2yolo.task_types import LabelTask
from gt2yolo.versions import materialize, new_version_id, publish_version
from gt_builders import PREFIX, box, record, ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

POOL = ("bolt", "nut", "washer", "screw")
START = datetime(2026, 3, 1, tzinfo=UTC)


@st.composite
def _member(draw: st.DrawFn, number: int) -> MemberInput:
    name = f"parts-batch-{number}"
    classes = draw(st.permutations(POOL).map(lambda p: p[: draw(st.integers(1, len(POOL)))]))
    images = draw(st.lists(st.integers(0, 7), min_size=1, max_size=5, unique=True))
    lines = []
    for image in images:
        positions = draw(st.lists(st.integers(0, len(classes) - 1), max_size=3))
        named = draw(st.booleans())  # Ground Truth's class-map, or none: the member's config names
        class_map = {str(p): classes[p] for p in positions} if named else None
        left = draw(st.integers(0, 300))
        boxes = [box(p, left=left + 5 * i) for i, p in enumerate(positions)]
        lines.append(record(ref(f"img{image}.jpg"), boxes, attr=name, class_map=class_map))
    hours = draw(st.integers(0, 4))  # ties among members: the name orders them
    job = Member(
        name, f"s3://bucket/groundtruth/{name}/output.manifest",
        (START + timedelta(hours=hours)).isoformat(), name, LabelTask.BOUNDING_BOX,
    )  # fmt: skip
    member_input: MemberInput = entry(job, lines, classes)
    return member_input


@st.composite
def _members(draw: st.DrawFn, most: int = 4) -> list[MemberInput]:
    count = draw(st.integers(1, most))
    return [draw(_member(n)) for n in range(count)]


def _fold(
    out: Path, arrivals: Sequence[MemberInput], definition: CollectionDefinition
) -> tuple[str, ...]:
    """Each arrival publishes a version (into `out`, replaced): the membership grows by one
    member and the union is converted after the previous version's classes. The last classes."""
    by_name = {m.member.name: m for m in arrivals}
    state = Membership(definition.name)
    previous: tuple[str, ...] = ()
    for arrival in arrivals:
        state = state.with_member(arrival.member)
        members = [
            MemberInput(m, by_name[m.name].source, by_name[m.name].config) for m in state.members
        ]
        given = collection_input(definition, members, OPTIONS, previous)
        _clear(out)
        convert_manifests(given.sources, LocalStorage(out), given.options)
        state = given.membership()
        previous = given.classes
    return previous


def _clear(root: Path) -> None:
    if root.exists():
        for path in sorted(root.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members=_members(), order=st.randoms(use_true_random=False), pin=st.booleans())
def test_any_order_of_completions_gives_the_same_dataset_for_on_overlap_latest(
    members: list[MemberInput], order: Any, pin: bool
) -> None:
    definition = CollectionDefinition("parts", ("parts-batch-*",), classes=POOL if pin else ())
    arrivals = list(members)
    order.shuffle(arrivals)
    in_completion_order = sorted(members, key=lambda m: m.member.order)
    with tempfile.TemporaryDirectory() as tmp:
        shuffled, ordered = Path(tmp, "shuffled"), Path(tmp, "ordered")
        shuffled_classes = _fold(shuffled, arrivals, definition)
        ordered_classes = _fold(ordered, in_completion_order, definition)
        if pin:
            # Then with the classes pinned: the same files, byte for byte
            assert tree(shuffled) == tree(ordered)
        else:
            # Then the same labels, the classes named (their ids follow the arrivals)
            assert labels_by_name(shuffled, shuffled_classes) == labels_by_name(
                ordered, ordered_classes
            )
            assert (shuffled / "images.csv").read_bytes() == (ordered / "images.csv").read_bytes()
            assert sorted(shuffled_classes) == sorted(ordered_classes)


def _version(n: int) -> str:
    return new_version_id(START + timedelta(seconds=n), token=f"{n:06x}")


def _published(
    root: Path,
    members: Sequence[MemberInput],
    definition: CollectionDefinition,
    version: str,
    previous: Sequence[str],
) -> tuple[str, ...]:
    objects, storage = LocalStorage(root), LocalStorage(root)
    given = collection_input(definition, members, OPTIONS, previous)
    images = MirrorImageSink(S3Mirror(root.parent / "mirror"), storage)
    convert_version(
        given.sources, objects, storage, given.options, version, Baseline.of(objects), images
    )
    publish_version(objects, version, 3, job_name=members[-1].member.name)
    return given.classes


def _comparable(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files; report.json without `new_classes`, which names what the version it follows
    lacked (all classes for a first version)."""
    report = json.loads(files["report.json"])
    del report["collection"]["new_classes"]
    return {**files, "report.json": json.dumps(report).encode()}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(members=st.tuples(_member(0), _member(1), _member(2)).map(list))
def test_the_last_of_three_versions_is_the_full_conversion_of_the_union(
    members: list[MemberInput],
) -> None:
    definition = CollectionDefinition("parts", ("parts-batch-*",))
    ordered = sorted(members, key=lambda m: m.member.order)
    with tempfile.TemporaryDirectory() as tmp:
        grown, full = Path(tmp, "grown"), Path(tmp, "full")
        photos = Path(tmp, "mirror", PREFIX.removeprefix("s3://"))
        photos.mkdir(parents=True)
        for n in range(8):
            (photos / f"img{n}.jpg").write_bytes(f"jpeg {n}".encode())
        previous: tuple[str, ...] = ()
        for n in range(1, 4):
            previous = _published(grown, ordered[:n], definition, _version(n), previous)
        _published(full, ordered, definition, _version(3), ())
        assert _comparable(dict(materialize(LocalStorage(grown)))) == _comparable(
            dict(materialize(LocalStorage(full)))
        )
