"""The runtime library's errors: the toolkit's one tree, re-exported for ``from fedctl.errors import ...``.

Every error the library raises on purpose is a :class:`FederationError` with a stable ``code``;
see :mod:`components.rules.errors` for the tree and what each error means. No message ever
contains a token: tokens end up in logs and tracebacks far more often than anyone intends.
"""

from components.rules.errors import (  # noqa: F401 - re-exported
    ConfigurationError,
    ExchangeError,
    FederationDisabledError,
    FederationError,
    KeysUnavailable,
    MissingDependencyError,
    StsConfigurationError,
    StsFederationDisabled,
    TokenRejected,
    TokenRequestError,
    ValidationError,
    missing_dependency,
)

__all__ = [
    "ConfigurationError", "ExchangeError", "FederationDisabledError", "FederationError", "KeysUnavailable",
    "MissingDependencyError", "StsConfigurationError", "StsFederationDisabled", "TokenRejected", "TokenRequestError",
    "ValidationError", "missing_dependency",
]
