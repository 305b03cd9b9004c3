"""`gt2yolo start-job`: a labeling job from a dataset's input manifest, from the command line.

S3 is moto; CreateLabelingJob is a botocore Stubber that checks the request against the
SageMaker API model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from gt2yolo_cli import main as cli
from gt2yolo_cli import start_job
from moto import mock_aws

REGION = "eu-west-1"
BUCKET = "cli-intake-bucket"
ROLE = "arn:aws:iam::111122223333:role/gt2yolo-ground-truth"
WORKTEAM = "arn:aws:sagemaker:eu-west-1:111122223333:workteam/private-crowd/labelers"
JOB_ARN = "arn:aws:sagemaker:eu-west-1:111122223333:labeling-job/cars-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        stubber = Stubber(sagemaker)
        monkeypatch.setattr(
            start_job, "aws_clients", lambda region: (region or REGION, s3, sagemaker)
        )
        with stubber:
            yield s3, stubber
            stubber.assert_no_pending_responses()


def _args(labels: Path, *extra: str) -> list[str]:
    return ["start-job", "--bucket", BUCKET, "--dataset", "cars", "--labels", str(labels),
            "--role-arn", ROLE, "--workteam-arn", WORKTEAM, *extra]  # fmt: skip


def _manifest(s3: Any, *names: str) -> None:
    body = "".join(
        json.dumps({"source-ref": f"s3://{BUCKET}/images/cars/{n}"}) + "\n" for n in names
    )
    s3.put_object(Bucket=BUCKET, Key="manifests/input/cars.manifest", Body=body.encode())


def _labels(tmp_path: Path, text: str = "car\ntruck\n") -> Path:
    path = tmp_path / "labels.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_start_job_creates_the_job_and_adds_the_cors_rule_ground_truth_needs(
    aws: tuple[Any, Stubber], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, stubber = aws
    _manifest(s3, "a.jpg", "b.jpg")
    expected = {
        "LabelingJobName": "cars-1",
        "LabelAttributeName": "cars-1-boxes",
        "InputConfig": {"DataSource": {"S3DataSource": {
            "ManifestS3Uri": f"s3://{BUCKET}/manifests/input/cars.manifest"}}},
        "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/groundtruth/"},
        "RoleArn": ROLE,
        "LabelCategoryConfigS3Uri": f"s3://{BUCKET}/manifests/input/jobs/cars-1/label-categories.json",
        "HumanTaskConfig": ANY,
    }  # fmt: skip
    stubber.add_response("create_labeling_job", {"LabelingJobArn": JOB_ARN}, expected)
    assert cli.main(_args(_labels(tmp_path), "--job-name", "cars-1")) == 0
    assert "labeling job cars-1 created: 2 images" in capsys.readouterr().out
    rules = s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    assert any(r["AllowedMethods"] == ["GET"] and r["AllowedOrigins"] == ["*"] for r in rules)


def test_an_existing_cors_configuration_is_kept(aws: tuple[Any, Stubber], tmp_path: Path) -> None:
    s3, stubber = aws
    _manifest(s3, "a.jpg")
    mine = {"AllowedMethods": ["PUT"], "AllowedOrigins": ["https://app.example.org"]}
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [mine]})
    stubber.add_response("create_labeling_job", {"LabelingJobArn": JOB_ARN})
    assert cli.main(_args(_labels(tmp_path))) == 0
    rules = s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    assert len(rules) == 2
    assert rules[0]["AllowedOrigins"] == ["https://app.example.org"]


def test_dry_run_prints_the_request_and_creates_nothing(
    aws: tuple[Any, Stubber], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, _ = aws
    _manifest(s3, "a.jpg")
    assert cli.main(_args(_labels(tmp_path), "--dry-run", "--job-name-prefix", "yolo-")) == 0
    request = json.loads(capsys.readouterr().out)
    assert request["LabelingJobName"].startswith("yolo-cars-")
    assert request["HumanTaskConfig"]["PreHumanTaskLambdaArn"].endswith(
        "eu-west-1:568282634449:function:PRE-BoundingBox"
    )


@pytest.mark.parametrize(
    ("setup", "extra", "complaint"),
    [
        ("empty", [], "cars.manifest is missing: drop images under images/cars/ first"),
        ("fifty-one", [], "51 label categories"),
        ("no-team", ["--workteam-arn", ""], "no work team"),
        ("other-region", ["--region", "eu-north-1"], "work team"),
    ],
)
def test_unusable_requests_are_one_line_errors(
    aws: tuple[Any, Stubber],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    setup: str,
    extra: list[str],
    complaint: str,
) -> None:
    s3, _ = aws
    if setup != "empty":
        _manifest(s3, "a.jpg")
    text = "\n".join(f"c{i}" for i in range(51)) if setup == "fifty-one" else "car\n"
    assert cli.main(_args(_labels(tmp_path, text), *extra)) == 1
    error = capsys.readouterr().err
    assert error.startswith("gt2yolo: error: ")
    assert complaint in error
    assert error.count("\n") == 1
