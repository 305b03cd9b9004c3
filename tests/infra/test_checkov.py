"""Checkov, a scanner independent of cdk-nag and cfn-lint, on the synthesized templates.

Both the defaults and every option on (`kmsKey=create`, the intake, filters, a subscription)
pass with no failed check. A check that does not apply is skipped on its one resource, with the
reason, by the stack (`stacks/constructs/scanner.py`): nothing is skipped for a whole template.
Checkov runs from its own virtual environment (its pins clash with the test environment's
boto3), built by `make install` from requirements-checkov.txt, offline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from stacks.constructs.scanner import CHECKOV_METADATA, skip_checkov

from .synthesis import EVERY_OPTION, REPO_ROOT, synth

CHECKOV = Path(
    os.environ.get("CHECKOV", REPO_ROOT / "build" / "tools" / "checkov" / "bin" / "checkov")
)
VARIANTS: dict[str, Mapping[str, Any]] = {"defaults": {}, "every_option": EVERY_OPTION}
# Offline: no platform download (guidelines, mappings) and no look-up of a newer release.
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
# Settings that would change what checkov checks, where it reports, or which Python modules its
# interpreter finds (the Makefile exports PYTHONPATH for ours); none reach the scan.
FOREIGN_ENV = re.compile(r"^(CKV_|CHECKOV_|BC_|PRISMA_|PYTHONPATH$|PYTHONHOME$)")
MIN_REASON_WORDS = 8
# Offline, checkov reports no guideline link; its policy index describes every check.
POLICY_INDEX = "https://www.checkov.io/5.Policy%20Index/cloudformation.html"


@dataclass(frozen=True)
class Scan:
    """One checkov run over one synthesized template."""

    command: list[str]
    template: Mapping[str, Any]
    report: dict[str, Any]

    @property
    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = self.report["summary"]
        return summary

    def results(self, kind: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.report["results"][f"{kind}_checks"]
        return found


def checkov_command(template: Path) -> list[str]:
    """How the tests run checkov: one template, CloudFormation checks only, JSON, no skip list."""
    return [
        str(CHECKOV),
        "--file",
        str(template),
        "--framework",
        "cloudformation",
        "--output",
        "json",
        "--skip-download",
    ]


def run_checkov(template: Mapping[str, Any], workdir: Path) -> Scan:
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is not installed at {CHECKOV}: run `make install`")
    path = workdir / "template.json"
    path.write_text(json.dumps(template, indent=1), encoding="utf-8")
    command = checkov_command(path)
    environment = {key: value for key, value in os.environ.items() if not FOREIGN_ENV.match(key)}
    # A .checkov.yaml in the working or home directory would be read: both are empty folders.
    environment |= CHECKOV_ENV | {"HOME": str(workdir)}
    finished = subprocess.run(
        command,
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Exit code 1 means failed checks, reported in the JSON like the rest.
    assert finished.returncode in (0, 1), finished.stderr[-3000:]
    report = json.loads(finished.stdout)
    if isinstance(report, list):  # one report per framework when several ran
        [report] = report
    return Scan(command, template, report)


@pytest.fixture(scope="module", params=list(VARIANTS))
def scan(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    template = synth(VARIANTS[request.param]).to_json()
    return run_checkov(template, tmp_path_factory.mktemp(f"checkov-{request.param}"))


def _logical_id(result: Mapping[str, Any]) -> str:
    # checkov names a resource "<Type>.<LogicalId>".
    return str(result["resource"]).split(".", 1)[1]


def _describe(result: Mapping[str, Any]) -> str:
    guideline = result.get("guideline") or POLICY_INDEX
    return f"{result['check_id']} on {_logical_id(result)}: {result['check_name']} ({guideline})"


def _metadata_skips(template: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(logical ID, check ID) -> comment, for every checkov skip in the template's metadata."""
    return {
        (logical_id, skip["id"]): skip.get("comment", "")
        for logical_id, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get(CHECKOV_METADATA, {}).get("skip", [])
    }


