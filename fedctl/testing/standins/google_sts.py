"""Google STS (token exchange) and IAM Credentials (impersonation) stand-ins.

``POST /v1/token`` takes an RFC 8693 exchange and judges the subject token like a workload
identity pool provider with default settings: its signature must verify against the
provider's issuer JWKS and its ``aud`` must be ``"https:" + audience`` (the provider's full
resource name) unless the provider lists allowed audiences. ``POST
/v1/projects/-/serviceAccounts/{email}:generateAccessToken`` then swaps an STS token for a
service account's access token.

Example::

    google = GoogleStsStandin({PROVIDER: issuer.issuer}, service_accounts=[SA_EMAIL])
    with google.serve():
        creds = gcp_credentials(PROVIDER, supplier, token_url=google.token_url)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import uuid
from typing import Any, Iterable, Iterator, Mapping, Sequence
from urllib.parse import parse_qs, unquote

from fedctl.errors import TokenRejected
from fedctl.testing.issuer import LocalHandler, local_server
from fedctl.verify import TokenVerifier

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TOKEN_TYPES = ("urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:id_token")
_IMPERSONATION_PREFIX = "/v1/projects/-/serviceAccounts/"
_IMPERSONATION_SUFFIX = ":generateAccessToken"


class GoogleStsStandin:
    """Google STS for some workload identity providers, plus service account impersonation.

    Args:
        providers: provider resource name (the ``audience``) -> issuer URL, or
            (issuer URL, allowed audiences) to override the default-audience rule.
        service_accounts: Emails that may be impersonated by any federated principal.

    Attributes:
        exchanges: One dict per ``/v1/token`` request (form fields but the subject token,
            plus ``outcome``).
        impersonations: One dict per ``generateAccessToken`` request (``email``,
            ``authorization``, ``body``, ``outcome``).
        sts_tokens / sa_tokens: Access tokens handed out, in order.
    """

    def __init__(
        self,
        providers: Mapping[str, str | tuple[str, Sequence[str]]],
        *,
        service_accounts: Iterable[str] = (),
    ) -> None:
        self._verifiers: dict[str, TokenVerifier] = {}
        for audience, spec in providers.items():
            issuer, allowed = (spec, None) if isinstance(spec, str) else spec
            self._verifiers[audience] = TokenVerifier(issuer, list(allowed or [f"https:{audience}"]), leeway=0)
        self.service_accounts = set(service_accounts)
        self.exchanges: list[dict[str, Any]] = []
        self.impersonations: list[dict[str, Any]] = []
        self.sts_tokens: list[str] = []
        self.sa_tokens: list[str] = []
        self.base_url: str | None = None
        self._lock = threading.Lock()

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/v1/token"

    @contextlib.contextmanager
    def serve(self, *, lifetime: float = 120.0) -> Iterator["GoogleStsStandin"]:
        standin = self

        class Handler(LocalHandler):
            def do_POST(self) -> None:  # noqa: N802
                path = unquote(self.path.split("?", 1)[0])
                try:
                    body = self.read_body()
                    if path == "/v1/token":
                        status, document = standin._exchange(body)
                    elif path.startswith(_IMPERSONATION_PREFIX) and path.endswith(_IMPERSONATION_SUFFIX):
                        email = path[len(_IMPERSONATION_PREFIX) : -len(_IMPERSONATION_SUFFIX)]
                        status, document = standin._impersonate(email, self.headers.get("Authorization", ""), body)
                    else:
                        status, document = 404, _google_error(404, "NOT_FOUND", f"no such method {path}")
                except Exception as error:  # answer, never drop the connection
                    status, document = 500, _google_error(500, "INTERNAL", type(error).__name__)
                self.send_json(status, document)

        with local_server(Handler, lifetime=lifetime) as server:
            self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
            yield self

    def _exchange(self, body: bytes) -> tuple[int, dict[str, Any]]:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()}
        record = {k: v for k, v in form.items() if k != "subject_token"}
        with self._lock:
            self.exchanges.append(record)

        def fail(error: str, description: str) -> tuple[int, dict[str, Any]]:
            record["outcome"] = error
            return 400, {"error": error, "error_description": description}

        if form.get("grant_type") != TOKEN_EXCHANGE:
            return fail("unsupported_grant_type", "grant_type must be token-exchange")
        if form.get("requested_token_type") != ACCESS_TOKEN_TYPE:
            return fail("invalid_request", "requested_token_type must be an access token")
        if form.get("subject_token_type") not in SUBJECT_TOKEN_TYPES:
            return fail("invalid_request", "subject_token_type must be jwt or id_token")
        verifier = self._verifiers.get(form.get("audience", ""))
        if verifier is None:
            return fail("invalid_target", "The target service indicated by the \"audience\" parameters is invalid.")
        try:
            claims = verifier.verify(form.get("subject_token", ""))
        except TokenRejected as rejected:
            if rejected.reason == "bad_audience":
                return fail("invalid_grant", "The audience in ID Token does not match the expected audience.")
            return fail("invalid_grant", f"The subject token is invalid ({rejected.reason}).")
        access_token = f"gcp-sts-{uuid.uuid4()}"
        record["outcome"] = "issued"
        record["subject"] = claims["sub"]
        with self._lock:
            self.sts_tokens.append(access_token)
        return 200, {
            "access_token": access_token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": 3600,
        }

    def _impersonate(self, email: str, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        record: dict[str, Any] = {"email": email, "authorization": authorization}
        with self._lock:
            self.impersonations.append(record)
        try:
            record["body"] = json.loads(body or b"{}")
        except ValueError:
            record["outcome"] = "bad_request"
            return 400, _google_error(400, "INVALID_ARGUMENT", "body is not JSON")
        scheme, _, bearer = authorization.partition(" ")
        if scheme != "Bearer" or bearer not in self.sts_tokens:
            record["outcome"] = "unauthenticated"
            return 401, _google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if email not in self.service_accounts:
            record["outcome"] = "denied"
            return 403, _google_error(
                403, "PERMISSION_DENIED",
                f"Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist): {email}",
            )
        access_token = f"gcp-sa-{uuid.uuid4()}"
        record["outcome"] = "issued"
        with self._lock:
            self.sa_tokens.append(access_token)
        expires = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(hours=1)
        return 200, {"accessToken": access_token, "expireTime": expires.isoformat().replace("+00:00", "Z")}


def _google_error(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}
