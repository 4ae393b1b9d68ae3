"""Well-known facts of AWS outbound identity federation, each written once.

Limits come from the STS and IAM service models (``GetWebIdentityToken``: 1-10 audiences of
1-1000 characters, ``SigningAlgorithm`` RS256 or ES384, ``DurationSeconds`` 60-3600, at most 50
tags) and IAM's naming rules; shapes from captures of real AWS responses. A relying party's own
facts (its endpoints, default audience, resource types) live in its folder under
``components/relying_parties/``; this module holds what every part of the toolkit shares.

Example::

    >>> AWS_CLAIMS
    'https://sts.amazonaws.com/'
"""

from __future__ import annotations

import re

# -- the token -------------------------------------------------------------------------------
AWS_CLAIMS = "https://sts.amazonaws.com/"
"""The one claim under which AWS nests its own claims (aws_account, source_region, org_id, ...)."""
SIGNING_ALGORITHMS = ("RS256", "ES384")
"""The algorithms AWS signs outbound tokens with."""
DEFAULT_SIGNING_ALGORITHMS = ("RS256",)
MIN_DURATION_SECONDS = 60
MAX_DURATION_SECONDS = 3600
DEFAULT_DURATION_SECONDS = 300
"""What STS uses when a request names no duration (and what ``sts:DurationSeconds`` then holds)."""
MAX_AUDIENCES = 10
MAX_AUDIENCE_LENGTH = 1000
MAX_TAGS = 50
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
MAX_TOKEN_PAYLOAD_BYTES = 14_984
"""The largest decoded payload STS signs (one more byte: JWTPayloadSizeExceededException)."""
MAX_TOKEN_BYTES = 20_378
"""About the largest RS256 token STS returns (for a payload of MAX_TOKEN_PAYLOAD_BYTES)."""

# -- the issuer ------------------------------------------------------------------------------
AWS_ISSUER_PATTERN = re.compile(r"^https://[0-9a-fA-F-]{36}\.tokens\.sts\.global\.api\.aws$")
"""The commercial-partition issuer shape. Other partitions' issuer domains are not published."""
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks.json"
GLOBAL_STS_HOST = "sts.amazonaws.com"
"""The global STS endpoint, which does not serve GetWebIdentityToken."""

# -- IAM -------------------------------------------------------------------------------------
TOKEN_ACTION = "sts:GetWebIdentityToken"
TAG_ACTION = "sts:TagGetWebIdentityToken"
AUDIENCE_KEY = "sts:IdentityTokenAudience"
"""Multi-valued: pin it with ForAllValues:StringEquals plus a Null false guard, never ForAnyValue."""
DURATION_KEY = "sts:DurationSeconds"
ALGORITHM_KEY = "sts:SigningAlgorithm"
TAG_KEYS_KEY = "aws:TagKeys"
MAX_ROLE_NAME_LENGTH = 64
MAX_ROLE_PATH_LENGTH = 512
MAX_INSTANCE_PROFILE_NAME_LENGTH = 128
MAX_INLINE_POLICY_NAME_LENGTH = 128
AUTONAME_SUFFIX_LENGTH = 8
"""Pulumi's autonaming appends ``-`` and 7 random characters to the logical name."""
IDENTITY_CENTER_PATH_PREFIX = "/aws-reserved/sso.amazonaws.com/"
RESERVED_PATH_PREFIXES = ("/aws-reserved/", "/aws-service-role/")
"""Paths AWS itself manages: Identity Center roles and service-linked roles."""

# -- Pulumi type tokens ----------------------------------------------------------------------
PACKAGE_NAME = "outbound-federation"
TYPE_PREFIX = f"{PACKAGE_NAME}:index"
"""Our components' type tokens are ``outbound-federation:index:<Name>``: public API, frozen."""
ACCOUNT_COMPONENT = f"{TYPE_PREFIX}:AccountFederation"
ROLE_COMPONENT = f"{TYPE_PREFIX}:FederatedRole"
ENABLEMENT_TYPE = "aws:iam/outboundWebIdentityFederation:OutboundWebIdentityFederation"
ISSUER_INVOKE = "aws:iam/getOutboundWebIdentityFederation:getOutboundWebIdentityFederation"
ROLE_TYPE = "aws:iam/role:Role"
ROLE_POLICY_TYPE = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT_TYPE = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
MANAGED_POLICY_TYPE = "aws:iam/policy:Policy"
USER_POLICY_TYPE = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY_TYPE = "aws:iam/groupPolicy:GroupPolicy"
INSTANCE_PROFILE_TYPE = "aws:iam/instanceProfile:InstanceProfile"
AWS_PROVIDER_TYPE = "pulumi:providers:aws"
NATIVE_ROLE_TYPE = "aws-native:iam:Role"
NATIVE_ROLE_POLICY_TYPE = "aws-native:iam:RolePolicy"
NATIVE_MANAGED_POLICY_TYPE = "aws-native:iam:ManagedPolicy"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"

# -- AWS Organizations -------------------------------------------------------------------------
GUARDRAILS_COMPONENT = f"{TYPE_PREFIX}:OrganizationGuardrails"
ORGANIZATIONS_POLICY_TYPE = "aws:organizations/policy:Policy"
ORGANIZATIONS_POLICY_ATTACHMENT_TYPE = "aws:organizations/policyAttachment:PolicyAttachment"
SERVICE_CONTROL_POLICY = "SERVICE_CONTROL_POLICY"
"""The Organizations policy type that limits what member accounts' principals may do (not the
management account's: SCPs never apply there)."""
SWITCH_ACTIONS = ("iam:EnableOutboundWebIdentityFederation", "iam:DisableOutboundWebIdentityFederation")
"""The account-wide switch: who may flip it is what an organisation guards."""
MAX_SCP_CHARACTERS = 5_120
"""Organizations' limit on an SCP document, counted on the JSON as sent (whitespace included)."""
MAX_ORGANIZATIONS_POLICY_NAME_LENGTH = 128
MAX_ORGANIZATIONS_POLICY_DESCRIPTION_LENGTH = 512

# -- Pulumi Cloud (the fleet) -----------------------------------------------------------------
FLEET_COMPONENT = f"{TYPE_PREFIX}:FederationFleet"
# Pulumi Cloud (pulumi-pulumiservice): what a fleet makes per account.
PULUMI_STACK_TYPE = "pulumiservice:index:Stack"
ESC_ENVIRONMENT_TYPE = "pulumiservice:index:Environment"
STACK_CONFIG_TYPE = "pulumiservice:api/stacks:Config"
DEPLOYMENT_SETTINGS_TYPE = "pulumiservice:index:DeploymentSettings"
DRIFT_SCHEDULE_TYPE = "pulumiservice:index:DriftSchedule"
STACK_TAGS_TYPE = "pulumiservice:index:StackTags"
