"""AwsTokenSupplier on STS's worst day: outages, herds, clock skew, a newly enabled account, odd replies.

Every test runs the real boto3 client against the loopback STS stand-in. Time is a fake clock
(wall and monotonic) moved by hand, and sleeps advance it instead of sleeping, so nothing here is
timed: each test states one behaviour. Tokens are compared by fingerprint, never printed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading

import pytest
from conftest import FakeClock

from components.rules.errors import StsFederationDisabled
from fedctl.errors import FederationDisabledError, FederationError, TokenRequestError
from fedctl.testing.issuer import LocalIssuer
from fedctl.testing.standins.sts import StsStandin
from fedctl.tokens import AwsTokenSupplier, backoff_delay, refresh_margins

AUD = "https://api.example.com"
DISABLED = "OutboundWebIdentityFederationDisabledException"


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


class Sleeper:
    """Stands in for time.sleep: records each wait and moves the fake clock instead."""

    def __init__(self, clock):
        self.clock, self.waits = clock, []

    def __call__(self, seconds):
        self.waits.append(seconds)
        self.clock.advance(seconds)


def supplier_for(sts, clock, **kwargs):
    kwargs.setdefault("background_refresh", False)
    kwargs.setdefault("_random", lambda: 1.0)  # the longest step of each backoff: worst case
    return AwsTokenSupplier([AUD], sts_client=sts.client(), _clock=clock, **kwargs)


def fp(token):
    return hashlib.sha256(token.encode()).hexdigest()[:12]


# -- keep serving a valid token ------------------------------------------------------------------


def test_failed_refresh_in_the_advisory_window_keeps_serving_the_cached_token(sts, clock):
    supplier = supplier_for(sts, clock)
    first = supplier.get_token()
    clock.advance(250)  # 300 s token: advisory window from 240 s, mandatory from 285 s
    sts.fail_with("ServiceUnavailable")
    assert fp(supplier.get_token()) == fp(first)
    assert sts.calls == 2  # it did try


def test_failed_refresh_in_the_mandatory_window_raises_the_sts_error(sts, clock):
    supplier = supplier_for(sts, clock)
    supplier.get_token()
    clock.advance(290)
    sts.fail_with("ServiceUnavailable")
    with pytest.raises(TokenRequestError) as raised:
        supplier.get_token()
    assert raised.value.code == "ServiceUnavailable" and raised.value.transient


def test_outage_across_the_advisory_window_is_invisible_to_callers(sts, clock):
    supplier = supplier_for(sts, clock)
    first = supplier.get_token()
    clock.advance(240)
    sts.fail_with("ServiceUnavailable")
    served = set()
    for _ in range(44 * 4):  # up to 284 s, a call every 0.25 s: all inside the advisory window
        served.add(fp(supplier.get_token()))
        clock.advance(0.25)
    sts.fail_with(None)
    clock.advance(1)  # 285 s: the mandatory window opens with a fresh try, which succeeds
    fresh, first = fp(supplier.get_token()), fp(first)
    assert served == {first}
    assert fresh != first


def test_background_refresh_never_makes_a_caller_wait(sts, clock):
    supplier = supplier_for(sts, clock, background_refresh=True)
    first = supplier.get_token()
    clock.advance(250)
    sts.misbehave("hang")  # STS holds the refresh until released
    try:
        assert fp(supplier.get_token()) == fp(first)  # returned although the refresh is stuck
        assert fp(supplier.get_token()) == fp(first)
        assert _eventually(lambda: sts.hanging == 1)
        assert sts.calls == 2  # one refresh in flight, not one per caller
    finally:
        sts.release()
    assert _eventually(lambda: fp(supplier.get_token()) != fp(first))


def test_callers_in_the_mandatory_window_wait_for_the_refresh_in_flight(sts, clock):
    supplier = supplier_for(sts, clock, background_refresh=True)
    first = supplier.get_token()
    clock.advance(250)
    sts.misbehave("hang")
    supplier.get_token()  # starts the background refresh, which hangs
    assert _eventually(lambda: sts.hanging == 1)
    clock.advance(40)  # now in the mandatory window
    got = []
    waiter = threading.Thread(target=lambda: got.append(supplier.get_token()))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and not got  # waiting for the refresh rather than starting another
    sts.release()
    waiter.join(5)
    assert got and fp(got[0]) != fp(first)
    assert sts.calls == 2


# -- no thundering herd --------------------------------------------------------------------------


def _herd(supplier, clock, *, threads, ticks, step):
    """``threads`` callers each call get_token once per tick while the clock moves ``step`` per tick."""
    errors, served, lock = [], [], threading.Lock()
    barrier = threading.Barrier(threads + 1)

    def caller():
        for _ in range(ticks):
            barrier.wait()
            try:
                token = supplier.get_token()
            except FederationError as error:
                with lock:
                    errors.append(error.code)
            else:
                with lock:
                    served.append(fp(token))
            barrier.wait()

    workers = [threading.Thread(target=caller) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for _ in range(ticks):
        barrier.wait()
        barrier.wait()
        clock.advance(step)
    for worker in workers:
        worker.join(10)
    return errors, served


def _attempts_within(seconds):
    """STS calls a failing supplier makes in ``seconds`` with the longest backoff steps."""
    attempts, at = 0, 0.0
    while at < seconds:
        attempts += 1
        at += backoff_delay(attempts, rand=lambda: 1.0)
    return attempts


def test_cold_start_outage_makes_one_sts_call_per_backoff_step_for_64_callers(sts, clock):
    supplier = supplier_for(sts, clock)
    sts.fail_with("ServiceUnavailable")
    errors, served = _herd(supplier, clock, threads=64, ticks=60, step=0.5)  # 30 s
    assert served == [] and len(errors) == 64 * 60 and set(errors) == {"ServiceUnavailable"}
    assert sts.calls == _attempts_within(30)  # 1, 2, 4, 8, 10 s apart: 6 calls, not 3,840


def test_outage_with_a_cached_token_gives_64_callers_no_error_and_one_call_per_step(sts, clock):
    supplier = supplier_for(sts, clock)
    first = supplier.get_token()
    clock.advance(240)
    sts.fail_with("ServiceUnavailable")
    errors, served = _herd(supplier, clock, threads=64, ticks=60, step=0.5)  # 240 s to 270 s
    assert errors == [] and set(served) == {fp(first)}
    assert sts.calls - 1 == _attempts_within(30)


def test_callers_during_the_backoff_get_the_last_error_without_an_sts_call(sts, clock):
    supplier = supplier_for(sts, clock)
    sts.fail_with("Throttling", "Rate exceeded")
    with pytest.raises(TokenRequestError):
        supplier.get_token()
    for _ in range(10):
        with pytest.raises(TokenRequestError) as raised:
            supplier.get_token()
        assert raised.value.code == "Throttling" and raised.value.aws_message == "Rate exceeded"
    assert sts.calls == 1


def test_backoff_doubles_to_10s_with_jitter_never_below_half_a_step():
    longest = [backoff_delay(n, rand=lambda: 1.0) for n in range(1, 9)]
    shortest = [backoff_delay(n, rand=lambda: 0.0) for n in range(1, 9)]
    assert longest == [1, 2, 4, 8, 10, 10, 10, 10]
    assert shortest == [0.5, 1, 2, 4, 5, 5, 5, 5]


def test_backoff_never_reaches_past_the_mandatory_window(sts, clock):
    supplier = supplier_for(sts, clock)
    supplier.get_token()
    sts.fail_with("ServiceUnavailable")
    clock.advance(242)
    for _ in range(86):  # a call every 0.5 s from 242 s to 284.5 s
        supplier.get_token()
        clock.advance(0.5)
    # Tries at 242, 243, 245, 249, 257, 267 and 277 s; the next step (10 s) would reach 287 s.
    assert sts.calls - 1 == 7
    with pytest.raises(TokenRequestError):  # 285 s: the mandatory window gets a try of its own
        supplier.get_token()
    assert sts.calls - 1 == 8


def test_a_success_resets_the_backoff(sts, clock):
    supplier = supplier_for(sts, clock)
    sts.fail_with("ServiceUnavailable")
    for _ in range(3):
        with pytest.raises(TokenRequestError):
            supplier.get_token()
        clock.advance(4.01)
    sts.fail_with(None)
    supplier.get_token()  # after 3 failures
    clock.advance(290)
    sts.fail_with("ServiceUnavailable")
    with pytest.raises(TokenRequestError):
        supplier.get_token()
    sts.fail_with(None)
    clock.advance(1.01)  # a first failure again: the step is 1 s, not 8 s
    supplier.get_token()
    assert sts.calls == 6


# -- clock skew ----------------------------------------------------------------------------------


def skewed_supplier(sts, clock, skew, **kwargs):
    """A supplier on a host whose wall clock is ``skew`` seconds off AWS's (monotonic is honest)."""
    return AwsTokenSupplier([AUD], sts_client=sts.client(), background_refresh=False,
                            _clock=lambda: clock() + skew, _monotonic=clock, **kwargs)


