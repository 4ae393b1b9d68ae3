"""Tailscale trusts AWS roles through federated identities (``tailscale``).

One federated identity per trusted role: the account issuer and an audience compared exactly, the
role's exact ARN as subject (a ``*`` pattern only when the config asks for one, pinned to the
account and ``role/``), and the Tailscale scopes and tags its access tokens get. Rules, audits,
review hooks and the runtime exchange (``fedctl exchange tailscale``) live here; the component is
imported only when a stack uses it.

Example config::

    workloads:
      - name: ci-deployer
        trustedServices: [codebuild.amazonaws.com]
        tailscale: {scopes: [auth_keys], tags: ["tag:ci"]}
"""

from __future__ import annotations

from ..base import RelyingPartyKind
from . import audits, rules
from .review import ACCEPTED_ALGORITHMS, REVIEW
from .rules import MAX_LABEL_LENGTH

_COMPONENT = "components.relying_parties.tailscale.component"

TAILSCALE = RelyingPartyKind(
    key="tailscale",
    title="Tailscale federated identity",
    settings=("scopes", "tags", "audience", "subjectPattern", "description"),
    check=rules.check_tailscale_trust_args,
    accepted_algorithms=ACCEPTED_ALGORITHMS,
    credential_name_limit=MAX_LABEL_LENGTH,
    audience=f"{_COMPONENT}:stack_audience",
    deploy=f"{_COMPONENT}:deploy",
    components=(f"{_COMPONENT}:TailscaleFederatedTrust",),
    public_names=(f"{_COMPONENT}:TailscaleFederatedTrustArgs",),
    extra="tailscale",
    audits=audits.AUDITS,
    review=REVIEW,
    runtime="components.relying_parties.tailscale.runtime",
)

__all__ = ["TAILSCALE"]
