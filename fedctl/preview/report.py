"""Turn a mock run into what a reviewer reads: resources grouped by component, with the facts that matter.

For each resource type a reviewer cares about, a *describer* picks the lines worth reading: the
token policy's audience, duration and algorithm conditions; a credential's issuer, subject and
audience; each relying party adds lines for its own types (``ReviewHooks.describers``). Everything
else is listed by type and name.

Example::

    plan = build_plan(run)
    for group in plan.groups: ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from components.rules.facts import (
    ENABLEMENT_TYPE,
    ORGANIZATIONS_POLICY_ATTACHMENT_TYPE,
    ORGANIZATIONS_POLICY_TYPE,
    ROLE_POLICY_TYPE,
    ROLE_TYPE,
)

from ..testing.mocks import Registration
from .engine import ProgramRun


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
    import_id: str = ""
    """Adopted under this ID (``import``) instead of created."""
    top: str | None = None
    """The URN of the top-level component it belongs to; None for a top-level resource."""

    @property
    def created(self) -> bool:
        return self.custom and not self.read

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "urn": self.urn, "parent": self.parent, "top": self.top,
                "custom": self.custom, "read": self.read, "protect": self.protect,
                "retainOnDelete": self.retain_on_delete, "importId": self.import_id, "details": self.details}


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
    if _unknown(document):
        return ["policy: unknown (only known after deployment)"]
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


def _enablement_lines(registration: Registration) -> list[str]:
    how = (f"adopt the existing issuer (import account {registration.import_id}): federation is already on"
           if registration.import_id else "enable outbound identity federation for the account")
    return [how, f"issuer: {registration.outputs.get('issuerIdentifier')}",
            "deleting this resource switches federation off for the WHOLE account"]


CORE_DESCRIBERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], list[str]]] = {
    ROLE_TYPE: lambda i, o: [f"arn: {o.get('arn')}"] + _trust_lines(i.get("assumeRolePolicy", "")),
    ROLE_POLICY_TYPE: lambda i, o: _policy_lines(i.get("policy", "")),
    ORGANIZATIONS_POLICY_TYPE: lambda i, o: [f"{i.get('type') or 'SERVICE_CONTROL_POLICY'}: member accounts under "
                                             "its targets, never the management account"]
                                            + _policy_lines(i.get("content", "")),
    ORGANIZATIONS_POLICY_ATTACHMENT_TYPE: lambda i, o: [f"attach {i.get('policyId')} to {i.get('targetId')}"],
}
# Component outputs worth a line in the plan, in this order; each relying party adds its own.
CORE_FACTS = ("issuer", "subject")


def _unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or value == UNKNOWN


def _shown(value: Any) -> Any:
    return "unknown (only known after deployment)" if _unknown(value) else value


def describe(registration: Registration) -> list[str]:
    from components.relying_parties import KINDS

    if not registration.custom:
        outputs = registration.component_outputs
        return [f"{key}: {_shown(outputs[key])}" for key in CORE_FACTS + KINDS.plan_facts() if outputs.get(key)]
    if registration.type == ENABLEMENT_TYPE:
        return _enablement_lines(registration)
    describer = CORE_DESCRIBERS.get(registration.type) or KINDS.describers().get(registration.type)
    return describer(registration.inputs, registration.outputs) if describer else []


def build_plan(run: ProgramRun) -> Plan:
    """The plan, in an order that does not depend on when the SDK's async work happened to register
    each resource: components by name, their members and the loose resources by type and name."""
    registrations = run.monitor.registrations
    planned = {
        urn: PlannedResource(
            type=r.type, name=r.name, urn=urn, parent=r.parent if r.parent in registrations else None,
            custom=r.custom, protect=r.protect, retain_on_delete=r.retain_on_delete, details=describe(r),
            read=r.read, import_id=r.import_id,
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
            resource.top = top
            groups.setdefault(top, Group(planned[top], [])).members.append(resource)
    by_type_and_name = lambda resource: (resource.type, resource.name, resource.urn)  # noqa: E731
    ordered = sorted(groups.values(), key=lambda group: (group.component.name, group.component.urn))
    for group in ordered:
        group.members.sort(key=by_type_and_name)
    return Plan(project=run.project.name, stack=run.project.stack, groups=ordered,
                loose=sorted(loose, key=by_type_and_name), outputs=run.outputs, warnings=sorted(run.warnings))
