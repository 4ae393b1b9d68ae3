"""Pulumi component resources for AWS outbound identity federation.

Import the components from here::

    from components import AccountFederation, FederatedRole

The names load lazily, so ``components.rules`` (pure Python) can be used without the Pulumi SDKs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AccountFederation": "components.aws",
    "AccountFederationArgs": "components.aws",
    "AzureAppTrust": "components.azure",
    "AzureAppTrustArgs": "components.azure",
    "AzureManagedIdentityTrust": "components.azure",
    "AzureManagedIdentityTrustArgs": "components.azure",
    "AzureRoleAssignment": "components.azure",
    "AzureRoleAssignmentArgs": "components.azure",
    "FederatedRole": "components.aws",
    "FederatedRoleArgs": "components.aws",
    "FederationDisabledError": "components.aws",
    "GcpWorkloadIdentityTrust": "components.gcp",
    "GcpWorkloadIdentityTrustArgs": "components.gcp",
    "SigningAlgorithm": "components.aws",
    "ValidationError": "components.rules",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'components' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
