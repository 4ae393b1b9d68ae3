"""The Snowflake side: a service user whose workload identity is one AWS role (:class:`SnowflakeServiceUserTrust`).

Snowflake logs the user in when a driver presents an AWS outbound token from the account's issuer
whose ``sub`` is the role's ARN, minted for ``snowflakecomputing.com`` with ES384. The drivers
request that token themselves (``SNOWFLAKE_ENABLE_AWS_WIF_OUTBOUND_TOKEN=true``), so the user
needs no password, key pair or secret of any kind.

Two things the provider does not do for you:

- pulumi-snowflake refuses ``default_workload_identity`` unless the provider enables the
  experiment ``USER_ENABLE_DEFAULT_WORKLOAD_IDENTITY`` (``snowflake:experimentalFeaturesEnableds``
  in the stack config for the default provider); checked here before anything is registered.
- the provider never reads the workload identity back from Snowflake: an ``ALTER USER ... SET
  WORKLOAD_IDENTITY`` made outside Pulumi goes unseen (no drift). Run ``SHOW USER WORKLOAD
  IDENTITY AUTHENTICATION METHODS FOR USER <name>`` to see what Snowflake holds.

Example::

    account = AccountFederation("acct", {})
    role = FederatedRole("loader", {"trusted_services": ["lambda.amazonaws.com"],
                                    "audiences": [SnowflakeServiceUserTrust.AUDIENCE],
                                    "signing_algorithms": ["ES384"]})
    user = SnowflakeServiceUserTrust("loader", {
        "account": "MYORG-ANALYTICS",
        "issuer": account.issuer,
        "aws_account_id": account.account_id,
        "role_arn": role.subject,
        "user_name": "AWS_LOADER",
        "default_role": "LOADER",
    })
    pulumi.export("snowflake", user.connection_parameters)
"""

# No `from __future__ import annotations` here: the schema analyzer (components/schema.py) reads these
# annotations as objects, and string annotations break it (docs/maintainers.md).
from typing import Any, Mapping, NotRequired, Optional, TypedDict

import pulumi
import pulumi_snowflake as snowflake

from ...checks import ValidatedComponent, check_resolved
from ...rules import ValidationError, is_plain
from ...rules import aws as aws_rules
from . import facts
from . import rules as snowflake_rules


def _explicit_provider(opts: Optional[pulumi.ResourceOptions]) -> bool:
    """Does the component get a Snowflake provider of its own (whose settings are not in the stack config)?"""
    if opts is None:
        return False
    provider = getattr(opts, "provider", None)
    if provider is not None and getattr(provider, "package", None) == facts.PROVIDER_PACKAGE:
        return True
    providers = getattr(opts, "providers", None) or {}
    if isinstance(providers, Mapping) and facts.PROVIDER_PACKAGE in providers:
        return True
    if not isinstance(providers, Mapping) and any(getattr(p, "package", None) == facts.PROVIDER_PACKAGE
                                                  for p in providers):
        return True
    # Children inherit their parent's providers (the SDK keeps them on the parent as _providers).
    inherited = getattr(getattr(opts, "parent", None), "_providers", None) or {}
    return facts.PROVIDER_PACKAGE in inherited


def _provider_problems(opts: Optional[pulumi.ResourceOptions]) -> list:
    """The default provider must enable the workload identity experiment; an explicit one is the caller's."""
    if _explicit_provider(opts):
        return []
    experiments = pulumi.Config(facts.PROVIDER_PACKAGE).get_object(facts.EXPERIMENTS_CONFIG_KEY)
    return snowflake_rules.check_provider_experiments(
        experiments, f"{facts.PROVIDER_PACKAGE}:{facts.EXPERIMENTS_CONFIG_KEY}")


class SnowflakeServiceUserTrustArgs(TypedDict):
    """A Snowflake service user that logs in with the AWS outbound tokens of one IAM role."""

    account: pulumi.Input[str]
    """The Snowflake account identifier, <organization>-<account name> (e.g. MYORG-ANALYTICS): what the connector
    connects to. The provider's own account setting decides where the user is created; keep them the same."""
    issuer: pulumi.Input[str]
    """The AWS account issuer, exactly as in the token's iss (AccountFederation.issuer). Never https://sts.amazonaws.com."""
    role_arn: pulumi.Input[str]
    """The IAM role the user trusts, exactly as the token's sub (FederatedRole.subject, path included)."""
    aws_account_id: NotRequired[pulumi.Input[str]]
    """The 12-digit AWS account the issuer belongs to (AccountFederation.account_id); the role must be one of its."""
    user_name: NotRequired[pulumi.Input[str]]
    """The service user's name: a plain upper-case Snowflake identifier of at most 255 characters.
    Default: AWS_ plus the component name in upper case."""
    default_role: NotRequired[pulumi.Input[str]]
    """The role active at login. Snowflake does not grant it: GRANT ROLE ... TO USER separately."""
    default_warehouse: NotRequired[pulumi.Input[str]]
    """The warehouse active at login."""
    default_namespace: NotRequired[pulumi.Input[str]]
    """The database, or database.schema, active at login."""
    comment: NotRequired[pulumi.Input[str]]
    """The user's comment. Default: names the trusted role."""


