"""Rules and builders for the Snowflake side: a service user whose workload identity is one AWS role.

Snowflake lets a service user log in with an AWS outbound token when the user's workload identity
is ``TYPE = AWS`` with the role's ARN and the account's issuer. Snowflake's drivers ask STS for
that token themselves, always with the audience ``snowflakecomputing.com`` and ES384, so the
audience is fixed (:func:`snowflake_audience`, the kind's one audience rule) and a trusted role
must be allowed ES384 and a 300-second token.

What these rules hold a user to, and why:

- the issuer is the AWS account's issuer (``https://<id>.tokens.sts.global.api.aws`` in the
  commercial partition), never an STS endpoint: Snowflake refuses ``https://sts.amazonaws.com``
  ("ISSUER must be a valid AWS STS JWT issuer URL matching the ARN partition");
- the ARN is one IAM role's ARN exactly as the token's ``sub`` carries it, path included, of the
  account whose issuer it is paired with: no wildcard, no STS session ARN. Snowflake shows an AWS
  identity as partition, account and role name, so it may ignore the path; the exact ARN is right
  under either reading;
- one user trusts one role: a user has one default workload identity;
- the user name is a plain identifier in upper case: the provider quotes names as given, so a
  lower-case name would become a case-sensitive user every ``GRANT`` has to quote.

Example::

    >>> snowflake_audience({})
    'snowflakecomputing.com'
    >>> default_user_name("dev", "reports-loader")
    'AWS_DEV_REPORTS_LOADER'
    >>> [v.code for v in check_issuer("https://sts.amazonaws.com", "issuer")]
    ['snowflake.issuer.sts-endpoint']
"""

from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import urlsplit

from ...rules import WARNING, Violation, check_length, is_plain
from ...rules import aws as aws_rules
from ...rules.facts import MAX_ROLE_NAME_LENGTH
from .facts import (
    ACCOUNT_PATTERN,
    AUDIENCE,
    AUTHENTICATOR,
    COMMERCIAL_PARTITION,
    CONNECTOR_MIN_VERSION,
    CONNECTOR_PACKAGE,
    IDENTIFIER_PATTERN,
    MAX_IDENTIFIER_LENGTH,
    OUTBOUND_TOKEN_ENV,
    STS_ENDPOINT_HOST,
    USER_NAME_PREFIX,
    WORKLOAD_IDENTITY_EXPERIMENT,
    WORKLOAD_IDENTITY_PROVIDER,
)

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")
_STS_SESSION_ARN = re.compile(r"^arn:[a-z-]+:sts::\d{12}:assumed-role/")
_IAM_USER_ARN = re.compile(r"^arn:[a-z-]+:iam::\d{12}:user/")
_WILDCARDS = ("*", "?")

# ---------------------------------------------------------------------------------------------
# Builders (pure; shared by the component, the stack, the review and the runtime)
# ---------------------------------------------------------------------------------------------


def snowflake_audience(settings: Mapping[str, Any] | None = None) -> str:
    """The audience a role trusted by Snowflake must pin and request: what the drivers ask for.

    The one definition, used by the stack, the component, the rehearsal and ``fedctl exchange``.
    No setting changes it: the drivers hard-code it.
    """
    return AUDIENCE


def default_user_name(*parts: str) -> str:
    """A service user name from the stack and workload (or a component name): ``AWS_<STACK>_<WORKLOAD>``,
    a plain upper-case identifier.

    >>> default_user_name("pr-12", "loader")
    'AWS_PR_12_LOADER'
    """
    return (USER_NAME_PREFIX + _NOT_IDENTIFIER.sub("_", "_".join(parts)).upper())[:MAX_IDENTIFIER_LENGTH]


def workload_identity(role_arn: str, issuer: str) -> dict[str, dict[str, str]]:
    """The user's ``default_workload_identity``: the AWS role and the account issuer, copied exactly."""
    return {"aws": {"arn": role_arn, "issuer": issuer}}


def default_comment(role_arn: str) -> str:
    return f"AWS role {role_arn} through outbound identity federation (ES384 tokens for {AUDIENCE})"


def connection_parameters(account: str, user_name: str) -> dict[str, str]:
    """What ``snowflake.connector.connect(**...)`` needs to log in as the user with the AWS token.

    No secret: the connector asks STS for the token itself (see :func:`connector_environment`).
    """
    return {"account": account, "user": user_name, "authenticator": AUTHENTICATOR,
            "workload_identity_provider": WORKLOAD_IDENTITY_PROVIDER}


