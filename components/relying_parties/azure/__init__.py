"""Microsoft Entra trusts AWS roles through federated identity credentials: two kinds, one folder.

- ``azureApp``: an Entra app registration (new or existing) and its service principal;
- ``azureManagedIdentity``: a user-assigned managed identity (new or existing).

Both hold one exact credential per trusted role (issuer, the role ARN as subject, one audience),
accept RS256 only and share their rules, audits, review hooks and runtime exchange
(``fedctl exchange azure``). Their components are imported only when a stack uses them.

Example config::

    workloads:
      - name: reports-reader
        trustedServices: [ec2.amazonaws.com]
        azureManagedIdentity: {identityName: aws-reports, resourceGroupName: reports, location: westeurope}
"""

from __future__ import annotations

from typing import Any, Mapping

from ..base import Capacity, RelyingPartyKind
from . import audits, rules
from .facts import ACCEPTED_ALGORITHMS, MAX_CREDENTIAL_NAME_LENGTH, MAX_CREDENTIALS
from .review import REVIEW

_COMPONENT = "components.relying_parties.azure.component"


def _app_identity(settings: Mapping[str, Any]) -> Any:
    # Workloads naming the same existing app, or the same display name, share one app.
    key = settings.get("existing_application_object_id") or settings.get("display_name")
    return ("app", key) if key else None


def _identity_identity(settings: Mapping[str, Any]) -> Any:
    return ("identity", settings.get("resource_group_name"),
            settings.get("existing_identity_name") or settings.get("identity_name"))


def _existing_count(settings: Mapping[str, Any]) -> int:
    count = settings.get("existing_credential_count", 0)
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


# Each account's issuer needs its own credential, so an app or identity shared by the workloads of
# many accounts fills up: 20 credentials in all.
APP_CAPACITY = Capacity(
    limit=MAX_CREDENTIALS, what="federated credentials per app",
    split="give each group of accounts its own app (another existingApplicationObjectId or displayName)",
    existing=_existing_count,
    # An existing app, without role assignments (each account's part would assign the same roles again).
    spans_accounts=lambda settings: bool(settings.get("existing_application_object_id"))
    and not settings.get("role_assignments"),
)
# Not shared across accounts: a managed identity takes one credential write at a time (409 on
# concurrent writes), which one component chains but two could not.
IDENTITY_CAPACITY = Capacity(
    limit=MAX_CREDENTIALS, what="federated credentials per managed identity",
    split="give each group of workloads its own managed identity",
    existing=_existing_count,
)


def _app_defaults(stack: str, workloads: tuple[str, ...], settings: Mapping[str, Any]) -> dict:
    # A new app is named after the stack and its first workload, so review stacks get their own.
    if settings.get("existing_application_object_id") or settings.get("display_name"):
        return {}
    return {"display_name": f"aws-{stack}-{workloads[0]}"}


AZURE_APP = RelyingPartyKind(
    key="azureApp",
    title="Entra app registration",
    settings=("displayName", "description", "audience", "owners", "roleAssignments", "existingApplicationObjectId",
              "existingServicePrincipalObjectId", "existingCredentialCount"),
    check=rules.check_azure_app_trust_args,
    shared_by=_app_identity,
    defaults=_app_defaults,
    capacity=APP_CAPACITY,
    accepted_algorithms=ACCEPTED_ALGORITHMS,
    credential_name_limit=MAX_CREDENTIAL_NAME_LENGTH,
    audience=f"{_COMPONENT}:stack_audience",
    deploy=f"{_COMPONENT}:deploy_app",
    components=(f"{_COMPONENT}:AzureAppTrust",),
    public_names=(f"{_COMPONENT}:AzureAppTrustArgs", f"{_COMPONENT}:AzureRoleAssignment",
                  f"{_COMPONENT}:AzureRoleAssignmentArgs"),
    extra="azure",
    audits=audits.AUDITS,
    review=REVIEW,
    runtime="components.relying_parties.azure.runtime",
)

AZURE_MANAGED_IDENTITY = RelyingPartyKind(
    key="azureManagedIdentity",
    title="Azure user-assigned managed identity",
    settings=("identityName", "resourceGroupName", "location", "tags", "existingIdentityName", "audience",
              "roleAssignments", "existingCredentialCount"),
    check=rules.check_managed_identity_trust_args,
    shared_by=_identity_identity,
    capacity=IDENTITY_CAPACITY,
    accepted_algorithms=ACCEPTED_ALGORITHMS,
    credential_name_limit=MAX_CREDENTIAL_NAME_LENGTH,
    audience=f"{_COMPONENT}:stack_audience",
    deploy=f"{_COMPONENT}:deploy_identity",
    components=(f"{_COMPONENT}:AzureManagedIdentityTrust",),
    public_names=(f"{_COMPONENT}:AzureManagedIdentityTrustArgs",),
    extra="azure",
    audits=audits.AUDITS,
    review=REVIEW,
    runtime="components.relying_parties.azure.runtime",
)

__all__ = ["AZURE_APP", "AZURE_MANAGED_IDENTITY"]
