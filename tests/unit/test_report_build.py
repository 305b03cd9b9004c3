"""Previews and report.html from a converted dataset: boxes read back from the label files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from gt2yolo.insights.dataset import LocalDatasetFiles, parse_label_file
from gt2yolo.insights.workers import LocalResponseFiles
from gt2yolo.records import YoloBox
from gt2yolo.storage import LocalStorage
from gt2yolo_cli.main import main
from gt2yolo_report import ReportOptions, build_report
from gt2yolo_report.draw import draw_preview
from gt_builders import Dataset, Workspace, box, line, ref
from PIL import Image
from worker_builders import answer, write_response

BACKGROUND = (255, 255, 255)


def _jpeg(size: tuple[int, int], color: tuple[int, int, int] = BACKGROUND) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=95)
    return out.getvalue()


def _convert_with_images(workspace: Workspace, lines: list[str]) -> Dataset:
    dataset = workspace.convert(lines, classes=["cat", "dog"], val=0.0, label_attribute="boxes")
    for row in dataset.images:
        path = dataset.root / row["image"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_jpeg((int(row["width"]), int(row["height"]))))
    return dataset


def test_label_files_are_read_back_as_a_trainer_reads_them() -> None:
    assert parse_label_file("0 0.5 0.5 0.2 0.1\n\n1 0.1 0.2 0.3 0.4\n") == [
        YoloBox(0, 0.5, 0.5, 0.2, 0.1),
        YoloBox(1, 0.1, 0.2, 0.3, 0.4),
    ]
    with pytest.raises(ValueError, match="row 1"):
        parse_label_file("0 0.5 0.5\n")


def test_a_box_is_drawn_where_the_label_file_puts_it_in_its_class_color() -> None:
    # Given a white 200x100 image and a box of class "dog" at x 50..150, y 40..80
    drawn = draw_preview(_jpeg((200, 100)), (200, 100), [YoloBox(0, 0.5, 0.6, 0.5, 0.4)], ["dog"])
    picture = Image.open(io.BytesIO(drawn.full)).convert("RGB")
    assert picture.size == (200, 100)
    # Then the left edge and the bottom edge carry the class color; the middle stays white
    from gt2yolo.insights.colors import name_color, rgb

    color = rgb(name_color("dog"))
    for point in ((50, 70), (100, 79), (149, 60)):
        assert all(abs(a - b) < 40 for a, b in zip(picture.getpixel(point), color, strict=True))
    assert all(v > 230 for v in picture.getpixel((100, 65)))  # type: ignore[union-attr]
    assert all(v > 230 for v in picture.getpixel((10, 10)))  # type: ignore[union-attr]
    assert Image.open(io.BytesIO(drawn.thumbnail)).size == (200, 100)  # small: not enlarged


def test_without_the_image_the_boxes_go_on_a_blank_canvas_of_the_recorded_size() -> None:
    drawn = draw_preview(None, (120, 90), [YoloBox(0, 0.5, 0.5, 0.5, 0.5)], ["cat"])
    assert Image.open(io.BytesIO(drawn.full)).size == (120, 90)
    assert drawn.note is not None and "blank canvas" in drawn.note


def test_report_writes_previews_of_flagged_and_sampled_images_and_the_page(
    workspace: Workspace,
) -> None:
    # Given a dataset where one box was clamped and one dropped, plus ordinary images
    lines = [
        line(ref("edge.jpg"), [box(0, 450, 10, 100, 50)]),  # past the right edge: clamped
        line(ref("zero.jpg"), [box(1, 10, 10, 0, 20), box(0, 1, 1, 5, 5)]),  # zero size: dropped
        *[line(ref(f"plain/{i}.jpg"), [box(i % 2)]) for i in range(6)],
    ]
    dataset = _convert_with_images(workspace, lines)
    # When the report is built with a sample of 2
    result = build_report(
        LocalDatasetFiles(dataset.root), LocalStorage(dataset.root), None, ReportOptions(2)
    )
    # Then both flagged images and 2 sampled ones have previews, and the page exists
    previews = {p.relative_to(dataset.root).as_posix()
                for p in (dataset.root / "previews").rglob("*.jpg")}  # fmt: skip
    assert {"previews/train/edge.jpg", "previews/train/zero.jpg"} <= previews
    assert len(previews) == 4 and result.previews == 4
    page = (dataset.root / "report.html").read_text(encoding="utf-8")
    assert page.count("<figure") == 4
    assert "1 clamped" in page and "1 dropped" in page
    assert not (dataset.root / "workers.csv").exists()


def test_report_with_worker_responses_writes_the_workers_csvs(workspace: Workspace) -> None:
    # Given a one-manifest dataset: line n is dataset object n-1
    dataset = _convert_with_images(workspace, [
        line(ref("a.jpg"), [box(0, 10, 20, 30, 40)]),
        line(ref("b.jpg"), [box(1, 100, 100, 50, 50)]),
    ])  # fmt: skip
    job = workspace.tmp_path / "job"
    write_response(job, 0, "x", answer("w1", boxes=[("cat", 10, 20, 30, 40)]))
    write_response(job, 0, "y", answer("w2", "2026-11-21T08:00:00Z", 50,
                                       [("cat", 12, 20, 30, 40)]))  # fmt: skip
    write_response(job, 1, "x", answer("w1", boxes=[("dog", 100, 100, 50, 50)]))
    # When the report reads them
    result = build_report(
        LocalDatasetFiles(dataset.root), LocalStorage(dataset.root), LocalResponseFiles(job)
    )
    # Then only object 0 (two workers) is compared, against the consolidated box of line 1
    assert (result.workers, result.worker_answers, result.compared_objects) == (2, 3, 1)
    rows = {r["worker_id"]: r for r in dataset.csv_rows("workers.csv")}
    assert rows["w1"]["answers"] == "2" and rows["w1"]["mean_iou"] == "1.000"
    assert rows["w2"]["mean_iou"] == f"{28 * 40 / (32 * 40):.3f}"
    daily = dataset.csv_rows("workers_daily.csv")
    assert [(r["day"], r["worker_id"]) for r in daily] == [
        ("2026-11-20", "w1"), ("2026-11-21", "w2"),
    ]  # fmt: skip


def test_objects_whose_image_size_differs_are_not_compared(workspace: Workspace) -> None:
    dataset = _convert_with_images(workspace, [line(ref("a.jpg"), [box(0)])])
    job = workspace.tmp_path / "job"
    write_response(job, 0, "x", answer("w1", size=(640, 480)))
    write_response(job, 0, "y", answer("w2", size=(640, 480)))
    result = build_report(
        LocalDatasetFiles(dataset.root), LocalStorage(dataset.root), LocalResponseFiles(job)
    )
    assert result.compared_objects == 0
    assert any("image size" in note for note in result.notes)


def test_gt2yolo_report_command_prints_where_the_page_is(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = _convert_with_images(workspace, [line(ref("a.jpg"), [box(0)])])
    job = workspace.tmp_path / "job"
    write_response(job, 0, "x", answer("w1"))
    status = main(["report", str(dataset.root), "--worker-responses", str(job),
                   "--previews", "3"])  # fmt: skip
    assert status == 0
    out = capsys.readouterr().out
    assert "1 previews, 1 workers" in out and str(dataset.root / "report.html") in out
    with (dataset.root / "workers.csv").open(newline="") as stream:
        assert [r["worker_id"] for r in csv.DictReader(stream)] == ["w1"]


def test_gt2yolo_report_on_a_folder_that_is_no_dataset_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gt2yolo: error: ") and "report.json" in err and err.count("\n") == 1


def test_report_json_is_left_as_the_conversion_wrote_it(workspace: Workspace) -> None:
    dataset = _convert_with_images(workspace, [line(ref("a.jpg"), [box(0)])])
    before = json.loads((dataset.root / "report.json").read_text())
    build_report(LocalDatasetFiles(dataset.root), LocalStorage(dataset.root))
    assert json.loads((dataset.root / "report.json").read_text()) == before
