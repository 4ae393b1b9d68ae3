"""How the review tooling sees Databricks: plan lines, mock-cloud answers and the rehearsal's judge.

Databricks accepts a token for a service principal when one of its federation policies matches
it (Databricks' "Configure a federation policy" and the account API reference): the signature
verifies with the issuer's published keys (RS256 or ES256; AWS offers RS256), ``iss`` equals the
policy's issuer, the subject claim (``sub`` unless the policy names another) equals its subject,
and ``aud`` holds one of its audiences, all exactly; the token must be within its ``nbf``/``exp``.
The judge applies exactly that, with a real JWT verifier, to every policy in a run: ours or
hand-written. One PlannedTrust per policy, drawn on the node of its service principal.

Example::

    trusts = databricks_trusts(review)      # one PlannedTrust per federation policy
"""

from __future__ import annotations

from typing import Any, Mapping

from ...rules.aws import is_aws_issuer
from ..base import MockCloud, PlannedTrust, ReviewHooks, Verdict
from .audits import JUDGED_TYPES
from .facts import ACCEPTED_ALGORITHMS, GET_SERVICE_PRINCIPAL_INVOKE, POLICY_TYPE, SERVICE_PRINCIPAL_TYPE, SUBJECT_CLAIM
from .rules import service_principal_number

MOCK_FACTS = {
    # Obviously fake: never a real Databricks account in a preview or a test.
    "databricks_account_id": "00000000-0000-4000-8000-00000000dbac",
}
_CREATED = "2026-01-01T00:00:00Z"


# -- plan lines -----------------------------------------------------------------------------------

