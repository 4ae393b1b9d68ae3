"""``fedctl doctor`` for a SaaS trust made by hand (OpenAI, Anthropic, generic): the exported rules, not live.

Compared with what the stack exported, not read live. The vendor-side trust is made by hand in the
vendor's console, and doctor has no API it can read it with, so ``diagnose`` judges the real token
with the kind's judge's rules (:mod:`.review`, :func:`.rules.rule_accepts`) on what the stack
exported (``workloads.<name>.saas``: ``issuer``, ``audience``, and per role the rule to paste):
``iss`` and ``aud`` exactly, then the rule of the token's role (its exact ``sub``, and the nested
``aws_account``). A second step reminds that the vendor side is a manual step doctor cannot see;
step 5 (the vendor's token endpoint, given the console IDs) is what tells whether it was made.

``explain_refusal`` explains the one refusal the exchange makes itself: an assertion longer than
anthropic-sdk-python sends. OpenAI's and Anthropic's own refusals are shown as they are.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Mapping

from ...rules.aws import parse_role_arn
from ..diagnosis import FAIL, PASS, SKIP, UNCHECKED, Refusal, Step, TokenFacts, closest, difference, difference_step
from .facts import PRESET_FACTS
from .rules import rule_accepts

CODE = "trust.rules"
TITLE = ("Does a rule the stack exported for the vendor take the token "
         "(compared with what the stack exported, not read live)")
NOT_LIVE = "compared with what the stack exported, not read live"


def diagnose(exported: Mapping[str, Any], workload: str, token: TokenFacts, options: argparse.Namespace, *,
             kind: str = "saas", progress: Callable[[str], None] = lambda message: None) -> list[Step]:
    """Judge the token with the rules the stack exported, and remind of the manual step."""
    preset = exported.get("preset")
    facts = PRESET_FACTS.get(preset)
    vendor = facts.vendor if facts else "the SaaS"
    checked = f"the {vendor} trust in the stack's outputs (issuer, audience, the rule per role): {NOT_LIVE}"
    manual = Step("trust.manual", f"Is the {vendor} side made (a manual step doctor cannot read)", SKIP,
                  f"{vendor}'s own configuration", f"made by hand in {facts.where if facts else 'the vendor console'}: "
                  "doctor cannot read it; step 5 asks the vendor", exported.get("manualStep") or "",
                  "trust.manual-step")
    issuer, audience, subjects = exported.get("issuer"), exported.get("audience"), exported.get("subjects")
    if not issuer or not audience or not isinstance(subjects, Mapping) or not subjects:
        return [Step(CODE, TITLE, UNCHECKED, checked, "the outputs do not export the issuer, audience and roles",
                     "deploy the stack with this version, then read its outputs again", "trust.no-exported-rules"),
                manual]
    return [_judged(issuer, audience, subjects, preset, token, checked), manual]


def _judged(issuer: str, audience: str, subjects: Mapping[str, Any], preset: Any, token: TokenFacts,
            checked: str) -> Step:
    iss, sub = token.claims.get("iss"), token.claims.get("sub")
    details = {"live": False}
    found = difference("iss", issuer, iss)
    if found is not None:
        return difference_step(CODE, TITLE, checked, found, relying_party="", where="the exported issuer",
                               fix=f"make the vendor's provider (and the stack) trust the account's issuer exactly: {iss}",
                               details=details)
    if audience not in token.audiences:
        found = difference("aud", audience, token.audiences[0] if token.audiences else "")
        return difference_step(CODE, TITLE, checked, found, relying_party="", where="the exported audience",
                               fix=f"request {audience}, the audience the vendor's provider pins", details=details)
    roles = [str(role) for role in subjects.values()]
    if sub not in roles:
        nearest = roles[closest([{"iss": iss, "sub": role} for role in roles], {"iss": iss, "sub": sub}, ["iss", "sub"])]
        return difference_step(CODE, TITLE, checked, difference("sub", nearest, sub), relying_party="",
                               where="no exported rule names the token's role; the closest",
                               fix="trust the role's real ARN, path included (the stack's workloads.<name>.subject), "
                                   "and paste its rule in the vendor's console", details=details)
    role = parse_role_arn(sub)
    account = role.account_id if role else ""
    accepted, why = rule_accepts(str(preset), token.claims, sub, account, audience)
    if not accepted and why == "bad_aws_account":
        found = difference("aws_account", account, token.aws.get("aws_account"))
        return difference_step(CODE, TITLE, checked, found, relying_party="", where="the rule's aws_account",
                               fix="the token's nested aws_account must be the role's account", details=details)
    if not accepted:
        return Step(CODE, TITLE, FAIL, checked, f"the exported rule refuses the token ({why})",
                    "compare the rule with the token", "trust.rule-refuses", details=details)
    return Step(CODE, TITLE, PASS, checked, f"the exported rule for {sub} takes the token's issuer, audience, subject "
                f"and aws_account ({NOT_LIVE}: whether the vendor holds that rule, only step 5 can tell)",
                details=details)


def explain_refusal(error: Any) -> Refusal | None:
    """The exchange's own refusal to send an assertion Anthropic's SDK would not send (facts.py)."""
    if getattr(error, "code", "") != "anthropic-assertion-too-large":
        return None
    return Refusal("exchange.anthropic-assertion-too-large",
                   "the AWS token is longer than anthropic-sdk-python sends as an assertion (16 KiB): not sent",
                   "request fewer or shorter tags: the token carries them")


__all__ = ["NOT_LIVE", "diagnose", "explain_refusal"]
