"""Live datasets: while a labeling job is in progress, convert its newest intermediate manifest.

Run on a schedule. One ListLabelingJobs (InProgress) per tick; for each job the stack watches,
DescribeLabelingJob (only it names the output path) and two listings of the job's
`manifests/intermediate/` folder. A job with a new intermediate manifest gets one execution of
the conversion state machine, named after the job, the folder number and the manifest's ETag:
Step Functions refuses a second execution of that name, so a manifest converts once however
many ticks see it. Resolve checks the job again when the execution starts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from workflow.resolve import (
    INTERMEDIATE_FOLDER,
    INTERMEDIATE_NAME,
    LIVE_SOURCE,
    LIVE_TICK,
    ResolveSettings,
    in_bucket,
    is_iteration,
    job_folder,
)

EXECUTION_NAME_PREFIX = "live-"
# Step Functions execution names: at most 80 characters. Job names reach 63, so the name keeps
# a readable start of the job name and a digest of everything that makes the run unique.
JOB_NAME_SHOWN = 40
DIGEST_CHARS = 32


class InProgressJobs(Protocol):
    def in_progress(self) -> Iterator[str]: ...

    def describe(self, job_name: str) -> dict[str, Any]: ...


class Listing(Protocol):
    def folders(self, bucket: str, prefix: str) -> list[str]: ...

    def etag(self, bucket: str, key: str) -> str | None: ...


class Executions(Protocol):
    def start(self, name: str, state_input: dict[str, Any]) -> bool:
        """Start an execution; False when one of that name exists already."""
        ...


@dataclass(frozen=True)
class LiveSettings:
    resolve: ResolveSettings
    groundtruth_prefix: str = "groundtruth/"

    def holds(self, job_folder_uri: str) -> bool:
        """Whether the job writes under the stack's Ground Truth prefix (where it may list)."""
        bucket = self.resolve.bucket
        key = job_folder_uri.removeprefix(f"s3://{bucket}/")
        return in_bucket(job_folder_uri, bucket) and key.startswith(self.groundtruth_prefix)


@dataclass(frozen=True)
class IntermediateManifest:
    job_name: str
    iteration: int
    uri: str
    etag: str

    def execution_name(self) -> str:
        unique = f"{self.job_name}\n{self.iteration}\n{self.etag}".encode()
        digest = hashlib.sha256(unique).hexdigest()[:DIGEST_CHARS]
        return f"{EXECUTION_NAME_PREFIX}{self.job_name[:JOB_NAME_SHOWN]}-{digest}"

    def tick(self) -> dict[str, Any]:
        """The state machine input Resolve reads (`workflow.resolve.resolve_live_tick`)."""
        return {
            "source": LIVE_SOURCE,
            "detail-type": LIVE_TICK,
            "detail": {
                "job_name": self.job_name,
                "manifest_uri": self.uri,
                "iteration": self.iteration,
                "etag": self.etag,
            },
        }


@dataclass
class SweepSummary:
    """What one tick did, job by job (for the log)."""

    in_progress: int = 0
    started: list[str] = field(default_factory=list)
    already_converted: list[str] = field(default_factory=list)
    not_ours: list[str] = field(default_factory=list)
    no_intermediate_manifest: list[str] = field(default_factory=list)


def newest_iteration(folders: Iterable[str]) -> int | None:
    """The highest numbered intermediate folder (by number: 10 is newer than 9); others ignored."""
    numbers = [int(name) for name in folders if is_iteration(name)]
    return max(numbers, default=None)


def sweep(
    settings: LiveSettings, jobs: InProgressJobs, listing: Listing, executions: Executions
) -> SweepSummary:
    # Listed whole first: the listing's pages stay consistent while jobs are looked at.
    names = list(jobs.in_progress())
    summary = SweepSummary(in_progress=len(names))
    for job_name in names:
        if not settings.resolve.watches(job_name):
            summary.not_ours.append(job_name)
            continue
        folder = job_folder(jobs.describe(job_name))
        if not settings.holds(folder):
            summary.not_ours.append(job_name)
            continue
        manifest = newest_manifest(job_name, folder, settings.resolve.bucket, listing)
        if manifest is None:
            summary.no_intermediate_manifest.append(job_name)
        elif executions.start(manifest.execution_name(), manifest.tick()):
            summary.started.append(job_name)
        else:
            summary.already_converted.append(job_name)
    return summary


def newest_manifest(
    job_name: str, folder_uri: str, bucket: str, listing: Listing
) -> IntermediateManifest | None:
    """The output manifest of the job's newest intermediate folder, if it is there yet."""
    prefix = folder_uri.removeprefix(f"s3://{bucket}/") + INTERMEDIATE_FOLDER
    iteration = newest_iteration(listing.folders(bucket, prefix))
    if iteration is None:
        return None
    key = f"{prefix}{iteration}/{INTERMEDIATE_NAME}"
    etag = listing.etag(bucket, key)
    if etag is None:
        return None
    return IntermediateManifest(job_name, iteration, f"s3://{bucket}/{key}", etag)
