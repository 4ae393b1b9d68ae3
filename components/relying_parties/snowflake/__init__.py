"""Snowflake trusts AWS roles through service users' workload identities (``snowflake``).

Each trusted role gets its own service user (``TYPE = SERVICE``) whose default workload identity
is the role's ARN and the account's issuer. Snowflake's drivers request the token themselves,
always for the audience ``snowflakecomputing.com`` and signed ES384, so a role Snowflake trusts
must be allowed ES384. Rules, audits, review hooks and ``fedctl exchange snowflake`` (the
connector's parameters) live here; the component is imported only when a stack uses it.

Example config::

    workloads:
      - name: loader
        trustedServices: [lambda.amazonaws.com]
        signingAlgorithms: [ES384]
        snowflake: {account: MYORG-ANALYTICS, defaultRole: LOADER}
"""

from __future__ import annotations

from typing import Any, Mapping

from ..base import RelyingPartyKind
from . import audits, rules
from .facts import ACCEPTED_ALGORITHMS, CONNECTOR_TOKEN_SECONDS
from .review import REVIEW

_COMPONENT = "components.relying_parties.snowflake.component"


def _same_user(settings: Mapping[str, Any]) -> Any:
    # Workloads naming the same user name one user; the kind's check then refuses it (one role per user).
    name = settings.get("user_name")
    return ("user", name.upper() if isinstance(name, str) else name) if name else None


def _defaults(stack: str, workloads: tuple[str, ...], settings: Mapping[str, Any]) -> Mapping[str, Any]:
    # A user named after the stack and its workload, so review stacks get their own.
    return {} if settings.get("user_name") else {"user_name": rules.default_user_name(stack, workloads[0])}


SNOWFLAKE = RelyingPartyKind(
    key="snowflake",
    title="Snowflake service user",
    settings=("account", "userName", "defaultRole", "defaultWarehouse", "defaultNamespace", "comment"),
    check=rules.check_snowflake_user_args,
    shared_by=_same_user,
    defaults=_defaults,
    accepted_algorithms=ACCEPTED_ALGORITHMS,
    requested_duration_seconds=CONNECTOR_TOKEN_SECONDS,
    audience=f"{_COMPONENT}:stack_audience",
    deploy=f"{_COMPONENT}:deploy",
    components=(f"{_COMPONENT}:SnowflakeServiceUserTrust",),
    public_names=(f"{_COMPONENT}:SnowflakeServiceUserTrustArgs",),
    extra="snowflake",
    audits=audits.AUDITS,
    review=REVIEW,
    runtime="components.relying_parties.snowflake.runtime",
)

__all__ = ["SNOWFLAKE"]
