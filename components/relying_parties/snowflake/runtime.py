"""At run time: what snowflake-connector-python needs to log in as the service user, and ``fedctl exchange snowflake``.

Snowflake's connector mints the AWS token itself (STS ``GetWebIdentityToken``, audience
``snowflakecomputing.com``, ES384) once ``SNOWFLAKE_ENABLE_AWS_WIF_OUTBOUND_TOKEN=true``, so the
workload needs no token from us and no secret: only the connection parameters. ``fedctl exchange
snowflake`` prints them (JSON: the ``connect`` keyword arguments, the ``environment`` to set, the
connector version needed). With ``--check`` it also mints the token the connector would and
verifies it locally against the user's workload identity (issuer, role ARN, audience, ES384,
signature from the issuer's published keys); nothing is sent to Snowflake and no token is shown.

Example::

    fedctl exchange snowflake --workload loader --outputs outputs.json > snowflake.json

    params = json.load(open("snowflake.json"))
    os.environ.update(params["environment"])
    snowflake.connector.connect(**params["connect"])
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from fedctl.exchange import ExchangeResult

from ...rules.errors import (
    ConfigurationError,
    ExchangeError,
    KeysUnavailable,
    TokenRejected,
)
from ..base import TokenSupplier
from . import rules
from .doctor import diagnose, explain_refusal  # noqa: F401 - fedctl doctor's hooks
from .facts import ACCEPTED_ALGORITHMS

COMMAND = "snowflake"
"""``fedctl exchange snowflake``: the connection parameters of the workload's Snowflake service user."""
EXPORTED = ("account", "userName", "audience")
"""What the stack exports for a workload's Snowflake user that the parameters need."""
CHECKED = ("issuer", "roleArn")
"""What ``--check`` needs besides: the workload identity the token must match."""



@dataclass(frozen=True)
class SnowflakeConnection(ExchangeResult):
    """The connector's parameters for one workload, and whether its token was checked."""

    connect: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    checked: bool = False

    @property
    def summary(self) -> str:
        document: dict[str, Any] = {"relyingParty": self.relying_party, "workload": self.workload,
                                    "connect": dict(self.connect), "environment": dict(self.environment),
                                    "requires": rules.connector_requirement()}
        if self.checked:
            when = self.expires_at.isoformat() if self.expires_at else "unknown"
            document["checked"] = (f"the token the connector would send ({ACCEPTED_ALGORITHMS[0]}, audience "
                                   f"{rules.snowflake_audience()}) matches {self.principal}'s workload identity; "
                                   f"it expires {when}")
        return json.dumps(document, indent=2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="also mint the token the Snowflake connector would (ES384, audience "
                             "snowflakecomputing.com) and verify it against the user's workload identity; "
                             "fetches the issuer's public keys, sends nothing to Snowflake")


def _exported(exported: Mapping[str, Any], keys: tuple[str, ...], workload: str) -> None:
    missing = [key for key in keys if not exported.get(key)]
    if missing:
        raise ConfigurationError(f"the stack outputs for workload '{workload}' lack snowflake."
                                 f"{', snowflake.'.join(missing)}: deploy the stack with this version first",
                                 code="snowflake-outputs-incomplete")


def check_token(token: str, exported: Mapping[str, Any], *, jwks: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Verify a token as Snowflake matches it against the user's AWS workload identity; its claims.

    Raises :class:`ExchangeError` (exit 1) when it does not match; keys that cannot be fetched
    stay a ``KeysUnavailable`` (exit 2: could not check).
    """
    from fedctl.verify import TokenVerifier

    verifier = TokenVerifier(exported["issuer"], [exported["audience"]], algorithms=ACCEPTED_ALGORITHMS,
                             subjects=[exported["roleArn"]], jwks=jwks)
    try:
        return verifier.verify(token)
    except KeysUnavailable:
        raise
    except TokenRejected as rejection:
        raise ExchangeError(
            f"the token the Snowflake connector would send does not match user {exported['userName']}'s workload "
            f"identity ({rejection.reason})", code="snowflake-identity-mismatch") from None


def exchange(
    exported: Mapping[str, Any],
    workload: str,
    options: argparse.Namespace,
    *,
    supplier_for: Callable[[str, str], TokenSupplier],
    progress: Callable[[str], None] = lambda message: None,
) -> SnowflakeConnection:
    """The connection parameters of the workload's service user (and, with ``--check``, its token checked).

    ``exported`` is what the stack exports for the workload's ``snowflake`` relying party:
    ``account``, ``userName``, ``audience``, ``issuer`` and ``roleArn``.
    """
    _exported(exported, EXPORTED, workload)
    connect = rules.connection_parameters(exported["account"], exported["userName"])
    expires, checked = None, bool(getattr(options, "check", False))
    if checked:
        _exported(exported, CHECKED, workload)
        progress(f"minting the token the Snowflake connector would ({ACCEPTED_ALGORITHMS[0]}, audience "
                 f"{exported['audience']})")
        token = supplier_for(exported["audience"], ACCEPTED_ALGORITHMS[0]).get_token()
        claims = check_token(token, exported)
        expires = dt.datetime.fromtimestamp(claims["exp"], dt.timezone.utc)
    return SnowflakeConnection("snowflake", workload, f"user {exported['userName']}", expires, 1,
                               connect=connect, environment=rules.connector_environment(), checked=checked)
