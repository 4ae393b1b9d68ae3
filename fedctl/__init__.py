"""fedctl: AWS IAM outbound identity federation, at run time.

An AWS role gets a short-lived JWT from STS ``GetWebIdentityToken`` and presents it to Azure or
Google, which trust the account's issuer. This package mints and caches that token
(:class:`AwsTokenSupplier`), turns it into Azure / Google credentials (:func:`azure_credential`,
:func:`gcp_credentials`) and verifies such tokens (:class:`TokenVerifier`).

Example::

    from fedctl import AwsTokenSupplier, azure_credential

    supplier = AwsTokenSupplier(["api://AzureADTokenExchange"], region="eu-west-1")
    credential = azure_credential(TENANT_ID, CLIENT_ID, supplier)

Names are imported on first use, so ``import fedctl`` does not pull in boto3, azure-identity
or google-auth.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "AwsTokenSupplier": "fedctl.tokens",
    "TokenVerifier": "fedctl.verify",
    "azure_credential": "fedctl.credentials",
    "gcp_credentials": "fedctl.credentials",
    "FederationError": "fedctl.errors",
    "ValidationError": "fedctl.errors",
    "ConfigurationError": "fedctl.errors",
    "MissingDependencyError": "fedctl.errors",
    "FederationDisabledError": "fedctl.errors",
    "TokenRequestError": "fedctl.errors",
    "StsConfigurationError": "components.rules.errors",
    "StsFederationDisabled": "components.rules.errors",
    "TokenRejected": "fedctl.errors",
    "KeysUnavailable": "components.rules.errors",
    "ExchangeError": "fedctl.errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from fedctl.credentials import azure_credential, gcp_credentials
    from fedctl.errors import FederationError, TokenRejected, TokenRequestError
    from fedctl.tokens import AwsTokenSupplier
    from fedctl.verify import TokenVerifier


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fedctl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
