"""The toolkit's one error vocabulary: a small tree under :class:`FederationError`.

Pure Python, shared by the components, the stack, the policy pack, the runtime library and the
CLI, so a caller can catch one root whatever raised it, and branch on :attr:`FederationError.code`
(stable, machine-readable, never reworded) rather than on message text. Modelled on
google-auth's ``exceptions`` module and the AWS CDK's coded errors.

Which error means what, and what ``fedctl`` exits with for it:

================================  =====================================================  ====
error                             meaning                                                exit
================================  =====================================================  ====
:class:`ValidationError`          bad arguments or config, caught before anything ran     2
:class:`ConfigurationError`       the environment cannot do the job (no region, ...)      2
:class:`MissingDependencyError`   an optional package is not installed                    2
:class:`FederationDisabledError`  the account has outbound identity federation off        2
:class:`TokenRequestError`        STS refused or failed to mint a token                   1
:class:`TokenRejected`            a token failed verification                             1
:class:`ExchangeError`            a relying party refused the token                       1
================================  =====================================================  ====

Exit 1 means "checked, and the answer is no" (a finding); exit 2 means "could not check".
No message ever contains a token.

Example::

    >>> try:
    ...     raise MissingDependencyError("grpc", "preview")
    ... except FederationError as error:
    ...     error.code, error.exit_code
    ('missing-dependency', 2)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from . import Violation

EXIT_FINDINGS = 1
EXIT_CANNOT_CHECK = 2


class FederationError(Exception):
    """Root of every error the toolkit raises on purpose.

    ``code`` is stable and machine-readable: count it in metrics, branch on it, test it.
    ``exit_code`` is what ``fedctl`` exits with when this error ends a command.
    """

    code: str = "federation-error"
    exit_code: int = EXIT_CANNOT_CHECK

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ValidationError(FederationError, ValueError):
    """Inputs (component args, stack config, library arguments, CLI options) break one or more rules.

    Raised before anything is registered or called. The message lists every error-level
    violation, one per line, each naming the field as the user wrote it, the value and the rule;
    ``violations`` holds them, each with its own stable ``code``.
    """

    code = "invalid-input"

    def __init__(self, label: str, violations: Sequence["Violation"]):
        self.label = label
        """What was given the input, e.g. ``FederatedRole 'exporter'`` or ``stack config``."""
        self.violations = list(violations)
        lines = "\n".join(f"  - {v.message}" for v in self.violations)
        super().__init__(f"{label} has invalid input:\n{lines}")

    @property
    def codes(self) -> list[str]:
        return [v.code for v in self.violations]


class ConfigurationError(FederationError):
    """The environment cannot do the job as configured: no AWS region, the global STS endpoint, ..."""

    code = "configuration"


class MissingDependencyError(ConfigurationError):
    """An optional package is not installed. The message gives the exact ``pip install`` to run."""

    code = "missing-dependency"

    def __init__(self, module: str, extra: str, *, package: str = "outbound-federation") -> None:
        self.module = module
        self.extra = extra
        self.install = f"pip install '{package}[{extra}]'"
        super().__init__(f"this needs the Python module '{module}', which is not installed: run {self.install}")


class FederationDisabledError(FederationError):
    """The AWS account has not switched outbound identity federation on."""

    code = "federation-disabled"


class TokenRequestError(FederationError):
    """STS would not mint a web identity token.

    ``code`` is AWS's error code (``AccessDenied``, ``OutboundWebIdentityFederationDisabledException``,
    ...) or a local one when the answer made no sense. AWS's own message and request ID are kept.
    """

    code = "token-request"
    exit_code = EXIT_FINDINGS

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


class TokenRejected(FederationError):
    """A token failed verification. ``reason`` (also ``code``) is a short, stable machine code."""

    code = "token-rejected"
    exit_code = EXIT_FINDINGS

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, code=reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"token rejected ({self.reason}): {self.message}"


class ExchangeError(FederationError):
    """A relying party refused the token, or its answer could not be used."""

    code = "exchange-refused"
    exit_code = EXIT_FINDINGS


def missing_dependency(error: ImportError, extra: str) -> MissingDependencyError:
    """The :class:`MissingDependencyError` for a failed import, naming the top-level module."""
    module = (getattr(error, "name", None) or str(error)).split(".")[0]
    return MissingDependencyError(module, extra)


__all__ = [
    "ConfigurationError", "EXIT_CANNOT_CHECK", "EXIT_FINDINGS", "ExchangeError", "FederationDisabledError",
    "FederationError", "MissingDependencyError", "TokenRejected", "TokenRequestError", "ValidationError",
    "missing_dependency",
]