def test_host_clock_400s_fast_still_makes_one_sts_call_per_window(sts, clock):
    supplier = skewed_supplier(sts, clock, +400)
    for _ in range(239):
        supplier.get_token()
        clock.advance(1)
    assert sts.calls == 1
    clock.advance(2)
    supplier.get_token()
    assert sts.calls == 2


def test_host_clock_120s_slow_never_hands_out_an_expired_token(sts, clock):
    supplier = skewed_supplier(sts, clock, -120)
    for _ in range(600):
        token = supplier.get_token()
        exp = _claims(token)["exp"]
        assert clock() < exp - 10  # by AWS's clock, at least the mandatory margin left
        clock.advance(1)
    assert sts.calls == 3  # at 0, 240 and 480 s


def test_skewed_host_clock_is_reported_once_in_the_log(sts, clock, caplog):
    caplog.set_level(logging.WARNING, logger="fedctl.tokens")
    supplier = skewed_supplier(sts, clock, +400)
    supplier.get_token()
    clock.advance(250)
    supplier.get_token()
    skew = [r for r in caplog.records if "clock is" in r.getMessage()]
    assert len(skew) == 1 and skew[0].args[0] == pytest.approx(400, abs=1)  # Date has whole seconds


def test_expires_in_counts_down_by_awss_lifetime_not_the_wall_clock(sts, clock):
    supplier = skewed_supplier(sts, clock, -3000)
    assert supplier.expires_in is None
    supplier.get_token()
    clock.advance(100)
    assert supplier.expires_in == pytest.approx(200, abs=1)


