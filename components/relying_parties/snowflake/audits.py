"""The policy pack's judgement of Snowflake users that trust AWS roles, ours or hand-written.

Pure functions of a resource's properties; the pack turns their errors into mandatory findings and
their warnings into advisory ones (``components.relying_parties.base.Audit``).

- Per user (``ServiceUser``, ``LegacyServiceUser`` with ``defaultWorkloadIdentity.aws``): the ARN
  names one principal exactly (not empty, no wildcard, not a session ARN); with an issuer (the
  outbound-token path), the issuer is an AWS account issuer, never an STS endpoint such as
  ``https://sts.amazonaws.com``, which Snowflake refuses. A user without an issuer trusts the role
  through signed GetCallerIdentity requests instead: not an outbound-token trust, not judged further.
- Per stack: the role a user trusts, when it is in the stack with its token policy, must let STS
  mint what Snowflake's drivers ask for: audience ``snowflakecomputing.com``, ES384, 300 seconds.

Example::

    >>> from components.relying_parties.base import AuditedResource
    >>> [v.code for v in user_violations(AuditedResource(SERVICE_USER_TYPE, "u", {"defaultWorkloadIdentity": {
    ...     "aws": {"arn": "arn:aws:iam::123456789012:role/r", "issuer": "https://sts.amazonaws.com"}}}), {})]
    ['snowflake.issuer.sts-endpoint']
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from ...rules import WARNING, Violation
from ...rules import aws as aws_rules
from ...rules.policy_audits import TokenRequest, evaluate_token_request
from ..base import Audit, AuditedResource, role_token_policies
from . import rules
from .facts import ACCEPTED_ALGORITHMS, AUDIENCE, CONNECTOR_TOKEN_SECONDS, USER_TYPES


def aws_identity(props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``aws`` block of a user's default workload identity, or None (none, or Azure/GCP/OIDC)."""
    identity = props.get("defaultWorkloadIdentity")
    aws = identity.get("aws") if isinstance(identity, Mapping) else None
    return aws if isinstance(aws, Mapping) else None


def user_violations(resource: AuditedResource, config: Mapping[str, Any]) -> list[Violation]:
    if resource.type not in USER_TYPES:
        return []
    aws = aws_identity(resource.props)
    if aws is None:
        return []
    where = f"{resource.name}.defaultWorkloadIdentity.aws"
    arn, issuer = aws.get("arn"), aws.get("issuer")
    found = rules.check_trusted_arn(arn, f"{where}.arn")
    if issuer in (None, ""):
        return found  # the signed GetCallerIdentity path: no outbound token involved
    return found + rules.check_issuer(issuer, f"{where}.issuer", arn)


def _trusted_roles(resources: Sequence[AuditedResource]) -> Iterable[tuple[AuditedResource, str, list[Any]]]:
    """(user, role ARN, the role's token policies) for every outbound-token user whose role is in the stack."""
    for user in resources:
        aws = aws_identity(user.props) if user.type in USER_TYPES else None
        if not aws or not aws.get("issuer"):
            continue
        documents = role_token_policies(aws.get("arn"), resources) or []
        if documents:  # a role of another stack, or without a visible policy, is not judged here
            yield user, aws.get("arn"), documents


def driver_request_violations(resources: Sequence[AuditedResource],
                              config: Mapping[str, Any]) -> list[tuple[str, Violation]]:
    """(user URN, violation) for each trusted role whose token policy refuses what the drivers request."""
    found = []
    for user, arn, documents in _trusted_roles(resources):
        parsed = aws_rules.parse_role_arn(arn)
        request = TokenRequest((AUDIENCE,), ACCEPTED_ALGORITHMS[0], CONNECTOR_TOKEN_SECONDS,
                               account_id=parsed.account_id if parsed else None)
        decision = evaluate_token_request(documents, request)
        if decision.allowed:
            continue
        field = f"role {arn} (trusted by {user.name})"
        if decision.determinate:
            found.append((user.urn, Violation(
                field, request.describe(),
                f"is what Snowflake's drivers request, and STS would refuse it: {decision.reason}. Allow ES384, the "
                f"audience {AUDIENCE} and a {CONNECTOR_TOKEN_SECONDS}-second token (the drivers name no duration)",
                code="snowflake.trusted-role.driver-refused")))
        else:
            found.append((user.urn, Violation(
                field, request.describe(), f"is what Snowflake's drivers request; {decision.reason}",
                WARNING, code="snowflake.trusted-role.undecided")))
    return found


AUDITS = (
    Audit(
        name="snowflake-workload-identity-exact",
        description="Snowflake users that trust an AWS role name one role exactly (no wildcard, not empty) and, "
                    "for outbound tokens, the account's issuer: never an STS endpoint such as "
                    "https://sts.amazonaws.com, which Snowflake refuses.",
        advice="snowflake-advice",
        advice_description="Snowflake settings worth a reviewer's look: issuers that do not look like AWS account "
                           "issuers, or of another partition than the role.",
        check=user_violations,
    ),
    Audit(
        name="snowflake-trusted-roles-fit-the-drivers",
        description="A role a Snowflake user trusts may get the token Snowflake's drivers request: audience "
                    "snowflakecomputing.com, ES384, 300 seconds.",
        advice="snowflake-trusted-roles-advice",
        advice_description="A role a Snowflake user trusts has a token policy this pack cannot judge offline.",
        check_stack=driver_request_violations,
    ),
)
JUDGED_TYPES = USER_TYPES
