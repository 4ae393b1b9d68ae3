"""How the review tooling sees GCP: plan lines, mock-cloud answers and the rehearsal's judge.

Google judges a token for a workload identity pool provider in this order (the IAM docs for
workload identity federation): issuer, audience (the allowed ones, else the provider's own name
with or without ``https:``), the attribute mapping and the attribute condition (CEL), then IAM:
the mapped principal needs ``roles/iam.workloadIdentityUser`` on the service account. The judge
evaluates the mapping and condition with a real CEL implementation (cel-python).

The roles a provider trusts are read as data: the planned roles whose mapped principal a
binding names. Nothing is scraped from the generated CEL.

Example::

    trusts = gcp_trusts(review)        # one PlannedTrust per OIDC provider
"""

from __future__ import annotations

from typing import Any, Mapping

from ...rules.aws import is_aws_issuer
from ...rules.facts import SIGNING_ALGORITHMS
from ..base import MockCloud, PlannedTrust, ReviewHooks, Verdict
from .audits import JUDGED_TYPES
from . import rules
from .cel import GcpCel
from .facts import (
    GET_PROJECT_INVOKE,
    IAM_HOST,
    POOL_TYPE,
    PROJECT_IAM_BINDING_TYPE,
    PROJECT_IAM_MEMBER_TYPE,
    PROVIDER_TYPE,
    SA_IAM_BINDING_TYPE,
    SA_IAM_MEMBER_TYPE,
    SERVICE_ACCOUNT_TYPE,
    WORKLOAD_IDENTITY_USER,
)

MOCK_FACTS = {"gcp_project_number": "123456789012"}


# -- plan lines -----------------------------------------------------------------------------------

