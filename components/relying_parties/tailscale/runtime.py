"""At run time: exchange the AWS token for a Tailscale API access token, and ``fedctl exchange tailscale``.

Tailscale's token exchange (as tailscale/tailscale-client-go-v2 calls it): ``POST
https://api.tailscale.com/api/v2/oauth/token-exchange`` with the form fields ``client_id`` (the
federated identity's ID) and ``jwt`` (the AWS token); the answer is ``access_token``,
``token_type``, ``expires_in`` and ``scope``. Standard library only; tokens are never printed or
put in an error.

Example::

    supplier = AwsTokenSupplier(["api.tailscale.com/dev-ci-tailscale"], region="eu-west-1")
    grant = tailscale_access_token("kFAKE1234CNTRL", supplier)
    # grant["access_token"] as a Bearer token for https://api.tailscale.com/api/v2/...
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Mapping

from ...rules.errors import ExchangeError
from ...rules.facts import SIGNING_ALGORITHMS
from ..base import TokenSupplier
from .doctor import diagnose  # noqa: F401 - fedctl doctor's hook
from .facts import API_BASE, TOKEN_EXCHANGE_PATH

COMMAND = "tailscale"
TIMEOUT_SECONDS = 30.0
_MAX_ERROR_CHARS = 200



def _refusal(body: bytes, token: str) -> str:
    """What Tailscale said, short, and never the token even if an error echoes it."""
    try:
        document = json.loads(body or b"{}")
        text = document.get("message") or document.get("error_description") or document.get("error") or ""
    except (ValueError, AttributeError):
        text = body.decode("utf-8", "replace")
    text = " ".join(str(text).split()).replace(token, "<token>")
    return text[:_MAX_ERROR_CHARS] or "no reason given"


def tailscale_access_token(client_id: str, supplier: TokenSupplier, *, api_url: str = API_BASE,
                           timeout: float = TIMEOUT_SECONDS) -> dict[str, Any]:
    """Exchange a fresh AWS token for a Tailscale access token; the answer as Tailscale gives it.

    Raises :class:`ExchangeError` when Tailscale refuses (its message, never the token).
    """
    token = supplier.get_token()
    body = urllib.parse.urlencode({"client_id": client_id, "jwt": token}).encode()
    request = urllib.request.Request(f"{api_url.rstrip('/')}{TOKEN_EXCHANGE_PATH}", data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            grant = json.load(response)
    except urllib.error.HTTPError as error:
        raise ExchangeError(f"Tailscale refused the AWS token for client {client_id} (HTTP {error.code}): "
                            f"{_refusal(error.read(), token)}", code="tailscale-refused") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ExchangeError(f"could not reach Tailscale's token exchange at {api_url}: "
                            f"{type(error).__name__}", code="tailscale-unreachable") from None
    if not isinstance(grant, dict) or not isinstance(grant.get("access_token"), str):
        raise ExchangeError("Tailscale's token exchange answered without an access token", code="tailscale-refused")
    return grant


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-url", default=API_BASE, help=f"Tailscale API base URL (default {API_BASE}; tests)")
    parser.add_argument("--client-id", help="the federated identity's client ID (default: the stack's clientId output)")
    parser.add_argument("--signing-algorithm", choices=list(SIGNING_ALGORITHMS), default="RS256",
                        help="algorithm of the AWS token (one the role's token policy allows; default RS256)")


def exchange(
    exported: Mapping[str, Any],
    workload: str,
    options: argparse.Namespace,
    *,
    supplier_for: Callable[[str, str], TokenSupplier],
    progress: Callable[[str], None] = lambda message: None,
) -> Any:
    """Exchange the workload's AWS token at Tailscale for its federated identity.

    ``exported`` is the workload's ``tailscale`` outputs: the ``audience`` its role requests and the
    identity's ``clientId``.
    """
    from fedctl.exchange import ExchangeResult

    client_id = getattr(options, "client_id", None) or exported.get("clientId")
    if not client_id:
        raise ExchangeError(f"workload '{workload}' has no Tailscale clientId in the stack outputs: give --client-id",
                            code="tailscale-no-client")
    supplier = supplier_for(exported["audience"], getattr(options, "signing_algorithm", None) or "RS256")
    grant = tailscale_access_token(client_id, supplier, api_url=getattr(options, "api_url", None) or API_BASE)
    expires_in = grant.get("expires_in")
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=float(expires_in))
               if isinstance(expires_in, (int, float)) else None)
    return ExchangeResult("tailscale", workload, f"federated identity {client_id}", expires, 1)
