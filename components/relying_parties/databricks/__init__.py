"""Databricks trusts AWS roles through service principal federation policies (``databricks``).

A Databricks service principal (new, or an existing one by its numeric ID) gets one federation
policy per trusted role: the account issuer, the role ARN as subject (``sub``) and one audience,
the Databricks account ID unless ``audience`` says otherwise. Databricks matches them exactly,
takes RS256 tokens (of what AWS offers), and holds at most 20 policies per service principal,
counted across every workload, account and relying party of the stack. Rules, audits, review
hooks and the runtime exchange (``fedctl exchange databricks``) live here; the component is
imported only when a stack uses it.

Workloads naming the same ``displayName`` (in one AWS account) share one new service principal,
with a policy each. Workloads naming an existing ``servicePrincipalId`` each add their own policy
to it, from any AWS account: that service principal is not managed here, so each workload's
policy is its own relying party, and the limit of 20 is counted over all of them together.

The Databricks provider must be account-level (``databricks:host`` the account console,
``databricks:accountId``) with an account admin's credentials, configured by the user.

Example config::

    workloads:
      - name: jobs-runner
        trustedServices: [lambda.amazonaws.com]
        databricks: {accountId: 0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11, displayName: aws-jobs-runner}
"""

from __future__ import annotations

from typing import Any, Mapping

from ..base import RelyingPartyKind
from . import audits, rules
from .facts import ACCEPTED_ALGORITHMS
from .review import REVIEW

_COMPONENT = "components.relying_parties.databricks.component"


def _service_principal(settings: Mapping[str, Any]) -> Any:
    # Workloads naming the same new service principal (its display name) share it, and it holds a
    # policy for each. An existing one is not ours: each workload adds its own policy, from any account.
    if settings.get("service_principal_id") is None and settings.get("display_name"):
        return ("service-principal", settings.get("account_id"), settings.get("display_name"))
    return None


def _defaults(stack: str, workloads: tuple[str, ...], settings: Mapping[str, Any]) -> dict:
    # A new service principal is named after the stack and its first workload, so review stacks get their own.
    if settings.get("service_principal_id") is not None or settings.get("display_name"):
        return {}
    return {"display_name": f"aws-{stack}-{workloads[0]}"}


DATABRICKS = RelyingPartyKind(
    key="databricks",
    title="Databricks service principal",
    settings=("accountId", "audience", "displayName", "servicePrincipalId", "existingPolicyCount", "workspaceHost",
              "description"),
    check=rules.check_databricks_trust_args,
    shared_by=_service_principal,
    defaults=_defaults,
    check_together=rules.check_shared_service_principals,
    accepted_algorithms=ACCEPTED_ALGORITHMS,
    audience=f"{_COMPONENT}:stack_audience",
    deploy=f"{_COMPONENT}:deploy",
    components=(f"{_COMPONENT}:DatabricksServicePrincipalTrust",),
    public_names=(f"{_COMPONENT}:DatabricksServicePrincipalTrustArgs",),
    extra="databricks",
    audits=audits.AUDITS,
    review=REVIEW,
    runtime="components.relying_parties.databricks.runtime",
)

__all__ = ["DATABRICKS"]
