"""A Microsoft Entra token endpoint stand-in that judges client assertions like Entra does.

It serves HTTPS on 127.0.0.1 with a throwaway CA (azure-identity refuses http authorities),
answers MSAL's tenant discovery, and on ``POST /{tenant}/oauth2/v2.0/token`` checks the
``client_assertion`` against the app's federated identity credentials: the issuer's JWKS
must verify the signature, and issuer, subject and audience must match one record exactly
(case-sensitive), as Entra's AADSTS700213 demands.

For whoever reads those credentials (``fedctl doctor``), the same server also plays:

- the token endpoint for a reader's client secret (``client_secrets``), as
  ``DefaultAzureCredential``'s environment credential asks it;
- Microsoft Graph: ``GET /v1.0/applications(appId='{appId}')/federatedIdentityCredentials``;
- Azure Resource Manager: ``GET {identity id}/federatedIdentityCredentials?api-version=2023-01-31``
  for the managed identities in ``identities``.

Both answer only to a bearer token the stand-in issued to a reader, and with what Entra judges
by: a credential's name, issuer, subject and audiences.

Example::

    entra = EntraStandin({"client-id": [(issuer.issuer, role_arn, "api://AzureADTokenExchange")]})
    with entra.serve():
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", entra.ca_bundle)
        credential = ClientAssertionCredential(
            "tenant", "client-id", func=..., authority=entra.authority,
            disable_instance_discovery=True,
        )
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import re
import ssl
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import parse_qs

from fedctl.errors import TokenRejected
from fedctl.testing.issuer import LocalHandler, local_server
from fedctl.verify import TokenVerifier

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_AUDIENCE = "api://AzureADTokenExchange"

# What Entra answers when the assertion's claims or signature do not pass.
_AADSTS = {
    "bad_issuer": "AADSTS700211: No matching federated identity record found for presented assertion issuer",
    "bad_subject": "AADSTS700213: No matching federated identity record found for presented assertion subject",
    "bad_audience": "AADSTS700212: No matching federated identity record found for presented assertion audience",
    "expired": "AADSTS700024: Client assertion is not within its valid time range",
    "not_yet_valid": "AADSTS700024: Client assertion is not within its valid time range",
    "issued_in_future": "AADSTS700024: Client assertion is not within its valid time range",
}
_SIGNATURE = "AADSTS50013: Assertion failed signature validation"

FederatedCredential = tuple[str, str, str]  # (issuer, subject, audience)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed CA certificate for localhost / 127.0.0.1 and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fedctl test CA (localhost)")])
    now = dt.datetime.now(dt.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "ca.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class EntraStandin:
    """Entra's token endpoint for apps with federated identity credentials.

    Args:
        federated_credentials: client_id -> [(issuer, subject, audience), ...]; credential ``i`` of
            a client is named ``credential-<i>`` where Graph and ARM list it.
        client_secrets: client_id -> secret of readers (service principals that read the
            credentials through Graph and ARM).
        identities: managed identity ARM resource ID -> its client_id in ``federated_credentials``.

    Attributes:
        reads: One dict per Graph or ARM request: path and outcome (status code).
        deny_reads: Answer Graph and ARM with 403 (a reader without the permission).
        requests: One dict per token request: client_id, scope, outcome ("issued" or the
            AADSTS code).
        ca_bundle: Path of the CA certificate to trust (set ``REQUESTS_CA_BUNDLE`` to it).
        authority: ``https://localhost:<port>``, for ``authority=``.
    """

    def __init__(self, federated_credentials: Mapping[str, Sequence[FederatedCredential]], *,
                 client_secrets: Mapping[str, str] | None = None, identities: Mapping[str, str] | None = None) -> None:
        self.federated_credentials = {k: list(v) for k, v in federated_credentials.items()}
        self.client_secrets = dict(client_secrets or {})
        self.identities = {k.lower(): v for k, v in (identities or {}).items()}
        self.reads: list[dict[str, Any]] = []
        self.deny_reads = False
        self._reader_tokens: set[str] = set()
        self.requests: list[dict[str, Any]] = []
        self.access_tokens: list[str] = []
        self.ca_bundle: str | None = None
        self.authority: str | None = None
        self._verifiers: dict[FederatedCredential, TokenVerifier] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def serve(self, *, lifetime: float = 120.0) -> Iterator["EntraStandin"]:
        standin = self

        class Handler(LocalHandler):
            def do_GET(self) -> None:  # noqa: N802
                parts = self.path.split("?", 1)[0].strip("/").split("/")
                if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                    self.send_json(200, standin._tenant_discovery(parts[0]))
                elif self.path.startswith("/v1.0/") or self.path.lower().startswith("/subscriptions/"):
                    self.send_json(*standin._read(self.path, self.headers.get("Authorization", "")))
                else:
                    self.send_json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                parts = self.path.split("?", 1)[0].strip("/").split("/")
                try:
                    if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
                        status, document = standin._token(self.read_body())
                    else:
                        status, document = 404, {"error": "not_found"}
                except Exception as error:  # answer, never drop the connection
                    status, document = 500, {"error": "server_error", "error_description": type(error).__name__}
                self.send_json(status, document)

        with tempfile.TemporaryDirectory(prefix="entra-standin-") as directory:
            cert_path, key_path = make_certificate(Path(directory))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_path, key_path)
            with local_server(Handler, lifetime=lifetime, ssl_context=context) as server:
                self.ca_bundle = str(cert_path)
                self.authority = f"https://localhost:{server.server_address[1]}"
                yield self

    def _tenant_discovery(self, tenant: str) -> dict[str, Any]:
        base = f"{self.authority}/{tenant}"
        return {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "jwks_uri": f"{self.authority}/{tenant}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "token"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
        }

    def _token(self, body: bytes) -> tuple[int, dict[str, Any]]:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()}
        client_id, scope = form.get("client_id"), form.get("scope")
        record: dict[str, Any] = {"client_id": client_id, "scope": scope}
        with self._lock:
            self.requests.append(record)

        def fail(error: str, description: str) -> tuple[int, dict[str, Any]]:
            record["outcome"] = description.split(":", 1)[0]
            return 400, {
                "error": error,
                "error_description": f"{description}. Trace ID: {uuid.uuid4()}",
                "error_codes": [int(record["outcome"][6:])] if record["outcome"].startswith("AADSTS") else [],
            }

        if form.get("grant_type") != "client_credentials":
            return fail("unsupported_grant_type", "AADSTS70003: grant_type must be client_credentials")
        if "client_secret" in form:
            if not scope:
                return fail("invalid_scope", "AADSTS90014: scope is missing")
            if self.client_secrets.get(client_id or "") != form["client_secret"]:
                return fail("invalid_client", "AADSTS7000215: Invalid client secret provided")
            reader_token = f"entra-reader-{uuid.uuid4()}"
            record["outcome"] = "issued"
            with self._lock:
                self._reader_tokens.add(reader_token)
            return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                         "access_token": reader_token}
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            return fail("invalid_request", "AADSTS50027: client_assertion is missing or of the wrong type")
        if not scope:
            return fail("invalid_scope", "AADSTS90014: scope is missing")
        records = self.federated_credentials.get(client_id or "")
        if not records:
            return fail("unauthorized_client", f"AADSTS700016: Application with identifier '{client_id}' was not found")

        outcome = self._judge(form["client_assertion"], records)
        if outcome is not None:
            return fail("invalid_client", outcome)
        access_token = f"entra-at-{uuid.uuid4()}"
        record["outcome"] = "issued"
        with self._lock:
            self.access_tokens.append(access_token)
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": access_token}

    def _read(self, path: str, authorization: str) -> tuple[int, dict[str, Any]]:
        """Graph's or ARM's list of a client's federated credentials."""
        from urllib.parse import parse_qs as parse_query, unquote, urlsplit

        parts = urlsplit(path)
        record: dict[str, Any] = {"path": parts.path}
        with self._lock:
            self.reads.append(record)

        def answer(status: int, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            record["outcome"] = status
            return status, document

        scheme, _, bearer = authorization.partition(" ")
        if scheme != "Bearer" or bearer not in self._reader_tokens:
            return answer(401, {"error": {"code": "InvalidAuthenticationToken", "message": "Access token is empty or invalid."}})
        if self.deny_reads:
            return answer(403, {"error": {"code": "Authorization_RequestDenied",
                                          "message": "Insufficient privileges to complete the operation."}})
        graph = re.fullmatch(r"/v1\.0/applications\(appId='([^']*)'\)/federatedIdentityCredentials/?", unquote(parts.path))
        if graph:
            client = graph.group(1)
            if client not in self.federated_credentials:
                return answer(404, {"error": {"code": "Request_ResourceNotFound", "message": f"Resource '{client}' does not "
                                              "exist or one of its queried reference-property objects are not present."}})
            return answer(200, {"value": [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{client}/{i}")),
                                           "name": f"credential-{i}", "issuer": issuer, "subject": subject,
                                           "audiences": [audience], "description": None}
                                          for i, (issuer, subject, audience) in
                                          enumerate(self.federated_credentials[client])]})
        suffix = "/federatedidentitycredentials"
        if parts.path.lower().endswith(suffix):
            if parse_query(parts.query).get("api-version") != ["2023-01-31"]:
                return answer(400, {"error": {"code": "InvalidApiVersionParameter", "message": "api-version 2023-01-31"}})
            identity = parts.path[: -len(suffix)].lower()
            client = self.identities.get(identity)
            if client is None:
                return answer(404, {"error": {"code": "ResourceNotFound", "message": "The Resource "
                                              f"'{identity}' was not found."}})
            return answer(200, {"value": [{"id": f"{parts.path[: -len(suffix)]}/federatedIdentityCredentials/credential-{i}",
                                           "name": f"credential-{i}",
                                           "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
                                           "properties": {"issuer": issuer, "subject": subject, "audiences": [audience]}}
                                          for i, (issuer, subject, audience) in
                                          enumerate(self.federated_credentials.get(client, []))]})
        return answer(404, {"error": {"code": "NotFound", "message": "no such resource"}})

    def _judge(self, assertion: str, records: list[FederatedCredential]) -> str | None:
        """None if one federated credential accepts the assertion, else Entra's error text.

        Every record is tried; the most specific complaint wins (a subject mismatch under a
        known issuer says more than "no such issuer").
        """
        complaints: list[str] = []
        for fic in records:
            try:
                self._verifier(fic).verify(assertion)
                return None
            except TokenRejected as rejected:
                if rejected.reason in ("bad_signature", "unknown_kid", "key_mismatch", "alg_not_allowed"):
                    complaints.append(_SIGNATURE)
                else:
                    complaints.append(_AADSTS.get(rejected.reason, f"AADSTS50027: invalid assertion ({rejected.reason})"))
        for code in ("AADSTS700213", "AADSTS700212", "AADSTS700024", "AADSTS50013"):
            for complaint in complaints:
                if complaint.startswith(code):
                    return (
                        f"{complaint}. Please note that the matching is done using a case-sensitive "
                        "comparison. Check your federated identity credential Subject, Audience and Issuer "
                        "against the presented assertion"
                    )
        return complaints[0]

    def _verifier(self, fic: FederatedCredential) -> TokenVerifier:
        with self._lock:
            verifier = self._verifiers.get(fic)
            if verifier is None:
                issuer, subject, audience = fic
                verifier = TokenVerifier(issuer, [audience], subjects=[subject], leeway=0)
                self._verifiers[fic] = verifier
            return verifier
