"""The trust graph of a planned stack: AWS account issuers -> roles -> the relying parties that trust them.

Built from the recorded registrations alone (through :class:`~fedctl.preview.review.Review` and each
relying-party kind's ``trusts`` hook), so it also draws another team's hand-written resources. An
edge from a role to a relying party means: a token of that role, from that issuer, is accepted
there; its label is the audience. Audiences a role's token policy allows that no relying party in
the run accounts for (a SaaS API, say) are drawn as their own nodes.

Example::

    graph = build_trust_graph(run)
    print(graph.mermaid())
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.rules import aws as aws_rules
from components.rules.facts import ACCOUNT_COMPONENT, AUDIENCE_KEY, ENABLEMENT_TYPE, TOKEN_ACTION
from components.rules.policy_audits import as_list, conditions_on, grants_action, parse_policy_document, statements_of

from .engine import ProgramRun
from .render import SHAPES, mermaid
from .review import Review



@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    """issuer, role, audience, or the shape a relying party asked for (app, identity, pool, service, cluster)."""
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
        return "\n".join(mermaid(self.to_json()))

    def dot(self) -> str:
        ids = {node_id: f"n{index}" for index, node_id in enumerate(self.nodes)}
        lines = ["digraph trust {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
        for node_id, node in self.nodes.items():
            label = (node.label + (f"\\n{node.detail}" if node.detail else "")).replace('"', "'")
            lines.append(f'  {ids[node_id]} [shape={SHAPES.get(node.kind, SHAPES["role"])[1]}, label="{label}"];')
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


def _account_of(arn: str) -> str | None:
    parsed = aws_rules.parse_role_arn(arn)
    return parsed.account_id if parsed else None


def _short_role(arn: str) -> str:
    return arn.split(":role/", 1)[-1]


def _policy_audiences(documents: list[Any]) -> list[str]:
    """The audiences a role's token policies pin (ForAllValues:StringEquals on sts:IdentityTokenAudience)."""
    found: list[str] = []
    for document in documents:
        for statement in statements_of(parse_policy_document(document) or {}):
            if grants_action(statement, TOKEN_ACTION):
                pinned = conditions_on(statement.get("Condition") or {}, AUDIENCE_KEY).get("ForAllValues:StringEquals")
                found += [a for a in as_list(pinned) if isinstance(a, str)]
    return list(dict.fromkeys(found))


def build_trust_graph(run: ProgramRun, review: Review | None = None) -> TrustGraph:
    graph = TrustGraph()
    review = review or Review(run.monitor.registrations.values())
    issuers_by_account: dict[str, str] = {}

    def issuer_node(issuer: str, account: str | None = None) -> str:
        node_id = graph.add(Node(f"issuer:{issuer}", "issuer", f"AWS account {account or '?'}", issuer))
        if account:
            issuers_by_account.setdefault(account, node_id)
        return node_id

    for r in review.of_type(ACCOUNT_COMPONENT):
        if r.component_outputs.get("issuer"):
            issuer_node(r.component_outputs["issuer"], r.component_outputs.get("account_id"))
    for r in review.of_type(ENABLEMENT_TYPE):
        if r.outputs.get("issuerIdentifier") and f"issuer:{r.outputs['issuerIdentifier']}" not in graph.nodes:
            issuer_node(r.outputs["issuerIdentifier"])

    role_nodes: dict[str, str] = {}

    def role_node(arn: str) -> str:
        if arn not in role_nodes:
            role_nodes[arn] = graph.add(Node(f"role:{arn}", "role", _short_role(arn), f"account {_account_of(arn)}"))
            issuer = issuers_by_account.get(_account_of(arn) or "")
            if issuer is None and not issuers_by_account:
                # One issuer whose account is unknown (a hand-written enablement): the roles are its own.
                only = [n for n in graph.nodes.values() if n.kind == "issuer"]
                issuer = only[0].id if len(only) == 1 else None
            if issuer:
                graph.link(issuer, role_nodes[arn])
        return role_nodes[arn]

    for arn in review.planned_roles:
        role_node(arn)
    consumed: dict[str, set[str]] = {}
    for trust in review.trusts():
        target = graph.add(Node(trust.node_id, trust.node_shape, trust.node_label,
                                "not judged" if trust.judge is None else ""))
        if trust.issuer and aws_rules.is_aws_issuer(trust.issuer):
            issuer_node(trust.issuer)
        for role in trust.roles:
            graph.link(role_node(role), target, trust.audience)
            consumed.setdefault(role, set()).add(trust.audience)
    # Audiences a role may request that no relying party here accounts for: SaaS APIs and the like.
    for arn in review.planned_roles:
        for audience in _policy_audiences(review.token_policies(arn) or []):
            if audience not in consumed.get(arn, set()):
                target = graph.add(Node(f"audience:{audience}", "audience", f"audience {audience}",
                                        "no relying party in this program"))
                graph.link(role_node(arn), target, audience)
    return graph
