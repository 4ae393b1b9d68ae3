"""Turn a mock run into what a reviewer reads: resources grouped by component, with the facts that matter.

For each resource type a reviewer cares about, a *describer* picks the lines worth reading: the
token policy's audience, duration and algorithm conditions; a credential's issuer, subject and
audience; a GCP provider's mapping and condition. Everything else is listed by type and name.

Example::

    plan = build_plan(run)
    for group in plan.groups: ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from .engine import ProgramRun
from ..testing.mocks import Registration


@dataclass
class PlannedResource:
    type: str
    name: str
    urn: str
    parent: str | None
    custom: bool
    protect: bool
    retain_on_delete: bool
    details: list[str] = field(default_factory=list)
    read: bool = False
    """Read from the cloud (a StackReference, a get function), not created."""

    @property
    def created(self) -> bool:
        return self.custom and not self.read

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "urn": self.urn, "parent": self.parent,
                "custom": self.custom, "read": self.read, "protect": self.protect,
                "retainOnDelete": self.retain_on_delete, "details": self.details}


@dataclass
class Group:
    """A top-level component (a workload's role, a trust) and everything under it."""

    component: PlannedResource
    members: list[PlannedResource]


@dataclass
class Plan:
    project: str
    stack: str
    groups: list[Group]
    loose: list[PlannedResource]
    outputs: dict[str, Any]
    warnings: list[str]

    @property
    def resources(self) -> list[PlannedResource]:
        found = []
        for group in self.groups:
            found.append(group.component)
            found.extend(group.members)
        return found + self.loose


def _short_type(type_token: str) -> str:
    package, module, name = (type_token.split(":") + ["", ""])[:3]
    module = module.split("/")[0]
    return f"{package}:{module}/{name}" if module and module != "index" else f"{package}:{name}"


def _policy_lines(document: str) -> list[str]:
    try:
        policy = json.loads(document)
    except (TypeError, ValueError):
        return ["policy: (not JSON)"]
    lines = []
    for statement in policy.get("Statement", []):
        actions = statement.get("Action")
        lines.append(f"{statement.get('Effect')} {actions if isinstance(actions, str) else ', '.join(actions)}"
                     f" on {statement.get('Resource')}")
        for operator, keys in (statement.get("Condition") or {}).items():
            for key, value in keys.items():
                shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                lines.append(f"  {operator} {key}: {shown}")
    return lines


def _trust_lines(document: str) -> list[str]:
    try:
        policy = json.loads(document)
    except (TypeError, ValueError):
        return ["trust policy: (not JSON)"]
    principals = []
    for statement in policy.get("Statement", []):
        for kind, values in (statement.get("Principal") or {}).items():
            values = values if isinstance(values, list) else [values]
            principals += [f"{kind} {v}" for v in values]
    return [f"trusted by: {', '.join(principals)}"]


def _credential_lines(inputs: dict[str, Any], outputs: dict[str, Any]) -> list[str]:
    return [f"issuer: {inputs.get('issuer')}", f"subject: {inputs.get('subject')}",
            f"audience: {', '.join(inputs.get('audiences') or [])}"]


def _provider_lines(inputs: dict[str, Any], outputs: dict[str, Any]) -> list[str]:
    oidc = inputs.get("oidc") or {}
    lines = [f"issuer: {oidc.get('issuerUri')}",
             f"allowed audiences: {', '.join(oidc.get('allowedAudiences') or []) or '(the provider name)'}"]
    lines += [f"mapping {key} = {value}" for key, value in (inputs.get("attributeMapping") or {}).items()]
    lines.append(f"condition: {inputs.get('attributeCondition') or '(none)'}")
    return lines


DESCRIBERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[str]]] = {
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential":
        _credential_lines,
    "azure-native:managedidentity:FederatedIdentityCredential": _credential_lines,
    "azure-native:authorization:RoleAssignment":
        lambda i, o: [f"role {i.get('roleDefinitionId', '').split('/')[-1]} at {i.get('scope')}",
                      f"to {i.get('principalType')} {i.get('principalId')}"],
    "azure-native:managedidentity:UserAssignedIdentity":
        lambda i, o: [f"{i.get('resourceName')} in {i.get('resourceGroupName')} ({i.get('location')})"],
    "azuread:index/application:Application": lambda i, o: [f"display name: {i.get('displayName')}"],
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": _provider_lines,
    "gcp:serviceaccount/iAMMember:IAMMember":
        lambda i, o: [f"{i.get('role')} for {i.get('member')}", f"on {i.get('serviceAccountId')}"],
    "aws:iam/role:Role": lambda i, o: [f"arn: {o.get('arn')}"] + _trust_lines(i.get("assumeRolePolicy", "")),
    "aws:iam/rolePolicy:RolePolicy": lambda i, o: _policy_lines(i.get("policy", "")),
    "aws:iam/outboundWebIdentityFederation:OutboundWebIdentityFederation":
        lambda i, o: [f"issuer: {o.get('issuerIdentifier')}",
                      "deleting this resource switches federation off for the WHOLE account"],
}


# Component outputs worth a line in the plan, in this order.
COMPONENT_FACTS = ("issuer", "subject", "client_id", "principal_id", "audience", "provider_name")


def describe(registration: Registration) -> list[str]:
    if not registration.custom:
        outputs = registration.component_outputs
        return [f"{key}: {outputs[key]}" for key in COMPONENT_FACTS if outputs.get(key)]
    describer = DESCRIBERS.get(registration.type)
    return describer(registration.inputs, registration.outputs) if describer else []


def build_plan(run: ProgramRun) -> Plan:
    registrations = run.monitor.registrations
    planned = {
        urn: PlannedResource(
            type=r.type, name=r.name, urn=urn, parent=r.parent if r.parent in registrations else None,
            custom=r.custom, protect=r.protect, retain_on_delete=r.retain_on_delete, details=describe(r),
            read=r.read,
        )
        for urn, r in registrations.items()
    }

    def top_of(urn: str) -> str:
        while planned[urn].parent is not None:
            urn = planned[urn].parent
        return urn

    groups: dict[str, Group] = {}
    loose = []
    for urn, resource in planned.items():
        top = top_of(urn)
        if top == urn and not resource.custom:
            groups.setdefault(urn, Group(resource, []))
        elif top == urn:
            loose.append(resource)
        else:
            groups.setdefault(top, Group(planned[top], [])).members.append(resource)
    return Plan(project=run.project.name, stack=run.project.stack, groups=list(groups.values()),
                loose=loose, outputs=run.outputs, warnings=run.warnings)
