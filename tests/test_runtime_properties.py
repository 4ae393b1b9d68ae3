"""Properties of the runtime, for every input hypothesis can think of (bounded, so the suite stays fast;
set FEDCTL_PROPERTY_EXAMPLES=3000 to search harder).

- ``TokenVerifier.verify`` never raises anything but ``TokenRejected``, whatever it is given;
- ``AwsTokenSupplier.get_token`` never raises anything but the library's errors, whatever the
  STS client returns or raises, and whatever the STS stand-in is told to answer.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedctl.errors import FederationError, TokenRejected
from fedctl.testing.issuer import LocalIssuer
from fedctl.testing.standins.sts import MISBEHAVIOURS, StsStandin
from fedctl.tokens import AwsTokenSupplier
from fedctl.verify import TokenVerifier

ROLE = "arn:aws:iam::123456789012:role/workloads/app"
AUD = "https://api.example.com"
ISSUER = LocalIssuer("https://0f2c9d3e-1177-4468-9351-2f0e0e0e0723.tokens.sts.global.api.aws")
VERIFIER = TokenVerifier(ISSUER.issuer, [AUD], jwks=ISSUER.jwks(), max_token_bytes=4096)
GOOD = ISSUER.mint(ROLE, AUD, lifetime=3600)
FAST = settings(max_examples=int(__import__("os").environ.get("FEDCTL_PROPERTY_EXAMPLES", 150)), deadline=None,
                database=None, suppress_health_check=[HealthCheck.too_slow])  # no .hypothesis/ left behind


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from([10**400, -(10**400), 2**63, 253_402_300_800])
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
claim_names = st.sampled_from(["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "https://sts.amazonaws.com/"])
header_names = st.sampled_from(["alg", "kid", "typ", "crit", "b64", "enc", "cty", "jku", "x5c"])


def _dumps(value) -> bytes:
    try:
        return json.dumps(value).encode()
    except (ValueError, OverflowError):
        return b"{}"


@st.composite
def forged_tokens(draw):
    """Tokens a hostile client could send: real claims and headers with parts swapped for anything."""
    header = {"alg": "RS256", "kid": "RSA_0", "typ": "JWT"}
    header.update(draw(st.dictionaries(header_names, json_values, max_size=3)))
    claims = json.loads(base64.urlsafe_b64decode(GOOD.split(".")[1] + "=="))
    claims.update(draw(st.dictionaries(claim_names, json_values, max_size=3)))
    segments = [
        draw(st.sampled_from([b64(_dumps(header)), b64(_dumps(draw(json_values))), draw(st.text(max_size=30))])),
        draw(st.sampled_from([b64(_dumps(claims)), b64(_dumps(draw(json_values))), GOOD.split(".")[1]])),
        draw(st.sampled_from([GOOD.split(".")[2], b64(draw(st.binary(max_size=300))), ""])),
    ]
    extra = draw(st.lists(st.text(alphabet="AZaz09-_=+/.", max_size=8), max_size=3))
    return ".".join(segments + extra) + draw(st.sampled_from(["", "=", "==", ".", " ", "\n"]))


@st.composite
def mutated_good_tokens(draw):
    """The good token with one character replaced, inserted or removed, or cut short."""
    token = GOOD
    index = draw(st.integers(min_value=0, max_value=len(token) - 1))
    how = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
    char = draw(st.characters(codec="utf-8"))
    if how == "replace":
        return token[:index] + char + token[index + 1:]
    if how == "insert":
        return token[:index] + char + token[index:]
    if how == "delete":
        return token[:index] + token[index + 1:]
    return token[:index]


anything = st.one_of(
    st.text(max_size=200), st.binary(max_size=200), st.none(), st.integers(), st.floats(),
    st.lists(st.text(max_size=5), max_size=3), st.text(alphabet="AZaz09-_.=", max_size=300),
)


def _only_rejected(token) -> None:
    try:
        claims = VERIFIER.verify(token)
    except TokenRejected as rejected:
        assert rejected.reason and isinstance(rejected.reason, str)
    else:
        assert isinstance(claims, dict) and claims["sub"] == ROLE  # only the real token gets through


@FAST
@given(anything)
def test_no_value_makes_verify_raise_anything_but_token_rejected(token):
    _only_rejected(token)


@FAST
@given(forged_tokens())
def test_no_forged_token_makes_verify_raise_anything_but_token_rejected(token):
    _only_rejected(token)


@FAST
@given(mutated_good_tokens())
def test_every_respelling_of_a_good_token_but_itself_is_rejected(token):
    if token == GOOD:
        return
    with pytest.raises(TokenRejected):
        VERIFIER.verify(token)


def test_the_unmutated_good_token_verifies():
    assert VERIFIER.verify(GOOD)["sub"] == ROLE  # so the property above is not vacuous


# -- the supplier -----------------------------------------------------------------------------------


class ScriptedClient:
    meta = None

    def __init__(self, outcome):
        self.outcome = outcome

    def get_web_identity_token(self, **_):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


timestamps = st.one_of(
    st.none(), st.text(max_size=30), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(timezones=st.none() | st.just(dt.timezone.utc)),
)
responses = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"WebIdentityToken": st.one_of(st.just(GOOD), st.text(max_size=50), json_values, forged_tokens()),
         "Expiration": timestamps},
        optional={"ResponseMetadata": st.one_of(
            json_values, st.fixed_dictionaries({"HTTPHeaders": st.one_of(
                json_values, st.fixed_dictionaries({"date": st.one_of(st.text(max_size=40), json_values)}))}))}),
)
# What botocore can put in a ClientError: dicts, holding anything (it cannot build one otherwise).
error_bodies = st.fixed_dictionaries({}, optional={
    "Error": st.fixed_dictionaries({}, optional={
        "Code": st.one_of(st.sampled_from(["AccessDenied", "InternalFailure", "Throttling",
                                           "OutboundWebIdentityFederationDisabledException"]), json_values),
        "Message": json_values}),
    "ResponseMetadata": st.fixed_dictionaries({}, optional={"RequestId": json_values, "HTTPStatusCode": json_values}),
})
raised = st.one_of(
    error_bodies.map(lambda body: ClientError(body, "GetWebIdentityToken")),
    st.just(EndpointConnectionError(endpoint_url="https://sts.us-east-1.amazonaws.com")),
    st.just(ReadTimeoutError(endpoint_url="https://sts.us-east-1.amazonaws.com")),
    st.sampled_from([KeyError("GetWebIdentityTokenResult"), ValueError("x"), TypeError("y"), OSError("z"),
                     RuntimeError("w"), AttributeError("v"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")]),
)


@FAST
@given(st.one_of(responses, raised))
def test_nothing_a_client_returns_or_raises_makes_the_supplier_raise_a_foreign_error(outcome):
    supplier = AwsTokenSupplier([AUD], sts_client=ScriptedClient(outcome), background_refresh=False,
                                ready_timeout=0)
    try:
        token = supplier.get_token()
    except FederationError as error:
        assert isinstance(error.code, str) and error.code
        str(error)  # and it can be shown
    else:
        assert isinstance(token, str) and token
        left = supplier.expires_in
        assert left is not None and not math.isnan(left) and 0 <= left <= 300


@pytest.fixture(scope="module")
def standin():
    with StsStandin(LocalIssuer()).serve() as sts:
        yield sts


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from([m for m in MISBEHAVIOURS if m != "hang"] + [None]),
       code=st.one_of(st.none(), st.sampled_from(["AccessDenied", "InternalFailure", "Throttling", "ServiceUnavailable",
                                                  "OutboundWebIdentityFederationDisabledException"]),
                      st.text(alphabet="ABCXYZabc", min_size=1, max_size=12)),
       message=st.text(max_size=60))
def test_nothing_the_sts_stand_in_answers_makes_the_supplier_raise_a_foreign_error(standin, mode, code, message):
    standin.misbehave(mode)
    standin.fail_with(code, message or "x")
    try:
        supplier = AwsTokenSupplier([AUD], sts_client=standin.client(), background_refresh=False, ready_timeout=0)
        supplier.get_token()
    except FederationError:
        pass
    finally:
        standin.misbehave(None)
        standin.fail_with(None)
