"""How the review tooling sees Snowflake: plan lines, mock-cloud answers and the rehearsal's judge.

Snowflake logs a service user in with an AWS outbound token when the token matches the user's
AWS workload identity: ``iss`` is the identity's issuer exactly, ``sub`` is its role ARN, ``aud``
is ``snowflakecomputing.com`` (what the drivers request), the token is unexpired and its
signature verifies with the issuer's published keys, ES384 (what the drivers request). The judge
applies exactly that with a real JWT verifier, to every user in a run, ours or hand-written,
holding ``sub`` to the exact ARN (path included, as the token carries it).

Example::

    trusts = snowflake_trusts(review)      # one PlannedTrust per service user with an AWS identity
"""

from __future__ import annotations

from typing import Any, Mapping

from ...rules.aws import is_aws_issuer
from ..base import MockCloud, PlannedTrust, ReviewHooks, Verdict
from .audits import JUDGED_TYPES, aws_identity
from .facts import ACCEPTED_ALGORITHMS, AUDIENCE, CONNECTOR_TOKEN_SECONDS, LEGACY_SERVICE_USER_TYPE, SERVICE_USER_TYPE, USER_TYPES
from .rules import is_sts_endpoint

_WHAT = {SERVICE_USER_TYPE: "Snowflake service user", LEGACY_SERVICE_USER_TYPE: "Snowflake legacy service user"}


# -- plan lines -----------------------------------------------------------------------------------

def _user_lines(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> list[str]:
    lines = [f"user: {inputs.get('name') or outputs.get('name')}"]
    aws = aws_identity(inputs)
    if aws is not None:
        lines += [f"issuer: {aws.get('issuer') or '(none: signed GetCallerIdentity, not outbound tokens)'}",
                  f"arn: {aws.get('arn')}",
                  f"audience: {AUDIENCE} ({', '.join(ACCEPTED_ALGORITHMS)}, requested by the drivers)"]
    lines += [f"{label}: {inputs[key]}" for key, label in
              (("defaultRole", "default role"), ("defaultWarehouse", "default warehouse"),
               ("defaultNamespace", "default namespace")) if inputs.get(key)]
    return lines


DESCRIBERS = {SERVICE_USER_TYPE: _user_lines, LEGACY_SERVICE_USER_TYPE: _user_lines}


# -- mock cloud -----------------------------------------------------------------------------------

def _user(kind: str):
    def answer(name: str, inputs: dict, cloud: MockCloud) -> dict:
        user = inputs.get("name") or name.upper().replace("-", "_")
        quoted = f'"{user}"'  # the provider's ID and fully qualified name: the quoted identifier
        return {
            "__id": quoted, "name": user, "fullyQualifiedName": quoted, "userType": kind,
            "showOutputs": [{
                "name": user, "type": kind, "loginName": inputs.get("loginName") or user,
                "displayName": inputs.get("displayName") or user, "owner": "ACCOUNTADMIN",
                "createdOn": "2026-01-01 00:00:00.000 +0000", "disabled": False,
                "defaultRole": inputs.get("defaultRole") or "", "defaultWarehouse": inputs.get("defaultWarehouse") or "",
                "defaultNamespace": inputs.get("defaultNamespace") or "",
                "hasWorkloadIdentity": bool(inputs.get("defaultWorkloadIdentity")),
                "comment": inputs.get("comment") or "",
            }],
        }
    return answer


MOCK_RESOURCES = {SERVICE_USER_TYPE: _user("SERVICE"), LEGACY_SERVICE_USER_TYPE: _user("LEGACY_SERVICE")}


# -- the rehearsal's judge ------------------------------------------------------------------------

def _judge(review: Any, issuer: str, arn: str, user: str):
    def judge(token: str, jwks: Mapping[str, Any]) -> Verdict:
        claims, reason = review.verify(token, issuer=issuer, audiences=[AUDIENCE], jwks=jwks,
                                       algorithms=ACCEPTED_ALGORITHMS, subjects=[arn])
        return Verdict(True, f"logs in as {user}") if claims else Verdict(False, reason)
    return judge


def snowflake_trusts(review: Any) -> list[PlannedTrust]:
    """One PlannedTrust per Snowflake user in the run whose default workload identity is an AWS role."""
    found = []
    for registration in review.of_type(*USER_TYPES):
        aws = aws_identity(registration.inputs)
        if aws is None:
            continue  # no workload identity, or an Azure, GCP or OIDC one
        user = registration.inputs.get("name") or registration.outputs.get("name") or registration.name
        issuer, arn = aws.get("issuer") or "", aws.get("arn") or ""
        trust = PlannedTrust(
            relying_party=f"{_WHAT[registration.type]} {registration.name}", kind="snowflake",
            node_id=f"snowflake-user:{registration.name}", node_label=f"Snowflake user {user}",
            node_shape="service", issuer=issuer, audience=AUDIENCE, accepted_algorithms=ACCEPTED_ALGORITHMS,
            roles=[arn] if arn else [], duration_seconds=CONNECTOR_TOKEN_SECONDS,
            judged_by="Snowflake's documented matching (iss, sub = the role ARN, aud snowflakecomputing.com, "
                      "ES384), with a real JWT verifier",
        )
        if not issuer:
            trust.skipped = ("it trusts the role through signed GetCallerIdentity requests (no issuer), "
                             "not through outbound tokens")
        elif is_sts_endpoint(issuer):
            trust.skipped = f"its issuer {issuer!r} is an STS endpoint, which Snowflake refuses (see the policy findings)"
        elif not is_aws_issuer(issuer):
            trust.skipped = f"its issuer {issuer!r} is not an AWS account issuer: AWS rules do not apply to it"
        else:
            trust.judge = _judge(review, issuer, arn, user)
        found.append(trust)
    return found


REVIEW = ReviewHooks(
    describers=DESCRIBERS,
    plan_facts=("user_name", "audience"),
    trusts=snowflake_trusts,
    mock_resources=MOCK_RESOURCES,
    judged_types=JUDGED_TYPES,
)
