"""At run time: exchange the AWS token at OpenAI or Anthropic, and ``fedctl exchange saas``.

Both vendors document a token endpoint (and their SDKs call it):

- OpenAI: ``POST https://auth.openai.com/oauth/token``, JSON, RFC 8693 ``token-exchange`` with
  ``subject_token`` (the AWS token), ``subject_token_type`` jwt, ``identity_provider_id`` and
  ``service_account_id``; answered with ``access_token`` and ``expires_in``.
- Anthropic: ``POST https://api.anthropic.com/v1/oauth/token``, JSON, RFC 7523 ``jwt-bearer`` with
  ``assertion`` (the AWS token), ``federation_rule_id``, ``organization_id`` and optionally
  ``service_account_id`` and ``workspace_id``, and the ``anthropic-beta`` header; answered with
  ``access_token``, ``token_type``, ``expires_in`` and ``scope``.

The IDs are made in the vendor's console, so they are options here, not stack outputs. A
``generic`` SaaS has no documented endpoint: use its own client with ``fedctl token``'s token.
Standard library only; tokens are never printed or put in an error.

Example::

    supplier = AwsTokenSupplier(["https://api.openai.com/v1"], region="eu-west-1")
    grant = openai_access_token(supplier, identity_provider_id="wip_...", service_account_id="sa_...")
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import urllib.error
import urllib.request
from typing import Any, Callable, Mapping

from ...rules.errors import ExchangeError, ValidationError
from ...rules.facts import SIGNING_ALGORITHMS
from ..base import TokenSupplier
from .doctor import diagnose, explain_refusal  # noqa: F401 - fedctl doctor's hooks
from .facts import (
    ANTHROPIC,
    ANTHROPIC_BETA,
    ANTHROPIC_MAX_ASSERTION_BYTES,
    JWT_BEARER_GRANT,
    JWT_TOKEN_TYPE,
    OPENAI,
    PRESET_FACTS,
    TOKEN_EXCHANGE_GRANT,
)

COMMAND = "saas"
TIMEOUT_SECONDS = 30.0
_MAX_ERROR_CHARS = 200



def _refusal(body: bytes, token: str) -> str:
    """The vendor's reason, short (OAuth ``error``/``error_description`` first), never the token."""
    try:
        document = json.loads(body or b"{}")
        error = document.get("error")
        if isinstance(error, Mapping):  # {"error": {"message": ...}}
            error = error.get("message") or error.get("type")
        text = " ".join(str(part) for part in (error, document.get("error_description")) if part)
    except (ValueError, AttributeError):
        text = body.decode("utf-8", "replace")
    text = " ".join(text.split()).replace(token, "<token>")
    return text[:_MAX_ERROR_CHARS] or "no reason given"


