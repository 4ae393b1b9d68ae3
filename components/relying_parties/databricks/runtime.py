"""At run time: exchange the AWS token for a Databricks OAuth token, and ``fedctl exchange databricks``.

The exchange is Databricks' documented RFC 8693 request (the one the Databricks SDKs send for
workload identity federation): a form POST to the workspace's ``/oidc/v1/token`` or the account's
``/oidc/accounts/<account-id>/v1/token`` with ``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``,
the AWS token as ``subject_token`` (type ``urn:ietf:params:oauth:token-type:jwt``), ``scope``
(``all-apis``) and the service principal's application ID as ``client_id``. Uses ``requests``
(the runtime extra), imported only when called. Tokens never reach a log or an error message.

Example::

    supplier = AwsTokenSupplier([ACCOUNT_ID], signing_algorithm="RS256", region="eu-west-1")
    token = exchange_token(token_endpoint, supplier.get_token(), client_id=APPLICATION_ID)
    requests.get(f"{workspace}/api/2.0/clusters/list", headers={"Authorization": token.authorization})
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from ...rules.errors import ConfigurationError, ExchangeError, missing_dependency
from ..base import TokenSupplier
from .doctor import add_diagnose_arguments, diagnose, explain_refusal  # noqa: F401 - fedctl doctor's hooks
from .facts import (
    ACCEPTED_ALGORITHMS,
    DEFAULT_SCOPE,
    JWT_TOKEN_TYPE,
    TOKEN_EXCHANGE_GRANT,
)
from .rules import token_endpoint

COMMAND = "databricks"
"""``fedctl exchange databricks``: a service principal whose federation policy trusts the workload."""



@dataclass(frozen=True)
class DatabricksToken:
    """A Databricks OAuth token. Its value never shows in ``repr`` (nor in logs that print one)."""

    access_token: str = field(repr=False)
    token_type: str
    expires_at: dt.datetime | None
    scope: str | None

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value for Databricks REST APIs."""
        return f"{self.token_type} {self.access_token}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(endpoint: str) -> None:
    """The token endpoint gets a credential: https, or plain http to this machine only (tests)."""
    parts = urlsplit(endpoint)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return
    raise ConfigurationError(f"the Databricks token endpoint {endpoint!r} must be an https URL",
                             code="databricks-endpoint")


def exchange_token(endpoint: str, subject_token: str, *, client_id: str | None, scope: str = DEFAULT_SCOPE,
                   timeout: float = 30, session: Any = None,
                   clock: Callable[[], float] = time.time) -> DatabricksToken:
    """Exchange an AWS token at a Databricks token endpoint (RFC 8693) for a Databricks OAuth token.

    ``client_id`` is the service principal's application ID (service principal federation); None
    sends none (an account-wide federation policy). Raises :class:`ExchangeError` when Databricks
    refuses, :class:`ConfigurationError` when it cannot be reached.
    """
    try:
        import requests
    except ImportError as error:
        raise missing_dependency(error, "runtime") from error
    check_endpoint(endpoint)
    form = {"grant_type": TOKEN_EXCHANGE_GRANT, "subject_token": subject_token,
            "subject_token_type": JWT_TOKEN_TYPE, "scope": scope}
    if client_id:
        form["client_id"] = client_id
    poster = session or requests
    try:
        response = poster.post(endpoint, data=form, headers={"Accept": "application/json"}, timeout=timeout)
    except requests.RequestException as error:
        raise ConfigurationError(f"could not reach the Databricks token endpoint {endpoint}: {type(error).__name__}",
                                 code="databricks-unreachable") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not response.ok or not isinstance(answer, dict) or not answer.get("access_token"):
        answer = answer if isinstance(answer, dict) else {}
        error = answer.get("errorCode") or answer.get("error") or f"HTTP {response.status_code}"
        description = answer.get("errorSummary") or answer.get("error_description") or ""
        description = " ".join(str(description).split())[:500]
        raise ExchangeError(f"Databricks refused the AWS token for client {client_id} at {endpoint}: {error}"
                            + (f": {description}" if description else ""), code="databricks-refused")
    expires_in = answer.get("expires_in")
    expires_at = (dt.datetime.fromtimestamp(clock() + float(expires_in), dt.timezone.utc)
                  if isinstance(expires_in, (int, float, str)) and str(expires_in).replace(".", "", 1).isdigit()
                  else None)
    return DatabricksToken(answer["access_token"], answer.get("token_type") or "Bearer", expires_at,
                           answer.get("scope"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Its own dest: `fedctl doctor` shares one --scope among the kinds (the first one's, Azure's), and
    # Databricks must not ask for another cloud's default scope.
    parser.add_argument("--scope", dest="databricks_scope", default=DEFAULT_SCOPE,
                        help=f"OAuth scope to ask for (default {DEFAULT_SCOPE})")
    parser.add_argument("--host", help="exchange at this workspace (https://<workspace-host>) instead of the "
                                       "endpoint the stack exports")
    parser.add_argument("--token-endpoint", help="the full token endpoint URL (private link, tests)")


def exchange(
    exported: Mapping[str, Any],
    workload: str,
    options: argparse.Namespace,
    *,
    supplier_for: Callable[[str, str], TokenSupplier],
    progress: Callable[[str], None] = lambda message: None,
) -> Any:
    """Sign in to Databricks as the workload's service principal with its AWS token.

    ``exported`` is what the stack exports for the workload's ``databricks`` relying party: the
    ``audience`` its role requests, the service principal's ``applicationId`` and the
    ``tokenEndpoint``. ``supplier_for(audience, algorithm)`` mints the AWS token (RS256: the only
    AWS algorithm Databricks accepts).
    """
    from fedctl.exchange import ExchangeResult

    client_id, audience = exported.get("applicationId"), exported.get("audience")
    if not client_id or not audience:
        raise ExchangeError(f"workload '{workload}' has no Databricks applicationId and audience in the stack "
                            "outputs", code="databricks-outputs")
    endpoint = getattr(options, "token_endpoint", None)
    if not endpoint and getattr(options, "host", None):
        endpoint = token_endpoint(workspace_host=options.host)
    endpoint = endpoint or exported.get("tokenEndpoint")
    if not endpoint:
        raise ExchangeError(f"workload '{workload}' has no Databricks tokenEndpoint in the stack outputs: give "
                            "--host or --token-endpoint", code="databricks-outputs")
    supplier = supplier_for(audience, ACCEPTED_ALGORITHMS[0])
    progress(f"exchanging the AWS token at {endpoint}")
    token = exchange_token(endpoint, supplier.get_token(), client_id=client_id,
                           scope=getattr(options, "databricks_scope", None) or DEFAULT_SCOPE)
    return ExchangeResult("databricks", workload, f"service principal {client_id}", token.expires_at, 1)


__all__ = ["COMMAND", "DatabricksToken", "add_arguments", "check_endpoint", "exchange", "exchange_token"]