class StubClient:
    """A client returning a fixed response, for lifetimes a real STS reply cannot show."""

    meta = None

    def __init__(self, response):
        self.response, self.calls = response, 0

    def get_web_identity_token(self, **_):
        self.calls += 1
        if isinstance(self.response, BaseException):
            raise self.response
        return self.response


def test_lifetime_comes_from_expiration_minus_date_when_the_token_has_no_times(clock):
    aws_now = clock() - 500  # the host is 500 s fast
    response = {
        "WebIdentityToken": "not-a-jwt",
        "Expiration": dt.datetime.fromtimestamp(aws_now + 300, dt.timezone.utc),
        "ResponseMetadata": {"HTTPHeaders": {"date": _http_date(aws_now)}},
    }
    client = StubClient(response)
    supplier = AwsTokenSupplier([AUD], sts_client=client, background_refresh=False, _clock=clock)
    supplier.get_token()
    clock.advance(239)
    supplier.get_token()
    assert client.calls == 1  # by the host's wall clock the token had expired 200 s ago
    clock.advance(2)
    supplier.get_token()
    assert client.calls == 2


# -- waiting for a newly enabled account ---------------------------------------------------------


def test_newly_enabled_account_is_retried_until_it_mints(sts, clock):
    sleeper = Sleeper(clock)
    supplier = supplier_for(sts, clock, _sleep=sleeper)
    sts.fail_next(DISABLED, DISABLED, "InternalFailure")
    token = supplier.get_token()
    assert fp(token) == fp(sts.tokens[0])
    assert sts.calls == 4 and sleeper.waits == [1.0, 2.0, 4.0]


def test_readiness_wait_gives_up_after_its_budget_with_awss_own_error(sts, clock):
    sleeper = Sleeper(clock)
    supplier = supplier_for(sts, clock, _sleep=sleeper, ready_timeout=12)
    sts.fail_with(DISABLED, "Outbound web identity federation is disabled for this account")
    with pytest.raises(StsFederationDisabled) as raised:
        supplier.get_token()
    assert raised.value.code == DISABLED
    assert raised.value.aws_message == "Outbound web identity federation is disabled for this account"
    assert isinstance(raised.value, FederationDisabledError) and raised.value.exit_code == 2
    assert sum(sleeper.waits) <= 12 and sleeper.waits == [1.0, 2.0, 4.0, 5.0]


def test_default_readiness_budget_is_30_seconds(sts, clock):
    sleeper = Sleeper(clock)
    supplier = supplier_for(sts, clock, _sleep=sleeper)
    sts.fail_with("InternalFailure")
    with pytest.raises(TokenRequestError) as raised:
        supplier.get_token()
    assert raised.value.code == "InternalFailure"
    assert 25 <= sum(sleeper.waits) <= 30