class SnowflakeServiceUserTrust(ValidatedComponent):
    """A Snowflake service user (``TYPE = SERVICE``) whose default workload identity is one AWS role.

    Creates one ``snowflake.ServiceUser`` with ``default_workload_identity = {aws: {arn, issuer}}``.
    The role must be allowed ES384 tokens for ``snowflakecomputing.com`` of 300 seconds: that is
    what Snowflake's drivers request (the ``audience`` output). One user trusts one role.

    Example::

        user = SnowflakeServiceUserTrust("loader", {"account": "MYORG-ANALYTICS", "issuer": account.issuer,
                                                    "role_arn": role.subject})
        # at run time: SNOWFLAKE_ENABLE_AWS_WIF_OUTBOUND_TOKEN=true and
        # snowflake.connector.connect(**connection_parameters)
    """

    AUDIENCE = facts.AUDIENCE
    """The audience every trusted role must pin and request (Snowflake's drivers ask for it)."""

    user_name: pulumi.Output[str]
    """The service user's name."""
    account: pulumi.Output[str]
    """The Snowflake account identifier the connector connects to."""
    audience: pulumi.Output[str]
    """The aud the AWS token carries: snowflakecomputing.com. Put it in the role's audiences."""
    issuer: pulumi.Output[str]
    """The AWS account issuer the user trusts."""
    role_arn: pulumi.Output[str]
    """The IAM role the user trusts."""
    connection_parameters: pulumi.Output[Mapping[str, str]]
    """snowflake.connector.connect() keyword arguments for this user: account, user, authenticator and
    workload_identity_provider. Set SNOWFLAKE_ENABLE_AWS_WIF_OUTBOUND_TOKEN=true too (connector 4.5.0 or later)."""

    def __init__(self, name: str, args: SnowflakeServiceUserTrustArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        if args.get("user_name") is None:
            args["user_name"] = snowflake_rules.default_user_name(name)
        provider = _provider_problems(opts)
        super().__init__(name, args, lambda a: snowflake_rules.check_snowflake_user_args(a) + provider, opts)
        role_arn, issuer = self._trusted(args["role_arn"], args["issuer"], args.get("aws_account_id"))
        user_name = self._checked(args["user_name"], snowflake_rules.check_user_name, "user_name")
        account = self._checked(args["account"], snowflake_rules.check_account, "account")
        comment = args.get("comment")
        user = snowflake.ServiceUser(
            f"{name}-user",
            name=user_name,
            comment=comment if comment is not None else role_arn.apply(snowflake_rules.default_comment),
            default_role=args.get("default_role"),
            default_warehouse=args.get("default_warehouse"),
            default_namespace=args.get("default_namespace"),
            # Copied exactly: Snowflake compares the token's iss and sub with them.
            default_workload_identity=snowflake.ServiceUserDefaultWorkloadIdentityArgs(
                aws=snowflake.ServiceUserDefaultWorkloadIdentityAwsArgs(arn=role_arn, issuer=issuer)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.user_name = user.name
        self.account = account
        self.audience = pulumi.Output.from_input(snowflake_rules.snowflake_audience(args))
        self.issuer = issuer
        self.role_arn = role_arn
        self.connection_parameters = pulumi.Output.all(account, user.name).apply(
            lambda values: snowflake_rules.connection_parameters(values[0], values[1]))
        self.register_outputs({
            "user_name": self.user_name,
            "account": self.account,
            "audience": self.audience,
            "issuer": self.issuer,
            "role_arn": self.role_arn,
            "connection_parameters": self.connection_parameters,
        })

    def _checked(self, value: Any, check: Any, field: str) -> pulumi.Output[Any]:
        """An Output input, checked when it resolves (plain ones were checked before registration)."""
        if is_plain(value):
            return pulumi.Output.from_input(value)

        def validated(resolved: Any) -> Any:
            check_resolved(self.label, check(resolved, field), self)
            return resolved

        return pulumi.Output.from_input(value).apply(validated)

    def _trusted(self, role_arn: Any, issuer: Any, aws_account_id: Any) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The role and issuer once both are known and fit together: a role of the issuer's account, and
        an issuer of the role's partition."""
        both = pulumi.Output.all(role_arn, issuer, aws_account_id)
        if is_plain(role_arn) and is_plain(issuer) and is_plain(aws_account_id):
            return both.apply(lambda v: v[0]), both.apply(lambda v: v[1])

        def checked(values: list[Any]) -> list[Any]:
            arn, resolved_issuer, account = values
            found = aws_rules.check_account_id(account, "aws_account_id") if account is not None else []
            found += snowflake_rules.check_role_arn(arn, "role_arn", account)
            found += snowflake_rules.check_issuer(resolved_issuer, "issuer", arn)
            check_resolved(self.label, found, self)
            return values

        trusted = both.apply(checked)
        return trusted.apply(lambda v: v[0]), trusted.apply(lambda v: v[1])


# ---------------------------------------------------------------------------------------------
# The stack's hooks (components.relying_parties.base.RelyingPartyKind.audience / .deploy)
# ---------------------------------------------------------------------------------------------

def stack_audience(name: str, settings: Mapping[str, Any], opts: Any = None) -> str:
    """The audience the trusted role must request: fixed by Snowflake's drivers, known before anything exists."""
    return snowflake_rules.snowflake_audience(settings)


def deploy(deployment: Any) -> dict:
    """A SnowflakeServiceUserTrust for one workload's role; returns what the stack exports of it."""
    [subject] = deployment.subjects.values()  # the kind's check allows one role per user
    user = SnowflakeServiceUserTrust(deployment.name, {
        **deployment.settings, "issuer": deployment.issuer, "aws_account_id": deployment.account_id,
        "role_arn": subject}, deployment.opts)
    return {"audience": user.audience, "account": user.account, "userName": user.user_name,
            "issuer": user.issuer, "roleArn": user.role_arn}


__all__ = ["SnowflakeServiceUserTrust", "SnowflakeServiceUserTrustArgs", "ValidationError"]
