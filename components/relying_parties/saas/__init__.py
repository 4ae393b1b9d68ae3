"""SaaS relying parties set up by hand (``saas``): the ``openai``, ``anthropic`` and ``generic`` presets.

OpenAI and Anthropic take AWS tokens through their own consoles and admin APIs; no Pulumi
provider creates that trust. The stack pins the vendor's documented audience in each trusted
role's token policy and exports exactly what the vendor needs (issuer, audience, and per role the
rule to paste: the exact ``sub`` and the nested ``aws_account``). The plan and the rehearsal show
it as a manual step. ``fedctl exchange saas`` exchanges at the documented token endpoint.

Workloads of one account naming the same preset and audience share one party: one vendor-side
provider (issuer) with one rule per role, counted against the vendor's limit.

Example config::

    workloads:
      - name: chat
        trustedServices: [lambda.amazonaws.com]
        saas: {preset: openai}
"""

from __future__ import annotations

from typing import Any, Mapping

from ...rules.facts import SIGNING_ALGORITHMS
from ..base import RelyingPartyKind
from . import rules
from .review import REVIEW

_COMPONENT = "components.relying_parties.saas.component"


def _provider_identity(settings: Mapping[str, Any]) -> Any:
    # One vendor-side provider per account issuer and audience; its roles are its mappings.
    return ("saas", settings.get("preset"), settings.get("audience"))


SAAS = RelyingPartyKind(
    key="saas",
    title="SaaS trust set up by hand",
    settings=("preset", "audience"),
    check=rules.check_saas_args,
    shared_by=_provider_identity,
    # Neither vendor documents its accepted algorithms for AWS tokens: both AWS ones are taken.
    accepted_algorithms=SIGNING_ALGORITHMS,
    audience=f"{_COMPONENT}:stack_audience",
    deploy=f"{_COMPONENT}:deploy",
    review=REVIEW,
    runtime="components.relying_parties.saas.runtime",
)

__all__ = ["SAAS"]
