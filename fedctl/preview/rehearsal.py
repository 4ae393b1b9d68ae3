"""The trust rehearsal: prove, before anyone deploys, that each planned trust lets in exactly its roles.

A local issuer with AWS's shapes (RSA key published without ``alg``, an EC P-384 key, AWS's kids,
the nested ``https://sts.amazonaws.com/`` claims, ``aud`` as a string) serves its keys on
127.0.0.1 and mints tokens for every planned role. Every relying party in the run (each kind's
``PlannedTrust``, ours or hand-written) judges them by its own rules, with its trusted roles read
as data.

Each (relying party, trusted role) gets five cases. The intended role asks for the party's
audience, with an algorithm the party accepts and a lifetime within the role's cap, exactly as the
workload will; that request is first evaluated against the role's real token policy (STS would
refuse what the policy does not allow), then the token must be accepted. A neighbouring role of
the same account, the same role name in another account, another audience and an expired token
must be rejected. A case whose outcome differs from its expectation is a wrong cell, and a wrong
cell fails the preview. A role whose token policy this program does not attach (an IAM Identity
Center role) is a *manual step pending*, never a green accept. Tokens never leave this module:
only outcomes and reasons do.

Example::

    result = rehearse(run)
    print(result.wrong_cells, result.pending)
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Iterable

from components.relying_parties import PlannedTrust
from components.rules import aws as aws_rules
from components.rules.facts import DEFAULT_DURATION_SECONDS, DISCOVERY_PATH
from components.rules.policy_audits import TokenRequest, duration_cap, evaluate_token_request, token_grant_algorithms

from ..testing.issuer import LocalIssuer
from .review import Review

ACCEPT, REJECT, PENDING = "accept", "reject", "pending"
INTENDED = "intended role and audience"
SCENARIOS = (INTENDED, "neighbouring role", "same role, another account", "another audience", "expired token")
OPEN_DOOR = "any role of the account"
UNRELATED_AUDIENCE = "https://unrelated.example.com"


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
        return self.expected == self.outcome or self.outcome == PENDING

    @property
    def pending(self) -> bool:
        return self.outcome == PENDING

    def to_json(self) -> dict[str, Any]:
        return {"relyingParty": self.relying_party, "role": self.role, "scenario": self.scenario,
                "expected": self.expected, "outcome": self.outcome, "reason": self.reason, "ok": self.ok}


@dataclass
class RehearsalResult:
    cases: list[Case] = field(default_factory=list)
    tokens_minted: int = 0
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Relying parties in the run that were not judged, each with why."""
    judges: dict[str, str] = field(default_factory=dict)
    """Relying party -> what judged it (the documented rules, a real server, ...)."""

    @property
    def wrong_cells(self) -> list[Case]:
        return [case for case in self.cases if not case.ok]

    @property
    def pending(self) -> list[Case]:
        return [case for case in self.cases if case.pending]

    def to_json(self) -> dict[str, Any]:
        return {"cases": [c.to_json() for c in self.cases], "wrongCells": len(self.wrong_cells),
                "pending": len(self.pending), "tokensMinted": self.tokens_minted, "notes": self.notes,
                "skipped": self.skipped, "judges": self.judges}


def _other_account(account: str) -> str:
    return "999999999999" if account != "999999999999" else "111111111111"


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
    with urllib.request.urlopen(f"{issuer.url}{DISCOVERY_PATH}", timeout=5) as response:
        discovery = json.load(response)
    jwks_path = discovery["jwks_uri"].split("/.well-known/", 1)[1]
    with urllib.request.urlopen(f"{issuer.url}/.well-known/{jwks_path}", timeout=5) as response:
        return json.load(response)


