"""A local, AWS-shaped OIDC issuer: real keys, real JWTs, real discovery documents.

It stands in for an account's ``https://<uuid>.tokens.sts.global.api.aws`` issuer in tests,
trust rehearsals and benchmarks. The JWKS looks like AWS's (an RSA key with ``use: sig`` and
*no* ``alg``, an EC P-384 key with ``alg: ES384``), and minted tokens carry AWS's claims,
including the nested ``https://sts.amazonaws.com/`` object.

Example::

    issuer = LocalIssuer()
    with issuer.serve():                       # http://127.0.0.1:<port>
        token = issuer.mint("arn:aws:iam::123456789012:role/app", "https://example.com")
        TokenVerifier(issuer.issuer, ["https://example.com"]).verify(token)

Offline, with an AWS-looking issuer and no server::

    issuer = LocalIssuer("https://0f2c....tokens.sts.global.api.aws")
    token = issuer.mint(role_arn, "api://AzureADTokenExchange", algorithm="ES384")
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, Mapping, Sequence

from components.rules.facts import AWS_CLAIMS, DISCOVERY_PATH, JWKS_PATH  # noqa: E402 - re-exported for tests
DEFAULT_SERVER_LIFETIME = 120.0

_KID_PREFIX = {"RS256": "RSA", "ES384": "EC384"}


@dataclass
class _Key:
    kid: str
    algorithm: str
    private_key: Any

    def public_jwk(self) -> dict[str, Any]:
        from jwt.algorithms import ECAlgorithm, RSAAlgorithm

        if self.algorithm == "RS256":
            numbers = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
            # AWS publishes its RSA key without "alg"; verifiers must infer RS256 from kty.
            return {"kty": "RSA", "use": "sig", "kid": self.kid, "n": numbers["n"], "e": numbers["e"]}
        numbers = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {
            "kty": "EC",
            "use": "sig",
            "kid": self.kid,
            "alg": "ES384",
            "crv": "P-384",
            "x": numbers["x"],
            "y": numbers["y"],
        }


def _generate(algorithm: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    raise ValueError(f"algorithm={algorithm!r}: must be RS256 or ES384")


class LocalIssuer:
    """An AWS-shaped OIDC issuer with an RSA-2048 and an EC P-384 signing key.

    Args:
        issuer: The issuer URL to put in tokens and documents. Without it, the issuer is the
            loopback URL while (and after) :meth:`serve` runs, and an AWS-looking
            ``https://<uuid>.tokens.sts.global.api.aws`` before that. Served with an explicit
            issuer, the documents name that issuer while living at :attr:`url` (handy for
            testing a verifier's discovery issuer check).
        account: Default ``aws_account`` claim.
        region: ``source_region`` claim.
        org_id: ``org_id`` claim.
        ou_path: ``ou_path`` claim (a list of paths).
    """

    def __init__(
        self,
        issuer: str | None = None,
        *,
        account: str = "123456789012",
        region: str = "us-east-1",
        org_id: str = "o-exampleorg1",
        ou_path: Sequence[str] = ("o-exampleorg1/r-ab12/ou-ab12-11111111/",),
    ) -> None:
        self._explicit_issuer = issuer.rstrip("/") if issuer else None
        self.url: str | None = None
        """The server's base URL (``http://127.0.0.1:<port>``) once :meth:`serve` has run."""
        self._offline_issuer = f"https://{uuid.uuid4()}.tokens.sts.global.api.aws"
        self.account = account
        self.region = region
        self.org_id = org_id
        self.ou_path = list(ou_path)
        self._lock = threading.Lock()
        self._keys: dict[str, _Key] = {}
        self._current: dict[str, str] = {}
        self.requests: list[str] = []
        """Paths the server was asked for, in order (for cache tests)."""
        self.jwks_max_age: int | None = None
        """If set, the JWKS is served with ``Cache-Control: public, max-age=<this>``."""
        self.fault: str | None = None
        """How the server misbehaves: None; ``"down"`` (every request gets 503); ``"trickle"``
        (every answer is sent one byte per ``trickle_interval`` seconds, as a slow or hostile
        server would)."""
        self.trickle_interval = 0.05
        for algorithm in ("RS256", "ES384"):
            self.rotate(algorithm)

    @property
    def issuer(self) -> str:
        return self._explicit_issuer or self.url or self._offline_issuer

    def __repr__(self) -> str:
        return f"LocalIssuer({self.issuer!r}, kids={list(self._keys)!r})"

    # -- keys ---------------------------------------------------------------------------

    def rotate(self, algorithm: str = "RS256") -> str:
        """Add a fresh key for ``algorithm``, sign with it from now on, and return its kid.

        Older keys stay published (as AWS does during a rotation) until :meth:`retire`.
        """
        private_key = _generate(algorithm)
        with self._lock:
            index = sum(1 for key in self._keys.values() if key.algorithm == algorithm)
            kid = f"{_KID_PREFIX[algorithm]}_{index}"
            self._keys[kid] = _Key(kid, algorithm, private_key)
            self._current[algorithm] = kid
        return kid

    def retire(self, kid: str) -> None:
        """Stop publishing (and signing with) the key ``kid``."""
        with self._lock:
            key = self._keys.pop(kid)
            if self._current.get(key.algorithm) == kid:
                remaining = [k for k, v in self._keys.items() if v.algorithm == key.algorithm]
                if remaining:
                    self._current[key.algorithm] = remaining[-1]
                else:
                    del self._current[key.algorithm]

    def kid(self, algorithm: str = "RS256") -> str:
        """The kid currently used to sign ``algorithm`` tokens."""
        return self._current[algorithm]

    def private_key(self, kid: str) -> Any:
        return self._keys[kid].private_key

    # -- documents ----------------------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            keys = list(self._keys.values())
        return {"keys": [key.public_jwk() for key in keys]}

    def discovery_document(self) -> dict[str, Any]:
        issuer = self.issuer
        return {
            "issuer": issuer,
            "jwks_uri": issuer + JWKS_PATH,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES384"],
            "scopes_supported": ["openid"],
            "claims_supported": ["aud", "exp", "iat", "iss", "sub", "jti"],
        }

    # -- tokens -------------------------------------------------------------------------

    def mint(
        self,
        sub: str | None,
        aud: str | Sequence[str],
        *,
        algorithm: str = "RS256",
        account: str | None = None,
        lifetime: int = 300,
        now: float | None = None,
        extra_claims: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        key: Any = None,
        request_tags: Mapping[str, str] | None = None,
        aws_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Sign a token shaped like one from STS ``GetWebIdentityToken``.

        Args:
            sub: The role ARN. ``None`` leaves ``sub`` out (for negative tests).
            aud: One audience (a string claim) or several (a list claim, as STS does).
            algorithm: ``RS256`` or ``ES384``; picks the signing key and the header's alg.
            account: ``aws_account``; defaults to the issuer's.
            lifetime: Seconds from ``iat`` to ``exp``.
            now: The ``iat`` (epoch seconds); defaults to the current time.
            extra_claims: Merged over the top-level claims; a ``None`` value removes a claim.
            headers: Merged over the JOSE header (e.g. ``{"kid": "EC384_0"}``).
            key: A kid of this issuer's to sign with, or a foreign private key object (signed
                under the current kid, i.e. a forgery).
            request_tags: Put under ``request_tags`` in the AWS claims, as STS does with tags.
            aws_claims: Merged over the nested AWS claims (``org_id``, ``ou_path``...); a ``None``
                value removes one.
        """
        if algorithm not in _KID_PREFIX:
            raise ValueError(f"algorithm={algorithm!r}: must be RS256 or ES384")
        import jwt

        issued = int(now if now is not None else time.time())
        if isinstance(key, str):
            kid, signing_key = key, self._keys[key].private_key
        elif key is not None:
            kid, signing_key = self._current[algorithm], key
        else:
            kid = self._current[algorithm]
            signing_key = self._keys[kid].private_key

        audiences = [aud] if isinstance(aud, str) else list(aud)
        aws: dict[str, Any] = {
            "aws_account": account or self.account,
            "source_region": self.region,
            "principal_id": sub,
            # The role session's own expiry; a token may never outlive it.
            "original_session_exp": _dt.datetime.fromtimestamp(issued + 3600, _dt.timezone.utc)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z"),
            "org_id": self.org_id,
            "ou_path": list(self.ou_path),
        }
        if request_tags:
            aws["request_tags"] = dict(request_tags)
        for name, value in (aws_claims or {}).items():
            if value is None:
                aws.pop(name, None)
            else:
                aws[name] = value
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "aud": audiences[0] if len(audiences) == 1 else audiences,
            "iat": issued,
            "exp": issued + int(lifetime),
            "jti": str(uuid.uuid4()),
            AWS_CLAIMS: aws,
        }
        if sub is None:
            del claims["sub"]
        for name, value in (extra_claims or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        header = {"kid": kid, "typ": "JWT", **(headers or {})}
        return jwt.encode(claims, signing_key, algorithm=algorithm, headers=header)

    # -- serving ------------------------------------------------------------------------

    def request_count(self, path: str | None = None) -> int:
        """How many requests the server answered (for ``path`` only, if given)."""
        with self._lock:
            return sum(1 for p in self.requests if path is None or p == path)

    @contextlib.contextmanager
    def serve(self, *, lifetime: float = DEFAULT_SERVER_LIFETIME) -> Iterator["LocalIssuer"]:
        """Serve discovery and JWKS on ``http://127.0.0.1:<port>`` while the block runs.

        The server also stops by itself after ``lifetime`` seconds, so a forgotten one cannot
        outlive a test run.
        """
        issuer = self

        class Handler(LocalHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                path = self.path.split("?", 1)[0]
                with issuer._lock:
                    issuer.requests.append(path)
                if issuer.fault == "down":
                    self.send_json(503, {"error": "unavailable"})
                elif path == DISCOVERY_PATH:
                    self.send_json(200, issuer.discovery_document())
                elif path == JWKS_PATH:
                    max_age = issuer.jwks_max_age
                    headers = {} if max_age is None else {"Cache-Control": f"public, max-age={max_age}"}
                    self.send_json(200, issuer.jwks(), headers)
                else:
                    self.send_json(404, {"error": "not_found"})

            def send_body(self, status: int, body: bytes, content_type: str,
                          headers: Mapping[str, str] | None = None) -> None:
                if issuer.fault != "trickle":
                    return super().send_body(status, body, content_type, headers)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.flush()
                try:
                    for index in range(len(body)):
                        self.wfile.write(body[index:index + 1])
                        self.wfile.flush()
                        time.sleep(issuer.trickle_interval)
                except OSError:  # the client gave up
                    self.close_connection = True

        with local_server(Handler, lifetime=lifetime) as server:
            self.url = f"http://127.0.0.1:{server.server_address[1]}"
            yield self


class LocalHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 handler that answers in one write and logs nothing."""

    protocol_version = "HTTP/1.1"
    # http.server writes unbuffered by default: headers and body leave in separate segments
    # and Nagle + delayed ACK stall every keep-alive response by ~40 ms.
    wbufsize = 65536

    def send_body(self, status: int, body: bytes, content_type: str,
                  headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, document: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_body(status, json.dumps(document).encode(), "application/json", headers)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # request lines can carry tokens in query strings; say nothing


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-request is not worth a traceback on stderr.
        logging.getLogger("fedctl.testing.issuer").debug("request from %s failed", client_address, exc_info=True)


@contextlib.contextmanager
def local_server(
    handler: type[BaseHTTPRequestHandler],
    *,
    lifetime: float = DEFAULT_SERVER_LIFETIME,
    ssl_context: ssl.SSLContext | None = None,
) -> Iterator[ThreadingHTTPServer]:
    """Run ``handler`` on 127.0.0.1 (a free port) in a daemon thread for the block's duration.

    Stops on exit, or by itself after ``lifetime`` seconds. With ``ssl_context`` it speaks
    HTTPS. Used by the issuer and by the test stand-ins.
    """
    server = _Server(("127.0.0.1", 0), handler)
    if ssl_context is not None:
        # Handshake lazily, in the handler's thread, so one slow client cannot block accept().
        server.socket = ssl_context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    lock = threading.Lock()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        with lock:
            if stopped:
                return
            stopped = True
        server.shutdown()
        server.server_close()

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    timer = threading.Timer(lifetime, stop)
    timer.daemon = True
    timer.start()
    try:
        yield server
    finally:
        timer.cancel()
        stop()
        thread.join(timeout=5)
