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

from ..base import Capacity, RelyingPartyKind
from . import audits, rules
from .facts import ACCEPTED_ALGORITHMS, MAX_POLICIES_PER_SERVICE_PRINCIPAL
from .review import REVIEW

_COMPONENT = "components.relying_parties.databricks.component"


def _service_principal(settings: Mapping[str, Any]) -> Any:
    # Workloads naming the same service principal share it, and it holds a policy for each: a new one
    # by its display name, an existing one by its ID (then also across AWS accounts: see CAPACITY).
    number = rules.service_principal_number(settings.get("service_principal_id"))
    if number is not None:
        return ("existing-service-principal", settings.get("account_id"), number)
    if settings.get("display_name"):
        return ("service-principal", settings.get("account_id"), settings.get("display_name"))
    return None


def _existing_policies(settings: Mapping[str, Any]) -> int:
    return rules.whole_number(settings.get("existing_policy_count", 0)) or 0


# Each account's issuer needs its own policy, so a service principal trusted by the roles of many
# accounts fills up: 20 policies in all, counted over every account plus those it already holds.
CAPACITY = Capacity(
    limit=MAX_POLICIES_PER_SERVICE_PRINCIPAL, what="federation policies per service principal",
    split="give each group of accounts its own service principal",
    existing=_existing_policies,
    spans_accounts=lambda settings: settings.get("service_principal_id") is not None,
)


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
    capacity=CAPACITY,
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
