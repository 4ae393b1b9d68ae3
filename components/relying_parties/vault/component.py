"""The Vault side: a JWT auth mount that trusts the AWS account issuer, and one role per trusted AWS role
(:class:`VaultJwtTrust`). Works with HashiCorp Vault and OpenBao alike.

The mount (``vault.jwt.AuthBackend``, or an existing mount by path) discovers the issuer's keys
from the issuer itself and binds it as ``bound_issuer`` exactly (without it Vault checks no
``iss``); it accepts RS256 and ES384 only. Each role is a ``jwt`` role (pulumi-vault's default is
``oidc``, which refuses every JWT login) whose user claim is ``sub``, bound to one audience, to the
role ARN with its path (``bound_subject``) and, through JSON pointers into AWS's nested claims, to
the account (``aws_account``) and optionally the organization and OU path. Its tokens get the
configured policies for a short TTL.

Example::

    account = AccountFederation("acct", {})
    audience = VaultJwtTrust.audience_for("exporter", "https://vault.example.com:8200")
    role = FederatedRole("exporter", {"trusted_services": ["lambda.amazonaws.com"], "audiences": [audience]})
    trust = VaultJwtTrust("exporter", {
        "address": "https://vault.example.com:8200",
        "issuer": account.issuer,
        "aws_account_id": account.account_id,
        "subjects": {"exporter": role.subject},
        "policies": ["exporter-read"],
    })
"""

# No `from __future__ import annotations` here: the schema analyzer (components/schema.py) reads these
# annotations as objects, and string annotations break it (docs/maintainers.md).
from enum import Enum
from typing import Any, Mapping, NotRequired, Optional, Sequence, TypedDict

import pulumi
import pulumi_vault as vault

from ...checks import ValidatedComponent, check_resolved, checked
from ...rules import ValidationError, raise_for
from ...rules import aws as aws_rules
from . import facts
from . import rules as vault_rules


class BoundClaimsType(str, Enum):
    """How Vault compares a role's bound claims with the token's claims."""

    STRING = "string"
    """Exactly. The default, and the only safe choice for the account pin."""
    GLOB = "glob"
    """'*' in an allowed value matches any run of characters (e.g. every OU under a path); nothing else is special."""


class VaultJwtTrustArgs(TypedDict):
    """A Vault (or OpenBao) JWT auth mount trusting an AWS account issuer, with one role per trusted AWS role."""

    address: str
    """The Vault address the workloads log in to, e.g. https://vault.example.com:8200. With the mount it makes the
    default audience, and ``fedctl exchange vault`` logs in there."""
    issuer: pulumi.Input[str]
    """The AWS account issuer, exactly as in the token's iss (AccountFederation.issuer): the mount's discovery URL
    and its bound_issuer."""
    aws_account_id: pulumi.Input[str]
    """The 12-digit AWS account the issuer belongs to (AccountFederation.account_id); every role pins it."""
    subjects: Mapping[str, pulumi.Input[str]]
    """Vault role name -> IAM role ARN (FederatedRole.subject, path included). The names must be plain (letters,
    digits, '_', '-', '.'); the ARNs may be Outputs and must belong to aws_account_id."""
    policies: Sequence[pulumi.Input[str]]
    """The Vault policies each role's tokens get (besides Vault's default policy). Never root."""
    mount_path: NotRequired[str]
    """The path to mount the JWT auth method at (no leading or trailing slash). Default: aws-<name>."""
    existing_mount_path: NotRequired[str]
    """Use this existing JWT auth mount instead of creating one. It must already bind the issuer (bound_issuer set
    to it exactly) and accept RS256 and ES384: the roles are added to it, its config is not touched."""
    audience: NotRequired[str]
    """The audience the roles bind and the AWS role pins. Default: <address>/v1/auth/<mount path>."""
    token_ttl: NotRequired[int]
    """Seconds a Vault token lives (60 to 2764800). Default 900."""
    token_max_ttl: NotRequired[int]
    """Seconds a Vault token may be renewed up to. Default: token_ttl, so workloads log in again with a fresh AWS
    token instead of renewing."""
    org_id: NotRequired[str]
    """Also pin the AWS Organizations ID (AWS's nested org_id claim), e.g. o-a1b2c3d4e5."""
    ou_paths: NotRequired[Sequence[str]]
    """Also pin the OU path (AWS's nested ou_path claim): any one of these, e.g. o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/.
    A trailing * needs bound_claims_type glob."""
    bound_claims: NotRequired[Mapping[str, Sequence[str]]]
    """More pins: a JSON pointer with escaped segments (e.g. /https:~1~1sts.amazonaws.com~1/principal_tags/Team) ->
    the allowed values (any one). Not sub, aws_account, org_id or ou_path: the component pins those."""
    bound_claims_type: NotRequired[BoundClaimsType]
    """string (exact, the default) or glob ('*' in values is a wildcard). Applies to every bound claim."""
    claim_mappings: NotRequired[Mapping[str, str]]
    """More claims to copy into the token's metadata: claim (JSON pointer) -> metadata key. Scalar claims only
    (not ou_path, principal_tags, request_tags or aud). aws_account and source_region are always mapped."""


