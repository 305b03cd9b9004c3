"""Error types whose names drive the state machine's Retry and Catch (the Lambda errorType)."""


class TransientAwsError(Exception):
    """Throttling or a service hiccup: the state machine retries with backoff."""


class ResolveError(Exception):
    """The event names something this pipeline cannot convert (no output, wrong bucket...)."""


THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "SlowDown", "ServiceUnavailable", "InternalError",
    "InternalFailure", "RequestTimeout", "RequestTimeoutException",
})  # fmt: skip


class ConversionInProgress(Exception):
    """Another execution is converting this dataset (a duplicate event): retry later."""


class FanOutFailed(Exception):
    """A chunk of a fanned-out conversion failed after its retries; the dataset is not published."""


class ImageAccessDenied(Exception):
    """S3 refused to let the stack read the images of a bucket: a deployment setting (or the
    bucket's policy, or a KMS key) must change; the message names the bucket and the option."""
