"""``fedctl doctor`` for Snowflake: the user's workload identity as the stack exported it, against the token.

Compared with what the stack exported, not read live. Snowflake keeps a user's AWS workload identity
in the account, where only a Snowflake session can show it (``SHOW USER WORKLOAD IDENTITY
AUTHENTICATION METHODS``, as partition, account, type and role name: not the issuer nor the ARN the
token is matched against), and the pulumi-snowflake provider does not read it back either (see
:mod:`.facts`). So ``diagnose`` judges the real token with the kind's judge's rules (:mod:`.review`)
on the identity the stack exported (``workloads.<name>.snowflake``: ``issuer``, ``roleArn``): ``iss``
equal to the issuer, ``sub`` to the role ARN, ``aud`` ``snowflakecomputing.com`` (the one the
drivers request), all exactly. A user changed by hand in Snowflake since goes unseen here.

``explain_refusal`` explains step 5's one refusal, ``--check``'s local verdict
(``snowflake-identity-mismatch``): ``fedctl exchange snowflake`` never asks Snowflake itself.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Mapping

from ..diagnosis import PASS, UNCHECKED, Refusal, Step, TokenFacts, first_difference, difference_step
from .facts import AUDIENCE

CODE = "trust.identity"
TITLE = "Does the user's workload identity take the token (compared with what the stack exported, not read live)"
NOT_LIVE = "compared with what the stack exported, not read live"


def diagnose(exported: Mapping[str, Any], workload: str, token: TokenFacts, options: argparse.Namespace, *,
             kind: str = "snowflake", progress: Callable[[str], None] = lambda message: None) -> list[Step]:
    """Judge the token with the workload identity the stack exported for the workload's Snowflake user."""
    user, issuer, arn = exported.get("userName"), exported.get("issuer"), exported.get("roleArn")
    checked = (f"the workload identity of Snowflake user {user} in the stack's outputs (issuer, roleArn; "
               f"audience {AUDIENCE}): {NOT_LIVE}")
    if not issuer or not arn:
        return [Step(CODE, TITLE, UNCHECKED, checked, "the outputs do not export the user's issuer and roleArn",
                     "deploy the stack with this version, then read its outputs again", "trust.no-exported-identity")]
    audience = token.audiences[0] if len(token.audiences) == 1 else " ".join(token.audiences)
    found = first_difference([("iss", issuer, token.claims.get("iss")), ("aud", AUDIENCE, audience),
                              ("sub", arn, token.claims.get("sub"))])
    if found is not None:
        fixes = {"iss": "make the user's workload identity trust the AWS account's issuer exactly: "
                        f"{token.claims.get('iss')} (`pulumi up`)",
                 "aud": f"request {AUDIENCE}: it is what every Snowflake driver sends",
                 "sub": f"make the user's workload identity name the role's ARN exactly, path included: "
                        f"{token.claims.get('sub')} (`pulumi up`)"}
        return [difference_step(CODE, TITLE, checked, found, relying_party="",
                                where=f"user {user}'s workload identity (as exported)", fix=fixes[found.field],
                                details={"live": False})]
    return [Step(CODE, TITLE, PASS, checked, f"the token's issuer, subject and audience are the ones user {user}'s "
                 f"workload identity was exported with ({NOT_LIVE}: a change made in Snowflake since goes unseen)",
                 details={"live": False})]


def explain_refusal(error: Any) -> Refusal | None:
    """``fedctl exchange snowflake --check``'s refusal: the token does not match the exported identity."""
    if getattr(error, "code", "") != "snowflake-identity-mismatch":
        return None
    return Refusal("exchange.snowflake-identity-mismatch",
                   "the token the Snowflake connector would send does not match the user's exported workload identity "
                   "(checked here, against the issuer's keys; Snowflake itself was not asked)",
                   "step 4 names the field that differs")


__all__ = ["NOT_LIVE", "diagnose", "explain_refusal"]