def connector_environment() -> dict[str, str]:
    """The environment that makes the connector send an AWS outbound token (not a signed GetCallerIdentity)."""
    return {OUTBOUND_TOKEN_ENV: "true"}


def connector_requirement() -> str:
    return f"{CONNECTOR_PACKAGE}>={CONNECTOR_MIN_VERSION}"


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------

def check_user_name(name: Any, field: str) -> list[Violation]:
    """A service user name: a plain Snowflake identifier of at most 255 characters, in upper case."""
    found = check_length(name, field, 1, MAX_IDENTIFIER_LENGTH, "a Snowflake user name", code="snowflake.user-name")
    if found:
        return found
    if not IDENTIFIER_PATTERN.match(name):
        return [Violation(
            field, name,
            "must be a plain Snowflake identifier: letters, digits, '_' and '$', starting with a letter or '_' "
            "(the provider breaks on '|', '.' and '\"', and other characters would need quoting everywhere)",
            code="snowflake.user-name.charset",
        )]
    if name != name.upper():
        return [Violation(
            field, name,
            f"must be upper case ({name.upper()!r}): Snowflake keeps unquoted names in upper case, but the provider "
            "quotes the name as given, so this would be a case-sensitive user that every GRANT and login must quote",
            code="snowflake.user-name.case",
        )]
    return []


def _check_identifier(value: Any, field: str, what: str, code: str) -> list[Violation]:
    found = check_length(value, field, 1, MAX_IDENTIFIER_LENGTH, what, code=code)
    if found:
        return found
    if not IDENTIFIER_PATTERN.match(value):
        return [Violation(field, value, f"must be {what}: a plain Snowflake identifier (letters, digits, '_' and '$', "
                                        "starting with a letter or '_')", code=f"{code}.format")]
    if value != value.upper():
        return [Violation(
            field, value,
            f"is not upper case: Snowflake keeps unquoted names in upper case and the provider quotes what it is "
            f"given, so this names a different object than {value.upper()!r} unless it was created quoted",
            WARNING, code=f"{code}.case",
        )]
    return []


def check_default_role(value: Any, field: str) -> list[Violation]:
    return _check_identifier(value, field, "a role name", "snowflake.default-role")


def check_default_warehouse(value: Any, field: str) -> list[Violation]:
    return _check_identifier(value, field, "a warehouse name", "snowflake.default-warehouse")


def check_default_namespace(value: Any, field: str) -> list[Violation]:
    """``DATABASE`` or ``DATABASE.SCHEMA``."""
    if not isinstance(value, str) or not value:
        return [Violation(field, value, "must be a database or database.schema name", code="snowflake.default-namespace.type")]
    parts = value.split(".")
    if len(parts) > 2:
        return [Violation(field, value, "must be a database or database.schema name (at most one '.')",
                          code="snowflake.default-namespace.format")]
    found = []
    for part in parts:
        found += _check_identifier(part, field, "a database or schema name", "snowflake.default-namespace")
    return found


def check_comment(value: Any, field: str) -> list[Violation]:
    if not isinstance(value, str):
        return [Violation(field, value, "must be a string", code="snowflake.comment.type")]
    return []


def check_account(value: Any, field: str) -> list[Violation]:
    """The Snowflake account identifier, ``<organization>-<account name>``, as the connector takes it."""
    found = check_length(value, field, 1, MAX_IDENTIFIER_LENGTH, "a Snowflake account identifier",
                         code="snowflake.account")
    if found:
        return found
    if "://" in value or "snowflakecomputing" in value.lower():
        return [Violation(
            field, value,
            "is a URL or host name: give the account identifier alone, <organization>-<account name> "
            "(e.g. MYORG-ANALYTICS)", code="snowflake.account.url",
        )]
    if "." in value:
        return [Violation(
            field, value,
            "has a '.': the connector takes <organization>-<account name> with '-' (e.g. MYORG-ANALYTICS); "
            "ORG.ACCOUNT is the SQL form, and a locator with a region is the legacy form",
            code="snowflake.account.dotted",
        )]
    if not ACCOUNT_PATTERN.match(value):
        return [Violation(
            field, value,
            "must be <organization>-<account name> (e.g. MYORG-ANALYTICS): run "
            "SELECT CURRENT_ORGANIZATION_NAME() || '-' || CURRENT_ACCOUNT_NAME()",
            code="snowflake.account.format",
        )]
    return []


def is_sts_endpoint(issuer: Any) -> bool:
    """Is this an STS API endpoint (``https://sts.amazonaws.com``...) rather than an account issuer?"""
    if not isinstance(issuer, str):
        return False
    host = urlsplit(issuer.strip()).hostname or ""
    return bool(STS_ENDPOINT_HOST.match(host.lower()))


