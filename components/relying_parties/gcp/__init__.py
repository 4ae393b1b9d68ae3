"""Google Cloud trusts AWS roles through a workload identity pool and OIDC provider (``gcp``).

The provider trusts the account issuer exactly; its attribute condition pins the account and the
exact roles; each role may impersonate one service account. Rules, audits, review hooks and the
runtime exchange (``fedctl exchange gcp``) live here; the component is imported only when a stack
uses it.

Example config::

    workloads:
      - name: usage-exporter
        trustedServices: [lambda.amazonaws.com]
        gcp: {project: usage-analytics-dev, createServiceAccount: true}
"""

from __future__ import annotations

from typing import Any, Mapping

from ..base import RelyingPartyKind
from . import audits, rules
from .facts import MAX_LABEL_LENGTH
from .review import REVIEW

_COMPONENT = "components.relying_parties.gcp.component"


def _pool_identity(settings: Mapping[str, Any]) -> Any:
    # Workloads naming the same explicit pool and provider share one; generated IDs never collide.
    if settings.get("pool_id") and settings.get("provider_id"):
        return ("pool", settings.get("project"), settings.get("pool_id"), settings.get("provider_id"))
    return None


GCP = RelyingPartyKind(
    key="gcp",
    title="GCP workload identity pool",
    settings=("project", "poolId", "providerId", "idGeneration", "allowedAudiences", "serviceAccountEmail",
              "createServiceAccount"),
    check=rules.check_gcp_trust_args,
    shared_by=_pool_identity,
    credential_name_limit=MAX_LABEL_LENGTH,
    audience=f"{_COMPONENT}:stack_audience",
    deploy=f"{_COMPONENT}:deploy",
    components=(f"{_COMPONENT}:GcpWorkloadIdentityTrust",),
    public_names=(f"{_COMPONENT}:GcpWorkloadIdentityTrustArgs",),
    extra="gcp",
    audits=audits.AUDITS,
    review=REVIEW,
    runtime="components.relying_parties.gcp.runtime",
)

__all__ = ["GCP"]