def _provider_lines(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> list[str]:
    oidc = inputs.get("oidc") or {}
    lines = [f"issuer: {oidc.get('issuerUri')}",
             f"allowed audiences: {', '.join(oidc.get('allowedAudiences') or []) or '(the provider name)'}"]
    lines += [f"mapping {key} = {value}" for key, value in (inputs.get("attributeMapping") or {}).items()]
    lines.append(f"condition: {inputs.get('attributeCondition') or '(none)'}")
    return lines


DESCRIBERS = {
    PROVIDER_TYPE: _provider_lines,
    SA_IAM_MEMBER_TYPE: lambda i, o: [f"{i.get('role')} for {i.get('member')}", f"on {i.get('serviceAccountId')}"],
}


# -- mock cloud -----------------------------------------------------------------------------------

def _pool(name: str, inputs: dict, cloud: MockCloud) -> dict:
    pool = inputs.get("workloadIdentityPoolId")
    return {"__id": f"projects/{inputs.get('project')}/locations/global/workloadIdentityPools/{pool}",
            "name": rules.pool_name(cloud.facts["gcp_project_number"], pool), "state": "ACTIVE"}


def _provider(name: str, inputs: dict, cloud: MockCloud) -> dict:
    pool, provider = inputs.get("workloadIdentityPoolId"), inputs.get("workloadIdentityPoolProviderId")
    resource = f"{rules.pool_name(cloud.facts['gcp_project_number'], pool)}/providers/{provider}"
    return {"__id": resource, "name": resource, "state": "ACTIVE"}


def _service_account(name: str, inputs: dict, cloud: MockCloud) -> dict:
    account_id, project = inputs.get("accountId"), inputs.get("project", "example-project")
    email = f"{account_id}@{project}.iam.gserviceaccount.com"
    return {"__id": f"projects/{project}/serviceAccounts/{email}", "email": email,
            "name": f"projects/{project}/serviceAccounts/{email}", "member": f"serviceAccount:{email}",
            "uniqueId": str(int(cloud.stable_uuid("sa", email).replace("-", "")[:12], 16))}


def _iam_member(name: str, inputs: dict, cloud: MockCloud) -> dict:
    return {"__id": f"{inputs.get('serviceAccountId')}/{inputs.get('role')}/{inputs.get('member')}",
            "etag": "BwX" + cloud.stable_uuid("etag", name)[:9]}


def _get_project(args: dict, cloud: MockCloud) -> dict:
    project = args.get("projectId") or "example-project"
    return {"projectId": project, "number": cloud.facts["gcp_project_number"], "name": project, "id": f"projects/{project}"}


MOCK_RESOURCES = {
    POOL_TYPE: _pool,
    PROVIDER_TYPE: _provider,
    SERVICE_ACCOUNT_TYPE: _service_account,
    SA_IAM_MEMBER_TYPE: _iam_member,
}
MOCK_INVOKES = {GET_PROJECT_INVOKE: _get_project}


# -- the rehearsal's judge ------------------------------------------------------------------------

def _impersonators(review: Any) -> set[str]:
    """Every member granted roles/iam.workloadIdentityUser on a service account or project."""
    members: set[str] = set()
    for registration in review.of_type(SA_IAM_MEMBER_TYPE, PROJECT_IAM_MEMBER_TYPE):
        if registration.inputs.get("role") == WORKLOAD_IDENTITY_USER:
            members.add(registration.inputs.get("member"))
    for registration in review.of_type(SA_IAM_BINDING_TYPE, PROJECT_IAM_BINDING_TYPE):
        if registration.inputs.get("role") == WORKLOAD_IDENTITY_USER:
            members |= set(registration.inputs.get("members") or [])
    return members


def _principal(pool: str, attributes: Mapping[str, Any]) -> str:
    return f"principal://{IAM_HOST}/{pool}/subject/{attributes.get('google.subject')}"


def _granted(pool: str, attributes: Mapping[str, Any]) -> set[str]:
    """The IAM members a token with these mapped attributes counts as."""
    granted = {_principal(pool, attributes), f"principalSet://{IAM_HOST}/{pool}/*"}
    granted |= {f"principalSet://{IAM_HOST}/{pool}/{key}/{value}"
                for key, value in attributes.items() if key.startswith("attribute.")}
    return granted


def _parse_provider_name(name: str) -> tuple[str, str, str] | None:
    """(project number, pool ID, provider ID) of ``projects/N/locations/global/workloadIdentityPools/P/providers/V``."""
    parts = name.split("/")
    if len(parts) == 8 and parts[0] == "projects" and parts[4] == "workloadIdentityPools" and parts[6] == "providers":
        return parts[1], parts[5], parts[7]
    return None


def gcp_trusts(review: Any) -> list[PlannedTrust]:
    """One PlannedTrust per OIDC workload identity pool provider in the run."""
    members = _impersonators(review)
    found = []
    for registration in review.of_type(PROVIDER_TYPE):
        inputs = registration.inputs
        oidc = inputs.get("oidc") or {}
        issuer = oidc.get("issuerUri")
        if not issuer:
            continue  # an AWS SigV4, SAML or X.509 provider: not an OIDC trust
        provider_name = registration.outputs.get("name") or registration.id
        parsed = _parse_provider_name(provider_name)
        allowed = list(oidc.get("allowedAudiences") or [])
        pool = provider_name.split("/providers/")[0]
        audience = rules.token_audience(*parsed, allowed) if parsed else (allowed[0] if allowed else "")
        trust = PlannedTrust(
            relying_party=f"GCP provider {registration.name}", kind="gcp",
            node_id=f"pool:{inputs.get('project')}/{inputs.get('workloadIdentityPoolId')}",
            node_label=f"GCP pool {inputs.get('project')}/{inputs.get('workloadIdentityPoolId')}",
            node_shape="pool", issuer=issuer, audience=audience, accepted_algorithms=SIGNING_ALGORITHMS,
            judged_by="GCP's documented rules, with the mapping and condition run by cel-python",
        )
        found.append(trust)
        if not is_aws_issuer(issuer):
            trust.skipped = f"its issuer {issuer!r} is not an AWS account issuer: AWS rules do not apply to it"
            continue
        mapping = dict(inputs.get("attributeMapping") or {})
        condition = inputs.get("attributeCondition") or ""
        audiences = allowed or [f"//{IAM_HOST}/{provider_name}", f"https://{IAM_HOST}/{provider_name}"]
        cel = review.shared("gcp-cel", GcpCel)
        try:
            # The roles it trusts by name: those a binding grants as their own principal. A grant to a
            # principalSet (the whole pool, an attribute) names nobody; the rehearsal then knocks with
            # any role, and a neighbour getting in is a wrong cell.
            trust.roles = [arn for arn in review.planned_roles
                           if _principal(pool, cel.map_attributes(mapping, review.claims_for(arn, audience))) in members]
        except Exception as error:  # noqa: BLE001 - a mapping CEL cannot evaluate: say so, judge nothing
            trust.skipped = f"its attribute mapping could not be evaluated: {error}"
            continue

        def judge(token: str, jwks: Mapping[str, Any], issuer=issuer, audiences=audiences, mapping=mapping,
                  condition=condition, pool=pool) -> Verdict:
            claims, reason = review.verify(token, issuer=issuer, audiences=audiences, jwks=jwks,
                                           algorithms=SIGNING_ALGORITHMS)
            if claims is None:
                return Verdict(False, reason)
            attributes = cel.map_attributes(mapping, claims) if mapping else {}
            if condition and cel.outcome(condition, claims, mapping) is not True:
                return Verdict(False, "attribute_condition")
            if not _granted(pool, attributes) & members:
                return Verdict(False, "no_binding")
            return Verdict(True, f"impersonates as {attributes.get('google.subject')}")

        trust.judge = judge
    return found


REVIEW = ReviewHooks(
    describers=DESCRIBERS,
    plan_facts=("audience", "provider_name"),
    trusts=gcp_trusts,
    mock_resources=MOCK_RESOURCES,
    mock_invokes=MOCK_INVOKES,
    mock_facts=MOCK_FACTS,
    judged_types=(*JUDGED_TYPES, POOL_TYPE, SERVICE_ACCOUNT_TYPE),
)
