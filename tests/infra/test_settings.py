"""Settings: context values are parsed and checked before anything is synthesized."""

from __future__ import annotations

from typing import Any

import pytest

from stacks import gt2yolo_stack
from stacks.settings import CONTEXT_KEYS, Settings, SettingsError


def test_defaults_convert_completed_jobs_of_any_name_into_sse_s3() -> None:
    settings = Settings.from_context({})
    assert settings == Settings(
        bucket_name=None,
        job_name_prefix="",
        notification_email=None,
        convert_stopped_jobs=False,
        kms_key=None,
        val_fraction="0.2",
        test_fraction="0",
        powertools_layer_version=27,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("True", True),
        (True, True),
        ("false", False),
        (False, False),
        ("", False),
        (None, False),
    ],
)
def test_convert_stopped_jobs_accepts_cli_strings_and_json_booleans(
    raw: Any, expected: bool
) -> None:
    assert Settings.from_context({"convertStoppedJobs": raw}).convert_stopped_jobs is expected


def test_cli_strings_are_accepted_for_numbers() -> None:
    settings = Settings.from_context(
        {"powertoolsLayerVersion": "30", "valFraction": "0.15", "testFraction": "0.1"}
    )
    assert (settings.powertools_layer_version, settings.val_fraction, settings.test_fraction) == (
        30,
        "0.15",
        "0.1",
    )


@pytest.mark.parametrize(
    "context",
    [
        {"convertStoppedJobs": "maybe"},
        {"kmsKey": "alias/my-key"},
        {"kmsKey": "yes"},
        {"valFraction": "1"},
        {"valFraction": "-0.1"},
        {"valFraction": "a fifth"},
        {"valFraction": "0.6", "testFraction": "0.4"},
        {"powertoolsLayerVersion": "latest"},
        {"powertoolsLayerVersion": 0},
        {"notificationEmail": "not-an-address"},
        {"jobNamePrefix": "dogs_"},
        {"jobNamePrefix": "-dogs"},
    ],
)
def test_malformed_values_fail_the_synth(context: dict[str, Any]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_context(context)


def test_kms_key_is_create_or_a_key_arn() -> None:
    arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert Settings.from_context({"kmsKey": arn}).kms_key == arn
    assert Settings.from_context({"kmsKey": "create"}).kms_key == "create"


def test_job_name_prefix_may_end_with_a_hyphen() -> None:
    assert Settings.from_context({"jobNamePrefix": "dogs-"}).job_name_prefix == "dogs-"


def test_every_context_key_is_documented_in_the_stack_docstring() -> None:
    for key in CONTEXT_KEYS:
        assert f"`{key}`" in (gt2yolo_stack.__doc__ or ""), key
