"""Facts about Databricks workload identity federation, each written once.

Sources: Databricks' "Configure a federation policy" and "Use an identity provider token to
authenticate" pages (20 policies per service principal, RS256 or ES256 tokens, the token
endpoints and the RFC 8693 request), the account API's ``ServicePrincipalFederationPolicy``
reference as the databricks-sdk documents it (the account ID is the default audience, the
subject claim defaults to ``sub``, the issuer is an https URL, policy IDs are lower-case letters,
digits and hyphens), and the pulumi-databricks 1.118 SDK for the resource types and arg names.
"""

from __future__ import annotations

import re

# -- limits -----------------------------------------------------------------------------------
MAX_POLICIES_PER_SERVICE_PRINCIPAL = 20
""""You can create a maximum of 20 service principal federation policies per service principal."""
LONG_POLICY_ID = 63
"""Past this a policy ID draws a warning: Databricks refuses long IDs (a 93-character one was
refused, terraform-provider-databricks#5290) without documenting the limit."""

# -- matching ---------------------------------------------------------------------------------
ACCEPTED_ALGORITHMS = ("RS256",)
"""Databricks accepts tokens "signed using RS256 or ES256"; of what AWS offers (RS256, ES384) only RS256."""
SUBJECT_CLAIM = "sub"
"""The claim Databricks reads the subject from unless told otherwise; AWS puts the role ARN in it."""
WILDCARDS = ("*", "?")
"""Databricks compares issuer, subject and audience exactly: these characters would be literal."""

# -- identifiers ------------------------------------------------------------------------------
ACCOUNT_ID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
"""A Databricks account ID: a lower-case UUID (as the account console shows it, and as the default
audience, which Databricks compares exactly)."""
APPLICATION_ID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
"""A service principal's application ID (its OAuth client ID): a UUID."""
POLICY_ID_PATTERN = re.compile(r"^[a-z0-9-]+$")
"""The API's own words: a federation policy ID "must contain only 0-9, a-z, and hyphen"."""
MAX_SAFE_INTEGER = 2 ** 53
"""Pulumi carries numbers as doubles: a service principal ID above this would arrive changed."""

# -- endpoints ----------------------------------------------------------------------------------
ACCOUNTS_HOST = "accounts.cloud.databricks.com"
"""The account console of Databricks on AWS (Azure: accounts.azuredatabricks.net, GCP:
accounts.gcp.databricks.com); federation policies are an account-level API."""
ACCOUNTS_HOST_PREFIX = "accounts."
WORKSPACE_TOKEN_PATH = "/oidc/v1/token"
ACCOUNT_TOKEN_PATH = "/oidc/accounts/{account_id}/v1/token"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
DEFAULT_SCOPE = "all-apis"

# -- Pulumi resource types, invokes and provider config ----------------------------------------
SERVICE_PRINCIPAL_TYPE = "databricks:index/servicePrincipal:ServicePrincipal"
POLICY_TYPE = "databricks:index/servicePrincipalFederationPolicy:ServicePrincipalFederationPolicy"
GET_SERVICE_PRINCIPAL_INVOKE = "databricks:index/getServicePrincipal:getServicePrincipal"
PROVIDER_CONFIG_NAMESPACE = "databricks"
"""The provider's stack config (``databricks:host``, ``databricks:accountId``, and its credentials)."""