def check_issuer(issuer: Any, field: str, role_arn: Any = None) -> list[Violation]:
    """The account issuer of the role's partition, copied exactly; never an STS endpoint.

    In the commercial partition the issuer shape is known, so anything else is an error; for other
    partitions (whose issuer domains AWS does not publish) an unfamiliar issuer is a warning.
    """
    if not isinstance(issuer, str) or not issuer:
        return [Violation(field, issuer, "is required: the AWS account issuer (AccountFederation.issuer)",
                          code="snowflake.issuer.missing")]
    if is_sts_endpoint(issuer):
        return [Violation(
            field, issuer,
            "is an STS endpoint, not an account issuer: Snowflake refuses it (\"ISSUER must be a valid AWS STS JWT "
            "issuer URL matching the ARN partition\"); use the account's issuer, "
            "https://<id>.tokens.sts.global.api.aws (AccountFederation.issuer)",
            code="snowflake.issuer.sts-endpoint",
        )]
    found = [v for v in aws_rules.check_issuer(issuer, field) if v.code != "aws.issuer.unfamiliar"]
    if found:
        return found
    parsed = aws_rules.parse_role_arn(role_arn)
    partition = parsed.partition if parsed else None
    if aws_rules.is_aws_issuer(issuer):
        if partition not in (None, COMMERCIAL_PARTITION):
            return [Violation(
                field, issuer,
                f"has the commercial partition's issuer shape, but the role is in {partition}: Snowflake wants the "
                "issuer of the ARN's partition (read it from that account)",
                WARNING, code="snowflake.issuer.partition",
            )]
        return []
    if partition == COMMERCIAL_PARTITION:
        return [Violation(
            field, issuer,
            "is not an AWS account issuer (https://<id>.tokens.sts.global.api.aws): Snowflake only accepts the "
            "STS token issuer of the role's account; read it from the account (AccountFederation.issuer)",
            code="snowflake.issuer.not-account-issuer",
        )]
    return [Violation(
        field, issuer,
        "does not look like an AWS account issuer (https://<id>.tokens.sts.global.api.aws); Snowflake refuses "
        "anything but the STS token issuer of the role's partition",
        WARNING, code="snowflake.issuer.unfamiliar",
    )]


def check_trusted_arn(arn: Any, field: str) -> list[Violation]:
    """What any AWS workload identity's ARN must be for Snowflake to match one principal: present, exact."""
    if not isinstance(arn, str) or not arn.strip():
        return [Violation(field, arn, "is empty: the workload identity must name the IAM role it trusts",
                          code="snowflake.arn.empty")]
    wildcards = [w for w in _WILDCARDS if w in arn]
    if wildcards:
        return [Violation(
            field, arn,
            f"must not contain {' or '.join(repr(w) for w in wildcards)}: Snowflake matches one role exactly, "
            "and a user has one workload identity", code="snowflake.arn.wildcard",
        )]
    if _STS_SESSION_ARN.match(arn):
        return [Violation(
            field, arn,
            "is an STS session ARN: the token's sub is the role's IAM ARN, arn:aws:iam::<account>:role/<path/><name> "
            "(FederatedRole.subject)", code="snowflake.arn.session",
        )]
    return []


def check_role_arn(arn: Any, field: str, aws_account_id: Any = None) -> list[Violation]:
    """The trusted role: an IAM role ARN exactly as the token's sub, of the account whose issuer it is paired with."""
    found = check_trusted_arn(arn, field)
    if found:
        return found
    if _IAM_USER_ARN.match(arn):
        return [Violation(
            field, arn,
            "is an IAM user: the trusted principal here is the IAM role whose tokens the workload sends "
            "(FederatedRole.subject)", code="snowflake.arn.not-role",
        )]
    parsed = aws_rules.parse_role_arn(arn)
    if parsed is None:
        return [Violation(field, arn, "must be an IAM role ARN exactly as the token's sub: "
                                      "arn:aws:iam::<12 digits>:role/<path/><name>", code="snowflake.arn.format")]
    if len(parsed.name) > MAX_ROLE_NAME_LENGTH:
        return [Violation(field, arn, f"has a role name of {len(parsed.name)} characters: IAM role names are at most "
                                      f"{MAX_ROLE_NAME_LENGTH}, so this is not a real role",
                          code="snowflake.arn.name-length")]
    if isinstance(aws_account_id, str) and aws_rules.ACCOUNT_ID_PATTERN.match(aws_account_id) \
            and parsed.account_id != aws_account_id:
        return [Violation(
            field, arn,
            f"belongs to account {parsed.account_id}, not {aws_account_id}: an issuer only vouches for its own "
            "account's roles", code="snowflake.arn.other-account",
        )]
    return []


