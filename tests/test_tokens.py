"""AwsTokenSupplier against the STS stand-in: what it sends, caching, refresh, errors.

Behaviour under faults (outages, skew, readiness after Enable, odd replies) is in
``test_tokens_faults.py``. Tokens are compared by fingerprint so a failing assertion never prints one.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import jwt
import pytest
from conftest import FakeClock

from fedctl.errors import TokenRequestError
from fedctl.testing.issuer import AWS_CLAIMS, LocalIssuer
from fedctl.tokens import AwsTokenSupplier
from fedctl.testing.standins.sts import ROLE_ARN, StsStandin


@pytest.fixture(scope="module")
def issuer():
    return LocalIssuer()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def sts(issuer, clock):
    with StsStandin(issuer, clock=clock).serve() as standin:
        yield standin


def supplier_for(sts, clock, audiences=("https://api.example.com",), **kwargs):
    # Inline refreshes (the first caller in the advisory window refreshes) keep these tests
    # deterministic; the background thread has its own tests in test_tokens_faults.py.
    kwargs.setdefault("background_refresh", False)
    return AwsTokenSupplier(list(audiences), sts_client=sts.client(), _clock=clock, **kwargs)


def fp(token):
    """A token's fingerprint: what assertions compare, so a failure never prints a token."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


# -- what is sent -----------------------------------------------------------------------


def test_sends_audiences_algorithm_duration_and_tags(sts, clock):
    supplier = supplier_for(
        sts, clock, ["https://a.example", "api://AzureADTokenExchange"],
        signing_algorithm="ES384", duration_seconds=900, tags={"team": "data", "env": "prod"},
    )
    supplier.get_token()
    assert sts.requests == [
        {
            "Audience": ["https://a.example", "api://AzureADTokenExchange"],
            "SigningAlgorithm": "ES384",
            "DurationSeconds": 900,
            "DurationSecondsSent": True,
            "Tags": {"team": "data", "env": "prod"},
        }
    ]


def test_always_sends_algorithm_and_duration_even_at_defaults(sts, clock):
    supplier_for(sts, clock).get_token()
    (request,) = sts.requests
    assert (request["SigningAlgorithm"], request["DurationSeconds"], request["DurationSecondsSent"]) == (
        "RS256", 300, True,
    )


def test_returns_the_jwt_sts_minted_for_the_role(sts, clock):
    token = supplier_for(sts, clock, tags={"job": "42"}).get_token()
    claims = claims_of(token)
    assert fp(token) == fp(sts.tokens[0])
    assert claims["sub"] == ROLE_ARN
    assert claims["aud"] == "https://api.example.com"
    assert claims[AWS_CLAIMS]["request_tags"] == {"job": "42"}


# -- caching and refresh ----------------------------------------------------------------


def test_second_call_is_served_from_the_cache(sts, clock):
    supplier = supplier_for(sts, clock)
    first = supplier.get_token()
    clock.advance(100)
    assert fp(supplier.get_token()) == fp(first)
    assert sts.calls == 1


def test_300s_token_is_refreshed_when_less_than_60s_remain(sts, clock):
    supplier = supplier_for(sts, clock, duration_seconds=300)
    first = supplier.get_token()
    clock.advance(239)
    assert fp(supplier.get_token()) == fp(first)
    clock.advance(2)
    assert fp(supplier.get_token()) != fp(first)
    assert sts.calls == 2


def test_3600s_token_is_refreshed_when_less_than_20_percent_remain(sts, clock):
    supplier = supplier_for(sts, clock, duration_seconds=3600)
    supplier.get_token()
    clock.advance(2879)
    supplier.get_token()
    assert sts.calls == 1
    clock.advance(2)
    supplier.get_token()
    assert sts.calls == 2


def test_60s_token_is_still_cached_for_half_its_life(sts, clock):
    supplier = supplier_for(sts, clock, duration_seconds=60)
    supplier.get_token()
    clock.advance(29)
    supplier.get_token()
    assert sts.calls == 1
    clock.advance(2)
    supplier.get_token()
    assert sts.calls == 2


def test_refresh_follows_the_lifetime_sts_granted_not_the_hosts_clock(issuer, clock):
    # STS's clock runs 100 s behind ours. AWS's clock is the one relying parties agree with, so
    # the token lives its full 300 s: refreshed 60 s before that (+240 s), not at +140 s.
    with StsStandin(issuer, clock=lambda: clock() - 100).serve() as sts:
        supplier = supplier_for(sts, clock, duration_seconds=300)
        supplier.get_token()
        clock.advance(239)
        supplier.get_token()
        assert sts.calls == 1
        clock.advance(2)
        supplier.get_token()
        assert sts.calls == 2