def workload_request(review: Review, trust: PlannedTrust, role: str) -> tuple[TokenRequest, list[Any] | None]:
    """The request the workload will send for this trust: the party's audience, an algorithm the
    party accepts that the role may request, a lifetime within the role's cap (300 s, the runtime's
    default, or less). With the role's token policies as the run has them (None: not visible)."""
    documents = review.token_policies(role)
    allowed = set(token_grant_algorithms(documents[0]) or []) if documents and len(documents) == 1 else None
    if documents and len(documents) > 1:
        allowed = {a for d in documents for a in (token_grant_algorithms(d) or [])}
    algorithm = next((a for a in trust.accepted_algorithms if not allowed or a in allowed), trust.accepted_algorithms[0])
    cap = duration_cap(documents or [])
    duration = min(DEFAULT_DURATION_SECONDS, cap) if cap else DEFAULT_DURATION_SECONDS
    parsed = aws_rules.parse_role_arn(role)
    return TokenRequest((trust.audience,), algorithm, duration, account_id=parsed.account_id if parsed else None), documents


def _judge_policy(trust: PlannedTrust, role: str, request: TokenRequest, documents: list[Any] | None) -> Case | None:
    """The intended case when STS would not mint the token (or we cannot know); None when it would."""
    if documents is None:
        parsed = aws_rules.parse_role_arn(role)
        where = ("it is an IAM Identity Center role: paste the stack's workloads.<name>.tokenPolicy output into its "
                 "permission set" if parsed and parsed.is_identity_center else
                 "its token policy is not part of this program: attach one that allows "
                 f"{request.describe()}")
        return Case(trust.relying_party, role, INTENDED, ACCEPT, PENDING, where)
    if any(not isinstance(document, (str, dict)) for document in documents):
        return Case(trust.relying_party, role, INTENDED, ACCEPT, REJECT,
                    "cannot tell offline whether STS would mint it: the role's token policy is only known after "
                    "deployment")
    decision = evaluate_token_request(documents, request)
    if decision.allowed:
        return None
    if not decision.determinate:
        return Case(trust.relying_party, role, INTENDED, ACCEPT, REJECT,
                    f"cannot tell offline whether STS would mint it: {decision.reason}")
    return Case(trust.relying_party, role, INTENDED, ACCEPT, REJECT, f"STS would refuse the token: {decision.reason}")


def rehearse(run: Any, *, now: float | None = None, review: Review | None = None) -> RehearsalResult:
    """Judge a token of every (relying party, role, scenario) of a planned run.

    Without a ``review``, it makes its own and closes it when done, so whatever the judges started
    for it (a server) is stopped; a caller's review is the caller's to close.
    """
    if review is None:
        with Review(run.monitor.registrations.values()) as own:
            return rehearse(run, now=now, review=own)
    trusts = review.trusts()
    result = RehearsalResult()
    for trust in trusts:
        if trust.judge is None:
            result.skipped.append(f"{trust.relying_party}: not judged: {trust.skipped or 'no judge for it'}")
        else:
            result.judges[trust.relying_party] = trust.judged_by or "its documented rules"
    judged = [t for t in trusts if t.judge is not None]
    if not judged:
        result.notes.append("no relying party of an AWS account issuer in the plan: nothing to rehearse")
        return result
    planned_roles = review.planned_roles
    now = time.time() if now is None else now
    issuers: dict[str, LocalIssuer] = {}
    keys: dict[str, dict[str, Any]] = {}
    for trust in judged:
        if trust.issuer not in issuers:
            local = LocalIssuer(trust.issuer or None)
            with local.serve(lifetime=60):
                keys[trust.issuer] = _fetch_jwks(local)
            issuers[trust.issuer] = local

    for trust in judged:
        local, jwks = issuers[trust.issuer], keys[trust.issuer]
        if not trust.roles:
            # A party that names no role may let in every role of the account: knock on the door.
            account = next((r.split(":")[4] for r in planned_roles), "123456789012")
            probe = next(iter(planned_roles), f"arn:aws:iam::{account}:role/any-role")
            token = local.mint(probe, trust.audience, algorithm=trust.accepted_algorithms[0], now=now, account=account,
                               aws_claims=trust.account_claims)
            result.tokens_minted += 1
            verdict = trust.judge(token, jwks)
            result.cases.append(Case(trust.relying_party, probe, OPEN_DOOR, REJECT,
                                     ACCEPT if verdict.accepted else REJECT, verdict.reason))
            result.notes.append(f"{trust.relying_party}: names no trusted role, so any role of the account was tried")
        if trust.account_claims:
            result.notes.append(f"{trust.relying_party}: its tokens carry {', '.join(sorted(trust.account_claims))} "
                                "as it pins them: only the real account can show these claims")
        for trusted in trust.roles:
            _rehearse_role(result, review, trust, trusted, planned_roles, local, jwks, now)
    return result


