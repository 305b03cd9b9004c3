"""Monitoring: alarms that page the notification topic when conversions stop happening."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

ALARM_PERIOD = cdk.Duration.minutes(5)


class Monitoring(Construct):
    """Alarms on failed or timed-out executions and on events parked in the dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        dead_letter_queue: sqs.IQueue,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        action = cw_actions.SnsAction(topic)
        self.executions_failed = self._alarm(
            "ExecutionsFailed",
            state_machine.metric_failed(period=ALARM_PERIOD, statistic="Sum"),
            "A conversion failed (NotifyFailure has the details)",
        )
        # A timeout is not counted in ExecutionsFailed, and NotifyFailure never runs for it.
        self.executions_timed_out = self._alarm(
            "ExecutionsTimedOut",
            state_machine.metric_timed_out(period=ALARM_PERIOD, statistic="Sum"),
            "A conversion ran past the state machine timeout",
        )
        self.dead_letters = self._alarm(
            "DeadLetters",
            dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=ALARM_PERIOD, statistic="Maximum"
            ),
            "EventBridge could not start a conversion: events wait in the dead-letter queue",
        )
        for alarm in (self.executions_failed, self.executions_timed_out, self.dead_letters):
            alarm.add_alarm_action(action)

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, description: str
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
