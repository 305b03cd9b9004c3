"""Where conversions read images and job outputs: the stack's own `images/`, and the buckets of
`imageBuckets` and `sourceBuckets`.

Ground Truth jobs usually label images in the customer's own buckets (any name, any account,
often SSE-KMS); their manifests name those images. The functions that read images (Convert,
ConvertChunk, Report) get `read_statements()`:

- s3:GetObject on each source's keys (`arn:aws:s3:::<bucket>/<prefix>*`), and on `images/*` of
  the stack's bucket;
- s3:ListBucket on each bucket, limited by `s3:prefix` to the sources' prefixes (none for a whole
  bucket), so that S3 answers 404 for a missing image (a counted `image_not_found`), not 403;
- kms:Decrypt on each key of `imageKmsKeys`, only through S3 in the key's region (an SSE-KMS
  object's key is in its bucket's region).

A bucket of another account must also grant those roles in its bucket policy: the document to
add is the stack output `ImageBucketPolicy<n>`, one per bucket, in the order of `imageBuckets`;
a key of another account, in its key policy: the statement of the output `ImageKeyPolicyStatement`.

`sourceBuckets` names where past labeling jobs wrote their output (output manifests, label
configs, worker responses): the same readers read them (and the images there: a job's output
bucket usually holds its images too), and so does the Backfill function (the first byte of each
output manifest). Its bucket policies are the outputs `SourceBucketPolicy<n>`, in the order of
`sourceBuckets`, naming those roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

from stacks.constructs.dataset_storage import IMAGES_PREFIX, DatasetStorage
from stacks.constructs.functions import list_under
from stacks.settings import ImageSource, Settings

BUCKET_POLICY_OUTPUT = "ImageBucketPolicy"  # + the bucket's position (1, 2, ...)
SOURCE_POLICY_OUTPUT = "SourceBucketPolicy"  # + the bucket's position in sourceBuckets
KEY_POLICY_OUTPUT = "ImageKeyPolicyStatement"
POLICY_VERSION = "2012-10-17"


@dataclass(frozen=True)
class ImageSources:
    """The image sources of one deployment, as IAM statements, a setting and policies."""

    settings: Settings
    storage: DatasetStorage

    @property
    def buckets(self) -> list[str]:
        """The other buckets, each once, in the order of `imageBuckets` (the outputs' order)."""
        return _buckets(self.settings.image_buckets)

    @property
    def readable(self) -> tuple[ImageSource, ...]:
        """Every entry of `imageBuckets`, then of `sourceBuckets`, once."""
        return tuple(dict.fromkeys(self.settings.image_buckets + self.settings.source_buckets))

    def sources_in(self, bucket: str) -> list[ImageSource]:
        return [source for source in self.readable if source.bucket == bucket]

    # --- the readers' roles -----------------------------------------------------------------

    def read_statements(self) -> list[iam.PolicyStatement]:
        objects = [self.storage.objects_arn(IMAGES_PREFIX)]
        objects += [object_arn(source) for source in self.readable]
        return [
            iam.PolicyStatement(actions=["s3:GetObject"], resources=objects),
            list_under(self.storage, IMAGES_PREFIX),
            *self._other_bucket_statements(self.readable),
        ]

    def source_read_statements(self) -> list[iam.PolicyStatement]:
        """Reading the `sourceBuckets` only (the Backfill function: output manifests' heads)."""
        sources = self.settings.source_buckets
        if not sources:
            return []
        reading = iam.PolicyStatement(
            actions=["s3:GetObject"], resources=[object_arn(source) for source in sources]
        )
        return [reading, *self._other_bucket_statements(sources)]

    def _other_bucket_statements(
        self, sources: tuple[ImageSource, ...]
    ) -> list[iam.PolicyStatement]:
        """ListBucket on each bucket (limited to its prefixes), and the keys' kms:Decrypt."""
        statements = []
        for bucket in _buckets(sources):
            statements.append(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[bucket_arn(bucket)],
                    conditions=_list_condition([s for s in sources if s.bucket == bucket]),
                )
            )
        for key in self.settings.image_kms_keys:
            statements.append(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[key],
                    conditions={"StringEquals": {"kms:ViaService": s3_endpoint(key_region(key))}},
                )
            )
        return statements

    def _list_condition(self, bucket: str) -> dict[str, Any] | None:
        return _list_condition(self.sources_in(bucket))

    @property
    def setting(self) -> str:
        """The sources as the readers' IMAGE_BUCKETS variable has them: comma separated (a
        reader names the option to set when S3 refuses an image)."""
        return ",".join(str(source) for source in self.readable)

    # --- what the owners of other accounts' buckets and keys add ----------------------------

    def bucket_policies(self, roles: list[iam.IRole]) -> dict[str, dict[str, Any]]:
        """Bucket -> the bucket policy that lets `roles` read its images (from any account)."""
        return self._policies(self.buckets, roles)

    def source_bucket_policies(self, roles: list[iam.IRole]) -> dict[str, dict[str, Any]]:
        """Bucket of `sourceBuckets` -> the bucket policy that lets `roles` read what it holds."""
        return self._policies(_buckets(self.settings.source_buckets), roles)

    def _policies(self, buckets: list[str], roles: list[iam.IRole]) -> dict[str, dict[str, Any]]:
        principal = {"AWS": [role.role_arn for role in roles]}
        policies = {}
        for bucket in buckets:
            listing: dict[str, Any] = {
                "Sid": "Gt2YoloListImages",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:ListBucket",
                "Resource": bucket_arn(bucket),
            }
            condition = self._list_condition(bucket)
            if condition is not None:
                listing["Condition"] = condition
            reading = {
                "Sid": "Gt2YoloReadImages",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:GetObject",
                "Resource": [object_arn(source) for source in self.sources_in(bucket)],
            }
            policies[bucket] = {"Version": POLICY_VERSION, "Statement": [reading, listing]}
        return policies

    def key_policy_statement(self, roles: list[iam.IRole]) -> dict[str, Any] | None:
        """The key policy statement that lets `roles` decrypt images through S3, if any key."""
        keys = self.settings.image_kms_keys
        if not keys:
            return None
        regions = sorted({key_region(key) for key in keys})
        return {
            "Sid": "Gt2YoloDecryptImages",
            "Effect": "Allow",
            "Principal": {"AWS": [role.role_arn for role in roles]},
            "Action": "kms:Decrypt",
            "Resource": "*",  # in a key policy: this key
            "Condition": {"StringEquals": {"kms:ViaService": [s3_endpoint(r) for r in regions]}},
        }


def _list_condition(sources: list[ImageSource]) -> dict[str, Any] | None:
    prefixes = [source.prefix for source in sources]
    if "" in prefixes:
        return None  # the whole bucket is a source
    return {"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}}


def _buckets(sources: tuple[ImageSource, ...]) -> list[str]:
    return list(dict.fromkeys(source.bucket for source in sources))


def bucket_arn(bucket: str) -> str:
    return f"arn:{cdk.Aws.PARTITION}:s3:::{bucket}"


def object_arn(source: ImageSource) -> str:
    return f"{bucket_arn(source.bucket)}/{source.prefix}*"


def key_region(key_arn: str) -> str:
    return key_arn.split(":")[3]


def s3_endpoint(region: str) -> str:
    return f"s3.{region}.amazonaws.com"
