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

import json
import re
from typing import Any, Callable, Iterable, Mapping

from ...rules import WARNING, Violation
from ...rules import aws as aws_rules
from ...rules.cel_text import pins_on_every_path, split_top_level, unwrap
from ...rules.facts import AWS_CLAIMS
from ..base import Audit, AuditedResource
from .facts import (
    PROJECT_IAM_BINDING_TYPE,
    PROJECT_IAM_MEMBER_TYPE,
    PROJECT_IAM_POLICY_TYPE,
    PROVIDER_TYPE,
    SA_IAM_BINDING_TYPE,
    SA_IAM_MEMBER_TYPE,
    SA_IAM_POLICY_TYPE,
)

_PINNED_ACCOUNT = re.compile(r"""aws_account['"]?\]?\s*==\s*['"]\d{12}['"]|aws_account['"]?\]?\s*in\s*\[\s*['"]\d{12}""")
_PINNED_SUB = re.compile(r"""assertion\.sub\s*(==|in)\s*|assertion\.sub\.startsWith\(\s*['"]arn:aws[a-z-]*:iam::\d{12}:""")
_PINNED_ROLES = re.compile(r"""assertion\.sub\s*(==|in)\s*""")
_POOL = r"principalSet://iam\.googleapis\.com/projects/[^/]+/locations/global/workloadIdentityPools/[^/]+"
_POOL_WIDE_MEMBER = re.compile(f"^{_POOL}/\\*$")
_ACCOUNT_WIDE_MEMBER = re.compile(f"^{_POOL}/attribute\\.aws_account/\\d{{12}}$")

# IAM grants on service accounts and projects: (type, how to list (where, role, member)).
IAM_GRANTS: dict[str, Callable[[Mapping[str, Any]], Iterable[tuple[str, Any, Any]]]] = {
    SA_IAM_MEMBER_TYPE: lambda p: [("member", p.get("role"), p.get("member"))],
    PROJECT_IAM_MEMBER_TYPE: lambda p: [("member", p.get("role"), p.get("member"))],
    SA_IAM_BINDING_TYPE: lambda p: [(f"members[{i}]", p.get("role"), m) for i, m in enumerate(p.get("members") or [])],
    PROJECT_IAM_BINDING_TYPE: lambda p: [(f"members[{i}]", p.get("role"), m) for i, m in enumerate(p.get("members") or [])],
    SA_IAM_POLICY_TYPE: lambda p: _policy_data_grants(p.get("policyData")),
    PROJECT_IAM_POLICY_TYPE: lambda p: _policy_data_grants(p.get("policyData")),
}


def _policy_data_grants(policy_data: Any) -> list[tuple[str, Any, Any]]:
    """The (where, role, member) of an IAMPolicy's ``policyData`` (a JSON IAM policy with bindings)."""
    try:
        policy = json.loads(policy_data) if isinstance(policy_data, str) else policy_data
    except ValueError:
        return []
    bindings = policy.get("bindings") if isinstance(policy, Mapping) else None
    return [(f"policyData.bindings[{i}].members[{j}]", binding.get("role"), member)
            for i, binding in enumerate(bindings or []) if isinstance(binding, Mapping)
            for j, member in enumerate(binding.get("members") or [])]


def _disjunct_pins_account(disjunct: str) -> bool:
    """Does this alternative of a condition, on its own, let in only tokens of a pinned account?

    On every path, a clause must compare AWS's nested ``aws_account`` to a 12-digit account, or pin
    ``sub`` to role ARNs (which name their account).
    """
    return pins_on_every_path(disjunct, lambda clause: bool(_PINNED_ACCOUNT.search(clause)
                                                           or _PINNED_SUB.search(clause)))


def check_condition_pins_account(condition: Any, field: str) -> list[Violation]:
    """A provider trusting an AWS issuer must pin the account in its attribute condition, on every path.

    Every principal of an account can mint tokens from the same issuer; without a condition on
    the nested ``aws_account`` claim and on the roles, any of them gets into the pool. A condition
    is as strong as its weakest alternative: ``pinned || true`` (or ``|| assertion.aud == '...'``, an
    audience anyone may ask for) lets every account in.
    """
    if not isinstance(condition, str) or not condition.strip():
        return [Violation(
            field, condition,
            "is missing: without an attribute condition any principal of any account behind this issuer gets in; "
            f"pin assertion['{AWS_CLAIMS}'].aws_account and the trusted role ARNs",
            code="gcp.condition.missing",
        )]
    alternatives = split_top_level(unwrap(condition), "||")
    open_paths = [alternative for alternative in alternatives if not _disjunct_pins_account(alternative)]
    if open_paths and len(alternatives) > 1:
        return [Violation(
            field, condition,
            f"can be satisfied without pinning the AWS account: the alternative {open_paths[0]!r} lets any account "
            "behind this issuer in; every alternative (every || branch) must pin the account and the roles",
            code="gcp.condition.bypassable",
        )]
    if open_paths:
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
    """Roles on a service account or project go to exact principals: never to a whole pool, and never
    to every role of an AWS account (``attribute.aws_account/<id>``), whatever the role."""
    if not isinstance(member, str):
        return []
    if _POOL_WIDE_MEMBER.match(member):
        return [Violation(
            field, member,
            f"grants {role} to every identity of the pool, whichever AWS account or role it comes from: grant it "
            "to each trusted principal (principal://.../subject/<google.subject>) instead",
            code="gcp.binding.pool-wide",
        )]
    if _ACCOUNT_WIDE_MEMBER.match(member):
        return [Violation(
            field, member,
            f"grants {role} to every role of an AWS account, present and future: grant it to each trusted role's "
            "principal (principal://.../subject/<google.subject>) instead",
            code="gcp.binding.account-wide",
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
        if not aws_rules.is_aws_issuer(issuer):
            return []  # another issuer (GitHub Actions, say): our AWS rules do not apply to it
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
        description="GCP providers on an AWS issuer pin the account in their attribute condition on every path, "
                    "and no role on a service account or project goes to a whole pool or a whole AWS account.",
        advice="gcp-advice",
        advice_description="GCP settings worth a reviewer's look: conditions that pin the account but not the "
                           "roles, issuers that do not look like AWS account issuers.",
        check=provider_and_binding_violations,
    ),
)
JUDGED_TYPES = (PROVIDER_TYPE, *IAM_GRANTS)