def test_access_denied_is_never_retried_while_waiting_for_readiness(sts, clock):
    sleeper = Sleeper(clock)
    supplier = supplier_for(sts, clock, _sleep=sleeper)
    sts.fail_next(DISABLED, "AccessDenied")
    with pytest.raises(TokenRequestError) as raised:
        supplier.get_token()
    assert raised.value.code == "AccessDenied"
    assert sts.calls == 2 and sleeper.waits == [1.0]


def test_readiness_wait_says_what_it_waits_for(sts, clock, caplog):
    caplog.set_level(logging.WARNING, logger="fedctl.tokens")
    said = []
    supplier = supplier_for(sts, clock, _sleep=Sleeper(clock), progress=said.append)
    sts.fail_next(DISABLED)
    supplier.get_token()
    assert len(said) == 1 and DISABLED in said[0] and "newly enabled" in said[0]
    assert any("newly enabled" in r.getMessage() for r in caplog.records)


def test_readiness_is_only_waited_for_before_the_first_token(sts, clock):
    sleeper = Sleeper(clock)
    supplier = supplier_for(sts, clock, _sleep=sleeper)
    supplier.get_token()
    clock.advance(290)  # mandatory window
    sts.fail_with(DISABLED)  # someone disabled the account
    with pytest.raises(StsFederationDisabled):
        supplier.get_token()
    assert sts.calls == 2 and sleeper.waits == []


def test_ready_timeout_zero_fails_at_once(sts, clock):
    sleeper = Sleeper(clock)
    supplier = supplier_for(sts, clock, _sleep=sleeper, ready_timeout=0)
    sts.fail_with(DISABLED)
    with pytest.raises(StsFederationDisabled):
        supplier.get_token()
    assert sts.calls == 1 and sleeper.waits == []


def test_callers_arriving_during_the_readiness_wait_share_it(sts, clock):
    release = threading.Event()
    waits = []

    def slow_sleep(seconds):  # holds the first caller's wait until the others have queued up
        waits.append(seconds)
        release.wait(5)
        clock.advance(seconds)

    supplier = supplier_for(sts, clock, _sleep=slow_sleep)
    sts.fail_next(DISABLED)
    got = []
    callers = [threading.Thread(target=lambda: got.append(fp(supplier.get_token()))) for _ in range(8)]
    for caller in callers:
        caller.start()
    assert _eventually(lambda: len(waits) == 1)
    release.set()
    for caller in callers:
        caller.join(5)
    assert len(got) == 8 and set(got) == {fp(sts.tokens[0])}
    assert sts.calls == 2


# -- errors that name the real cause -------------------------------------------------------------

CALLER = "User: arn:aws:sts::123456789012:assumed-role/app/i-0abc is not authorized to perform: " \
         "sts:GetWebIdentityToken on resource: arn:aws:sts::123456789012:self"


@pytest.mark.parametrize(
    "aws_message, denied_by",
    [
        (f"{CALLER} because no identity-based policy allows the sts:GetWebIdentityToken action",
         "identity-policy"),
        (f"{CALLER} with an explicit deny in an identity-based policy", "identity-policy-deny"),
        (f"{CALLER} because no permissions boundary allows the sts:GetWebIdentityToken action",
         "permissions-boundary"),
        (f"{CALLER} with an explicit deny in a session policy", "session-policy"),
        (f"{CALLER} with an explicit deny in a service control policy", "service-control-policy"),
        (f"{CALLER} because no service control policy allows the sts:GetWebIdentityToken action",
         "service-control-policy"),
        (f"{CALLER} with an explicit deny in a resource control policy", "resource-control-policy"),
        (f"{CALLER} with an explicit deny in a VPC endpoint policy", "vpc-endpoint-policy"),
        ("GetWebIdentityToken does not support federated user sessions", "federated-user-session"),
        ("Access denied", None),
    ],
)
def test_access_denied_is_explained_by_the_policy_aws_names(sts, clock, aws_message, denied_by):
    sts.fail_with("AccessDenied", aws_message)
    with pytest.raises(TokenRequestError) as raised:
        supplier_for(sts, clock).get_token()
    error = raised.value
    assert (error.code, error.denied_by, error.transient) == ("AccessDenied", denied_by, False)
    assert error.aws_message == aws_message and aws_message in str(error)


def test_only_the_token_policy_case_blames_the_token_policy(sts, clock):
    sts.fail_with("AccessDenied", f"{CALLER} with an explicit deny in a service control policy")
    with pytest.raises(TokenRequestError) as raised:
        supplier_for(sts, clock).get_token()
    assert "token policy" not in raised.value.explanation
    assert "service control policy" in raised.value.explanation


