"""``fedctl doctor`` for Tailscale: the LIVE federated identity, against the token.

``diagnose`` reads the identity the way tailscale/tailscale-client-go-v2 does (``KeysResource.Get``,
the read of terraform-provider-tailscale's ``tailscale_federated_identity``):
``GET {api}/api/v2/tailnet/{tailnet}/keys/{client id}``, answered with a ``Key`` whose ``keyType`` is
``federated`` and which holds ``issuer``, ``subject``, ``audience`` and ``customClaimRules``. It
judges the token's claims with the kind's judge's rules (:mod:`.review`): ``iss`` and ``aud``
exactly, ``sub`` by the identity's ``*`` pattern, then each custom claim rule; the first that does
not hold is shown, character by character when the pattern has no ``*``.

The read needs a Tailscale API credential, as the Tailscale provider takes it: an API key in
``TAILSCALE_API_KEY`` (sent as the HTTP Basic user name, as the Go client does), or an OAuth
client in ``TAILSCALE_OAUTH_CLIENT_ID``/``TAILSCALE_OAUTH_CLIENT_SECRET`` (client credentials at
``{api}/api/v2/oauth/token``); the tailnet is ``TAILSCALE_TAILNET``, else ``-`` (the credential's
own). The API is the exchange's ``--api-url``. A program or a test passes ``tailscale_api_key=``.

No ``explain_refusal``: Tailscale documents no error codes for its token exchange (the Go client
only passes on the status and the body), so step 5 shows its answer as it is.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Mapping

from ..diagnosis import FAIL, PASS, UNCHECKED, Step, TokenFacts, difference, difference_step
from .facts import API_BASE, WILDCARD
from .review import claims_mismatch

CODE = "trust.identity"
TITLE = "Does the live federated identity take the token (issuer, audience, subject pattern, claim rules)"
TIMEOUT = 30
OAUTH_TOKEN_PATH = "/api/v2/oauth/token"


class _ReadError(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status


def client_id(exported: Mapping[str, Any], workload: str, options: argparse.Namespace) -> str | None:
    """The identity's client ID: --client-id, the outputs' clientId, else the workload's in clientIds.

    ``clientIds`` is keyed by credential name, ``<stack>-<workload>``; doctor knows the workload, not
    the stack, so the one key that ends in ``-<workload>`` is taken (none or several: None).
    """
    chosen = getattr(options, "client_id", None) or exported.get("clientId")
    if chosen:
        return str(chosen)
    suffix = "-" + re.sub(r"[^A-Za-z0-9_-]", "-", workload)
    found = [value for key, value in (exported.get("clientIds") or {}).items() if str(key).endswith(suffix)]
    return str(found[0]) if len(found) == 1 and found[0] else None


def _call(request: urllib.request.Request) -> Mapping[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            document = json.load(response)
    except urllib.error.HTTPError as error:
        try:
            said = json.loads(error.read() or b"{}").get("message") or ""
        except (ValueError, AttributeError):
            said = ""
        raise _ReadError(error.code, f"HTTP {error.code}"
                         + (f": {' '.join(str(said).split())[:200]}" if said else "")) from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise _ReadError(None, f"could not reach the Tailscale API: {type(error).__name__}") from None
    return document if isinstance(document, Mapping) else {}


def _authorization(api: str, api_key: str | None) -> str:
    """The ``Authorization`` header: an API key as Basic user name, or an OAuth client's bearer."""
    key = api_key or os.environ.get("TAILSCALE_API_KEY")
    if key:
        return "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    client, secret = os.environ.get("TAILSCALE_OAUTH_CLIENT_ID"), os.environ.get("TAILSCALE_OAUTH_CLIENT_SECRET")
    if not client or not secret:
        raise LookupError("no Tailscale API credential (TAILSCALE_API_KEY, or TAILSCALE_OAUTH_CLIENT_ID and "
                          "TAILSCALE_OAUTH_CLIENT_SECRET)")
    basic = base64.b64encode(f"{urllib.parse.quote(client)}:{urllib.parse.quote(secret)}".encode()).decode()
    request = urllib.request.Request(f"{api}{OAUTH_TOKEN_PATH}", method="POST",
                                     data=urllib.parse.urlencode({"grant_type": "client_credentials"}).encode(),
                                     headers={"Authorization": f"Basic {basic}", "Accept": "application/json",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    try:
        grant = _call(request)
    except _ReadError as error:
        raise _ReadError(error.status or None, f"Tailscale refused the OAuth client {client}: {error}") from None
    if not grant.get("access_token"):
        raise _ReadError(401, f"Tailscale gave the OAuth client {client} no access token")
    return f"Bearer {grant['access_token']}"


def diagnose(exported: Mapping[str, Any], workload: str, token: TokenFacts, options: argparse.Namespace, *,
             kind: str = "tailscale", progress: Callable[[str], None] = lambda message: None,
             tailscale_api_key: str | None = None) -> list[Step]:
    """Compare the token with the federated identity Tailscale holds now."""
    identity = client_id(exported, workload, options)
    if not identity:
        return [Step(CODE, TITLE, UNCHECKED, "the federated identity", "the outputs name no client ID for workload "
                     f"'{workload}'", "give --client-id", "trust.no-client-id")]
    api = (getattr(options, "api_url", None) or API_BASE).rstrip("/")
    tailnet = os.environ.get("TAILSCALE_TAILNET") or "-"
    path = f"/api/v2/tailnet/{urllib.parse.quote(tailnet, safe='')}/keys/{urllib.parse.quote(identity, safe='')}"
    checked = f"Tailscale API GET {path}"
    try:
        progress(f"reading the federated identity {identity}")
        authorization = _authorization(api, tailscale_api_key)
        key = _call(urllib.request.Request(f"{api}{path}", headers={"Authorization": authorization,
                                                                     "Accept": "application/json"}))
    except LookupError as error:
        return [Step(CODE, TITLE, UNCHECKED, checked, str(error), "export TAILSCALE_API_KEY (or an OAuth client with "
                     "read access to keys), or pass --no-live-read", "trust.no-read-access")]
    except _ReadError as error:
        if error.status == 404:
            return [Step(CODE, TITLE, FAIL, checked, f"the tailnet holds no key {identity}: {error}",
                         "the identity was deleted, or the outputs are stale (or TAILSCALE_TAILNET names another "
                         "tailnet): redeploy the stack, or read its outputs again", "trust.not-found")]
        return [Step(CODE, TITLE, UNCHECKED, checked, f"could not read it: {error}",
                     "read with an API key or OAuth client allowed to read keys, or pass --no-live-read",
                     "trust.read-denied" if error.status in (401, 403) else "trust.read-failed")]
    return [_judged(key, token, checked, identity)]


def _judged(key: Mapping[str, Any], token: TokenFacts, checked: str, identity: str) -> Step:
    if key.get("keyType") not in (None, "federated"):
        return Step(CODE, TITLE, FAIL, checked, f"{identity} is a {key.get('keyType')!r} key, not a federated identity",
                    "point the workload at the federated identity's client ID", "trust.not-federated")
    issuer, audience, subject = key.get("issuer"), key.get("audience"), key.get("subject")
    rules = dict(key.get("customClaimRules") or {})
    details = {"issuer": issuer, "audience": audience, "subject": subject, "customClaimRules": rules}
    iss, sub = token.claims.get("iss"), token.claims.get("sub")
    found = difference("iss", issuer, iss)
    if found is not None:
        return difference_step(CODE, TITLE, checked, found, relying_party="", where="the identity's issuer",
                               fix=f"set the identity's issuer to the AWS account's issuer exactly: {iss}",
                               details=details)
    if audience not in token.audiences:
        found = difference("aud", audience, token.audiences[0] if token.audiences else "")
        return difference_step(CODE, TITLE, checked, found, relying_party="", where="the identity's audience",
                               fix="request the identity's audience (the stack's workloads.<name>.tailscale.audience)",
                               details=details)
    failed = claims_mismatch(subject, rules, token.claims)
    if failed == "sub" and WILDCARD not in str(subject):
        return difference_step(CODE, TITLE, checked, difference("sub", subject, sub), relying_party="",
                               where="the identity's subject",
                               fix=f"set the identity's subject to the role's ARN exactly, path included: {sub}",
                               details=details)
    if failed == "sub":
        return Step(CODE, TITLE, FAIL, checked, f"the identity's subject pattern {subject!r} does not match the token's "
                    f"sub {sub!r} ('*' matches any run of characters, nothing else is special)",
                    "widen or fix the pattern, or trust the role's ARN exactly", "trust.sub-pattern-differs",
                    details=details)
    if failed is not None:
        return Step(CODE, TITLE, FAIL, checked, f"the custom claim rule {failed!r} = {rules[failed]!r} does not match "
                    f"the token's {failed} ({token.claims.get(failed)!r})", "fix or remove the custom claim rule",
                    "trust.claim-rule-differs", details={**details, "claim": failed})
    return Step(CODE, TITLE, PASS, checked, f"identity {identity} takes the token's issuer and audience, and its "
                f"subject {subject!r} matches the role" + (f"; {len(rules)} claim rule(s) hold" if rules else ""),
                details=details)


__all__ = ["client_id", "diagnose"]
