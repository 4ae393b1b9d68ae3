"""The trust rehearsal: prove, before anyone deploys, that each planned trust lets in exactly its roles.

A local issuer with AWS's shapes (RSA key published without ``alg``, an EC P-384 key, AWS's kids,
the nested ``https://sts.amazonaws.com/`` claims, ``aud`` as a string) serves its keys on
127.0.0.1 and mints tokens for every planned role. Every planned relying party judges them by
its documented rules:

- Entra (app or managed identity credential): RS256 only; issuer, subject and audience equal to
  the credential's, exactly and case-sensitively; not expired.
- GCP (workload identity provider): the issuer; the audience (the allowed ones, or the
  provider's name with or without ``https:``); the attribute mapping and condition evaluated by
  a real CEL implementation; then ``roles/iam.workloadIdentityUser`` for the mapped principal.

Each (relying party, trusted role) gets five cases: the intended role with the intended audience
must be accepted; a neighbouring role of the same account, the same role name in another
account, another audience and an expired token must be rejected. A case whose outcome differs
from its expectation is a wrong cell, and a wrong cell fails the preview. Tokens never leave
this module: only outcomes and reasons do.

Example::

    result = rehearse(run)
    print(result.wrong_cells)
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from components.rules import aws as aws_rules
from components.rules import gcp as gcp_rules

from .cel import CelJudge
from ..errors import TokenRejected
from ..testing.issuer import LocalIssuer
from ..verify import TokenVerifier

ACCEPT, REJECT = "accept", "reject"
INTENDED = "intended role and audience"
SCENARIOS = (INTENDED, "neighbouring role", "same role, another account", "another audience", "expired token")
OPEN_DOOR = "any role of the account"
UNRELATED_AUDIENCE = "https://unrelated.example.com"
APP_CREDENTIAL = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
IDENTITY_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
GCP_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
GCP_MEMBER_TYPES = ("gcp:serviceaccount/iAMMember:IAMMember", "gcp:projects/iAMMember:IAMMember")
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\x21-\x7e]*?[\w+=,.@-]+(?=['\"\s,\]]|$)")


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str


@dataclass(frozen=True)
class Case:
    relying_party: str
    role: str
    scenario: str
    expected: str
    outcome: str
    reason: str

    @property
    def ok(self) -> bool:
        return self.expected == self.outcome

    def to_json(self) -> dict[str, Any]:
        return {"relyingParty": self.relying_party, "role": self.role, "scenario": self.scenario,
                "expected": self.expected, "outcome": self.outcome, "reason": self.reason, "ok": self.ok}


@dataclass
class RehearsalResult:
    cases: list[Case] = field(default_factory=list)
    tokens_minted: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def wrong_cells(self) -> list[Case]:
        return [case for case in self.cases if not case.ok]

    def to_json(self) -> dict[str, Any]:
        return {"cases": [c.to_json() for c in self.cases], "wrongCells": len(self.wrong_cells),
                "tokensMinted": self.tokens_minted, "notes": self.notes}


# -- relying-party judges -------------------------------------------------------------------------

@dataclass
class RelyingPartyJudge:
    """One planned relying party: its name, issuer, trusted roles, the audience to ask for, its rules."""

    name: str
    issuer: str
    roles: list[str]
    audience: str
    judge: Callable[[str, Mapping[str, Any]], Verdict]
    rs256_only: bool = False


def _verify(token: str, issuer: str, audiences: list[str], jwks: Mapping[str, Any], algorithms: tuple[str, ...],
            subjects: list[str] | None = None) -> tuple[dict[str, Any] | None, str]:
    try:
        verifier = TokenVerifier(issuer, audiences, algorithms=algorithms, subjects=subjects, jwks=jwks, leeway=0)
        return verifier.verify(token), ""
    except TokenRejected as rejection:
        return None, rejection.reason
    except ValueError as error:  # an issuer no verifier would accept (not https, a path, ...)
        return None, f"unusable issuer ({error})"


def entra_judge(name: str, inputs: Mapping[str, Any]) -> RelyingPartyJudge:
    issuer, subject = inputs.get("issuer", ""), inputs.get("subject", "")
    audiences = list(inputs.get("audiences") or [])

    def judge(token: str, jwks: Mapping[str, Any]) -> Verdict:
        if len(audiences) != 1:
            return Verdict(False, "credential has no single audience")
        claims, reason = _verify(token, issuer, audiences, jwks, ("RS256",), [subject])
        return Verdict(True, "matches the federated credential") if claims else Verdict(False, reason)

    return RelyingPartyJudge(name, issuer, [subject], audiences[0] if audiences else "", judge, rs256_only=True)


def gcp_judge(name: str, provider: Mapping[str, Any], provider_name: str, members: set[str],
              cel: CelJudge) -> RelyingPartyJudge:
    oidc = provider.get("oidc") or {}
    issuer = oidc.get("issuerUri", "")
    allowed = list(oidc.get("allowedAudiences") or [])
    audiences = allowed or [f"//{gcp_rules.IAM_HOST}/{provider_name}", f"https://{gcp_rules.IAM_HOST}/{provider_name}"]
    mapping = dict(provider.get("attributeMapping") or {})
    condition = provider.get("attributeCondition") or ""
    pool = provider_name.split("/providers/")[0]

    def judge(token: str, jwks: Mapping[str, Any]) -> Verdict:
        claims, reason = _verify(token, issuer, audiences, jwks, tuple(aws_rules.SIGNING_ALGORITHMS))
        if claims is None:
            return Verdict(False, reason)
        attributes = cel.map_attributes(mapping, claims) if mapping else {}
        if condition and cel.outcome(condition, claims, mapping) is not True:
            return Verdict(False, "attribute condition")
        subject = attributes.get("google.subject")
        principal = f"principal://{gcp_rules.IAM_HOST}/{pool}/subject/{subject}"
        granted = {principal, f"principalSet://{gcp_rules.IAM_HOST}/{pool}/*"}
        granted |= {f"principalSet://{gcp_rules.IAM_HOST}/{pool}/{key}/{value}"
                    for key, value in attributes.items() if key.startswith("attribute.")}
        if not granted & members:
            return Verdict(False, "no workloadIdentityUser binding for its principal")
        return Verdict(True, f"impersonates as {subject}")

    roles = list(dict.fromkeys(m.group(0) for m in _ROLE_ARN.finditer(condition)))
    return RelyingPartyJudge(name, issuer, roles, allowed[0] if allowed else audiences[1], judge)


def relying_parties(registrations: Iterable[Any], cel: CelJudge) -> list[RelyingPartyJudge]:
    registrations = list(registrations)
    members = {r.inputs.get("member") for r in registrations
               if r.type in GCP_MEMBER_TYPES and r.inputs.get("role") == gcp_rules.WORKLOAD_IDENTITY_USER}
    found = []
    for r in registrations:
        if r.type in (APP_CREDENTIAL, IDENTITY_CREDENTIAL):
            kind = "Entra app" if r.type == APP_CREDENTIAL else "managed identity"
            found.append(entra_judge(f"{kind} credential {r.name}", r.inputs))
        elif r.type == GCP_PROVIDER and (r.inputs.get("oidc") or {}).get("issuerUri"):
            provider_name = r.outputs.get("name") or r.id
            found.append(gcp_judge(f"GCP provider {r.name}", r.inputs, provider_name, members, cel))
    return found


# -- the rehearsal --------------------------------------------------------------------------------

def _other_account(account: str) -> str:
    return "999999999999" if account != "999999999999" else "111111111111"


def _role_algorithms(registrations: list[Any]) -> dict[str, list[str]]:
    """Role ARN -> the algorithms its token policy allows (roles without a visible policy: absent)."""
    names = {r.outputs.get("name"): r.outputs.get("arn") for r in registrations if r.type == "aws:iam/role:Role"}
    found: dict[str, list[str]] = {}
    for r in registrations:
        if r.type == ROLE_POLICY and names.get(r.inputs.get("role")):
            allowed = aws_rules.token_grant_algorithms(r.inputs.get("policy"))
            if allowed:
                found[names[r.inputs.get("role")]] = allowed
    return found


def actual_role(subject: str, planned_roles: Iterable[str]) -> str:
    """The ARN STS will put in ``sub`` for the role a trust names.

    IAM role names are unique within an account whatever their path, so a subject names exactly
    one planned role. A subject rebuilt from the name alone (``role/<name>``, path lost) still
    points at that role, whose tokens carry the real ARN: that is the token to rehearse with.
    """
    named = aws_rules.parse_role_arn(subject)
    if named is None:
        return subject
    for arn in planned_roles:
        planned = aws_rules.parse_role_arn(arn)
        if planned and (planned.account_id, planned.name) == (named.account_id, named.name):
            return arn
    return subject


def _fetch_jwks(issuer: LocalIssuer) -> dict[str, Any]:
    """Read the keys the way a relying party does: discovery, then the JWKS, over HTTP."""
    with urllib.request.urlopen(f"{issuer.url}/.well-known/openid-configuration", timeout=5) as response:
        discovery = json.load(response)
    jwks_path = discovery["jwks_uri"].split("/.well-known/", 1)[1]
    with urllib.request.urlopen(f"{issuer.url}/.well-known/{jwks_path}", timeout=5) as response:
        return json.load(response)


def rehearse(run: Any, *, now: float | None = None) -> RehearsalResult:
    """Judge a token of every (relying party, role, scenario) of a planned run."""
    registrations = list(run.monitor.registrations.values())
    cel = CelJudge()
    parties = relying_parties(registrations, cel)
    result = RehearsalResult()
    if not parties:
        result.notes.append("no relying party (Azure credential or GCP provider) in the plan")
        return result
    planned_roles = [r.outputs.get("arn") for r in registrations if r.type == "aws:iam/role:Role" and r.outputs.get("arn")]
    algorithms = _role_algorithms(registrations)
    now = time.time() if now is None else now
    issuers: dict[str, LocalIssuer] = {}
    keys: dict[str, dict[str, Any]] = {}
    for party in parties:
        if party.issuer not in issuers:
            local = LocalIssuer(party.issuer if party.issuer else None)
            with local.serve(lifetime=60):
                keys[party.issuer] = _fetch_jwks(local)
            issuers[party.issuer] = local

    for party in parties:
        local, jwks = issuers[party.issuer], keys[party.issuer]
        if not party.roles:
            # A party that names no role may let in every role of the account: knock on the door.
            account = next((r.split(":")[4] for r in planned_roles), "123456789012")
            probe = next(iter(planned_roles), f"arn:aws:iam::{account}:role/any-role")
            token = local.mint(probe, party.audience, now=now, account=account)
            result.tokens_minted += 1
            verdict = party.judge(token, jwks)
            result.cases.append(Case(party.name, probe, OPEN_DOOR, REJECT,
                                     ACCEPT if verdict.accepted else REJECT, verdict.reason))
            result.notes.append(f"{party.name}: names no trusted role ARN, so any role of the account was tried")
        for trusted in party.roles:
            role = actual_role(trusted, planned_roles)
            parsed = aws_rules.parse_role_arn(role)
            if parsed is None:
                result.notes.append(f"{party.name}: trusts {role!r}, which is not a role ARN")
                continue
            if role != trusted:
                result.notes.append(f"{party.name}: trusts {trusted}, but that role's tokens carry {role}")
            allowed = algorithms.get(role, ["RS256"])
            algorithm = "RS256" if "RS256" in allowed else allowed[0]
            neighbour = next((r for r in planned_roles if r not in party.roles and
                              r.split(":")[4] == parsed.account_id),
                             f"arn:{parsed.partition}:iam::{parsed.account_id}:role{parsed.path}{parsed.name}-neighbour")
            other = _other_account(parsed.account_id)
            tokens = {
                INTENDED: dict(sub=role, aud=party.audience, account=parsed.account_id),
                "neighbouring role": dict(sub=neighbour, aud=party.audience, account=parsed.account_id),
                "same role, another account": dict(sub=role.replace(f"::{parsed.account_id}:", f"::{other}:"),
                                                   aud=party.audience, account=other),
                "another audience": dict(sub=role, aud=UNRELATED_AUDIENCE, account=parsed.account_id),
                "expired token": dict(sub=role, aud=party.audience, account=parsed.account_id,
                                      now=now - 900, lifetime=300),
            }
            for scenario, claims in tokens.items():
                token = local.mint(claims.pop("sub"), claims.pop("aud"), algorithm=algorithm,
                                   now=claims.pop("now", now), **claims)
                result.tokens_minted += 1
                verdict = party.judge(token, jwks)
                expected = ACCEPT if scenario == INTENDED else REJECT
                reason = verdict.reason
                if scenario == INTENDED and algorithm != "RS256" and party.rs256_only:
                    reason += f" (the role may only request {algorithm}; Entra accepts RS256 alone)"
                result.cases.append(Case(party.name, role, scenario, expected,
                                         ACCEPT if verdict.accepted else REJECT, reason))
    return result
