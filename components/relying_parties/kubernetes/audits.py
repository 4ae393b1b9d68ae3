"""The policy pack's judgement of Kubernetes JWT authenticators, ours or hand-written.

What the pack sees of a cluster are AKS's ``JWTAuthenticator`` resources (azure-native); a
self-managed cluster's file is rendered by our component, whose rules already hold. Pure functions
of a resource's properties; errors become mandatory findings, warnings advisory ones.

An authenticator on an AWS account issuer must validate claims, pin the account
(``claims["https://sts.amazonaws.com/"].aws_account``) on every path of some rule, and map usernames
(and groups) under a prefix of their own that AKS accepts (``aks:jwt:``). Every role of the account
can mint a token of its issuer: without the pin, any of them signs in to the cluster. Two
authenticators of one cluster may not share an issuer or overlapping prefixes.

Example::

    >>> from components.relying_parties.base import AuditedResource
    >>> props = {"properties": {"issuer": {"url": "https://0f2c8b52-6a0c-4c9e-9d7e-4c1a2b3c4d5e.tokens.sts.global.api.aws",
    ...          "audiences": ["kubernetes:prod"]}, "claimMappings": {"username": {"expression": "'aks:jwt:' + claims.sub"}}}}
    >>> [v.code for v in authenticator_violations(AuditedResource(AKS_AUTHENTICATOR_TYPE, "jwt", props), {})]
    ['kubernetes.authenticator.no-claim-validation']
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

from ...rules import WARNING, Violation
from ...rules.aws import is_aws_issuer
from ...rules.facts import AWS_CLAIMS
from ..base import Audit, AuditedResource
from . import rules
from .facts import AKS_AUTHENTICATOR_TYPE, MATCH_ANY

# Hand-written prefixes that only break our house style, not Kubernetes or AKS, are worth a look, not a block.
_ADVISORY_PREFIX_CODES = ("kubernetes.prefix.format", "kubernetes.prefix.length")


def _cel_warnings(entry: Mapping[str, Any], field: str) -> list[Violation]:
    """Expressions cel-python cannot parse: the rehearsal cannot judge them (the API server may still take them)."""
    try:
        from .cel import KubernetesCel

        cel = KubernetesCel()
    except Exception:  # noqa: BLE001 - no cel-python here: the pack judges what it can without it
        return []
    found = []
    for where, expression in rules.authenticator_expressions(entry).items():
        try:
            cel.check(expression)
        except cel.CelError as error:
            found.append(Violation(f"{field}.{where}", expression, f"does not parse as CEL here ({error}); check it, "
                                                                   "the rehearsal cannot judge this authenticator",
                                   WARNING, code="kubernetes.cel.unparsed"))
    return found


def _prefix_violations(mapping: Any, field: str, what: str) -> list[Violation]:
    prefix = rules.mapping_prefix(mapping)
    if prefix is None and isinstance(mapping, Mapping) and what == "groups":
        return [Violation(field, mapping.get("expression"), "does not start with a fixed prefix this pack can read: make "
                                                            "sure every group it maps starts with aks:jwt:",
                          WARNING, code="kubernetes.authenticator.groups-prefix-unknown")]
    if not prefix:
        return [Violation(field, (mapping or {}).get("expression") if isinstance(mapping, Mapping) else mapping,
                          f"maps {what} with no fixed prefix: they can collide with every other authenticator's and with "
                          "Kubernetes' own; start the expression with a prefix literal, e.g. 'aks:jwt:aws:' + ...",
                          code="kubernetes.authenticator.unprefixed")]
    return [replace(v, severity=WARNING) if v.code in _ADVISORY_PREFIX_CODES else v
            for v in rules.check_prefix(prefix, field, aks=True)]


def authenticator_violations(resource: AuditedResource, config: Mapping[str, Any]) -> list[Violation]:
    if resource.type != AKS_AUTHENTICATOR_TYPE:
        return []
    name = resource.name
    properties = resource.props.get("properties") or {}
    entry = rules.authenticator_of_aks(properties)
    issuer = entry["issuer"].get("url")
    if not is_aws_issuer(issuer):
        return []  # another issuer (GitHub Actions, say): our AWS rules do not apply to it
    where = f"{name}.properties"
    # AKS sets the match policy itself; several audiences are fine there, each exact.
    found = rules.check_audiences(entry["issuer"].get("audiences"), MATCH_ANY, f"{where}.issuer.audiences")
    allowed = (config.get("allowedAudiences") or {}).get("kubernetes")
    for audience in entry["issuer"].get("audiences") or []:
        if allowed is not None and audience not in allowed:
            found.append(Violation(f"{where}.issuer.audiences", audience, "is not an allowed audience for Kubernetes",
                                   code="kubernetes.audience.not-allowed"))
    validation = entry["claimValidationRules"]
    if not validation:
        found.append(Violation(
            f"{where}.claimValidationRules", validation,
            "is missing: without claim validation any role of the account behind this issuer signs in to the cluster; "
            f"pin claims['{AWS_CLAIMS}'].aws_account and the trusted role ARNs", code="kubernetes.authenticator.no-claim-validation"))
    elif not rules.rules_pin_account(validation):
        found.append(Violation(
            f"{where}.claimValidationRules", [r.get("expression") for r in validation if isinstance(r, Mapping)],
            f"do not pin the AWS account on every path: add a rule claims['{AWS_CLAIMS}'].aws_account == '<12 digits>' "
            "(with no || alternative that skips it)", code="kubernetes.authenticator.account-unpinned"))
    elif not rules.rules_pin_roles(validation):
        found.append(Violation(
            f"{where}.claimValidationRules", [r.get("expression") for r in validation if isinstance(r, Mapping)],
            "pin the account but not the roles: any role of the account that can mint a token for this audience signs "
            "in; add claims.sub in [<role ARNs>]", WARNING, code="kubernetes.authenticator.roles-unpinned"))
    mappings = entry["claimMappings"]
    found += _prefix_violations(mappings.get("username"), f"{where}.claimMappings.username.expression", "usernames")
    if mappings.get("groups"):
        found += _prefix_violations(mappings["groups"], f"{where}.claimMappings.groups.expression", "groups")
    return found + _cel_warnings(entry, where)


def _cluster(resource: AuditedResource) -> tuple[str, str]:
    # ARM compares resource group and cluster names ignoring case.
    return (str(resource.props.get("resourceGroupName") or "").lower(), str(resource.props.get("resourceName") or "").lower())


def cluster_violations(resources: Sequence[AuditedResource], config: Mapping[str, Any]) -> list[tuple[str, Violation]]:
    """(URN, violation) for authenticators of one AKS cluster that share an issuer or overlapping prefixes."""
    by_cluster: dict[tuple[str, str], list[AuditedResource]] = {}
    for resource in resources:
        if resource.type == AKS_AUTHENTICATOR_TYPE:
            by_cluster.setdefault(_cluster(resource), []).append(resource)
    found: list[tuple[str, Violation]] = []
    for authenticators in by_cluster.values():
        for index, resource in enumerate(authenticators):
            entry = rules.authenticator_of_aks(resource.props.get("properties") or {})
            mine = rules.mapping_prefix(entry["claimMappings"].get("username"))
            for earlier in authenticators[:index]:
                other = rules.authenticator_of_aks(earlier.props.get("properties") or {})
                if entry["issuer"].get("url") and entry["issuer"].get("url") == other["issuer"].get("url"):
                    found.append((resource.urn, Violation(
                        f"{resource.name}.properties.issuer.url", entry["issuer"]["url"],
                        f"is also the issuer of {earlier.name} on the same cluster: Kubernetes takes one authenticator "
                        "per issuer; put both roles' rules in one", code="kubernetes.authenticator.duplicate-issuer")))
                theirs = rules.mapping_prefix(other["claimMappings"].get("username"))
                if mine and theirs and rules.prefixes_overlap(mine, theirs):
                    found.append((resource.urn, Violation(
                        f"{resource.name}.properties.claimMappings.username.expression", mine,
                        f"overlaps the username prefix {theirs!r} of {earlier.name} on the same cluster: their users "
                        "would share one namespace", code="kubernetes.authenticator.prefix-collision")))
    return found


AUDITS = (
    Audit(
        name="kubernetes-authenticators-pinned",
        description="Kubernetes JWT authenticators on an AWS issuer validate claims, pin the AWS account on every path, "
                    "and map users and groups under a prefix of their own.",
        advice="kubernetes-advice",
        advice_description="Kubernetes authenticator settings worth a reviewer's look: the account pinned but not the "
                           "roles, prefixes in an unusual form, CEL the rehearsal cannot read.",
        check=authenticator_violations,
    ),
    Audit(
        name="kubernetes-one-authenticator-per-issuer",
        description="A Kubernetes cluster has one JWT authenticator per issuer, and no two of its authenticators map "
                    "usernames under overlapping prefixes.",
        advice="kubernetes-cluster-advice",
        advice_description="Nothing advisory yet: the cluster-wide rules are all mandatory.",
        check_stack=cluster_violations,
    ),
)
JUDGED_TYPES = (AKS_AUTHENTICATOR_TYPE,)
