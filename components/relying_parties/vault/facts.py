"""Facts about Vault's (and OpenBao's) JWT auth method and pulumi-vault, each written once.

Sources: Vault's JWT auth method API (``auth/<mount>/config``, ``auth/<mount>/role/<name>``,
``auth/<mount>/login``), pulumi-vault 7.14.0's ``vault.jwt`` module (the input names), the
Terraform provider it bridges (what it writes for those inputs), and a real OpenBao 2.7.2 dev
server (the measured behaviour: which claims break a login, the 60 s clock skew, the reserved
metadata key).
"""

from __future__ import annotations

import re

from ...rules.facts import AWS_CLAIMS, SIGNING_ALGORITHMS

# -- Pulumi resource types (pulumi-vault) -------------------------------------------------------
AUTH_BACKEND_TYPE = "vault:jwt/authBackend:AuthBackend"
ROLE_TYPE = "vault:jwt/authBackendRole:AuthBackendRole"
COMPONENT_TYPE = "outbound-federation:index:VaultJwtTrust"

# -- Vault's defaults and fixed values ----------------------------------------------------------
PROVIDER_DEFAULT_MOUNT = "jwt"
"""Where pulumi-vault mounts an AuthBackend, and which mount a role names, when no path is given."""
SERVER_DEFAULT_ROLE_TYPE = "oidc"
"""Vault's (and pulumi-vault's) default role type: a browser flow that refuses every JWT login."""
ROLE_TYPE_JWT = "jwt"
USER_CLAIM = "sub"
"""The role ARN: each AWS role gets its own entity alias."""
BOUND_CLAIMS_TYPES = ("string", "glob")
RESERVED_METADATA_KEYS = ("role",)
"""Vault sets ``role`` itself; a claim mapping onto it is refused when the role is written."""
DEFAULT_CLOCK_SKEW_SECONDS = 60
"""What ``clock_skew_leeway: 0`` (the default) means; it is the tolerance on ``exp`` and ``iat``."""
TOKEN_ROOT_POLICY = "root"
"""No auth method can hand out root tokens: a role with it refuses every login."""
DEFAULT_POLICY = "default"
ACCEPTED_ALGORITHMS = SIGNING_ALGORITHMS
"""What our mounts pin (``jwt_supported_algs``): the two algorithms AWS signs with."""
VAULT_DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512",
                            "EdDSA")
"""What a mount without ``jwt_supported_algs`` accepts for JWT logins (despite its docs saying RS256)."""

# -- our defaults -------------------------------------------------------------------------------
DEFAULT_MOUNT_PREFIX = "aws-"
DEFAULT_TOKEN_TTL_SECONDS = 900
"""15 minutes: a workload logs in again with a fresh AWS token rather than renewing for days."""
MIN_TOKEN_TTL_SECONDS = 60
MAX_TOKEN_TTL_SECONDS = 32 * 24 * 3600
"""Vault's system maximum TTL (768 h) caps every token anyway."""
MAX_POLICIES = 64

# -- the AWS claims as Vault reads them (JSON pointers, RFC 6901) -------------------------------
AWS_CLAIMS_POINTER = "/" + AWS_CLAIMS.replace("~", "~0").replace("/", "~1")
"""``/https:~1~1sts.amazonaws.com~1``: the segment for AWS's nested claims."""
SCALAR_AWS_CLAIMS = ("aws_account", "source_region", "principal_id", "org_id", "original_session_exp")
ARRAY_OR_OBJECT_AWS_CLAIMS = ("ou_path", "principal_tags", "request_tags")
"""Claims under the namespace that are lists or objects: mapping one into metadata breaks every login."""
NON_SCALAR_TOP_LEVEL_CLAIMS = ("aud", AWS_CLAIMS)
"""Vault reads ``aud`` as a list, even when the token has one audience as a string (measured)."""
DEFAULT_CLAIM_MAPPINGS = (("aws_account", "aws_account"), ("source_region", "source_region"))
"""AWS claims every role copies into token metadata (audit logs show the account and region)."""

# -- shapes -------------------------------------------------------------------------------------
MOUNT_PATH_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(?:[/.][A-Za-z0-9_-]+)*$")
"""Conservative: segments of letters, digits, ``_`` and ``-``; no leading or trailing slash."""
RESERVED_MOUNT_PATHS = ("token",)
ROLE_NAME_PATTERN = re.compile(r"^\w(?:[\w.-]*\w)?$", re.ASCII)
"""Vault's ``GenericNameRegex`` for role names."""
METADATA_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
ORG_ID_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}$")
OU_PATH_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}/r-[a-z0-9]{4,32}/(?:ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}/)*$")
"""``<org>/<root>/<ou>/.../`` as AWS writes ``ou_path`` (with ``*`` allowed under glob)."""
POLICY_NAME_PATTERN = re.compile(r"^[^\s,]+$")
