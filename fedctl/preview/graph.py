"""The trust graph of a planned stack: AWS account issuers -> roles -> Azure apps, identities, GCP pools.

Built from the recorded registrations alone (not from our components' internals), so it also
draws another team's hand-written resources. An edge from a role to a relying party means: a
token of that role, from that issuer, is accepted there; its label is the audience.

Example::

    graph = build_trust_graph(run)
    print(graph.mermaid())
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import ProgramRun

APP_CREDENTIAL = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
APPLICATION = "azuread:index/application:Application"
IDENTITY_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
GCP_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
ROLE = "aws:iam/role:Role"
ENABLEMENT = "aws:iam/outboundWebIdentityFederation:OutboundWebIdentityFederation"
ACCOUNT_COMPONENT = "outbound-federation:index:AccountFederation"
ROLE_COMPONENT = "outbound-federation:index:FederatedRole"
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/[\x21-\x7e]*?[\w+=,.@-]+(?=['\"\s,\]]|$)")


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # issuer | role | azure-app | azure-identity | gcp-pool
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""


@dataclass
class TrustGraph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def add(self, node: Node) -> str:
        self.nodes.setdefault(node.id, node)
        return node.id

    def link(self, source: str, target: str, label: str = "") -> None:
        edge = Edge(source, target, label)
        if edge not in self.edges:
            self.edges.append(edge)

    def to_json(self) -> dict[str, Any]:
        return {"nodes": [vars(n) for n in self.nodes.values()], "edges": [vars(e) for e in self.edges]}

    def mermaid(self) -> str:
        shapes = {"issuer": ('(["', '"])'), "role": ('["', '"]'), "azure-app": ('[/"', '"/]'),
                  "azure-identity": ('[/"', '"/]'), "gcp-pool": ('{{"', '"}}')}
        ids = {node_id: f"n{index}" for index, node_id in enumerate(self.nodes)}
        lines = ["flowchart LR"]
        for node_id, node in self.nodes.items():
            left, right = shapes.get(node.kind, ('["', '"]'))
            text = _mermaid_text(node.label + (f"<br/>{node.detail}" if node.detail else ""))
            lines.append(f"  {ids[node_id]}{left}{text}{right}")
        for edge in self.edges:
            arrow = f' -- "{_mermaid_text(edge.label)}" --> ' if edge.label else " --> "
            lines.append(f"  {ids[edge.source]}{arrow}{ids[edge.target]}")
        return "\n".join(lines)

    def dot(self) -> str:
        shapes = {"issuer": "oval", "role": "box", "azure-app": "component", "azure-identity": "component",
                  "gcp-pool": "hexagon"}
        ids = {node_id: f"n{index}" for index, node_id in enumerate(self.nodes)}
        lines = ["digraph trust {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
        for node_id, node in self.nodes.items():
            label = (node.label + (f"\\n{node.detail}" if node.detail else "")).replace('"', "'")
            lines.append(f'  {ids[node_id]} [shape={shapes.get(node.kind, "box")}, label="{label}"];')
        for edge in self.edges:
            label = f' [label="{edge.label}", fontsize=9]' if edge.label else ""
            lines.append(f"  {ids[edge.source]} -> {ids[edge.target]}{label};")
        lines.append("}")
        return "\n".join(lines)

    def render_png(self, path: Path) -> Path | None:
        """Draw the graph as a PNG with graphviz's ``dot``; None when graphviz is not installed."""
        dot = shutil.which("dot")
        if dot is None:
            return None
        subprocess.run([dot, "-Tpng", "-o", str(path)], input=self.dot().encode(), check=True, timeout=60)
        return path


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def _short_role(arn: str) -> str:
    return arn.split(":role/", 1)[-1]


def build_trust_graph(run: ProgramRun) -> TrustGraph:
    graph = TrustGraph()
    registrations = list(run.monitor.registrations.values())
    issuers_by_account: dict[str, str] = {}

    def issuer_node(issuer: str, account: str | None = None) -> str:
        node_id = graph.add(Node(f"issuer:{issuer}", "issuer", f"AWS account {account or '?'}", issuer))
        if account:
            issuers_by_account.setdefault(account, node_id)
        return node_id

    for r in registrations:
        if r.type == ACCOUNT_COMPONENT and r.component_outputs.get("issuer"):
            issuer_node(r.component_outputs["issuer"], r.component_outputs.get("account_id"))
    for r in registrations:
        if r.type == ENABLEMENT and r.outputs.get("issuerIdentifier"):
            issuer = r.outputs["issuerIdentifier"]
            if f"issuer:{issuer}" not in graph.nodes:
                issuer_node(issuer)

    role_nodes: dict[str, str] = {}

    def role_node(arn: str) -> str:
        if arn not in role_nodes:
            role_nodes[arn] = graph.add(Node(f"role:{arn}", "role", _short_role(arn), f"account {_account_of(arn)}"))
            issuer = issuers_by_account.get(_account_of(arn) or "")
            if issuer is None and len(issuers_by_account) == 0 and len(graph.nodes) > 1:
                # One issuer whose account is unknown (a hand-written enablement): the roles are its own.
                only = [n for n in graph.nodes.values() if n.kind == "issuer"]
                issuer = only[0].id if len(only) == 1 else None
            if issuer:
                graph.link(issuer, role_nodes[arn])
        return role_nodes[arn]

    for r in registrations:
        if r.type == ROLE and r.outputs.get("arn"):
            role_node(r.outputs["arn"])
        elif r.type == ROLE_COMPONENT and r.component_outputs.get("subject"):
            role_node(r.component_outputs["subject"])

    apps = {r.id: r for r in registrations if r.type == APPLICATION}
    for r in registrations:
        if r.type == APP_CREDENTIAL:
            app_id = r.inputs.get("applicationId", "")
            app = apps.get(app_id)
            label = (app.inputs.get("displayName") if app else None) or app_id.split("/")[-1]
            target = graph.add(Node(f"app:{app_id}", "azure-app", f"Entra app {label}"))
            _link_credential(graph, role_node, issuer_node, r.inputs, target)
        elif r.type == IDENTITY_CREDENTIAL:
            identity = f"{r.inputs.get('resourceGroupName')}/{r.inputs.get('resourceName')}"
            target = graph.add(Node(f"identity:{identity}", "azure-identity", f"managed identity {identity}"))
            _link_credential(graph, role_node, issuer_node, r.inputs, target)
        elif r.type == GCP_PROVIDER:
            pool = f"{r.inputs.get('project')}/{r.inputs.get('workloadIdentityPoolId')}"
            target = graph.add(Node(f"pool:{pool}", "gcp-pool", f"GCP pool {pool}",
                                    f"provider {r.inputs.get('workloadIdentityPoolProviderId')}"))
            oidc = r.inputs.get("oidc") or {}
            if oidc.get("issuerUri"):
                issuer_node(oidc["issuerUri"])
            audiences = oidc.get("allowedAudiences") or ["canonical provider name"]
            # The attribute condition names the trusted roles; those are the edges.
            for match in _ROLE_ARN.finditer(r.inputs.get("attributeCondition") or ""):
                graph.link(role_node(match.group(0)), target, ", ".join(audiences))
    return graph


def _link_credential(graph: TrustGraph, role_node, issuer_node, inputs: dict[str, Any], target: str) -> None:
    subject, issuer = inputs.get("subject", ""), inputs.get("issuer", "")
    if issuer:
        issuer_node(issuer)
    audiences = inputs.get("audiences") or []
    graph.link(role_node(subject), target, ", ".join(audiences))
