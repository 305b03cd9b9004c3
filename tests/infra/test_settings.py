"""Settings: context values are parsed and checked before anything is synthesized."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions
from gt2yolo.split import SplitFractions
from gt2yolo_config import defaults
from gt2yolo_config.environment import (
    BUCKET_NAME,
    ENVIRONMENTS,
    GIVEN_UNREAD,
    READ_BY_POWERTOOLS,
    ConvertEnv,
    NotifyEnv,
    ReportEnv,
    Source,
    render,
    variables,
)

from stacks import gt2yolo_stack
from stacks.app_factory import cdk_json_context
from stacks.settings import CONTEXT_KEYS, ImageSource, Settings, SettingsError

from .cfn import resources
from .synthesis import EVERY_OPTION, Synthesize


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


# --- the configuration contract: the stack sets what each handler reads, nothing else --------

REPO_ROOT = Path(__file__).resolve().parents[2]
# Shapes that together deploy every function, with every optional value set and unset.
CONTRACT_SHAPES = {
    "default": {},
    "every option": EVERY_OPTION,
    "intake and live datasets off": {"intake": "false", "liveIntervalMinutes": "0"},
}


def _function_environments(template: assertions.Template) -> dict[str, dict[str, Any]]:
    """Handler -> the environment variables its function is deployed with."""
    found: dict[str, dict[str, Any]] = {}
    for function in resources(template, "AWS::Lambda::Function").values():
        props = function["Properties"]
        if str(props.get("Handler", "")).startswith("handlers."):
            found[props["Handler"]] = props.get("Environment", {}).get("Variables", {})
    return found


def _read_by_handler(handler: str) -> set[str]:
    """What the handler's environment class declares, less what Lambda itself sets."""
    return {v.name for v in variables(ENVIRONMENTS[handler]) if v.source is Source.STACK}


@pytest.mark.parametrize("shape", list(CONTRACT_SHAPES), ids=list(CONTRACT_SHAPES))
def test_every_function_gets_exactly_the_variables_its_handler_reads(
    synthesize: Synthesize, shape: str
) -> None:
    # Given the functions of a deploy shape
    deployed = _function_environments(synthesize(CONTRACT_SHAPES[shape]))
    assert deployed
    for handler, environment in deployed.items():
        # Then each handler has an environment in the contract
        assert handler in ENVIRONMENTS, handler
        got = set(environment) - READ_BY_POWERTOOLS
        unread = GIVEN_UNREAD.get(ENVIRONMENTS[handler], frozenset())
        # and the stack sets every variable the handler reads, and no other
        assert got - unread == _read_by_handler(handler), handler
        # (Powertools reads its own two, in every function)
        assert set(environment) >= READ_BY_POWERTOOLS, handler


def test_the_only_variable_given_unread_is_the_bucket_to_notify_failure() -> None:
    # The factory gives BUCKET_NAME to every function; NotifyFailure only publishes.
    assert {NotifyEnv: frozenset({BUCKET_NAME})} == GIVEN_UNREAD
    assert all(BUCKET_NAME in _read_by_handler(h) for h, e in ENVIRONMENTS.items()
               if e is not NotifyEnv)  # fmt: skip


def test_every_environment_of_the_contract_belongs_to_a_deployed_function(
    synthesize: Synthesize,
) -> None:
    assert set(_function_environments(synthesize(EVERY_OPTION))) == set(ENVIRONMENTS)


def _parsed(kind: type, text: str) -> Any:
    """A variable's text as the handler's pydantic model reads it (the forms the stack writes)."""
    if kind is bool:
        assert text in ("true", "false"), text
        return text == "true"
    return kind(text)


def test_the_values_the_stack_sets_by_default_are_the_handlers_defaults(
    template: assertions.Template,
) -> None:
    # Given the default deployment's literal variables (not references to resources)
    for handler, environment in _function_environments(template).items():
        for variable in variables(ENVIRONMENTS[handler]):
            value = environment.get(variable.name)
            if variable.required or not isinstance(value, str):
                continue
            # Then each parses to the default the handler falls back on without it
            assert _parsed(variable.type, value) == variable.default, (handler, variable.name)


def test_the_contract_references_the_cores_defaults() -> None:
    from gt2yolo.fanout import DEFAULT_CHUNK_BYTES
    from gt2yolo.insights.sampling import DEFAULT_FLAGGED_LIMIT, DEFAULT_SAMPLE
    from gt2yolo.versions import DEFAULT_KEEP

    split = SplitFractions()
    by_name = {v.name: v.default for v in variables(ConvertEnv)}
    assert (by_name["VAL_FRACTION"], by_name["TEST_FRACTION"]) == (split.val, split.test)
    assert by_name["CHUNK_BYTES"] == DEFAULT_CHUNK_BYTES
    report = {v.name: v.default for v in variables(ReportEnv)}
    assert (report["PREVIEW_SAMPLE"], report["PREVIEW_FLAGGED_LIMIT"]) == (
        DEFAULT_SAMPLE,
        DEFAULT_FLAGGED_LIMIT,
    )
    assert defaults.KEEP_VERSIONS == DEFAULT_KEEP


