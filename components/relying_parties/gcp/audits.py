"""The policy pack's judgement of GCP resources, ours or hand-written.

Pure functions of a resource's properties; the pack turns their errors into mandatory findings and
their warnings into advisory ones (``components.relying_parties.base.Audit``).

Example::

    >>> from components.relying_parties.base import AuditedResource
    >>> member = "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*"
    >>> [v.code for v in provider_and_binding_violations(AuditedResource(
    ...     SA_IAM_MEMBER_TYPE, "b", {"role": "roles/iam.workloadIdentityUser", "member": member}), {})]
    ['gcp.binding.pool-wide']
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping

from ...rules import WARNING, Violation
from ...rules import aws as aws_rules
from ...rules.facts import AWS_CLAIMS
from ..base import Audit, AuditedResource
from .facts import (
    PROJECT_IAM_BINDING_TYPE,
    PROJECT_IAM_MEMBER_TYPE,
    PROVIDER_TYPE,
    SA_IAM_BINDING_TYPE,
    SA_IAM_MEMBER_TYPE,
    WORKLOAD_IDENTITY_USER,
)

_PINNED_ACCOUNT = re.compile(r"""aws_account['"]?\]?\s*==\s*['"]\d{12}['"]""")
_PINNED_ROLES = re.compile(r"""assertion\.sub\s*(==|in)\s*""")
_POOL_WIDE_MEMBER = re.compile(r"^principalSet://iam\.googleapis\.com/projects/[^/]+/locations/global/"
                               r"workloadIdentityPools/[^/]+/\*$")

# IAM grants on service accounts and projects: (type, how to list (where, role, member)).
IAM_GRANTS: dict[str, Callable[[Mapping[str, Any]], Iterable[tuple[str, Any, Any]]]] = {
    SA_IAM_MEMBER_TYPE: lambda p: [("member", p.get("role"), p.get("member"))],
    PROJECT_IAM_MEMBER_TYPE: lambda p: [("member", p.get("role"), p.get("member"))],
    SA_IAM_BINDING_TYPE: lambda p: [(f"members[{i}]", p.get("role"), m) for i, m in enumerate(p.get("members") or [])],
    PROJECT_IAM_BINDING_TYPE: lambda p: [(f"members[{i}]", p.get("role"), m) for i, m in enumerate(p.get("members") or [])],
}


def check_condition_pins_account(condition: Any, field: str) -> list[Violation]:
    """A provider trusting an AWS issuer must pin the account in its attribute condition.

    Every principal of an account can mint tokens from the same issuer; without a condition on
    the nested ``aws_account`` claim and on the roles, any of them gets into the pool.
    """
    if not isinstance(condition, str) or not condition.strip():
        return [Violation(
            field, condition,
            "is missing: without an attribute condition any principal of any account behind this issuer gets in; "
            f"pin assertion['{AWS_CLAIMS}'].aws_account and the trusted role ARNs",
            code="gcp.condition.missing",
        )]
    if AWS_CLAIMS not in condition or not _PINNED_ACCOUNT.search(condition):
        return [Violation(
            field, condition,
            f"does not pin the AWS account: compare assertion['{AWS_CLAIMS}'].aws_account to the 12-digit account ID",
            code="gcp.condition.account-unpinned",
        )]
    if not _PINNED_ROLES.search(condition):
        return [Violation(
            field, condition,
            "pins the account but not the roles: any principal of the account that can mint a token for this "
            "audience gets in; add assertion.sub in [<role ARNs>]",
            WARNING, code="gcp.condition.roles-unpinned",
        )]
    return []


def check_impersonation_member(role: Any, member: Any, field: str) -> list[Violation]:
    """``roles/iam.workloadIdentityUser`` goes to exact principals, never to a whole pool."""
    if role == WORKLOAD_IDENTITY_USER and isinstance(member, str) and _POOL_WIDE_MEMBER.match(member):
        return [Violation(
            field, member,
            f"grants {WORKLOAD_IDENTITY_USER} to every identity of the pool: grant it to each trusted "
            "principal (principal://.../subject/<google.subject>) instead",
            code="gcp.binding.pool-wide",
        )]
    return []


def provider_and_binding_violations(resource: AuditedResource, config: Mapping[str, Any]) -> list[Violation]:
    props, name = resource.props, resource.name
    found: list[Violation] = []
    if resource.type == PROVIDER_TYPE:
        oidc = props.get("oidc") or {}
        issuer = oidc.get("issuerUri")
        if not issuer:
            return []  # not an OIDC provider (AWS SigV4, SAML, X.509): not ours to judge
        found += [v for v in aws_rules.check_issuer(issuer, f"{name}.oidc.issuerUri") if v.severity == WARNING]
        found += check_condition_pins_account(props.get("attributeCondition"), f"{name}.attributeCondition")
        allowed = (config.get("allowedAudiences") or {}).get("gcp")
        for audience in oidc.get("allowedAudiences") or []:
            if allowed is not None and audience not in allowed:
                found.append(Violation(f"{name}.oidc.allowedAudiences", audience, "is not an allowed audience for GCP",
                                       code="gcp.allowed-audience.not-allowed"))
    grants = IAM_GRANTS.get(resource.type)
    if grants is not None:
        for where, role, member in grants(props):
            found += check_impersonation_member(role, member, f"{name}.{where}")
    return found


AUDITS = (
    Audit(
        name="gcp-trust-pinned",
        description="GCP providers on an AWS issuer pin the account in their attribute condition, and "
                    "roles/iam.workloadIdentityUser never goes to a whole pool.",
        advice="gcp-advice",
        advice_description="GCP settings worth a reviewer's look: conditions that pin the account but not the "
                           "roles, issuers that do not look like AWS account issuers.",
        check=provider_and_binding_violations,
    ),
)
JUDGED_TYPES = (PROVIDER_TYPE, *IAM_GRANTS)
