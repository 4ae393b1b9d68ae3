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
    # The relying parties' runtime helpers live in their folders; these names stay importable here.
    "azure_credential": "components.relying_parties.azure.runtime",
    "gcp_credentials": "components.relying_parties.gcp.runtime",
    "vault_token": "components.relying_parties.vault.runtime",
    "ConfigurationError": "fedctl.errors",
    "ExchangeError": "fedctl.errors",
    "FederationError": "fedctl.errors",
    "MissingDependencyError": "fedctl.errors",
    "ValidationError": "fedctl.errors",
    "FederationDisabledError": "fedctl.errors",
    "TokenRequestError": "fedctl.errors",
    "StsConfigurationError": "fedctl.errors",
    "StsFederationDisabled": "fedctl.errors",
    "TokenRejected": "fedctl.errors",
    "KeysUnavailable": "fedctl.errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from components.relying_parties.azure.runtime import azure_credential
    from components.relying_parties.gcp.runtime import gcp_credentials
    from components.relying_parties.vault.runtime import vault_token
    from fedctl.errors import (ConfigurationError, ExchangeError, FederationError, MissingDependencyError,
                               TokenRejected, TokenRequestError, ValidationError)
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
