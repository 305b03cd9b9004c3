"""IAM for S3 in the local cloud: each function's S3 requests are allowed or refused by its role.

moto enforces no IAM here (its own option checks every service and every caller, and ignores
policy conditions and bucket policies; a ListBucket limited by `s3:prefix` would never pass).
So the local cloud puts this gate in front of moto's HTTP server: a request signed with a
function's credentials (each sandbox gets its own access key) is mapped to the IAM actions and
resources S3 authorizes it by (GetObject of `arn:aws:s3:::bucket/key`, ListBucket of the bucket
with `s3:prefix`, CopyObject = GetObject of the source + PutObject of the target, DeleteObjects
= DeleteObject of each key, ...), and evaluated against the statements of the policies attached
to the function's role in the template: an explicit Deny refuses, an Allow permits, nothing
refuses. A bucket the cloud was told belongs to another account also needs an Allow for the
role in that bucket's policy (read from moto at each request), as S3 requires across accounts.
A refusal is S3's: 403 AccessDenied, with IAM's message.

Not emulated: the stack's own bucket policy (its TLS-only Deny would refuse loopback HTTP),
KMS key policies and grants, SCPs, session policies, other services than S3; requests signed
with any other credentials (the test, the demo, moto's own Step Functions) pass unchecked.
"""

from __future__ import annotations

import fnmatch
import io
import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.etree import ElementTree

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

S3_ARN = "arn:aws:s3:::"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/")


@dataclass(frozen=True)
class Check:
    """One authorization S3 makes for a request: an action on a resource, with its context."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Identity:
    """Who signed a request: a function, its role, the statements of the role's policies."""

    function: str
    role_arn: str
    statements: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Denial:
    function: str
    method: str
    path: str
    check: Check
    reason: str


class UnknownS3Request(Exception):
    """A request whose IAM action the gate does not know: extend `s3_checks` rather than guess."""


# --- requests -> checks --------------------------------------------------------------------

# Bucket subresources (a query parameter without value) -> the action per HTTP method.
_BUCKET_SUBRESOURCES = {
    "versions": {"GET": "s3:ListBucketVersions"},
    "uploads": {"GET": "s3:ListBucketMultipartUploads"},
    "location": {"GET": "s3:GetBucketLocation"},
    "cors": {"GET": "s3:GetBucketCORS", "PUT": "s3:PutBucketCORS", "DELETE": "s3:PutBucketCORS"},
    "versioning": {"GET": "s3:GetBucketVersioning", "PUT": "s3:PutBucketVersioning"},
    "policy": {"GET": "s3:GetBucketPolicy", "PUT": "s3:PutBucketPolicy",
               "DELETE": "s3:DeleteBucketPolicy"},
    "tagging": {"GET": "s3:GetBucketTagging", "PUT": "s3:PutBucketTagging"},
    "notification": {"GET": "s3:GetBucketNotification", "PUT": "s3:PutBucketNotification"},
}  # fmt: skip
_OBJECT_SUBRESOURCES = {
    "tagging": {"GET": "s3:GetObjectTagging", "PUT": "s3:PutObjectTagging",
                "DELETE": "s3:DeleteObjectTagging"},
    "acl": {"GET": "s3:GetObjectAcl", "PUT": "s3:PutObjectAcl"},
    "attributes": {"GET": "s3:GetObjectAttributes"},
}  # fmt: skip


def s3_checks(
    method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
) -> list[Check]:
    """The authorizations S3 makes for a path-style request (`/bucket/key?query`)."""
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket:
        raise UnknownS3Request(f"{method} {path}: a request without a bucket")
    if key:
        return _object_checks(method, bucket, key, query, headers)
    return _bucket_checks(method, bucket, query, body)


def _object_checks(
    method: str, bucket: str, key: str, query: dict[str, list[str]], headers: dict[str, str]
) -> list[Check]:
    target = f"{S3_ARN}{bucket}/{key}"
    for name, actions in _OBJECT_SUBRESOURCES.items():
        if name in query:
            return [Check(_action(actions, method, name), target)]
    if method == "PUT":  # PutObject, CopyObject, UploadPart(Copy)
        checks = [Check("s3:PutObject", target)]
        copy_source = headers.get("x-amz-copy-source")
        if copy_source:
            checks.append(_copy_source_check(copy_source))
        return checks
    multipart = "uploads" in query or "uploadId" in query
    action = _OBJECT_ACTIONS.get((method, multipart, "versionId" in query))
    if action is None:
        raise UnknownS3Request(f"{method} s3://{bucket}/{key}?{'&'.join(query)}")
    return [Check(action, target)]


