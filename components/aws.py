"""The AWS side: the account's issuer (:class:`AccountFederation`) and the roles that may mint
tokens (:class:`FederatedRole`), with the policy documents they attach.

Example::

    account = AccountFederation("acct", {"manage": False})
    role = FederatedRole("exporter", {
        "trusted_services": ["lambda.amazonaws.com"],
        "audiences": ["api://AzureADTokenExchange"],
    })
    pulumi.export("subject", role.subject)
"""

# No `from __future__ import annotations` here: the schema analyzer (components/schema.py) reads these
# annotations as objects, and string annotations break it (docs/maintainers.md).
import json
from enum import Enum
from typing import Any, Mapping, NotRequired, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from .checks import ValidatedComponent, check_resolved, checked
from .rules import aws as aws_rules
from .rules.errors import FederationDisabledError, FederationLookupError, ValidationError
from .rules.facts import DISCOVERY_PATH, JWKS_PATH
from .rules.policy_documents import service_trust_policy_document, token_policy_document


class SigningAlgorithm(str, Enum):
    """A JWT signing algorithm AWS offers for outbound tokens."""

    RS256 = "RS256"
    """RSA with SHA-256. The only algorithm Microsoft Entra supports for federated credentials."""
    ES384 = "ES384"
    """ECDSA P-384 with SHA-384. Smaller tokens; fine for GCP and most SaaS relying parties."""


# ---------------------------------------------------------------------------------------------
# AccountFederation
# ---------------------------------------------------------------------------------------------

class AccountFederationArgs(TypedDict):
    """How this stack relates to the account's outbound identity federation switch."""

    manage: NotRequired[bool]
    """Own the account-wide enablement (one stack per account). Default false: only look the issuer up."""
    disable_on_destroy: NotRequired[bool]
    """With manage: switch federation OFF for the whole account when this stack is destroyed.
    Default false: the enablement is protected and retained, because disabling breaks every
    trust of every team in the account."""


class AccountFederation(ValidatedComponent):
    """The AWS account's outbound identity federation issuer.

    By default the component only reads the issuer, and fails with instructions when the feature
    is off. With ``manage: true`` it owns the account-wide switch, protected and retained on
    delete unless ``disable_on_destroy: true``.

    Example::

        account = AccountFederation("acct", {"manage": True})
        pulumi.export("issuer", account.issuer)
    """

    issuer: pulumi.Output[str]
    """The issuer URL exactly as it appears in the tokens' ``iss`` claim (no trailing slash)."""
    jwks_uri: pulumi.Output[str]
    """Where the account publishes its signing keys."""
    openid_configuration_url: pulumi.Output[str]
    """The OIDC discovery document relying parties read."""
    account_id: pulumi.Output[str]
    """The 12-digit ID of the account this issuer belongs to."""

    def __init__(self, name: str, args: AccountFederationArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        super().__init__(name, args, aws_rules.check_account_federation_args, opts)
        self.account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        found = self._look_up_issuer(name, required=not args.get("manage", False))

        if args.get("manage", False):
            keep = not args.get("disable_on_destroy", False)
            # Enable fails with FeatureEnabled (409) on an account that already has federation on
            # (the console, another team, a vendor's installer): adopt it by import instead. Either
            # way the switch is protected and kept on delete, because deleting it switches
            # federation off for the whole account.
            account = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self)).account_id if found else None
            enablement = aws.iam.OutboundWebIdentityFederation(
                f"{name}-enablement",
                opts=pulumi.ResourceOptions(parent=self, protect=keep, retain_on_delete=keep, import_=account),
            )
            issuer = enablement.issuer_identifier
        else:
            issuer = pulumi.Output.from_input(found)

        def validated(value: str) -> str:
            check_resolved(f"AccountFederation '{name}'", aws_rules.check_issuer(value, "issuer"), self)
            return value

        self.issuer = issuer.apply(validated)
        self.jwks_uri = self.issuer.apply(lambda i: f"{i}{JWKS_PATH}")
        self.openid_configuration_url = self.issuer.apply(lambda i: f"{i}{DISCOVERY_PATH}")
        self.register_outputs({
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "openid_configuration_url": self.openid_configuration_url,
            "account_id": self.account_id,
        })

    def _look_up_issuer(self, name: str, *, required: bool) -> Optional[str]:
        """The account's issuer, or None when federation is off (then: raise, if ``required``).

        The provider reports an account with federation off as a failed invoke ("couldn't find
        resource", from GetOutboundWebIdentityFederationInfo's FeatureDisabled 404). Any other
        failure (no permission, no credentials) is raised as what it is: with ``manage`` we could
        not tell whether to adopt or enable, and without it there is no issuer.
        """
        how_to_fix = (
            "Outbound identity federation is not enabled on this AWS account. Exactly one stack per "
            "account should own it: set `account: {manage: true}` in that stack's config (or run "
            "`aws iam enable-outbound-web-identity-federation` once), then preview again."
        )
        try:
            result = aws.iam.get_outbound_web_identity_federation(opts=pulumi.InvokeOptions(parent=self))
        except Exception as error:  # noqa: BLE001 - the provider's errors have no narrower type
            if is_federation_disabled(str(error)):
                if required:
                    raise FederationDisabledError(f"AccountFederation '{name}': {how_to_fix}") from error
                return None
            raise FederationLookupError(
                f"AccountFederation '{name}': could not read the account's outbound identity federation "
                f"issuer: {error}. The deployer needs iam:GetOutboundWebIdentityFederationInfo to tell "
                "whether federation is on."
            ) from error
        if not result.issuer_identifier:
            if required:
                raise FederationDisabledError(f"AccountFederation '{name}': {how_to_fix}")
            return None
        return result.issuer_identifier


