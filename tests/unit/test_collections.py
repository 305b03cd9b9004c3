"""Collections: one dataset fed by many labeling jobs, each member read under its own attribute
and class order, into one class list that only grows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from collection_builders import (
    OPTIONS,
    ListManifest,
    convert_collection,
    entry,
    member,
    tree,
)
from gt2yolo import ConversionError, convert_manifests
from gt2yolo.collection import (
    CollectionDefinition,
    CollectionError,
    LineRewrite,
    Member,
    MemberInput,
    Membership,
    MemberSource,
    OnOverlap,
    collection_classes,
    collection_input,
    collection_of_job,
    collection_of_manifest,
    parse_collections,
    split_pins,
)
from gt2yolo.fanout import Chunk, FanOutPlan, convert_chunk, finalize, plan_fan_out
from gt2yolo.report import ReportDocument
from gt2yolo.split import SplitFractions, assign_split
from gt2yolo.storage import LocalStorage
from gt2yolo.task_types import LabelTask
from gt2yolo.tasks.registry import SECTIONS
from gt_builders import box, record, ref
from task_builders import classification_record, multilabel_record

# --- the definition (cdk.json context `collections`)


def test_the_context_value_gives_one_definition_per_entry() -> None:
    # Given the context value of the README's example, with every key
    value = [
        {"name": "parts", "jobs": ["parts-batch-*"], "manifests": ["manifests/parts/*.manifest"],
         "onOverlap": "first", "classes": ["bolt", "nut"]},
        {"name": "cars", "jobs": ["cars-*"]},
    ]  # fmt: skip
    # When parsed
    parts, cars = parse_collections(value)
    # Then each entry is its definition, onOverlap latest unless given
    assert parts == CollectionDefinition(
        "parts", ("parts-batch-*",), ("manifests/parts/*.manifest",), OnOverlap.FIRST,
        ("bolt", "nut"),
    )  # fmt: skip
    assert cars.on_overlap is OnOverlap.LATEST and cars.manifests == () and cars.classes == ()
    assert parse_collections(None) == () and parse_collections([]) == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"name": "parts"}, "collections must be a list"),
        (["parts"], "collections[0] is 'parts', not an object"),
        ([{"name": "../up", "jobs": ["a"]}], "collections[0]: name '../up' is not a dataset name"),
        ([{"name": "parts"}], "collections[0] (parts): give at least one pattern"),
        ([{"name": "parts", "jobs": ["a"], "job": ["b"]}], "unknown key(s) ['job']"),
        ([{"name": "parts", "jobs": "parts-*"}], "jobs must be a list of non-empty strings"),
        ([{"name": "parts", "jobs": ["a"], "onOverlap": "last"}], "onOverlap 'last' is not one"),
        ([{"name": "parts", "jobs": ["a"], "classes": ["a", "a"]}], "names a more than once"),
        ([{"name": "p", "manifests": ["s3://b/m/*.manifest"]}], "must be a key in the bucket"),
        ([{"name": "p", "jobs": ["a"]}, {"name": "p", "jobs": ["b"]}], "both named 'p'"),
    ],
)
def test_a_definition_that_cannot_be_used_is_refused_naming_the_entry(
    value: object, message: str
) -> None:
    with pytest.raises(CollectionError) as caught:
        parse_collections(value)
    assert message in str(caught.value)
    assert isinstance(caught.value, ConversionError)


def test_manifest_patterns_match_key_segments_and_double_star_any_folders() -> None:
    parts = CollectionDefinition(
        "parts", manifests=("manifests/parts/*.manifest", "drop/**/p.manifest")
    )
    assert parts.has_manifest("manifests/parts/batch-1.manifest")
    assert not parts.has_manifest("manifests/parts/old/batch-1.manifest")  # * stays in a folder
    assert not parts.has_manifest("manifests/Parts/batch-1.manifest")  # keys are case-sensitive
    assert parts.has_manifest("drop/p.manifest") and parts.has_manifest("drop/a/b/p.manifest")


def test_a_job_belongs_to_its_one_collection_or_to_none() -> None:
    definitions = parse_collections([
        {"name": "parts", "jobs": ["parts-batch-*"]},
        {"name": "cars", "jobs": ["cars-*"], "manifests": ["cars/*.manifest"]},
    ])  # fmt: skip
    assert collection_of_job(definitions, "parts-batch-7") == definitions[0]
    assert collection_of_job(definitions, "pets-1") is None
    assert collection_of_manifest(definitions, "cars/a.manifest") == definitions[1]
    assert collection_of_manifest(definitions, "parts/a.manifest") is None


def test_a_job_matched_by_two_collections_is_an_error_naming_both() -> None:
    definitions = parse_collections([
        {"name": "parts", "jobs": ["parts-*"]}, {"name": "bolts", "jobs": ["*-batch-1"]},
    ])  # fmt: skip
    with pytest.raises(
        CollectionError, match="'parts-batch-1' is matched by collections 'parts' and 'bolts'"
    ):
        collection_of_job(definitions, "parts-batch-1")


# --- the membership (versions/<v>/collection.json)


def test_members_are_ordered_by_completion_time_then_name_whatever_the_arrival() -> None:
    late = member("parts-batch-1", "2026-03-02T00:00:00+02:00")  # 2026-03-01T22:00Z
    early = member("parts-batch-2", "2026-03-01T21:00:00Z")
    tie = member("parts-batch-0", "2026-03-01T21:00:00Z")
    folded = Membership("parts").with_member(late).with_member(early).with_member(tie)
    assert [m.name for m in folded.members] == ["parts-batch-0", "parts-batch-2", "parts-batch-1"]


def test_a_member_converted_again_replaces_its_earlier_self() -> None:
    first = member("parts-batch-1", "2026-03-01T08:00:00Z")
    again = member("parts-batch-1", "2026-03-05T08:00:00Z")
    state = (
        Membership("parts")
        .with_member(first)
        .with_member(member("parts-batch-2"))
        .with_member(again)
    )
    assert [(m.name, m.completed_at) for m in state.members] == [
        ("parts-batch-2", "2026-03-01T08:00:00Z"), ("parts-batch-1", "2026-03-05T08:00:00Z"),
    ]  # fmt: skip


def test_a_member_removed_from_the_definition_is_gone_and_named() -> None:
    drop = member("manifests/parts/a.manifest", source=MemberSource.MANIFEST_DROP)
    state = Membership("parts", (member("parts-batch-1"), member("bolts-1"), drop), ("bolt",))
    kept, removed = state.restricted_to(CollectionDefinition("parts", jobs=("parts-batch-*",)))
    assert [m.name for m in kept.members] == ["parts-batch-1"]
    assert sorted(removed) == ["bolts-1", "manifests/parts/a.manifest"]
    assert kept.classes == ("bolt",)  # the class list stays: ids are never renumbered


def test_collection_json_round_trips() -> None:
    state = Membership(
        "parts",
        (member("parts-batch-1"), member("seg", task=LabelTask.SEMANTIC_SEGMENTATION)),
        ("bolt", "nut"),
    )
    assert Membership.from_json(state.to_json()) == state


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "collection.json is not JSON"),
        ('{"version": 9, "collection": "p", "classes": [], "members": []}', "version 9 is unknown"),
        ('{"version": 1, "collection": "p", "members": []}', "no 'classes'"),
        (
            '{"version": 1, "collection": "p", "classes": [1], "members": []}',
            "classes is not a list of strings",
        ),
        (
            '{"version": 1, "collection": "p", "classes": [], "members": [{"name": "j"}]}',
            "members[0] (j): no",
        ),
    ],
)
def test_collection_json_is_read_strictly(text: str, message: str) -> None:
    with pytest.raises(CollectionError) as caught:
        Membership.from_json(text)
    assert message in str(caught.value)


def test_a_completion_time_without_a_time_zone_is_refused() -> None:
    with pytest.raises(CollectionError, match="not an ISO-8601 time with a time zone"):
        member("parts-batch-1", "2026-03-01 08:00")


# --- class ids


def test_the_class_list_only_grows_pinned_first_then_previous_then_members() -> None:
    assert collection_classes((), (), [("nut", "bolt"), ("bolt", "washer")]) == (
        "nut",
        "bolt",
        "washer",
    )
    assert collection_classes(("bolt",), (), [("nut", "bolt")]) == ("bolt", "nut")
    # a later version: the previous order stays, new classes are appended
    assert collection_classes((), ("nut", "bolt"), [("washer", "bolt", "nut")]) == (
        "nut",
        "bolt",
        "washer",
    )


def test_a_pin_that_would_renumber_a_class_is_refused() -> None:
    with pytest.raises(
        CollectionError, match="pins 'bolt' as class 0, but the dataset has 'nut' there"
    ):
        collection_classes(("bolt", "nut"), ("nut", "bolt"), [])


def test_class_ids_are_stable_across_versions_and_new_classes_are_reported(tmp_path: Path) -> None:
    # Given version 1 of two members, then a third member with a new class
    one = entry(
        member("parts-batch-1", "2026-03-01T08:00:00Z"),
        [record(ref("a.jpg"), [box(0)], attr="parts-batch-1", class_map={"0": "nut"})],
        ["nut", "bolt"],
    )
    two = entry(
        member("parts-batch-2", "2026-03-02T08:00:00Z"),
        [record(ref("b.jpg"), [box(0)], attr="parts-batch-2", class_map={"0": "bolt"})],
        ["bolt", "nut"],
    )
    first, report1 = convert_collection(tmp_path / "v1", [one, two])
    three = entry(
        member("parts-batch-3", "2026-03-03T08:00:00Z"),
        [record(ref("c.jpg"), [box(0)], attr="parts-batch-3", class_map={"0": "washer"})],
        ["washer", "nut"],
    )
    _, report2 = convert_collection(tmp_path / "v2", [one, two, three], previous=first.classes)
    # Then the classes only grow, the new one appended and named in report.json
    assert report1["classes"] == ["nut", "bolt"] and report1["collection"]["new_classes"] == [
        "nut",
        "bolt",
    ]
    assert report2["classes"] == ["nut", "bolt", "washer"]
    assert report2["collection"]["new_classes"] == ["washer"]
    # and every old label file keeps its bytes (class ids)
    for key, data in tree(tmp_path / "v1").items():
        if key.startswith("labels/"):
            assert tree(tmp_path / "v2")[key] == data
    # (a collection's paths keep bucket and key: a new member never moves a file)
    [washer] = [v for k, v in tree(tmp_path / "v2").items() if k.endswith("/c.txt")]
    assert washer.startswith(b"2 ")


def test_a_member_ordering_classes_differently_is_mapped_by_name_even_where_its_lines_name_none(
    tmp_path: Path,
) -> None:
    # Given member 1 (config nut, bolt) and member 2 (config bolt, nut) whose lines carry no
    # class-map: an id of member 2 means its own config's position
    one = entry(
        member("parts-batch-1", "2026-03-01T08:00:00Z"),
        [record(ref("a.jpg"), [box(0), box(1)], attr="parts-batch-1", class_map=None)],
        ["nut", "bolt"],
    )
    two = entry(
        member("parts-batch-2", "2026-03-02T08:00:00Z"),
        [record(ref("b.jpg"), [box(0), box(1)], attr="parts-batch-2", class_map=None)],
        ["bolt", "nut"],
    )
    _, report = convert_collection(tmp_path / "out", [one, two])
    rows = {(r["source_ref"], r["category"], r["class_id"]) for r in _annot(tmp_path / "out")}
    # Then member 2's id 0 is bolt, the collection's id 1
    assert rows == {
        (ref("a.jpg"), "nut", "0"), (ref("a.jpg"), "bolt", "1"),
        (ref("b.jpg"), "bolt", "1"), (ref("b.jpg"), "nut", "0"),
    }  # fmt: skip
    assert report["classes"] == ["nut", "bolt"]


def test_a_member_without_config_uses_its_class_maps_in_id_order(tmp_path: Path) -> None:
    one = entry(
        member("parts-batch-1", "2026-03-01T08:00:00Z"),
        [record(ref("a.jpg"), [box(0)], attr="parts-batch-1", class_map={"0": "nut"})],
        ["nut"],
    )
    two = entry(member("parts-batch-2", "2026-03-02T08:00:00Z"), [
        record(ref("b.jpg"), [box(1)], attr="parts-batch-2", class_map={"1": "washer"}),
        record(ref("c.jpg"), [box(0)], attr="parts-batch-2", class_map={"0": "bolt"}),
        record(ref("d.jpg"), [box(0)], attr="parts-batch-2", class_map=None),
    ])  # fmt: skip
    given, report = convert_collection(tmp_path / "out", [one, two])
    assert given.members[1].classes == ("bolt", "washer")  # kept in collection.json
    assert report["classes"] == ["nut", "bolt", "washer"]
    rows = {(r["source_ref"], r["category"]) for r in _annot(tmp_path / "out")}
    assert (ref("d.jpg"), "bolt") in rows  # its id 0 is the member's bolt, not the collection's nut


# --- overlaps


def _overlapping(on_overlap: OnOverlap) -> tuple[CollectionDefinition, list[MemberInput]]:
    definition = CollectionDefinition("parts", ("parts-batch-*",), on_overlap=on_overlap)
    old = entry(member("parts-batch-1", "2026-03-01T08:00:00Z"), [
        record(ref("same.jpg"), [box(0)], attr="parts-batch-1", class_map={"0": "nut"}),
        record(ref("a.jpg"), [box(0)], attr="parts-batch-1", class_map={"0": "nut"}),
    ], ["nut", "bolt"])  # fmt: skip
    new = entry(member("parts-batch-2", "2026-03-04T08:00:00Z"), [
        record(ref("same.jpg"), [box(0)], attr="parts-batch-2", class_map={"0": "bolt"}),
    ], ["bolt", "nut"])  # fmt: skip
    return definition, [new, old]  # given newest first: completion time decides, not the order


@pytest.mark.parametrize(
    ("on_overlap", "kept"), [(OnOverlap.LATEST, "bolt"), (OnOverlap.FIRST, "nut")]
)
def test_an_image_labeled_in_two_members_keeps_the_labels_the_overlap_rule_names(
    tmp_path: Path, on_overlap: OnOverlap, kept: str
) -> None:
    definition, members = _overlapping(on_overlap)
    _, report = convert_collection(tmp_path / "out", members, definition)
    categories = [
        r["category"] for r in _annot(tmp_path / "out") if r["source_ref"] == ref("same.jpg")
    ]
    assert categories == [kept]
    section = report["collection"]
    assert section["overlaps"] == 1 and section["on_overlap"] == str(on_overlap)
    loser = "parts-batch-1" if on_overlap is OnOverlap.LATEST else "parts-batch-2"
    assert {m["name"]: m["superseded"] for m in section["members"]}[loser] == 1


def test_an_overlap_under_on_overlap_error_names_both_members_and_the_image(tmp_path: Path) -> None:
    definition, members = _overlapping(OnOverlap.ERROR)
    with pytest.raises(ConversionError) as caught:
        convert_collection(tmp_path / "out", members, definition)
    message = str(caught.value)
    assert (
        ref("same.jpg") in message and "parts-batch-1:1" in message and "parts-batch-2:1" in message
    )
    assert "onOverlap error" in message and "--on-duplicate" not in message


def test_per_member_counts_are_in_report_json(tmp_path: Path) -> None:
    one = entry(member("parts-batch-1", "2026-03-01T08:00:00Z"), [
        record(ref("a.jpg"), [box(0)], attr="parts-batch-1"), "{broken",
        json.dumps({"source-ref": ref("x.jpg")}),
    ], ["cat"])  # fmt: skip
    two = entry(
        member("parts-batch-2", "2026-03-02T08:00:00Z"),
        [record(ref("b.jpg"), [box(0)], attr="parts-batch-2")],
        ["cat"],
    )
    _, report = convert_collection(tmp_path / "out", [one, two], removed=("parts-batch-0",))
    members = report["collection"]["members"]
    assert [(m["name"], m["lines"], m["images"], m["rejected"]) for m in members] == [
        ("parts-batch-1", 3, 1, 2), ("parts-batch-2", 1, 1, 0),
    ]  # fmt: skip
    assert (
        members[0]["source"] == "labeling-job"
        and members[0]["completed_at"] == "2026-03-01T08:00:00Z"
    )
    assert report["collection"]["removed"] == ["parts-batch-0"]
    # rejected.jsonl names the member and the line number of its manifest
    rejected = [json.loads(r) for r in (tmp_path / "out/rejected.jsonl").read_text().splitlines()]
    assert [(r["manifest"], r["line"], r["reason"]) for r in rejected] == [
        ("parts-batch-1", 2, "malformed_json"), ("parts-batch-1", 3, "not_labeled"),
    ]  # fmt: skip


def test_members_of_different_task_types_are_an_error_naming_both_jobs(tmp_path: Path) -> None:
    boxes = entry(
        member("parts-batch-1"), [record(ref("a.jpg"), [box(0)], attr="parts-batch-1")], ["cat"]
    )
    classes = entry(
        member("parts-batch-2", task=LabelTask.IMAGE_CLASSIFICATION),
        [classification_record(ref("b.jpg"), 0, "cat", attr="parts-batch-2")],
        ["cat"],
    )
    with pytest.raises(
        CollectionError,
        match="members 'parts-batch-1' \\(bounding box\\) and 'parts-batch-2' \\(image classification",
    ):
        convert_collection(tmp_path / "out", [boxes, classes])


# --- splits


def test_an_image_keeps_its_split_when_the_fractions_change(tmp_path: Path) -> None:
    job = entry(
        member("parts-batch-1"),
        [record(ref(f"i{n}.jpg"), [box(0)], attr="parts-batch-1") for n in range(40)],
        ["cat"],
    )
    convert_collection(tmp_path / "v1", [job])
    before = {r["source_ref"]: r["split"] for r in _rows(tmp_path / "v1", "images.csv")}
    wider = SplitFractions(val=0.5)
    pins = split_pins((tmp_path / "v1/images.csv").read_text(), wider)
    assert pins and all(assign_split(ref_, wider) is not split for ref_, split in pins.items())
    options = OPTIONS.__class__(fractions=wider, split_pins=pins)
    convert_collection(tmp_path / "v2", [job], options=options)
    after = {r["source_ref"]: r["split"] for r in _rows(tmp_path / "v2", "images.csv")}
    assert after == before
    assert split_pins((tmp_path / "v1/images.csv").read_text(), OPTIONS.fractions) == {}


# --- lines, every task


def test_lines_that_do_not_decode_pass_unchanged() -> None:
    rewrite = LineRewrite("job", "parts", LabelTask.BOUNDING_BOX, ("cat",))
    for raw in (b"{broken\n", b"\xff\xfe{\x00}\n", b"[1, 2]\n", b"\n", b'{"a": NaN1}\n'):
        assert rewrite(raw) == raw


def test_a_rewritten_line_holds_the_same_values_under_the_collection_attribute() -> None:
    rewrite = LineRewrite("job", "parts", LabelTask.BOUNDING_BOX, ("cat",))
    line = record(
        ref("ä.jpg"),
        [box(0, left=1.5e-7)],
        attr="job",
        extra_attrs={"parts": 1, "big": 10**30, "n": float("nan")},
    )
    raw = json.dumps(line).encode() + b"\r\n"
    out = rewrite(raw)
    assert out.endswith(b"\r\n")
    decoded = json.loads(out)
    assert decoded["parts"] == line["job"] and "job" not in decoded and decoded["big"] == 10**30
    assert decoded["parts-metadata"]["class-map"] == {"0": "cat"}


def test_segmentation_members_are_read_under_the_collection_ref_attribute() -> None:
    rewrite = LineRewrite("street", "city-ref", LabelTask.SEMANTIC_SEGMENTATION, ("car",))
    line = {
        "source-ref": ref("a.jpg"),
        "street-ref": "s3://b/m.png",
        "street-ref-metadata": {
            "internal-color-map": {},
            "type": "groundtruth/semantic-segmentation",
        },
    }
    assert json.loads(rewrite(json.dumps(line).encode())) == {
        "source-ref": ref("a.jpg"), "city-ref": "s3://b/m.png",
        "city-ref-metadata": line["street-ref-metadata"],  # colors name every class: kept as is
    }  # fmt: skip


def test_classification_members_map_class_names_from_their_own_config(tmp_path: Path) -> None:
    one = entry(
        member("pets-1", task=LabelTask.IMAGE_CLASSIFICATION),
        [classification_record(ref("a.jpg"), 0, None, attr="pets-1")],
        ["cat", "dog"],
    )
    two = entry(
        member("pets-2", "2026-03-02T08:00:00Z", task=LabelTask.IMAGE_CLASSIFICATION),
        [classification_record(ref("b.jpg"), 0, None, attr="pets-2")],
        ["dog", "cat"],
    )
    pets = CollectionDefinition("pets", ("pets-*",))
    _, report = convert_collection(tmp_path / "out", [one, two], pets)
    assert report["classes"] == ["cat", "dog"]
    # member 2's class 0 is its own config's dog
    rows = {r["source_ref"]: r["classes"] for r in _rows(tmp_path / "out", "images.csv")}
    assert rows == {ref("a.jpg"): "cat", ref("b.jpg"): "dog"}


def test_multilabel_members_map_class_names_from_their_own_config(tmp_path: Path) -> None:
    line = multilabel_record(ref("b.jpg"), [0, 1], ("bird", "cat"), attr="tags-2")
    line["tags-2-metadata"]["class-map"] = {}
    one = entry(
        member("tags-1", task=LabelTask.IMAGE_CLASSIFICATION_MULTILABEL),
        [multilabel_record(ref("a.jpg"), [0], ("cat", "bird"), attr="tags-1")],
        ["cat", "bird"],
    )
    two = entry(
        member("tags-2", "2026-03-02T08:00:00Z", task=LabelTask.IMAGE_CLASSIFICATION_MULTILABEL),
        [line],
        ["bird", "cat"],
    )
    _, report = convert_collection(
        tmp_path / "out", [one, two], CollectionDefinition("tags", ("tags-*",))
    )
    assert report["classes"] == ["cat", "bird"]
    rows = _rows(tmp_path / "out", "images.csv")
    assert {r["source_ref"]: r["classes"] for r in rows} == {
        ref("a.jpg"): "cat",
        ref("b.jpg"): "bird;cat",
    }


# --- the fan-out


@pytest.mark.parametrize("chunk_bytes", [1, 400, 10**9])
def test_a_collection_fanned_out_is_the_single_pass_dataset(
    tmp_path: Path, chunk_bytes: int
) -> None:
    definition, members = _overlapping(OnOverlap.LATEST)
    members.append(entry(member("parts-batch-3", "2026-03-05T08:00:00Z"), [
        "{broken", record(ref("c.jpg"), [box(1)], attr="parts-batch-3", class_map=None), "",
        record(ref("ü d.jpg"), [box(0)], attr="parts-batch-3", class_map={"0": "washer"}),
    ], ["bolt", "washer"]))  # fmt: skip
    given = collection_input(definition, members, OPTIONS)
    convert_manifests(given.sources, LocalStorage(tmp_path / "single"), given.options)
    plan = FanOutPlan.from_json(plan_fan_out(given.sources, given.options, chunk_bytes).to_json())
    # A chunk's Lambda rebuilds the member's view from collection.json and its raw manifest
    state = Membership.from_json(given.membership().to_json())
    again = collection_input(definition, [entry_of(m, members) for m in state.members], OPTIONS)
    by_name = {s.name: s for s in again.sources}
    storage = LocalStorage(tmp_path / "fanned")
    for chunk in reversed(plan.chunks):
        convert_chunk(
            plan, Chunk.from_item(chunk.as_item()), by_name[chunk.manifest], storage, again.options
        )
    finalize(plan, storage, storage, again.options)
    assert tree(tmp_path / "fanned") == tree(tmp_path / "single")


def entry_of(kept: Member, members: list[MemberInput]) -> MemberInput:
    """The member as collection.json kept it (its classes, no config), with its raw manifest."""
    return MemberInput(kept, next(m.source for m in members if m.member.name == kept.name))


# --- report.json


def test_report_json_reads_back_its_collection_section_and_old_reports_have_none(
    tmp_path: Path,
) -> None:
    one = entry(
        member("parts-batch-1"), [record(ref("a.jpg"), [box(0)], attr="parts-batch-1")], ["cat"]
    )
    _, report = convert_collection(tmp_path / "out", [one])
    parsed = ReportDocument.parse(report, SECTIONS)
    assert parsed.collection is not None and parsed.collection.members[0].images == 1
    assert parsed.as_dict() == report
    plain = dict(report)
    del plain["collection"]
    assert ReportDocument.parse(plain, SECTIONS).collection is None
    assert ReportDocument.parse(plain, SECTIONS).as_dict() == plain


def _rows(root: Path, key: str) -> list[dict[str, str]]:
    import csv

    with (root / key).open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def _annot(root: Path) -> list[dict[str, str]]:
    return _rows(root, "annot.csv")


def test_list_manifest_serves_byte_ranges() -> None:
    manifest = ListManifest("m", ["{}", "{}"])
    assert list(manifest.lines_between(0, 3)) == [b"{}\n"]


def test_a_member_in_another_folder_moves_no_file_of_the_earlier_members(
    tmp_path: Path,
) -> None:
    # Given a collection of images under cameras/east/, then a member under cameras/west/ (a
    # folder common to both would be cameras/: relative paths would all move)
    east = "s3://fleet-images/cameras/east/"
    west = "s3://fleet-images/cameras/west/"
    one = entry(
        member("parts-batch-1", "2026-03-01T08:00:00Z"),
        [record(east + f"{i}.jpg", [box(0)], attr="parts-batch-1") for i in range(4)],
        ["bolt"],
    )
    two = entry(
        member("parts-batch-2", "2026-03-02T08:00:00Z"),
        [record(west + f"{i}.jpg", [box(0)], attr="parts-batch-2") for i in range(4)],
        ["bolt"],
    )
    convert_collection(tmp_path / "v1", [one])
    convert_collection(tmp_path / "v2", [one, two])
    # Then every file of the first version is in the second, at its path, with its bytes:
    # a collection's paths keep the bucket and the key
    first, second = tree(tmp_path / "v1"), tree(tmp_path / "v2")
    labels = {k: v for k, v in first.items() if k.startswith("labels/")}
    assert len(labels) == 4
    assert all(second.get(k) == v for k, v in labels.items())
    assert all("/fleet-images/cameras/east/" in k for k in labels)
