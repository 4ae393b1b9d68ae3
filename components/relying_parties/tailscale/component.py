"""The Tailscale side: one federated identity per trusted AWS role (:class:`TailscaleFederatedTrust`).

Each identity trusts the account issuer exactly, the role by its exact ARN (or, when the user asks
for one, a pattern that pins the account and ``role/``), and an audience known at preview, so the
role's token policy can pin it before the identity exists. Its resource ID is the client ID the
workload presents with its AWS token at Tailscale's token exchange (``fedctl exchange tailscale``).

Example::

    account = AccountFederation("acct", {})
    audience = TailscaleFederatedTrust.audience_for("ci")
    role = FederatedRole("ci", {"trusted_services": ["codebuild.amazonaws.com"], "audiences": [audience]})
    trust = TailscaleFederatedTrust("ci", {
        "issuer": account.issuer,
        "aws_account_id": account.account_id,
        "subjects": {"ci": role.subject},
        "scopes": ["devices:core:read"],
    })
    pulumi.export("tailscale_client_ids", trust.client_ids)
"""

# No `from __future__ import annotations` here: the schema analyzer (components/schema.py) reads these
# annotations as objects, and string annotations break it (docs/maintainers.md).
from typing import Any, Mapping, NotRequired, Optional, Sequence, TypedDict

import pulumi
import pulumi_tailscale as tailscale

from ...checks import ValidatedComponent, check_resolved, checked
from ...rules import ValidationError, raise_for
from ...rules import aws as aws_rules
from . import rules as tailscale_rules


class TailscaleFederatedTrustArgs(TypedDict):
    """Tailscale federated identities trusting AWS roles, one per role."""

    issuer: pulumi.Input[str]
    """The AWS account issuer, exactly as in the token's iss (AccountFederation.issuer)."""
    aws_account_id: pulumi.Input[str]
    """The 12-digit AWS account the issuer belongs to (AccountFederation.account_id); every trusted role must be its."""
    subjects: Mapping[str, pulumi.Input[str]]
    """Label -> IAM role ARN (FederatedRole.subject, path included). The labels (1-63 of A-Z a-z 0-9 . _ -) must be
    plain: they name the identities. Each role gets its own identity, matching its exact ARN."""
    scopes: Sequence[str]
    """Tailscale scopes the exchanged access tokens get, e.g. ["devices:core:read"]."""
    tags: NotRequired[Sequence[str]]
    """Tags (tag:<name>) the tokens may give devices and keys. Required when the scopes include devices:core or auth_keys."""
    audience: NotRequired[str]
    """The audience the token must carry (compared exactly). Default: api.tailscale.com/<component name>. Tailscale's
    own generated audience is not used: it exists only after creation, and the role must pin its audience before."""
    subject_pattern: NotRequired[str]
    """A pattern (``*`` matches any characters) to trust instead of the exact role ARN, for one trusted role only. It must
    pin the account and role/, e.g. arn:aws:iam::123456789012:role/ci-*, and match the trusted role."""
    description: NotRequired[str]
    """The identities' description: at most 50 letters, digits, spaces, - and _ (no ':'). Default: AWS <label>."""