def _rehearse_role(result: RehearsalResult, review: Review, trust: PlannedTrust, trusted: str,
                   planned_roles: list[str], local: LocalIssuer, jwks: dict[str, Any], now: float) -> None:
    role = actual_role(trusted, planned_roles)
    parsed = aws_rules.parse_role_arn(role)
    if parsed is None:
        result.notes.append(f"{trust.relying_party}: trusts {role!r}, which is not a role ARN")
        return
    if role != trusted:
        result.notes.append(f"{trust.relying_party}: trusts {trusted}, but that role's tokens carry {role}")
    request, documents = workload_request(review, trust, role)
    refused = _judge_policy(trust, role, request, documents)
    guardrails, maybe = review.guardrails(role)
    if refused is None and guardrails:
        # The organisation's SCP is evaluated with the role's own policy: its Deny wins.
        decision = evaluate_token_request(list(documents or []) + guardrails, request)
        if not decision.allowed:
            refused = Case(trust.relying_party, role, INTENDED, ACCEPT, REJECT,
                           f"the organisation's service control policy would refuse the token: {decision.reason}")
    result.notes += [f"{trust.relying_party}: {note}" for note in maybe if f"{trust.relying_party}: {note}" not in
                     result.notes]
    neighbour = next((r for r in planned_roles if r not in trust.roles and r.split(":")[4] == parsed.account_id),
                     f"arn:{parsed.partition}:iam::{parsed.account_id}:role{parsed.path}{parsed.name}-neighbour")
    other = _other_account(parsed.account_id)
    tokens = {
        INTENDED: dict(sub=role, aud=trust.audience, account=parsed.account_id),
        "neighbouring role": dict(sub=neighbour, aud=trust.audience, account=parsed.account_id),
        "same role, another account": dict(sub=role.replace(f"::{parsed.account_id}:", f"::{other}:"),
                                           aud=trust.audience, account=other),
        "another audience": dict(sub=role, aud=UNRELATED_AUDIENCE, account=parsed.account_id),
        "expired token": dict(sub=role, aud=trust.audience, account=parsed.account_id, now=now - 900, lifetime=300),
    }
    for scenario, claims in tokens.items():
        token = local.mint(claims.pop("sub"), claims.pop("aud"), algorithm=request.algorithm,
                           now=claims.pop("now", now), lifetime=claims.pop("lifetime", request.duration_seconds),
                           aws_claims=trust.account_claims, **claims)
        result.tokens_minted += 1
        verdict = trust.judge(token, jwks)
        if scenario == INTENDED:
            if refused is not None:
                # STS would not mint it (or only after a manual step): that decides the cell; the
                # relying party's own verdict is shown beside it when it refuses too.
                reason = refused.reason if verdict.accepted else f"{refused.reason}; the relying party: {verdict.reason}"
                result.cases.append(Case(trust.relying_party, role, INTENDED, ACCEPT, refused.outcome, reason))
            else:
                result.cases.append(Case(trust.relying_party, role, INTENDED, ACCEPT,
                                         ACCEPT if verdict.accepted else REJECT, verdict.reason))
            continue
        result.cases.append(Case(trust.relying_party, role, scenario, REJECT,
                                 ACCEPT if verdict.accepted else REJECT, verdict.reason))
