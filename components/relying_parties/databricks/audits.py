"""The policy pack's judgement of Databricks federation policies, ours or hand-written.

Pure functions of a resource's properties (``oidcPolicy.issuer``, ``.subject``, ``.subjectClaim``,
``.audiences``, ``servicePrincipalId``, as pulumi-databricks names them on the wire); the pack
turns their errors into mandatory findings and their warnings into advisory ones
(``components.relying_parties.base.Audit``).

Example::

    >>> from components.relying_parties.base import AuditedResource
    >>> [v.code for v in policy_violations(AuditedResource(POLICY_TYPE, "p", {"servicePrincipalId": 1234,
    ...     "oidcPolicy": {"issuer": "https://0f2c0c3e-1a2b-4c5d-8e9f-0a1b2c3d4e5f.tokens.sts.global.api.aws",
    ...                    "subject": "arn:aws:iam::123456789012:role/*", "audiences": ["databricks"]}}), {})]
    ['databricks.subject.wildcard']
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from ...rules import WARNING, Violation
from ...rules import policy_audits
from ...rules.aws import is_aws_issuer
from ..base import Audit, AuditedResource, role_token_policies
from . import rules
from .facts import MAX_POLICIES_PER_SERVICE_PRINCIPAL, POLICY_ID_PATTERN, POLICY_TYPE


def _oidc(resource: AuditedResource) -> Mapping[str, Any]:
    oidc = resource.props.get("oidcPolicy")
    return oidc if isinstance(oidc, Mapping) else {}


def policy_violations(resource: AuditedResource, config: Mapping[str, Any]) -> list[Violation]:
    """One federation policy: exact values, a subject, and for an AWS issuer the AWS rules."""
    if resource.type != POLICY_TYPE:
        return []
    name, props, oidc = resource.name, resource.props, _oidc(resource)
    field = f"{name}.oidcPolicy"
    issuer, subject = oidc.get("issuer"), oidc.get("subject")
    found = rules.check_policy_issuer(issuer, f"{field}.issuer")
    aws = is_aws_issuer(issuer)
    if subject in (None, ""):
        found.append(Violation(
            f"{field}.subject", subject,
            "is required: a service principal policy must name the one workload it trusts (for AWS, the role ARN); "
            "without it nothing matches, or Databricks refuses the policy", code="databricks.subject.missing",
        ))
    elif aws:
        found += rules.check_subject(subject, f"{field}.subject")
    else:
        found += rules.check_exact(subject, f"{field}.subject", "a subject", "databricks.subject")
    if aws:
        found += rules.check_subject_claim(oidc.get("subjectClaim"), f"{field}.subjectClaim")
        if oidc.get("jwksUri") or oidc.get("jwksJson"):
            key = "jwksUri" if oidc.get("jwksUri") else "jwksJson"
            found.append(Violation(
                f"{field}.{key}", oidc.get(key),
                "pins the keys: Databricks then stops reading the account issuer's own keys, and a key AWS adds "
                "later is refused; leave it out", WARNING, code="databricks.policy.pinned-keys",
            ))
    audiences = oidc.get("audiences") or []
    audiences = [audiences] if isinstance(audiences, str) else list(audiences)
    allowed = (config.get("allowedAudiences") or {}).get("databricks")
    for index, audience in enumerate(audiences):
        found += rules.check_audience(audience, f"{field}.audiences[{index}]")
        if allowed is not None and audience not in allowed:
            found.append(Violation(f"{field}.audiences[{index}]", audience, "is not an allowed audience for Databricks",
                                   code="databricks.audience.not-allowed"))
    number = props.get("servicePrincipalId")
    if number is not None:
        found += rules.check_service_principal_id(number, f"{name}.servicePrincipalId")
    if props.get("policyId") is not None and (not isinstance(props["policyId"], str)
                                              or not POLICY_ID_PATTERN.match(props["policyId"])):
        found.append(Violation(f"{name}.policyId", props["policyId"],
                               "must hold only lower-case letters, digits and hyphens (Databricks refuses others)",
                               code="databricks.policy-id.format"))
    return found


def count_violations(resources: Sequence[AuditedResource], config: Mapping[str, Any]) -> list[tuple[str, Violation]]:
    """(policy URN, violation) for each policy past the 20th on one service principal in the stack."""
    by_principal: dict[int, list[AuditedResource]] = {}
    for resource in resources:
        if resource.type == POLICY_TYPE:
            number = rules.service_principal_number(resource.props.get("servicePrincipalId"))
            if number is not None:
                by_principal.setdefault(number, []).append(resource)
    found = []
    for number, policies in by_principal.items():
        for resource in policies[MAX_POLICIES_PER_SERVICE_PRINCIPAL:]:
            found += [(resource.urn, violation) for violation in rules.check_policy_count(
                len(policies), f"{resource.name}.servicePrincipalId", where=f" on service principal {number}")]
    return found


def _roles_trusted_by_databricks(resources: Sequence[AuditedResource]) -> Iterable[tuple[AuditedResource, str, list[str]]]:
    """(policy, role ARN, algorithms the role may request) for every policy whose role is in the stack."""
    for policy in resources:
        if policy.type != POLICY_TYPE:
            continue
        documents = role_token_policies(_oidc(policy).get("subject"), resources) or []
        allowed = sorted({a for d in documents for a in (policy_audits.token_grant_algorithms(d) or [])})
        if allowed:
            yield policy, _oidc(policy).get("subject"), allowed


def algorithm_violations(resources: Sequence[AuditedResource], config: Mapping[str, Any]) -> list[tuple[str, Violation]]:
    """(policy URN, violation) for each role Databricks trusts whose token policy does not allow RS256."""
    return [(policy.urn, violation)
            for policy, arn, algorithms in _roles_trusted_by_databricks(resources)
            for violation in rules.check_rs256_allowed(algorithms, f"role {arn} (trusted by {policy.name})")]


AUDITS = (
    Audit(
        name="databricks-policies-exact",
        description="Databricks federation policies trust an exact issuer, one exact role ARN through sub, and "
                    "exact audiences: no wildcards, no policy without a subject.",
        advice="databricks-advice",
        advice_description="Databricks settings worth a reviewer's look: issuers that are not AWS account issuers, "
                           "policies that pin their keys, long policy IDs.",
        check=policy_violations,
    ),
    Audit(
        name="databricks-policies-per-service-principal",
        description="A Databricks service principal holds at most 20 federation policies.",
        advice="databricks-policies-per-service-principal-advice",
        advice_description="Nothing advisory: the limit of 20 is hard.",
        check_stack=count_violations,
    ),
    Audit(
        name="databricks-trusted-roles-allow-rs256",
        description="A role trusted by Databricks may request RS256 tokens: of what AWS offers, Databricks accepts "
                    "no other algorithm.",
        advice="databricks-trusted-roles-es384-advice",
        advice_description="A role trusted by Databricks may also request ES384: its workloads must ask for RS256 "
                           "for Databricks.",
        check_stack=algorithm_violations,
    ),
)
JUDGED_TYPES = (POLICY_TYPE,)
