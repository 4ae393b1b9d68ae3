"""Verify AWS web identity tokens the way a careful relying party would.

:class:`TokenVerifier` finds the issuer's keys through OIDC discovery, caches them by kid and
checks a token's signature and claims. It is deliberately strict: only RS256 and ES384 are
ever accepted, the key must fit the header's algorithm, the issuer must match exactly, and an
unknown kid triggers at most one JWKS refresh per ``min_refresh_interval`` (so a flood of
forged kids cannot turn the verifier into a load generator against the issuer).

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

import base64
import json
import logging
import math
import re
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from fedctl.errors import TokenRejected

_LOG = logging.getLogger("fedctl.verify")

DISCOVERY_PATH = "/.well-known/openid-configuration"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# What each accepted algorithm needs of the key: (kty, crv). AWS signs with nothing else.
_KEY_SHAPES: dict[str, tuple[str, str | None]] = {"RS256": ("RSA", None), "ES384": ("EC", "P-384")}
_MAX_DOCUMENT_BYTES = 1_000_000


def _url_allowed(url: str) -> bool:
    """https anywhere; plain http only to this machine (tests, rehearsals)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


def _short(value: Any, limit: int = 80) -> str:
    """repr() of a value taken from a token, cut short: messages quote claims, never tokens."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# A base64url segment as PyJWT accepts it: the URL-safe alphabet, then at most two '=' of padding.
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*={0,2}")
# JWS header parameters that may be marked critical; PyJWT understands only b64, which AWS never
# sets and which this verifier refuses (a detached payload is never what AWS sends).
_SUPPORTED_CRIT = frozenset({"b64"})
_ALGORITHMS: dict[str, Any] = {}


def _segment(text: str) -> bytes:
    """Decode one base64url segment as strictly as PyJWT does, at C speed.

    Only the URL-safe alphabet; '=' padding only at the end, at most two, and only on a segment
    whose length is a multiple of 4; no impossible length; and the encoding must be canonical
    (no stray bits in the last character), so each token has exactly one spelling.
    """
    if not _SEGMENT.fullmatch(text):
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    if (stripped != text and len(text) % 4) or len(stripped) % 4 == 1:
        raise ValueError("bad padding")
    data = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=") != stripped.encode("ascii"):
        raise ValueError("not canonical")
    return data


def _split_jws(token: str) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    """(header, payload, signing input, signature) of a compact JWS; ValueError if it is not one.

    The same checks PyJWT's ``get_unverified_header`` and ``decode_complete`` made before (all
    three segments decoded, the header a JSON object, ``kid`` a string, ``crit`` well formed and
    understood, no detached ``b64: false`` payload), without PyJWT's per-character Python loop
    over every segment, run twice per token.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not three segments")
    header_segment, payload_segment, signature_segment = parts
    try:
        header = json.loads(_segment(header_segment))
    except RecursionError:
        raise ValueError("header nested too deeply") from None
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    payload = _segment(payload_segment)
    signature = _segment(signature_segment)
    if "kid" in header and not isinstance(header["kid"], str):
        raise ValueError("kid is not a string")
    if "crit" in header:
        crit = header["crit"]
        if not isinstance(crit, list) or not crit or not all(isinstance(c, str) and c in _SUPPORTED_CRIT
                                                             for c in crit):
            raise ValueError("crit names an extension this verifier does not understand")
    if header.get("b64", True) is False:
        raise ValueError("detached or unencoded payloads are not accepted")
    return header, payload, f"{header_segment}.{payload_segment}".encode("ascii"), signature


def _algorithm(name: str) -> Any:
    """PyJWT's implementation of ``name`` (RS256 or ES384): its verify() is what checks signatures."""
    algorithm = _ALGORITHMS.get(name)
    if algorithm is None:
        import jwt.algorithms

        algorithm = _ALGORITHMS[name] = jwt.algorithms.get_default_algorithms()[name]
    return algorithm


