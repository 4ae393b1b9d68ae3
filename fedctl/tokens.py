"""Mint AWS web identity tokens (STS ``GetWebIdentityToken``) and keep one fresh.

A workload running as an IAM role asks STS for a short-lived JWT whose ``sub`` is the role's
ARN, and hands it to Azure or Google, which trust the account's issuer
(``https://<uuid>.tokens.sts.global.api.aws``). :class:`AwsTokenSupplier` does the asking,
caches the token and refreshes it before it expires, so it can be handed straight to a cloud
SDK as its assertion callback.

Example::

    supplier = AwsTokenSupplier(["api://AzureADTokenExchange"], region="eu-west-1")
    jwt = supplier.get_token()      # one STS call
    jwt = supplier.get_token()      # cached until shortly before expiry
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import threading
import time
from typing import Any, Callable, Mapping, NamedTuple, Sequence
from urllib.parse import urlsplit

from components.rules import raise_for
from components.rules import aws as aws_rules
from fedctl.errors import TokenRequestError

_LOG = logging.getLogger("fedctl.tokens")

# Refresh when less than max(60 s, 20% of the lifetime) is left, but never more than half the
# lifetime early: with a 60 s token the 60 s floor alone would mean "refresh on every call".
_MIN_MARGIN = 60.0
_MARGIN_FRACTION = 0.2

_DISABLED = (
    "outbound identity federation is not enabled on this AWS account: enable it (one stack per "
    "account sets account.manage: true, or `aws iam enable-outbound-web-identity-federation`)"
)


class _Cached(NamedTuple):
    token: str
    expires_at: float  # epoch seconds
    refresh_at: float  # epoch seconds


class AwsTokenSupplier:
    """Supplies a cached AWS web identity token for a fixed request shape.

    One supplier is one request shape (audiences, algorithm, duration, tags); the token cache
    lives in the instance. Safe to share between threads: however many callers arrive while
    the token needs refreshing, only one of them calls STS.

    Args:
        audiences: The ``aud`` values, 1-10 strings of 1-1000 characters (Entra expects
            ``api://AzureADTokenExchange``; Google the workload identity provider's URL).
        signing_algorithm: ``RS256`` or ``ES384``.
        duration_seconds: Token lifetime, 60-3600. Always sent, so the role's token policy
            sees exactly what was asked for.
        tags: Up to 50 request tags, put under ``request_tags`` in the token.
        region: Region of the STS endpoint. Defaults to ``AWS_REGION``,
            ``AWS_DEFAULT_REGION``, then the boto3 session's configured region. The global
            endpoint does not serve this API, so a region is required.
        sts_client: A boto3 STS client to use instead of building one (must be regional).

    Example::

        supplier = AwsTokenSupplier(["https://example.com"], duration_seconds=900)
        headers = {"Authorization": f"Bearer {supplier.get_token()}"}
    """

    def __init__(
        self,
        audiences: Sequence[str],
        *,
        signing_algorithm: str = "RS256",
        duration_seconds: int = 300,
        tags: Mapping[str, str] | None = None,
        region: str | None = None,
        sts_client: Any = None,
        _clock: Callable[[], float] = time.time,
    ) -> None:
        _checked_request(audiences, signing_algorithm, duration_seconds, tags)
        self.audiences = tuple(audiences)
        self.signing_algorithm = signing_algorithm
        self.duration_seconds = int(duration_seconds)  # botocore wants an int; 300.0 means 300
        self.tags = dict(tags or {})
        self._client = sts_client if sts_client is not None else _regional_client(region)
        _check_endpoint(self._client)
        # Wall-clock time: STS's Expiration is wall-clock. Tests inject a fake clock here.
        self._clock = _clock
        self._lock = threading.Lock()
        self._cached: _Cached | None = None

    def __repr__(self) -> str:
        return (
            f"AwsTokenSupplier(audiences={self.audiences!r}, "
            f"signing_algorithm={self.signing_algorithm!r}, "
            f"duration_seconds={self.duration_seconds!r}, tags={sorted(self.tags)!r})"
        )

    @property
    def expiration(self) -> _dt.datetime | None:
        """When the cached token expires (UTC), or None before the first call."""
        cached = self._cached
        if cached is None:
            return None
        return _dt.datetime.fromtimestamp(cached.expires_at, _dt.timezone.utc)

    def get_token(self) -> str:
        """Return a token with comfortable life left, calling STS only when needed.

        Raises:
            TokenRequestError: STS refused; the message says what to change.
        """
        cached = self._cached
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.token
        with self._lock:
            # Double-checked: whoever held the lock before us may have refreshed already.
            cached = self._cached
            if cached is not None and self._clock() < cached.refresh_at:
                return cached.token
            self._cached = cached = self._fetch()
            return cached.token

    def _request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "Audience": list(self.audiences),
            "SigningAlgorithm": self.signing_algorithm,
            "DurationSeconds": self.duration_seconds,
        }
        if self.tags:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        return request

    def _fetch(self) -> _Cached:
        from botocore.exceptions import BotoCoreError, ClientError

        started = self._clock()
        try:
            response = self._client.get_web_identity_token(**self._request())
        except ClientError as error:
            raise self._map_error(error) from error
        except BotoCoreError as error:
            # Connection, credential and parameter errors; none of them carry the token.
            raise TokenRequestError(
                type(error).__name__, f"could not call STS GetWebIdentityToken: {error}"
            ) from error

        token = response.get("WebIdentityToken")
        if not isinstance(token, str) or not token:
            raise TokenRequestError("NoToken", "STS answered GetWebIdentityToken without a token")
        expires_at = _epoch(response.get("Expiration"), default=started + self.duration_seconds)
        lifetime = max(expires_at - started, 0.0)
        margin = min(max(_MIN_MARGIN, _MARGIN_FRACTION * lifetime), lifetime / 2)
        if expires_at <= self._clock():
            # Most likely this host's clock is ahead of AWS's; the token is still returned
            # (the relying party judges it by its own clock) but will not be cached.
            _LOG.warning(
                "STS returned a web identity token that already expired by the local clock "
                "(expiry %s); check this host's clock",
                _iso(expires_at),
            )
        _LOG.info(
            "refreshed AWS web identity token for audiences %s (%s, expires %s, next refresh %s)",
            list(self.audiences),
            self.signing_algorithm,
            _iso(expires_at),
            _iso(expires_at - margin),
        )
        return _Cached(token, expires_at, expires_at - margin)

    def _map_error(self, error: Any) -> TokenRequestError:
        code = error.response.get("Error", {}).get("Code") or "Unknown"
        if code in ("OutboundWebIdentityFederationDisabledException", "OutboundWebIdentityFederationDisabled"):
            message = _DISABLED
        elif code == "SessionDurationEscalationException":
            message = (
                f"the requested token duration ({self.duration_seconds} s) outlives the role "
                "session calling STS: request a shorter duration_seconds or refresh the session "
                "(new role credentials) first"
            )
        elif code == "JWTPayloadSizeExceededException":
            message = (
                f"the token would exceed STS's size limit: send fewer or shorter tags "
                f"(requested {len(self.tags)} tags)"
            )
        elif code in ("AccessDenied", "AccessDeniedException"):
            message = (
                "the role's token policy does not allow this request: audiences "
                f"{list(self.audiences)}, signing algorithm {self.signing_algorithm}, duration "
                f"{self.duration_seconds} s; allow sts:GetWebIdentityToken for this combination "
                "(conditions sts:IdentityTokenAudience, sts:SigningAlgorithm, sts:DurationSeconds)"
            )
            if self.tags:
                message += f" and sts:TagGetWebIdentityToken for tag keys {sorted(self.tags)}"
        else:
            detail = error.response.get("Error", {}).get("Message") or "no message"
            message = f"STS refused GetWebIdentityToken: {detail}"
        request_id = error.response.get("ResponseMetadata", {}).get("RequestId")
        if request_id:
            message += f" (STS request id {request_id})"
        return TokenRequestError(code, message)


def _checked_request(audiences: Any, algorithm: Any, duration: Any, tags: Any) -> None:
    """STS's limits, from the shared rules: wrong input fails here, before any call, naming the argument."""
    found = aws_rules.check_audiences(audiences, "audiences")
    found += aws_rules.check_signing_algorithm(algorithm, "signing_algorithm")
    found += aws_rules.check_duration_seconds(duration, "duration_seconds")
    if tags is not None:
        found += aws_rules.check_tags(tags, "tags")
    raise_for("AwsTokenSupplier", found)


def _regional_client(region: str | None) -> Any:
    import boto3

    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        region = boto3.session.Session().region_name
    if not region:
        raise TokenRequestError(
            "NoRegion",
            "no AWS region is configured: GetWebIdentityToken is only served by regional STS "
            "endpoints, so pass region=... or set AWS_REGION",
        )
    if region == "aws-global":
        raise TokenRequestError(
            "GlobalEndpoint",
            "region 'aws-global' means the global STS endpoint, which does not serve "
            "GetWebIdentityToken: use a real region such as us-east-1",
        )
    return boto3.client("sts", region_name=region)


def _check_endpoint(client: Any) -> None:
    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None) or ""
    if urlsplit(endpoint).hostname == "sts.amazonaws.com":
        raise TokenRequestError(
            "GlobalEndpoint",
            f"the STS client uses the global endpoint {endpoint}, which does not serve "
            "GetWebIdentityToken: create it with a region, e.g. "
            "boto3.client('sts', region_name='us-east-1')",
        )


def _epoch(value: Any, *, default: float) -> float:
    """Epoch seconds of STS's Expiration: botocore parses it to a tz-aware datetime."""
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:  # a naive datetime from a stub or an old parser is UTC
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    _LOG.warning("STS response has no usable Expiration; assuming the requested duration")
    return default


def _iso(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).isoformat(timespec="seconds")
