"""Where the stack may read labeling jobs' outputs: its own bucket, and `sourceBuckets`.

Past jobs wrote their output (output manifest, label config, worker responses) wherever their
`S3OutputPath` said, usually a bucket of the team's own. The stack reads a job's output in
another bucket only when deployed with `sourceBuckets` naming it (a bucket, or `bucket/prefix`);
Resolve refuses anything else before a conversion starts, and the backfill skips it, both
naming the option to set. A bucket of another account also needs the bucket policy of the stack
output `SourceBucketPolicy<n>` (n: the bucket's position in `sourceBuckets`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gt2yolo.storage import ReadDenied, S3Uri

SOURCE_OPTION = "sourceBuckets"
BUCKET_POLICY_OUTPUT = "SourceBucketPolicy"  # stacks.constructs.image_sources, + position
KEY_OPTION = "imageKmsKeys"


@dataclass(frozen=True)
class SourceBuckets:
    entries: tuple[str, ...] = field(default_factory=tuple)  # "bucket" or "bucket/prefix"

    @classmethod
    def from_setting(cls, setting: str) -> SourceBuckets:
        return cls(tuple(entry.strip() for entry in setting.split(",") if entry.strip()))

    def holds(self, uri: str) -> bool:
        try:
            location = S3Uri.parse(uri)
        except ValueError:
            return False
        for entry in self.entries:
            bucket, _, prefix = entry.partition("/")
            if location.bucket == bucket and location.key.startswith(prefix):
                return True
        return False

    def buckets(self) -> list[str]:
        return list(dict.fromkeys(entry.partition("/")[0] for entry in self.entries))

    def problem(self, uri: str, stack_bucket: str, what: str) -> str | None:
        """Why the stack may not read `uri` (None: it may)."""
        if uri.startswith(f"s3://{stack_bucket}/") or self.holds(uri):
            return None
        entry = _entry_for(uri)
        listed = ",".join([*self.entries, entry])
        return (
            f"{what} {uri} is outside bucket {stack_bucket} and the {SOURCE_OPTION} the stack "
            f"may read: deploy with `-c {SOURCE_OPTION}={listed}`, or copy it under "
            f"s3://{stack_bucket}/ and drop the manifest into manifests/"
        )

    def denied(self, denied: ReadDenied) -> str:
        """What to do when S3 refuses a read the stack's role allows."""
        bucket = denied.bucket
        said = f"S3 refused {denied.operation} of {denied.uri} ({denied.code})"
        buckets = self.buckets()
        if bucket not in buckets:
            return f"{said}: the stack reads only its own bucket's objects there"
        position = buckets.index(bucket) + 1
        return (
            f"{said}: if bucket {bucket} is in another account, its owner adds the stack output "
            f"{BUCKET_POLICY_OUTPUT}{position} to its bucket policy; if its objects are encrypted "
            f"with a KMS key, deploy with `-c {KEY_OPTION}=<key ARN>`"
        )


def _entry_for(uri: str) -> str:
    """The sourceBuckets entry for an object: its bucket (a job's output folder is anywhere)."""
    try:
        return S3Uri.parse(uri).bucket
    except ValueError:
        return uri
