"""Settings: context values are parsed and checked before anything is synthesized."""

from __future__ import annotations

from typing import Any

import pytest

from stacks import gt2yolo_stack
from stacks.settings import CONTEXT_KEYS, ImageSource, Settings, SettingsError


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


# --- imageBuckets, imageKmsKeys -------------------------------------------------------------

KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    "raw",
    [
        "customer-images,archive.example-corp/gt/2024/",  # -c imageBuckets=a,b/prefix
        " customer-images , s3://archive.example-corp/gt/2024/ ,",  # spaces, s3://, a stray comma
        ["customer-images", "archive.example-corp/gt/2024/"],  # a list in cdk.json
        '["customer-images", "archive.example-corp/gt/2024/"]',  # a JSON list given with -c
        "customer-images,archive.example-corp/gt/2024/,customer-images",  # repeated: once
    ],
)
def test_image_buckets_are_buckets_or_bucket_slash_prefix(raw: Any) -> None:
    assert Settings.from_context({"imageBuckets": raw}).image_buckets == (
        ImageSource("customer-images"),
        ImageSource("archive.example-corp", "gt/2024/"),
    )


def test_without_image_buckets_only_the_stacks_images_are_read() -> None:
    settings = Settings.from_context({})
    assert settings.image_buckets == ()
    assert settings.image_kms_keys == ()


def test_an_image_source_holds_the_keys_under_its_prefix() -> None:
    whole, prefix = ImageSource("b"), ImageSource("b", "gt/2024/")
    assert whole.holds("b", "any/key.jpg")
    assert prefix.holds("b", "gt/2024/x.jpg")
    assert not prefix.holds("b", "gt/2025/x.jpg")
    assert not whole.holds("c", "any/key.jpg")
    assert (str(whole), str(prefix)) == ("b", "b/gt/2024/")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("Customer-Images", "not a bucket name"),
        ("ab", "not a bucket name"),
        ("a" * 64, "not a bucket name"),
        ("-images", "not a bucket name"),
        ("images-", "not a bucket name"),
        ("my_images", "not a bucket name"),
        ("my..images", "two dots"),
        ("192.168.10.20", "IP address"),
        ("xn--images", "reserves"),
        ("images-s3alias", "reserves"),
        ("images--ol-s3", "reserves"),
        ("customer-images//photos", "starts with '/'"),
        ("customer-images/photos/*", "matched literally"),
        ("customer-images/photo?", "matched literally"),
        ("customer-images/${aws:username}/", "matched literally"),
        ("customer-images/a\tb", "control character"),
        ("customer-images/" + "k" * 1025, "longest key"),
    ],
)
def test_malformed_image_buckets_fail_the_synth_naming_the_entry(entry: str, message: str) -> None:
    with pytest.raises(SettingsError, match="imageBuckets entry") as error:
        Settings.from_context({"imageBuckets": [entry]})
    assert message in str(error.value)


def test_a_comma_in_a_cdk_json_prefix_is_refused() -> None:
    with pytest.raises(SettingsError, match="comma"):
        Settings.from_context({"imageBuckets": ["customer-images/a,b/"]})


def test_more_image_buckets_than_the_roles_can_hold_fail_the_synth() -> None:
    entries = [f"bucket-{n:03d}" for n in range(21)]
    with pytest.raises(SettingsError, match="at most 20"):
        Settings.from_context({"imageBuckets": entries})


@pytest.mark.parametrize("raw", [{"a": 1}, [1, 2], "[not json"])
def test_image_buckets_must_be_a_list_of_strings(raw: Any) -> None:
    with pytest.raises(SettingsError, match="imageBuckets"):
        Settings.from_context({"imageBuckets": raw})


def test_image_kms_keys_are_key_arns() -> None:
    assert Settings.from_context({"imageKmsKeys": f"{KEY},{KEY}"}).image_kms_keys == (KEY,)
    assert Settings.from_context({"imageKmsKeys": [KEY]}).image_kms_keys == (KEY,)


@pytest.mark.parametrize(
    "raw",
    ["alias/images", "arn:aws:kms:eu-west-1:111122223333:alias/images", "1234abcd-12ab-34cd"],
)
def test_image_kms_keys_refuse_aliases_and_bare_ids(raw: str) -> None:
    with pytest.raises(SettingsError, match="not a KMS key ARN"):
        Settings.from_context({"imageKmsKeys": raw})


@pytest.mark.parametrize(
    ("raw", "minutes"), [(None, 60), ("", 60), ("0", 0), ("1", 1), (" 15 ", 15), (1440, 1440)]
)
def test_live_interval_is_whole_minutes_60_by_default_and_0_turns_it_off(
    raw: Any, minutes: int
) -> None:
    assert Settings.from_context({"liveIntervalMinutes": raw}).live_interval_minutes == minutes


@pytest.mark.parametrize("raw", ["-1", -5, "1.5", 2.5, "ten", "5m", True, "\u0661\u0665"])
def test_a_live_interval_that_is_no_whole_number_of_minutes_fails_the_synth(raw: Any) -> None:
    with pytest.raises(SettingsError, match="liveIntervalMinutes must be a whole number"):
        Settings.from_context({"liveIntervalMinutes": raw})
