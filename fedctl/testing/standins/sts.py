"""An AWS STS stand-in that answers ``GetWebIdentityToken`` with real JWTs.

It speaks the Query protocol botocore uses (form-encoded POST, XML answers), validates the
request as STS does (botocore itself only checks minimums), and mints the token with a
:class:`~fedctl.testing.issuer.LocalIssuer`. Every request is recorded, and it can be told to answer
with an AWS error code instead.

Example::

    with StsStandin(issuer).serve() as sts:
        client = sts.client()
        client.get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256")
        assert sts.calls == 1
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import uuid
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from fedctl.testing.issuer import LocalIssuer, LocalHandler, local_server

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
ROLE_ARN = "arn:aws:iam::123456789012:role/workloads/app"

# Status codes STS uses for the errors tests ask for.
ERROR_STATUS = {
    "OutboundWebIdentityFederationDisabledException": 403,
    "OutboundWebIdentityFederationDisabled": 403,
    "SessionDurationEscalationException": 403,
    "JWTPayloadSizeExceededException": 400,
    "AccessDenied": 403,
    "AccessDeniedException": 403,
}


class StsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class StsStandin:
    """STS ``GetWebIdentityToken`` for ``role_arn``, signing with ``issuer``'s keys.

    Attributes:
        requests: The parsed parameters of every request, in order.
        latency: Seconds to wait before answering (widens races in concurrency tests).
    """

    def __init__(
        self,
        issuer: LocalIssuer,
        *,
        role_arn: str = ROLE_ARN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.role_arn = role_arn
        self.clock = clock
        self.latency = 0.0
        self.requests: list[dict[str, Any]] = []
        self.tokens: list[str] = []
        self._error: tuple[str, str, int] | None = None
        self._lock = threading.Lock()
        self.endpoint_url: str | None = None

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.requests)

    def fail_with(self, code: str | None, message: str = "refused by the stand-in", status: int | None = None) -> None:
        """Answer every following request with this AWS error (None: answer normally again)."""
        self._error = None if code is None else (code, message, status or ERROR_STATUS.get(code, 400))

    def client(self, **overrides: Any) -> Any:
        """A boto3 STS client pointed at this stand-in, with dummy credentials and no retries."""
        import boto3
        import botocore.config

        options: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region_name": "us-east-1",
            "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": "x",
            "config": botocore.config.Config(retries={"max_attempts": 1}),
        }
        options.update(overrides)
        return boto3.client("sts", **options)

    @contextlib.contextmanager
    def serve(self, *, lifetime: float = 120.0) -> Iterator["StsStandin"]:
        standin = self

        class Handler(LocalHandler):
            def do_POST(self) -> None:  # noqa: N802
                try:
                    status, body = standin._handle(self.headers, self.read_body())
                except StsError as error:
                    status, body = error.status, _error_xml(error.code, error.message)
                except Exception as error:  # never drop the connection mid-request
                    status, body = 500, _error_xml("InternalFailure", f"stand-in failed: {type(error).__name__}")
                self.send_body(status, body.encode(), "text/xml")

            def do_GET(self) -> None:  # noqa: N802
                self.send_body(400, _error_xml("InvalidAction", "STS wants POST").encode(), "text/xml")

        with local_server(Handler, lifetime=lifetime) as server:
            self.endpoint_url = f"http://127.0.0.1:{server.server_address[1]}"
            yield self

    # -- request handling ---------------------------------------------------------------

    def _handle(self, headers: Any, body: bytes) -> tuple[int, str]:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        if not headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
            raise StsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
        if form.get("Action") != "GetWebIdentityToken":
            raise StsError("InvalidAction", f"Could not find operation {form.get('Action')!r}")
        if form.get("Version") != "2011-06-15":
            raise StsError("InvalidParameterValue", "Version must be 2011-06-15")
        params = _parse_params(form)
        with self._lock:
            self.requests.append(params)
        if self.latency:
            time.sleep(self.latency)
        if self._error is not None:
            code, message, status = self._error
            raise StsError(code, message, status)

        now = self.clock()
        token = self.issuer.mint(
            self.role_arn,
            params["Audience"],
            algorithm=params["SigningAlgorithm"],
            lifetime=params["DurationSeconds"],
            now=now,
            request_tags=params["Tags"],
        )
        with self._lock:
            self.tokens.append(token)
        expiration = dt.datetime.fromtimestamp(int(now) + params["DurationSeconds"], dt.timezone.utc)
        return 200, (
            f'<GetWebIdentityTokenResponse xmlns="{NAMESPACE}">'
            "<GetWebIdentityTokenResult>"
            f"<WebIdentityToken>{escape(token)}</WebIdentityToken>"
            f"<Expiration>{expiration.strftime('%Y-%m-%dT%H:%M:%S.000Z')}</Expiration>"
            "</GetWebIdentityTokenResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</GetWebIdentityTokenResponse>"
        )


def _members(form: dict[str, str], prefix: str) -> list[str]:
    values, n = [], 1
    while f"{prefix}.member.{n}" in form:
        values.append(form[f"{prefix}.member.{n}"])
        n += 1
    return values


def _parse_params(form: dict[str, str]) -> dict[str, Any]:
    """Validate like STS: botocore enforces minimums only, so maximums must be checked here."""
    audiences = _members(form, "Audience")
    if not 1 <= len(audiences) <= 10:
        raise StsError("ValidationError", f"Audience must hold 1-10 members, got {len(audiences)}")
    if any(not 1 <= len(a) <= 1000 for a in audiences):
        raise StsError("ValidationError", "each Audience member must be 1-1000 characters")

    algorithm = form.get("SigningAlgorithm")
    if algorithm not in ("RS256", "ES384"):
        raise StsError("ValidationError", f"SigningAlgorithm {algorithm!r} must be RS256 or ES384")

    raw_duration = form.get("DurationSeconds", "300")
    try:
        duration = int(raw_duration)
    except ValueError:
        raise StsError("ValidationError", f"DurationSeconds {raw_duration!r} is not an integer") from None
    if not 60 <= duration <= 3600:
        raise StsError("ValidationError", f"DurationSeconds {duration} must be 60-3600")

    tags: dict[str, str] = {}
    n = 1
    while f"Tags.member.{n}.Key" in form:
        key, value = form[f"Tags.member.{n}.Key"], form.get(f"Tags.member.{n}.Value", "")
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise StsError("ValidationError", f"tag {n}: key 1-128 and value 0-256 characters")
        tags[key] = value
        n += 1
    if len(tags) > 50:
        raise StsError("ValidationError", f"at most 50 Tags, got {len(tags)}")

    return {
        "Audience": audiences,
        "SigningAlgorithm": algorithm,
        "DurationSeconds": duration,
        "DurationSecondsSent": "DurationSeconds" in form,
        "Tags": tags,
    }


def _error_xml(code: str, message: str) -> str:
    return (
        f'<ErrorResponse xmlns="{NAMESPACE}">'
        f"<Error><Type>Sender</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId>"
        "</ErrorResponse>"
    )
