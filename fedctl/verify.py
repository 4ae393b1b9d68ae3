"""Verify AWS web identity tokens the way a careful relying party would, on the issuer's bad days too.

:class:`TokenVerifier` finds the issuer's keys through OIDC discovery, caches them by kid and
checks a token's signature and claims. It is deliberately strict: only RS256 and ES384 are
ever accepted, the key must fit the header's algorithm, the issuer must match exactly, and each
token has exactly one accepted spelling (canonical, unpadded base64url, RFC 7515), so a replay
cache keyed on the token string holds.

How it behaves when the issuer misbehaves:

- **Keys expire.** The JWKS is re-fetched on a schedule: after the ``Cache-Control: max-age``
  the issuer sent (bounded to 2 minutes - 1 day), else ``keys_max_age`` (300 s, as PyJWT's
  ``PyJWKClient``). A key the issuer withdrew stops verifying within that age.
- **Nobody waits for a refresh they do not need.** A due refresh runs on a background thread
  while tokens keep verifying against the cached keys. If the issuer is down, the known keys
  stay in use and the fetch is retried every ``min_refresh_interval``.
- **Unknown kids cannot storm the issuer.** A kid not in the cache triggers at most one fetch
  per ``min_refresh_interval``, however many forged kids arrive.
- **Slow issuers are cut off.** ``http_timeout`` bounds each network read, ``fetch_timeout`` the
  whole refresh (connects, redirects, headers and a trickling body together).
- **Every failure is a** :class:`~fedctl.errors.TokenRejected` with a precise ``reason``; no input
  makes ``verify()`` raise anything else.

Reasons (stable; branch on them, not on messages):

=====================  ===========================================================================
``oversized``          longer than ``max_token_bytes`` (checked before any decoding)
``malformed``          not a string or bytes, not ASCII, or not three dot-separated segments
``encrypted``          a JWE (five segments, or an ``enc`` header): AWS tokens are signed, not encrypted
``bad_encoding``       a segment is empty, outside the base64url alphabet, or of impossible length
``non_canonical``      ``=`` padding or stray bits: a second spelling of a valid token
``bad_header``         the header is not a JSON object
``bad_kid``            ``kid`` is not a string
``bad_crit``           ``crit`` is not a non-empty list of names present in the header, or names a
                       registered header parameter
``unsupported_crit``   ``crit`` names an extension this verifier does not implement
``unencoded_payload``  ``b64: false`` (RFC 7797 detached / unencoded payloads)
``alg_not_allowed``    ``alg`` missing or not one of the configured algorithms
``missing_kid``        no (or an empty) ``kid``
``unknown_kid``        the kid is not in the issuer's JWKS
``key_mismatch``       the header's alg does not fit the key the kid names
``bad_signature``      the signature does not verify
``bad_payload``        the payload is not a JSON object
``bad_issuer``         ``iss`` is not the configured issuer
``bad_audience``       ``aud`` holds none of the configured audiences
``missing_claim``      ``exp``, ``iat`` or ``sub`` missing (or ``sub`` empty)
``bad_claim``          ``exp``/``iat``/``nbf`` not a NumericDate in range, or ``sub`` not a string
``expired``            ``exp`` passed (beyond ``leeway``)
``not_yet_valid``      ``nbf`` in the future (beyond ``leeway``)
``issued_in_future``   ``iat`` in the future (beyond ``leeway``)
``bad_subject``        ``sub`` not in ``subjects``
``jwks_unavailable``   the issuer's keys could not be fetched (:class:`~fedctl.errors.KeysUnavailable`)
=====================  ===========================================================================

Example::

    verifier = TokenVerifier(
        "https://0f2c....tokens.sts.global.api.aws",
        ["https://api.example.com"],
        subjects=["arn:aws:iam::123456789012:role/app"],
    )
    try:
        claims = verifier.verify(token)
    except TokenRejected as rejected:
        log.info("rejected: %s", rejected.reason)
"""

from __future__ import annotations

import binascii
import http.client
import json
import json.scanner
import logging
import math
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from components.rules import Violation, raise_for
from components.rules.errors import KeysUnavailable, TokenRejected
from components.rules.facts import DISCOVERY_PATH, SIGNING_ALGORITHMS