def is_federation_disabled(provider_error: str) -> bool:
    """Does this failed issuer lookup mean "federation is off" (rather than "you may not look")?"""
    text = provider_error.lower()
    if "accessdenied" in text or "not authorized" in text:
        return False
    return any(sign in text for sign in ("featuredisabled", "couldn't find resource", "not enabled", "is disabled"))


# ---------------------------------------------------------------------------------------------
# FederatedRole
# ---------------------------------------------------------------------------------------------

class FederatedRoleArgs(TypedDict):
    """A role whose workloads may mint outbound tokens, and the limits on those tokens."""

    audiences: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Every audience the role may request (1-10, each 1-1000 characters), e.g. api://AzureADTokenExchange."""
    max_duration_seconds: NotRequired[pulumi.Input[int]]
    """Longest token lifetime the role may request (60-3600). Default 300."""
    signing_algorithms: NotRequired[pulumi.Input[Sequence[pulumi.Input[SigningAlgorithm]]]]
    """Algorithms the role may request. Default [RS256] (Entra only accepts RS256)."""
    allowed_tag_keys: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Request-tag keys the role may put into its tokens (grants sts:TagGetWebIdentityToken)."""
    trusted_services: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """AWS services that assume the new role, e.g. ec2.amazonaws.com, lambda.amazonaws.com."""
    assume_role_policy: NotRequired[pulumi.Input[str]]
    """A custom trust policy (JSON) for the new role, instead of trusted_services."""
    role_name: NotRequired[pulumi.Input[str]]
    """Physical name of the new role. Default: generated from the component name."""
    path: NotRequired[pulumi.Input[str]]
    """IAM path of the new role, e.g. /workloads/. Default /."""
    permissions_boundary: NotRequired[pulumi.Input[str]]
    """ARN of a managed policy that bounds the new role's permissions."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags for the new role (at most 50)."""
    create_instance_profile: NotRequired[bool]
    """Also create an EC2 instance profile for the new role."""
    existing_role_arn: NotRequired[pulumi.Input[str]]
    """Use this existing role (e.g. an IAM Identity Center role) instead of creating one."""
    attach_token_policy: NotRequired[bool]
    """With existing_role_arn: attach the token policy to that role by name. Default false."""


