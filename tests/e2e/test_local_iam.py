"""The local cloud's IAM for S3 (`localrun.iam`): which authorizations S3 makes for a request, how
a role's statements decide them, and the gate's answer (S3's 403 AccessDenied)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest

from localrun.iam import (
    ALLOW,
    DENY,
    NO_MATCH,
    Check,
    Identity,
    S3Gate,
    UnknownS3Request,
    decide,
    s3_checks,
)

A = "arn:aws:s3:::"
ROLE = "arn:aws:iam::123456789012:role/local-ConvertRole"


def _checks(method: str, path: str, query: str = "", body: bytes = b"", **headers: str) -> list:
    parsed = parse_qs(query, keep_blank_values=True)
    return [
        (c.action, c.resource, c.context) for c in s3_checks(method, path, parsed, headers, body)
    ]


# --- requests -> the authorizations S3 makes ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/b/k/x.jpg", "", ("s3:GetObject", f"{A}b/k/x.jpg")),
        ("HEAD", "/b/k/x.jpg", "", ("s3:GetObject", f"{A}b/k/x.jpg")),
        ("GET", "/b/k/x.jpg", "versionId=3", ("s3:GetObjectVersion", f"{A}b/k/x.jpg")),
        ("PUT", "/b/k/x.txt", "", ("s3:PutObject", f"{A}b/k/x.txt")),
        ("POST", "/b/k/x.csv", "uploads=", ("s3:PutObject", f"{A}b/k/x.csv")),
        ("PUT", "/b/k/x.csv", "partNumber=1&uploadId=u", ("s3:PutObject", f"{A}b/k/x.csv")),
        ("DELETE", "/b/k/_LOCK", "", ("s3:DeleteObject", f"{A}b/k/_LOCK")),
        ("DELETE", "/b/k/x.csv", "uploadId=u", ("s3:AbortMultipartUpload", f"{A}b/k/x.csv")),
        ("GET", "/b/k/x.jpg", "tagging=", ("s3:GetObjectTagging", f"{A}b/k/x.jpg")),
        ("GET", "/b/%E3%81%AD%E3%81%93%2001.jpg", "", ("s3:GetObject", f"{A}b/ねこ 01.jpg")),
        ("GET", "/b", "cors=", ("s3:GetBucketCORS", f"{A}b")),
        ("PUT", "/b", "cors=", ("s3:PutBucketCORS", f"{A}b")),
    ],
)
def test_each_request_is_the_action_iam_authorizes_it_by(
    method: str, path: str, query: str, expected: tuple[str, str]
) -> None:
    assert _checks(method, path, query) == [(*expected, {})]


def test_a_listing_is_list_bucket_with_its_prefix_as_s3_prefix() -> None:
    assert _checks("GET", "/b", "list-type=2&prefix=images%2Fa") == [
        ("s3:ListBucket", f"{A}b", {"s3:prefix": "images/a"})
    ]
    assert _checks("GET", "/b", "list-type=2") == [("s3:ListBucket", f"{A}b", {})]
    assert _checks("HEAD", "/b") == [("s3:ListBucket", f"{A}b", {})]  # HeadBucket


def test_a_copy_reads_the_source_and_writes_the_target() -> None:
    checks = _checks("PUT", "/ds/images/train/a.jpg", **{"x-amz-copy-source": "src/raw/a%20b.jpg"})
    assert checks == [
        ("s3:PutObject", f"{A}ds/images/train/a.jpg", {}),
        ("s3:GetObject", f"{A}src/raw/a b.jpg", {}),
    ]
    versioned = _checks("PUT", "/ds/x", **{"x-amz-copy-source": "/src/x?versionId=7"})
    assert versioned[1] == ("s3:GetObjectVersion", f"{A}src/x", {})


def test_delete_objects_is_delete_object_of_each_key() -> None:
    body = (
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Object><Key>d/a.txt</Key></Object>"
        b"<Object><Key>d/b.txt</Key><VersionId>v1</VersionId></Object></Delete>"
    )
    assert _checks("POST", "/b", "delete=", body) == [
        ("s3:DeleteObject", f"{A}b/d/a.txt", {}),
        ("s3:DeleteObjectVersion", f"{A}b/d/b.txt", {}),
    ]


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [("GET", "/", ""), ("POST", "/b", "select="), ("PATCH", "/b/k", ""), ("POST", "/b/k", "acl=")],
)
def test_a_request_the_gate_does_not_know_is_not_guessed(
    method: str, path: str, query: str
) -> None:
    with pytest.raises(UnknownS3Request):
        _checks(method, path, query)


# --- statements -> a decision --------------------------------------------------------------


def _allow(action: Any, resource: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def test_an_allow_with_a_wildcard_resource_permits_only_under_it() -> None:
    statements = [_allow("s3:GetObject", [f"{A}b/images/*", f"{A}c/*"])]
    assert decide(statements, Check("s3:GetObject", f"{A}b/images/x.jpg")) == ALLOW
    assert decide(statements, Check("s3:getobject", f"{A}c/y.jpg")) == ALLOW  # actions: any case
    assert decide(statements, Check("s3:GetObject", f"{A}b/datasets/x")) == NO_MATCH
    assert decide(statements, Check("s3:PutObject", f"{A}b/images/x.jpg")) == NO_MATCH
    assert decide(statements, Check("s3:GetObject", f"{A}B/images/x.jpg")) == NO_MATCH


def test_brackets_in_keys_are_literal() -> None:
    statements = [_allow("s3:GetObject", f"{A}b/[a]*")]
    assert decide(statements, Check("s3:GetObject", f"{A}b/[a]x")) == ALLOW
    assert decide(statements, Check("s3:GetObject", f"{A}b/ax")) == NO_MATCH


def test_list_bucket_is_limited_by_the_s3_prefix_condition() -> None:
    statements = [_allow("s3:ListBucket", f"{A}b", {"StringLike": {"s3:prefix": ["images/*"]}})]
    assert decide(statements, Check("s3:ListBucket", f"{A}b", {"s3:prefix": "images/a"})) == ALLOW
    assert (
        decide(statements, Check("s3:ListBucket", f"{A}b", {"s3:prefix": "datasets/"})) == NO_MATCH
    )
    assert decide(statements, Check("s3:ListBucket", f"{A}b")) == NO_MATCH  # no prefix given


def test_an_explicit_deny_wins_and_not_resource_inverts() -> None:
    statements = [
        _allow("s3:*", "*"),
        {"Effect": "Deny", "Action": "s3:DeleteObject", "NotResource": f"{A}b/*/_LOCK"},
    ]
    assert decide(statements, Check("s3:DeleteObject", f"{A}b/ds/_LOCK")) == ALLOW
    assert decide(statements, Check("s3:DeleteObject", f"{A}b/ds/x.txt")) == DENY


def test_a_condition_operator_that_is_not_emulated_is_an_error() -> None:
    statements = [_allow("s3:GetObject", "*", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})]
    with pytest.raises(UnknownS3Request, match="IpAddress"):
        decide(statements, Check("s3:GetObject", f"{A}b/x"))


# --- the gate --------------------------------------------------------------------------------


def _environ(method: str, path: str, key_id: str, query: str = "") -> dict[str, Any]:
    credential = f"Credential={key_id}/20261201/us-east-1/s3/aws4_request"
    return {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
        "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 {credential}, SignedHeaders=host, Signature=0",
        "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0",
    }  # fmt: skip


class _Moto:
    """Stands for moto behind the gate: answers 200 and counts what reached it."""

    def __init__(self) -> None:
        self.reached: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.reached.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b"moto"]


def _call(gate: S3Gate, environ: dict[str, Any]) -> tuple[str, bytes]:
    status: list[str] = []
    body = b"".join(gate(environ, lambda s, headers: status.append(s)))
    return status[0], body


@pytest.fixture
def moto() -> _Moto:
    return _Moto()


def _gate(moto: _Moto, policies: dict[str, dict[str, Any]] | None = None) -> S3Gate:
    gate = S3Gate(moto, ({} if policies is None else policies).get)
    statements = (_allow("s3:GetObject", [f"{A}stack/images/*", f"{A}partner/*"]),)
    gate.add_identity("local-Convert", Identity("local-Convert", ROLE, statements))
    return gate


def test_a_function_is_refused_what_its_role_does_not_allow_as_s3_refuses_it(moto: _Moto) -> None:
    gate = _gate(moto)
    status, body = _call(gate, _environ("GET", "/other/x.jpg", "local-Convert"))
    assert status == "403 Forbidden"
    assert b"<Code>AccessDenied</Code>" in body
    assert (
        b"User: arn:aws:sts::123456789012:assumed-role/local-ConvertRole/local-Convert is not "
        b'authorized to perform: s3:GetObject on resource: "arn:aws:s3:::other/x.jpg" because no '
        b"identity-based policy allows it"
    ) in body
    assert moto.reached == []
    assert [(d.function, d.check.action) for d in gate.denials] == [
        ("local-Convert", "s3:GetObject")
    ]
    head_status, head_body = _call(gate, _environ("HEAD", "/other/x.jpg", "local-Convert"))
    assert (head_status, head_body) == ("403 Forbidden", b"")  # a HEAD answer has no body


def test_what_the_role_allows_reaches_moto_and_other_callers_pass_unchecked(moto: _Moto) -> None:
    gate = _gate(moto)
    assert _call(gate, _environ("GET", "/stack/images/a.jpg", "local-Convert"))[0] == "200 OK"
    assert _call(gate, _environ("PUT", "/anything/at/all", "testing"))[0] == "200 OK"
    assert moto.reached == ["/stack/images/a.jpg", "/anything/at/all"]
    assert gate.checked == 1


def test_a_bucket_of_another_account_also_needs_its_bucket_policy_to_name_the_role(
    moto: _Moto,
) -> None:
    policies: dict[str, dict[str, Any]] = {}
    gate = _gate(moto, policies)
    gate.treat_as_foreign("partner")
    assert _call(gate, _environ("GET", "/partner/a.jpg", "local-Convert"))[0] == "403 Forbidden"
    policies["partner"] = json.loads(json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::999:role/someone-else"]},
         "Action": "s3:GetObject", "Resource": f"{A}partner/*"}]}))  # fmt: skip
    assert _call(gate, _environ("GET", "/partner/a.jpg", "local-Convert"))[0] == "403 Forbidden"
    policies["partner"]["Statement"][0]["Principal"]["AWS"].append(ROLE)
    assert _call(gate, _environ("GET", "/partner/a.jpg", "local-Convert"))[0] == "200 OK"


def test_a_request_the_gate_cannot_map_is_answered_not_implemented(moto: _Moto) -> None:
    status, body = _call(_gate(moto), _environ("POST", "/stack/k", "local-Convert", "select="))
    assert status == "501 Not Implemented"
    assert b"local cloud" in body
