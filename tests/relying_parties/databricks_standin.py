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

Example::

    databricks = DatabricksStandin(ACCOUNT_ID, {APPLICATION_ID: [Policy(issuer.issuer, ROLE_ARN, (ACCOUNT_ID,))]})
    with databricks.serve():
        exchange_token(databricks.account_endpoint, token, client_id=APPLICATION_ID)
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import parse_qs

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


class DatabricksStandin:
    """Databricks' token endpoints for one account and its service principals' federation policies.

    Args:
        account_id: The Databricks account whose endpoint ``/oidc/accounts/<id>/v1/token`` answers.
        policies: application ID (``client_id``) -> that service principal's policies.

    Attributes:
        requests: One dict per token request: the form fields but the subject token, the
            ``endpoint`` (``workspace`` or ``account``), and ``outcome`` (``issued`` or why not).
        access_tokens: Databricks tokens handed out, in order.
    """

    def __init__(self, account_id: str, policies: Mapping[str, Sequence[Policy]]) -> None:
        self.account_id = account_id
        self.policies = {client: list(found) for client, found in policies.items()}
        self.requests: list[dict[str, Any]] = []
        self.access_tokens: list[str] = []
        self.base_url: str | None = None
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
                        status, document = standin._token(self.read_body(), "account")
                    else:
                        status, document = 404, {"error": "not_found"}
                except Exception as error:  # answer, never drop the connection
                    status, document = 500, {"error": "server_error", "error_description": type(error).__name__}
                self.send_json(status, document)

        with local_server(Handler, lifetime=lifetime) as server:
            self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
            yield self

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
                verifier = TokenVerifier(policy.issuer, list(policy.audiences), algorithms=("RS256",),
                                         subjects=[policy.subject] if policy.subject_claim == "sub" else None,
                                         leeway=0)
                self._verifiers[policy] = verifier
            return verifier
