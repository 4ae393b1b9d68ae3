"""How the review tooling sees a SaaS trust made by hand: plan lines and the rehearsal's judge.

Each :class:`~components.relying_parties.saas.component.SaasManualTrust` record in a run is a
``PlannedTrust`` with ``manual`` set: the rehearsal shows its intended case as a manual step
pending, and judges the other cases by the vendor's documented rules (signature by the issuer's
keys, ``iss`` and ``aud`` exactly, the rule made for each role: exact ``sub`` and the nested
``aws_account``), with a real JWT verifier.

Example::

    trusts = saas_trusts(review)      # one PlannedTrust per record
"""

from __future__ import annotations

from typing import Any, Mapping

from ...rules.aws import is_aws_issuer
from ..base import PlannedTrust, ReviewHooks, Verdict
from . import rules
from .facts import PRESET_FACTS, RECORD_TYPE


def saas_trusts(review: Any) -> list[PlannedTrust]:
    """One PlannedTrust per SaaS trust record in the run."""
    found = []
    for registration in review.of_type(RECORD_TYPE):
        outputs = registration.component_outputs
        preset = outputs.get("preset")
        facts = PRESET_FACTS.get(preset)
        issuer, audience = outputs.get("issuer") or "", outputs.get("audience") or ""
        account, subjects = outputs.get("aws_account_id"), outputs.get("subjects")
        trust = PlannedTrust(
            relying_party=f"{facts.vendor if facts else 'SaaS'} trust {registration.name}", kind="saas",
            node_id=f"saas:{registration.name}", node_label=f"{facts.vendor if facts else 'SaaS'} ({preset})",
            node_shape="service", issuer=issuer, audience=audience,
            accepted_algorithms=facts.accepted_algorithms if facts else (),
            judged_by=f"{facts.vendor if facts else 'SaaS'}'s documented rules: exact iss, aud and sub, "
                      "aws_account pinned",
            manual=str(outputs.get("manual_step") or ""),
        )
        found.append(trust)
        if facts is None or not isinstance(subjects, Mapping) or not isinstance(account, str) or not audience:
            trust.skipped = "its values are only known after deployment"
            continue
        if not is_aws_issuer(issuer):
            trust.skipped = f"its issuer {issuer!r} is not an AWS account issuer: AWS rules do not apply to it"
            continue
        trust.roles = list(dict.fromkeys(subjects.values()))

        def judge(token: str, jwks: Mapping[str, Any], issuer=issuer, audience=audience, account=account,
                  roles=tuple(trust.roles), preset=preset, algorithms=facts.accepted_algorithms) -> Verdict:
            claims, reason = review.verify(token, issuer=issuer, audiences=[audience], jwks=jwks, algorithms=algorithms)
            if claims is None:
                return Verdict(False, reason)
            # Each role has its own rule; the token is let in when one of them matches.
            outcomes = [rules.rule_accepts(preset, claims, role, account, audience) for role in roles]
            accepted = next((why for ok, why in outcomes if ok), None)
            return Verdict(True, accepted) if accepted else Verdict(False, outcomes[0][1])

        trust.judge = judge
    return found


REVIEW = ReviewHooks(
    plan_facts=("preset", "manual_step"),
    trusts=saas_trusts,
)
