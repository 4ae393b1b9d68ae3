"""How the review tooling sees Entra: plan lines, mock-cloud answers and the rehearsal's judge.

Entra matches a token against a federated credential by issuer, subject and audience, exactly and
case-sensitively, and accepts RS256 only (Microsoft's "Workload identity federation
considerations"). The judge applies exactly that, with a real JWT verifier, to every credential
in a run: ours or hand-written.

Example::

    trusts = entra_trusts(review)      # one PlannedTrust per federated credential
"""

from __future__ import annotations

from typing import Any, Mapping

from ...rules.aws import is_aws_issuer
from ..base import MockCloud, PlannedTrust, ReviewHooks, Verdict
from .audits import JUDGED_TYPES
from .facts import (
    ACCEPTED_ALGORITHMS,
    APP_CREDENTIAL_TYPE,
    APPLICATION_TYPE,
    ARM_CLIENT_CONFIG_INVOKE,
    BUILT_IN_ROLES,
    CLIENT_CONFIG_INVOKE,
    GET_APPLICATION_INVOKE,
    GET_IDENTITY_INVOKE,
    IDENTITY_CREDENTIAL_TYPE,
    IDENTITY_TYPE,
    ROLE_ASSIGNMENT_TYPE,
    SERVICE_PRINCIPAL_TYPE,
)

MOCK_FACTS = {
    # Obviously fake: never a real tenant's ID in a preview or a test.
    "tenant_id": "11111111-2222-4333-8444-555555555555",
    "subscription_id": "00000000-1111-2222-3333-444444444444",
}
_ROLE_NAMES = {guid: name for name, guid in BUILT_IN_ROLES.items()}


# -- plan lines -----------------------------------------------------------------------------------

