"""Facts about Snowflake workload identity federation with AWS tokens, each written once.

Sources:

- snowflake-connector-python ``wif_util.create_aws_attestation`` (4.5.0 through 4.8.1): with
  ``SNOWFLAKE_ENABLE_AWS_WIF_OUTBOUND_TOKEN=true`` (or, from 4.7, the connection option
  ``workload_identity_aws_use_outbound_token=True``) it calls
  ``sts.get_web_identity_token(Audience=["snowflakecomputing.com"], SigningAlgorithm="ES384")``
  with no ``DurationSeconds`` (so STS's 300 s default), and sends the token as the AWS attestation.
  5.x moved this into its Rust core, which still reads the same environment variable: 5.2.0, run
  against a loopback STS stand-in with only that variable set, sent ``Action=GetWebIdentityToken``,
  ``Audience.member.1=snowflakecomputing.com``, ``SigningAlgorithm=ES384`` and no duration; without
  it, no token request at all (a signed GetCallerIdentity instead).
- snowflake-connector-python ``connection.py`` / 5.x ``connection_config.py``: the parameters
  ``authenticator="WORKLOAD_IDENTITY"`` and ``workload_identity_provider="AWS"`` (5.2.0's
  ``ConnectionConfig.from_kwargs`` knows all four of :func:`rules.connection_parameters`' names).
- Snowflake's SQL error for the global STS endpoint as issuer (snowflakedb/terraform-provider-snowflake
  #5127): "ISSUER must be a valid AWS STS JWT issuer URL matching the ARN partition".
- ``SHOW USER WORKLOAD IDENTITY AUTHENTICATION METHODS``: an AWS identity is kept as partition,
  account, type (``IAM_ROLE``) and role name.
- pulumi-snowflake 2.22.0: the resource types below; ``default_workload_identity`` is refused unless
  the provider enables the experiment ``USER_ENABLE_DEFAULT_WORKLOAD_IDENTITY``, and the provider
  does not read the workload identity back from Snowflake (external changes go unseen).
- Snowflake's identifier rules: unquoted identifiers are letters, digits, ``_`` and ``$``, start with
  a letter or ``_``, are stored in upper case and hold at most 255 characters; the provider quotes
  every identifier it is given (case-sensitive names, terraform-provider-snowflake #19).
"""

from __future__ import annotations

import re

# -- what the drivers request -----------------------------------------------------------------------
AUDIENCE = "snowflakecomputing.com"
"""The ``aud`` every Snowflake driver requests for an AWS outbound token; there is no setting for it."""
ACCEPTED_ALGORITHMS = ("ES384",)
"""The drivers request ES384 tokens, so a role Snowflake trusts must be allowed ES384."""
CONNECTOR_TOKEN_SECONDS = 300
"""The drivers name no duration, so STS mints a 300-second token (sts:DurationSeconds is 300)."""

# -- the Python connector --------------------------------------------------------------------------
CONNECTOR_PACKAGE = "snowflake-connector-python"
CONNECTOR_MIN_VERSION = "4.5.0"
"""The first snowflake-connector-python that can send an AWS outbound token."""
OUTBOUND_TOKEN_ENV = "SNOWFLAKE_ENABLE_AWS_WIF_OUTBOUND_TOKEN"
"""Set to ``true`` to make the connector send an AWS outbound token instead of a signed GetCallerIdentity."""
OUTBOUND_TOKEN_OPTION = "workload_identity_aws_use_outbound_token"
"""The same switch as a connection option, from snowflake-connector-python 4.7."""
AUTHENTICATOR = "WORKLOAD_IDENTITY"
WORKLOAD_IDENTITY_PROVIDER = "AWS"

# -- identifiers -----------------------------------------------------------------------------------
MAX_IDENTIFIER_LENGTH = 255
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
"""An unquoted Snowflake identifier."""
ACCOUNT_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$")
"""An account identifier in the ``<organization>-<account name>`` form the connector takes (an
organization name is letters and digits; an account name letters, digits and ``_``, which URLs
write as ``-``)."""
USER_NAME_PREFIX = "AWS_"

# -- issuers ---------------------------------------------------------------------------------------
STS_ENDPOINT_HOST = re.compile(r"^sts(?:[.-][a-z0-9-]+)*\.(?:amazonaws\.com(?:\.cn)?|api\.aws)$")
"""STS API endpoints (``sts.amazonaws.com``, ``sts.eu-west-1.amazonaws.com``...): never an issuer."""
COMMERCIAL_PARTITION = "aws"
"""The partition whose issuer shape is published (``https://<id>.tokens.sts.global.api.aws``)."""

# -- the Pulumi provider ---------------------------------------------------------------------------
PROVIDER_PACKAGE = "snowflake"
WORKLOAD_IDENTITY_EXPERIMENT = "USER_ENABLE_DEFAULT_WORKLOAD_IDENTITY"
EXPERIMENTS_CONFIG_KEY = "experimentalFeaturesEnableds"
"""The provider setting (``snowflake:experimentalFeaturesEnableds``); it cannot come from the environment."""
SERVICE_USER_TYPE = "snowflake:index/serviceUser:ServiceUser"
LEGACY_SERVICE_USER_TYPE = "snowflake:index/legacyServiceUser:LegacyServiceUser"
USER_TYPES = (SERVICE_USER_TYPE, LEGACY_SERVICE_USER_TYPE)
"""The user types that carry ``defaultWorkloadIdentity`` (``snowflake:index/user:User`` has none)."""
