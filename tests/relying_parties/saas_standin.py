"""Loopback stand-ins of OpenAI's and Anthropic's token endpoints.

Each takes the request its vendor documents (OpenAI: JSON RFC 8693 ``token-exchange`` with
``identity_provider_id`` and ``service_account_id``; Anthropic: JSON RFC 7523 ``jwt-bearer`` with
``federation_rule_id`` and ``organization_id`` and the ``anthropic-beta`` header) and judges the AWS
token as the vendor does: signature by the issuer's keys, exact ``iss`` and ``aud``, then the rule
made for the role (exact ``sub``, the nested ``aws_account``). The refusals' wording is the
stand-in's own (RFC 6749 error codes), not the vendors'.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any, Iterator

from components.relying_parties.saas.rules import rule_accepts
from fedctl.errors import TokenRejected
from fedctl.testing.issuer import LocalHandler, local_server
from fedctl.testing.standins.sts import ROLE_ARN
from fedctl.verify import TokenVerifier

ACCOUNT = ROLE_ARN.split(":")[4]
PROVIDER_ID, SERVICE_ACCOUNT = "wip_FAKE0001", "sa_FAKE0001"
RULE_ID, ORGANIZATION = "fdrl_FAKE0001", "00000000-0000-4000-8000-00000000fa4e"
OPENAI_AUDIENCE, ANTHROPIC_AUDIENCE = "https://api.openai.com/v1", "https://api.anthropic.com"


class VendorStandin:
    """One vendor's token endpoint, trusting ``issuer`` for ``audience`` and one rule for ``role``."""

    def __init__(self, preset: str, issuer: str, audience: str, role: str = ROLE_ARN):
        self.preset, self.issuer, self.audience, self.role = preset, issuer, audience, role
        self.requests: list[dict[str, Any]] = []
        self.access_tokens: list[str] = []
        self.url = ""

    @contextlib.contextmanager
    def serve(self) -> Iterator["VendorStandin"]:
        standin = self

        class Handler(LocalHandler):
            def do_POST(self) -> None:  # noqa: N802
                status, document = standin._answer(self.path, self.headers, self.read_body())
                self.send_json(status, document)

        with local_server(Handler, lifetime=60) as server:
            self.url = f"http://127.0.0.1:{server.server_address[1]}"
            yield self

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/token" if self.preset == "openai" else f"{self.url}/v1/oauth/token"

    def _answer(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        def fail(status: int, error: str, description: str) -> tuple[int, dict[str, Any]]:
            record["outcome"] = error
            return status, {"error": error, "error_description": description}

        record: dict[str, Any] = {"path": path, "content_type": headers.get("Content-Type"),
                                  "beta": headers.get("anthropic-beta")}
        self.requests.append(record)
        try:
            document = json.loads(body)
        except ValueError:
            return fail(400, "invalid_request", "the body must be JSON")
        record.update({k: v for k, v in document.items() if k not in ("subject_token", "assertion")})
        if self.preset == "openai":
            if document.get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" or \
                    document.get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt":
                return fail(400, "unsupported_grant_type", "token-exchange of a jwt only")
            if (document.get("identity_provider_id"), document.get("service_account_id")) != (PROVIDER_ID, SERVICE_ACCOUNT):
                return fail(400, "invalid_request", "unknown provider or service account")
            token = document.get("subject_token", "")
        else:
            if "oidc-federation-2026-04-01" not in (headers.get("anthropic-beta") or ""):
                return fail(400, "invalid_request", "the federation beta header is missing")
            if document.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                return fail(400, "unsupported_grant_type", "jwt-bearer only")
            if (document.get("federation_rule_id"), document.get("organization_id")) != (RULE_ID, ORGANIZATION):
                return fail(400, "invalid_request", "unknown federation rule")
            token = document.get("assertion", "")
        try:
            claims = TokenVerifier(self.issuer, [self.audience], leeway=0).verify(token)
        except TokenRejected as rejected:
            return fail(401, "invalid_grant", f"the subject token was rejected ({rejected.reason}): {token}")
        accepted, why = rule_accepts(self.preset, claims, self.role, ACCOUNT, self.audience)
        if not accepted:
            return fail(401, "invalid_grant", f"no mapping matches ({why})")
        access = f"{'sk-ant-oat01-' if self.preset == 'anthropic' else 'oai-'}FAKE{uuid.uuid4().hex[:10]}"
        self.access_tokens.append(access)
        record["outcome"] = "issued"
        return 200, {"access_token": access, "token_type": "Bearer", "expires_in": 600}
