"""The policy pack's judgement of Tailscale federated identities, ours or hand-written.

Pure functions of a resource's properties; errors become mandatory findings of
``tailscale-identities-exact``, warnings advisory ones of ``tailscale-advice``.

On an AWS account issuer: a subject of ``*`` alone, or one that does not pin the account, is
mandatory; a wildcard within one account's roles is advisory. An issuer that does not look like an
AWS account issuer is reported as advisory (the AWS rules are not applied to it). Scopes, tags and
the description are judged as Tailscale would, wherever the issuer.

Example::

    >>> from components.relying_parties.base import AuditedResource
    >>> [v.code for v in identity_violations(AuditedResource(FEDERATED_IDENTITY_TYPE, "ci", {
    ...     "issuer": "https://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws",
    ...     "subject": "*", "scopes": ["devices:core:read"]}), {})]
    ['tailscale.subject.any']
"""

from __future__ import annotations

from typing import Any, Mapping

from ...rules import WARNING, Violation
from ...rules import aws as aws_rules
from ..base import Audit, AuditedResource
from . import rules
from .facts import FEDERATED_IDENTITY_TYPE


def identity_violations(resource: AuditedResource, config: Mapping[str, Any]) -> list[Violation]:
    if resource.type != FEDERATED_IDENTITY_TYPE:
        return []
    props, name = resource.props, resource.name
    found: list[Violation] = []
    issuer = props.get("issuer")
    if isinstance(issuer, str):
        if aws_rules.is_aws_issuer(issuer):
            found += rules.judge_subject(props.get("subject"), f"{name}.subject")
        else:
            found.append(Violation(f"{name}.issuer", issuer, "is not an AWS account issuer (https://<uuid>.tokens.sts."
                                                             "global.api.aws): the AWS rules were not applied to this "
                                                             "identity", WARNING, code="tailscale.issuer.not-aws"))
    if props.get("scopes") is not None:
        found += rules.check_scopes(props.get("scopes"), f"{name}.scopes")
        found += rules.check_tags_for_scopes(props.get("scopes"), props.get("tags"), f"{name}.tags")
    if props.get("tags"):
        found += rules.check_tags(props.get("tags"), f"{name}.tags")
    if props.get("description"):
        found += rules.check_description(props.get("description"), f"{name}.description")
    if props.get("audience") is not None:
        found += [v for v in rules.check_audience(props.get("audience"), f"{name}.audience")]
        allowed = (config.get("allowedAudiences") or {}).get("tailscale")
        if allowed is not None and props.get("audience") not in allowed:
            found.append(Violation(f"{name}.audience", props.get("audience"), "is not an allowed audience for Tailscale",
                                   code="tailscale.audience.not-allowed"))
    found += rules.check_custom_claim_rules(props.get("customClaimRules"), f"{name}.customClaimRules")
    return found


AUDITS = (
    Audit(
        name="tailscale-identities-exact",
        description="Tailscale federated identities on an AWS issuer name their role: no subject of '*' alone, no "
                    "pattern that reaches another account or a principal that is not a role; scopes, tags and "
                    "descriptions Tailscale accepts.",
        advice="tailscale-advice",
        advice_description="Tailscale settings worth a reviewer's look: wildcards within one account, the all scope, "
                           "scopes not known here, issuers that are not AWS account issuers.",
        check=identity_violations,
    ),
)
JUDGED_TYPES = (FEDERATED_IDENTITY_TYPE,)
