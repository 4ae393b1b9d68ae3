"""An AWS STS stand-in that answers ``GetWebIdentityToken`` with real JWTs, and ``GetCallerIdentity``.

It speaks the Query protocol botocore uses (form-encoded POST, XML answers), validates the
request as STS does (botocore itself only checks minimums), and mints the token with a
:class:`~fedctl.testing.issuer.LocalIssuer`. Every request is recorded, and it can be told to answer
with an AWS error code instead, or to misbehave the ways real networks do.

``GetCallerIdentity`` answers with the caller's session: by default a session of ``role_arn``
(``arn:aws:sts::<account>:assumed-role/<role name>/<session>``: no path, as STS writes it); give
``caller_arn`` for another principal (an IAM user, a federated user, whose token requests are then
refused as STS refuses them). With ``iam`` (an :class:`~fedctl.testing.standins.iam.IamStandin`)
every token request is judged by that account's switch, SCPs and the role's policies first.

Fault modes, for testing a client on STS's worst day:

- :meth:`~StsStandin.fail_with`: every request gets this AWS error (an outage, a denial);
- :meth:`~StsStandin.fail_next`: the next requests get these errors in order, then normal answers
  (e.g. an account that was just enabled: ``fail_next("OutboundWebIdentityFederationDisabledException",
  "InternalFailure")``);
- :meth:`~StsStandin.misbehave`: answers that are not STS's: ``"html"`` (a proxy's HTML page with
  status 200), ``"no-result"`` (STS XML without the result element), ``"no-token"``, ``"drop"``
  (the connection is closed without an answer) and ``"hang"`` (held until :meth:`~StsStandin.release`);
- ``clock``: STS's own clock, which also dates every answer (the HTTP ``Date`` header), so a
  client's clock can be made to disagree with AWS's.

Example::

    with StsStandin(issuer).serve() as sts:
        client = sts.client()
        client.get_web_identity_token(Audience=["a"], SigningAlgorithm="RS256")
        assert sts.calls == 1
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
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
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "Throttling": 400,
}
MISBEHAVIOURS = ("html", "no-result", "no-token", "drop", "hang")
# Longest a "hang" holds a request if nobody releases it (so a forgotten test cannot stall).
MAX_HANG_SECONDS = 30.0


class _Drop(Exception):
    """Close the connection without an answer."""


class _Html(Exception):
    """Answer with an HTML page and status 200."""


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
        caller_arn: str | None = None,
        iam: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from fedctl.testing.standins.iam import session_arn

        self.issuer = issuer
        self.role_arn = role_arn
        self.caller_arn = caller_arn or session_arn(role_arn)
        self.iam = iam
        self.identity_calls = 0
        """How many GetCallerIdentity requests were answered."""
        self.clock = clock
        self.latency = 0.0
        self.requests: list[dict[str, Any]] = []
        self.tokens: list[str] = []
        self._error: tuple[str, str, int] | None = None
        self._queued: list[tuple[str, str, int] | None] = []
        self._misbehaviour: str | None = None
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.endpoint_url: str | None = None
        self.hanging = 0
        """Requests currently held by the ``"hang"`` misbehaviour."""

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.requests)

    def fail_with(self, code: str | None, message: str = "refused by the stand-in", status: int | None = None) -> None:
        """Answer every following request with this AWS error (None: answer normally again)."""
        self._error = None if code is None else (code, message, status or ERROR_STATUS.get(code, 400))

    def fail_next(self, *answers: str | tuple[str, str] | None) -> None:
        """Answer the next requests with these AWS errors, in order, then as before.

        Each answer is an error code, a ``(code, message)`` pair, or None for a normal answer.
        """
        queued = []
        for answer in answers:
            if answer is None:
                queued.append(None)
            else:
                code, message = (answer, "refused by the stand-in") if isinstance(answer, str) else answer
                queued.append((code, message, ERROR_STATUS.get(code, 400)))
        with self._lock:
            self._queued.extend(queued)

    def misbehave(self, mode: str | None) -> None:
        """Answer every following request in a way STS never would (None: behave again).

        ``"html"``: status 200 with an HTML page (a captive portal or proxy); ``"no-result"``: 200
        with STS's XML but no ``GetWebIdentityTokenResult``; ``"no-token"``: a result without the
        token; ``"drop"``: close the connection without answering; ``"hang"``: hold the request
        until :meth:`release` (at most ``MAX_HANG_SECONDS``), then answer normally.
        """
        if mode is not None and mode not in MISBEHAVIOURS:
            raise ValueError(f"mode={mode!r}: must be one of {MISBEHAVIOURS} or None")
        if mode == "hang":
            self._released.clear()
        self._misbehaviour = mode

    def release(self) -> None:
        """Let requests held by ``"hang"`` go on (they are answered normally)."""
        self._misbehaviour = None if self._misbehaviour == "hang" else self._misbehaviour
        self._released.set()
    def client(self, **overrides: Any) -> Any:
        """A boto3 STS client pointed at this stand-in, with dummy credentials and no retries."""
        import boto3
        import botocore.config

        options: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region_name": "us-east-1",
            "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": "x",
            "config": botocore.config.Config(retries={"total_max_attempts": 1}),  # one attempt: no retries
        }
        options.update(overrides)
        return boto3.client("sts", **options)

    @contextlib.contextmanager
    def serve(self, *, lifetime: float = 120.0) -> Iterator["StsStandin"]:
        standin = self

        class Handler(LocalHandler):
            def date_time_string(self, timestamp: float | None = None) -> str:
                # The Date header is STS's clock, as with the real service.
                return email.utils.formatdate(standin.clock() if timestamp is None else timestamp, usegmt=True)

            def do_POST(self) -> None:  # noqa: N802
                content_type = "text/xml"
                try:
                    status, body = standin._handle(self.headers, self.read_body())
                except StsError as error:
                    status, body = error.status, _error_xml(error.code, error.message)
                except _Drop:
                    self.close_connection = True
                    return
                except _Html:
                    status, body, content_type = 200, "<html><body><h1>Welcome</h1>Please sign in.</body></html>", "text/html"
                except Exception as error:  # never drop the connection mid-request
                    status, body = 500, _error_xml("InternalFailure", f"stand-in failed: {type(error).__name__}")
                self.send_body(status, body.encode(), content_type)

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
        if form.get("Action") not in ("GetWebIdentityToken", "GetCallerIdentity"):
            raise StsError("InvalidAction", f"Could not find operation {form.get('Action')!r}")
        if form.get("Version") != "2011-06-15":
            raise StsError("InvalidParameterValue", "Version must be 2011-06-15")
        if form.get("Action") == "GetCallerIdentity":
            return 200, self._caller_identity()
        params = _parse_params(form)
        with self._lock:
            self.requests.append(params)
            queued = self._queued.pop(0) if self._queued else False
        if self.latency:
            time.sleep(self.latency)
        misbehaviour = self._misbehaviour
        if misbehaviour == "hang":
            with self._lock:
                self.hanging += 1
            try:
                self._released.wait(MAX_HANG_SECONDS)
            finally:
                with self._lock:
                    self.hanging -= 1
            misbehaviour = None
        if misbehaviour == "drop":
            raise _Drop()
        if misbehaviour == "html":
            raise _Html()
        error = queued if queued is not False else self._error
        if error is None and ":federated-user/" in self.caller_arn:
            error = ("AccessDenied", "GetWebIdentityToken does not support federated user sessions", 403)
        if error is None and self.iam is not None:
            error = self.iam.authorize(self.role_arn, params)
        if error is not None:
            code, message, status = error
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
        if misbehaviour == "no-result":
            return 200, (f'<GetWebIdentityTokenResponse xmlns="{NAMESPACE}">'
                         f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                         "</GetWebIdentityTokenResponse>")
        if misbehaviour == "no-token":
            return 200, (f'<GetWebIdentityTokenResponse xmlns="{NAMESPACE}"><GetWebIdentityTokenResult>'
                         f"<Expiration>{expiration.strftime('%Y-%m-%dT%H:%M:%S.000Z')}</Expiration>"
                         "</GetWebIdentityTokenResult>"
                         f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                         "</GetWebIdentityTokenResponse>")
        return 200, (
            f'<GetWebIdentityTokenResponse xmlns="{NAMESPACE}">'
            "<GetWebIdentityTokenResult>"
            f"<WebIdentityToken>{escape(token)}</WebIdentityToken>"
            f"<Expiration>{expiration.strftime('%Y-%m-%dT%H:%M:%S.000Z')}</Expiration>"
            "</GetWebIdentityTokenResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</GetWebIdentityTokenResponse>"
        )


    def _caller_identity(self) -> str:
        with self._lock:
            self.identity_calls += 1
        account = self.caller_arn.split(":")[4]
        return (f'<GetCallerIdentityResponse xmlns="{NAMESPACE}"><GetCallerIdentityResult>'
                f"<Arn>{escape(self.caller_arn)}</Arn><UserId>AROAEXAMPLE:{uuid.uuid4().hex[:8]}</UserId>"
                f"<Account>{account}</Account></GetCallerIdentityResult>"
                f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                "</GetCallerIdentityResponse>")


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


def _error_xml(code: str, message: str, request_id: str | None = None) -> str:
    return (
        f'<ErrorResponse xmlns="{NAMESPACE}">'
        f"<Error><Type>Sender</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id or uuid.uuid4()}</RequestId>"
        "</ErrorResponse>"
    )
