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
:class:`StsConfigurationError`    no region, or the global STS endpoint (a                2
                                  ``TokenRequestError`` and a ``ConfigurationError``)
:class:`StsFederationDisabled`    STS says the account has federation off (a              2
                                  ``TokenRequestError`` and a ``FederationDisabledError``)
:class:`TokenRejected`            a token failed verification                             1
:class:`KeysUnavailable`          the issuer's keys could not be fetched (a               2
                                  ``TokenRejected`` with reason ``jwks_unavailable``)
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


class FederationLookupError(ConfigurationError):
    """The account's federation status could not be read (no permission, no credentials): it is
    not known to be off, so nothing can be decided from it."""

    code = "federation-lookup-failed"


class TokenRequestError(FederationError):
    """STS would not mint a web identity token.

    ``code`` is AWS's error code (``AccessDenied``, ``OutboundWebIdentityFederationDisabledException``,
    ...) or a local one when the answer made no sense. AWS's own message and request ID are kept,
    verbatim, in the message and in the attributes below, because AWS's text names the policy
    that refused (a permissions boundary, a session policy, an SCP, ...) and the request ID is
    what AWS support asks for.

    Attributes (all optional, ``None`` when unknown):
        aws_message: AWS's ``Error.Message``, verbatim.
        request_id: AWS's request ID.
        http_status: The HTTP status of STS's answer.
        explanation: What the error most likely means and what to change (our words).
        denied_by: For ``AccessDenied``: which kind of policy refused, as a stable code
            (``identity-policy``, ``identity-policy-deny``, ``permissions-boundary``,
            ``session-policy``, ``service-control-policy``, ``resource-control-policy``,
            ``vpc-endpoint-policy``, ``federated-user-session``), or ``None`` if AWS's text
            did not say.
        transient: True when trying again later may succeed (throttling, 5xx, network).
    """

    code = "token-request"
    exit_code = EXIT_FINDINGS

    def __init__(
        self,
        code: str,
        message: str,
        *,
        aws_message: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        explanation: str | None = None,
        denied_by: str | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message, code=code)
        self.aws_message = aws_message
        self.request_id = request_id
        self.http_status = http_status
        self.explanation = explanation
        self.denied_by = denied_by
        self.transient = transient

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"

    def again(self) -> "TokenRequestError":
        """A fresh copy (same type, code, message and attributes) to raise in another caller.

        One exception object must not be raised in many threads: each raise appends to its
        traceback. The copy's ``__cause__`` is the original.
        """
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.args = self.args
        copy.__cause__ = self
        return copy


class StsConfigurationError(TokenRequestError, ConfigurationError):
    """STS cannot be asked as configured: no region anywhere, or the global endpoint (``NoRegion``,
    ``GlobalEndpoint``). Nothing was sent; fix the configuration."""

    exit_code = EXIT_CANNOT_CHECK


class StsFederationDisabled(TokenRequestError, FederationDisabledError):
    """STS answered ``OutboundWebIdentityFederationDisabled(Exception)``: the account's switch is off
    (or was switched on less than about 12 s ago and has not taken effect yet)."""

    exit_code = EXIT_CANNOT_CHECK


class TokenRejected(FederationError):
    """A token failed verification. ``reason`` (also ``code``) is a short, stable machine code."""

    code = "token-rejected"
    exit_code = EXIT_FINDINGS

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, code=reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"token rejected ({self.reason}): {self.message}"


class KeysUnavailable(TokenRejected):
    """The issuer's keys could not be fetched, so the token could not be checked (fails closed).

    A :class:`TokenRejected` (reason ``jwks_unavailable``), so existing handlers still refuse the
    token; its exit code says "could not check" rather than "checked, and no".
    """

    exit_code = EXIT_CANNOT_CHECK

    def __init__(self, message: str, reason: str = "jwks_unavailable") -> None:
        super().__init__(reason, message)


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
    "FederationError", "FederationLookupError", "KeysUnavailable", "MissingDependencyError", "StsConfigurationError",
    "StsFederationDisabled", "TokenRejected", "TokenRequestError", "ValidationError", "missing_dependency",
]