def test_expiration_is_reported_as_utc_datetime(sts, clock):
    supplier = supplier_for(sts, clock, duration_seconds=600)
    assert supplier.expiration is None
    supplier.get_token()
    assert supplier.expiration.utcoffset().total_seconds() == 0
    assert abs(supplier.expiration.timestamp() - (clock() + 600)) <= 1


def test_32_threads_share_one_sts_call(sts, clock):
    sts.latency = 0.05  # keep the first call in flight while the others pile up
    supplier = supplier_for(sts, clock)
    barrier = threading.Barrier(32)
    seen: list[str] = []
    lock = threading.Lock()

    def worker():
        barrier.wait()
        tokens = [supplier.get_token() for _ in range(200)]
        with lock:
            seen.extend(tokens)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sts.calls == 1
    assert len(seen) == 32 * 200 and {fp(t) for t in seen} == {fp(sts.tokens[0])}


def test_32_threads_share_one_sts_call_per_refresh(sts, clock):
    sts.latency = 0.05
    supplier = supplier_for(sts, clock)
    supplier.get_token()
    clock.advance(250)
    barrier = threading.Barrier(32)

    def worker():
        barrier.wait()
        for _ in range(50):
            supplier.get_token()

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sts.calls == 2


def test_failed_first_call_is_retried_once_the_backoff_step_has_passed(sts, clock):
    supplier = supplier_for(sts, clock)
    sts.fail_with("AccessDenied")
    with pytest.raises(TokenRequestError):
        supplier.get_token()
    sts.fail_with(None)
    clock.advance(1.01)  # the first backoff step is at most 1 s
    assert fp(supplier.get_token()) == fp(sts.tokens[0])
    assert sts.calls == 2


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, hint",
    [
        ("OutboundWebIdentityFederationDisabledException", "aws iam enable-outbound-web-identity-federation"),
        ("OutboundWebIdentityFederationDisabled", "account.manage: true"),
        ("SessionDurationEscalationException", "request a shorter duration_seconds or refresh the session"),
        ("JWTPayloadSizeExceededException", "fewer or shorter tags"),
        ("AccessDenied", "token policy does not allow"),
        ("AccessDeniedException", "token policy does not allow"),
    ],
)
def test_sts_error_code_maps_to_an_actionable_message(sts, clock, code, hint):
    sts.fail_with(code)
    with pytest.raises(TokenRequestError) as raised:
        supplier_for(sts, clock, ready_timeout=0).get_token()
    assert raised.value.code == code
    assert hint in str(raised.value)


def test_access_denied_names_the_requested_audiences_algorithm_and_duration(sts, clock):
    sts.fail_with("AccessDenied")
    with pytest.raises(TokenRequestError) as raised:
        supplier_for(sts, clock, ["https://b.example"], signing_algorithm="ES384", duration_seconds=900).get_token()
    message = str(raised.value)
    assert "https://b.example" in message and "ES384" in message and "900 s" in message


def test_unknown_sts_error_keeps_the_aws_code_and_message(sts, clock):
    sts.fail_with("RegionDisabledException", "STS is not activated in this region", status=403)
    with pytest.raises(TokenRequestError) as raised:
        supplier_for(sts, clock).get_token()
    assert raised.value.code == "RegionDisabledException"
    assert "STS is not activated in this region" in str(raised.value)


def test_unreachable_sts_is_a_token_request_error(issuer, clock):
    with StsStandin(issuer).serve() as gone:
        client = gone.client()
    with pytest.raises(TokenRequestError) as raised:
        AwsTokenSupplier(["https://api.example.com"], sts_client=client, _clock=clock).get_token()
    assert raised.value.code == "EndpointConnectionError"
    assert "could not call STS" in str(raised.value)


def test_no_region_anywhere_is_a_clear_error(monkeypatch, tmp_path):
    from fedctl.errors import ConfigurationError

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    with pytest.raises(TokenRequestError) as raised:
        AwsTokenSupplier(["https://api.example.com"])
    assert raised.value.code == "NoRegion"
    assert isinstance(raised.value, ConfigurationError) and raised.value.exit_code == 2
    assert "region" in str(raised.value) and "AWS_REGION" in str(raised.value)


def test_region_from_environment_gives_a_regional_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    supplier = AwsTokenSupplier(["https://api.example.com"])
    assert supplier._client.meta.endpoint_url == "https://sts.eu-west-1.amazonaws.com"


def test_region_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    supplier = AwsTokenSupplier(["https://api.example.com"], region="ap-southeast-2")
    assert supplier._client.meta.endpoint_url == "https://sts.ap-southeast-2.amazonaws.com"