def test_awss_request_id_and_status_are_kept(sts, clock):
    sts.fail_with("AccessDenied", "denied")
    with pytest.raises(TokenRequestError) as raised:
        supplier_for(sts, clock).get_token()
    assert raised.value.request_id and raised.value.request_id in str(raised.value)
    assert raised.value.http_status == 403


@pytest.mark.parametrize("mode, code", [("html", "InvalidResponse"), ("no-result", "InvalidResponse"),
                                        ("no-token", "NoToken"), ("drop", "ConnectionClosedError")])
def test_a_reply_sts_would_never_send_is_a_token_request_error(sts, clock, mode, code):
    sts.misbehave(mode)
    with pytest.raises(TokenRequestError) as raised:
        supplier_for(sts, clock).get_token()
    assert raised.value.code == code and raised.value.transient


def test_an_unexpected_exception_from_the_client_is_a_token_request_error(clock):
    supplier = AwsTokenSupplier([AUD], sts_client=StubClient(KeyError("GetWebIdentityTokenResult")), _clock=clock)
    with pytest.raises(TokenRequestError) as raised:
        supplier.get_token()
    assert raised.value.code == "InvalidResponse"
    assert isinstance(raised.value.__cause__, KeyError)


@pytest.mark.parametrize("code, transient", [("Throttling", True), ("InternalFailure", True),
                                             ("ServiceUnavailable", True), ("AccessDenied", False),
                                             ("SessionDurationEscalationException", False)])
def test_transient_errors_are_marked_so(sts, clock, code, transient):
    sts.fail_with(code)
    with pytest.raises(TokenRequestError) as raised:
        supplier_for(sts, clock, ready_timeout=0).get_token()
    assert raised.value.transient is transient


def test_each_waiting_caller_gets_its_own_copy_of_the_error(sts, clock):
    supplier = supplier_for(sts, clock)
    sts.fail_with("Throttling")
    raised = []
    for _ in range(2):
        try:
            supplier.get_token()
        except TokenRequestError as error:
            raised.append(error)
    assert raised[0] is not raised[1] and raised[1].__cause__ is raised[0]
    assert type(raised[1]) is type(raised[0]) and raised[1].code == raised[0].code


def test_margins_default_to_botocores_shape_scaled_to_the_token():
    assert refresh_margins(300) == (60.0, 15.0)
    assert refresh_margins(3600) == (720.0, 180.0)
    assert refresh_margins(60) == (30.0, 10.0)


# -- helpers -------------------------------------------------------------------------------------


def _eventually(condition, timeout=5.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def _claims(token):
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def _http_date(epoch):
    import email.utils

    return email.utils.formatdate(epoch, usegmt=True)


# -- fedctl token ---------------------------------------------------------------------------------


@pytest.fixture
def cli_sts(issuer, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with StsStandin(issuer).serve() as standin:
        yield standin


def fedctl_token(capsys, sts, *args):
    from fedctl.cli import main

    code = main(["token", "--audience", AUD, "--sts-endpoint", sts.endpoint_url, "--region", "us-east-1", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fedctl_token_waits_for_a_newly_enabled_account_and_says_so(capsys, cli_sts):
    cli_sts.fail_next(DISABLED)  # one refusal: a real wait of at most a second
    code, out, err = fedctl_token(capsys, cli_sts)
    assert code == 0 and out
    assert "newly enabled" in err and DISABLED in err


def test_fedctl_token_ready_timeout_zero_exits_2_with_awss_error_at_once(capsys, cli_sts):
    cli_sts.fail_with(DISABLED, "federation is disabled")
    code, out, err = fedctl_token(capsys, cli_sts, "--ready-timeout", "0")
    assert (code, out) == (2, "")
    assert "federation is disabled" in err and cli_sts.calls == 1


def test_fedctl_token_exits_1_when_sts_refuses(capsys, cli_sts):
    cli_sts.fail_with("AccessDenied", f"{CALLER} with an explicit deny in a service control policy")
    code, _, err = fedctl_token(capsys, cli_sts)
    assert code == 1 and "service control policy" in err and cli_sts.calls == 1


def test_fedctl_token_gives_googles_expiry_in_the_hosts_clock(capsys, issuer, cli_sts):
    import json
    import time

    # This host's clock is 400 s ahead of AWS's: AWS's Expiration is already past by it, and
    # google-auth (which compares expiration_time with this host's clock) would refuse the token.
    with StsStandin(issuer, clock=lambda: time.time() - 400).serve() as behind:
        code, out, _ = fedctl_token(capsys, behind, "--format", "google-executable")
    response = json.loads(out)
    assert code == 0 and abs(response["expiration_time"] - (time.time() + 300)) <= 2
