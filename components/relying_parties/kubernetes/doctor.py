"""``fedctl doctor`` for a Kubernetes cluster: the exported authenticator, judged on the real token.

A self-managed cluster's JWT authenticator is a file on the control plane, not an API object, so
there is nothing to read live: ``diagnose`` judges the ``authenticationConfiguration`` the stack
exported the way kube-apiserver does (kubernetes/website ``authentication.md``): ``iss`` equal to
``issuer.url``, ``aud`` one of ``issuer.audiences``, then the claim mappings, every claim
validation rule and every user validation rule, with the project's CEL evaluator
(``components/relying_parties/kubernetes/cel.py``). Whether the file on the control plane is that
one, only the API server can say: with ``--server``, step 5 asks it (a ``SelfSubjectReview``).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Mapping

from ...rules.errors import MissingDependencyError, missing_dependency
from ..diagnosis import FAIL, PASS, UNCHECKED, Refusal, Step, TokenFacts, difference, difference_step

TITLE = "Does the exported authenticator let it in (judged offline; step 5 asks the API server)"


def _configuration(exported: Mapping[str, Any]) -> Mapping[str, Any]:
    text = exported.get("authenticationConfiguration")
    if isinstance(text, Mapping):
        return text
    try:
        import yaml
    except ImportError as error:
        raise missing_dependency(error, "kubernetes") from error
    return yaml.safe_load(text or "") or {}


def diagnose(exported: Mapping[str, Any], workload: str, token: TokenFacts, options: argparse.Namespace, *,
             kind: str = "kubernetes", progress: Callable[[str], None] = lambda message: None) -> list[Step]:
    """Judge the token with the exported authenticators, the way kube-apiserver does."""
    code = "trust.authenticator"
    checked = "the exported authenticationConfiguration (workloads.<name>.kubernetes), on the token's claims"
    authenticators = [a for a in (_configuration(exported).get("jwt") or []) if isinstance(a, Mapping)]
    if not authenticators:
        return [Step(code, TITLE, UNCHECKED, checked, "the outputs hold no JWT authenticator to judge",
                     "use current outputs", "trust.no-authenticator")]
    iss = token.claims.get("iss")
    mine = [a for a in authenticators if (a.get("issuer") or {}).get("url") == iss]
    if not mine:
        urls = [str((a.get("issuer") or {}).get("url")) for a in authenticators]
        differs = difference("iss", min(urls, key=lambda url: (url.lower() != str(iss).lower(), len(url))), iss)
        return [difference_step(code, TITLE, checked, differs, relying_party="", where="no authenticator's issuer.url",
                                fix=f"set issuer.url to the AWS account's issuer exactly: {iss}")]
    taking = [a for a in mine if set(token.audiences) & set((a.get("issuer") or {}).get("audiences") or [])]
    if not taking:
        audiences = (mine[0].get("issuer") or {}).get("audiences") or [""]
        differs = difference("aud", audiences[0], token.audiences[0])
        return [difference_step(code, TITLE, checked, differs, relying_party="",
                                where="the authenticator's issuer.audiences",
                                fix="request the authenticator's audience (the stack's workloads.<name>.kubernetes.audience)",
                                details={"audiences": list(audiences)})]
    try:
        from .cel import KubernetesCel

        cel = KubernetesCel()
    except (ImportError, MissingDependencyError) as error:
        return [Step(code, TITLE, UNCHECKED, checked, f"cannot evaluate CEL here: {error}",
                     getattr(error, "install", "pip install 'outbound-federation[kubernetes]'"),
                     "trust.missing-dependency")]
    accepted, detail = cel.judge(taking[0], token.claims)
    if not accepted:
        stage, _, why = str(detail).partition(": ")
        finding = {"claim_validation": "trust.claim-rule-false", "user_validation": "trust.user-rule-false",
                   "claim_mapping": "trust.mapping-error"}.get(stage, "trust.rejected")
        sub = str(token.claims.get("sub"))
        names_role = any(sub in str(rule.get("expression", "")) for rule in taking[0].get("claimValidationRules") or [])
        found = f"the authenticator rejects the token: {stage.replace('_', ' ')} fails: {why}"
        if stage == "claim_validation" and not names_role:
            found += f". No claim validation rule names this role ({sub})"
        return [Step(code, TITLE, FAIL, checked, found,
                     "add the role's ARN to the trusted roles (the stack's kubernetes section), re-render and roll the "
                     "file out to the control plane", finding, details={"why": why, "namesRole": names_role})]
    username = detail["username"]
    expected = set((exported.get("usernames") or {}).values())
    if expected and username not in expected:
        return [Step(code, TITLE, FAIL, checked,
                     f"the token signs in as {username!r}, not one of the exported usernames {sorted(expected)}",
                     "bind RBAC to the username the mapping gives, or fix the mapping", "trust.username-differs",
                     details={"username": username})]
    return [Step(code, TITLE, PASS, checked, f"the authenticator lets it in as {username}"
                 + (f", groups {detail['groups']}" if detail.get("groups") else ""), details={"username": username})]


def explain_refusal(error: Any) -> Refusal | None:
    """The API server's answer to the SelfSubjectReview (step 5): its cause and fix."""
    code = getattr(error, "code", "")
    if code == "kubernetes-refused":
        return Refusal("exchange.kubernetes-refused",
                       "the API server's authenticators do not accept the token: if step 4 passed, the file on the "
                       "control plane is not the exported one (or kube-apiserver has not reloaded it)",
                       "roll the exported authenticationConfiguration out to the control plane")
    if code == "kubernetes-other-user":
        return Refusal("exchange.kubernetes-other-user", "another authenticator of the cluster took the token",
                       "give the authenticators distinct issuers or username prefixes")
    return None


__all__ = ["diagnose", "explain_refusal"]
