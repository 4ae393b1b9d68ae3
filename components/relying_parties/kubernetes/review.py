"""How the review tooling sees Kubernetes: plan lines, mock-cloud answers and the rehearsal's judge.

kube-apiserver judges a token for a JWT authenticator in this order (kubernetes/website
``authentication.md``): signature against the issuer's keys (any asymmetric algorithm with
structured configuration), ``iss`` equal to ``issuer.url``, ``aud`` holding one of
``issuer.audiences``, ``exp``; then the claim mappings (a non-empty username), every claim validation
rule ``true``, and every user validation rule ``true``. The judge does exactly that, with a real JWT
verifier and a real CEL implementation (cel-python, with Kubernetes' ``claims`` and ``user``).

The authenticators in a run:

- ours for a self-managed cluster: a ``KubernetesClusterTrust`` with no AKS child; the authenticator
  and the trusted role ARNs are the component's registered outputs (data, never scraped from CEL);
- ours on AKS: the ``JWTAuthenticator`` it created, with the roles from its parent's outputs;
- hand-written AKS ``JWTAuthenticator`` s: nobody says which roles they mean, so their trusted roles
  are the planned roles whose own tokens their rules let in (evaluated, not parsed). When none is,
  the rehearsal knocks with any role of the account.

Example::

    trusts = kubernetes_trusts(review)      # one PlannedTrust per authenticator
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ...rules.aws import is_aws_issuer
from ...rules.facts import SIGNING_ALGORITHMS
from ..base import MockCloud, PlannedTrust, ReviewHooks, Verdict
from . import rules
from .audits import JUDGED_TYPES
from .cel import KubernetesCel
from .facts import AKS_AUTHENTICATOR_TYPE, CLUSTER_ROLE_BINDING_TYPE, COMPONENT_TYPE, ROLE_BINDING_TYPE

JUDGED_BY = "Kubernetes' documented rules, with the claim validation rules and mappings run by cel-python"
PLACEHOLDER_SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
"""The mock subscription when no other kind declares one (the Azure kinds do, with this same fake value)."""


# -- plan lines -----------------------------------------------------------------------------------

def _authenticator_lines(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> list[str]:
    entry = rules.authenticator_of_aks(inputs.get("properties") or {})
    lines = [f"on AKS cluster {inputs.get('resourceGroupName')}/{inputs.get('resourceName')}",
             f"issuer: {entry['issuer'].get('url')}",
             f"audiences: {', '.join(entry['issuer'].get('audiences') or [])}"]
    lines += [f"claim rule: {rule.get('expression')}" for rule in entry["claimValidationRules"] if isinstance(rule, Mapping)]
    lines += [f"{key} = {mapping.get('expression')}" for key, mapping in entry["claimMappings"].items()
              if isinstance(mapping, Mapping)]
    return lines


def _binding_lines(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> list[str]:
    role = (inputs.get("roleRef") or {}).get("name")
    metadata = inputs.get("metadata") or {}
    where = f"in namespace {metadata.get('namespace')}" if metadata.get("namespace") else "cluster-wide"
    subjects = ", ".join(f"{s.get('kind')} {s.get('name')}" for s in inputs.get("subjects") or [] if isinstance(s, Mapping))
    return [f"ClusterRole {role} {where}", f"to {subjects}"]


DESCRIBERS = {
    AKS_AUTHENTICATOR_TYPE: _authenticator_lines,
    CLUSTER_ROLE_BINDING_TYPE: _binding_lines,
    ROLE_BINDING_TYPE: _binding_lines,
}


# -- mock cloud -----------------------------------------------------------------------------------

def _aks_authenticator(name: str, inputs: dict, cloud: MockCloud) -> dict:
    subscription = cloud.facts.get("subscription_id", PLACEHOLDER_SUBSCRIPTION)
    authenticator = inputs.get("jwtAuthenticatorName") or name
    resource = (f"/subscriptions/{subscription}/resourceGroups/{inputs.get('resourceGroupName')}/providers/"
                f"Microsoft.ContainerService/managedClusters/{inputs.get('resourceName')}/jwtAuthenticators/{authenticator}")
    return {"__id": resource, "name": authenticator, "type": "Microsoft.ContainerService/managedClusters/jwtAuthenticators",
            "properties": {**(inputs.get("properties") or {}), "provisioningState": "Succeeded"}}


def _binding(name: str, inputs: dict, cloud: MockCloud) -> dict:
    metadata = dict(inputs.get("metadata") or {})
    metadata.setdefault("name", name)
    metadata["uid"] = cloud.stable_uuid("rbac", name)
    return {"__id": f"{metadata['namespace']}/{metadata['name']}" if metadata.get("namespace") else metadata["name"],
            "metadata": metadata}


MOCK_RESOURCES = {
    AKS_AUTHENTICATOR_TYPE: _aks_authenticator,
    CLUSTER_ROLE_BINDING_TYPE: _binding,
    ROLE_BINDING_TYPE: _binding,
}


# -- the rehearsal's judge ------------------------------------------------------------------------

def _trust(review: Any, entry: Mapping[str, Any], roles: Any, **node: str) -> PlannedTrust:
    issuer = (entry.get("issuer") or {}).get("url") or ""
    audiences = list((entry.get("issuer") or {}).get("audiences") or [])
    trust = PlannedTrust(kind="kubernetes", node_shape="cluster", issuer=issuer, audience=audiences[0] if audiences else "",
                         accepted_algorithms=SIGNING_ALGORITHMS, judged_by=JUDGED_BY, **node)
    if not is_aws_issuer(issuer):
        trust.skipped = f"its issuer {issuer!r} is not an AWS account issuer: AWS rules do not apply to it"
        return trust
    cel = review.shared("kubernetes-cel", KubernetesCel)
    for expression in rules.authenticator_expressions(entry).values():
        try:
            cel.check(expression)
        except cel.CelError as error:
            trust.skipped = f"cel-python cannot parse {expression!r} ({error})"
            return trust
    if isinstance(roles, list):
        trust.roles = [arn for arn in roles if isinstance(arn, str)]
    else:
        # Hand-written: the roles it trusts are the planned ones whose tokens its rules let in.
        trust.roles = [arn for arn in review.planned_roles
                       if cel.judge(entry, review.claims_for(arn, trust.audience, issuer))[0]]

    def judge(token: str, jwks: Mapping[str, Any]) -> Verdict:
        claims, reason = review.verify(token, issuer=issuer, audiences=audiences, jwks=jwks,
                                       algorithms=SIGNING_ALGORITHMS)
        if claims is None:
            return Verdict(False, reason)
        accepted, detail = cel.judge(entry, claims)
        if not accepted:
            return Verdict(False, detail)
        return Verdict(True, f"signs in as {detail['username']}")

    trust.judge = judge
    return trust


def kubernetes_trusts(review: Any) -> list[PlannedTrust]:
    """One PlannedTrust per JWT authenticator in the run: ours (rendered or on AKS) and hand-written AKS ones."""
    ours = {r.urn: r for r in review.of_type(COMPONENT_TYPE)}
    on_aks: set[str] = set()
    found = []
    for registration in review.of_type(AKS_AUTHENTICATOR_TYPE):
        inputs = registration.inputs
        cluster = f"{inputs.get('resourceGroupName')}/{inputs.get('resourceName')}"
        parent = ours.get(registration.parent)
        if parent is not None:
            on_aks.add(parent.urn)
        roles = parent.component_outputs.get("trusted_roles") if parent is not None else None
        found.append(_trust(review, rules.authenticator_of_aks(inputs.get("properties") or {}), roles,
                            relying_party=f"AKS JWT authenticator {registration.name}",
                            node_id=f"cluster:aks:{cluster}", node_label=f"AKS cluster {cluster}"))
    for urn, component in ours.items():
        if urn in on_aks:
            continue
        outputs = component.component_outputs
        entry = outputs.get("authenticator")
        try:
            entry = json.loads(entry) if isinstance(entry, str) else None
        except ValueError:
            entry = None
        cluster = outputs.get("cluster_name") or component.name
        node = dict(relying_party=f"Kubernetes authenticator {component.name}", node_id=f"cluster:{cluster}",
                    node_label=f"Kubernetes cluster {cluster}")
        if not isinstance(entry, Mapping):
            found.append(PlannedTrust(kind="kubernetes", node_shape="cluster", issuer="", audience=str(outputs.get("audience") or ""),
                                      skipped="its authenticator is only known after deployment", **node))
            continue
        found.append(_trust(review, entry, outputs.get("trusted_roles"), **node))
    return found


REVIEW = ReviewHooks(
    describers=DESCRIBERS,
    plan_facts=("audience", "usernames"),
    trusts=kubernetes_trusts,
    mock_resources=MOCK_RESOURCES,
    judged_types=JUDGED_TYPES,
)
