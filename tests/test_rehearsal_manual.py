"""A relying party set up by hand (``PlannedTrust.manual``) is rehearsed like any other, but its
intended case waits for the manual step: pending when the party's rules accept the planned token,
a wrong cell when they refuse it, and never a green accept.

The party here is made up and judged by exact ``iss``, ``aud`` and ``sub``: nothing in the
rehearsal knows which kind it stands for.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from components.relying_parties import PlannedTrust, Verdict
from fedctl.preview.rehearsal import ACCEPT, INTENDED, PENDING, REJECT, rehearse
from fedctl.preview.review import Review

ISSUER = "https://5e1f0c6a-1111-4222-8333-944455556666.tokens.sts.global.api.aws"
ROLE = "arn:aws:iam::123456789012:role/workloads/chat"
NEIGHBOUR = "arn:aws:iam::123456789012:role/workloads/other"
AUDIENCE = "https://api.vendor.example/v1"
STEP = "register the issuer and a rule for the role in the vendor's console"


def token_policy(audience: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*", "Condition": {
            "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": [audience]},
            "Null": {"sts:IdentityTokenAudience": "false"},
            "NumericLessThanEquals": {"sts:DurationSeconds": 300},
            "StringEquals": {"sts:SigningAlgorithm": ["RS256"]}}}]})


class HandMadeReview:
    """Just what the rehearsal asks of a review: the trusts, the roles, their token policies and SCPs."""

    def __init__(self, trust: PlannedTrust, policy_audience: str = AUDIENCE):
        self._trust = trust
        self.planned_roles = [ROLE, NEIGHBOUR]
        self._policy = token_policy(policy_audience)

    def trusts(self) -> list[PlannedTrust]:
        return [self._trust]

    def token_policies(self, role_arn: str) -> list[Any]:
        return [self._policy]

    def guardrails(self, role_arn: str) -> tuple[list[Any], list[str]]:
        return [], []  # no organisation SCP in this run


def manual_trust(subject: str = ROLE, audience: str = AUDIENCE) -> PlannedTrust:
    def judge(token: str, jwks: Mapping[str, Any]) -> Verdict:
        claims, reason = Review.verify(token, issuer=ISSUER, audiences=[audience], jwks=jwks,
                                       algorithms=("RS256", "ES384"), subjects=[subject])
        return Verdict(claims is not None, reason or "matches the rule")

    return PlannedTrust(relying_party="vendor rule for chat", kind="made-up", node_id="vendor:chat",
                        node_label="vendor", node_shape="service", issuer=ISSUER, audience=audience,
                        roles=[ROLE], judge=judge, judged_by="exact iss, aud and sub", manual=STEP)


def cases(result) -> dict[str, Any]:
    return {case.scenario: case for case in result.cases}


def test_the_intended_case_of_a_manual_party_is_pending_with_the_step_to_do():
    result = rehearse(None, review=HandMadeReview(manual_trust()))
    intended = cases(result)[INTENDED]
    assert (intended.expected, intended.outcome) == (ACCEPT, PENDING)
    assert STEP in intended.reason
    assert result.pending == [intended] and result.wrong_cells == []


def test_the_other_cases_of_a_manual_party_are_still_judged_and_rejected():
    result = rehearse(None, review=HandMadeReview(manual_trust()))
    others = {scenario: case.outcome for scenario, case in cases(result).items() if scenario != INTENDED}
    assert others == {"neighbouring role": REJECT, "same role, another account": REJECT,
                      "another audience": REJECT, "expired token": REJECT}


def test_a_manual_party_whose_rules_refuse_the_intended_token_is_a_wrong_cell_not_pending():
    result = rehearse(None, review=HandMadeReview(manual_trust(subject=NEIGHBOUR)))
    intended = cases(result)[INTENDED]
    assert intended.outcome == REJECT and intended in result.wrong_cells


def test_a_manual_party_whose_role_may_not_mint_the_token_is_a_wrong_cell_not_pending():
    result = rehearse(None, review=HandMadeReview(manual_trust(), policy_audience="https://elsewhere.example"))
    intended = cases(result)[INTENDED]
    assert intended.outcome == REJECT and "STS would refuse" in intended.reason


def test_a_party_without_a_manual_step_is_accepted_as_before():
    trust = manual_trust()
    trust.manual = ""
    intended = cases(rehearse(None, review=HandMadeReview(trust)))[INTENDED]
    assert intended.outcome == ACCEPT
