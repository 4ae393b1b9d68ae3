"""Facts about Google Cloud workload identity federation, each written once.

Limits come from the IAM API reference for ``WorkloadIdentityPool`` and
``WorkloadIdentityPoolProvider`` and the service account reference; endpoints from google-auth's
external account credentials.
"""

from __future__ import annotations

import re

from ...rules.facts import MAX_ROLE_NAME_LENGTH

# -- limits (IAM API reference) ---------------------------------------------------------------
MIN_ID_LENGTH = 4
MAX_ID_LENGTH = 32
RESERVED_ID_PREFIX = "gcp-"
MAX_ALLOWED_AUDIENCES = 10
MAX_ALLOWED_AUDIENCE_LENGTH = 256
MAX_GOOGLE_SUBJECT_BYTES = 127
MAX_CUSTOM_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY_LENGTH = 100
MAX_MAPPING_EXPRESSION_LENGTH = 2048
MAX_CONDITION_LENGTH = 4096
MAX_DISPLAY_NAME_LENGTH = 32
MAX_DESCRIPTION_LENGTH = 256
MIN_SERVICE_ACCOUNT_ID_LENGTH = 6
MAX_SERVICE_ACCOUNT_ID_LENGTH = 30
MAX_LABEL_LENGTH = 63
"""A trusted role's label (it names the IAM binding): 1-63 of A-Z a-z 0-9 . _ -."""
# 12-digit account + ":" + a role name of at most 64 ASCII characters.
MAX_MAPPED_SUBJECT_BYTES = 12 + 1 + MAX_ROLE_NAME_LENGTH

# -- fixed values ------------------------------------------------------------------------------
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
IAM_HOST = "iam.googleapis.com"
STS_TOKEN_URL = "https://sts.googleapis.com/v1/token"
IAM_CREDENTIALS_BASE = "https://iamcredentials.googleapis.com/v1"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
EXECUTABLE_TIMEOUT_MILLIS = 10_000
TOKEN_COMMAND = "fedctl token"
"""The program google-auth runs for a subject token (``credential_source.executable``)."""

ID_PATTERN = re.compile(r"^[a-z0-9-]+$")
ATTRIBUTE_KEY_PATTERN = re.compile(r"^[a-z0-9_]+$")
# Project IDs: 6-30 of [a-z0-9-], starting with a letter, not ending with '-'; legacy
# domain-scoped projects carry a "domain.com:" prefix.
PROJECT_ID_PATTERN = re.compile(r"^(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
SERVICE_ACCOUNT_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
SERVICE_ACCOUNT_EMAIL_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*@[a-z0-9][a-z0-9.:-]*\.gserviceaccount\.com$")
LABEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,%d}$" % (MAX_LABEL_LENGTH - 1))

# -- Pulumi resource types and invokes -------------------------------------------------------
POOL_TYPE = "gcp:iam/workloadIdentityPool:WorkloadIdentityPool"
PROVIDER_TYPE = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
SERVICE_ACCOUNT_TYPE = "gcp:serviceaccount/account:Account"
SA_IAM_MEMBER_TYPE = "gcp:serviceaccount/iAMMember:IAMMember"
SA_IAM_BINDING_TYPE = "gcp:serviceaccount/iAMBinding:IAMBinding"
SA_IAM_POLICY_TYPE = "gcp:serviceaccount/iAMPolicy:IAMPolicy"
PROJECT_IAM_MEMBER_TYPE = "gcp:projects/iAMMember:IAMMember"
PROJECT_IAM_BINDING_TYPE = "gcp:projects/iAMBinding:IAMBinding"
PROJECT_IAM_POLICY_TYPE = "gcp:projects/iAMPolicy:IAMPolicy"
GET_PROJECT_INVOKE = "gcp:organizations/getProject:getProject"

PROVIDERS_CONSTRAINT = "constraints/iam.workloadIdentityPoolProviders"
"""The organisation policy that lists the issuers workload identity pool providers may trust; with it
restricted, creating a provider on an issuer not listed fails (FAILED_PRECONDITION ... Org Policy violated)."""
