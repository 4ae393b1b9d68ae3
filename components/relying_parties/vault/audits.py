"""The policy pack's judgement of Vault JWT auth mounts and roles, ours or hand-written.

Pure functions of the resources' properties (camelCase, as the engine records pulumi-vault's
inputs). A mount is judged when it trusts an AWS account issuer; a role when its mount (found by
path in the same stack) does, or, for a mount outside the stack, when the role itself is about AWS
(an AWS role ARN as subject, AWS's claims in its keys).

Example::

    >>> from components.relying_parties.base import AuditedResource
    >>> issuer = "https://0b1f6a4e-3c2d-4e5f-9a8b-7c6d5e4f3a2b.tokens.sts.global.api.aws"
    >>> [v.code for v in backend_violations(AuditedResource(
    ...     AUTH_BACKEND_TYPE, "m", {"oidcDiscoveryUrl": issuer, "jwtSupportedAlgs": ["RS256"]}), {})]
    ['vault.backend.no-bound-issuer']
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from ...rules import ERROR, WARNING, Violation
from ...rules import aws as aws_rules
from ...rules.facts import SIGNING_ALGORITHMS
from ..base import Audit, AuditedResource
from . import api
from .facts import (
    AUTH_BACKEND_TYPE,
    RESERVED_METADATA_KEYS,
    ROLE_TYPE,
    ROLE_TYPE_JWT,
    SERVER_DEFAULT_ROLE_TYPE,
    USER_CLAIM,
)
from .rules import ACCOUNT_POINTER, SUB_KEYS, check_pointer_key, is_non_scalar_aws_claim, written_bound_claims

_ACCOUNT = re.compile(r"^\d{12}$")


def _issuer_of(props: Mapping[str, Any]) -> Any:
    return props.get("boundIssuer") or props.get("oidcDiscoveryUrl")


def trusts_aws(props: Mapping[str, Any]) -> bool:
    """Does this mount take tokens of an AWS account issuer (by its issuer, discovery or JWKS URL)?"""
    jwks = props.get("jwksUrl")
    return any(aws_rules.is_aws_issuer(value) for value in (props.get("boundIssuer"), props.get("oidcDiscoveryUrl"))) \
        or (isinstance(jwks, str) and aws_rules.is_aws_issuer(jwks.split("/.well-known/")[0]))


def backend_violations(resource: AuditedResource, config: Mapping[str, Any]) -> list[Violation]:
    """A mount on an AWS issuer binds that issuer exactly (without it Vault checks no ``iss``) and pins
    the algorithms AWS signs with."""
    if resource.type != AUTH_BACKEND_TYPE or not trusts_aws(resource.props):
        return []
    props, name = resource.props, resource.name
    found: list[Violation] = []
    bound, discovery = props.get("boundIssuer"), props.get("oidcDiscoveryUrl")
    if not bound:
        found.append(Violation(
            f"{name}.boundIssuer", bound,
            f"is missing: without it Vault does not check iss at all, so any token a trusted key signed gets in "
            f"whatever its issuer; set it to the issuer exactly ({discovery or 'the AWS account issuer'})",
            code="vault.backend.no-bound-issuer"))
    else:
        found += aws_rules.check_issuer(bound, f"{name}.boundIssuer")
        if discovery and discovery != bound:
            found.append(Violation(
                f"{name}.boundIssuer", bound,
                f"differs from oidcDiscoveryUrl {discovery!r}: tokens carry the discovery issuer, so Vault refuses "
                "every login", code="vault.backend.issuer-mismatch"))
    algorithms = props.get("jwtSupportedAlgs")
    if not algorithms:
        found.append(Violation(
            f"{name}.jwtSupportedAlgs", algorithms,
            "is not set: Vault then accepts every asymmetric algorithm for JWT logins; pin RS256 and ES384, the "
            "algorithms AWS signs with", WARNING, code="vault.backend.algorithms-unpinned"))
    elif not set(algorithms) & set(SIGNING_ALGORITHMS):
        found.append(Violation(
            f"{name}.jwtSupportedAlgs", algorithms, "allows neither RS256 nor ES384: no AWS token can log in",
            code="vault.backend.no-aws-algorithm"))
    return found


def _mentions_aws(props: Mapping[str, Any]) -> bool:
    keys = list((props.get("boundClaims") or {}).keys()) + list((props.get("claimMappings") or {}).keys())
    return bool(aws_rules.parse_role_arn(props.get("boundSubject"))) or any("sts.amazonaws.com" in str(k) for k in keys)


def _account_pinned(values: Sequence[str], glob: bool) -> bool:
    return bool(values) and all(_ACCOUNT.match(v or "") for v in values) and not (glob and any("*" in v for v in values))


def role_violations(resource: AuditedResource) -> list[Violation]:
    """One role on an AWS mount: a jwt role, an audience, the account pinned, no glob on sub, pointers
    Vault can follow, scalar claim mappings."""
    props, name = resource.props, resource.name
    found: list[Violation] = []
    role_type = props.get("roleType") or SERVER_DEFAULT_ROLE_TYPE
    if role_type != ROLE_TYPE_JWT:
        found.append(Violation(f"{name}.roleType", props.get("roleType"),
                               f"is {role_type!r}{' (the default)' if not props.get('roleType') else ''}: Vault refuses "
                               "every JWT login to an oidc role; set roleType: jwt", code="vault.role.type"))
    if not props.get("boundAudiences"):
        found.append(Violation(f"{name}.boundAudiences", props.get("boundAudiences"),
                               "is empty: AWS tokens always carry aud, and Vault refuses them all; bind the audience "
                               "the AWS role pins", code="vault.role.no-audience"))
    glob = props.get("boundClaimsType") == "glob"
    raw = props.get("boundClaims") or {}
    claims = written_bound_claims(raw, bool(props.get("disableBoundClaimsParsing")))
    for key, values in claims.items():
        where = f"{name}.boundClaims.{key}"
        found += check_pointer_key(key, where)
        if glob and key in SUB_KEYS and any("*" in v for v in values):
            found.append(Violation(where, values, "is a glob on sub: patterns over role ARNs let in roles nobody "
                                                  "listed (role/*my-role also matches not-my-role); bind each role "
                                                  "exactly with boundSubject", code="vault.role.glob-sub"))
        if not props.get("disableBoundClaimsParsing") and "," in str(raw.get(key, "")):
            found.append(Violation(where, raw.get(key), f"is split on commas by pulumi-vault into {len(values)} "
                                                        "allowed values; set disableBoundClaimsParsing if the comma "
                                                        "is part of one value", WARNING, code="vault.bound-claims.split"))
    subject = aws_rules.parse_role_arn(props.get("boundSubject"))
    exact_sub = [v for key in SUB_KEYS for v in claims.get(key, []) if not glob and aws_rules.parse_role_arn(v)]
    accounts = claims.get(ACCOUNT_POINTER, [])
    if not _account_pinned(accounts, glob):
        pinned_by_sub = subject is not None or bool(exact_sub)
        found.append(Violation(
            f"{name}.boundClaims", sorted(claims),
            f"does not pin AWS's aws_account claim ({ACCOUNT_POINTER}) to a 12-digit account"
            + ("; the subject names the account, but pin the claim too" if pinned_by_sub else
               ": any principal of any account behind this mount's issuer gets in"),
            WARNING if pinned_by_sub else ERROR, code="vault.role.account-unpinned"))
    elif subject is not None and subject.account_id not in accounts:
        found.append(Violation(f"{name}.boundSubject", props.get("boundSubject"),
                               f"belongs to account {subject.account_id}, which the aws_account pin {accounts} "
                               "excludes: no token can log in", code="vault.role.account-mismatch"))
    if subject is None and not exact_sub:
        found.append(Violation(f"{name}.boundSubject", props.get("boundSubject"),
                               "is not a role ARN: every role of the pinned account that can request this audience "
                               "gets in; bind the trusted role's ARN (path included)", WARNING,
                               code="vault.role.roles-unpinned"))
    for key, target in (props.get("claimMappings") or {}).items():
        where = f"{name}.claimMappings.{key}"
        problems = check_pointer_key(key, where)
        found += problems
        if not problems and is_non_scalar_aws_claim(str(key)):
            found.append(Violation(where, key, "is a list or an object in AWS tokens: Vault fails every login to "
                                               "this role ('error converting claim ... to string')",
                                   code="vault.claim-mappings.non-scalar"))
        if target in RESERVED_METADATA_KEYS:
            found.append(Violation(where, target, "is reserved: Vault refuses the role", code="vault.claim-mappings.reserved"))
    if (props.get("userClaim") or USER_CLAIM) != USER_CLAIM:
        found.append(Violation(f"{name}.userClaim", props.get("userClaim"),
                               "is not sub: roles of the account then share one Vault entity (and its metadata)",
                               WARNING, code="vault.role.user-claim"))
    return found


def roles_violations(resources: Sequence[AuditedResource], config: Mapping[str, Any]) -> list[tuple[str, Violation]]:
    """(role URN, violation) for each role whose mount trusts an AWS issuer, or that is about AWS."""
    mounts = {api.mount_path(r.props): r.props for r in resources if r.type == AUTH_BACKEND_TYPE and r.props}
    found = []
    for role in resources:
        if role.type != ROLE_TYPE or not role.props:
            continue
        mount = mounts.get(api.role_mount(role.props))
        if (mount is not None and trusts_aws(mount)) or (mount is None and _mentions_aws(role.props)):
            found += [(role.urn, violation) for violation in role_violations(role)]
    return found


AUDITS = (
    Audit(
        name="vault-jwt-issuer-bound",
        description="Vault JWT auth mounts on an AWS issuer bind it exactly (bound_issuer), so Vault checks iss.",
        advice="vault-jwt-advice",
        advice_description="Vault JWT auth mounts on an AWS issuer worth a reviewer's look: algorithms not pinned.",
        check=backend_violations,
    ),
    Audit(
        name="vault-jwt-roles-pinned",
        description="Vault JWT roles trusting AWS are jwt roles with an audience that pin the account (aws_account) "
                    "and never glob sub, with pointers Vault can follow and scalar claim mappings.",
        advice="vault-jwt-roles-advice",
        advice_description="Vault JWT roles trusting AWS worth a reviewer's look: roles not pinned, the account "
                           "pinned only through sub, values pulumi-vault splits on commas, a user claim other than sub.",
        check_stack=roles_violations,
    ),
)
JUDGED_TYPES = (AUTH_BACKEND_TYPE, ROLE_TYPE)