class FederatedRole(ValidatedComponent):
    """An IAM role whose workloads may mint outbound identity tokens, with a least-privilege token policy.

    Creates the role (trusted by AWS services or a custom trust policy) or adopts an existing one
    by ARN. The ``subject`` output is the role ARN exactly as it appears in the token's ``sub``
    claim, path included; pass it to the Azure and GCP trusts rather than rebuilding it.

    Example::

        role = FederatedRole("reports", {
            "trusted_services": ["ec2.amazonaws.com"],
            "audiences": ["api://AzureADTokenExchange"],
            "path": "/workloads/",
            "create_instance_profile": True,
        })
    """

    role_arn: pulumi.Output[str]
    """ARN of the role."""
    role_name: pulumi.Output[str]
    """Name of the role (without its path)."""
    subject: pulumi.Output[str]
    """The token's ``sub`` claim for this role: its ARN, path included."""
    token_policy: pulumi.Output[str]
    """The token policy (JSON). For Identity Center roles, paste it into the permission set."""
    instance_profile_name: pulumi.Output[Optional[str]]
    """Name of the EC2 instance profile, when one was asked for."""
    signing_algorithms: pulumi.Output[Sequence[str]]
    """The signing algorithms the role may request (for relying parties that need RS256)."""

    def __init__(self, name: str, args: FederatedRoleArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        super().__init__(name, args, lambda plain: aws_rules.check_federated_role_args(plain) + (
            aws_rules.check_role_physical_names(name, plain, "name", "give role_name, or the component a shorter name")
        ), opts)

        algorithms = args.get("signing_algorithms", list(aws_rules.DEFAULT_SIGNING_ALGORITHMS))
        duration = args.get("max_duration_seconds", aws_rules.DEFAULT_DURATION_SECONDS)
        tag_keys = args.get("allowed_tag_keys") or []

        def build_policy(values: list[Any]) -> str:
            audiences, max_duration, algs, keys = values
            check_resolved(self.label, (
                aws_rules.check_audiences(audiences, "audiences")
                + aws_rules.check_duration_seconds(max_duration, "max_duration_seconds")
                + aws_rules.check_signing_algorithms(algs, "signing_algorithms")
                + (aws_rules.check_tag_keys(keys, "allowed_tag_keys") if keys else [])
            ), self)
            return json.dumps(token_policy_document(audiences, max_duration, algs, keys), indent=2)

        self.token_policy = pulumi.Output.all(args["audiences"], duration, algorithms, tag_keys).apply(build_policy)
        self.signing_algorithms = pulumi.Output.from_input(algorithms).apply(aws_rules.signing_algorithm_names)
        child = pulumi.ResourceOptions(parent=self)

        if args.get("existing_role_arn"):
            self.role_arn = checked(args["existing_role_arn"], aws_rules.check_role_arn, "existing_role_arn",
                                    self.label, self)
            self.role_name = self.role_arn.apply(lambda arn: aws_rules.parse_role_arn(arn).name)
            self.instance_profile_name = pulumi.Output.from_input(None)
            if args.get("attach_token_policy"):
                aws.iam.RolePolicy(f"{name}-token-policy", role=self.role_name, policy=self.token_policy, opts=child)
        else:
            trust = args.get("assume_role_policy")
            if trust is None:
                trust = pulumi.Output.from_input(args["trusted_services"]).apply(
                    lambda services: json.dumps(service_trust_policy_document(services), indent=2)
                )
            role = aws.iam.Role(
                f"{name}-role",
                name=args.get("role_name"),
                path=args.get("path", "/"),
                assume_role_policy=trust,
                permissions_boundary=args.get("permissions_boundary"),
                tags=args.get("tags"),
                description=f"Mints outbound web identity tokens ({name})",
                opts=child,
            )
            aws.iam.RolePolicy(f"{name}-token-policy", role=role.name, policy=self.token_policy, opts=child)
            self.role_arn = role.arn
            self.role_name = role.name
            if args.get("create_instance_profile"):
                profile = aws.iam.InstanceProfile(f"{name}-instance-profile", role=role.name, opts=child)
                self.instance_profile_name = profile.name
            else:
                self.instance_profile_name = pulumi.Output.from_input(None)

        # The subject IS the ARN, never rebuilt from name and path.
        self.subject = self.role_arn
        self.register_outputs({
            "role_arn": self.role_arn,
            "role_name": self.role_name,
            "subject": self.subject,
            "token_policy": self.token_policy,
            "instance_profile_name": self.instance_profile_name,
            "signing_algorithms": self.signing_algorithms,
        })


__all__ = [
    "AccountFederation", "AccountFederationArgs", "FederatedRole", "FederatedRoleArgs",
    "FederationDisabledError", "SigningAlgorithm", "ValidationError",
    "token_policy_document", "service_trust_policy_document",
]
