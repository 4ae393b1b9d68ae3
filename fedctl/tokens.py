"""Mint AWS web identity tokens (STS ``GetWebIdentityToken``) and keep one fresh, on good days and bad.

A workload running as an IAM role asks STS for a short-lived JWT whose ``sub`` is the role's
ARN, and hands it to Azure or Google, which trust the account's issuer
(``https://<uuid>.tokens.sts.global.api.aws``). :class:`AwsTokenSupplier` does the asking,
caches the token and refreshes it before it expires, so it can be handed straight to a cloud
SDK as its assertion callback.

How it behaves when things go wrong (modelled on botocore's refreshable credentials and
google-auth's background refresh):

- **Two refresh windows.** In the *advisory* window (by default the last max(60 s, 20%) of the
  token's life) one refresh runs in the background while every caller keeps getting the cached
  token; if it fails, the cached token is still served. Only in the *mandatory* window (the last
  max(10 s, 5%)) do callers wait for a refresh, and only there does a failure raise.
- **No thundering herd.** One refresh at a time, whatever the number of callers. After a
  failure the next STS call waits for a backoff step (1 s doubling to 10 s, with jitter), and
  callers that need a token in the meantime get the last error again without an STS call.
- **Clock skew.** Freshness is timed by the lifetime STS gave the token (its ``exp - iat``, or
  ``Expiration`` minus the response's ``Date``: both AWS's clock), counted on this host's
  monotonic clock from the moment the request was sent. A host clock that is minutes off
  neither refreshes on every call nor hands out expired tokens.
- **Right after Enable** AWS refuses tokens for about 10 s (``OutboundWebIdentityFederation
  Disabled`` 403, then ``InternalFailure`` 500). Until its first token, a supplier retries
  exactly those two for ``ready_timeout`` seconds (default 30), saying what it waits for, then
  raises AWS's own error.
- **Errors name the cause.** AWS's message and request ID are kept verbatim, with our
  explanation of the policy it names (permissions boundary, session policy, SCP, ...). Whatever
  the client or STS does, the supplier raises only :class:`~fedctl.errors.FederationError`\\ s.

Example::

    supplier = AwsTokenSupplier(["api://AzureADTokenExchange"], region="eu-west-1")
    jwt = supplier.get_token()      # one STS call
    jwt = supplier.get_token()      # cached until shortly before expiry
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import email.utils
import json
import logging
import math
import os
import random
import threading
import time
from typing import Any, Callable, Mapping, NamedTuple, Sequence
from urllib.parse import urlsplit

from components.rules import Violation, raise_for
from components.rules import aws as aws_rules
from components.rules.errors import StsConfigurationError, StsFederationDisabled, TokenRequestError
from components.rules.facts import GLOBAL_STS_HOST

_LOG = logging.getLogger("fedctl.tokens")

# Advisory window: refresh (in the background) when less than max(60 s, 20% of the lifetime) is
# left, but never more than half the lifetime early: with a 60 s token the 60 s floor alone
# would mean "refresh on every call".
_MIN_MARGIN = 60.0
_MARGIN_FRACTION = 0.2
# Mandatory window: callers wait for a refresh, and a failure raises, when less than
# max(10 s, 5% of the lifetime) is left (capped at a quarter of it). Leaves a relying party
# time to accept the token after it was handed out.
_MIN_MANDATORY = 10.0
_MANDATORY_FRACTION = 0.05

# Backoff after a failed refresh: 1 s doubling to 10 s, each step jittered to 50-100%. The cap
# is also the longest a caller without a token waits after STS has recovered, so it stays short;
# one call per 10 s per process is no load for STS.
_BACKOFF_BASE = 1.0
_BACKOFF_CAP = 10.0
# Between readiness retries right after Enable, at most 5 s: AWS is ready after ~9-12 s.
_READY_BACKOFF_CAP = 5.0
DEFAULT_READY_TIMEOUT = 30.0

_DISABLED_CODES = frozenset({
    "OutboundWebIdentityFederationDisabledException", "OutboundWebIdentityFederationDisabled",
})
# What AWS answers for ~10 s after EnableOutboundWebIdentityFederation: retried until ready.
_NOT_READY_CODES = _DISABLED_CODES | {"InternalFailure"}
_THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
    "RequestThrottled", "SlowDown", "ServiceUnavailable", "ServiceUnavailableException",
    "InternalFailure", "InternalError", "RequestTimeout", "RequestTimeoutException",
})
_NETWORK_ERRORS = frozenset({
    "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError",
    "ConnectionError", "HTTPClientError", "ProxyConnectionError", "SSLError",
})

_DISABLED = (
    "outbound identity federation is not enabled on this AWS account: enable it (one stack per "
    "account sets account.manage: true, or `aws iam enable-outbound-web-identity-federation`); "
    "right after enabling, AWS needs about 10 s before it mints tokens"
)


def refresh_margins(lifetime: float) -> tuple[float, float]:
    """(advisory, mandatory) seconds before expiry for a token that lives ``lifetime`` seconds.

    >>> refresh_margins(300)
    (60.0, 15.0)
    >>> refresh_margins(60)
    (30.0, 10.0)
    """
    lifetime = max(float(lifetime), 0.0)
    advisory = min(max(_MIN_MARGIN, _MARGIN_FRACTION * lifetime), lifetime / 2)
    mandatory = min(max(_MIN_MANDATORY, _MANDATORY_FRACTION * lifetime), lifetime / 4, advisory)
    return advisory, mandatory


def backoff_delay(failures: int, *, cap: float = _BACKOFF_CAP, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after ``failures`` consecutive failures (>= 1): doubling, capped, jittered.

    "Equal jitter": half the step is fixed, half random, so callers that failed together spread
    out but never retry sooner than half a step.

    >>> backoff_delay(1, rand=lambda: 0.0), backoff_delay(3, rand=lambda: 1.0), backoff_delay(9, rand=lambda: 1.0)
    (0.5, 4.0, 10.0)
    """
    step = min(cap, _BACKOFF_BASE * 2 ** min(max(failures, 1) - 1, 32))
    return step / 2 + (step / 2) * rand()