def check_provider_experiments(experiments: Any, field: str) -> list[Violation]:
    """The provider must enable ``USER_ENABLE_DEFAULT_WORKLOAD_IDENTITY``, or it refuses the workload identity."""
    listed = [experiments] if isinstance(experiments, str) else list(experiments or []) \
        if isinstance(experiments, (list, tuple)) else []
    if WORKLOAD_IDENTITY_EXPERIMENT in listed:
        return []
    return [Violation(
        field, experiments,
        f"does not enable {WORKLOAD_IDENTITY_EXPERIMENT}: pulumi-snowflake refuses a user's default workload "
        f"identity without it; add it to the provider's experimental features (stack config "
        f"snowflake:experimentalFeaturesEnableds: [{WORKLOAD_IDENTITY_EXPERIMENT}])",
        code="snowflake.provider.experiment-off",
    )]


def check_one_role(subjects: Any, user_name: Any, field: str) -> list[Violation]:
    """One user trusts one role: a service user has one default workload identity.

    ``subjects`` is the stack's view (credential name -> role), ``field`` where the user is named.
    """
    if not isinstance(subjects, Mapping):
        return [Violation(field, subjects, "must trust one role", code="snowflake.subjects.type")]
    if len(subjects) != 1:
        names = ", ".join(map(str, subjects)) or "none"
        return [Violation(
            field, user_name,
            f"is the user of {len(subjects)} roles ({names}): a Snowflake service user has one workload identity, "
            "so it trusts exactly one role; give each workload its own user", code="snowflake.user.shared",
        )]
    return []


def _present(args: Mapping[str, Any], key: str) -> bool:
    return args.get(key) not in (None, "", [], {})


def check_snowflake_user_args(args: Mapping[str, Any], prefix: str = "", spell=str) -> list[Violation]:
    """Every rule on a SnowflakeServiceUserTrust's plain inputs; Output-valued inputs are checked on resolve.

    The stack passes its view (``subjects``: credential name -> role); the component passes ``role_arn``.
    ``spell`` renders an arg name the way the user wrote it (camelCase in stack config).
    """
    field = lambda key: f"{prefix}{spell(key)}"  # noqa: E731 - tiny local helper
    found = []
    for key, what in (("account", "the Snowflake account identifier, <organization>-<account name>"),
                      ("user_name", "the service user's name"),
                      ("issuer", "the AWS account issuer (AccountFederation.issuer)")):
        if not _present(args, key):
            found.append(Violation(field(key), None, f"is required: {what}", code="snowflake.args.missing"))
    if "subjects" in args:
        found += check_one_role(args["subjects"], args.get("user_name"), field("user_name"))
        role_arn = next(iter(args["subjects"].values()), None) if isinstance(args["subjects"], Mapping) else None
    elif not _present(args, "role_arn"):
        found.append(Violation(field("role_arn"), None, "is required: the ARN of the IAM role the user trusts "
                                                        "(FederatedRole.subject)", code="snowflake.args.missing"))
        role_arn = None
    else:
        role_arn = args["role_arn"]
        if is_plain(role_arn):
            account = args.get("aws_account_id") if is_plain(args.get("aws_account_id")) else None
            found += check_role_arn(role_arn, field("role_arn"), account)
    checks = {
        "account": check_account,
        "user_name": check_user_name,
        "default_role": check_default_role,
        "default_warehouse": check_default_warehouse,
        "default_namespace": check_default_namespace,
        "comment": check_comment,
        "aws_account_id": aws_rules.check_account_id,
    }
    for key, check in checks.items():
        if args.get(key) is not None and is_plain(args[key]):
            found += check(args[key], field(key))
    issuer = args.get("issuer")
    if _present(args, "issuer") and is_plain(issuer):
        found += check_issuer(issuer, field("issuer"), role_arn if is_plain(role_arn) else None)
    return found


__all__ = [
    "check_account", "check_comment", "check_default_namespace", "check_default_role", "check_default_warehouse",
    "check_issuer", "check_one_role", "check_provider_experiments", "check_role_arn", "check_snowflake_user_args",
    "check_trusted_arn", "check_user_name", "connection_parameters", "connector_environment",
    "connector_requirement", "default_comment", "default_user_name", "is_sts_endpoint", "snowflake_audience",
    "workload_identity",
]