def test_rendering_refuses_a_variable_the_handler_does_not_read_and_one_left_out() -> None:
    given: dict[str, str | int | bool] = {
        "GROUNDTRUTH_PREFIX": "groundtruth/",
        "PREVIEW_SAMPLE": 50,
    }
    with pytest.raises(ValueError, match="missing variables \\['PREVIEW_FLAGGED_LIMIT'\\]"):
        render(ReportEnv, **given)
    with pytest.raises(ValueError, match="unknown variables \\['PREVIEW_LIMIT'\\]"):
        render(ReportEnv, **given, PREVIEW_FLAGGED_LIMIT=500, PREVIEW_LIMIT=5)
    assert render(ReportEnv, **given, PREVIEW_FLAGGED_LIMIT=500) == {
        "GROUNDTRUTH_PREFIX": "groundtruth/",
        "PREVIEW_SAMPLE": "50",
        "PREVIEW_FLAGGED_LIMIT": "500",
    }


# --- the context defaults, where they are written for people --------------------------------

# Context key -> its default as documentation writes it (from the parsed defaults).
_DEFAULTS = Settings.from_context({})
DOCUMENTED_DEFAULTS = {
    "convertStoppedJobs": "false",
    "intake": "true",
    "valFraction": _DEFAULTS.val_fraction,
    "testFraction": _DEFAULTS.test_fraction,
    "powertoolsLayerVersion": str(_DEFAULTS.powertools_layer_version),
    "fanOutThresholdMiB": str(_DEFAULTS.fan_out_threshold_mib),
    "chunkMiB": str(_DEFAULTS.chunk_mib),
    "maxChunkConcurrency": str(_DEFAULTS.max_chunk_concurrency),
    "keepVersions": str(_DEFAULTS.keep_versions),
    "liveIntervalMinutes": str(_DEFAULTS.live_interval_minutes),
}


def test_the_context_defaults_come_from_the_contract() -> None:
    assert float(_DEFAULTS.val_fraction) == defaults.SPLIT.val
    assert float(_DEFAULTS.test_fraction) == defaults.SPLIT.test
    assert _DEFAULTS.fan_out_threshold_mib * defaults.MIB == defaults.FAN_OUT_BYTES
    assert _DEFAULTS.chunk_mib * defaults.MIB == defaults.CHUNK_BYTES
    assert _DEFAULTS.keep_versions == defaults.KEEP_VERSIONS
    assert not _DEFAULTS.convert_stopped_jobs


def _docstring_defaults() -> dict[str, str]:
    """`key` -> the text after "Default:" in its entry of the stack's docstring."""
    found: dict[str, str] = {}
    for entry in (gt2yolo_stack.__doc__ or "").split("\n- `")[1:]:
        key, _, text = entry.partition("`")
        default = re.search(r'Default: "?([^".\s]+(?:\.\d+)?)"?', " ".join(text.split()))
        if default is not None:
            found[key] = default.group(1)
    return found


def test_the_stack_docstring_states_the_contracts_defaults() -> None:
    documented = _docstring_defaults()
    assert {key: documented.get(key) for key in DOCUMENTED_DEFAULTS} == DOCUMENTED_DEFAULTS


