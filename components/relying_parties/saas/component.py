"""The record of a SaaS trust made by hand (:class:`SaasManualTrust`), and the stack's hooks.

OpenAI and Anthropic take AWS tokens through their own consoles and admin APIs; no Pulumi provider
creates that trust. The stack still pins the vendor's audience in the role's token policy, and
exports what the vendor needs. ``SaasManualTrust`` is a Pulumi component with **no child and no
cloud resource**: it checks the values once they resolve and records them as its outputs, which
is how the plan, the trust graph and the rehearsal see a trust that lives outside the program
(they read registrations; the record is the only one such a trust has). It is not offered to
other languages (not in the package schema).

Example::

    record = SaasManualTrust("chat-openai", {"preset": "openai", "issuer": account.issuer,
                                              "aws_account_id": account.account_id,
                                              "subjects": {"chat": role.subject}})
    pulumi.export("openai", {"mappingRules": record.mapping_rules, "manualStep": record.manual_step})
"""

# No `from __future__ import annotations` here, like every component module (docs/maintainers.md).
from typing import Any, Mapping, NotRequired, Optional, TypedDict

import pulumi

from ...checks import ValidatedComponent, check_resolved, checked
from ...rules import ValidationError
from ...rules import aws as aws_rules
from . import rules as saas_rules


class SaasManualTrustArgs(TypedDict):
    """A SaaS trust made by hand: what the vendor must be told."""

    preset: str
    """openai, anthropic or generic."""
    issuer: pulumi.Input[str]
    """The AWS account issuer, exactly as in the token's iss."""
    aws_account_id: pulumi.Input[str]
    """The 12-digit AWS account the issuer belongs to; every trusted role must be its."""
    subjects: Mapping[str, pulumi.Input[str]]
    """Label -> IAM role ARN (path included); each gets its own mapping rule."""
    audience: NotRequired[str]
    """The audience the vendor expects. Default: the preset's documented one. Required for generic."""


class SaasManualTrust(ValidatedComponent):
    """A resource-less record of a trust the user makes by hand in a SaaS console or admin API."""

    audience: pulumi.Output[str]
    """The aud the AWS token must carry (the role pins it)."""
    preset: pulumi.Output[str]
    """The preset: openai, anthropic or generic."""
    issuer: pulumi.Output[str]
    """The issuer to register at the vendor."""
    aws_account_id: pulumi.Output[str]
    """The account the issuer belongs to."""
    subjects: pulumi.Output[Mapping[str, str]]
    """Label -> the role ARN the vendor must match exactly in sub."""
    mapping_rules: pulumi.Output[Mapping[str, Any]]
    """Label -> the rule to paste for that role, in the vendor's terms."""
    manual_step: pulumi.Output[str]
    """What a person must do before the trust works."""

    def __init__(self, name: str, args: SaasManualTrustArgs, opts: Optional[pulumi.ResourceOptions] = None):
        args = dict(args or {})
        super().__init__(name, args, saas_rules.check_saas_args, opts)
        preset = args["preset"]
        audience = saas_rules.token_audience(args)
        issuer = checked(args["issuer"], aws_rules.check_issuer, "issuer", self.label, self)
        account = checked(args["aws_account_id"], aws_rules.check_account_id, "aws_account_id", self.label, self)
        labels = list(args["subjects"])

        def judged(values: list[Any]) -> dict[str, str]:
            account_id, arns = values[0], dict(zip(labels, values[1:]))
            check_resolved(self.label, saas_rules.check_subjects(arns, account_id, "subjects", preset), self)
            return arns

        subjects = pulumi.Output.all(account, *[args["subjects"][label] for label in labels]).apply(judged)
        self.audience = pulumi.Output.from_input(audience)
        self.preset = pulumi.Output.from_input(preset)
        self.issuer = issuer
        self.aws_account_id = account
        self.subjects = subjects
        self.mapping_rules = pulumi.Output.all(account, subjects).apply(
            lambda values: {label: saas_rules.mapping_rule(preset, audience, values[0], arn)
                            for label, arn in values[1].items()})
        self.manual_step = issuer.apply(lambda value: saas_rules.manual_step(preset, value, audience, len(labels)))
        self.register_outputs({"audience": self.audience, "preset": self.preset, "issuer": self.issuer,
                               "aws_account_id": self.aws_account_id, "subjects": self.subjects,
                               "mapping_rules": self.mapping_rules, "manual_step": self.manual_step})


# ---------------------------------------------------------------------------------------------
# The stack's hooks (components.relying_parties.base.RelyingPartyKind.audience / .deploy)
# ---------------------------------------------------------------------------------------------

def stack_audience(name: str, settings: Mapping[str, Any], opts: Any = None) -> str:
    """The audience the trusted roles must request: the preset's, or the one the config gives (checked there)."""
    return saas_rules.token_audience(settings)


def deploy(deployment: Any) -> dict:
    """Record one SaaS party of the stack (no cloud resource); return what the user pastes at the vendor."""
    settings = deployment.settings
    record = SaasManualTrust(deployment.name, {
        **settings, "issuer": deployment.issuer, "aws_account_id": deployment.account_id,
        "subjects": dict(deployment.subjects)}, deployment.opts)
    return {"audience": record.audience, "preset": settings["preset"], "issuer": record.issuer,
            "subjects": record.subjects, "mappingRules": record.mapping_rules, "manualStep": record.manual_step}


__all__ = ["SaasManualTrust", "SaasManualTrustArgs", "ValidationError"]
