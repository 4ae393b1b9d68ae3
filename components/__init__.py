"""Pulumi component resources for AWS outbound identity federation.

Import the components from here::

    from components import AccountFederation, AzureAppTrust, FederatedRole

The names load lazily, so ``components.rules`` (pure Python) can be used without the Pulumi SDKs,
and a program that uses no GCP trust never imports pulumi-gcp. The relying parties' components
come from the registry (``components.relying_parties``).
"""

from __future__ import annotations

import importlib
from typing import Any

_CORE = {
    "AccountFederation": "components.aws",
    "AccountFederationArgs": "components.aws",
    "FederationFleet": "components.fleet",
    "FederationFleetArgs": "components.fleet",
    "FederatedRole": "components.aws",
    "FederatedRoleArgs": "components.aws",
    "FederationDisabledError": "components.rules.errors",
    "FederationError": "components.rules.errors",
    "OrganizationGuardrails": "components.guardrails",
    "OrganizationGuardrailsArgs": "components.guardrails",
    "SigningAlgorithm": "components.aws",
    "ValidationError": "components.rules.errors",
}


def _exports() -> dict[str, str]:
    from .relying_parties import KINDS

    names = dict(_CORE)
    names.update({name: reference.partition(":")[0] for name, reference in KINDS.public_names().items()})
    return names


def __getattr__(name: str) -> Any:
    module = _exports().get(name)
    if module is None:
        raise AttributeError(f"module 'components' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(_exports())
