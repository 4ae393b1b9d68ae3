"""Google STS (token exchange) and IAM Credentials (impersonation) stand-ins.

``POST /v1/token`` takes an RFC 8693 exchange and judges the subject token like a workload
identity pool provider with default settings: its signature must verify against the
provider's issuer JWKS and its ``aud`` must be ``"https:" + audience`` (the provider's full
resource name) unless the provider lists allowed audiences. ``POST
/v1/projects/-/serviceAccounts/{email}:generateAccessToken`` then swaps an STS token for a
service account's access token.

With ``iam`` (a :class:`~fedctl.testing.standins.gcp_iam.GcpIamStandin`), the providers and
service accounts are that stand-in's, judged as Google documents it: the provider must be active,
the token's issuer its ``issuerUri`` and its ``aud`` one of the allowed audiences (by default the
provider's name, with ``//`` or ``https://``); then the attribute mapping and the attribute
condition are evaluated (GCP's CEL dialect, ``components.relying_parties.gcp.cel``): a condition
that does not hold gets ``unauthorized_client`` "The given credential is rejected by the attribute
condition."; impersonation needs ``roles/iam.workloadIdentityUser`` for the mapped principal (or a
principal set it belongs to) on the service account, else ``PERMISSION_DENIED``.

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

from components.relying_parties.gcp.facts import IAM_HOST, WORKLOAD_IDENTITY_USER
from fedctl.errors import TokenRejected, ValidationError
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
        providers: Mapping[str, str | tuple[str, Sequence[str]]] | None = None,
        *,
        service_accounts: Iterable[str] = (),
        iam: Any = None,
    ) -> None:
        providers = providers or {}
        self.iam = iam
        self._principals: dict[str, tuple[str, dict[str, Any]]] = {}  # STS token -> (pool, mapped attributes)
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
        provider = self._provider(form.get("audience", ""))
        if provider is not None:
            return self._exchange_with(provider, form, record)
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

    def _provider(self, audience: str) -> Mapping[str, Any] | None:
        prefix = f"//{IAM_HOST}/"
        if self.iam is None or not audience.startswith(prefix):
            return None
        return self.iam.providers.get(audience[len(prefix):])

    def _exchange_with(self, provider: Mapping[str, Any], form: Mapping[str, str],
                       record: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        from components.relying_parties.gcp.cel import GcpCel

        def fail(error: str, description: str) -> tuple[int, dict[str, Any]]:
            record["outcome"] = error
            return 400, {"error": error, "error_description": description}

        name = provider["name"]
        if provider.get("disabled") or provider.get("state", "ACTIVE") != "ACTIVE":
            return fail("invalid_target", "The target service indicated by the \"audience\" parameters is invalid.")
        oidc = provider.get("oidc") or {}
        allowed = tuple(oidc.get("allowedAudiences") or (f"//{IAM_HOST}/{name}", f"https://{IAM_HOST}/{name}"))
        key = f"{oidc.get('issuerUri')} {allowed}"
        try:
            with self._lock:
                verifier = self._verifiers.get(key)
                if verifier is None:
                    verifier = self._verifiers[key] = TokenVerifier(oidc.get("issuerUri"), list(allowed), leeway=0)
        except ValidationError:  # an issuer no token can carry (a trailing slash, spaces)
            return fail("invalid_grant", "The subject token is invalid (bad_issuer).")
        try:
            claims = verifier.verify(form.get("subject_token", ""))
        except TokenRejected as rejected:
            if rejected.reason == "bad_audience":
                return fail("invalid_grant", "The audience in ID Token does not match the expected audience.")
            return fail("invalid_grant", f"The subject token is invalid ({rejected.reason}).")
        cel = GcpCel()
        mapping = provider.get("attributeMapping") or {}
        try:
            attributes = cel.map_attributes(mapping, claims)
        except cel.CelError:
            return fail("invalid_grant", "The attribute mapping could not be evaluated for the given credential.")
        condition = provider.get("attributeCondition")
        if condition and cel.outcome(condition, claims, mapping) is not True:
            return fail("unauthorized_client", "The given credential is rejected by the attribute condition.")
        access_token = f"gcp-sts-{uuid.uuid4()}"
        record["outcome"] = "issued"
        record["subject"] = claims["sub"]
        with self._lock:
            self.sts_tokens.append(access_token)
            self._principals[access_token] = (name.split("/providers/")[0], attributes)
        return 200, {"access_token": access_token, "issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "Bearer",
                     "expires_in": 3600}

    def _may_impersonate(self, bearer: str, email: str) -> bool:
        if self.iam is None:
            return email in self.service_accounts
        pool, attributes = self._principals.get(bearer, ("", {}))
        granted = {f"principal://{IAM_HOST}/{pool}/subject/{attributes.get('google.subject')}",
                   f"principalSet://{IAM_HOST}/{pool}/*"}
        granted |= {f"principalSet://{IAM_HOST}/{pool}/{key}/{value}" for key, value in attributes.items()
                    if key.startswith("attribute.")}
        return bool(granted & set(self.iam.members(email, WORKLOAD_IDENTITY_USER)))

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
        if not self._may_impersonate(bearer, email):
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