_LOG = logging.getLogger("fedctl.verify")

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# What each accepted algorithm needs of the key: (kty, crv). AWS signs with nothing else.
_KEY_SHAPES: dict[str, tuple[str, str | None]] = {"RS256": ("RSA", None), "ES384": ("EC", "P-384")}
_MAX_DOCUMENT_BYTES = 1_000_000
# AWS's largest token is about 20,378 bytes (a 14,984-byte payload; one byte more and STS
# refuses to mint it). The default cap leaves room above that and bounds the work on garbage.
DEFAULT_MAX_TOKEN_BYTES = 32_768
# A JWKS Cache-Control max-age is honoured within these bounds (seconds).
_KEYS_AGE_FLOOR = 120.0
_KEYS_AGE_CEILING = 86_400.0
# NumericDate claims outside [0, year 9999] are refused before any arithmetic on them.
_MAX_NUMERIC_DATE = 253_402_300_799

_ALPHABET = re.compile(rb"[A-Za-z0-9_-]*")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_PADDING = (b"", b"", b"==", b"=")
_B64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# A compact JWS in base64url has nothing but these and exactly two dots (checked at C speed by
# deleting them and looking at what is left).
# The last character of a segment whose length is 2 or 3 (mod 4) carries 4 or 2 spare bits,
# which must be zero: otherwise the same bytes have several spellings.
_CANONICAL_LAST = {
    0: frozenset(_B64URL),
    2: frozenset(c for i, c in enumerate(_B64URL) if i & 15 == 0),
    3: frozenset(c for i, c in enumerate(_B64URL) if i & 3 == 0),
}
# Header parameters registered for JWS/JWE (RFC 7515, 7516, 7518): never allowed in crit.
_REGISTERED_HEADER = frozenset({
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
    "enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c",
})
# Extensions this verifier understands in crit: b64 (RFC 7797), and only its default, true.
_SUPPORTED_CRIT = frozenset({"b64"})
_JSON = json.JSONDecoder()
# The decoder's own C scanner: what JSONDecoder.decode runs, without its two whitespace regexes
# (a token's JSON has no whitespace around it; when it does, the full decoder judges it).
_SCAN = json.scanner.make_scanner(_JSON)
_HEADER_CACHE_SIZE = 256


class _Rejected(Exception):
    """Internal: carries a reason and message up to ``verify``, which raises TokenRejected."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason, self.message = reason, message


def _url_allowed(url: str) -> bool:
    """https anywhere; plain http only to this machine (tests, rehearsals)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if not host:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS)