def _credential_lines(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> list[str]:
    return [f"issuer: {inputs.get('issuer')}", f"subject: {inputs.get('subject')}",
            f"audience: {', '.join(inputs.get('audiences') or [])}"]


def _role_assignment_lines(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> list[str]:
    guid = str(inputs.get("roleDefinitionId", "")).split("/")[-1]
    name = _ROLE_NAMES.get(guid.lower())
    return [f"role {name} ({guid}) at {inputs.get('scope')}" if name else f"role {guid} at {inputs.get('scope')}",
            f"to {inputs.get('principalType')} {inputs.get('principalId')}"]


DESCRIBERS = {
    APP_CREDENTIAL_TYPE: _credential_lines,
    IDENTITY_CREDENTIAL_TYPE: _credential_lines,
    ROLE_ASSIGNMENT_TYPE: _role_assignment_lines,
    IDENTITY_TYPE: lambda i, o: [f"{i.get('resourceName')} in {i.get('resourceGroupName')} ({i.get('location')})"],
    APPLICATION_TYPE: lambda i, o: [f"display name: {i.get('displayName')}"],
}


# -- mock cloud -----------------------------------------------------------------------------------

def _application(name: str, inputs: dict, cloud: MockCloud) -> dict:
    object_id = cloud.stable_uuid("application", name)
    return {"__id": f"/applications/{object_id}", "objectId": object_id, "clientId": cloud.stable_uuid("client", name)}


def _service_principal(name: str, inputs: dict, cloud: MockCloud) -> dict:
    object_id = cloud.stable_uuid("service-principal", name)
    return {"__id": object_id, "objectId": object_id, "applicationTenantId": cloud.facts["tenant_id"]}


def _app_credential(name: str, inputs: dict, cloud: MockCloud) -> dict:
    credential_id = cloud.stable_uuid("credential", name)
    return {"__id": f"{inputs.get('applicationId')}/federatedIdentityCredential/{credential_id}",
            "credentialId": credential_id}


def _identity_path(cloud: MockCloud, group: Any, name: Any) -> str:
    return (f"/subscriptions/{cloud.facts['subscription_id']}/resourceGroups/{group}/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}")


def _identity(name: str, inputs: dict, cloud: MockCloud) -> dict:
    resource_name = inputs.get("resourceName") or f"{name}{cloud.stable_uuid(name)[:7]}"
    return {"__id": _identity_path(cloud, inputs.get("resourceGroupName", "rg"), resource_name), "name": resource_name,
            "clientId": cloud.stable_uuid("uami-client", name), "principalId": cloud.stable_uuid("uami-principal", name),
            "tenantId": cloud.facts["tenant_id"]}


def _identity_credential(name: str, inputs: dict, cloud: MockCloud) -> dict:
    credential = inputs.get("federatedIdentityCredentialResourceName") or name
    identity = _identity_path(cloud, inputs.get("resourceGroupName", "rg"), inputs.get("resourceName"))
    return {"__id": f"{identity}/federatedIdentityCredentials/{credential}", "name": credential}


def _role_assignment(name: str, inputs: dict, cloud: MockCloud) -> dict:
    assignment = inputs.get("roleAssignmentName") or cloud.stable_uuid("role-assignment", name)
    return {"__id": f"{inputs.get('scope', '')}/providers/Microsoft.Authorization/roleAssignments/{assignment}",
            "name": assignment}


def _client_config(args: dict, cloud: MockCloud) -> dict:
    return {"tenantId": cloud.facts["tenant_id"], "clientId": cloud.stable_uuid("deployer"),
            "objectId": cloud.stable_uuid("deployer-object")}


def _arm_client_config(args: dict, cloud: MockCloud) -> dict:
    return {**_client_config(args, cloud), "subscriptionId": cloud.facts["subscription_id"]}


def _get_application(args: dict, cloud: MockCloud) -> dict:
    object_id = args.get("objectId") or cloud.stable_uuid("application", args.get("displayName", ""))
    return {"id": f"/applications/{object_id}", "objectId": object_id, "clientId": cloud.stable_uuid("client", object_id),
            "displayName": args.get("displayName") or "existing-application"}


def _get_identity(args: dict, cloud: MockCloud) -> dict:
    name, group = args.get("resourceName"), args.get("resourceGroupName")
    return {"id": _identity_path(cloud, group, name), "name": name, "location": "westeurope",
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "clientId": cloud.stable_uuid("uami-client", group, name),
            "principalId": cloud.stable_uuid("uami-principal", group, name), "tenantId": cloud.facts["tenant_id"]}


MOCK_RESOURCES = {
    APPLICATION_TYPE: _application,
    SERVICE_PRINCIPAL_TYPE: _service_principal,
    APP_CREDENTIAL_TYPE: _app_credential,
    IDENTITY_TYPE: _identity,
    IDENTITY_CREDENTIAL_TYPE: _identity_credential,
    ROLE_ASSIGNMENT_TYPE: _role_assignment,
}
MOCK_INVOKES = {
    CLIENT_CONFIG_INVOKE: _client_config,
    ARM_CLIENT_CONFIG_INVOKE: _arm_client_config,
    GET_APPLICATION_INVOKE: _get_application,
    GET_IDENTITY_INVOKE: _get_identity,
}


# -- the rehearsal's judge ------------------------------------------------------------------------

def _judge(review: Any, issuer: str, subject: str, audiences: list[str]):
    def judge(token: str, jwks: Mapping[str, Any]) -> Verdict:
        if len(audiences) != 1:
            return Verdict(False, "the credential has no single audience")
        claims, reason = review.verify(token, issuer=issuer, audiences=audiences, jwks=jwks,
                                       algorithms=ACCEPTED_ALGORITHMS, subjects=[subject])
        return Verdict(True, "matches the federated credential exactly") if claims else Verdict(False, reason)
    return judge


def _trust(review: Any, registration: Any, node_id: str, node_label: str, shape: str, kind: str, what: str) -> PlannedTrust:
    inputs = registration.inputs
    issuer, subject = inputs.get("issuer") or "", inputs.get("subject") or ""
    audiences = list(inputs.get("audiences") or [])
    trust = PlannedTrust(
        relying_party=f"{what} {registration.name}", kind=kind, node_id=node_id, node_label=node_label,
        node_shape=shape, issuer=issuer, audience=audiences[0] if audiences else "",
        accepted_algorithms=ACCEPTED_ALGORITHMS, roles=[subject] if subject else [],
        judged_by="Entra's documented matching rules",
    )
    if not is_aws_issuer(issuer):
        trust.skipped = f"its issuer {issuer!r} is not an AWS account issuer: AWS rules do not apply to it"
    else:
        trust.judge = _judge(review, issuer, subject, audiences)
    return trust


def entra_trusts(review: Any) -> list[PlannedTrust]:
    """One PlannedTrust per federated credential in the run (app or managed identity)."""
    apps = {r.id: r for r in review.of_type(APPLICATION_TYPE)}
    found = []
    for registration in review.of_type(APP_CREDENTIAL_TYPE):
        app_id = registration.inputs.get("applicationId", "")
        app = apps.get(app_id)
        label = (app.inputs.get("displayName") if app else None) or app_id.split("/")[-1]
        found.append(_trust(review, registration, f"app:{app_id}", f"Entra app {label}", "app", "azureApp",
                            "Entra app credential"))
    for registration in review.of_type(IDENTITY_CREDENTIAL_TYPE):
        identity = f"{registration.inputs.get('resourceGroupName')}/{registration.inputs.get('resourceName')}"
        found.append(_trust(review, registration, f"identity:{identity}", f"managed identity {identity}", "identity",
                            "azureManagedIdentity", "managed identity credential"))
    return found


REVIEW = ReviewHooks(
    describers=DESCRIBERS,
    plan_facts=("client_id", "principal_id", "audience"),
    trusts=entra_trusts,
    mock_resources=MOCK_RESOURCES,
    mock_invokes=MOCK_INVOKES,
    mock_facts=MOCK_FACTS,
    judged_types=(*JUDGED_TYPES, APPLICATION_TYPE, SERVICE_PRINCIPAL_TYPE, IDENTITY_TYPE),
)
