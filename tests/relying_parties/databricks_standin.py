"""A Databricks token endpoint stand-in that judges subject tokens like service principal federation.

It serves plain HTTP on 127.0.0.1 (a free port, in a thread of the test's process, with a bounded
lifetime: it stops when the block ends, or by itself) and answers Databricks' documented RFC 8693
exchange at the workspace's ``/oidc/v1/token`` and the account's
``/oidc/accounts/<account-id>/v1/token``: ``grant_type`` token-exchange, ``subject_token_type``
jwt, ``client_id`` the service principal's application ID. The subject token must match one of
that service principal's federation policies the way Databricks matches: the signature verifies
with the issuer's keys, fetched over HTTP through its discovery document (RS256; Databricks also
takes ES256, which AWS does not offer), ``iss`` equals the policy's issuer, the subject claim equals
its subject, ``aud`` holds one of its audiences, within ``nbf``/``exp``. A refusal is a 401 with an
RFC 6749 error body that says no more than Databricks does; the reason is kept for the test in
:attr:`DatabricksStandin.requests`.

It also serves the account API an account admin reads the policies with, as databricks-sdk 0.162.0
calls it (``ServicePrincipalFederationPolicyAPI.list``, ``oauth.get_account_endpoints``):

- ``GET /oidc/accounts/<account-id>/.well-known/oauth-authorization-server``: the account's endpoints;
- ``POST /oidc/accounts/<account-id>/v1/token`` with ``grant_type=client_credentials`` and the admin's
  client ID and secret in HTTP Basic authentication (OAuth M2M): an account access token;
- ``GET /api/2.0/accounts/<account-id>/servicePrincipals/<id>/federationPolicies`` with that token as
  ``Bearer``: ``{"policies": [FederationPolicy...], "next_page_token": ...}``, ``page_size`` at a time.
  Another bearer is refused (403), an unknown service principal is a 404, both with Databricks'
  API error shape (``error_code``, ``message``).

Example::

    databricks = DatabricksStandin(ACCOUNT_ID, {APPLICATION_ID: [Policy(issuer.issuer, ROLE_ARN, (ACCOUNT_ID,))]},
                                   service_principals={SP_ID: APPLICATION_ID}, admins={ADMIN_ID: ADMIN_SECRET})
    with databricks.serve():
        exchange_token(databricks.account_endpoint, token, client_id=APPLICATION_ID)
"""

from __future__ import annotations

import base64
import contextlib
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import parse_qs, unquote

from fedctl.errors import TokenRejected
from fedctl.testing.issuer import LocalHandler, local_server
from fedctl.verify import TokenVerifier

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"


@dataclass(frozen=True)
class Policy:
    """One service principal federation policy: what a token must carry."""

    issuer: str
    subject: str
    audiences: tuple[str, ...]
    subject_claim: str = "sub"
    policy_id: str = ""