def _short(value: Any, limit: int = 80) -> str:
    """repr() of a value taken from a token, cut short: messages quote claims, never tokens."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # e.g. an int too large to print
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _numeric_date(value: Any) -> bool:
    """A NumericDate we can do arithmetic on: never bool, NaN, inf or 10**400 (no OverflowError)."""
    return type(value) in (int, float) and 0 <= value <= _MAX_NUMERIC_DATE


def _b64(segment: bytes, what: str) -> bytes:
    """Decode a segment already known to be in the base64url alphabet; only its canonical spelling."""
    rest = len(segment) & 3
    if rest == 1:
        raise _Rejected("bad_encoding", f"{what} has an impossible base64url length")
    if segment[-1] not in _CANONICAL_LAST[rest]:
        raise _Rejected("non_canonical", f"{what} is not canonical base64url (stray bits in its last character)")
    return binascii.a2b_base64(segment.translate(_TO_STANDARD) + _PADDING[rest])


def _json_object(data: bytes, reason: str, what: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
        try:
            value, end = _SCAN(text, 0)
        except StopIteration:
            value, end = None, -1
        if end != len(text):
            value = _JSON.decode(text)
    except (ValueError, RecursionError):
        raise _Rejected(reason, f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise _Rejected(reason, f"{what} is not a JSON object (a {type(value).__name__})")
    return value


def _diagnose(data: bytes, algorithms: frozenset[str]) -> _Rejected:
    """Why ``data`` is not one canonical compact JWS (the slow path, for rejections only).

    Judged in reading order, header first, so an ``alg: none`` token with its empty signature
    is refused for its algorithm rather than for the empty segment.
    """
    parts = data.split(b".")
    if len(parts) == 5:
        return _Rejected("encrypted", "token is a JWE (five segments): AWS tokens are signed JWS, never encrypted")
    if len(parts) != 3:
        return _Rejected("malformed", f"token has {len(parts)} segments, not three (header.payload.signature)")
    for index, (name, part) in enumerate(zip(("header", "payload", "signature"), parts)):
        if not part:
            if name == "signature":
                break  # judged after the header
            return _Rejected("bad_encoding", f"the {name} segment is empty")
        if part.rstrip(b"=") != part and _ALPHABET.fullmatch(part.rstrip(b"=")):
            return _Rejected("non_canonical", f"the {name} segment is padded with '=': tokens are unpadded base64url")
        if not _ALPHABET.fullmatch(part):
            return _Rejected("bad_encoding", f"the {name} segment is not base64url")
        if index == 0:
            try:
                _check_header(_json_object(_b64(part, "the header"), "bad_header", "the header"), algorithms)
            except _Rejected as rejected:
                return rejected
    return _Rejected("bad_encoding", "the signature segment is empty")


def _check_header(header: dict[str, Any], algorithms: frozenset[str]) -> tuple[str, str]:
    """(alg, kid) of a header that passes every check; _Rejected otherwise."""
    if "enc" in header:
        raise _Rejected("encrypted", "header has 'enc': a JWE, and AWS tokens are signed JWS, never encrypted")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _Rejected("bad_kid", f"kid is a {type(kid).__name__}, not a string")
    if "crit" in header:
        crit = header["crit"]
        if not isinstance(crit, list) or not crit or not all(isinstance(name, str) for name in crit):
            raise _Rejected("bad_crit", "crit must be a non-empty list of header parameter names")
        registered = sorted(set(crit) & _REGISTERED_HEADER)
        if registered:
            raise _Rejected("bad_crit", f"crit names registered header parameters {registered}")
        absent = [name for name in crit if name not in header]
        if absent:
            raise _Rejected("bad_crit", f"crit names parameters the header does not have: {_short(absent)}")
        unknown = [name for name in crit if name not in _SUPPORTED_CRIT]
        if unknown:
            raise _Rejected("unsupported_crit", f"crit names extensions this verifier does not implement: "
                                                f"{_short(unknown)}")
    if header.get("b64", True) is not True:
        raise _Rejected("unencoded_payload", "b64 is not true: detached or unencoded payloads are not accepted")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise _Rejected("alg_not_allowed", f"header alg {_short(alg, 40)} is not one of {sorted(algorithms)}")
    if not kid:
        raise _Rejected("missing_kid", "header has no kid; the signing key cannot be chosen")
    return alg, kid


def _rsa_verifier(key: Any) -> Callable[[bytes, bytes], bool]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    pad, digest, check = padding.PKCS1v15(), hashes.SHA256(), key.verify

    def verify(signature: bytes, signed: bytes) -> bool:
        try:
            check(signature, signed, pad, digest)
        except InvalidSignature:
            return False
        return True

    return verify


def _ec_verifier(key: Any) -> Callable[[bytes, bytes], bool]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    ecdsa, check = ec.ECDSA(hashes.SHA384()), key.verify

    def verify(signature: bytes, signed: bytes) -> bool:
        if len(signature) != 96:  # r || s, 48 bytes each for P-384 (RFC 7518 3.4)
            return False
        der = encode_dss_signature(int.from_bytes(signature[:48], "big"), int.from_bytes(signature[48:], "big"))
        try:
            check(der, signed, ecdsa)
        except InvalidSignature:
            return False
        return True

    return verify


class _FetchError(Exception):
    pass


# -- fetching with a total deadline -----------------------------------------------------------

_FETCH = threading.local()  # the deadline of the fetch running on this thread, for its connections


class _Deadline:
    """A total time limit on one key refresh: when it passes, every socket the refresh opened is
    shut down, which ends a blocked connect, header or body read at once (a trickling server
    cannot hold a read past it the way it can a per-read timeout)."""

    def __init__(self, seconds: float) -> None:
        self.expires = time.monotonic() + seconds
        self.fired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.expires - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.fired:
                self._sockets.append(sock)
                return
        _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._sockets = []


def _shut(sock: socket.socket) -> None:
    try:
        # The plain socket's shutdown, also for an SSLSocket: no TLS close_notify from this thread.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


def _with_deadline(connection: type) -> type:
    class DeadlineConnection(connection):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            deadline: _Deadline | None = getattr(_FETCH, "deadline", None)
            if deadline is not None:
                left = deadline.remaining()
                if left <= 0:
                    raise _FetchError("no time left for another connection")
                self.timeout = min(self.timeout, left) if isinstance(self.timeout, (int, float)) else left
            super().connect()
            if deadline is not None:
                deadline.watch(self.sock)

    return DeadlineConnection


_HTTPConnection = _with_deadline(http.client.HTTPConnection)
_HTTPSConnection = _with_deadline(http.client.HTTPSConnection)


class _DeadlineHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_HTTPConnection, req)


class _DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_HTTPSConnection, req, context=self._context)


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow an https -> http redirect; keys fetched that way could be anyone's.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[override]
        if not _url_allowed(newurl):
            raise _FetchError(f"refusing redirect to {newurl}: not https")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _max_age(cache_control: str | None) -> float | None:
    """Seconds from ``Cache-Control`` (``max-age``; 0 for ``no-cache``/``no-store``), or None."""
    if not cache_control:
        return None
    age = None
    for directive in cache_control.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in ("no-cache", "no-store"):
            return 0.0
        if name == "max-age":
            try:
                age = float(int(value.strip().strip('"')))
            except ValueError:
                return None
    return age


def _spawn(target: Callable[[], None]) -> None:
    threading.Thread(target=target, name="fedctl-jwks-refresh", daemon=True).start()


class TokenVerifier:
    """Verifies JWTs from one issuer for a set of audiences.

    Args:
        issuer: The issuer URL, exactly as it appears in ``iss``: lower-case scheme and host,
            no trailing slash, no spaces (AWS: ``https://<uuid>.tokens.sts.global.api.aws``).
            Must be https; plain http is allowed for loopback hosts only. Anything else fails
            here with a :class:`~fedctl.errors.ValidationError`, not later as ``jwks_unavailable``.
        audiences: Acceptable ``aud`` values; a token must carry at least one of them.
        algorithms: A subset of ``("RS256", "ES384")``. Anything else (``none``, ``HS256``,
            ...) is refused here, not silently ignored.
        subjects: If given, the only ``sub`` values (role ARNs, path included) accepted.
        leeway: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
        max_token_bytes: Longer tokens are rejected before any decoding. The default, 32,768,
            is above AWS's largest token (about 20,400 bytes).
        http_timeout: Seconds for each network operation (connect, each read).
        fetch_timeout: Seconds for one whole key refresh (discovery and JWKS, every connect,
            redirect and read together). Default: twice ``http_timeout``.
        min_refresh_interval: Minimum seconds between JWKS fetches (after an unknown kid or a
            failed fetch): a flood of forged kids costs the issuer one request per interval.
        keys_max_age: Seconds the keys are used before they are re-fetched, when the issuer
            sends no ``Cache-Control: max-age`` (which is honoured between 2 minutes and a day).
        jwks: A JWKS document to use instead of discovery (offline verification). The
            verifier then never makes a request.

    ``verify`` is safe to call from many threads at once; callers whose key is cached never
    wait for a fetch.

    Example::

        verifier = TokenVerifier(issuer, ["api://AzureADTokenExchange"], fetch_timeout=3, keys_max_age=600)
        verifier.refresh_keys()          # optional: warm the cache at start-up
        claims = verifier.verify(token)  # TokenRejected(reason=...) if anything is wrong
    """

    def __init__(
        self,
        issuer: str,
        audiences: str | Iterable[str],
        *,
        algorithms: Iterable[str] = SIGNING_ALGORITHMS,
        subjects: Iterable[str] | None = None,
        leeway: float = 30,
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        http_timeout: float = 5,
        fetch_timeout: float | None = None,
        min_refresh_interval: float = 30,
        keys_max_age: float = 300,
        jwks: Mapping[str, Any] | None = None,
        _clock: Callable[[], float] | None = None,
        _monotonic: Callable[[], float] | None = None,
        _spawn: Callable[[Callable[[], None]], None] = _spawn,
    ) -> None:
        found = _check_issuer(issuer)
        audiences = [audiences] if isinstance(audiences, str) else _listed(audiences)
        if not audiences or not all(isinstance(a, str) and a for a in audiences):
            found.append(Violation("audiences", audiences, "must be one or more non-empty strings",
                                   code="verify.audiences"))
        algorithms = [algorithms] if isinstance(algorithms, str) else _listed(algorithms)
        if not algorithms or any(a not in _KEY_SHAPES for a in algorithms):
            found.append(Violation(
                "algorithms", algorithms,
                "must name only RS256 and ES384 (AWS signs with nothing else; 'none' and HMAC algorithms "
                "are never safe here)", code="verify.algorithms"))
        if subjects is not None:
            subjects = [subjects] if isinstance(subjects, str) else _listed(subjects)
            if not subjects or not all(isinstance(s, str) and s for s in subjects):
                found.append(Violation("subjects", subjects, "must be None or one or more non-empty strings",
                                       code="verify.subjects"))
        if fetch_timeout is None and _is_number(http_timeout):
            fetch_timeout = max(2 * http_timeout, 1)
        for name, value, positive in (("leeway", leeway, False), ("http_timeout", http_timeout, True),
                                      ("fetch_timeout", fetch_timeout, True),
                                      ("min_refresh_interval", min_refresh_interval, False),
                                      ("keys_max_age", keys_max_age, True)):
            if not _is_number(value) or value < 0 or (positive and value == 0):
                found.append(Violation(name, value, f"must be a number {'>' if positive else '>='} 0",
                                       code=f"verify.{name.replace('_', '-')}"))
        if isinstance(max_token_bytes, bool) or not isinstance(max_token_bytes, int) or max_token_bytes <= 0:
            found.append(Violation("max_token_bytes", max_token_bytes, "must be a positive integer",
                                   code="verify.max-token-bytes"))
        static_keys: dict[str, Any] = {}
        if jwks is not None and not found:
            try:
                static_keys = _parse_jwks(jwks)
            except _FetchError as error:
                found.append(Violation("jwks", "<JWKS>", f"is not usable: {error}", code="verify.jwks"))
        raise_for("TokenVerifier", found)

        self.issuer = issuer
        self.audiences = frozenset(audiences)
        self.algorithms = frozenset(algorithms)
        self.subjects: frozenset[str] | None = frozenset(subjects) if subjects is not None else None
        self.leeway = leeway
        self.max_token_bytes = max_token_bytes
        self.http_timeout = http_timeout
        self.fetch_timeout = float(fetch_timeout)  # type: ignore[arg-type]
        self.min_refresh_interval = min_refresh_interval
        self.keys_max_age = float(keys_max_age)

        # Claims are judged by wall-clock time; key ages and refresh pacing by a monotonic clock,
        # unless a test drives both with one fake clock.
        self._now = _clock or time.time
        self._monotonic = _monotonic or _clock or time.monotonic
        self._spawn = _spawn
        self._cond = threading.Condition(threading.Lock())
        self._static = jwks is not None
        # kid -> (algorithm, verify(signature, signing_input) -> bool). Replaced, never mutated.
        self._keys: dict[str, tuple[str, Callable[[bytes, bytes], bool]]] = static_keys
        self._refresh_due = math.inf  # monotonic time the cached keys are due for a refresh
        self._fetching = False
        self._last_attempt: float | None = None
        self._last_error: str | None = None
        self._jwks_uri: str | None = None
        self._headers: dict[bytes, tuple[str, str]] = {}
        self._opener = urllib.request.build_opener(_SafeRedirects(), _DeadlineHTTPHandler(), _DeadlineHTTPSHandler())
        # Never send a loopback issuer's requests through an HTTP(S)_PROXY from the environment.
        self._loopback_opener = urllib.request.build_opener(
            _SafeRedirects(), _DeadlineHTTPHandler(), _DeadlineHTTPSHandler(), urllib.request.ProxyHandler({})
        )

    def __repr__(self) -> str:
        return (
            f"TokenVerifier({self.issuer!r}, {sorted(self.audiences)!r}, "
            f"algorithms={sorted(self.algorithms)!r})"
        )

    # -- verification -------------------------------------------------------------------

    def verify(self, token: str | bytes) -> dict[str, Any]:
        """Return the token's claims if it is valid; raise :class:`TokenRejected` otherwise.

        Never raises anything else, whatever ``token`` is.
        """
        try:
            return self._verify(token)
        except _Rejected as rejected:
            raise TokenRejected(rejected.reason, rejected.message) from None

    def _verify(self, token: Any) -> dict[str, Any]:
        if type(token) is str:
            # Checked before any decoding: a huge token must cost nothing to refuse.
            if len(token) > self.max_token_bytes:
                raise _Rejected("oversized", f"token is {len(token)} bytes, more than the "
                                             f"{self.max_token_bytes} allowed")
            try:
                data = token.encode("ascii")
            except UnicodeEncodeError:
                raise _Rejected("malformed", "token is not ASCII") from None
        elif isinstance(token, (bytes, bytearray, memoryview)):
            if len(token) > self.max_token_bytes:
                raise _Rejected("oversized", f"token is {len(token)} bytes, more than the "
                                             f"{self.max_token_bytes} allowed")
            data = bytes(token)
            if not data.isascii():
                raise _Rejected("malformed", "token is not ASCII")
        elif isinstance(token, str):  # a str subclass: judge its plain value
            return self._verify(str(token))
        else:
            raise _Rejected("malformed", f"token must be a string, not {type(token).__name__}")

        parts = data.split(b".")
        if len(parts) != 3 or data.translate(None, _B64URL) != b".." or not all(parts):
            raise _diagnose(data, self.algorithms)
        header_segment, payload_segment, signature_segment = parts
        known = self._headers.get(header_segment)
        if known is None:
            header = _json_object(_b64(header_segment, "the header"), "bad_header", "the header")
            known = _check_header(header, self.algorithms)
            if len(self._headers) >= _HEADER_CACHE_SIZE:
                self._headers = {}  # forged headers cannot grow it without bound
            self._headers[header_segment] = known
        alg, kid = known

        entry = self._keys.get(kid)
        if self._monotonic() >= self._refresh_due:
            self._refresh_in_background()
        if entry is None:
            entry = self._key_for_unknown(kid)
            if entry is None:
                raise _Rejected("unknown_kid", f"kid {_short(kid, 60)} is not in the issuer's JWKS")
        key_alg, check = entry
        if key_alg != alg:
            raise _Rejected("key_mismatch", f"header alg {alg} does not fit key {_short(kid, 60)}, "
                                            f"which is a {key_alg} key")
        signature = _b64(signature_segment, "the signature")
        payload = _b64(payload_segment, "the payload")
        if not check(signature, data[:len(header_segment) + 1 + len(payload_segment)]):
            raise _Rejected("bad_signature", f"signature does not verify with key {_short(kid, 60)}")
        claims = _json_object(payload, "bad_payload", "the payload")
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        iss = claims.get("iss")
        if iss != self.issuer:
            raise _Rejected("bad_issuer", f"iss {_short(iss)} is not {self.issuer!r}")

        aud = claims.get("aud")
        if type(aud) is str:
            if aud not in self.audiences:
                raise _Rejected("bad_audience", f"aud {_short(aud)} holds none of {sorted(self.audiences)}")
        elif not isinstance(aud, list) or not all(isinstance(a, str) for a in aud):
            raise _Rejected("bad_audience", "aud is missing or not a string / list of strings")
        elif self.audiences.isdisjoint(aud):
            raise _Rejected("bad_audience", f"aud {_short(aud)} holds none of {sorted(self.audiences)}")

        if "exp" not in claims or "iat" not in claims:
            raise _Rejected("missing_claim", f"{'exp' if 'exp' not in claims else 'iat'} claim is missing")
        exp, iat, nbf = claims["exp"], claims["iat"], claims.get("nbf", 0)
        # NumericDates we can do arithmetic on: never bool, NaN, inf or 10**400 (no OverflowError).
        numeric = (int, float)
        if not (type(exp) in numeric and type(iat) in numeric and type(nbf) in numeric
                and 0 <= exp <= _MAX_NUMERIC_DATE and 0 <= iat <= _MAX_NUMERIC_DATE
                and 0 <= nbf <= _MAX_NUMERIC_DATE):
            name, value = next((n, v) for n, v in (("exp", exp), ("iat", iat), ("nbf", nbf)) if not _numeric_date(v))
            raise _Rejected("bad_claim", f"{name} {_short(value, 40)} is not a NumericDate "
                                         f"(seconds since 1970, up to year 9999)")
        now = self._now()
        if now >= exp + self.leeway:
            raise _Rejected("expired", f"token expired at {exp:.0f} (now {now:.0f})")
        if nbf > now + self.leeway:
            raise _Rejected("not_yet_valid", f"token is not valid before {nbf:.0f} (now {now:.0f})")
        if iat > now + self.leeway:
            raise _Rejected("issued_in_future", f"token issued at {iat:.0f}, in the future (now {now:.0f})")

        sub = claims.get("sub")
        if type(sub) is not str:
            if sub is None:
                raise _Rejected("missing_claim", "sub claim is missing")
            raise _Rejected("bad_claim", f"sub is a {type(sub).__name__}, not a string")
        if not sub:
            raise _Rejected("missing_claim", "sub claim is empty")
        if self.subjects is not None and sub not in self.subjects:
            raise _Rejected("bad_subject", f"sub {_short(sub, 200)} is not an allowed subject")

    # -- keys ---------------------------------------------------------------------------

    def refresh_keys(self) -> int:
        """Fetch the issuer's keys now (at most ``fetch_timeout``) and return how many are usable.

        Useful to warm the cache at start-up. Raises :class:`~fedctl.errors.KeysUnavailable` if
        the fetch fails (the keys already cached stay in use). Does nothing for a static JWKS.
        """
        if self._static:
            return len(self._keys)
        with self._cond:
            while self._fetching:
                self._cond.wait(self.fetch_timeout + 1)
            self._fetching = True
            self._last_attempt = self._monotonic()
        self._fetch_and_store()
        if self._last_error is not None:
            raise KeysUnavailable(f"the issuer's keys are unavailable: {self._last_error}")
        return len(self._keys)

    def _refresh_in_background(self) -> None:
        """The cached keys are due: refresh them on another thread; the caller goes on at once."""
        with self._cond:
            now = self._monotonic()
            if self._fetching or now < self._refresh_due:
                return
            if self._last_attempt is not None and now - self._last_attempt < self.min_refresh_interval:
                self._refresh_due = self._last_attempt + self.min_refresh_interval
                return
            self._fetching = True
            self._last_attempt = now
        try:
            self._spawn(self._fetch_and_store)
        except Exception as error:  # e.g. "can't start new thread": keep the keys, try later
            self._store(None, None, f"could not start the refresh: {error}")

    def _key_for_unknown(self, kid: str) -> tuple[str, Callable[[bytes, bytes], bool]] | None:
        """A kid not in the cache: fetch (at most once per interval) or wait for the fetch running."""
        if self._static:
            return None
        waited = False
        with self._cond:
            while True:
                entry = self._keys.get(kid)
                if entry is not None:
                    return entry
                if self._fetching:
                    self._cond.wait(self.fetch_timeout + 1)
                    waited = True
                    continue
                now = self._monotonic()
                recent = self._last_attempt is not None and now - self._last_attempt < self.min_refresh_interval
                if waited or recent:
                    if self._last_error is not None:
                        raise KeysUnavailable(f"the issuer's keys are unavailable: {self._last_error}")
                    return None
                self._fetching = True
                self._last_attempt = now
                break
        self._fetch_and_store()
        entry = self._keys.get(kid)
        if entry is None and self._last_error is not None:
            raise KeysUnavailable(f"the issuer's keys are unavailable: {self._last_error}")
        return entry

    def _fetch_and_store(self) -> None:
        keys = max_age = error = None
        try:
            keys, max_age = self._fetch_keys()
        except _FetchError as failed:
            error = str(failed)
        except Exception as failed:  # never leave _fetching set; never kill a background thread loudly
            error = f"{type(failed).__name__}: {failed}"
        finally:
            self._store(keys, max_age, error)

    def _store(self, keys: dict[str, Any] | None, max_age: float | None, error: str | None) -> None:
        with self._cond:
            now = self._monotonic()
            self._fetching = False
            if keys is not None:
                gone = sorted(set(self._keys) - set(keys))
                self._keys = keys
                self._last_error = None
                age = self.keys_max_age if max_age is None else \
                    min(max(max_age, min(_KEYS_AGE_FLOOR, self.keys_max_age)), _KEYS_AGE_CEILING)
                self._refresh_due = now + age
                _LOG.info("fetched %d keys from %s: %s (next refresh in %.0f s%s)", len(keys), self.issuer,
                          sorted(keys), age, f"; withdrawn: {gone}" if gone else "")
            else:
                self._last_error = error or "the fetch was interrupted"
                self._jwks_uri = None  # rediscover next time, in case the issuer moved its keys
                if self._keys:
                    self._refresh_due = now + self.min_refresh_interval
                _LOG.warning("could not refresh the JWKS of %s: %s%s", self.issuer, self._last_error,
                             f"; still using the {len(self._keys)} cached keys" if self._keys else "")
            self._cond.notify_all()

    def _fetch_keys(self) -> tuple[dict[str, Any], float | None]:
        deadline = _Deadline(self.fetch_timeout)
        _FETCH.deadline = deadline
        try:
            if self._jwks_uri is None:
                discovery, _ = self._get_json(self.issuer.rstrip("/") + DISCOVERY_PATH, deadline)
                if discovery.get("issuer") != self.issuer:
                    raise _FetchError(
                        f"discovery document names issuer {_short(discovery.get('issuer'))}, "
                        f"expected {self.issuer!r}"
                    )
                jwks_uri = discovery.get("jwks_uri")
                if not isinstance(jwks_uri, str) or not _url_allowed(jwks_uri):
                    raise _FetchError(f"discovery document has no usable https jwks_uri: {_short(jwks_uri)}")
                self._jwks_uri = jwks_uri
            document, max_age = self._get_json(self._jwks_uri, deadline)
        finally:
            deadline.cancel()
            _FETCH.deadline = None
        keys = _parse_jwks(document)
        if not keys:
            raise _FetchError("the JWKS holds no usable RS256 / ES384 signing keys")
        return keys, max_age

    def _get_json(self, url: str, deadline: _Deadline) -> tuple[dict[str, Any], float | None]:
        opener = self._loopback_opener if urlsplit(url).hostname in LOOPBACK_HOSTS else self._opener
        request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "fedctl"})
        chunks: list[bytes] = []
        size = 0
        try:
            with opener.open(request, timeout=max(min(self.http_timeout, deadline.remaining()), 0.001)) as response:
                max_age = _max_age(response.headers.get("Cache-Control"))
                while True:
                    if deadline.remaining() <= 0:
                        raise _FetchError(f"GET {url}: no complete answer within {self.fetch_timeout:g} s")
                    chunk = response.read1(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > _MAX_DOCUMENT_BYTES:
                        raise _FetchError(f"GET {url}: document larger than {_MAX_DOCUMENT_BYTES} bytes")
        except urllib.error.HTTPError as error:
            raise _FetchError(f"GET {url}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
            if deadline.fired:
                raise _FetchError(f"GET {url}: no complete answer within {self.fetch_timeout:g} s") from None
            raise _FetchError(f"GET {url}: {getattr(error, 'reason', error)}") from None
        if deadline.fired:
            raise _FetchError(f"GET {url}: no complete answer within {self.fetch_timeout:g} s")
        try:
            document = json.loads(b"".join(chunks))
        except (ValueError, RecursionError):
            raise _FetchError(f"GET {url}: not JSON") from None
        if not isinstance(document, dict):
            raise _FetchError(f"GET {url}: not a JSON object")
        return document, max_age


def _listed(values: Any) -> list[Any]:
    try:
        return list(values)
    except TypeError:
        return [values]


def _check_issuer(issuer: Any) -> list[Violation]:
    """The issuer is compared with ``iss`` exactly, so every spelling mistake fails here, by name."""
    def wrong(rule: str, code: str) -> list[Violation]:
        return [Violation("issuer", issuer, rule, code=f"verify.issuer.{code}")]

    if not isinstance(issuer, str) or not issuer:
        return wrong("must be the issuer URL as a non-empty string", "type")
    if issuer != issuer.strip() or any(ch.isspace() for ch in issuer):
        return wrong("must not contain spaces: it is compared with the token's iss exactly", "whitespace")
    try:
        parts = urlsplit(issuer)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return wrong("is not a URL", "url")
    scheme = issuer.split(":", 1)[0]
    if scheme.lower() in ("http", "https") and scheme != scheme.lower():
        return wrong(f"must spell the scheme in lower case ({scheme.lower()}://): the token's iss does", "case")
    if not host:
        return wrong("must name a host", "host")
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return wrong("must be an https URL (plain http only for 127.0.0.1, localhost or ::1)", "scheme")
    if parts.netloc.split("@")[-1] != parts.netloc.split("@")[-1].lower():
        return wrong("must spell the host in lower case: the token's iss does", "case")
    if parts.username or parts.password:
        return wrong("must not carry credentials", "credentials")
    if parts.query or parts.fragment or "?" in issuer or "#" in issuer:
        return wrong("must not carry a query or fragment", "query")
    if issuer.endswith("/"):
        return wrong("must not end with a slash: AWS issuers have none, and iss is compared exactly",
                     "trailing-slash")
    return []


def _parse_jwks(jwks: Any) -> dict[str, tuple[str, Callable[[bytes, bytes], bool]]]:
    """kid -> (algorithm, signature check), for the keys this verifier could use."""
    import jwt
    import jwt.algorithms

    keys: dict[str, tuple[str, Callable[[bytes, bytes], bool]]] = {}
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(entries, list):
        raise _FetchError("JWKS has no 'keys' list")
    for jwk in entries:
        if not isinstance(jwk, dict):
            continue
        kid, kty, use = jwk.get("kid"), jwk.get("kty"), jwk.get("use")
        if not isinstance(kid, str) or use not in (None, "sig"):
            continue
        # AWS publishes its RSA key without "alg" (in some observations): infer it from kty and crv.
        algorithm = jwk.get("alg") or next(
            (a for a, (t, c) in _KEY_SHAPES.items() if t == kty and c == jwk.get("crv")), None
        )
        if algorithm not in _KEY_SHAPES or _KEY_SHAPES[algorithm] != (kty, jwk.get("crv")):
            # An alg that does not fit the key, or one we never accept: unusable, not fatal.
            _LOG.debug("ignoring JWKS key %r (kty %r, alg %r)", kid, kty, jwk.get("alg"))
            continue
        try:
            key = jwt.PyJWK(jwk, algorithm=algorithm).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as error:
            _LOG.warning("ignoring malformed JWKS key %r: %s", kid, error)
            continue
        implementation = jwt.algorithms.get_default_algorithms()[algorithm]
        too_short = getattr(implementation, "check_key_length", lambda _: None)(key)
        if too_short:
            _LOG.warning("JWKS key %r: %s", kid, too_short)
        keys[kid] = (algorithm, _rsa_verifier(key) if algorithm == "RS256" else _ec_verifier(key))
    return keys
