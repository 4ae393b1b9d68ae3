"""The policy pack's judgement of Entra and Azure resources, ours or hand-written.

Pure functions of a resource's properties; the pack turns their errors into mandatory findings and
their warnings into advisory ones (``components.relying_parties.base.Audit``).

Example::

    >>> from components.relying_parties.base import AuditedResource
    >>> [v.code for v in credential_violations(AuditedResource(APP_CREDENTIAL_TYPE, "fic", {
    ...     "issuer": "https://x.tokens.sts.global.api.aws", "subject": "arn:aws:iam::123456789012:role/*",
    ...     "audiences": ["api://AzureADTokenExchange"]}), {})][:1]
    ['azure.fic.wildcard']
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from ...rules import Violation
from ...rules import policy_audits
from ...rules.aws import is_aws_issuer
from ..base import Audit, AuditedResource, role_token_policies
from . import rules
from .facts import (
    APP_CREDENTIAL_TYPE,
    CLASSIC_APP_CREDENTIAL_TYPE,
    FLEXIBLE_CREDENTIAL_TYPE,
    IDENTITY_CREDENTIAL_TYPE,
    ROLE_ASSIGNMENT_TYPE,
)

CREDENTIAL_TYPES = (APP_CREDENTIAL_TYPE, IDENTITY_CREDENTIAL_TYPE, CLASSIC_APP_CREDENTIAL_TYPE)
# Where each credential type keeps its audiences: azuread and azure-native say audiences, the
# classic azure provider (azurerm's federated identity credential) says audience.
AUDIENCES_PROPERTY = {APP_CREDENTIAL_TYPE: "audiences", IDENTITY_CREDENTIAL_TYPE: "audiences",
                      CLASSIC_APP_CREDENTIAL_TYPE: "audience"}


def credential_violations(resource: AuditedResource, config: Mapping[str, Any]) -> list[Violation]:
    props, name = resource.props, resource.name
    if resource.type == FLEXIBLE_CREDENTIAL_TYPE:
        return [Violation(
            f"{name}.claimsMatchingExpression", props.get("claimsMatchingExpression"),
            "is a flexible credential: Entra only accepts those for GitHub, GitLab and Terraform Cloud, "
            "never for an AWS account issuer; trust each role with its own exact credential",
            code="azure.flexible-credential",
        )]
    if resource.type == ROLE_ASSIGNMENT_TYPE:
        return rules.check_role(str(props.get("roleDefinitionId") or ""), f"{name}.roleDefinitionId")
    if resource.type not in CREDENTIAL_TYPES:
        return []
    key = AUDIENCES_PROPERTY[resource.type]
    audiences = props.get(key) or []
    audiences = [audiences] if isinstance(audiences, str) else list(audiences)
    issuer = props.get("issuer")
    found = rules.check_fic_audience(audiences, f"{name}.{key}")
    if not is_aws_issuer(issuer):
        # Another issuer's credential (GitHub Actions, say): our AWS rules do not apply to it, and a
        # subject that is not a role ARN is right there; only Entra's own exact-match rules do.
        return found + rules.check_exact_match(issuer, f"{name}.issuer", "an issuer") + \
            rules.check_exact_match(props.get("subject"), f"{name}.subject", "a subject")
    found += rules.check_fic_issuer(issuer, f"{name}.issuer")
    found += rules.check_fic_subject(props.get("subject"), f"{name}.subject")
    allowed = (config.get("allowedAudiences") or {}).get("azure")
    for audience in audiences:
        if allowed is not None and audience not in allowed:
            found.append(Violation(f"{name}.{key}", audience, "is not an allowed audience for Azure",
                                   code="azure.fic-audience.not-allowed"))
    return found


def _roles_trusted_by_entra(resources: Sequence[AuditedResource]) -> Iterable[tuple[AuditedResource, str, list[str]]]:
    """(credential, role ARN, algorithms the role may request) for every credential whose role is here."""
    for credential in resources:
        if credential.type not in CREDENTIAL_TYPES:
            continue
        documents = role_token_policies(credential.props.get("subject"), resources) or []
        allowed = sorted({a for d in documents for a in (policy_audits.token_grant_algorithms(d) or [])})
        if allowed:
            yield credential, credential.props.get("subject"), allowed


def algorithm_violations(resources: Sequence[AuditedResource], config: Mapping[str, Any]) -> list[tuple[str, Violation]]:
    """(credential URN, violation) for each role Entra trusts whose token policy does not fit Entra."""
    return [(credential.urn, violation)
            for credential, arn, algorithms in _roles_trusted_by_entra(resources)
            for violation in rules.check_rs256_allowed(algorithms, f"role {arn} (trusted by {credential.name})")]


AUDITS = (
    Audit(
        name="azure-credentials-exact",
        description="Azure federated credentials trust exactly one audience, an exact issuer and an exact role "
                    "ARN: no wildcards, no flexible credentials.",
        advice="azure-advice",
        advice_description="Azure settings worth a reviewer's look: issuers that do not look like AWS account "
                           "issuers, role assignments that can grant more roles.",
        check=credential_violations,
    ),
    Audit(
        name="azure-trusted-roles-allow-rs256",
        description="A role trusted by Azure may request RS256 tokens: Entra accepts no other algorithm.",
        advice="azure-trusted-roles-es384-advice",
        advice_description="A role trusted by Azure may also request ES384: its workloads must ask for RS256 "
                           "for Azure.",
        check_stack=algorithm_violations,
    ),
)
JUDGED_TYPES = (*CREDENTIAL_TYPES, FLEXIBLE_CREDENTIAL_TYPE, ROLE_ASSIGNMENT_TYPE)
