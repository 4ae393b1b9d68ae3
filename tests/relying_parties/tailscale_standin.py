"""A Tailscale API stand-in: the token exchange for federated identities, and the keys API that reads them.

It serves plain HTTP on 127.0.0.1 (a free port, in a thread of the test's process, stopped when
the block ends or by itself) and answers as tailscale/tailscale-client-go-v2 calls Tailscale:

- ``POST /api/v2/oauth/token-exchange`` (``identityfederation.go``: form fields ``client_id`` and
  ``jwt``): judges the AWS token as Tailscale does for the federated identity of that client ID
  (signature by the issuer's published keys, ``iss`` and ``aud`` exactly, ``sub`` and each custom
  claim rule by their ``*`` patterns) and answers ``access_token``, ``token_type``, ``expires_in``,
  ``scope``;
- ``GET /api/v2/tailnet/<tailnet>/keys/<id>`` (``keys.go``: ``KeysResource.Get``, which
  terraform-provider-tailscale's ``tailscale_federated_identity`` reads with): the identity as a
  ``Key`` (``id``, ``keyType`` ``federated``, ``issuer``, ``subject``, ``audience``,
  ``customClaimRules``, ...), for an API key sent as HTTP Basic user name (``client.go``) or the
  bearer an OAuth client got at ``POST /api/v2/oauth/token`` (``oauth.go``: client credentials);
  an unknown ID is a 404 and a wrong credential a 401, with Tailscale's ``{"message": ...}``.

Example::

    tailscale = TailscaleStandin({CLIENT: (issuer.issuer, ROLE_ARN, AUDIENCE)}, api_keys={"tskey-api-reader"})
    with tailscale.serve():
        tailscale_access_token(CLIENT, supplier, api_url=tailscale.url)
"""

from __future__ import annotations

import base64
import contextlib
import threading
import uuid
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import parse_qs, unquote

from components.relying_parties.tailscale.rules import glob_match
from fedctl.errors import TokenRejected
from fedctl.testing.issuer import LocalHandler, local_server
from fedctl.verify import TokenVerifier

EXCHANGE_PATH = "/api/v2/oauth/token-exchange"
OAUTH_TOKEN_PATH = "/api/v2/oauth/token"
KEYS_PREFIX = "/api/v2/tailnet/"


class TailscaleStandin:
    """Tailscale for some federated identities: client ID -> (issuer, subject, audience[, custom claim rules]).

    Attributes:
        exchanges: One dict per token exchange: ``client_id``, ``content_type``, ``outcome``.
        reads: One dict per keys API request: ``path``, ``status``.
        access_tokens: API access tokens handed out by the exchange, in order.
    """

    def __init__(self, identities: Mapping[str, Sequence[Any]], *, api_keys: Sequence[str] = (),
                 oauth_clients: Mapping[str, str] | None = None, tailnet: str = "example.com"):
        self.identities = {client: tuple(found) for client, found in identities.items()}
        self.api_keys = set(api_keys)
        self.oauth_clients = dict(oauth_clients or {})
        self.tailnet = tailnet
        self.exchanges: list[dict[str, Any]] = []
        self.reads: list[dict[str, Any]] = []
        self.access_tokens: list[str] = []
        self.url = ""
        self._bearers: set[str] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def serve(self, *, lifetime: float = 60.0) -> Iterator["TailscaleStandin"]:
        standin = self

        class Handler(LocalHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.read_body()
                if self.path == EXCHANGE_PATH:
                    status, document = standin._exchange(body, self.headers.get("Content-Type", ""))
                elif self.path == OAUTH_TOKEN_PATH:
                    status, document = standin._client_credentials(body, self.headers.get("Authorization"))
                else:
                    status, document = 404, {"message": "not found"}
                self.send_json(status, document)

            def do_GET(self) -> None:  # noqa: N802
                status, document = standin._key(self.path.split("?", 1)[0], self.headers.get("Authorization"))
                self.send_json(status, document)

        with local_server(Handler, lifetime=lifetime) as server:
            self.url = f"http://127.0.0.1:{server.server_address[1]}"
            yield self

    # -- the keys API -------------------------------------------------------------------------------

    def _client_credentials(self, body: bytes, authorization: str | None) -> tuple[int, dict[str, Any]]:
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        client, secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme == "Basic":
            client, _, secret = base64.b64decode(encoded).decode().partition(":")
            client, secret = unquote(client), unquote(secret)
        if form.get("grant_type") != "client_credentials" or self.oauth_clients.get(client) != secret or not client:
            return 401, {"error": "invalid_client"}
        token = f"tskey-oauth-FAKE{uuid.uuid4().hex[:12]}"
        with self._lock:
            self._bearers.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def _admitted(self, authorization: str | None) -> bool:
        scheme, _, value = (authorization or "").partition(" ")
        if scheme == "Basic":
            key, _, _ = base64.b64decode(value).decode().partition(":")
            return key in self.api_keys
        return scheme == "Bearer" and value in self._bearers

    def _key(self, path: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
        record: dict[str, Any] = {"path": path}
        with self._lock:
            self.reads.append(record)
        parts = path[len(KEYS_PREFIX):].split("/") if path.startswith(KEYS_PREFIX) else []
        if len(parts) != 3 or parts[1] != "keys" or parts[0] not in ("-", self.tailnet):
            record["status"] = 404
            return 404, {"message": "not found"}
        if not self._admitted(authorization):
            record["status"] = 401
            return 401, {"message": "API token invalid"}
        identity = self.identities.get(unquote(parts[2]))
        if identity is None:
            record["status"] = 404
            return 404, {"message": "key not found"}
        record["status"] = 200
        issuer, subject, audience, *rules = identity
        return 200, {"id": unquote(parts[2]), "keyType": "federated", "description": "", "scopes": ["all:read"],
                     "tags": [], "userId": "", "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z",
                     "expires": "0001-01-01T00:00:00Z", "revoked": "0001-01-01T00:00:00Z", "invalid": False,
                     "issuer": issuer, "subject": subject, "audience": audience,
                     "customClaimRules": dict(rules[0]) if rules else {}}

    # -- the token exchange -------------------------------------------------------------------------

    def _exchange(self, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        record = {"client_id": form.get("client_id"), "content_type": content_type}
        with self._lock:
            self.exchanges.append(record)
        identity = self.identities.get(form.get("client_id", ""))
        if identity is None or "jwt" not in form:
            record["outcome"] = "unknown client"
            return 400, {"message": "invalid client_id or missing jwt"}
        issuer, subject, audience, *rules = identity
        try:
            claims = TokenVerifier(issuer, [audience], leeway=0).verify(form["jwt"])
        except TokenRejected as rejected:
            record["outcome"] = rejected.reason
            # A careless server echoing what it got: the client must not pass it on.
            return 401, {"message": f"token rejected ({rejected.reason}): {form['jwt']}"}
        if not glob_match(subject, claims["sub"]):
            record["outcome"] = "bad_subject"
            return 401, {"message": "subject does not match the federated identity"}
        for claim, pattern in (dict(rules[0]) if rules else {}).items():
            if not glob_match(pattern, claims.get(claim)):
                record["outcome"] = f"custom_claim_rule:{claim}"
                return 401, {"message": "a custom claim rule does not match"}
        token = f"tskey-api-FAKE{uuid.uuid4().hex[:12]}"
        record["outcome"] = "issued"
        with self._lock:
            self.access_tokens.append(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "devices:core:read"}
