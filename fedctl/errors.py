"""Exceptions raised by the runtime library.

Every message says what went wrong and, where there is something to do, what to do. No message
ever contains a token: tokens end up in logs and tracebacks far more often than anyone intends.
"""

from __future__ import annotations


class FederationError(Exception):
    """Base class for every error this library raises on purpose."""


class TokenRequestError(FederationError):
    """STS would not mint a web identity token.

    ``code`` is the AWS error code (``OutboundWebIdentityFederationDisabledException``,
    ``AccessDenied``, ...), or a local code such as ``NoRegion``, ``GlobalEndpoint`` or
    ``NoToken`` when the request never reached STS or its answer made no sense.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:
        return f"{self.args[0]} [{self.code}]"


class TokenRejected(FederationError):
    """A token failed verification.

    ``reason`` is a short machine code, stable enough to count in metrics or branch on:

    ``oversized``, ``malformed``, ``alg_not_allowed``, ``missing_kid``, ``unknown_kid``,
    ``key_mismatch`` (the kid names a key of another type than the header's alg),
    ``bad_signature``, ``bad_issuer``, ``bad_audience``, ``expired``, ``not_yet_valid``
    (``nbf`` in the future), ``issued_in_future`` (``iat`` in the future), ``missing_claim``,
    ``bad_subject`` (not in the allowlist), ``jwks_unavailable`` (the issuer's keys could
    not be fetched; the verifier fails closed).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __str__(self) -> str:
        return f"token rejected ({self.reason}): {self.args[0]}"
