"""Batch labeling job rules: label categories, names, built-in task Lambdas, the request."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from gt2yolo.labeling_job import (
    BUILT_IN_TASK_ACCOUNTS,
    MAX_BOUNDING_BOX_LABELS,
    WORKER_TASK_TEMPLATE,
    JobPlan,
    LabelingJobError,
    built_in_bounding_box_lambdas,
    check_job_name,
    check_workteam,
    create_labeling_job_request,
    default_job_name,
    label_attribute_name,
    label_categories,
    label_category_config,
    parse_label_file,
)
from hypothesis import given
from hypothesis import strategies as st

WORKTEAM = "arn:aws:sagemaker:eu-west-1:111122223333:workteam/private-crowd/labelers"
JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
NOW = datetime(2026, 11, 24, 9, 30, 5, tzinfo=UTC)

# --- label categories ----------------------------------------------------------------------


def test_label_order_is_kept_because_it_becomes_the_class_ids() -> None:
    assert label_categories(["dog", "cat", "bone"]) == ["dog", "cat", "bone"]


def test_labels_are_trimmed() -> None:
    assert label_categories([" dog ", "cat\n"]) == ["dog", "cat"]


@pytest.mark.parametrize(
    ("labels", "complaint"),
    [([], "at least one"), (["dog", " "], "blank"), (["dog", "cat", "dog"], "twice: dog")],
)
def test_empty_blank_and_repeated_labels_are_refused(labels: list[str], complaint: str) -> None:
    with pytest.raises(LabelingJobError, match=complaint):
        label_categories(labels)


def test_fifty_labels_are_allowed_fifty_one_are_refused() -> None:
    fifty = [f"class-{i}" for i in range(MAX_BOUNDING_BOX_LABELS)]
    assert len(label_categories(fifty)) == 50
    with pytest.raises(LabelingJobError, match=r"51 label categories.*at most 50"):
        label_categories([*fifty, "one-too-many"])


def test_the_label_category_config_has_the_documented_shape() -> None:
    assert label_category_config(["dog", "cat"]) == {
        "document-version": "2018-11-28",
        "labels": [{"label": "dog"}, {"label": "cat"}],
    }


@pytest.mark.parametrize(
    "text",
    [
        "dog\ncat\n\n# a comment\n",
        '["dog", "cat"]',
        json.dumps(
            {"document-version": "2018-11-28", "labels": [{"label": "dog"}, {"label": "cat"}]}
        ),
    ],
    ids=["one-per-line", "json-list", "label-category-config"],
)
def test_a_label_file_may_be_text_a_json_list_or_a_label_category_config(text: str) -> None:
    assert parse_label_file(text) == ["dog", "cat"]


@pytest.mark.parametrize("text", ['{"labels": "dog"}', "[1, 2]", "{not json"])
def test_malformed_label_files_are_refused(text: str) -> None:
    with pytest.raises(LabelingJobError):
        parse_label_file(text)


# --- built-in task Lambdas -----------------------------------------------------------------


def test_every_documented_region_has_its_built_in_bounding_box_lambdas() -> None:
    assert set(BUILT_IN_TASK_ACCOUNTS) == {
        "us-east-1", "us-east-2", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2",
        "eu-central-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1",
        "ap-southeast-2",
    }  # fmt: skip
    lambdas = built_in_bounding_box_lambdas("us-east-1")
    assert (
        lambdas.pre_human_task == "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox"
    )
    assert lambdas.annotation_consolidation == (
        "arn:aws:lambda:us-east-1:432418664414:function:ACS-BoundingBox"
    )


@pytest.mark.parametrize("region", sorted(BUILT_IN_TASK_ACCOUNTS))
def test_pre_annotation_and_consolidation_come_from_the_same_regional_account(region: str) -> None:
    lambdas = built_in_bounding_box_lambdas(region)
    account = BUILT_IN_TASK_ACCOUNTS[region]
    assert lambdas.pre_human_task.split(":")[3:5] == [region, account]
    assert lambdas.annotation_consolidation.split(":")[3:5] == [region, account]


@pytest.mark.parametrize("region", ["eu-north-1", "sa-east-1", "us-west-1", "cn-north-1"])
def test_a_region_without_built_in_lambdas_is_refused_naming_the_regions_that_have_them(
    region: str,
) -> None:
    with pytest.raises(LabelingJobError, match=rf"{region}.*eu-west-1"):
        built_in_bounding_box_lambdas(region)


# --- names ---------------------------------------------------------------------------------


def test_the_default_job_name_is_the_prefix_the_dataset_and_the_time() -> None:
    assert default_job_name("yolo-", "cars", NOW) == "yolo-cars-20261124-093005"


@given(prefix=st.sampled_from(["", "yolo-", "a", "team-7-"]), dataset=st.text(max_size=200))
def test_default_job_names_are_always_valid_and_start_with_the_prefix(
    prefix: str, dataset: str
) -> None:
    name = default_job_name(prefix, dataset, NOW)
    assert JOB_NAME_PATTERN.fullmatch(name), name
    assert name.startswith(prefix)


@pytest.mark.parametrize("name", ["cars_1", "-cars", "cars-", "x" * 64, "cars.v2"])
def test_invalid_job_names_are_refused(name: str) -> None:
    with pytest.raises(LabelingJobError, match="not valid"):
        check_job_name(name, "")


def test_a_job_name_without_the_converted_prefix_is_refused() -> None:
    with pytest.raises(LabelingJobError, match="never be converted"):
        check_job_name("cats-1", "dogs-")


@given(job_name=st.from_regex(JOB_NAME_PATTERN, fullmatch=True))
def test_the_label_attribute_is_valid_and_never_a_reserved_ending(job_name: str) -> None:
    attribute = label_attribute_name(job_name)
    assert re.fullmatch(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}$", attribute)
    assert not attribute.endswith(("-metadata", "-ref"))
    assert attribute != "source-ref"


def test_chained_jobs_get_distinct_label_attributes() -> None:
    # An adjustment job reading this job's output must not reuse its attribute.
    assert label_attribute_name("cars-1") != label_attribute_name("cars-1-adjust")
    assert label_attribute_name("cars-ref") == "cars-ref-boxes"


# --- work team -----------------------------------------------------------------------------


@pytest.mark.parametrize("workteam", [None, ""])
def test_a_missing_work_team_is_refused_saying_how_to_give_one(workteam: str | None) -> None:
    with pytest.raises(LabelingJobError, match=r"no work team.*--workteam-arn.*workteamArn"):
        check_workteam(workteam, "eu-west-1")


def test_a_work_team_must_be_a_work_team_arn_of_the_jobs_region() -> None:
    assert check_workteam(WORKTEAM, "eu-west-1") == WORKTEAM
    with pytest.raises(LabelingJobError, match="not a SageMaker work team ARN"):
        check_workteam("labelers", "eu-west-1")
    with pytest.raises(LabelingJobError, match="in eu-west-1, the job in us-east-1"):
        check_workteam(WORKTEAM, "us-east-1")


# --- the request ---------------------------------------------------------------------------


def _plan(**changes: object) -> JobPlan:
    values: dict[str, object] = {
        "job_name": "cars-20261124-093005",
        "region": "eu-west-1",
        "manifest_uri": "s3://b/manifests/input/cars.manifest",
        "output_path": "s3://b/groundtruth/",
        "label_config_uri": "s3://b/manifests/input/jobs/j/label-categories.json",
        "template_uri": "s3://b/manifests/input/jobs/j/worker-task-template.liquid.html",
        "role_arn": "arn:aws:iam::111122223333:role/GroundTruth",
        "workteam_arn": WORKTEAM,
        "labels": ("car", "truck"),
    }
    return JobPlan(**{**values, **changes})  # type: ignore[arg-type]


def test_the_request_uses_the_regions_built_in_lambdas_and_the_bounding_box_template() -> None:
    request = create_labeling_job_request(_plan())
    task = request["HumanTaskConfig"]
    assert task["PreHumanTaskLambdaArn"].endswith("568282634449:function:PRE-BoundingBox")
    assert task["AnnotationConsolidationConfig"]["AnnotationConsolidationLambdaArn"].endswith(
        "568282634449:function:ACS-BoundingBox"
    )
    assert task["UiConfig"] == {"UiTemplateS3Uri": _plan().template_uri}
    assert task["WorkteamArn"] == WORKTEAM
    assert request["LabelAttributeName"] == "cars-20261124-093005-boxes"
    assert request["OutputConfig"] == {"S3OutputPath": "s3://b/groundtruth/"}
    assert request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"] == (
        "s3://b/manifests/input/cars.manifest"
    )


def test_the_default_description_names_the_labels_and_fits_the_api_limit() -> None:
    request = create_labeling_job_request(_plan(labels=tuple(f"label-{i}" for i in range(50))))
    description = request["HumanTaskConfig"]["TaskDescription"]
    assert description.startswith("Draw a tight box around every label-0, label-1")
    assert len(description) <= 255


def test_the_worker_template_is_the_crowd_bounding_box_fed_by_the_pre_annotation_lambda() -> None:
    assert "<crowd-bounding-box" in WORKER_TASK_TEMPLATE
    assert "task.input.taskObject | grant_read_access" in WORKER_TASK_TEMPLATE
    assert "task.input.labels | to_json | escape" in WORKER_TASK_TEMPLATE
