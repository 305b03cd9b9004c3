"""Train/val(/test) split by a stable hash of the source-ref: reruns never move an image."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from gt2yolo import ConversionError
from gt2yolo.split import Split, SplitFractions, assign_split, stable_unit
from gt_builders import Workspace, box, line, ref

REFS = [f"s3://bucket/photos/{i:05d}.jpg" for i in range(10_000)]


def test_the_split_hash_is_pinned_so_existing_datasets_never_reshuffle() -> None:
    # Given known source-refs
    # When hashed
    # Then the values are those of BLAKE2b-64 (changing the hash would move old images between
    # train and val, leaking validation images into training)
    assert stable_unit("s3://bucket/a.jpg") == pytest.approx(0.9089674791686299, abs=1e-15)
    assert stable_unit("s3://bucket/b.jpg") == pytest.approx(0.5344485205527486, abs=1e-15)
    assert stable_unit("s3://bucket/photos/猫.jpg") == pytest.approx(0.621133887317993, abs=1e-15)


def test_the_same_source_ref_lands_in_the_same_split_in_another_process() -> None:
    # Given splits assigned here
    sample = REFS[:500]
    here = [str(assign_split(r, SplitFractions(0.2, 0.1))) for r in sample]

    # When another interpreter with a different string-hash seed assigns them
    code = (
        "import json, sys\n"
        "from gt2yolo.split import SplitFractions, assign_split\n"
        "refs = json.load(sys.stdin)\n"
        "print(json.dumps([str(assign_split(r, SplitFractions(0.2, 0.1))) for r in refs]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(sample), capture_output=True,
        text=True, env=env, check=True,
    )  # fmt: skip

    # Then every image gets the same split
    assert json.loads(done.stdout) == here


def test_rerunning_a_conversion_puts_every_image_in_the_same_split(workspace: Workspace) -> None:
    # Given a manifest of 200 images
    lines = [line(ref(f"{i}.jpg"), [box()]) for i in range(200)]

    # When converting it twice
    first = {r["source_ref"]: r["split"] for r in workspace.convert(lines).images}
    second = {r["source_ref"]: r["split"] for r in workspace.convert(lines).images}

    # Then the splits match, and both splits are used
    assert first == second
    assert set(first.values()) == {"train", "val"}


def test_adding_a_job_never_moves_the_images_already_split(workspace: Workspace) -> None:
    # Given a dataset from one job
    old = [line(ref(f"old/{i}.jpg"), [box()]) for i in range(100)]
    before = {r["source_ref"]: r["split"] for r in workspace.convert(old).images}

    # When a second job is merged in
    new = [line(ref(f"new/{i}.jpg"), [box()]) for i in range(100)]
    after = {r["source_ref"]: r["split"] for r in workspace.convert(old, new).images}

    # Then the old images keep their splits
    assert {k: after[k] for k in before} == before


@pytest.mark.parametrize(("val", "test"), [(0.2, 0.0), (0.1, 0.1), (0.3, 0.15), (0.0, 0.0)])
def test_the_fractions_are_respected_on_10000_images(val: float, test: float) -> None:
    # Given 10,000 source-refs
    fractions = SplitFractions(val=val, test=test)

    # When assigned
    counts = Counter(assign_split(r, fractions) for r in REFS)

    # Then each split holds its fraction (0.02 is about five standard deviations at n=10,000)
    assert counts[Split.VAL] / len(REFS) == pytest.approx(val, abs=0.02)
    assert counts[Split.TEST] / len(REFS) == pytest.approx(test, abs=0.02)


def test_the_default_split_is_20_percent_val_and_no_test() -> None:
    # Given default fractions
    fractions = SplitFractions()

    # Then val is 0.2 and only train and val exist
    assert (fractions.val, fractions.test) == (0.2, 0.0)
    assert fractions.splits() == (Split.TRAIN, Split.VAL)


def test_a_test_split_exists_only_when_its_fraction_is_positive(workspace: Workspace) -> None:
    # Given a manifest
    lines = [line(ref(f"{i}.jpg"), [box()]) for i in range(60)]

    # When converting without, then with, a test fraction
    without = workspace.convert(lines)
    assert "test.txt" not in without.files()
    assert "test:" not in without.text("data.yaml")
    workspace.out = workspace.tmp_path / "with-test"
    dataset = workspace.convert(lines, test=0.3)

    # Then test.txt, its data.yaml entry and test images appear
    assert "test.txt" in dataset.files()
    assert "test: images/test" in dataset.text("data.yaml")
    assert dataset.report["images_per_split"]["test"] > 0
    assert len(dataset.text("test.txt").splitlines()) == dataset.report["images_per_split"]["test"]


@pytest.mark.parametrize(
    ("val", "test"),
    [
        (-0.1, 0.0),
        (1.0, 0.0),
        (0.5, 0.5),
        (0.7, 0.4),
        (float("nan"), 0.0),
        (0.2, -0.01),
        (0.2, 1.5),
    ],
)
def test_invalid_fractions_are_an_error(val: float, test: float) -> None:
    # Given fractions outside [0, 1), or leaving no image for training
    # When building them
    # Then the conversion refuses
    with pytest.raises(ConversionError, match="fraction"):
        SplitFractions(val=val, test=test)
