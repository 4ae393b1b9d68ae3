"""Facts about Microsoft Entra and Azure that the Azure relying parties share, each written once.

Sources: Microsoft's "Workload identity federation considerations" (limits, exact matching, RS256),
the ARM and Graph references for the resource names, and the built-in role GUIDs (the same in
every tenant).
"""

from __future__ import annotations

import re

MAX_CREDENTIALS = 20
MIN_CREDENTIAL_NAME_LENGTH = 3
MAX_CREDENTIAL_NAME_LENGTH = 120
MAX_CLAIM_LENGTH = 600
MAX_DESCRIPTION_LENGTH = 600
DEFAULT_AUDIENCE = "api://AzureADTokenExchange"
WILDCARDS = ("*", "?")
ACCEPTED_ALGORITHMS = ("RS256",)
"""Entra only tests (and accepts) RS256-signed assertions."""
MAX_DISPLAY_NAME_LENGTH = 120

CREDENTIAL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# Microsoft.ManagedIdentity/userAssignedIdentities: 3-128 alphanumerics, hyphens and underscores.
IDENTITY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")
# Resource groups: 1-90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period.
RESOURCE_GROUP_PATTERN = re.compile(r"^[\w().-]{0,89}[\w()-]$")
GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
GUID_PATTERN = re.compile(f"^{GUID}$")
SUBSCRIPTION_SCOPE_PATTERN = re.compile(f"^/subscriptions/(?P<subscription>{GUID})(?:/[^/]+)*$", re.IGNORECASE)
MANAGEMENT_GROUP_SCOPE_PATTERN = re.compile(
    r"^/providers/Microsoft\.Management/managementGroups/[^/]+(?:/[^/]+)*$", re.IGNORECASE
)
# A role definition given by its full ID (subscription, management-group or tenant form) is used as is.
ROLE_DEFINITION_ID_PATTERN = re.compile(
    f"^(?:/subscriptions/{GUID}|/providers/Microsoft\\.Management/managementGroups/[^/]+)?"
    f"/providers/Microsoft\\.Authorization/roleDefinitions/(?P<guid>{GUID})$",
    re.IGNORECASE,
)

# Regions where a user-assigned managed identity cannot hold FICs (ARM answers 405), compared
# lower-case without spaces so "Malaysia South" and "malaysiasouth" both match.
UNSUPPORTED_IDENTITY_REGIONS = ("malaysiasouth",)

# Built-in role names -> role definition GUIDs. These GUIDs are the same in every tenant.
BUILT_IN_ROLES: dict[str, str] = {
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
    "Monitoring Reader": "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
}
# Roles that may write role assignments: whoever holds one can grant itself anything at the scope.
PRIVILEGED_ROLE_GUIDS = frozenset({
    BUILT_IN_ROLES["Owner"],
    BUILT_IN_ROLES["User Access Administrator"],
    BUILT_IN_ROLES["Role Based Access Control Administrator"],
})
# Settings that would make a flexible credential. Refused: the AWS issuer is not supported.
FLEXIBLE_CREDENTIAL_KEYS = ("claims_matching_expression", "claimsMatchingExpression")


# -- Pulumi resource types and invokes -------------------------------------------------------
APPLICATION_TYPE = "azuread:index/application:Application"
SERVICE_PRINCIPAL_TYPE = "azuread:index/servicePrincipal:ServicePrincipal"
APP_CREDENTIAL_TYPE = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
FLEXIBLE_CREDENTIAL_TYPE = (
    "azuread:index/applicationFlexibleFederatedIdentityCredential:ApplicationFlexibleFederatedIdentityCredential"
)
IDENTITY_TYPE = "azure-native:managedidentity:UserAssignedIdentity"
IDENTITY_CREDENTIAL_TYPE = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT_TYPE = "azure-native:authorization:RoleAssignment"
CLASSIC_APP_CREDENTIAL_TYPE = "azure:armmsi/federatedIdentityCredential:FederatedIdentityCredential"
"""The classic ``azure`` provider's managed-identity credential (pulumi-azure), audited too."""
CLIENT_CONFIG_INVOKE = "azuread:index/getClientConfig:getClientConfig"
ARM_CLIENT_CONFIG_INVOKE = "azure-native:authorization:getClientConfig"
GET_APPLICATION_INVOKE = "azuread:index/getApplication:getApplication"
GET_IDENTITY_INVOKE = "azure-native:managedidentity:getUserAssignedIdentity"

# -- runtime -----------------------------------------------------------------------------------
DEFAULT_SCOPE = "https://management.azure.com/.default"
NOT_YET_PROPAGATED = ("AADSTS70021", "AADSTS700211", "AADSTS700212", "AADSTS700213")
"""Entra's answers while a new federated credential has not propagated yet (it takes minutes)."""
