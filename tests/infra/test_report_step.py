"""The Report step: after Convert, before Publish, never fatal; its function, layer and rights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import assertions
from aws_cdk import aws_lambda as lambda_

from stacks.constructs import report_step, steps
from stacks.constructs.layers import LayerNotBuilt

from .cfn import (
    function_id,
    function_role_id,
    properties,
    resources,
    state_machine_definition,
)

REPORT = "handlers.report.handler"


def _report_function(template: assertions.Template) -> dict[str, Any]:
    return properties(template, function_id(template, REPORT))


def test_report_runs_after_convert_and_hands_the_whole_state_to_publish(
    template: assertions.Template,
) -> None:
    states = state_machine_definition(template)["States"]
    report = states["Report"]
    # after a conversion in one Lambda, and after a fan-out's Finalize
    assert states["Convert"]["Next"] == "FanOut?"
    assert states["FanOut?"]["Default"] == "Report"
    assert states["Finalize"]["Next"] == "Report"
    assert report["Next"] == "Publish"
    assert report["Parameters"]["Payload.$"] == "$"
    # Publish still gets Convert's outcome; the report's answer is added under $.report
    assert "OutputPath" not in report
    assert report["ResultSelector"] == {"summary.$": "$.Payload"}
    assert report["ResultPath"] == "$.report"


def test_a_failed_report_is_caught_and_the_dataset_still_publishes(
    template: assertions.Template,
) -> None:
    report = state_machine_definition(template)["States"]["Report"]
    # Caught into $.report_error and on to Publish: never to NotifyFailure / ConversionFailed
    assert report["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.report_error", "Next": "Publish"}
    ]
    assert report["Retry"][0]["ErrorEquals"] == steps.RETRYABLE_ERRORS
    assert len(report["Retry"]) == 1


def test_report_gets_pillow_from_its_own_layer_built_for_arm64_python314(
    template: assertions.Template,
) -> None:
    [layer] = [
        logical_id
        for logical_id, resource in resources(template, "AWS::Lambda::LayerVersion").items()
        if resource["Properties"]["Description"].startswith("pillow==")
    ]
    layer_properties = properties(template, layer)
    assert layer_properties["CompatibleRuntimes"] == ["python3.14"]
    assert layer_properties["CompatibleArchitectures"] == ["arm64"]
    assert {"Ref": layer} in _report_function(template)["Layers"]
    others = [
        f["Properties"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] != REPORT
    ]
    assert all({"Ref": layer} not in f["Layers"] for f in others)


def test_report_has_a_full_vcpu_fifteen_minutes_and_knows_the_sample_size(
    template: assertions.Template,
) -> None:
    function = _report_function(template)
    assert (function["MemorySize"], function["Timeout"]) == (1769, 900)
    environment = function["Environment"]["Variables"]
    assert {k: environment[k] for k in ("GROUNDTRUTH_PREFIX", "PREVIEW_SAMPLE")} == {
        "GROUNDTRUTH_PREFIX": "groundtruth/",
        "PREVIEW_SAMPLE": "50",
    }
    assert "BUCKET_NAME" in environment


def test_report_may_list_only_the_datasets_groundtruth_and_images_prefixes(
    template: assertions.Template,
) -> None:
    role = function_role_id(template, REPORT)
    [policy] = [
        p
        for p in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
    ]
    listings = [
        s["Condition"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:ListBucket"
    ]
    # images/: as every reader of images (see test_image_sources.py)
    assert listings == [
        {"StringLike": {"s3:prefix": ["datasets/*", "groundtruth/*"]}},
        {"StringLike": {"s3:prefix": ["images/*"]}},
    ]


def test_synth_without_the_built_layer_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a fresh clone where `make layers` has not run
    monkeypatch.setattr(report_step, "PILLOW_LAYER_DIR", tmp_path / "missing")
    stack = cdk.Stack(cdk.App(), "Scratch")
    # When the Report function's layer is made, Then the error names the command that fixes it
    with pytest.raises(LayerNotBuilt, match="make layers"):
        report_step.pillow_layer(stack, lambda_.Runtime.PYTHON_3_14, lambda_.Architecture.ARM_64)
