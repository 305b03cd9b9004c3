"""Event delivery, as EventBridge, S3, SQS event source mappings and Scheduler would do it.

moto matches events against the template's rule patterns (its own matcher) but delivers to no
Step Functions target: a matched event is started here, as the rule's target would; an SQS
target gets the event in moto's queue, and `deliver_queued` hands queued messages to the
function of the queue's event source mapping, in batches, deleting those the function did not
report as failed. `fire_schedules` invokes each schedule's target when the test says it is time.
With `s3_events_delivered`, every object created in the stack's bucket also becomes S3's
"Object Created" event on the default bus, delivered without waiting (as `gt2yolo selftest`
needs: it only puts objects, as it would in AWS).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from localrun.deploy import Deployment
from localrun.emulator import Endpoint
from localrun.inspection import EXECUTION_TIMEOUT, Execution, wait_for_execution
from localrun.lambda_events import object_created_event, sqs_record
from localrun.template import resources_of

# Runs one invocation of a function (by name) as Lambda would: (payload, errored, logs).
Invoke = Callable[[str, dict[str, Any]], tuple[str, bool, str]]


class EventDelivery:
    """Routes events by the template's rules and hands them to their targets."""

    def __init__(
        self, template: dict[str, Any], deployment: Deployment, endpoint: Endpoint, invoke: Invoke
    ) -> None:
        self._template = template
        self._deployment = deployment
        self._resolver = deployment.resolver
        self._client = endpoint.client
        self._invoke = invoke

    # -- EventBridge rules --------------------------------------------------------------------
    def route(self, event: dict[str, Any], bus: str = "default") -> list[str]:
        """Targets an event reaches, following rules that forward to other buses (as AWS does)."""
        from moto.events.models import EventPattern

        reached: list[str] = []
        for props in self._rules_on(bus).values():
            pattern = self._resolver.resolve(props.get("EventPattern"))
            matcher = EventPattern.load(json.dumps(pattern)) if pattern else None
            if matcher is None or not matcher.matches_event(event):  # type: ignore[arg-type]
                continue
            for target in props.get("Targets", []):
                arn = str(self._resolver.resolve(target["Arn"]))
                forwarded = self._deployment.buses.get(arn)
                reached += self.route(event, forwarded) if forwarded else [arn]
        return reached

    def _rules_on(self, bus: str) -> dict[str, dict[str, Any]]:
        rules = {}
        for logical, resource in resources_of(self._template, "AWS::Events::Rule").items():
            props = resource["Properties"]
            on_bus = self._resolver.resolve(props.get("EventBusName", "default"))
            if on_bus == bus:
                rules[logical] = props
        return rules

    def put_event(
        self, event: dict[str, Any], timeout: float = EXECUTION_TIMEOUT
    ) -> Execution | None:
        """Deliver an event as EventBridge would: queue it for the queues rules lead to, and
        run the conversion state machine to its end if a rule leads there."""
        started = self.put_event_async(event)
        return None if started is None else self.wait(started, timeout)

    def put_event_async(self, event: dict[str, Any]) -> str | None:
        """Deliver an event without waiting for the execution it starts (its ARN, if any)."""
        reached = self.route(event)
        queue_urls = self._deployment.queue_urls
        for arn in reached:
            if arn in queue_urls:
                self._client("sqs").send_message(
                    QueueUrl=queue_urls[arn], MessageBody=json.dumps(event)
                )
        conversion = self._deployment.state_machine_arn
        if conversion not in reached:
            return None
        return self.start(event, conversion)

    # -- Step Functions ------------------------------------------------------------------------
    def start(self, state_input: dict[str, Any], state_machine_arn: str) -> str:
        """Start an execution (named as the console would, by a random id); its ARN."""
        return str(
            self._client("stepfunctions").start_execution(
                stateMachineArn=state_machine_arn,
                input=json.dumps(state_input),
                name=uuid.uuid4().hex,
            )["executionArn"]
        )

    def run(self, state_input: dict[str, Any], state_machine_arn: str, timeout: float) -> Execution:
        return self.wait(self.start(state_input, state_machine_arn), timeout)

    def wait(self, arn: str, timeout: float = EXECUTION_TIMEOUT) -> Execution:
        return wait_for_execution(self._client("stepfunctions"), arn, timeout)

    # -- SQS event source mappings ---------------------------------------------------------------
    def deliver_queued(self) -> int:
        """Hand queued messages to the functions of the queues' event source mappings, a batch
        at a time, until the queues are empty. Returns the number of messages done."""
        done = 0
        for mapping in resources_of(self._template, "AWS::Lambda::EventSourceMapping").values():
            props = self._resolver.resolve(mapping["Properties"])
            url = self._deployment.queue_urls[props["EventSourceArn"]]
            while batch := self._receive(url, int(props.get("BatchSize", 10))):
                done += self._invoke_with_batch(props["FunctionName"], url, props, batch)
        return done

    def _receive(self, url: str, size: int) -> list[dict[str, Any]]:
        sqs = self._client("sqs")
        batch: list[dict[str, Any]] = []
        while len(batch) < size:
            answer = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=min(10, size - len(batch))
            )
            if not answer.get("Messages"):
                break
            batch += answer["Messages"]
        return batch

    def _invoke_with_batch(
        self, function: str, url: str, props: dict[str, Any], batch: list[dict[str, Any]]
    ) -> int:
        records = [sqs_record(m["Body"], m["MessageId"], props["EventSourceArn"]) for m in batch]
        payload, errored, _ = self._invoke(function, {"Records": records})
        answer = json.loads(payload)
        if errored:
            raise RuntimeError(f"{function} failed on a batch: {answer.get('errorMessage')}")
        failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
        sqs = self._client("sqs")
        for message in batch:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if failed:
            raise RuntimeError(f"{function} reported failed records: {sorted(failed)}")
        return len(batch)

    # -- EventBridge Scheduler, on demand --------------------------------------------------------
    def fire_schedules(self) -> list[dict[str, Any]]:
        """One tick of every schedule of the template: its target function invoked through
        moto's Lambda (so as deployed) with the schedule's input; their answers, in order."""
        answers = []
        for resource in resources_of(self._template, "AWS::Scheduler::Schedule").values():
            target = self._resolver.resolve(resource["Properties"]["Target"])
            event = json.loads(target.get("Input") or "{}")
            answers.append(self.invoke_function(str(target["Arn"]), event))
        return answers

    def invoke_function(self, arn: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke a function (by ARN) through moto's Lambda; its answer, or RuntimeError."""
        response = self._client("lambda").invoke(FunctionName=arn, Payload=json.dumps(event))
        answer: dict[str, Any] = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{arn} failed: {answer}")
        return answer

    # -- S3 notifications ----------------------------------------------------------------------
    @contextmanager
    def s3_events_delivered(self) -> Iterator[None]:
        """Objects created in the stack's bucket become S3's events on the default bus."""
        from moto.s3 import notifications

        original = notifications.send_event
        bucket = self._deployment.bucket

        def send_event(account_id: str, event_name: Any, s3_bucket: Any, key: Any) -> None:
            original(account_id, event_name, s3_bucket, key)
            name = str(getattr(event_name, "value", event_name))  # a str Enum member
            if name.startswith("s3:ObjectCreated") and s3_bucket.name == bucket:
                event = object_created_event(s3_bucket.name, key.name, key.size)
                # Not on moto's request thread: the PUT answers first, as in AWS.
                threading.Thread(target=self.put_event_async, args=(event,), daemon=True).start()

        with mock.patch.object(notifications, "send_event", send_event):
            yield