class _Cached(NamedTuple):
    token: str
    expires_at: float  # wall-clock epoch seconds, as AWS stated it (for ``expiration``)
    lifetime: float  # seconds the token lives, by AWS's clock
    fetched: float  # monotonic time the request was sent
    advisory_at: float  # monotonic
    mandatory_at: float  # monotonic
    expires: float  # monotonic


def _start_thread(target: Callable[[], None]) -> None:
    threading.Thread(target=target, name="fedctl-token-refresh", daemon=True).start()


def _call_inline(target: Callable[[], None]) -> None:
    target()


class AwsTokenSupplier:
    """Supplies a cached AWS web identity token for a fixed request shape.

    One supplier is one request shape (audiences, algorithm, duration, tags); the token cache
    lives in the instance. Safe to share between threads: however many callers arrive while
    the token needs refreshing, only one refresh runs (see the module docstring for how it
    behaves under STS outages, clock skew and right after Enable).

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
        ready_timeout: Seconds to keep retrying ``OutboundWebIdentityFederationDisabled`` and
            ``InternalFailure`` until the supplier's first token (AWS refuses tokens for ~10 s
            after Enable); 0 disables. Then AWS's own error is raised.
        advisory_margin: Seconds before expiry to start refreshing in the background while
            the cached token is still served. Default max(60 s, 20% of the lifetime), at most
            half of it.
        mandatory_margin: Seconds before expiry after which callers wait for a refresh and a
            failed refresh raises. Default max(10 s, 5% of the lifetime), at most a quarter
            of it; never more than the advisory margin.
        background_refresh: Refresh in the advisory window on a short-lived daemon thread, so
            no caller waits (default). ``False``: the first caller in the window refreshes
            inline while the others get the cached token; prefer this where threads freeze
            between invocations (AWS Lambda).
        progress: Called with a one-line message while the supplier waits for a newly
            enabled account (``fedctl token`` prints it on stderr). It is also logged.

    Example::

        supplier = AwsTokenSupplier(["https://example.com"], duration_seconds=900, ready_timeout=60)
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
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        advisory_margin: float | None = None,
        mandatory_margin: float | None = None,
        background_refresh: bool = True,
        progress: Callable[[str], None] | None = None,
        _clock: Callable[[], float] | None = None,
        _monotonic: Callable[[], float] | None = None,
        _sleep: Callable[[float], None] = time.sleep,
        _random: Callable[[], float] = random.random,
    ) -> None:
        _checked_request(audiences, signing_algorithm, duration_seconds, tags)
        _checked_options(duration_seconds, ready_timeout, advisory_margin, mandatory_margin,
                         background_refresh, progress)
        self.audiences = tuple(audiences)
        self.signing_algorithm = signing_algorithm
        self.duration_seconds = int(duration_seconds)  # botocore wants an int; 300.0 means 300
        self.tags = dict(tags or {})
        self.ready_timeout = float(ready_timeout)
        self.advisory_margin = advisory_margin
        self.mandatory_margin = mandatory_margin
        self.background_refresh = background_refresh
        self._progress = progress
        self._client = sts_client if sts_client is not None else _regional_client(region)
        _check_endpoint(self._client)
        # Wall clock: only for reporting ``expiration`` and spotting skew. Freshness runs on the
        # monotonic clock. A test that injects one fake clock drives both with it.
        self._clock = _clock or time.time
        self._monotonic = _monotonic or _clock or time.monotonic
        self._sleep = _sleep
        self._random = _random
        self._spawn = _start_thread if background_refresh else _call_inline
        self._cond = threading.Condition(threading.Lock())
        self._cached: _Cached | None = None
        self._refreshing = False
        self._failures = 0
        self._next_attempt = -math.inf  # monotonic; no STS call before this after a failure
        self._last_error: TokenRequestError | None = None
        self._ever_minted = False
        self._warned_skew = False

    def __repr__(self) -> str:
        return (
            f"AwsTokenSupplier(audiences={self.audiences!r}, "
            f"signing_algorithm={self.signing_algorithm!r}, "
            f"duration_seconds={self.duration_seconds!r}, tags={sorted(self.tags)!r})"
        )

    @property
    def expiration(self) -> _dt.datetime | None:
        """When the cached token expires (UTC, as AWS stated it), or None before the first call."""
        cached = self._cached
        if cached is None:
            return None
        return _dt.datetime.fromtimestamp(cached.expires_at, _dt.timezone.utc)

    @property
    def expires_in(self) -> float | None:
        """Seconds the cached token has left, by AWS's lifetime and this host's monotonic clock.

        Unlike ``expiration`` this does not depend on the host's wall clock: add it to
        ``time.time()`` to tell a local consumer (google-auth's executable source) when the
        token expires by *its* clock.
        """
        cached = self._cached
        if cached is None:
            return None
        return max(cached.expires - self._monotonic(), 0.0)

    def get_token(self) -> str:
        """Return a token with comfortable life left, calling STS only when needed.

        Raises:
            TokenRequestError: STS refused (``code`` is AWS's), or could not be reached, and no
                cached token outside the mandatory window is left to serve.
            StsFederationDisabled: the account has not enabled outbound identity federation
                (after ``ready_timeout`` seconds of waiting for a newly enabled account).
        """
        cached = self._cached
        if cached is not None and self._monotonic() < cached.advisory_at:
            return cached.token  # the hot path: no lock
        return self._refresh_or_wait()

    # -- refreshing ------------------------------------------------------------------------

    def _refresh_or_wait(self) -> str:
        with self._cond:
            while True:
                now = self._monotonic()
                cached = self._cached
                if cached is not None and now < cached.advisory_at:
                    return cached.token
                if cached is not None and now < cached.mandatory_at:
                    # Advisory window: the cached token is good; at most one refresh, paced.
                    if self._refreshing or now < self._next_attempt:
                        return cached.token
                    self._refreshing = True
                    advisory = True
                    break
                # Mandatory window, or no token: wait for a refresh in flight, else do one.
                if self._refreshing:
                    self._cond.wait()
                    continue
                if now < self._next_attempt and self._last_error is not None:
                    raise self._last_error.again()
                self._refreshing = True
                advisory = False
                break
        if advisory:
            try:
                self._spawn(self._background_refresh)
            except Exception as error:  # e.g. "can't start new thread": keep serving, try later
                self._finish(None, TokenRequestError(
                    "RefreshNotStarted", f"could not start the background refresh: {error}", transient=True))
            return self._cached.token  # type: ignore[union-attr]  # the new one if already done
        return self._foreground_refresh()

    def _foreground_refresh(self) -> str:
        fresh: _Cached | None = None
        error: TokenRequestError | None = None
        try:
            fresh = self._fetch(wait_until_ready=not self._ever_minted)
            return fresh.token
        except TokenRequestError as failed:
            error = failed
            raise
        finally:
            self._finish(fresh, error)

    def _background_refresh(self) -> None:
        fresh: _Cached | None = None
        error: TokenRequestError | None = None
        try:
            fresh = self._fetch(wait_until_ready=False)
        except TokenRequestError as failed:
            error = failed
            cached = self._cached
            left = max(cached.expires - self._monotonic(), 0.0) if cached else 0.0
            _LOG.warning("could not refresh the AWS web identity token (%s); still serving the cached "
                         "token (%.0f s left)", failed.code, left)
        finally:
            self._finish(fresh, error)

    def _finish(self, fresh: _Cached | None, error: TokenRequestError | None) -> None:
        with self._cond:
            self._refreshing = False
            if fresh is not None:
                self._cached = fresh
                self._failures = 0
                self._next_attempt = -math.inf
                self._last_error = None
                self._ever_minted = True
            elif error is not None:
                now = self._monotonic()
                self._failures += 1
                next_attempt = now + backoff_delay(self._failures, rand=self._random)
                cached = self._cached
                if cached is not None and now < cached.mandatory_at:
                    # Never back off past the mandatory window: the first caller there tries again.
                    next_attempt = min(next_attempt, cached.mandatory_at)
                self._next_attempt = next_attempt
                self._last_error = error
            self._cond.notify_all()

    # -- one refresh -----------------------------------------------------------------------

    def _fetch(self, *, wait_until_ready: bool) -> _Cached:
        """Call STS once, or, right after Enable, until the account is ready or the budget is spent."""
        if not wait_until_ready or self.ready_timeout <= 0:
            return self._call_sts()
        deadline = self._monotonic() + self.ready_timeout
        waits = 0
        while True:
            try:
                return self._call_sts()
            except TokenRequestError as error:
                if error.code not in _NOT_READY_CODES:
                    raise
                waits += 1
                delay = backoff_delay(waits, cap=_READY_BACKOFF_CAP, rand=self._random)
                left = deadline - self._monotonic()
                if delay > left:
                    raise
                message = (f"STS answered {error.code}: waiting for a newly enabled account to start "
                           f"minting tokens (AWS takes about 10 s); retry {waits} in {delay:.1f} s, "
                           f"giving up in {left:.0f} s")
                _LOG.warning("%s", message)
                if self._progress is not None:
                    try:
                        self._progress(message)
                    except Exception:  # a broken progress callback must not break the token
                        _LOG.debug("progress callback failed", exc_info=True)
                self._sleep(delay)

    def _request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "Audience": list(self.audiences),
            "SigningAlgorithm": self.signing_algorithm,
            "DurationSeconds": self.duration_seconds,
        }
        if self.tags:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        return request

    def _call_sts(self) -> _Cached:
        from botocore.exceptions import BotoCoreError, ClientError

        started = self._monotonic()
        started_wall = self._clock()
        try:
            response = self._client.get_web_identity_token(**self._request())
        except ClientError as error:
            raise self._map_error(error) from error
        except BotoCoreError as error:
            # Connection, credential and parameter errors; none of them carry the token.
            name = type(error).__name__
            raise TokenRequestError(
                name, f"could not call STS GetWebIdentityToken: {error}", transient=name in _NETWORK_ERRORS,
            ) from error
        except TokenRequestError:
            raise
        except Exception as error:
            # botocore raises KeyError for an HTML page with status 200 or a reply without its
            # result element, and ResponseParserError (not a BotoCoreError) for broken XML.
            raise TokenRequestError(
                "InvalidResponse",
                f"STS GetWebIdentityToken gave an answer that could not be read "
                f"({type(error).__name__}: {str(error)[:200]}); a proxy or load balancer in the way "
                "may have answered instead of STS",
                transient=True,
            ) from error
        return self._cached_from(response, started, started_wall)

    def _cached_from(self, response: Any, started: float, started_wall: float) -> _Cached:
        if not isinstance(response, Mapping):
            raise TokenRequestError("InvalidResponse", "STS answered GetWebIdentityToken with something "
                                    f"that is not a response ({type(response).__name__})", transient=True)
        token = response.get("WebIdentityToken")
        if not isinstance(token, str) or not token:
            raise TokenRequestError("NoToken", "STS answered GetWebIdentityToken without a token", transient=True)

        iat, exp = _unverified_times(token)
        expiration = _epoch(response.get("Expiration"))
        date = _http_date(_get(_get(response, "ResponseMetadata"), "HTTPHeaders", "date"))

        # The lifetime by AWS's own clock: exp - iat from the token, or Expiration - Date from
        # the response. Never more than was asked for. Only if neither is there, this host's.
        by_aws = [v for v in (exp - iat if iat is not None and exp is not None else None,
                              expiration - date if expiration is not None and date is not None else None)
                  if v is not None]
        if by_aws:
            lifetime = min(by_aws)
        elif expiration is not None:
            lifetime = expiration - started_wall
            _LOG.warning("could not read the token's lifetime by AWS's clock; timing it by this host's")
        else:
            lifetime = float(self.duration_seconds)
            _LOG.warning("STS response has no usable Expiration; assuming the requested duration")
        lifetime = min(max(lifetime, 0.0), float(self.duration_seconds))
        if date is not None:
            self._note_skew(started_wall - date)

        advisory, mandatory = refresh_margins(lifetime)
        if self.advisory_margin is not None:
            advisory = min(float(self.advisory_margin), lifetime)
        if self.mandatory_margin is not None:
            mandatory = min(float(self.mandatory_margin), lifetime)
        mandatory = min(mandatory, advisory)
        expires_at = expiration if expiration is not None else (
            float(exp) if exp is not None else started_wall + lifetime)
        expires = started + lifetime
        _LOG.info(
            "refreshed AWS web identity token for audiences %s (%s, %.0f s by AWS's clock, expires %s, "
            "next refresh in %.0f s)",
            list(self.audiences), self.signing_algorithm, lifetime, _iso(expires_at), lifetime - advisory,
        )
        return _Cached(token, expires_at, lifetime, started, expires - advisory, expires - mandatory, expires)

    def _note_skew(self, skew: float) -> None:
        if abs(skew) < 30 or self._warned_skew:
            return
        self._warned_skew = True
        _LOG.warning(
            "this host's clock is %+.0f s off AWS's; tokens are timed by AWS's lifetime on the monotonic "
            "clock, so this supplier is unaffected, but fix the clock (NTP): other software is not",
            skew,
        )

    # -- errors ----------------------------------------------------------------------------

    def _map_error(self, error: Any) -> TokenRequestError:
        response = getattr(error, "response", None)
        code = _text(_get(response, "Error", "Code")) or "Unknown"
        aws_message = _text(_get(response, "Error", "Message"))
        request_id = _text(_get(response, "ResponseMetadata", "RequestId"))
        status = _get(response, "ResponseMetadata", "HTTPStatusCode")
        status = status if type(status) is int else None
        explanation, denied_by = self._explain(code, aws_message or "")
        message = explanation
        if aws_message:
            message += f". AWS said: {aws_message}"
        if request_id:
            message += f" (STS request id {request_id})"
        kind = StsFederationDisabled if code in _DISABLED_CODES else TokenRequestError
        transient = code in _THROTTLING_CODES or (status is not None and (status >= 500 or status == 429))
        return kind(code, message, aws_message=aws_message, request_id=request_id, http_status=status,
                    explanation=explanation, denied_by=denied_by, transient=transient)

    def _explain(self, code: str, aws_message: str) -> tuple[str, str | None]:
        """Our explanation of an STS error, and for AccessDenied which policy AWS says refused.

        AWS's AccessDenied texts name the policy type ("... because no permissions boundary
        allows ...", "... with an explicit deny in a service control policy"); the explanation
        follows that text rather than guessing.
        """
        if code in _DISABLED_CODES:
            return _DISABLED, None
        if code == "SessionDurationEscalationException":
            return (f"the requested token duration ({self.duration_seconds} s) outlives the role "
                    "session calling STS: request a shorter duration_seconds or refresh the session "
                    "(new role credentials) first"), None
        if code == "JWTPayloadSizeExceededException":
            return (f"the token would exceed STS's size limit: send fewer or shorter tags "
                    f"(requested {len(self.tags)} tags)"), None
        if code in ("AccessDenied", "AccessDeniedException"):
            return self._explain_denial(aws_message.lower())
        if code == "InternalFailure":
            return "STS failed internally (right after Enable this is normal for a few seconds)", None
        if code in _THROTTLING_CODES or code.isdigit():
            return "STS is throttling or unavailable; the supplier backs off and tries again", None
        return "STS refused GetWebIdentityToken", None

    def _explain_denial(self, text: str) -> tuple[str, str | None]:
        shape = (f"audiences {list(self.audiences)}, signing algorithm {self.signing_algorithm}, duration "
                 f"{self.duration_seconds} s")
        if self.tags:
            shape += f", tag keys {sorted(self.tags)}"
        if "federated user session" in text:
            return ("a federated user session (from GetFederationToken) cannot get web identity tokens: "
                    "call GetWebIdentityToken with role credentials instead"), "federated-user-session"
        if "permissions boundary" in text:
            return (f"the role's permissions boundary does not allow this request ({shape}): add "
                    "sts:GetWebIdentityToken to the boundary policy"), "permissions-boundary"
        if "session policy" in text:
            return (f"a session policy passed when this role session was created denies this request "
                    f"({shape}): assume the role without it, or allow sts:GetWebIdentityToken in it"), \
                "session-policy"
        if "service control policy" in text:
            return (f"a service control policy (AWS Organizations) denies this request ({shape}): ask the "
                    "organization's administrators; the role's own policies cannot override it"), \
                "service-control-policy"
        if "resource control policy" in text:
            return (f"a resource control policy (AWS Organizations) denies this request ({shape}): ask the "
                    "organization's administrators"), "resource-control-policy"
        if "vpc endpoint policy" in text:
            return (f"the STS VPC endpoint's policy denies this request ({shape}): allow "
                    "sts:GetWebIdentityToken in the endpoint policy, or use another endpoint"), \
                "vpc-endpoint-policy"
        if "explicit deny in an identity-based policy" in text:
            return (f"an identity-based policy attached to the role explicitly denies this request "
                    f"({shape}): find the Deny statement (conditions sts:IdentityTokenAudience, "
                    "sts:SigningAlgorithm, sts:DurationSeconds, aws:RequestTag)"), "identity-policy-deny"
        advice = (f"the role's token policy does not allow this request: {shape}; allow "
                  "sts:GetWebIdentityToken for this combination (conditions sts:IdentityTokenAudience, "
                  "sts:SigningAlgorithm, sts:DurationSeconds)")
        if self.tags:
            advice += f" and sts:TagGetWebIdentityToken for tag keys {sorted(self.tags)}"
        if "no identity-based policy allows" in text:
            return advice, "identity-policy"
        # AWS's text did not say which policy: the token policy is the usual cause, but say so.
        return advice + " (AWS's message does not say which policy refused; a permissions boundary, " \
            "session policy or organization policy may also be the cause)", None


def _checked_request(audiences: Any, algorithm: Any, duration: Any, tags: Any) -> None:
    """STS's limits, from the shared rules: wrong input fails here, before any call, naming the argument."""
    found = aws_rules.check_audiences(audiences, "audiences")
    found += aws_rules.check_signing_algorithm(algorithm, "signing_algorithm")
    found += aws_rules.check_duration_seconds(duration, "duration_seconds")
    if tags is not None:
        found += aws_rules.check_tags(tags, "tags")
    raise_for("AwsTokenSupplier", found)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _checked_options(duration: Any, ready_timeout: Any, advisory: Any, mandatory: Any, background: Any,
                     progress: Any) -> None:
    found: list[Violation] = []
    if not _is_number(ready_timeout) or ready_timeout < 0:
        found.append(Violation("ready_timeout", ready_timeout, "must be a number of seconds >= 0 (0: no waiting)",
                               code="tokens.ready-timeout"))
    limit = duration if _is_number(duration) else None
    for name, value in (("advisory_margin", advisory), ("mandatory_margin", mandatory)):
        if value is None:
            continue
        if not _is_number(value) or value < 0 or (limit is not None and value >= limit):
            found.append(Violation(name, value, f"must be None or seconds >= 0 and below duration_seconds ({duration})",
                                   code=f"tokens.{name.replace('_', '-')}"))
    if _is_number(advisory) and _is_number(mandatory) and mandatory > advisory:
        found.append(Violation("mandatory_margin", mandatory, f"must not exceed advisory_margin ({advisory})",
                               code="tokens.mandatory-margin.order"))
    if not isinstance(background, bool):
        found.append(Violation("background_refresh", background, "must be True or False",
                               code="tokens.background-refresh"))
    if progress is not None and not callable(progress):
        found.append(Violation("progress", progress, "must be None or a function taking one message",
                               code="tokens.progress"))
    raise_for("AwsTokenSupplier", found)


def regional_sts_client(region: str | None = None) -> Any:
    """A boto3 STS client for a regional endpoint (``region``, else ``AWS_REGION``/``AWS_DEFAULT_REGION``,
    else the boto3 session's); :class:`StsConfigurationError` when there is none or it is the global one.

    GetWebIdentityToken is served by regional endpoints only; ``fedctl doctor`` asks GetCallerIdentity
    of the same endpoint the token comes from.
    """
    return _regional_client(region)


def _regional_client(region: str | None) -> Any:
    import boto3

    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        region = boto3.session.Session().region_name
    if not region:
        raise StsConfigurationError(
            "NoRegion",
            "no AWS region is configured: GetWebIdentityToken is only served by regional STS "
            "endpoints, so pass region=... or set AWS_REGION",
        )
    if region == "aws-global":
        raise StsConfigurationError(
            "GlobalEndpoint",
            "region 'aws-global' means the global STS endpoint, which does not serve "
            "GetWebIdentityToken: use a real region such as us-east-1",
        )
    return boto3.client("sts", region_name=region)


def _check_endpoint(client: Any) -> None:
    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None) or ""
    try:
        host = urlsplit(str(endpoint)).hostname
    except ValueError:
        host = None
    if host == GLOBAL_STS_HOST:
        raise StsConfigurationError(
            "GlobalEndpoint",
            f"the STS client uses the global endpoint {endpoint}, which does not serve "
            "GetWebIdentityToken: create it with a region, e.g. "
            "boto3.client('sts', region_name='us-east-1')",
        )


def _get(value: Any, *keys: str) -> Any:
    """value[k1][k2]... where every level is a mapping, else None: botocore's dicts, or a stub's anything."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _text(value: Any, limit: int = 2000) -> str | None:
    """A value from an error reply as text (AWS's own words, kept verbatim), or None if empty."""
    if value is None or value == "":
        return None
    try:
        text = value if isinstance(value, str) else repr(value)
    except (ValueError, RecursionError):  # e.g. an int too long to print
        text = f"<{type(value).__name__}>"
    return text[:limit]


def _unverified_times(token: str) -> tuple[float | None, float | None]:
    """(iat, exp) read from the token WITHOUT verifying it: for timing freshness only, never trust."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, TypeError, binascii.Error, RecursionError):
        return None, None
    if not isinstance(claims, dict):
        return None, None
    iat, exp = claims.get("iat"), claims.get("exp")
    if not (_is_number(iat) and _is_number(exp)) or not 0 < exp - iat <= 86400:
        return None, None
    return float(iat), float(exp)


def _http_date(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return parsed.timestamp()


def _epoch(value: Any) -> float | None:
    """Epoch seconds of STS's Expiration: botocore parses it to a tz-aware datetime."""
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:  # a naive datetime from a stub or an old parser is UTC
            value = value.replace(tzinfo=_dt.timezone.utc)
        try:
            return value.timestamp()
        except (OverflowError, OSError, ValueError):
            return None
    if _is_number(value):
        return float(value)
    return None


def _iso(epoch: float) -> str:
    try:
        return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return f"{epoch!r}"