def test_client_on_the_global_endpoint_is_refused():
    client = boto3.client(
        "sts", endpoint_url="https://sts.amazonaws.com", region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x",
    )
    with pytest.raises(TokenRequestError) as raised:
        AwsTokenSupplier(["https://api.example.com"], sts_client=client)
    assert raised.value.code == "GlobalEndpoint"
    assert "global endpoint" in str(raised.value)


def test_aws_global_region_is_refused():
    with pytest.raises(TokenRequestError) as raised:
        AwsTokenSupplier(["https://api.example.com"], region="aws-global")
    assert raised.value.code == "GlobalEndpoint"


@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"audiences": []}, "audiences"),
        ({"audiences": "https://api.example.com"}, "audiences"),
        ({"audiences": [f"https://{n}.example" for n in range(11)]}, "audiences"),
        ({"audiences": [""]}, "audiences"),
        ({"audiences": ["x" * 1001]}, "audiences"),
        ({"audiences": [42]}, "audiences"),
        ({"signing_algorithm": "HS256"}, "signing_algorithm: 'HS256'"),
        ({"signing_algorithm": "rs256"}, "signing_algorithm: 'rs256'"),
        ({"duration_seconds": 59}, "duration_seconds: 59"),
        ({"duration_seconds": 3601}, "duration_seconds: 3601"),
        ({"duration_seconds": "300"}, "duration_seconds: '300'"),
        ({"duration_seconds": True}, "duration_seconds: True"),
        ({"tags": {f"k{n}": "v" for n in range(51)}}, "tags"),
        ({"tags": {"team": 7}}, "tags"),
        ({"tags": {"k" * 129: "v"}}, "tags"),
        ({"tags": {"team": "v" * 257}}, "tags"),
        ({"tags": [("team", "data")]}, "tags"),
    ],
)
def test_invalid_argument_is_rejected_naming_it(kwargs, named):
    from fedctl.errors import ValidationError

    arguments = {"audiences": ["https://api.example.com"], "region": "us-east-1", **kwargs}
    audiences = arguments.pop("audiences")
    with pytest.raises(ValidationError) as raised:
        AwsTokenSupplier(audiences, **arguments)
    assert named in str(raised.value)
    assert isinstance(raised.value, ValueError)  # `except ValueError` keeps working
    # The shared rules' codes: the same input gets the same code in a component, the stack or here.
    assert raised.value.codes and all(code.startswith("aws.") for code in raised.value.codes)


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"ready_timeout": -1}, "tokens.ready-timeout"),
        ({"ready_timeout": float("nan")}, "tokens.ready-timeout"),
        ({"ready_timeout": "30"}, "tokens.ready-timeout"),
        ({"advisory_margin": 300}, "tokens.advisory-margin"),
        ({"advisory_margin": -1}, "tokens.advisory-margin"),
        ({"mandatory_margin": True}, "tokens.mandatory-margin"),
        ({"advisory_margin": 20, "mandatory_margin": 30}, "tokens.mandatory-margin.order"),
        ({"background_refresh": "yes"}, "tokens.background-refresh"),
        ({"progress": "stderr"}, "tokens.progress"),
    ],
)
def test_invalid_fault_handling_option_is_a_validation_error_with_a_stable_code(kwargs, code):
    from fedctl.errors import ValidationError

    with pytest.raises(ValidationError) as raised:
        AwsTokenSupplier(["https://api.example.com"], region="us-east-1", **kwargs)
    assert raised.value.codes == [code]


# -- secrecy ----------------------------------------------------------------------------


def test_token_never_appears_in_log_records(sts, clock, caplog):
    caplog.set_level(logging.DEBUG, logger="fedctl")
    supplier = supplier_for(sts, clock)
    token = supplier.get_token()
    clock.advance(290)
    token2 = supplier.get_token()
    ours = [r for r in caplog.records if r.name.startswith("fedctl")]
    assert len(ours) >= 2  # the refreshes were logged ...
    for record in ours:  # ... without the tokens
        text = record.getMessage() + repr(record.args)
        assert token not in text and token2 not in text
        assert token.split(".")[2] not in text


def test_token_never_appears_in_exception_text(sts, clock):
    supplier = supplier_for(sts, clock)
    token = supplier.get_token()
    clock.advance(295)  # inside the mandatory window: the failure is raised
    sts.fail_with("AccessDenied")
    with pytest.raises(TokenRequestError) as raised:
        supplier.get_token()
    error = raised.value
    chain = [error, error.__cause__, error.__context__]
    assert all(token not in str(e) and token not in repr(e) for e in chain if e is not None)
    assert token not in repr(supplier)


def test_import_fedctl_loads_no_cloud_sdk():
    code = (
        "import sys, fedctl; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'boto3', 'botocore', 'azure', 'google', 'jwt', 'pulumi', 'requests'}))"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert result.stdout.strip() == "[]"