def _table_defaults(text: str) -> dict[str, str]:
    """The `| `key` / `key` | default / default |` rows of a markdown table of context values."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not re.fullmatch(r"`\w+`( / `\w+`)*", cells[0]):
            continue
        keys = re.findall(r"`(\w+)`", cells[0])
        values = [value.strip() for value in cells[1].split(" / ")]
        if len(keys) == len(values):
            found.update(zip(keys, values, strict=True))
    return found


def test_the_documented_context_tables_state_the_contracts_defaults() -> None:
    pages = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
    documented: dict[str, str] = {}
    for page in pages:
        if page.is_file():
            documented.update(_table_defaults(page.read_text(encoding="utf-8")))
    compared = {key: documented[key] for key in DOCUMENTED_DEFAULTS if key in documented}
    assert "valFraction" in compared, "no table of context values found in the docs"
    assert compared == {key: DOCUMENTED_DEFAULTS[key] for key in compared}


def test_cdk_json_sets_no_context_value_other_than_its_default() -> None:
    context: Mapping[str, Any] = cdk_json_context()
    for key in set(context) & set(DOCUMENTED_DEFAULTS):
        assert str(context[key]).lower() == DOCUMENTED_DEFAULTS[key], key


# --- the handlers build the use cases' settings from the same contract ------------------------


def test_the_handlers_defaults_are_the_use_cases_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from handlers import settings
    from workflow.convert import ConvertSettings
    from workflow.report_settings import ReportSettings

    # Given a function deployed with only what it requires
    for name in {v.name for env in ENVIRONMENTS.values() for v in variables(env)}:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(BUCKET_NAME, "gt2yolo-data")
    settings.reset()
    try:
        # Then every setting it falls back on is the use case's own default
        assert settings.convert_settings() == ConvertSettings(bucket="gt2yolo-data")
        assert settings.convert_chunk_settings() == ConvertSettings(bucket="gt2yolo-data")
        assert settings.finalize_settings() == ConvertSettings(bucket="gt2yolo-data")
        assert settings.report_settings() == ReportSettings(bucket="gt2yolo-data")
    finally:
        settings.reset()


def test_the_handlers_parse_each_environment_class_with_its_own_fields() -> None:
    from handlers.settings import _model

    for environment in set(ENVIRONMENTS.values()):
        fields = _model(environment).model_fields
        assert list(fields) == [f.name for f in dataclasses.fields(environment)]
        for variable in variables(environment):
            assert fields[variable.name].is_required() is variable.required


# --- collections ----------------------------------------------------------------------------

PARTS = {"name": "parts", "jobs": ["parts-batch-*"], "manifests": ["manifests/parts/*.manifest"]}


@pytest.mark.parametrize("raw", [[PARTS], json.dumps([PARTS])], ids=["cdk.json", "-c"])
def test_collections_are_a_list_in_cdk_json_or_its_json_with_dash_c(raw: Any) -> None:
    (parts,) = Settings.from_context({"collections": raw}).collections
    assert parts.name == "parts" and parts.has_job("parts-batch-7")
    assert parts.has_manifest("manifests/parts/b3.manifest")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[{", "not JSON"),
        ([{"name": "parts"}], "parts"),
        ([PARTS, PARTS], "parts"),
        ([{"name": "../up", "jobs": ["x"]}], "up"),
        ([{"name": "parts", "jobs": ["p-*"], "onOverlap": "newest"}], "onOverlap"),
    ],
)
def test_a_collection_that_cannot_be_used_fails_the_synth_naming_it(raw: Any, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        Settings.from_context({"collections": raw})


def test_collections_too_long_for_resolves_environment_fail_the_synth() -> None:
    many = [{"name": f"set-{i}", "jobs": [f"job-{i}-{'x' * 40}-*"]} for i in range(60)]
    with pytest.raises(SettingsError, match="Resolve's environment"):
        Settings.from_context({"collections": many})


def test_resolve_reads_the_collections_the_stack_was_given(synthesize: Synthesize) -> None:
    environments = _function_environments(synthesize({"collections": json.dumps([PARTS])}))
    given = json.loads(environments["handlers.resolve.handler"]["COLLECTIONS"])
    assert given == [PARTS | {"onOverlap": "latest", "classes": []}]


# --- rekognitionProject ----------------------------------------------------------------------

PROJECT = "arn:aws:rekognition:eu-west-1:111122223333:project/parts/1700000000000"


def test_a_rekognition_project_is_taken_with_the_rekognition_export() -> None:
    # Given a project ARN and the Rekognition export
    settings = Settings.from_context({"exports": "coco,rekognition", "rekognitionProject": PROJECT})
    # Then the project is kept as given; without the option there is none
    assert settings.rekognition_project == PROJECT
    assert Settings.from_context({"exports": "rekognition"}).rekognition_project is None


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:rekognition:eu-west-1:111122223333:project/parts",  # no creation timestamp
        "arn:aws:rekognition:eu-west-1:111122223333:project/parts/version/v1/1700000000000",
        "arn:aws:rekognition:eu-west-1:111122223333:project/parts/dataset/train/1700000000000",
        "arn:aws:rekognition:eu-west-1:1111:project/parts/1700000000000",  # not an account
        "arn:aws:sagemaker:eu-west-1:111122223333:project/parts/1700000000000",
        "arn:aws:rekognition:eu-west-1:111122223333:project/my parts/1700000000000",
        "parts",
    ],
)
def test_a_rekognition_project_that_is_no_project_arn_fails_the_synth(arn: str) -> None:
    # Given something other than a Custom Labels project ARN
    # Then the synth fails, showing the ARN's form
    with pytest.raises(SettingsError, match="project/<name>/<creation timestamp>"):
        Settings.from_context({"exports": "rekognition", "rekognitionProject": arn})


@pytest.mark.parametrize("exports", [None, "coco", "coco,sagemaker", "[]"])
def test_a_rekognition_project_without_the_rekognition_export_fails_naming_both(
    exports: str | None,
) -> None:
    # Given a project but no Rekognition manifests to create its datasets from
    context = {"rekognitionProject": PROJECT}
    if exports is not None:
        context["exports"] = exports
    # Then the synth fails, naming both options
    with pytest.raises(SettingsError, match=r'rekognitionProject.*"rekognition" to exports'):
        Settings.from_context(context)