def _post_json(vendor: str, url: str, document: Mapping[str, Any], token: str, headers: Mapping[str, str],
               timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Accept": "application/json",
                                              **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            grant = json.load(response)
    except urllib.error.HTTPError as error:
        raise ExchangeError(f"{vendor} refused the AWS token (HTTP {error.code}): {_refusal(error.read(), token)}",
                            code=f"{vendor.lower()}-refused") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ExchangeError(f"could not reach {vendor}'s token endpoint at {url}: {type(error).__name__}",
                            code=f"{vendor.lower()}-unreachable") from None
    if not isinstance(grant, dict) or not isinstance(grant.get("access_token"), str) or not grant["access_token"]:
        raise ExchangeError(f"{vendor}'s token endpoint answered without an access token",
                            code=f"{vendor.lower()}-refused")
    return grant


def openai_access_token(supplier: TokenSupplier, *, identity_provider_id: str, service_account_id: str,
                        token_url: str = PRESET_FACTS[OPENAI].token_url,
                        timeout: float = TIMEOUT_SECONDS) -> dict[str, Any]:
    """Exchange a fresh AWS token for an OpenAI access token (RFC 8693), as openai-python does."""
    token = supplier.get_token()
    return _post_json("OpenAI", token_url, {
        "grant_type": TOKEN_EXCHANGE_GRANT, "subject_token": token, "subject_token_type": JWT_TOKEN_TYPE,
        "identity_provider_id": identity_provider_id, "service_account_id": service_account_id,
    }, token, {}, timeout)


def anthropic_access_token(supplier: TokenSupplier, *, federation_rule_id: str, organization_id: str,
                           service_account_id: str | None = None, workspace_id: str | None = None,
                           token_url: str = PRESET_FACTS[ANTHROPIC].token_url,
                           timeout: float = TIMEOUT_SECONDS) -> dict[str, Any]:
    """Exchange a fresh AWS token for an Anthropic access token (RFC 7523), as anthropic-sdk-python does."""
    token = supplier.get_token()
    if len(token.encode()) > ANTHROPIC_MAX_ASSERTION_BYTES:
        raise ExchangeError(f"the AWS token is {len(token.encode())} bytes, more than the {ANTHROPIC_MAX_ASSERTION_BYTES} "
                            "Anthropic's SDK sends: request fewer or shorter tags", code="anthropic-assertion-too-large")
    document: dict[str, Any] = {"grant_type": JWT_BEARER_GRANT, "assertion": token,
                                "federation_rule_id": federation_rule_id, "organization_id": organization_id}
    if service_account_id:
        document["service_account_id"] = service_account_id
    if workspace_id:
        document["workspace_id"] = workspace_id
    return _post_json("Anthropic", token_url, document, token, {"anthropic-beta": ANTHROPIC_BETA}, timeout)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token-url", help="the vendor's token endpoint (default: the documented one; tests)")
    parser.add_argument("--identity-provider-id", help="OpenAI: the Workload Identity Provider's ID")
    parser.add_argument("--service-account-id", help="OpenAI (required) or Anthropic (optional): the service account")
    parser.add_argument("--federation-rule-id", help="Anthropic: the federation rule's ID (fdrl_...)")
    parser.add_argument("--organization-id", help="Anthropic: the organization's UUID")
    parser.add_argument("--workspace-id", help="Anthropic: the workspace to scope the token to (optional)")
    parser.add_argument("--signing-algorithm", choices=list(SIGNING_ALGORITHMS), default="RS256",
                        help="algorithm of the AWS token (one the role's token policy allows; OpenAI recommends ES384)")


def _required(options: argparse.Namespace, vendor: str, *names: str) -> dict[str, str]:
    """The vendor's IDs from the options. Missing ones are a usage error, not a refusal: `fedctl exchange`
    exits 2 and `fedctl doctor` reports step 5 as not run (it needs options), never as a finding."""
    from ...rules import Violation

    values = {name: getattr(options, name, None) for name in names}
    missing = [Violation(f"--{name.replace('_', '-')}", None, f"is required: {vendor}'s exchange needs it (made in "
                         "its console, not a stack output)", code="saas.exchange.id-missing")
               for name, value in values.items() if not value]
    if missing:
        raise ValidationError(f"{vendor}'s exchange", missing)
    return values


def exchange(
    exported: Mapping[str, Any],
    workload: str,
    options: argparse.Namespace,
    *,
    supplier_for: Callable[[str, str], TokenSupplier],
    progress: Callable[[str], None] = lambda message: None,
) -> Any:
    """Exchange the workload's AWS token at the vendor of its preset.

    ``exported`` is the workload's ``saas`` outputs: the ``preset`` and the ``audience`` its role requests.
    """
    from fedctl.exchange import ExchangeResult

    preset = exported.get("preset")
    facts = PRESET_FACTS.get(preset)
    if facts is None or not facts.token_url:
        from ...rules import Violation

        # Nothing to exchange at: a usage error (exit 2; doctor's step 5 not run), not a refusal.
        raise ValidationError(f"fedctl exchange saas --workload {workload}", [Violation(
            "saas.preset", preset, "has no documented token endpoint: hand the AWS token (fedctl token --audience ...) "
            "to that SaaS's own client", code="saas.exchange.no-endpoint")])
    url = getattr(options, "token_url", None) or facts.token_url
    algorithm = getattr(options, "signing_algorithm", None) or "RS256"
    if preset == OPENAI:
        ids = _required(options, facts.vendor, "identity_provider_id", "service_account_id")
        grant = openai_access_token(supplier_for(exported["audience"], algorithm), token_url=url, **ids)
        principal = f"service account {ids['service_account_id']}"
    else:
        ids = _required(options, facts.vendor, "federation_rule_id", "organization_id")
        grant = anthropic_access_token(supplier_for(exported["audience"], algorithm), token_url=url,
                                       service_account_id=getattr(options, "service_account_id", None),
                                       workspace_id=getattr(options, "workspace_id", None), **ids)
        principal = f"federation rule {ids['federation_rule_id']}"
    expires_in = grant.get("expires_in")
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=float(expires_in))
               if isinstance(expires_in, (int, float)) else None)
    return ExchangeResult(preset, workload, principal, expires, 1)
