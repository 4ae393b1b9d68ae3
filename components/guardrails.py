"""The organisation's guardrails for outbound federation: one service control policy, attached.

Run it in the organisation's management account (or a delegated administrator for policies):
SCPs apply to the member accounts under the targets, never to the management account itself.

Example::

    OrganizationGuardrails("federation", {
        "targets": ["r-ab12"],                                        # the whole organisation
        "switch_principal_arns": ["arn:aws:iam::*:role/federation-deployer"],
        "allowed_audiences": ["api://AzureADTokenExchange", "https://api.example.com"],
        "max_duration_seconds": 900,
    })
"""

# No `from __future__ import annotations` here: the schema analyzer (components/schema.py) reads these
# annotations as objects, and string annotations break it (docs/maintainers.md).
from typing import Mapping, NotRequired, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from .aws import SigningAlgorithm
from .checks import ValidatedComponent
from .rules.facts import SERVICE_CONTROL_POLICY
from .rules.guardrails import check_guardrails_args, guardrail_document
from .rules.policy_documents import minified


class OrganizationGuardrailsArgs(TypedDict):
    """What the organisation allows of outbound federation, and where the rule applies."""

    targets: Sequence[str]
    """Where to attach the policy: the root (``r-...``), organizational units (``ou-...-...``) or account
    IDs. Known at preview (they name the attachments)."""
    switch_principal_arns: Sequence[str]
    """The roles that may still switch federation on or off in an account (``aws:PrincipalArn``,
    ``ArnNotLike``): ``arn:aws:iam::*:role/federation-deployer`` for the same deployer role in every
    account. Everyone else, vendors' installers included, is denied."""
    allowed_audiences: Sequence[str]
    """Every audience a token in the organisation may carry; a request naming any other is denied."""
    max_duration_seconds: NotRequired[int]
    """Longest token lifetime anyone in the organisation may request (60-3600). Default 900."""
    allowed_signing_algorithms: NotRequired[Sequence[SigningAlgorithm]]
    """If set, the only signing algorithms anyone may request. Default: not restricted."""
    policy_name: NotRequired[str]
    """The SCP's name (1-128 characters). Default: generated from the component name."""
    description: NotRequired[str]
    """The SCP's description (at most 512 characters)."""
    tags: NotRequired[Mapping[str, str]]
    """Tags for the SCP."""


class OrganizationGuardrails(ValidatedComponent):
    """A service control policy that keeps every member account's outbound federation in bounds.

    It denies flipping the account-wide switch to anyone but the deployer roles, and denies tokens
    for audiences outside the organisation's allow-list or lifetimes above its cap. Every statement
    is a Deny: it narrows what accounts' own policies allow and grants nothing.

    Example::

        guardrails = OrganizationGuardrails("federation", {
            "targets": ["ou-ab12-cdef3456"],
            "switch_principal_arns": ["arn:aws:iam::*:role/federation-deployer"],
            "allowed_audiences": ["api://AzureADTokenExchange"],
        })
        pulumi.export("scpId", guardrails.policy_id)
    """

    policy_id: pulumi.Output[str]
    """The SCP's ID (``p-...``)."""
    policy_arn: pulumi.Output[str]
    """The SCP's ARN."""
    document: pulumi.Output[str]
    """The policy document, as sent to Organizations (compact JSON)."""
    attachment_targets: pulumi.Output[Sequence[str]]
    """The roots, OUs and accounts it is attached to."""

    def __init__(self, name: str, args: OrganizationGuardrailsArgs,
                 opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        super().__init__(name, args, check_guardrails_args, opts)
        document = minified(guardrail_document(args))
        child = pulumi.ResourceOptions(parent=self)
        policy = aws.organizations.Policy(
            f"{name}-policy",
            content=document,
            type=SERVICE_CONTROL_POLICY,
            name=args.get("policy_name"),
            description=args.get("description") or "Outbound identity federation guardrails",
            tags=args.get("tags"),
            opts=child,
        )
        for target in args["targets"]:
            aws.organizations.PolicyAttachment(
                f"{name}-attachment-{target}", policy_id=policy.id, target_id=target, opts=child)
        self.policy_id = policy.id
        self.policy_arn = policy.arn
        self.document = pulumi.Output.from_input(document)
        self.attachment_targets = pulumi.Output.from_input(list(args["targets"]))
        self.register_outputs({"policy_id": self.policy_id, "policy_arn": self.policy_arn,
                               "document": self.document, "attachment_targets": self.attachment_targets})


__all__ = ["OrganizationGuardrails", "OrganizationGuardrailsArgs"]