class VaultJwtTrust(ValidatedComponent):
    """A JWT auth mount trusting the AWS account issuer, and one role per trusted AWS role.

    Creates the mount (``<name>-mount``: discovery from the issuer, ``bound_issuer`` the issuer, RS256
    and ES384) unless ``existing_mount_path`` is given, then one ``<name>-role-<role name>`` per
    subject. The AWS role must request (and its token policy pin) the ``audience`` output;
    :meth:`audience_for` gives the same value before the trust exists.

    Example::

        trust = VaultJwtTrust("exporter", {
            "address": "https://vault.example.com:8200",
            "issuer": account.issuer,
            "aws_account_id": account.account_id,
            "subjects": {"dev-exporter": role.subject},
            "policies": ["exporter-read"],
            "org_id": "o-a1b2c3d4e5",
        })
        # on AWS: fedctl exchange vault --workload exporter, or vault_token(address, "dev-exporter", supplier, ...)
    """

    audience: pulumi.Output[str]
    """The aud the AWS token must carry: put it in the role's audiences and request it."""
    address: pulumi.Output[str]
    """The Vault address the workloads log in to."""
    mount_path: pulumi.Output[str]
    """The JWT auth mount the roles live on; workloads log in at <address>/v1/auth/<mount_path>/login."""
    accessor: pulumi.Output[str]
    """The mount's accessor (for identity templating in policies); empty for an existing mount."""
    issuer: pulumi.Output[str]
    """The issuer the mount binds."""
    existing_mount: pulumi.Output[bool]
    """Whether the mount was there already (its config is then not managed here)."""
    role_names: pulumi.Output[Sequence[str]]
    """The Vault role of each trusted AWS role, in the order of ``subjects``."""

    def __init__(self, name: str, args: VaultJwtTrustArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        super().__init__(name, args, vault_rules.check_vault_trust_args, opts)
        self._name = name
        mount = vault_rules.mount_path_of(name, args)
        existing = bool(args.get("existing_mount_path"))
        audience = vault_rules.vault_audience(args["address"], mount, args.get("audience"))
        account = checked(args["aws_account_id"], aws_rules.check_account_id, "aws_account_id", self.label, self)
        issuer = checked(args["issuer"], aws_rules.check_issuer, "issuer", self.label, self)
        if existing:
            backend, accessor = pulumi.Output.from_input(mount), pulumi.Output.from_input("")
        else:
            mount_resource = self._mount(mount, issuer)
            backend, accessor = mount_resource.path, mount_resource.accessor
        roles = self._roles(args, backend, audience, account)

        self.audience = pulumi.Output.from_input(audience)
        self.address = pulumi.Output.from_input(args["address"])
        self.mount_path = backend
        self.accessor = accessor
        self.issuer = issuer
        self.existing_mount = pulumi.Output.from_input(existing)
        self.role_names = pulumi.Output.all(*[role.role_name for role in roles])
        self.register_outputs({
            "audience": self.audience, "address": self.address, "mount_path": self.mount_path,
            "accessor": self.accessor, "issuer": self.issuer, "existing_mount": self.existing_mount,
            "role_names": self.role_names,
        })

    def _mount(self, path: str, issuer: pulumi.Output[str]) -> Any:
        return vault.jwt.AuthBackend(
            f"{self._name}-mount",
            path=path,
            type="jwt",
            description=f"AWS roles trusted through outbound identity federation ({self._name})",
            # Keys discovered from the issuer itself; the issuer bound exactly, or Vault checks no iss.
            oidc_discovery_url=issuer,
            bound_issuer=issuer,
            jwt_supported_algs=list(facts.ACCEPTED_ALGORITHMS),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _roles(self, args: Mapping[str, Any], backend: pulumi.Output[str], audience: str,
               account: pulumi.Output[str]) -> list[Any]:
        extra = dict(args.get("bound_claims") or {})
        org_id, ou_paths = args.get("org_id"), args.get("ou_paths")
        # Whether a claim allows several values is known now (the account is one value whatever it is).
        _, disable_parsing = vault_rules.provider_bound_claims(
            vault_rules.role_bound_claims("0" * 12, org_id, ou_paths, extra))
        bound_claims = account.apply(lambda account_id: vault_rules.provider_bound_claims(
            vault_rules.role_bound_claims(account_id, org_id, ou_paths, extra))[0])
        ttl, max_ttl = vault_rules.token_ttls(args)
        roles = []
        for label, arn in args["subjects"].items():
            subject = pulumi.Output.all(account, arn).apply(
                lambda values, label=label: self._checked_subject(values[0], values[1], label))
            roles.append(vault.jwt.AuthBackendRole(
                f"{self._name}-role-{label}",
                backend=backend,
                role_name=label,
                role_type=facts.ROLE_TYPE_JWT,
                user_claim=facts.USER_CLAIM,
                bound_audiences=[audience],
                bound_subject=subject,
                bound_claims_type=str(getattr(args.get("bound_claims_type"), "value", None)
                                      or args.get("bound_claims_type") or BoundClaimsType.STRING.value),
                bound_claims=bound_claims,
                disable_bound_claims_parsing=disable_parsing,
                claim_mappings=vault_rules.claim_mappings(args.get("claim_mappings")),
                token_policies=list(args["policies"]),
                token_ttl=ttl,
                token_max_ttl=max_ttl,
                opts=pulumi.ResourceOptions(parent=self),
            ))
        return roles

    def _checked_subject(self, account_id: str, arn: str, label: str) -> str:
        check_resolved(self.label, aws_rules.check_subject_account(arn, account_id, f"subjects.{label}"), self)
        return arn

    @staticmethod
    def audience_for(name: str, address: str, mount_path: Optional[str] = None,
                     existing_mount_path: Optional[str] = None, audience: Optional[str] = None) -> str:
        """The ``audience`` a trust named ``name`` with these settings will have, before it exists.

        The AWS role must pin the audience in its token policy, and the trust needs the role's ARN, so
        the stack asks here first. Give the same arguments as the trust.
        """
        settings = {"address": address, "mount_path": mount_path, "existing_mount_path": existing_mount_path,
                    "audience": audience}
        checks = {"address": vault_rules.check_address, "mount_path": vault_rules.check_mount_path,
                  "existing_mount_path": vault_rules.check_mount_path, "audience": vault_rules.check_audience}
        raise_for(f"VaultJwtTrust '{name}'", [v for key, check in checks.items() if settings[key] is not None
                                              for v in check(settings[key], key)])
        return vault_rules.vault_audience(address, vault_rules.mount_path_of(name, settings), audience)


# ---------------------------------------------------------------------------------------------
# The stack's hooks (components.relying_parties.base.RelyingPartyKind.audience / .deploy)
# ---------------------------------------------------------------------------------------------

def stack_audience(name: str, settings: Mapping[str, Any], opts: Any = None) -> str:
    """The audience the trusted roles must request: known from the settings alone, no lookup."""
    return VaultJwtTrust.audience_for(name, settings["address"], settings.get("mount_path"),
                                      settings.get("existing_mount_path"), settings.get("audience"))


def deploy(deployment: Any) -> dict:
    """A VaultJwtTrust for one relying party of the stack; returns what the stack exports of it."""
    trust = VaultJwtTrust(deployment.name, {
        **deployment.settings, "issuer": deployment.issuer, "aws_account_id": deployment.account_id,
        "subjects": dict(deployment.subjects)}, deployment.opts)
    # The stack names each workload's Vault role after its credential name, in the order of the workloads.
    return {"audience": trust.audience, "address": trust.address, "mountPath": trust.mount_path,
            "roles": dict(zip(deployment.workloads, deployment.subjects))}


__all__ = ["BoundClaimsType", "VaultJwtTrust", "VaultJwtTrustArgs", "ValidationError"]
