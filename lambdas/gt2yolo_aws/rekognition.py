"""Rekognition Custom Labels behind the RekognitionDatasets step's port (`workflow.rekognition`).

Rekognition reads the manifest and the images with the caller's permissions (this function's
role), not with a bucket policy for the service: see docs/rekognition-project.md.
"""

from __future__ import annotations

from typing import Any

from workflow.rekognition import DatasetState

from gt2yolo_aws.adapters import transient_errors


class RekognitionCustomLabels:
    def __init__(self, client: Any) -> None:
        self.client = client

    def datasets(self, project_arn: str) -> dict[str, DatasetState]:
        """DescribeProjects filtered to the project's name (its ARN's `project/<name>/`)."""
        name = project_arn.split(":project/", 1)[1].rsplit("/", 1)[0]
        with transient_errors():
            answer = self.client.describe_projects(ProjectNames=[name])
        found: dict[str, DatasetState] = {}
        for project in answer.get("ProjectDescriptions", []):
            if project.get("ProjectArn") != project_arn:
                continue  # a project of the same name made earlier or later is another one
            for dataset in project.get("Datasets", []):
                found[dataset["DatasetType"]] = DatasetState(
                    arn=dataset["DatasetArn"],
                    status=dataset.get("Status", ""),
                    status_message=dataset.get("StatusMessage", ""),
                )
        return found

    def create(self, project_arn: str, dataset_type: str, bucket: str, key: str) -> str:
        source = {"GroundTruthManifest": {"S3Object": {"Bucket": bucket, "Name": key}}}
        with transient_errors():
            answer = self.client.create_dataset(
                ProjectArn=project_arn, DatasetType=dataset_type, DatasetSource=source
            )
        return str(answer["DatasetArn"])

    def delete(self, dataset_arn: str) -> None:
        with transient_errors():
            self.client.delete_dataset(DatasetArn=dataset_arn)

    def describe(self, dataset_arn: str) -> DatasetState:
        with transient_errors():
            description = self.client.describe_dataset(DatasetArn=dataset_arn)["DatasetDescription"]
        stats = description.get("DatasetStats") or {}
        return DatasetState(
            arn=dataset_arn,
            status=description.get("Status", ""),
            status_message=description.get("StatusMessage", ""),
            entries=stats.get("TotalEntries"),
            error_entries=stats.get("ErrorEntries"),
        )
