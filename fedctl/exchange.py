"""Prove a deployed trust works: mint an AWS token and exchange it at Azure or Google.

Reads what to use from the stack's outputs (``pulumi stack output --json``): the workload's
client and tenant IDs for Azure, its audience and credential configuration for GCP. Runs where
the workload's role can be used (its instance, its Lambda, or a shell with its credentials).
Access tokens are never printed: success is reported with the expiry only.

Example::

    outputs = json.loads(subprocess.check_output(["pulumi", "stack", "output", "--json"]))
    result = exchange_azure(outputs, "reports-reader", region="eu-west-1")
    print(result.summary)
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .errors import ExchangeError

AZURE_AUDIENCE = "api://AzureADTokenExchange"
AZURE_DEFAULT_SCOPE = "https://management.azure.com/.default"
# Entra's answers while a new federated credential has not propagated yet (it takes minutes).
AZURE_NOT_YET = ("AADSTS70021", "AADSTS700211", "AADSTS700212", "AADSTS700213")


@dataclass(frozen=True)
class ExchangeResult:
    cloud: str
    workload: str
    principal: str
    expires_at: dt.datetime | None
    attempts: int

    @property
    def summary(self) -> str:
        when = self.expires_at.isoformat() if self.expires_at else "unknown"
        return (f"{self.cloud}: the trust works. {self.principal} got an access token for workload "
                f"'{self.workload}' (expires {when}) after {self.attempts} attempt(s).")


def workload_outputs(outputs: Mapping[str, Any], workload: str) -> Mapping[str, Any]:
    workloads = outputs.get("workloads") or {}
    if workload not in workloads:
        known = ", ".join(sorted(workloads)) or "none"
        raise ExchangeError(f"no workload '{workload}' in the stack outputs (workloads: {known})")
    return workloads[workload]


def _supplier(audience: str, *, region: str | None, sts_client: Any) -> Any:
    from .tokens import AwsTokenSupplier

    # RS256: the only algorithm Entra accepts, and fine for Google.
    return AwsTokenSupplier([audience], signing_algorithm="RS256", region=region, sts_client=sts_client)


def exchange_azure(
    outputs: Mapping[str, Any],
    workload: str,
    *,
    scope: str = AZURE_DEFAULT_SCOPE,
    region: str | None = None,
    sts_client: Any = None,
    wait_seconds: float = 300,
    progress: Callable[[str], None] = lambda message: None,
    sleep: Callable[[float], None] = time.sleep,
    **credential_kwargs: Any,
) -> ExchangeResult:
    """Sign in to Entra as the workload's app or managed identity, retrying while Azure propagates."""
    from azure.core.exceptions import ClientAuthenticationError

    from .credentials import azure_credential

    exported = workload_outputs(outputs, workload)
    target = exported.get("azureManagedIdentity") or exported.get("azureApp")
    if not target:
        raise ExchangeError(f"workload '{workload}' has no Azure relying party in the stack outputs")
    supplier = _supplier(AZURE_AUDIENCE, region=region, sts_client=sts_client)
    deadline, delay, attempt = time.monotonic() + wait_seconds, 5.0, 0
    while True:
        attempt += 1
        # A fresh credential each time: azure-identity caches failures' absence, not their cause.
        credential = azure_credential(target["tenantId"], target["clientId"], supplier, **credential_kwargs)
        try:
            token = credential.get_token(scope)
        except ClientAuthenticationError as error:
            text = str(error)
            code = next((c for c in AZURE_NOT_YET if c in text), None)
            if code is None or time.monotonic() + delay > deadline:
                hint = (" New federated credentials take minutes to propagate; try a longer --wait."
                        if code else "")
                raise ExchangeError(f"Entra refused the AWS token for client {target['clientId']}: "
                                    f"{text.splitlines()[0]}.{hint}") from None
            progress(f"Azure does not accept the credential yet ({code}); new federated credentials take "
                     f"minutes to propagate. Retrying in {delay:.0f} s")
            sleep(delay)
            delay = min(delay * 2, 60.0)
            continue
        expires = dt.datetime.fromtimestamp(token.expires_on, dt.timezone.utc)
        return ExchangeResult("azure", workload, f"client {target['clientId']}", expires, attempt)


def exchange_gcp(
    outputs: Mapping[str, Any],
    workload: str,
    *,
    region: str | None = None,
    sts_client: Any = None,
    token_url: str | None = None,
    impersonation_url: str | None = None,
) -> ExchangeResult:
    """Exchange the workload's AWS token at Google STS (and impersonate its service account)."""
    import google.auth.exceptions
    import google.auth.transport.requests

    from .credentials import gcp_credentials

    exported = workload_outputs(outputs, workload)
    target = exported.get("gcp")
    if not target:
        raise ExchangeError(f"workload '{workload}' has no GCP relying party in the stack outputs")
    configuration = target.get("credentialConfiguration")
    if isinstance(configuration, str):
        configuration = json.loads(configuration)
    supplier = _supplier(target["audience"], region=region, sts_client=sts_client)
    email = target.get("serviceAccountEmail")
    credentials = gcp_credentials(
        configuration["audience"], supplier, service_account_email=email,
        token_url=token_url or configuration.get("token_url"),
        **({"impersonation_url": impersonation_url} if impersonation_url else {}),
    )
    try:
        credentials.refresh(google.auth.transport.requests.Request())
    except google.auth.exceptions.GoogleAuthError as error:
        raise ExchangeError(f"Google refused the AWS token for {configuration['audience']}: {error}") from None
    expiry = credentials.expiry.replace(tzinfo=dt.timezone.utc) if credentials.expiry else None
    return ExchangeResult("gcp", workload, f"service account {email}" if email else "the pool principal", expiry, 1)
