"""At run time: an Azure credential that presents the AWS token, and ``fedctl exchange azure``.

Imports azure-identity only when called, so the runtime stays importable without it.

Example::

    supplier = AwsTokenSupplier(["api://AzureADTokenExchange"], region="eu-west-1")
    credential = azure_credential(TENANT_ID, CLIENT_ID, supplier)
    BlobServiceClient(account_url, credential=credential)
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import time
from typing import Any, Callable, Mapping

from ...rules.errors import ExchangeError, missing_dependency
from ..base import TokenSupplier
from .doctor import add_diagnose_arguments, diagnose, explain_refusal, token_request  # noqa: F401 - fedctl doctor's hooks
from .facts import DEFAULT_SCOPE, NOT_YET_PROPAGATED
from .rules import fic_audience

COMMAND = "azure"
"""``fedctl exchange azure``: an app registration or a managed identity, whichever trusts the workload."""



def azure_credential(tenant_id: str, client_id: str, supplier: TokenSupplier, **kwargs: Any) -> Any:
    """An ``azure.identity.ClientAssertionCredential`` whose assertion is the AWS token.

    The Entra app (or user-assigned managed identity) ``client_id`` needs a federated identity
    credential with the AWS issuer, the role ARN as subject and the audience the supplier requests
    (the trust's ``audience`` output, by default ``api://AzureADTokenExchange``).

    Why not ``WorkloadIdentityCredential``: it reads its assertion from a file and re-reads it only
    every 600 s, longer than a 300 s AWS token lives, so it would present expired tokens.
    ``ClientAssertionCredential`` calls the supplier whenever it needs a new access token, and the
    supplier hands out a token with life left. Keyword arguments go to ``ClientAssertionCredential``
    (``authority``, ``disable_instance_discovery``, ``additionally_allowed_tenants``, ...).

    Example::

        credential = azure_credential(tenant, client, supplier)
        credential.get_token("https://storage.azure.com/.default")
    """
    try:
        from azure.identity import ClientAssertionCredential
    except ImportError as error:
        raise missing_dependency(error, "runtime") from error
    return ClientAssertionCredential(tenant_id, client_id, func=supplier.get_token, **kwargs)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scope", default=DEFAULT_SCOPE, help="Azure scope (default: ARM)")
    parser.add_argument("--wait", type=float, default=300,
                        help="seconds to keep retrying while Azure propagates a new credential (default 300)")
    parser.add_argument("--authority", help="Entra authority URL (sovereign clouds, tests)")


def exchange(
    exported: Mapping[str, Any],
    workload: str,
    options: argparse.Namespace,
    *,
    supplier_for: Callable[[str, str], TokenSupplier],
    progress: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Sign in to Entra as the workload's app or managed identity, retrying while Azure propagates.

    ``exported`` is what the stack exports for the workload:'s ``azureApp`` or ``azureManagedIdentity`` outputs: the client and
    tenant to sign in to, and the ``audience`` the credential trusts (older stacks without it: the
    default). ``supplier_for(audience, algorithm)`` mints the AWS token.
    """
    from fedctl.exchange import ExchangeResult

    try:
        from azure.core.exceptions import ClientAuthenticationError
    except ImportError as error:
        raise missing_dependency(error, "runtime") from error
    extra = {"authority": options.authority, "disable_instance_discovery": True} if getattr(options, "authority", None) else {}
    supplier = supplier_for(fic_audience({"audience": exported.get("audience")} if exported.get("audience") else {}), "RS256")
    wait = getattr(options, "wait", 300)
    deadline, delay, attempt = time.monotonic() + wait, 5.0, 0
    while True:
        attempt += 1
        # A fresh credential each time: azure-identity remembers a failure's absence, not its cause.
        credential = azure_credential(exported["tenantId"], exported["clientId"], supplier, **extra)
        try:
            token = credential.get_token(getattr(options, "scope", DEFAULT_SCOPE))
        except ClientAuthenticationError as error:
            text = str(error)
            # The whole code: "AADSTS70021" is a prefix of "AADSTS700213", a different answer.
            answered = re.search(r"AADSTS\d+", text)
            code = answered.group(0) if answered and answered.group(0) in NOT_YET_PROPAGATED else None
            if code is None or time.monotonic() + delay > deadline:
                hint = " New federated credentials take minutes to propagate; try a longer --wait." if code else ""
                raise ExchangeError(f"Entra refused the AWS token for client {exported['clientId']}: "
                                    f"{text.splitlines()[0]}.{hint}", code=code or "entra-refused") from None
            progress(f"Azure does not accept the credential yet ({code}); new federated credentials take "
                     f"minutes to propagate. Retrying in {delay:.0f} s")
            sleep(delay)
            delay = min(delay * 2, 60.0)
            continue
        expires = dt.datetime.fromtimestamp(token.expires_on, dt.timezone.utc)
        return ExchangeResult("azure", workload, f"client {exported['clientId']}", expires, attempt)