def _oidc(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    oidc = inputs.get("oidcPolicy")
    return oidc if isinstance(oidc, Mapping) else {}


def _policy_lines(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> list[str]:
    oidc = _oidc(inputs)
    audiences = oidc.get("audiences") or []
    return [f"issuer: {oidc.get('issuer')}", f"subject: {oidc.get('subject')}",
            f"subject claim: {oidc.get('subjectClaim') or SUBJECT_CLAIM + ' (default)'}",
            f"audiences: {', '.join(audiences) if audiences else '(the Databricks account ID, by default)'}",
            f"policy {inputs.get('policyId') or outputs.get('policyId')} on service principal "
            f"{service_principal_number(inputs.get('servicePrincipalId')) or inputs.get('servicePrincipalId')}"]


DESCRIBERS = {
    POLICY_TYPE: _policy_lines,
    SERVICE_PRINCIPAL_TYPE: lambda i, o: [f"display name: {i.get('displayName')}",
                                          f"application ID: {o.get('applicationId')}"],
}


# -- mock cloud -----------------------------------------------------------------------------------

def _numeric_id(cloud: MockCloud, *parts: str) -> str:
    """A 16-digit ID like Databricks' SCIM IDs, stable per name, below 2**53 (what Pulumi carries exactly)."""
    return str(1_000_000_000_000_000 + int(cloud.stable_uuid(*parts).replace("-", "")[:15], 16) % 8_000_000_000_000_000)


def _principal_fields(application_id: str, display_name: Any) -> dict:
    return {"applicationId": application_id, "displayName": display_name, "active": True,
            "aclPrincipalId": f"servicePrincipals/{application_id}", "home": f"/Users/{application_id}",
            "repos": f"/Repos/{application_id}", "externalId": ""}


def _service_principal(name: str, inputs: dict, cloud: MockCloud) -> dict:
    scim_id = _numeric_id(cloud, "databricks-service-principal", name)
    application_id = inputs.get("applicationId") or cloud.stable_uuid("databricks-application", name)
    return {"__id": scim_id, **_principal_fields(application_id, inputs.get("displayName"))}


def _policy(name: str, inputs: dict, cloud: MockCloud) -> dict:
    # Databricks assigns a numeric-looking ID when the program names none.
    policy = inputs.get("policyId") or _numeric_id(cloud, "databricks-policy", name)
    number = service_principal_number(inputs.get("servicePrincipalId"))
    return {"__id": policy, "policyId": policy, "uid": cloud.stable_uuid("databricks-policy-uid", name),
            "name": f"accounts/{cloud.facts['databricks_account_id']}/servicePrincipals/{number}/"
                    f"federationPolicies/{policy}",
            "createTime": _CREATED, "updateTime": _CREATED}


def _get_service_principal(args: dict, cloud: MockCloud) -> dict:
    scim_id = str(args.get("scimId") or args.get("spId") or args.get("id") or
                  _numeric_id(cloud, "databricks-service-principal", str(args.get("applicationId"))))
    application_id = args.get("applicationId") or cloud.stable_uuid("databricks-application", scim_id)
    return {"id": scim_id, "scimId": scim_id, "spId": scim_id, "api": "account",
            **_principal_fields(application_id, args.get("displayName") or "existing service principal")}


MOCK_RESOURCES = {SERVICE_PRINCIPAL_TYPE: _service_principal, POLICY_TYPE: _policy}
MOCK_INVOKES = {GET_SERVICE_PRINCIPAL_INVOKE: _get_service_principal}


# -- the rehearsal's judge ------------------------------------------------------------------------

def policy_judge(review: Any, issuer: str, subject: str, subject_claim: str, audiences: list[str]):
    """``judge(token, jwks)`` for one policy: Databricks' documented matching, nothing more."""
    def judge(token: str, jwks: Mapping[str, Any]) -> Verdict:
        # Signature, iss, aud (one of the policy's), exp and nbf, RS256; and sub when it is the subject claim.
        claims, reason = review.verify(token, issuer=issuer, audiences=audiences, jwks=jwks,
                                       algorithms=ACCEPTED_ALGORITHMS,
                                       subjects=[subject] if subject_claim == SUBJECT_CLAIM else None)
        if claims is None:
            return Verdict(False, reason)
        if subject_claim != SUBJECT_CLAIM and claims.get(subject_claim) != subject:
            return Verdict(False, f"its {subject_claim} claim is not the policy's subject")
        return Verdict(True, "matches the federation policy: issuer, subject and an audience exactly")
    return judge


def databricks_trusts(review: Any) -> list[PlannedTrust]:
    """One PlannedTrust per federation policy in the run, on the node of its service principal."""
    names = {r.id: r.inputs.get("displayName") for r in review.of_type(SERVICE_PRINCIPAL_TYPE)}
    found = []
    for registration in review.of_type(POLICY_TYPE):
        inputs, oidc = registration.inputs, _oidc(registration.inputs)
        number = service_principal_number(inputs.get("servicePrincipalId"))
        principal = str(number) if number is not None else str(inputs.get("servicePrincipalId"))
        issuer, subject = oidc.get("issuer") or "", oidc.get("subject") or ""
        subject_claim = oidc.get("subjectClaim") or SUBJECT_CLAIM
        audiences = [a for a in (oidc.get("audiences") or []) if isinstance(a, str)]
        trust = PlannedTrust(
            relying_party=f"Databricks federation policy {registration.name}", kind="databricks",
            node_id=f"databricks-sp:{principal}",
            node_label=f"Databricks service principal {names.get(principal) or principal}", node_shape="service",
            issuer=issuer, audience=audiences[0] if audiences else "", accepted_algorithms=ACCEPTED_ALGORITHMS,
            roles=[subject] if subject else [], judged_by="Databricks' documented matching rules",
        )
        if not is_aws_issuer(issuer):
            trust.skipped = f"its issuer {issuer!r} is not an AWS account issuer: AWS rules do not apply to it"
        elif not subject:
            trust.skipped = "it names no subject: Databricks refuses a service principal policy without one"
        elif not audiences:
            trust.skipped = ("it lists no audience, so Databricks expects the Databricks account ID, which the "
                             "program does not say; list the audience explicitly")
        else:
            trust.judge = policy_judge(review, issuer, subject, subject_claim, audiences)
        found.append(trust)
    return found


REVIEW = ReviewHooks(
    describers=DESCRIBERS,
    plan_facts=("application_id", "token_endpoint", "audience"),
    trusts=databricks_trusts,
    mock_resources=MOCK_RESOURCES,
    mock_invokes=MOCK_INVOKES,
    mock_facts=MOCK_FACTS,
    judged_types=(*JUDGED_TYPES, SERVICE_PRINCIPAL_TYPE),
)