class _FetchError(Exception):
    pass


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow an https -> http redirect; keys fetched that way could be anyone's.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[override]
        if not _url_allowed(newurl):
            raise _FetchError(f"refusing redirect to {newurl}: not https")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class TokenVerifier:
    """Verifies JWTs from one issuer for a set of audiences.

    Args:
        issuer: The issuer URL, exactly as it appears in ``iss`` (no trailing slash for AWS).
            Must be https; plain http is allowed for loopback hosts only.
        audiences: Acceptable ``aud`` values; a token must carry at least one of them.
        algorithms: A subset of ``("RS256", "ES384")``. Anything else (``none``, ``HS256``,
            ...) is refused here, not silently ignored.
        subjects: If given, the only ``sub`` values (role ARNs, path included) accepted.
        leeway: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
        max_token_bytes: Longer tokens are rejected before any parsing.
        http_timeout: Seconds for each discovery / JWKS request.
        min_refresh_interval: Minimum seconds between JWKS fetches.
        jwks: A JWKS document to use instead of discovery (offline verification). The
            verifier then never makes a request.

    ``verify`` is safe to call from many threads at once.
    """

    def __init__(
        self,
        issuer: str,
        audiences: str | Iterable[str],
        *,
        algorithms: Iterable[str] = ("RS256", "ES384"),
        subjects: Iterable[str] | None = None,
        leeway: float = 30,
        max_token_bytes: int = 16384,
        http_timeout: float = 5,
        min_refresh_interval: float = 30,
        jwks: Mapping[str, Any] | None = None,
        _clock: Callable[[], float] | None = None,
    ) -> None:
        if not isinstance(issuer, str) or not _url_allowed(issuer):
            raise ValueError(
                f"issuer={issuer!r}: must be an https URL (plain http only for 127.0.0.1, "
                "localhost or ::1)"
            )
        parts = urlsplit(issuer)
        if parts.query or parts.fragment:
            raise ValueError(f"issuer={issuer!r}: must not carry a query or fragment")
        self.issuer = issuer

        audiences = [audiences] if isinstance(audiences, str) else list(audiences)
        if not audiences or not all(isinstance(a, str) and a for a in audiences):
            raise ValueError(f"audiences={audiences!r}: must be one or more non-empty strings")
        self.audiences = frozenset(audiences)

        algorithms = [algorithms] if isinstance(algorithms, str) else list(algorithms)
        refused = [a for a in algorithms if a not in _KEY_SHAPES]
        if refused or not algorithms:
            raise ValueError(
                f"algorithms={algorithms!r}: only RS256 and ES384 can be accepted "
                "(AWS signs with nothing else; 'none' and HMAC algorithms are never safe here)"
            )
        self.algorithms = frozenset(algorithms)

        if subjects is not None:
            subjects = [subjects] if isinstance(subjects, str) else list(subjects)
            if not subjects or not all(isinstance(s, str) and s for s in subjects):
                raise ValueError(
                    f"subjects={subjects!r}: must be None or one or more non-empty strings"
                )
            subjects = frozenset(subjects)
        self.subjects: frozenset[str] | None = subjects

        for name, value in (
            ("leeway", leeway),
            ("http_timeout", http_timeout),
            ("min_refresh_interval", min_refresh_interval),
        ):
            if not _is_number(value) or value < 0:
                raise ValueError(f"{name}={value!r}: must be a number >= 0")
        if isinstance(max_token_bytes, bool) or not isinstance(max_token_bytes, int) or max_token_bytes <= 0:
            raise ValueError(f"max_token_bytes={max_token_bytes!r}: must be a positive integer")
        self.leeway = leeway
        self.max_token_bytes = max_token_bytes
        self.http_timeout = http_timeout
        self.min_refresh_interval = min_refresh_interval

        # Claims are judged by wall-clock time; refresh pacing by a monotonic clock, unless a
        # test drives both with one fake clock.
        self._now = _clock or time.time
        self._monotonic = _clock or time.monotonic
        self._lock = threading.Lock()
        self._static = jwks is not None
        self._keys: dict[str, tuple[str, Any]] = {}
        if jwks is not None:
            try:
                self._keys = self._parse_jwks(jwks)
            except _FetchError as error:
                raise ValueError(f"jwks: {error}") from None
        self._jwks_uri: str | None = None
        self._last_fetch: float | None = None
        self._last_error: str | None = None
        self._opener = urllib.request.build_opener(_SafeRedirects())
        # Never send a loopback issuer's requests through an HTTP(S)_PROXY from the environment.
        self._loopback_opener = urllib.request.build_opener(
            _SafeRedirects(), urllib.request.ProxyHandler({})
        )

    def __repr__(self) -> str:
        return (
            f"TokenVerifier({self.issuer!r}, {sorted(self.audiences)!r}, "
            f"algorithms={sorted(self.algorithms)!r})"
        )

    # -- verification -------------------------------------------------------------------

    def verify(self, token: str | bytes) -> dict[str, Any]:
        """Return the token's claims if it is valid; raise :class:`TokenRejected` otherwise."""
        if isinstance(token, bytes):
            try:
                token = token.decode("ascii")
            except UnicodeDecodeError:
                raise TokenRejected("malformed", "token is not ASCII") from None
        if not isinstance(token, str):
            raise TokenRejected("malformed", f"token must be a string, not {type(token).__name__}")
        # Checked before any parsing: a huge token must cost nothing to refuse.
        if len(token) > self.max_token_bytes:
            raise TokenRejected(
                "oversized", f"token is {len(token)} bytes, more than the {self.max_token_bytes} allowed"
            )
        if not token.isascii():
            raise TokenRejected("malformed", "token is not ASCII")
        try:
            header, payload, signing_input, signature = _split_jws(token)
        except ValueError:
            raise TokenRejected("malformed", "token is not a compact JWS (header.payload.signature)") from None

        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise TokenRejected(
                "alg_not_allowed",
                f"header alg {_short(alg, 40)} is not one of {sorted(self.algorithms)}",
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("missing_kid", "header has no kid; the signing key cannot be chosen")

        entry = self._key_for(kid)
        if entry is None:
            raise TokenRejected("unknown_kid", f"kid {_short(kid, 60)} is not in the issuer's JWKS")
        key_alg, key = entry
        if key_alg != alg:
            raise TokenRejected(
                "key_mismatch",
                f"header alg {alg} does not fit key {_short(kid, 60)}, which is a {key_alg} key",
            )

        try:
            valid = _algorithm(alg).verify(signing_input, key, signature)
        except (ValueError, TypeError):
            raise TokenRejected("malformed", "token could not be decoded") from None
        if not valid:
            raise TokenRejected("bad_signature", f"signature does not verify with key {_short(kid, 60)}")
        try:
            claims = json.loads(payload)
        except (ValueError, TypeError, RecursionError):
            raise TokenRejected("malformed", "payload is not JSON") from None
        if not isinstance(claims, dict):
            raise TokenRejected("malformed", "payload is not a JSON object")

        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        iss = claims.get("iss")
        if iss != self.issuer:
            raise TokenRejected("bad_issuer", f"iss {_short(iss)} is not {self.issuer!r}")

        aud = claims.get("aud")
        token_audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(token_audiences, list) or not all(isinstance(a, str) for a in token_audiences):
            raise TokenRejected("bad_audience", "aud is missing or not a string / list of strings")
        if self.audiences.isdisjoint(token_audiences):
            raise TokenRejected(
                "bad_audience", f"aud {_short(aud)} holds none of {sorted(self.audiences)}"
            )

        now = self._now()
        for name in ("exp", "iat"):
            if name not in claims:
                raise TokenRejected("missing_claim", f"{name} claim is missing")
        for name in ("exp", "iat", "nbf"):
            if name in claims and not _is_number(claims[name]):
                raise TokenRejected("malformed", f"{name} is not a number")
        if now >= claims["exp"] + self.leeway:
            raise TokenRejected("expired", f"token expired at {claims['exp']:.0f} (now {now:.0f})")
        if "nbf" in claims and claims["nbf"] > now + self.leeway:
            raise TokenRejected("not_yet_valid", f"token is not valid before {claims['nbf']:.0f} (now {now:.0f})")
        if claims["iat"] > now + self.leeway:
            raise TokenRejected("issued_in_future", f"token issued at {claims['iat']:.0f}, in the future (now {now:.0f})")

        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenRejected("missing_claim", "sub claim is missing or empty")
        if self.subjects is not None and sub not in self.subjects:
            raise TokenRejected("bad_subject", f"sub {_short(sub, 200)} is not an allowed subject")

    # -- keys ---------------------------------------------------------------------------

    def _key_for(self, kid: str) -> tuple[str, Any] | None:
        entry = self._keys.get(kid)
        if entry is not None or self._static:
            return entry
        with self._lock:
            # Another thread may have refreshed while we waited for the lock.
            entry = self._keys.get(kid)
            if entry is not None:
                return entry
            now = self._monotonic()
            if self._last_fetch is not None and now - self._last_fetch < self.min_refresh_interval:
                if not self._keys and self._last_error:
                    raise TokenRejected(
                        "jwks_unavailable", f"the issuer's keys are unavailable: {self._last_error}"
                    )
                return None
            self._last_fetch = now
            try:
                self._keys = self._fetch_keys()
            except _FetchError as error:
                self._last_error = str(error)
                self._jwks_uri = None  # rediscover next time, in case the issuer moved its keys
                _LOG.warning("could not refresh the JWKS of %s: %s", self.issuer, error)
                raise TokenRejected(
                    "jwks_unavailable", f"the issuer's keys are unavailable: {error}"
                ) from None
            self._last_error = None
            _LOG.info("fetched %d keys from %s: %s", len(self._keys), self.issuer, sorted(self._keys))
            return self._keys.get(kid)

    def _fetch_keys(self) -> dict[str, tuple[str, Any]]:
        if self._jwks_uri is None:
            discovery = self._get_json(self.issuer.rstrip("/") + DISCOVERY_PATH)
            if discovery.get("issuer") != self.issuer:
                raise _FetchError(
                    f"discovery document names issuer {_short(discovery.get('issuer'))}, "
                    f"expected {self.issuer!r}"
                )
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not _url_allowed(jwks_uri):
                raise _FetchError(f"discovery document has no usable https jwks_uri: {_short(jwks_uri)}")
            self._jwks_uri = jwks_uri
        keys = self._parse_jwks(self._get_json(self._jwks_uri))
        if not keys:
            raise _FetchError("the JWKS holds no usable RS256 / ES384 signing keys")
        return keys

    def _get_json(self, url: str) -> dict[str, Any]:
        opener = self._loopback_opener if urlsplit(url).hostname in LOOPBACK_HOSTS else self._opener
        request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "fedctl"})
        try:
            with opener.open(request, timeout=self.http_timeout) as response:
                body = response.read(_MAX_DOCUMENT_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise _FetchError(f"GET {url}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise _FetchError(f"GET {url}: {getattr(error, 'reason', error)}") from None
        if len(body) > _MAX_DOCUMENT_BYTES:
            raise _FetchError(f"GET {url}: document larger than {_MAX_DOCUMENT_BYTES} bytes")
        try:
            document = json.loads(body)
        except ValueError:
            raise _FetchError(f"GET {url}: not JSON") from None
        if not isinstance(document, dict):
            raise _FetchError(f"GET {url}: not a JSON object")
        return document

    def _parse_jwks(self, jwks: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
        """kid -> (algorithm, public key object), for the keys this verifier could use."""
        import jwt

        keys: dict[str, tuple[str, Any]] = {}
        entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
        if not isinstance(entries, list):
            raise _FetchError("JWKS has no 'keys' list")
        for jwk in entries:
            if not isinstance(jwk, dict):
                continue
            kid, kty, use = jwk.get("kid"), jwk.get("kty"), jwk.get("use")
            if not isinstance(kid, str) or use not in (None, "sig"):
                continue
            # AWS publishes its RSA key without "alg": infer it from kty (and crv for EC).
            algorithm = jwk.get("alg") or next(
                (a for a, (t, c) in _KEY_SHAPES.items() if t == kty and c == jwk.get("crv")), None
            )
            if algorithm not in _KEY_SHAPES or _KEY_SHAPES[algorithm] != (kty, jwk.get("crv")):
                # An alg that does not fit the key, or one we never accept: unusable, not fatal.
                _LOG.debug("ignoring JWKS key %r (kty %r, alg %r)", kid, kty, jwk.get("alg"))
                continue
            try:
                keys[kid] = (algorithm, jwt.PyJWK(jwk, algorithm=algorithm).key)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as error:
                _LOG.warning("ignoring malformed JWKS key %r: %s", kid, error)
                continue
            # PyJWT used to say this on every verification; once per key load is enough.
            too_short = getattr(_algorithm(algorithm), "check_key_length", lambda _: None)(keys[kid][1])
            if too_short:
                _LOG.warning("JWKS key %r: %s", kid, too_short)
        return keys
