"""TokenVerifier against a served LocalIssuer: good tokens, a corpus of bad ones, JWKS caching.

Faults of the issuer (withdrawn keys, outages, trickling answers) are in ``test_verify_faults.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from conftest import FakeClock
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fedctl.errors import TokenRejected, ValidationError
from fedctl.testing.issuer import JWKS_PATH, LocalIssuer
from fedctl.verify import TokenVerifier

ROLE = "arn:aws:iam::123456789012:role/workloads/app"
AUD = "https://api.example.com"


@pytest.fixture
def fresh_issuer():
    local = LocalIssuer()
    with local.serve():
        yield local


@pytest.fixture
def verifier(issuer):
    return TokenVerifier(issuer.issuer, [AUD])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, signature: bytes = b"") -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)])


def forge_hmac(issuer: LocalIssuer, secret: bytes) -> str:
    claims = jwt.decode(issuer.mint(ROLE, AUD), options={"verify_signature": False})
    signing_input = ".".join(
        [b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "RSA_0"}).encode()), b64(json.dumps(claims).encode())]
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def rejection(verifier: TokenVerifier, token) -> TokenRejected:
    with pytest.raises(TokenRejected) as raised:
        verifier.verify(token)
    if isinstance(token, str) and len(token) > 20:
        assert token not in str(raised.value)  # messages quote claims, never the token
    return raised.value


# -- good tokens ------------------------------------------------------------------------


def test_accepts_good_rs256_token_from_rsa_key_published_without_alg(issuer, verifier):
    rsa_jwk = next(k for k in issuer.jwks()["keys"] if k["kty"] == "RSA")
    assert "alg" not in rsa_jwk and rsa_jwk["use"] == "sig"
    claims = verifier.verify(issuer.mint(ROLE, AUD, algorithm="RS256"))
    assert claims["sub"] == ROLE


def test_accepts_good_es384_token(issuer, verifier):
    claims = verifier.verify(issuer.mint(ROLE, AUD, algorithm="ES384"))
    assert claims["sub"] == ROLE
    assert claims["https://sts.amazonaws.com/"]["principal_id"] == ROLE


def test_accepts_audience_list_containing_one_of_ours(issuer, verifier):
    claims = verifier.verify(issuer.mint(ROLE, ["https://other.example", AUD]))
    assert claims["aud"] == ["https://other.example", AUD]


def test_accepts_token_expired_within_leeway(issuer, verifier):
    token = issuer.mint(ROLE, AUD, now=time.time() - 310, lifetime=300)
    assert verifier.verify(token)["sub"] == ROLE


def test_accepts_subject_in_allowlist(issuer):
    verifier = TokenVerifier(issuer.issuer, [AUD], subjects=[ROLE])
    assert verifier.verify(issuer.mint(ROLE, AUD))["sub"] == ROLE


def test_accepts_token_as_bytes(issuer, verifier):
    assert verifier.verify(issuer.mint(ROLE, AUD).encode())["sub"] == ROLE


# -- the bad-token corpus ---------------------------------------------------------------


def test_rejects_alg_none(issuer, verifier):
    claims = jwt.decode(issuer.mint(ROLE, AUD), options={"verify_signature": False})
    token = forge({"alg": "none", "typ": "JWT", "kid": "RSA_0"}, claims)
    assert rejection(verifier, token).reason == "alg_not_allowed"


def test_rejects_hs256_keyed_with_the_rsa_public_key_pem(issuer, verifier):
    pem = issuer.private_key("RSA_0").public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert rejection(verifier, forge_hmac(issuer, pem)).reason == "alg_not_allowed"


def test_rejects_hs256_keyed_with_the_rsa_jwk_bytes(issuer, verifier):
    jwk_bytes = json.dumps(next(k for k in issuer.jwks()["keys"] if k["kid"] == "RSA_0")).encode()
    assert rejection(verifier, forge_hmac(issuer, jwk_bytes)).reason == "alg_not_allowed"


def test_rejects_unknown_kid(issuer, verifier):
    token = issuer.mint(ROLE, AUD, headers={"kid": "RSA_99"})
    assert rejection(verifier, token).reason == "unknown_kid"


def test_rejects_missing_kid(issuer, verifier):
    claims = jwt.decode(issuer.mint(ROLE, AUD), options={"verify_signature": False})
    token = jwt.encode(claims, issuer.private_key("RSA_0"), algorithm="RS256")
    assert rejection(verifier, token).reason == "missing_kid"


def test_rejects_foreign_key_signing_under_a_known_kid(issuer, verifier):
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = issuer.mint(ROLE, AUD, key=foreign)
    assert jwt.get_unverified_header(token)["kid"] == "RSA_0"
    assert rejection(verifier, token).reason == "bad_signature"


def test_rejects_foreign_ec_key_signing_under_the_ec_kid(issuer, verifier):
    token = issuer.mint(ROLE, AUD, algorithm="ES384", key=ec.generate_private_key(ec.SECP384R1()))
    assert rejection(verifier, token).reason == "bad_signature"


def test_rejects_expired_token(issuer, verifier):
    token = issuer.mint(ROLE, AUD, now=time.time() - 1000, lifetime=300)
    assert rejection(verifier, token).reason == "expired"


def test_rejects_token_not_yet_valid(issuer, verifier):
    token = issuer.mint(ROLE, AUD, extra_claims={"nbf": int(time.time()) + 600})
    assert rejection(verifier, token).reason == "not_yet_valid"


def test_rejects_token_issued_in_the_future(issuer, verifier):
    token = issuer.mint(ROLE, AUD, now=time.time() + 600)
    assert rejection(verifier, token).reason == "issued_in_future"


def test_rejects_wrong_issuer(issuer, verifier):
    token = issuer.mint(ROLE, AUD, extra_claims={"iss": issuer.issuer + "/"})
    assert rejection(verifier, token).reason == "bad_issuer"


def test_rejects_wrong_audience(issuer, verifier):
    token = issuer.mint(ROLE, ["https://other.example", "api://AzureADTokenExchange"])
    assert rejection(verifier, token).reason == "bad_audience"


def test_rejects_missing_subject(issuer, verifier):
    assert rejection(verifier, issuer.mint(None, AUD)).reason == "missing_claim"


def test_rejects_missing_exp(issuer, verifier):
    assert rejection(verifier, issuer.mint(ROLE, AUD, extra_claims={"exp": None})).reason == "missing_claim"


def test_rejects_subject_not_in_allowlist(issuer):
    verifier = TokenVerifier(issuer.issuer, [AUD], subjects=[ROLE])
    token = issuer.mint(ROLE.replace("workloads/app", "workloads/App"), AUD)
    assert rejection(verifier, token).reason == "bad_subject"


def test_rejects_tampered_payload(issuer, verifier):
    header, _, signature = issuer.mint(ROLE, AUD).split(".")
    claims = jwt.decode(issuer.mint(ROLE, AUD), options={"verify_signature": False})
    claims["sub"] = "arn:aws:iam::123456789012:role/admin"
    token = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert rejection(verifier, token).reason == "bad_signature"


def test_rejects_oversized_token_before_parsing(issuer, verifier):
    token = issuer.mint(ROLE, AUD, extra_claims={"padding": "x" * 30000})
    assert len(token) > verifier.max_token_bytes
    assert rejection(verifier, token).reason == "oversized"


def test_rejects_a_token_over_a_configured_cap_whatever_its_content(issuer):
    verifier = TokenVerifier(issuer.issuer, [AUD], max_token_bytes=100)
    assert rejection(verifier, "é" * 101).reason == "oversized"  # before even the ASCII check
    assert rejection(verifier, b"\xff" * 101).reason == "oversized"


@pytest.mark.parametrize(
    "garbage, reason",
    [("", "malformed"), ("garbage", "malformed"), ("a.b", "malformed"), ("eyJhbGciOiJSUzI1NiJ9.e30", "malformed"),
     ("é.é.é", "malformed"), (None, "malformed"), (42, "malformed"), (b"\xff\xfe", "malformed"),
     ("a.b.c", "bad_encoding"), ("..", "bad_encoding"), ("W10.e30.", "bad_header"), ("a.b.c.d.e", "encrypted")],
)
def test_rejects_garbage_with_a_precise_reason_without_crashing(verifier, garbage, reason):
    assert rejection(verifier, garbage).reason == reason


def test_rejects_non_string_alg_without_crashing(issuer, verifier):
    claims = jwt.decode(issuer.mint(ROLE, AUD), options={"verify_signature": False})
    token = forge({"alg": ["RS256"], "kid": "RSA_0"}, claims, b"x")
    assert rejection(verifier, token).reason == "alg_not_allowed"


def test_rejects_rs256_header_naming_the_ec_key(issuer, verifier):
    token = issuer.mint(ROLE, AUD, algorithm="RS256", headers={"kid": issuer.kid("ES384")})
    assert rejection(verifier, token).reason == "key_mismatch"


def test_rejects_es384_header_naming_the_rsa_key(issuer, verifier):
    token = issuer.mint(ROLE, AUD, algorithm="ES384", headers={"kid": issuer.kid("RS256")})
    assert rejection(verifier, token).reason == "key_mismatch"


def test_rejects_algorithm_the_verifier_was_not_configured_for(issuer):
    verifier = TokenVerifier(issuer.issuer, [AUD], algorithms=["ES384"])
    assert rejection(verifier, issuer.mint(ROLE, AUD, algorithm="RS256")).reason == "alg_not_allowed"


# -- keys: discovery, caching, refresh --------------------------------------------------


def test_keys_are_fetched_once_and_cached(fresh_issuer):
    verifier = TokenVerifier(fresh_issuer.issuer, [AUD])
    for algorithm in ("RS256", "ES384") * 5:
        verifier.verify(fresh_issuer.mint(ROLE, AUD, algorithm=algorithm))
    assert fresh_issuer.requests == ["/.well-known/openid-configuration", JWKS_PATH]


def test_unknown_kid_refreshes_jwks_at_most_once_per_interval(fresh_issuer):
    clock = FakeClock()
    verifier = TokenVerifier(fresh_issuer.issuer, [AUD], min_refresh_interval=30, _clock=clock)
    verifier.verify(fresh_issuer.mint(ROLE, AUD, now=clock()))
    forged = fresh_issuer.mint(ROLE, AUD, headers={"kid": "RSA_404"}, now=clock())
    for _ in range(5):
        rejection(verifier, forged)
    assert fresh_issuer.request_count(JWKS_PATH) == 1  # inside the interval: no refresh
    clock.advance(31)
    for _ in range(5):
        assert rejection(verifier, forged).reason == "unknown_kid"
    assert fresh_issuer.request_count(JWKS_PATH) == 2  # one refresh for the whole burst


def test_rotated_in_key_is_picked_up(fresh_issuer):
    clock = FakeClock()
    verifier = TokenVerifier(fresh_issuer.issuer, [AUD], _clock=clock)
    verifier.verify(fresh_issuer.mint(ROLE, AUD, now=clock()))
    new_kid = fresh_issuer.rotate("RS256")
    clock.advance(31)
    token = fresh_issuer.mint(ROLE, AUD, now=clock())
    assert jwt.get_unverified_header(token)["kid"] == new_kid
    assert verifier.verify(token)["sub"] == ROLE


def test_retired_key_stops_verifying_after_a_refresh(fresh_issuer):
    clock = FakeClock()
    verifier = TokenVerifier(fresh_issuer.issuer, [AUD], _clock=clock)
    old_token = fresh_issuer.mint(ROLE, AUD, now=clock())
    verifier.verify(old_token)
    fresh_issuer.rotate("RS256")
    fresh_issuer.retire("RSA_0")
    clock.advance(31)
    verifier.verify(fresh_issuer.mint(ROLE, AUD, now=clock()))  # new kid: refresh
    assert rejection(verifier, old_token).reason == "unknown_kid"


def test_discovery_naming_another_issuer_is_refused():
    impostor = LocalIssuer("https://0f2c9d3e.tokens.sts.global.api.aws")
    with impostor.serve():
        verifier = TokenVerifier(impostor.url, [AUD])
        token = impostor.mint(ROLE, AUD, extra_claims={"iss": impostor.url})
        rejected = rejection(verifier, token)
    assert rejected.reason == "jwks_unavailable"
    assert "discovery document names issuer" in str(rejected)


def test_unreachable_issuer_fails_closed(issuer):
    with LocalIssuer().serve() as gone:
        url = gone.url
    verifier = TokenVerifier(url, [AUD], http_timeout=1)
    token = issuer.mint(ROLE, AUD, extra_claims={"iss": url})
    assert rejection(verifier, token).reason == "jwks_unavailable"


def test_static_jwks_verifies_offline():
    offline = LocalIssuer("https://0f2c9d3e.tokens.sts.global.api.aws")
    verifier = TokenVerifier(offline.issuer, [AUD], jwks=offline.jwks())
    assert verifier.verify(offline.mint(ROLE, AUD, algorithm="ES384"))["sub"] == ROLE


# -- construction -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, code",
    [("http://issuer.example.com", "verify.issuer.scheme"), ("ftp://127.0.0.1", "verify.issuer.scheme"),
     ("127.0.0.1:8080", "verify.issuer.host"), ("http://10.0.0.1:8080", "verify.issuer.scheme"),
     ("https://", "verify.issuer.host")],
)
def test_non_https_non_loopback_issuer_is_refused(url, code):
    with pytest.raises(ValidationError) as raised:
        TokenVerifier(url, [AUD])
    assert raised.value.codes == [code]
    assert isinstance(raised.value, ValueError)  # `except ValueError` keeps working


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"])
def test_http_loopback_issuer_is_allowed(url):
    assert TokenVerifier(url, [AUD]).issuer == url


@pytest.mark.parametrize("algorithms", [["RS256", "HS256"], ["none"], ["ES256"], []])
def test_algorithms_outside_rs256_es384_are_refused(algorithms):
    with pytest.raises(ValidationError) as raised:
        TokenVerifier("https://issuer.example.com", [AUD], algorithms=algorithms)
    assert raised.value.codes == ["verify.algorithms"]


# -- the compact JWS parser: strict, and one spelling per token ------------------------------

def _respelled(token: str, index: int, segment: str) -> str:
    parts = token.split(".")
    parts[index] = segment
    return ".".join(parts)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_rejects_a_segment_outside_the_base64url_alphabet(issuer, verifier, index):
    token = issuer.mint(ROLE, AUD)
    segment = token.split(".")[index]
    assert rejection(verifier, _respelled(token, index, segment[:4] + "+/" + segment[6:])).reason == "bad_encoding"


def test_rejects_a_non_canonical_signature_encoding(issuer, verifier):
    # The same bytes, spelt with stray bits in the last character: PyJWT refuses it, so do we.
    token = issuer.mint(ROLE, AUD, algorithm="ES384")  # 96-byte signature: 128 characters, no stray bits
    rsa_token = issuer.mint(ROLE, AUD)  # 256 bytes: 342 characters, the last one carries 2 spare bits
    signature = rsa_token.split(".")[2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    respelled = signature[:-1] + alphabet[last | 1 if not last & 1 else last & ~1]
    with pytest.raises(jwt.DecodeError):  # PyJWT is what the strictness is measured against
        jwt.get_unverified_header(_respelled(rsa_token, 2, respelled))
    assert rejection(verifier, _respelled(rsa_token, 2, respelled)).reason == "non_canonical"
    assert verifier.verify(token)["sub"] == ROLE


@pytest.mark.parametrize("padding", ["==", "=", "==="])
def test_rejects_padding_even_where_it_would_align_the_segment(issuer, verifier, padding):
    # RFC 7515 spells segments unpadded; with '==' accepted, one token had two spellings and a
    # replay cache keyed on the token string could be bypassed.
    token = issuer.mint(ROLE, AUD)
    signature = token.split(".")[2]  # 342 characters: two '=' would make it 4-aligned
    assert rejection(verifier, _respelled(token, 2, signature + padding)).reason == "non_canonical"


@pytest.mark.parametrize("header, reason", [
    ({"alg": "RS256", "kid": "RSA_0", "crit": ["exp"]}, "bad_crit"),  # exp is absent from the header
    ({"alg": "RS256", "kid": "RSA_0", "crit": ["kid"]}, "bad_crit"),  # a registered header parameter
    ({"alg": "RS256", "kid": "RSA_0", "crit": []}, "bad_crit"),
    ({"alg": "RS256", "kid": "RSA_0", "crit": "b64"}, "bad_crit"),
    ({"alg": "RS256", "kid": "RSA_0", "crit": [7]}, "bad_crit"),
    ({"alg": "RS256", "kid": "RSA_0", "exp": 1, "crit": ["exp"]}, "unsupported_crit"),
    ({"alg": "RS256", "kid": "RSA_0", "b64": False, "crit": ["b64"]}, "unencoded_payload"),
    ({"alg": "RS256", "kid": 7}, "bad_kid"),
    ({"alg": "RS256", "kid": ["RSA_0"]}, "bad_kid"),
    ({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "RSA_0"}, "encrypted"),
])
def test_rejects_each_bad_header_for_its_own_reason(issuer, verifier, header, reason):
    claims = jwt.decode(issuer.mint(ROLE, AUD), options={"verify_signature": False})
    assert rejection(verifier, forge(header, claims, b"x")).reason == reason


def test_rejects_a_json_array_header(verifier):
    token = ".".join([b64(b"[]"), b64(b"{}"), b64(b"x")])
    assert rejection(verifier, token).reason == "bad_header"


def test_rejects_a_compact_jwe(verifier):
    header = b64(json.dumps({"alg": "RSA-OAEP", "enc": "A256GCM"}).encode())
    assert rejection(verifier, ".".join([header, "a" * 10, "b" * 16, "c" * 20, "d" * 22])).reason == "encrypted"


def test_accepts_the_largest_token_aws_mints(issuer, verifier):
    # AWS's limit: a decoded payload of 14,984 bytes (about 20.4 KB of RS256 token); one more
    # byte and STS answers JWTPayloadSizeExceededException.
    token = mint_with_payload_of(issuer, 14_984)
    payload = token.split(".")[1]
    assert len(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))) == 14_984
    assert 20_000 < len(token) < 21_000
    assert verifier.verify(token)["sub"] == ROLE


def mint_with_payload_of(issuer: LocalIssuer, size: int) -> str:
    """A token whose JSON payload is exactly ``size`` bytes: AWS-shaped, its bulk in 50 request tags
    (keys up to 128 characters, values up to 256, as STS allows)."""
    def payload_size(tags):
        payload = issuer.mint(ROLE, AUD, request_tags=tags).split(".")[1]
        return len(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    tags = {f"{n:02d}".ljust(128, "k"): "" for n in range(50)}
    missing = size - payload_size(tags)
    for key in tags:
        tags[key] = "v" * min(256, max(missing, 0))
        missing -= len(tags[key])
    assert missing == 0 and payload_size(tags) == size
    return issuer.mint(ROLE, AUD, request_tags=tags)
