"""TokenVerifier on the issuer's worst day: withdrawn keys, outages, forged-kid storms, trickling answers,
and configuration mistakes that used to surface only as "jwks unavailable".

The issuer is a served LocalIssuer on 127.0.0.1 told to misbehave; key ages and claims run on a
fake clock. Background refreshes run inline (``_spawn``) unless a test is about not waiting.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid

import pytest
from conftest import FakeClock

from fedctl import KeysUnavailable
from fedctl.errors import FederationError, TokenRejected, ValidationError
from fedctl.testing.issuer import JWKS_PATH, LocalIssuer
from fedctl.verify import TokenVerifier

ROLE = "arn:aws:iam::123456789012:role/workloads/app"
AUD = "https://api.example.com"


@pytest.fixture
def issuer():
    local = LocalIssuer()
    with local.serve():
        yield local


@pytest.fixture
def clock():
    return FakeClock()


def inline(target):
    target()


def verifier_for(issuer, clock, **kwargs):
    kwargs.setdefault("_spawn", inline)
    return TokenVerifier(issuer.issuer, [AUD], _clock=clock, **kwargs)


def reason_of(verifier, token):
    with pytest.raises(TokenRejected) as raised:
        verifier.verify(token)
    return raised.value.reason


def jwks_fetches(issuer):
    return issuer.request_count(JWKS_PATH)


# -- keys expire: a withdrawn key stops verifying ------------------------------------------------


def test_withdrawn_key_is_dropped_once_the_keys_max_age_passes(issuer, clock):
    verifier = verifier_for(issuer, clock)
    old = issuer.mint(ROLE, AUD, now=clock(), lifetime=3600)
    verifier.verify(old)
    issuer.rotate("RS256")
    issuer.retire("RSA_0")  # AWS withdrew the key: no new token names it, yet old ones still exist
    clock.advance(299)
    verifier.verify(old)  # within the 300 s default age the cached key is still trusted
    clock.advance(2)
    verifier.verify(old)  # due: this call starts the refresh (and, itself, still uses the cache)
    assert reason_of(verifier, old) == "unknown_kid"
    assert jwks_fetches(issuer) == 2


def test_refresh_follows_the_issuers_cache_control_max_age(issuer, clock):
    issuer.jwks_max_age = 600
    verifier = verifier_for(issuer, clock)
    token = issuer.mint(ROLE, AUD, now=clock(), lifetime=3600)
    verifier.verify(token)
    clock.advance(599)
    verifier.verify(token)
    assert jwks_fetches(issuer) == 1
    clock.advance(2)
    verifier.verify(token)
    assert jwks_fetches(issuer) == 2


@pytest.mark.parametrize("max_age, earliest, latest", [(0, 120, 121), (30, 120, 121), (10**9, 86_400, 86_401)])
def test_cache_control_max_age_is_honoured_between_two_minutes_and_a_day(issuer, clock, max_age, earliest, latest):
    issuer.jwks_max_age = max_age
    verifier = verifier_for(issuer, clock)
    token = issuer.mint(ROLE, AUD, now=clock(), lifetime=3600)
    verifier.verify(token)
    clock.advance(earliest - 1)
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    assert jwks_fetches(issuer) == 1
    clock.advance(latest - earliest + 1)
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    assert jwks_fetches(issuer) == 2


def test_keys_max_age_sets_the_schedule_when_the_issuer_sends_none(issuer, clock):
    verifier = verifier_for(issuer, clock, keys_max_age=60)
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    clock.advance(61)
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    assert jwks_fetches(issuer) == 2


# -- the issuer is down: known keys keep working ---------------------------------------------------


def test_known_keys_keep_verifying_while_the_issuer_is_down(issuer, clock):
    verifier = verifier_for(issuer, clock)
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    issuer.fault = "down"
    clock.advance(3600)
    for _ in range(5):
        assert verifier.verify(issuer.mint(ROLE, AUD, now=clock()))["sub"] == ROLE
        clock.advance(1)
    assert jwks_fetches(issuer) == 2  # one failed refresh, not one per call


def test_a_down_issuer_is_asked_again_once_per_min_refresh_interval(issuer, clock):
    verifier = verifier_for(issuer, clock, min_refresh_interval=30)
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    issuer.fault = "down"
    clock.advance(300)
    for _ in range(90):  # 90 s, a call a second
        verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
        clock.advance(1)
    assert issuer.request_count() - 2 == 3  # at 300, 330 and 360 s
    issuer.fault = None
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))  # 390 s: the next try succeeds
    fetched = issuer.request_count()
    clock.advance(299)
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    assert issuer.request_count() == fetched  # and the normal schedule is back: next at 690 s
    clock.advance(2)
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    assert issuer.request_count() == fetched + 1


def test_unknown_kid_while_the_issuer_is_down_is_keys_unavailable(issuer, clock):
    verifier = verifier_for(issuer, clock)
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    issuer.fault = "down"
    clock.advance(31)
    with pytest.raises(KeysUnavailable) as raised:
        verifier.verify(issuer.mint(ROLE, AUD, now=clock(), headers={"kid": "RSA_7"}))
    assert raised.value.reason == "jwks_unavailable" and raised.value.exit_code == 2
    assert isinstance(raised.value, TokenRejected)


def test_an_issuer_down_from_the_start_fails_closed_and_is_retried_after_the_interval(issuer, clock):
    issuer.fault = "down"
    verifier = verifier_for(issuer, clock)
    token = issuer.mint(ROLE, AUD, now=clock(), lifetime=3600)
    for _ in range(3):
        assert reason_of(verifier, token) == "jwks_unavailable"
    issuer.fault = None
    assert reason_of(verifier, token) == "jwks_unavailable"  # within the interval: not asked again
    clock.advance(31)
    assert verifier.verify(token)["sub"] == ROLE


def test_refresh_keys_warms_the_cache_and_raises_when_the_issuer_is_down(issuer, clock):
    verifier = verifier_for(issuer, clock)
    assert verifier.refresh_keys() == 2
    issuer.fault = "down"
    with pytest.raises(KeysUnavailable):
        verifier.refresh_keys()
    assert verifier.verify(issuer.mint(ROLE, AUD, now=clock()))["sub"] == ROLE


# -- no storm: forged kids ----------------------------------------------------------------------


def forged(kid):
    header = {"alg": "RS256", "kid": kid, "typ": "JWT"}
    segments = [json.dumps(header).encode(), b'{"sub":"x"}', b"signature"]
    return ".".join(base64.urlsafe_b64encode(s).rstrip(b"=").decode() for s in segments)


def test_ten_thousand_random_kids_cause_at_most_one_fetch_per_interval(issuer, clock):
    verifier = verifier_for(issuer, clock)
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    clock.advance(31)
    reasons = {reason_of(verifier, forged(uuid.uuid4().hex)) for _ in range(10_000)}
    assert reasons == {"unknown_kid"}
    assert jwks_fetches(issuer) == 2


def test_concurrent_unknown_kids_share_one_fetch(issuer, clock):
    issuer.fault = "trickle"  # keeps the one fetch in flight while the others arrive
    issuer.trickle_interval = 0.001
    verifier = TokenVerifier(issuer.issuer, [AUD], _clock=clock)
    token = issuer.mint(ROLE, AUD, now=clock())
    results = []
    threads = [threading.Thread(target=lambda: results.append(verifier.verify(token)["sub"])) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results == [ROLE] * 16
    assert jwks_fetches(issuer) == 1


# -- slow issuers ---------------------------------------------------------------------------------


def test_a_trickling_issuer_is_cut_off_at_the_fetch_timeout_not_per_read(issuer, clock):
    issuer.fault = "trickle"  # a byte every 50 ms: every read succeeds well within http_timeout
    verifier = TokenVerifier(issuer.issuer, [AUD], http_timeout=5, fetch_timeout=0.3, _clock=clock)
    with pytest.raises(KeysUnavailable) as raised:
        verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    assert "within 0.3 s" in str(raised.value)


def test_callers_whose_key_is_cached_never_wait_for_a_refresh(issuer, clock):
    started = []

    def spawn(target):
        thread = threading.Thread(target=target, daemon=True)
        started.append(thread)
        thread.start()

    verifier = TokenVerifier(issuer.issuer, [AUD], fetch_timeout=1, _clock=clock, _spawn=spawn)
    verifier.verify(issuer.mint(ROLE, AUD, now=clock()))
    issuer.fault = "trickle"
    clock.advance(301)
    for _ in range(20):
        assert verifier.verify(issuer.mint(ROLE, AUD, now=clock()))["sub"] == ROLE
    assert len(started) == 1 and started[0].is_alive()  # they all returned while it trickled
    issuer.fault = None
    started[0].join(10)


def test_fetch_timeout_defaults_to_twice_the_http_timeout(issuer):
    assert TokenVerifier(issuer.issuer, [AUD], http_timeout=4).fetch_timeout == 8


# -- configuration mistakes fail at construction --------------------------------------------------

AWS_ISSUER = "https://0f2c9d3e-1177-4468-9351-2f0e0e0e0723.tokens.sts.global.api.aws"


@pytest.mark.parametrize("issuer_url, code", [
    (AWS_ISSUER + "/", "verify.issuer.trailing-slash"),
    (AWS_ISSUER.replace("https", "HTTPS"), "verify.issuer.case"),
    (AWS_ISSUER.replace("tokens", "TOKENS"), "verify.issuer.case"),
    (f" {AWS_ISSUER} ", "verify.issuer.whitespace"),
    (AWS_ISSUER + "\n", "verify.issuer.whitespace"),
    (AWS_ISSUER + "?x=1", "verify.issuer.query"),
    ("https://user:pw@example.com", "verify.issuer.credentials"),
    ("https://example.com:99999", "verify.issuer.url"),
    ("", "verify.issuer.type"),
    (None, "verify.issuer.type"),
])
def test_issuer_spelling_mistakes_fail_at_construction_with_a_stable_code(issuer_url, code):
    with pytest.raises(ValidationError) as raised:
        TokenVerifier(issuer_url, [AUD])
    assert raised.value.codes == [code]


@pytest.mark.parametrize("kwargs, code", [
    ({"fetch_timeout": 0}, "verify.fetch-timeout"),
    ({"http_timeout": -1}, "verify.http-timeout"),
    ({"keys_max_age": float("inf")}, "verify.keys-max-age"),
    ({"leeway": "30"}, "verify.leeway"),
    ({"max_token_bytes": 0}, "verify.max-token-bytes"),
    ({"audiences": []}, "verify.audiences"),
    ({"subjects": [""]}, "verify.subjects"),
    ({"jwks": {"keys": "none"}}, "verify.jwks"),
])
def test_bad_arguments_are_validation_errors_with_stable_codes(kwargs, code):
    arguments = {"audiences": [AUD], **kwargs}
    audiences = arguments.pop("audiences")
    with pytest.raises(ValidationError) as raised:
        TokenVerifier(AWS_ISSUER, audiences, **arguments)
    assert raised.value.codes == [code]
    assert isinstance(raised.value, FederationError) and raised.value.exit_code == 2


def test_every_mistake_is_reported_at_once():
    with pytest.raises(ValidationError) as raised:
        TokenVerifier(AWS_ISSUER + "/", [], algorithms=["HS256"], leeway=-1)
    assert raised.value.codes == ["verify.issuer.trailing-slash", "verify.audiences", "verify.algorithms",
                                  "verify.leeway"]


# -- crashes that are now rejections ----------------------------------------------------------------


@pytest.mark.parametrize("claim, value", [("exp", 10**400), ("iat", 10**400), ("nbf", 10**400), ("exp", -1),
                                          ("iat", True), ("exp", "tomorrow"), ("nbf", None)])
def test_an_out_of_range_time_claim_is_bad_claim_not_a_crash(clock, claim, value):
    offline = LocalIssuer("https://0f2c9d3e.tokens.sts.global.api.aws")
    verifier = TokenVerifier(offline.issuer, [AUD], jwks=offline.jwks(), _clock=clock)
    token = offline.mint(ROLE, AUD, now=clock())
    if value is not None:
        token = offline.mint(ROLE, AUD, now=clock(), extra_claims={claim: value})
    else:  # a JSON null, which mint's extra_claims would drop: sign it by hand
        import jwt as pyjwt

        claims = pyjwt.decode(token, options={"verify_signature": False})
        claims[claim] = None
        token = pyjwt.encode(claims, offline.private_key("RSA_0"), algorithm="RS256", headers={"kid": "RSA_0"})
    assert reason_of(verifier, token) == "bad_claim"


def test_a_non_string_subject_is_bad_claim(clock):
    offline = LocalIssuer("https://0f2c9d3e.tokens.sts.global.api.aws")
    verifier = TokenVerifier(offline.issuer, [AUD], jwks=offline.jwks(), _clock=clock)
    assert reason_of(verifier, offline.mint(ROLE, AUD, now=clock(), extra_claims={"sub": 42})) == "bad_claim"


# -- fedctl verify --------------------------------------------------------------------------------


def fedctl_verify(capsys, monkeypatch, token, *args):
    import io

    from fedctl.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO(token))
    code = main(["verify", "--audience", AUD, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fedctl_verify_exits_2_when_the_issuers_keys_cannot_be_fetched(capsys, monkeypatch, issuer, clock):
    token = issuer.mint(ROLE, AUD)
    issuer.fault = "down"
    code, out, err = fedctl_verify(capsys, monkeypatch, token, "--issuer", issuer.issuer)
    assert (code, out) == (2, "") and "jwks_unavailable" in err


def test_fedctl_verify_exits_2_for_an_issuer_with_a_trailing_slash(capsys, monkeypatch, issuer):
    code, _, err = fedctl_verify(capsys, monkeypatch, issuer.mint(ROLE, AUD), "--issuer", issuer.issuer + "/")
    assert code == 2 and "slash" in err and issuer.request_count() == 0


def test_fedctl_verify_gives_a_trickling_issuer_fetch_timeout_seconds(capsys, monkeypatch, issuer):
    token = issuer.mint(ROLE, AUD)
    issuer.fault = "trickle"
    code, _, err = fedctl_verify(capsys, monkeypatch, token, "--issuer", issuer.issuer, "--fetch-timeout", "0.3")
    assert code == 2 and "within 0.3 s" in err
