"""HashiCorp Vault and OpenBao trust AWS roles through a JWT auth mount (``vault``).

The mount binds the account issuer exactly (``bound_issuer``; without it Vault checks no ``iss``)
and accepts RS256 and ES384; each trusted role gets its own ``jwt`` role bound to the role ARN, the
audience and AWS's nested ``aws_account`` claim (and optionally ``org_id`` and ``ou_path``), with
the configured policies for a short TTL. Rules, audits, review hooks (a real OpenBao server judges
the rehearsal when installed) and the runtime exchange (``fedctl exchange vault``) live here; the
component, and pulumi-vault, are imported only when a stack uses it.

Example config::

    workloads:
      - name: usage-exporter
        trustedServices: [lambda.amazonaws.com]
        vault: {address: "https://vault.example.com:8200", policies: [usage-exporter]}

Workloads naming the same ``address`` and ``mountPath`` (or ``existingMountPath``) share one mount,
one role each; without a mount path each workload gets its own mount, ``aws-<stack>-<workload>``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..base import RelyingPartyKind
from . import audits, rules
from .facts import ACCEPTED_ALGORITHMS, DEFAULT_MOUNT_PREFIX
from .review import REVIEW

_COMPONENT = "components.relying_parties.vault.component"


def _mount_identity(settings: Mapping[str, Any]) -> Any:
    # Workloads naming the same mount of the same Vault share it; without a mount each gets its own.
    mount = settings.get("existing_mount_path") or settings.get("mount_path")
    return ("mount", settings.get("address"), mount) if mount else None


def _defaults(stack: str, workloads: tuple[str, ...], settings: Mapping[str, Any]) -> dict:
    # A mount per stack and workload, so review stacks and other workloads never write the same roles.
    if settings.get("existing_mount_path") or settings.get("mount_path"):
        return {}
    return {"mount_path": DEFAULT_MOUNT_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "-", f"{stack}-{workloads[0]}")}


VAULT = RelyingPartyKind(
    key="vault",
    title="Vault JWT auth mount",
    settings=("address", "mountPath", "existingMountPath", "audience", "policies", "tokenTtl", "tokenMaxTtl",
              "orgId", "ouPaths", "boundClaims", "boundClaimsType", "claimMappings"),
    check=rules.check_vault_trust_args,
    shared_by=_mount_identity,
    defaults=_defaults,
    accepted_algorithms=ACCEPTED_ALGORITHMS,
    audience=f"{_COMPONENT}:stack_audience",
    deploy=f"{_COMPONENT}:deploy",
    components=(f"{_COMPONENT}:VaultJwtTrust",),
    public_names=(f"{_COMPONENT}:VaultJwtTrustArgs", f"{_COMPONENT}:BoundClaimsType"),
    extra="vault",
    audits=audits.AUDITS,
    review=REVIEW,
    runtime="components.relying_parties.vault.runtime",
)

__all__ = ["VAULT"]