class TailscaleFederatedTrust(ValidatedComponent):
    """Tailscale federated identities (OIDC workload identity federation) trusting AWS roles.

    Creates one ``tailscale.FederatedIdentity`` per trusted role: issuer copied exactly, the role's
    exact ARN as subject (or the pattern asked for), the scopes and tags, and an explicit audience.
    The AWS role must request (and its token policy pin) the ``audience`` output;
    :meth:`audience_for` gives it before the trust exists.

    Example::

        trust = TailscaleFederatedTrust("ci", {
            "issuer": account.issuer, "aws_account_id": account.account_id,
            "subjects": {"ci": role.subject}, "scopes": ["auth_keys"], "tags": ["tag:ci"],
        })
        # on AWS: fedctl exchange tailscale --workload ci  (or the Tailscale client with its client ID)
    """

    audience: pulumi.Output[str]
    """The aud the AWS token must carry. Put it in the role's audiences and request it."""
    client_ids: pulumi.Output[Mapping[str, str]]
    """Label -> the client ID of its federated identity (what the workload presents at the token exchange)."""
    identity_subjects: pulumi.Output[Mapping[str, str]]
    """Label -> the subject its identity matches (the role ARN, or the pattern asked for)."""

    def __init__(self, name: str, args: TailscaleFederatedTrustArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        super().__init__(name, args, tailscale_rules.check_tailscale_trust_args, opts)
        self._name = name
        account = checked(args["aws_account_id"], aws_rules.check_account_id, "aws_account_id", self.label, self)
        issuer = checked(args["issuer"], aws_rules.check_issuer, "issuer", self.label, self)
        audience = tailscale_rules.token_audience(name, args.get("audience"))
        pattern = args.get("subject_pattern")
        identities, subjects = {}, {}
        for label, arn in args["subjects"].items():
            subjects[label] = self._subject(label, arn, account, pattern)
            identities[label] = tailscale.FederatedIdentity(
                f"{name}-{label}",
                # The issuer and audience are compared exactly with the token's: copied, never normalised.
                issuer=issuer,
                subject=subjects[label],
                audience=audience,
                scopes=list(args["scopes"]),
                tags=list(args.get("tags") or []),
                description=args.get("description") or tailscale_rules.default_description(label),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.audience = pulumi.Output.from_input(audience)
        labels = list(identities)
        self.client_ids = pulumi.Output.all(*[identities[label].id for label in labels]).apply(
            lambda ids: dict(zip(labels, ids)))
        self.identity_subjects = pulumi.Output.all(*[subjects[label] for label in labels]).apply(
            lambda values: dict(zip(labels, values)))
        self.register_outputs({"audience": self.audience, "client_ids": self.client_ids,
                               "identity_subjects": self.identity_subjects})

    def _subject(self, label: str, arn: Any, account: pulumi.Output[str], pattern: Optional[str]) -> pulumi.Output[str]:
        """The identity's subject, once the role is known to be the account's (and the pattern to match it)."""
        def judged(values: list[Any]) -> str:
            account_id, role = values
            found = tailscale_rules.check_trusted_role(role, account_id, f"subjects.{label}")
            if pattern and not found:
                found += tailscale_rules.check_subject_pattern(pattern, "subject_pattern", account_id)
                found += tailscale_rules.check_pattern_covers_role(pattern, role, "subject_pattern") if not found else []
            check_resolved(self.label, found, self)
            return tailscale_rules.identity_subject(role, pattern)

        return pulumi.Output.all(account, arn).apply(judged)

    @staticmethod
    def audience_for(name: str, audience: Optional[str] = None) -> str:
        """The ``audience`` a trust named ``name`` will have, before it exists (no lookup needed).

        Example::

            role = FederatedRole("ci", {"trusted_services": [...],
                                        "audiences": [TailscaleFederatedTrust.audience_for("ci")]})
        """
        if audience is not None:
            raise_for(f"TailscaleFederatedTrust '{name}'", tailscale_rules.check_audience(audience, "audience"))
        return tailscale_rules.token_audience(name, audience)


# ---------------------------------------------------------------------------------------------
# The stack's hooks (components.relying_parties.base.RelyingPartyKind.audience / .deploy)
# ---------------------------------------------------------------------------------------------

def stack_audience(name: str, settings: Mapping[str, Any], opts: Any = None) -> str:
    """The audience the trusted role must request: known from the config alone."""
    return TailscaleFederatedTrust.audience_for(name, settings.get("audience"))


def deploy(deployment: Any) -> dict:
    """A TailscaleFederatedTrust for one relying party of the stack; returns what the stack exports of it."""
    trust = TailscaleFederatedTrust(deployment.name, {
        **deployment.settings, "issuer": deployment.issuer, "aws_account_id": deployment.account_id,
        "subjects": dict(deployment.subjects)}, deployment.opts)
    labels = list(deployment.subjects)
    return {"audience": trust.audience,
            "clientId": trust.client_ids.apply(lambda ids: ids[labels[0]] if len(labels) == 1 else None),
            "clientIds": trust.client_ids,
            "identitySubject": trust.identity_subjects.apply(lambda subjects: subjects[labels[0]])}


__all__ = ["TailscaleFederatedTrust", "TailscaleFederatedTrustArgs", "ValidationError"]
