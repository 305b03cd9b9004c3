"""ConversionWorkflow: the Lambda functions and the state machine that runs them."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import assertions
from aws_cdk import aws_lambda as lambda_

from stacks.constructs import conversion_workflow as workflow
from stacks.constructs import functions, steps

from .cfn import (
    STACK_GUID,
    conversion_state_machine,
    function_id,
    only,
    properties,
    render,
    resources,
    state_machine_definition,
)
from .synthesis import Synthesize

HANDLERS = [
    "handlers.resolve.handler",
    "handlers.convert.handler",
    "handlers.publish.handler",
    "handlers.notify_failure.handler",
    "handlers.finalize.handler",
    "handlers.convert_chunk.handler",
]
COMMON_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "gt2yolo",
    "POWERTOOLS_METRICS_NAMESPACE": "Gt2Yolo",
}
TASK_STATES = ["Resolve", "Convert", "Publish"]
# Tasks in the order of HANDLERS (ConvertChunk runs inside the Distributed Map).
TOP_LEVEL_TASKS = [*TASK_STATES, "NotifyFailure", "Finalize"]
REPORT_HANDLER = "handlers.report.handler"  # its state is not fatal: see test_report_step.py
EVERY_HANDLER = [*HANDLERS, REPORT_HANDLER]
INTAKE_HANDLERS = [  # deployed by default too: see test_intake.py
    "handlers.intake.handler",
    "handlers.start_job.prepare",
    "handlers.start_job.create",
]
LIVE_HANDLERS = ["handlers.live.handler"]  # deployed by default too: see test_live_datasets.py
BACKFILL_HANDLERS = ["handlers.backfill.handler"]  # always deployed: see test_backfill.py


def _function(template: assertions.Template, handler: str) -> dict[str, Any]:
    return properties(template, function_id(template, handler))


# --- functions -----------------------------------------------------------------------------


def _handlers(template: assertions.Template, construct: str = "") -> list[str]:
    return sorted(
        function["Properties"]["Handler"]
        for logical_id, function in resources(template, "AWS::Lambda::Function").items()
        if logical_id.startswith(construct)
    )


def test_the_workflow_has_seven_handlers_and_the_default_adds_the_intakes_three_and_live_sweep(
    template: assertions.Template, synthesize: Synthesize
) -> None:
    assert _handlers(template, "ConversionWorkflow") == sorted(EVERY_HANDLER)
    assert _handlers(template) == sorted(
        [*EVERY_HANDLER, *INTAKE_HANDLERS, *LIVE_HANDLERS, *BACKFILL_HANDLERS]
    )
    assert _handlers(synthesize({"intake": "false", "liveIntervalMinutes": "0"})) == sorted(
        [*EVERY_HANDLER, *BACKFILL_HANDLERS]
    )


def test_runtime_is_the_newest_python_that_aws_cdk_lib_knows() -> None:
    def version(runtime_name: str) -> tuple[int, ...]:
        return tuple(int(part) for part in runtime_name.removeprefix("python").split("."))

    pythons = [
        getattr(lambda_.Runtime, name).name
        for name in dir(lambda_.Runtime)
        if name.startswith("PYTHON_")
    ]
    assert functions.LAMBDA_RUNTIME.name == max(pythons, key=version)


@pytest.mark.parametrize("handler", EVERY_HANDLER)
def test_every_function_runs_on_arm64_with_tracing_and_json_logs(
    template: assertions.Template, handler: str
) -> None:
    function = _function(template, handler)
    assert function["Runtime"] == functions.LAMBDA_RUNTIME.name
    assert function["Architectures"] == ["arm64"]
    assert function["TracingConfig"] == {"Mode": "Active"}
    logging = function["LoggingConfig"]
    assert logging["LogFormat"] == "JSON"
    assert logging["ApplicationLogLevel"] == "INFO"
    assert COMMON_ENVIRONMENT.items() <= function["Environment"]["Variables"].items()


@pytest.mark.parametrize("handler", EVERY_HANDLER)
def test_every_function_logs_to_its_own_log_group_with_retention(
    template: assertions.Template, handler: str
) -> None:
    log_group = _function(template, handler)["LoggingConfig"]["LogGroup"]["Ref"]
    assert properties(template, log_group)["RetentionInDays"] == 90
    others = [
        _function(template, h)["LoggingConfig"]["LogGroup"] for h in EVERY_HANDLER if h != handler
    ]
    assert {"Ref": log_group} not in others


def test_all_functions_share_one_code_asset(template: assertions.Template) -> None:
    codes = {str(_function(template, handler)["Code"]) for handler in EVERY_HANDLER}
    assert len(codes) == 1


def test_code_asset_leaves_out_the_cli_and_caches() -> None:
    assert functions.LAMBDA_SOURCE_DIR.name == "lambdas"
    assert set(functions.LAMBDA_SOURCE_EXCLUDES) == {"gt2yolo_cli", "**/__pycache__", "*.egg-info"}


@pytest.mark.parametrize("handler", EVERY_HANDLER)
def test_powertools_comes_from_the_aws_managed_layer_for_this_runtime(
    template: assertions.Template, handler: str
) -> None:
    layers = render(_function(template, handler)["Layers"])
    powertools = (
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:27"
    )
    # Report also has its Pillow layer (test_report_step.py); nobody has another Powertools
    assert [layer for layer in layers if "Powertools" in layer] == [powertools]


def test_powertools_layer_version_comes_from_context(synthesize: Synthesize) -> None:
    template = synthesize({"powertoolsLayerVersion": "31"})
    layers = render(_function(template, HANDLERS[0])["Layers"])
    assert layers == [layers[0]] and layers[0].endswith("-python314-arm64:31")


def test_resolve_knows_the_job_filter_and_where_manifests_are(
    template: assertions.Template, filtered_template: assertions.Template
) -> None:
    default = _function(template, "handlers.resolve.handler")["Environment"]["Variables"]
    assert default["JOB_NAME_PREFIX"] == ""
    assert default["CONVERT_STOPPED_JOBS"] == "false"
    assert default["MANIFESTS_PREFIX"] == "manifests/"
    assert "BUCKET_NAME" in default
    filtered = _function(filtered_template, "handlers.resolve.handler")["Environment"]["Variables"]
    assert (filtered["JOB_NAME_PREFIX"], filtered["CONVERT_STOPPED_JOBS"]) == ("dogs-", "true")
    resolve = _function(template, "handlers.resolve.handler")
    assert (resolve["MemorySize"], resolve["Timeout"]) == (256, 30)


def test_convert_has_a_full_vcpu_fifteen_minutes_and_room_in_tmp(
    template: assertions.Template,
) -> None:
    convert = _function(template, "handlers.convert.handler")
    assert convert["MemorySize"] == 1769
    assert convert["Timeout"] == 900
    assert convert["EphemeralStorage"] == {"Size": 2048}
    environment = convert["Environment"]["Variables"]
    assert {
        key: environment[key]
        for key in ("DATASETS_PREFIX", "VAL_FRACTION", "TEST_FRACTION", "COPY_IMAGES")
    } == {
        "DATASETS_PREFIX": "datasets/",
        "VAL_FRACTION": "0.2",
        "TEST_FRACTION": "0",
        "COPY_IMAGES": "true",
    }
    assert "BUCKET_NAME" in environment


def test_split_fractions_come_from_context(synthesize: Synthesize) -> None:
    template = synthesize({"valFraction": "0.1", "testFraction": "0.05"})
    environment = _function(template, "handlers.convert.handler")["Environment"]["Variables"]
    assert (environment["VAL_FRACTION"], environment["TEST_FRACTION"]) == ("0.1", "0.05")


def test_publish_and_notify_failure_know_the_topic(template: assertions.Template) -> None:
    topic = only(template, "AWS::SNS::Topic")
    publish = _function(template, "handlers.publish.handler")
    notify = _function(template, "handlers.notify_failure.handler")
    variables = publish["Environment"]["Variables"]
    assert {key: variables[key] for key in ("TOPIC_ARN", "EVENT_BUS_NAME", "EVENT_SOURCE")} == {
        "TOPIC_ARN": {"Ref": topic},
        "EVENT_BUS_NAME": "default",
        "EVENT_SOURCE": "gt2yolo",
    }
    assert notify["Environment"]["Variables"]["TOPIC_ARN"] == {"Ref": topic}
    for function in (publish, notify):
        assert (function["MemorySize"], function["Timeout"]) == (256, 30)


# --- state machine -------------------------------------------------------------------------


def test_state_machine_is_standard_logs_everything_and_traces(
    template: assertions.Template,
) -> None:
    state_machine = properties(template, conversion_state_machine(template))
    assert state_machine["StateMachineType"] == "STANDARD"
    assert state_machine["TracingConfiguration"] == {"Enabled": True}
    logging = state_machine["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is True
    [destination] = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group_props = properties(template, log_group)
    # Vended-logs prefix; unique per stack instance so a retained group never blocks a redeploy.
    assert render(log_group_props["LogGroupName"]) == (
        f"/aws/vendedlogs/states/gt2yolo-conversion-{STACK_GUID}"
    )
    assert log_group_props["RetentionInDays"] == 90


def test_happy_path_resolve_convert_report_publish(template: assertions.Template) -> None:
    states = state_machine_definition(template)["States"]
    assert state_machine_definition(template)["StartAt"] == workflow.STATE_RESOLVE
    assert states["Resolve"]["Next"] == "ShouldConvert?"
    assert states["Convert"]["Next"] == "FanOut?"
    assert states["FanOut?"]["Default"] == "Report"
    assert states["Report"]["Next"] == "Publish"
    assert states["Publish"]["Next"] == "DatasetPublished"
    assert states["DatasetPublished"] == {"Type": "Succeed"}


def test_resolve_decides_between_convert_and_skipped(template: assertions.Template) -> None:
    choice = state_machine_definition(template)["States"]["ShouldConvert?"]
    assert choice["Type"] == "Choice"
    assert choice["Default"] == "Skipped"
    [rule] = choice["Choices"]
    assert rule["Next"] == "Convert"
    assert rule["And"] == [
        {"Variable": "$.action", "IsPresent": True},
        {"Variable": "$.action", "StringEquals": "convert"},
    ]


@pytest.mark.parametrize("state", [*TOP_LEVEL_TASKS, "ConvertChunk"])
def test_tasks_pass_the_whole_state_and_keep_only_the_handler_result(
    template: assertions.Template, state: str
) -> None:
    task = _all_states(template)[state]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"]["Payload.$"] == "$"
    assert task["OutputPath"] == "$.Payload"


@pytest.mark.parametrize("state", [*TOP_LEVEL_TASKS, "ConvertChunk"])
def test_tasks_first_retry_transient_errors_with_backoff(
    template: assertions.Template, state: str
) -> None:
    retries = _all_states(template)[state]["Retry"]
    assert retries[0] == {
        "ErrorEquals": steps.RETRYABLE_ERRORS,
        "IntervalSeconds": 2,
        "BackoffRate": 2,
        "MaxAttempts": 5,
    }
    assert {"Lambda.TooManyRequestsException", "TransientAwsError"} <= set(
        retries[0]["ErrorEquals"]
    )
    # CDK's default Lambda retrier is off: no later retrier catches the same errors again.
    for retry in retries[1:]:
        assert not set(retry["ErrorEquals"]) & set(steps.RETRYABLE_ERRORS)


def test_only_convert_waits_for_a_dataset_locked_by_another_execution(
    template: assertions.Template,
) -> None:
    states = state_machine_definition(template)["States"]
    assert states["Convert"]["Retry"][1:] == [
        {
            "ErrorEquals": ["ConversionInProgress"],
            "IntervalSeconds": 60,
            "BackoffRate": 1.5,
            "MaxAttempts": 10,
            "MaxDelaySeconds": 300,
        }
    ]
    for state in ("Resolve", "Publish", "NotifyFailure", "Finalize"):
        assert len(states[state]["Retry"]) == 1


@pytest.mark.parametrize("state", [*TASK_STATES, "Finalize"])
def test_any_error_of_a_step_is_reported_then_fails_the_run(
    template: assertions.Template, state: str
) -> None:
    states = state_machine_definition(template)["States"]
    assert states[state]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"}
    ]
    assert states["NotifyFailure"]["Next"] == "ConversionFailed"
    # The execution fails with the error and cause NotifyFailure reported to the subscribers.
    assert states["ConversionFailed"] == {
        "Type": "Fail",
        "Comment": "The subscribers were notified",
        "ErrorPath": "$.error",
        "CausePath": "$.cause",
    }


def test_state_names_are_the_published_constants(template: assertions.Template) -> None:
    names = {
        workflow.STATE_RESOLVE,
        workflow.STATE_SHOULD_CONVERT,
        workflow.STATE_CONVERT,
        workflow.STATE_REPORT,
        workflow.STATE_PUBLISH,
        workflow.STATE_PUBLISHED,
        workflow.STATE_SKIPPED,
        workflow.STATE_NOTIFY_FAILURE,
        workflow.STATE_FAILED,
        workflow.STATE_FAN_OUT,
        workflow.STATE_CONVERT_CHUNKS,
        workflow.STATE_FINALIZE,
    }
    assert set(state_machine_definition(template)["States"]) == names


def test_each_task_invokes_its_own_function(template: assertions.Template) -> None:
    states = _all_states(template)
    for state, handler in zip([*TOP_LEVEL_TASKS, "ConvertChunk"], HANDLERS, strict=True):
        expected = f"<{function_id(template, handler)}.Arn>"
        assert states[state]["Parameters"]["FunctionName"] == expected


def _all_states(template: assertions.Template) -> dict[str, Any]:
    """Top-level states and the states inside the Distributed Map."""
    states: dict[str, Any] = dict(state_machine_definition(template)["States"])
    inner: dict[str, Any] = states["ConvertChunks"]["ItemProcessor"]["States"]
    return states | inner


# --- fan-out ---------------------------------------------------------------------------------


def test_convert_fans_out_big_manifests_through_a_distributed_map(
    template: assertions.Template,
) -> None:
    states = state_machine_definition(template)["States"]
    [rule] = states["FanOut?"]["Choices"]
    assert rule == {
        "And": [
            {"Variable": "$.mode", "IsPresent": True},
            {"Variable": "$.mode", "StringEquals": "fan_out"},
        ],
        "Next": "ConvertChunks",
    }
    chunks = states["ConvertChunks"]
    assert chunks["Type"] == "Map"
    assert chunks["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"
    }  # fmt: skip
    assert chunks["ItemProcessor"]["StartAt"] == "ConvertChunk"
    assert chunks["ItemProcessor"]["States"]["ConvertChunk"]["End"] is True
    # The chunk list Convert wrote: JSON (moto's interpreter and AWS both read it), no batcher.
    reader = chunks["ItemReader"]
    assert reader["ReaderConfig"] == {"InputType": "JSON"}
    assert reader["Parameters"]["Key.$"] == "$.chunks_key"
    assert "ItemBatcher" not in chunks
    assert chunks["ItemSelector"] == {"chunk.$": "$$.Map.Item.Value", "plan_uri.$": "$.plan_uri"}
    assert chunks["MaxConcurrency"] == 40
    # Chunks' answers are dropped (256 KiB state limit); a failed Map still goes to Finalize.
    assert chunks["ResultPath"] is None
    assert chunks["Next"] == "Finalize"
    assert chunks["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Finalize"}
    ]
    assert states["Finalize"]["Next"] == "Report"


def test_fan_out_threshold_chunk_size_and_concurrency_come_from_context(
    synthesize: Synthesize,
) -> None:
    template = synthesize({"fanOutThresholdMiB": "8", "chunkMiB": "16", "maxChunkConcurrency": "5"})
    environment = _function(template, "handlers.convert.handler")["Environment"]["Variables"]
    assert environment["FAN_OUT_BYTES"] == str(8 * 1024 * 1024)
    assert environment["CHUNK_BYTES"] == str(16 * 1024 * 1024)
    assert state_machine_definition(template)["States"]["ConvertChunks"]["MaxConcurrency"] == 5


@pytest.mark.parametrize("handler", ["handlers.convert_chunk.handler", "handlers.finalize.handler"])
def test_chunk_and_finalize_functions_have_a_vcpu_and_fifteen_minutes(
    template: assertions.Template, handler: str
) -> None:
    function = _function(template, handler)
    assert function["MemorySize"] == 1769
    assert function["Timeout"] == 900


def test_finalize_spools_a_million_image_annot_csv_to_tmp(template: assertions.Template) -> None:
    function = _function(template, "handlers.finalize.handler")
    assert function["EphemeralStorage"] == {"Size": 10240}