def test_checkov_finds_no_failed_check(scan: Scan) -> None:
    failures = [_describe(result) for result in scan.results("failed")]
    assert failures == [], "checkov failed checks:\n" + "\n".join(failures)
    assert scan.summary["failed"] == 0


def test_checkov_parsed_and_checked_every_resource(scan: Scan) -> None:
    assert scan.summary["parsing_errors"] == 0
    assert scan.summary["resource_count"] == len(scan.template["Resources"])
    checked = {_logical_id(result) for result in scan.results("passed")}
    checked |= {_logical_id(result) for result in scan.results("skipped")}
    # Every bucket, key, function, log group, queue, role and topic had at least one check.
    for logical_id, resource in scan.template["Resources"].items():
        if resource["Type"] in {
            "AWS::S3::Bucket",
            "AWS::KMS::Key",
            "AWS::Lambda::Function",
            "AWS::Logs::LogGroup",
            "AWS::SQS::Queue",
            "AWS::IAM::Role",
            "AWS::SNS::Topic",
        }:
            assert logical_id in checked, logical_id


def test_every_skip_carries_a_written_reason(scan: Scan) -> None:
    skipped = scan.results("skipped")
    assert skipped, "the stack skips checks that do not apply (see stacks/constructs/scanner.py)"
    for result in skipped:
        comment = result["check_result"].get("suppress_comment") or ""
        # checkov's placeholder when a skip has no comment
        assert comment != "No comment provided", _describe(result)
        assert len(comment.split()) >= MIN_REASON_WORDS, _describe(result)


def test_every_skip_is_on_its_resource_and_still_needed(scan: Scan) -> None:
    # The skips checkov applied are exactly those written on the resources; a skip that no
    # longer matches a finding would silently excuse a future one.
    applied = {
        (_logical_id(result), result["check_id"]): result["check_result"]["suppress_comment"]
        for result in scan.results("skipped")
    }
    assert applied == _metadata_skips(scan.template)


def test_no_check_is_skipped_for_the_whole_template(scan: Scan) -> None:
    global_options = {"--skip-check", "--check", "-c", "--config-file", "--baseline", "-s"}
    assert not global_options & set(scan.command)
    # --skip-download keeps checkov offline; it filters no check.
    options = [arg for arg in scan.command[1:] if arg.startswith("-") and arg != "--skip-download"]
    assert not [arg for arg in options if arg.startswith(("--skip", "--soft-fail", "--hard"))]


def test_the_docs_list_every_skipped_check(scan: Scan) -> None:
    page = (REPO_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(CKV2?_AWS_\d+)`", page, flags=re.MULTILINE))
    assert {check_id for _, check_id in _metadata_skips(scan.template)} <= listed


# --- the helper ---------------------------------------------------------------------------


def _scratch_resource() -> cdk.CfnResource:
    stack = cdk.Stack(cdk.App(), "Scratch")
    return cdk.CfnResource(stack, "Queue", type="AWS::SQS::Queue")


def test_skip_checkov_keeps_what_the_resource_already_has() -> None:
    resource = _scratch_resource()
    resource.add_metadata(CHECKOV_METADATA, {"skip": [{"id": "CKV_AWS_27", "comment": "first"}]})
    skip_checkov(resource, "CKV_AWS_73", "second")
    assert resource.get_metadata(CHECKOV_METADATA) == {
        "skip": [
            {"id": "CKV_AWS_27", "comment": "first"},
            {"id": "CKV_AWS_73", "comment": "second"},
        ]
    }


@pytest.mark.parametrize(("check_id", "reason"), [("CKV_AWS_73", " "), ("CKV_AWS_27", "again")])
def test_skip_checkov_refuses_a_skip_without_reason_or_twice(check_id: str, reason: str) -> None:
    resource = _scratch_resource()
    skip_checkov(resource, "CKV_AWS_27", "SSE-SQS")
    with pytest.raises(ValueError, match=check_id):
        skip_checkov(resource, check_id, reason)
