"""How the stack's state machines call their Lambdas and where they log, in one place."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.constructs.functions import LAMBDA_LOG_RETENTION

# Errors worth retrying: Lambda service hiccups, throttling, and the handlers' own
# TransientAwsError (an AWS call that failed in a way that may succeed later).
RETRYABLE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
    "TransientAwsError",
]
RETRY_INTERVAL = cdk.Duration.seconds(2)
RETRY_BACKOFF_RATE = 2
RETRY_MAX_ATTEMPTS = 5
# Where the state machines of every gt2yolo stack log (the key policy names this prefix).
STATE_MACHINE_LOG_GROUPS = "/aws/vendedlogs/states/gt2yolo-"


def invoke(
    scope: Construct,
    state_name: str,
    function: lambda_.IFunction,
    *,
    on_error: sfn.IChainable | None = None,
    result_path: str | None = None,
) -> tasks.LambdaInvoke:
    """A Lambda task that retries transient errors and, with `on_error`, catches the rest.

    The payload is the whole state; the next state sees only what the handler returned, or,
    with `result_path`, the whole state plus the handler's answer at that path.
    """
    task = tasks.LambdaInvoke(
        scope,
        state_name,
        lambda_function=function,
        output_path=None if result_path else "$.Payload",
        result_selector={"summary.$": "$.Payload"} if result_path else None,
        result_path=result_path,
        retry_on_service_exceptions=False,  # replaced by the retrier below
    )
    task.add_retry(
        errors=RETRYABLE_ERRORS,
        interval=RETRY_INTERVAL,
        backoff_rate=RETRY_BACKOFF_RATE,
        max_attempts=RETRY_MAX_ATTEMPTS,
    )
    if on_error is not None:
        task.add_catch(on_error, errors=["States.ALL"], result_path="$.error")
    return task


def vended_log_group(
    scope: Construct, construct_id: str, name: str, encryption_key: kms.IKey | None
) -> logs.LogGroup:
    """A state machine's log group, retained, named `/aws/vendedlogs/states/gt2yolo-<name>-<stack
    GUID>`, encrypted with `encryption_key` if any.

    Under /aws/vendedlogs/ so Step Functions does not grow the account's (size-limited)
    CloudWatch Logs resource policy with one statement per log group. The name ends with the
    stack's GUID: a retained log group of a deleted stack must not block a redeploy.
    """
    stack_guid = cdk.Fn.select(2, cdk.Fn.split("/", cdk.Aws.STACK_ID))
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=f"{STATE_MACHINE_LOG_GROUPS}{name}-{stack_guid}",
        retention=LAMBDA_LOG_RETENTION,
        encryption_key=encryption_key,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )


def logged_state_machine(
    scope: Construct,
    construct_id: str,
    definition: sfn.IChainable,
    *,
    timeout: cdk.Duration,
    log_name: str,
    log_key: kms.IKey | None,
) -> sfn.StateMachine:
    """A Standard state machine that logs every event with its data and traces with X-Ray."""
    return sfn.StateMachine(
        scope,
        construct_id,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        state_machine_type=sfn.StateMachineType.STANDARD,
        timeout=timeout,
        logs=sfn.LogOptions(
            destination=vended_log_group(scope, f"{construct_id}Logs", log_name, log_key),
            level=sfn.LogLevel.ALL,
            include_execution_data=True,
        ),
        tracing_enabled=True,
    )
