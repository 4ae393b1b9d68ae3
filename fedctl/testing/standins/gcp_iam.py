"""A Google Cloud IAM stand-in: workload identity pool providers and service accounts' IAM policies.

What a reader with Google credentials sees through the IAM API:

- ``GET /v1/projects/{number}/locations/global/workloadIdentityPools/{pool}/providers/{provider}``:
  the provider as the API returns it (``name``, ``state``, ``disabled``, ``attributeMapping``,
  ``attributeCondition``, ``oidc.issuerUri``, ``oidc.allowedAudiences``, ``oidc.jwksJson``);
- ``POST /v1/projects/-/serviceAccounts/{email}:getIamPolicy``: the service account's policy
  (``version``, ``etag``, ``bindings``);
- ``POST /token``: Google's OAuth 2.0 token endpoint for a service account's signed JWT (RFC 7523),
  so the reader signs in with google-auth's application default credentials: a ``service_account``
  key file from :meth:`GcpIamStandin.write_adc`, whose ``token_uri`` is this stand-in (google-auth
  honours it for service account keys; ``authorized_user`` files always use Google's).

The IAM API answers only to an access token it issued. :class:`~fedctl.testing.standins.google_sts.
GoogleStsStandin` built with ``iam=`` judges exchanges by these same providers and policies (the
attribute mapping and condition with the project's CEL evaluator), so what doctor reads and what
the exchange answers cannot disagree.

Example::

    gcp = GcpIamStandin({PROVIDER_NAME: provider}, policies={SA_EMAIL: [(WORKLOAD_IDENTITY_USER, [member])]})
    with gcp.serve():
        gcp.write_adc(tmp_path / "adc.json")      # then GOOGLE_APPLICATION_CREDENTIALS=tmp_path/adc.json
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import parse_qs, unquote

from fedctl.testing.issuer import LocalHandler, local_server

_GET_IAM_POLICY = ":getIamPolicy"
_SERVICE_ACCOUNTS = "/v1/projects/-/serviceAccounts/"
_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
READER_EMAIL = "doctor-reader@example-project.iam.gserviceaccount.com"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
"""The ``aud`` of a service account's JWT grant: Google's token endpoint, wherever it is posted."""


def oidc_provider(name: str, issuer: str, *, mapping: Mapping[str, str], condition: str | None = None,
                  allowed_audiences: Sequence[str] = (), state: str = "ACTIVE", disabled: bool = False,
                  jwks_json: str | None = None) -> dict[str, Any]:
    """A provider resource as ``GET .../providers/{id}`` returns it."""
    oidc: dict[str, Any] = {"issuerUri": issuer}
    if allowed_audiences:
        oidc["allowedAudiences"] = list(allowed_audiences)
    if jwks_json is not None:
        oidc["jwksJson"] = jwks_json
    provider: dict[str, Any] = {"name": name, "state": state, "disabled": disabled,
                                "attributeMapping": dict(mapping), "oidc": oidc}
    if condition is not None:
        provider["attributeCondition"] = condition
    return provider


class GcpIamStandin:
    """IAM for some providers and service accounts.

    Args:
        providers: provider resource name (``projects/N/locations/global/workloadIdentityPools/P/providers/V``)
            -> the provider resource (:func:`oidc_provider`).
        policies: service account email -> ``[(role, [members]), ...]``, its IAM policy's bindings.

    Attributes:
        reads: One dict per IAM API request: ``path`` and ``outcome`` (status code).
        deny_reads: Answer the IAM API with 403 (a reader without ``iam.workloadIdentityPoolProviders.get``
            or ``iam.serviceAccounts.getIamPolicy``).
    """

    def __init__(self, providers: Mapping[str, Mapping[str, Any]],
                 policies: Mapping[str, Sequence[tuple[str, Sequence[str]]]] | None = None) -> None:
        self.providers = {name: dict(provider) for name, provider in providers.items()}
        self.policies = {email: [(role, list(members)) for role, members in bindings]
                         for email, bindings in (policies or {}).items()}
        self.reads: list[dict[str, Any]] = []
        self.deny_reads = False
        self.base_url: str | None = None
        self._access_tokens: set[str] = set()
        self._reader_key: Any = None
        self._lock = threading.Lock()

    def write_adc(self, path: Path) -> Path:
        """A reader's ``service_account`` key file (application default credentials) that signs in here."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        if self._reader_key is None:
            self._reader_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = self._reader_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode()
        path.write_text(json.dumps({"type": "service_account", "project_id": "example-project",
                                    "private_key_id": "reader-key", "private_key": pem, "client_email": READER_EMAIL,
                                    "client_id": "100000000000000000001", "token_uri": f"{self.base_url}/token"}))
        return path

    def members(self, email: str, role: str) -> list[str]:
        return [member for bound, members in self.policies.get(email, []) if bound == role for member in members]

    @contextlib.contextmanager
    def serve(self, *, lifetime: float = 120.0) -> Iterator["GcpIamStandin"]:
        standin = self

        class Handler(LocalHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_json(*standin._answer("GET", unquote(self.path.split("?", 1)[0]),
                                                self.headers.get("Authorization", ""), b""))

            def do_POST(self) -> None:  # noqa: N802
                self.send_json(*standin._answer("POST", unquote(self.path.split("?", 1)[0]),
                                                self.headers.get("Authorization", ""), self.read_body()))

        with local_server(Handler, lifetime=lifetime) as server:
            self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
            yield self

    def _answer(self, method: str, path: str, authorization: str, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            if method == "POST" and path == "/token":
                return self._token(body)
            return self._read(method, path, authorization)
        except Exception as error:  # answer, never drop the connection
            return 500, _google_error(500, "INTERNAL", type(error).__name__)

    def _token(self, body: bytes) -> tuple[int, dict[str, Any]]:
        import jwt

        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()}
        if form.get("grant_type") != _JWT_BEARER or self._reader_key is None:
            return 400, {"error": "unsupported_grant_type", "error_description": "Bad Request"}
        try:
            claims = jwt.decode(form.get("assertion", ""), self._reader_key.public_key(), algorithms=["RS256"],
                                audience=GOOGLE_TOKEN_AUDIENCE, issuer=READER_EMAIL)
        except jwt.PyJWTError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        token = f"ya29.reader-{uuid.uuid4()}"
        with self._lock:
            self._access_tokens.add(token)
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer",
                     "scope": claims.get("scope", "")}

    def _read(self, method: str, path: str, authorization: str) -> tuple[int, dict[str, Any]]:
        record: dict[str, Any] = {"method": method, "path": path}
        with self._lock:
            self.reads.append(record)

        def answer(status: int, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            record["outcome"] = status
            return status, document

        scheme, _, bearer = authorization.partition(" ")
        if scheme != "Bearer" or bearer not in self._access_tokens:
            return answer(401, _google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."))
        if self.deny_reads:
            return answer(403, _google_error(403, "PERMISSION_DENIED", "Permission denied on resource (or it may not "
                                                                        "exist)."))
        if method == "GET" and path.startswith("/v1/projects/") and "/providers/" in path:
            name = path[len("/v1/"):]
            provider = self.providers.get(name)
            if provider is None:
                return answer(404, _google_error(404, "NOT_FOUND", f"Requested entity was not found: {name}"))
            return answer(200, provider)
        if method == "POST" and path.startswith(_SERVICE_ACCOUNTS) and path.endswith(_GET_IAM_POLICY):
            email = path[len(_SERVICE_ACCOUNTS):-len(_GET_IAM_POLICY)]
            if email not in self.policies:
                return answer(404, _google_error(404, "NOT_FOUND", f"Unknown service account {email}"))
            bindings = [{"role": role, "members": members} for role, members in self.policies[email] if members]
            return answer(200, {"version": 1, "etag": "BwYstandin=", **({"bindings": bindings} if bindings else {})})
        return answer(404, _google_error(404, "NOT_FOUND", f"no such method {method} {path}"))


def _google_error(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


__all__ = ["GcpIamStandin", "oidc_provider"]