class DatabricksStandin:
    """Databricks' token endpoints for one account and its service principals' federation policies.

    Args:
        account_id: The Databricks account whose endpoint ``/oidc/accounts/<id>/v1/token`` answers.
        policies: application ID (``client_id``) -> that service principal's policies.
        service_principals: numeric service principal ID -> its application ID (the account API's
            addressing of the same policies).
        admins: account admins' OAuth client ID -> secret, who may read the policies.
        page_size: How many policies one page of the list holds at most.

    Attributes:
        requests: One dict per token request: the form fields but the subject token, the
            ``endpoint`` (``workspace`` or ``account``), and ``outcome`` (``issued`` or why not).
        access_tokens: Databricks tokens handed out, in order.
        reads: One dict per account API request: ``path``, ``status``.
    """

    def __init__(self, account_id: str, policies: Mapping[str, Sequence[Policy]], *,
                 service_principals: Mapping[int, str] | None = None, admins: Mapping[str, str] | None = None,
                 page_size: int = 20) -> None:
        self.account_id = account_id
        self.policies = {client: list(found) for client, found in policies.items()}
        self.service_principals = {int(number): client for number, client in (service_principals or {}).items()}
        self.admins = dict(admins or {})
        self.page_size = page_size
        self.requests: list[dict[str, Any]] = []
        self.access_tokens: list[str] = []
        self.reads: list[dict[str, Any]] = []
        self.base_url: str | None = None
        self._admin_tokens: set[str] = set()
        self._verifiers: dict[Policy, TokenVerifier] = {}
        self._lock = threading.Lock()

    @property
    def workspace_endpoint(self) -> str:
        return f"{self.base_url}/oidc/v1/token"

    @property
    def account_endpoint(self) -> str:
        return f"{self.base_url}/oidc/accounts/{self.account_id}/v1/token"

    @contextlib.contextmanager
    def serve(self, *, lifetime: float = 120.0) -> Iterator["DatabricksStandin"]:
        standin = self

        class Handler(LocalHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                path = self.path.split("?", 1)[0]
                try:
                    if path == "/oidc/v1/token":
                        status, document = standin._token(self.read_body(), "workspace")
                    elif path == f"/oidc/accounts/{standin.account_id}/v1/token":
                        body = self.read_body()
                        if parse_qs(body.decode("utf-8")).get("grant_type") == ["client_credentials"]:
                            status, document = standin._client_credentials(self.headers.get("Authorization"))
                        else:
                            status, document = standin._token(body, "account")
                    else:
                        status, document = 404, {"error": "not_found"}
                except Exception as error:  # answer, never drop the connection
                    status, document = 500, {"error": "server_error", "error_description": type(error).__name__}
                self.send_json(status, document)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path, _, query = self.path.partition("?")
                try:
                    status, document = standin._get(path, {k: v[-1] for k, v in parse_qs(query).items()},
                                                    self.headers.get("Authorization"))
                except Exception as error:  # answer, never drop the connection
                    status, document = 500, {"error_code": "INTERNAL_ERROR", "message": type(error).__name__}
                self.send_json(status, document)

        with local_server(Handler, lifetime=lifetime) as server:
            self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
            yield self

    # -- the account API ------------------------------------------------------------------------

    def _client_credentials(self, authorization: str | None) -> tuple[int, dict[str, Any]]:
        """OAuth M2M for an account admin: client ID and secret in HTTP Basic authentication."""
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            client, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            client, secret = "", ""
        if scheme != "Basic" or not client or self.admins.get(unquote(client)) != unquote(secret):
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        token = f"dbx-admin-{uuid.uuid4()}"
        with self._lock:
            self._admin_tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "all-apis"}

    def _get(self, path: str, query: Mapping[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        accounts = f"/api/2.0/accounts/{self.account_id}/servicePrincipals/"
        if path == f"/oidc/accounts/{self.account_id}/.well-known/oauth-authorization-server":
            base = f"{self.base_url}/oidc/accounts/{self.account_id}/v1"
            return 200, {"authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token"}
        if not (path.startswith(accounts) and path.endswith("/federationPolicies")):
            return 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for 'GET {path}'"}
        record: dict[str, Any] = {"path": path}
        with self._lock:
            self.reads.append(record)
            admitted = (authorization or "").removeprefix("Bearer ") in self._admin_tokens
        if not admitted:
            record["status"] = 403
            return 403, {"error_code": "PERMISSION_DENIED", "message": "not an account admin"}
        number = path[len(accounts):-len("/federationPolicies")]
        client = self.service_principals.get(int(number)) if number.isdigit() else None
        if client is None:
            record["status"] = 404
            return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Service principal {number} not found"}
        record["status"] = 200
        listed = [self._listed(int(number), i, policy) for i, policy in enumerate(self.policies.get(client, []))]
        start = int(query.get("page_token") or 0)
        size = min(int(query.get("page_size") or self.page_size), self.page_size)
        page: dict[str, Any] = {"policies": listed[start:start + size]}
        if start + size < len(listed):
            page["next_page_token"] = str(start + size)
        return 200, page

    def _listed(self, number: int, index: int, policy: Policy) -> dict[str, Any]:
        """A policy as the account API returns it (databricks-sdk's FederationPolicy)."""
        policy_id = policy.policy_id or f"policy-{index + 1}"
        oidc: dict[str, Any] = {"issuer": policy.issuer, "subject": policy.subject,
                                "subject_claim": policy.subject_claim}
        if policy.audiences:
            oidc["audiences"] = list(policy.audiences)
        return {"name": f"accounts/{self.account_id}/servicePrincipals/{number}/federationPolicies/{policy_id}",
                "policy_id": policy_id, "service_principal_id": number, "oidc_policy": oidc,
                "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{number}/{policy_id}")),
                "create_time": "2026-01-01T00:00:00Z", "update_time": "2026-01-01T00:00:00Z"}

    # -- the token exchange ---------------------------------------------------------------------

    def _token(self, body: bytes, endpoint: str) -> tuple[int, dict[str, Any]]:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()}
        record: dict[str, Any] = {k: v for k, v in form.items() if k != "subject_token"}
        record["endpoint"] = endpoint
        with self._lock:
            self.requests.append(record)

        def refuse(status: int, error: str, description: str, outcome: str) -> tuple[int, dict[str, Any]]:
            record["outcome"] = outcome
            return status, {"error": error, "error_description": description}

        if form.get("grant_type") != TOKEN_EXCHANGE:
            return refuse(400, "unsupported_grant_type", "Unsupported grant type", "grant_type")
        if form.get("subject_token_type") != JWT_TOKEN_TYPE or not form.get("subject_token"):
            return refuse(400, "invalid_request", "Invalid subject token", "subject_token_type")
        client_id = form.get("client_id")
        if not client_id:
            return refuse(400, "invalid_request", "No account federation policy matches", "no_client_id")
        policies = self.policies.get(client_id)
        if not policies:
            return refuse(401, "invalid_client", "Invalid credentials", "unknown_client")
        reasons = []
        for policy in policies:
            reason = self._judge(form["subject_token"], policy)
            if reason is None:
                access_token = f"dbx-at-{uuid.uuid4()}"
                record["outcome"] = "issued"
                with self._lock:
                    self.access_tokens.append(access_token)
                return 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 3600,
                             "scope": form.get("scope") or "all-apis"}
            reasons.append(reason)
        # Databricks says no more than this; the reasons are for the test.
        return refuse(401, "invalid_client", "Invalid credentials", ",".join(reasons))

    def _judge(self, token: str, policy: Policy) -> str | None:
        try:
            claims = self._verifier(policy).verify(token)
        except TokenRejected as rejected:
            return rejected.reason
        if policy.subject_claim != "sub" and claims.get(policy.subject_claim) != policy.subject:
            return "bad_subject"
        return None

    def _verifier(self, policy: Policy) -> TokenVerifier:
        with self._lock:
            verifier = self._verifiers.get(policy)
            if verifier is None:
                # Databricks' default audience is the account ID (databricks-sdk's OidcFederationPolicy).
                verifier = TokenVerifier(policy.issuer, list(policy.audiences or (self.account_id,)),
                                         algorithms=("RS256",),
                                         subjects=[policy.subject] if policy.subject_claim == "sub" else None,
                                         leeway=0)
                self._verifiers[policy] = verifier
            return verifier