# (method, a multipart upload?, a version named?) -> the action, for the other object requests.
_OBJECT_ACTIONS = {
    ("GET", False, False): "s3:GetObject",
    ("GET", False, True): "s3:GetObjectVersion",
    ("HEAD", False, False): "s3:GetObject",  # HeadObject
    ("HEAD", False, True): "s3:GetObjectVersion",
    ("GET", True, False): "s3:ListMultipartUploadParts",
    ("DELETE", False, False): "s3:DeleteObject",
    ("DELETE", False, True): "s3:DeleteObjectVersion",
    ("DELETE", True, False): "s3:AbortMultipartUpload",
    ("POST", True, False): "s3:PutObject",  # Create/CompleteMultipartUpload
}


def _copy_source_check(header: str) -> Check:
    source, _, version = unquote(header).lstrip("/").partition("?versionId=")
    action = "s3:GetObjectVersion" if version else "s3:GetObject"
    return Check(action, f"{S3_ARN}{source}")


def _bucket_checks(
    method: str, bucket: str, query: dict[str, list[str]], body: bytes
) -> list[Check]:
    resource = f"{S3_ARN}{bucket}"
    if method == "POST" and "delete" in query:  # DeleteObjects: each key is authorized
        return [
            Check("s3:DeleteObjectVersion" if version else "s3:DeleteObject",
                  f"{resource}/{key}")
            for key, version in _deleted_keys(body)
        ]  # fmt: skip
    for name, actions in _BUCKET_SUBRESOURCES.items():
        if name in query:
            return [Check(_action(actions, method, name), resource)]
    if method in ("GET", "HEAD"):  # ListObjects(V2); HeadBucket needs ListBucket too
        context = {"s3:prefix": query["prefix"][0]} if "prefix" in query else {}
        return [Check("s3:ListBucket", resource, context)]
    if method == "PUT":
        return [Check("s3:CreateBucket", resource)]
    raise UnknownS3Request(f"{method} s3://{bucket}?{'&'.join(query)}")


def _action(actions: dict[str, str], method: str, subresource: str) -> str:
    if method not in actions:
        raise UnknownS3Request(f"{method} ?{subresource}")
    return actions[method]


def _deleted_keys(body: bytes) -> Iterator[tuple[str, str | None]]:
    for element in ElementTree.fromstring(body).iter():
        if element.tag.rsplit("}", 1)[-1] == "Object":
            fields = {child.tag.rsplit("}", 1)[-1]: child.text for child in element}
            yield str(fields.get("Key") or ""), fields.get("VersionId")


# --- policies ------------------------------------------------------------------------------

ALLOW, DENY, NO_MATCH = "allow", "deny", "no match"


def decide(statements: Iterable[dict[str, Any]], check: Check, principal: str | None = None) -> str:
    """IAM's evaluation of one policy set: an explicit Deny wins, then an Allow, else nothing."""
    allowed = False
    for statement in statements:
        if not _applies(statement, check, principal):
            continue
        if statement.get("Effect") == "Deny":
            return DENY
        allowed = True
    return ALLOW if allowed else NO_MATCH


def _applies(statement: dict[str, Any], check: Check, principal: str | None) -> bool:
    if principal is not None and not _names_principal(statement.get("Principal"), principal):
        return False
    if not _element_matches(statement, "Action", check.action, ignore_case=True):
        return False
    if not _element_matches(statement, "Resource", check.resource, ignore_case=False):
        return False
    return _conditions_hold(statement.get("Condition", {}), check.context)


def _element_matches(
    statement: dict[str, Any], name: str, value: str, *, ignore_case: bool
) -> bool:
    negated = f"Not{name}" in statement
    patterns = _as_list(statement.get(f"Not{name}" if negated else name, []))
    matched = any(_wildcard(str(pattern), value, ignore_case) for pattern in patterns)
    return matched != negated


def _wildcard(pattern: str, value: str, ignore_case: bool) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    # IAM's wildcards are * and ? only: escape fnmatch's [ ] classes.
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _names_principal(principal: Any, arn: str) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(value in ("*", arn) for value in _as_list(principal.get("AWS", [])))
    return False


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda value, pattern: value == pattern,
    "StringLike": lambda value, pattern: _wildcard(pattern, value, ignore_case=False),
}


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        name = operator.removesuffix("IfExists")
        negated = name.startswith("StringNot")
        compare = _OPERATORS.get(name.replace("StringNot", "String"))
        if compare is None:
            raise UnknownS3Request(f"condition operator {operator} is not emulated")
        for key, patterns in tests.items():
            value = context.get(key)
            if value is None:  # a key the request does not have
                if operator.endswith("IfExists") or negated:
                    continue
                return False
            matched = any(compare(value, str(pattern)) for pattern in _as_list(patterns))
            if matched == negated:
                return False
    return True


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the gate ------------------------------------------------------------------------------


def request_kind(method: str, query: dict[str, list[str]], headers: dict[str, str]) -> str:
    """GET, HEAD, PUT, COPY (a PUT with a copy source), DELETE, LIST, or POST (DeleteObjects)."""
    if method == "PUT" and "x-amz-copy-source" in headers:
        return "COPY"
    if method == "GET" and ("list-type" in query or "prefix" in query or "delimiter" in query):
        return "LIST"
    return method


class S3Gate:
    """WSGI middleware in front of moto: S3 requests of known identities are authorized."""

    def __init__(self, app: WsgiApp, bucket_policy: Callable[[str], dict[str, Any] | None]) -> None:
        self._app = app
        self._bucket_policy = bucket_policy
        self._identities: dict[str, Identity] = {}
        self._foreign: set[str] = set()  # buckets of another account
        self._lock = threading.Lock()
        self.denials: list[Denial] = []
        self.checked = 0  # requests of known identities, allowed or refused
        # Requests of known identities by (function handler, kind): what a run costs in S3.
        self.requests: Counter[tuple[str, str]] = Counter()

    def add_identity(self, access_key: str, identity: Identity) -> None:
        self._identities[access_key] = identity

    def identity_of(self, access_key: str) -> Identity | None:
        """The function that signs with this access key (the other fakes authorize by it)."""
        return self._identities.get(access_key)

    def treat_as_foreign(self, bucket: str) -> None:
        self._foreign.add(bucket)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        identity = self._identity(environ)
        if identity is None:
            return self._app(environ, start_response)
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        headers = {
            name[5:].replace("_", "-").lower(): value
            for name, value in environ.items()
            if name.startswith("HTTP_")
        }
        body = self._body(environ) if method == "POST" and "delete" in query else b""
        with self._lock:
            self.checked += 1
            self.requests[identity.function, request_kind(method, query, headers)] += 1
        try:
            checks = s3_checks(method, path, query, headers, body)
        except UnknownS3Request as unknown:
            return _error(start_response, 501, "NotImplemented", f"local cloud: {unknown}")
        for check in checks:
            reason = self._refusal(identity, check)
            if reason is not None:
                with self._lock:
                    self.denials.append(Denial(identity.function, method, path, check, reason))
                return _access_denied(start_response, identity, check, reason, method)
        return self._app(environ, start_response)

    def _identity(self, environ: dict[str, Any]) -> Identity | None:
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        found = _CREDENTIAL.search(authorization)
        if found is None or found.group(2) != "s3":
            return None
        return self._identities.get(found.group(1))

    @staticmethod
    def _body(environ: dict[str, Any]) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        return bytes(body)

    def _refusal(self, identity: Identity, check: Check) -> str | None:
        decision = decide(identity.statements, check)
        if decision == DENY:
            return "an identity-based policy explicitly denies it"
        if decision == NO_MATCH:
            return "no identity-based policy allows it"
        bucket = check.resource.removeprefix(S3_ARN).split("/", 1)[0]
        if bucket in self._foreign:
            policy = self._bucket_policy(bucket) or {"Statement": []}
            across = decide(_as_list(policy["Statement"]), check, principal=identity.role_arn)
            if across != ALLOW:
                return "the bucket is in another account and its bucket policy does not allow it"
        return None


def _access_denied(
    start_response: Callable[..., Any], identity: Identity, check: Check, reason: str, method: str
) -> list[bytes]:
    role = identity.role_arn.rsplit("/", 1)[-1]
    account = identity.role_arn.split(":")[4]
    message = (
        f"User: arn:aws:sts::{account}:assumed-role/{role}/{identity.function} is not authorized "
        f'to perform: {check.action} on resource: "{check.resource}" because {reason}'
    )
    if method == "HEAD":  # S3 answers a HEAD without a body
        start_response("403 Forbidden", [("Content-Length", "0")])
        return []
    return _error(start_response, 403, "AccessDenied", message)


def _error(start_response: Callable[..., Any], status: int, code: str, message: str) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
        f"<Code>{code}</Code><Message>{_escape(message)}</Message>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    ).encode()
    reason = {403: "Forbidden", 501: "Not Implemented"}[status]
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parse_policy(raw: bytes | str | None) -> dict[str, Any] | None:
    return None if raw is None else dict(json.loads(raw))
