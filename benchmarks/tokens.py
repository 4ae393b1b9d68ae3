"""The token supplier: how many STS calls ``AwsTokenSupplier.get_token()`` makes, healthy and under faults.

Healthy (``run``): 32 threads share one supplier and call ``get_token()`` 10,000 times in all,
against the STS stand-in (``fedctl/testing/standins/sts.py``: boto3 over HTTP to 127.0.0.1, real
signed JWTs).

- *One window*: a 300 s token and the real clock; the whole run fits in one refresh window, so
  the goal is exactly one STS call.
- *Refreshes*: a 60 s token (the shortest STS allows) and a shared fake clock that moves
  ``step`` seconds per ``get_token()`` call, so the run crosses several refresh windows. Every
  STS call is recorded with the clock at the call and the expiry it got; a call is *redundant*
  when it was made before the previous token's refresh time (what the supplier itself computes),
  i.e. two calls served one window. Goal: calls == windows, no redundant call. The fake clock
  stands still while an STS call is in flight (a 3 ms call is nothing next to a 60 s token; the
  clock runs thousands of times faster than real time otherwise).

Faults (``run_faults``), on a fake clock shared by the supplier (wall and monotonic) and STS:

- *Outage*: 640 callers each call ``get_token()`` every 0.25 s through 30 s of STS answering 503.
  Counted: STS calls during the outage (goal: at most one per backoff step), errors callers got
  while the newest token still had life left, and whether any of those came before the mandatory
  window (goal: none), and expired tokens handed out (goal: none).
- *Clock skew*: the host's wall clock is off AWS's by -400 to +400 s; 600 s of calls every 0.5 s.
  Goal: one STS call per window (3) and no expired token handed out.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AUDIENCE = "https://api.example.com"


class FakeClock:
    """Seconds that only move when told to; thread-safe. ``frozen()`` holds them still."""

    def __init__(self, start: float | None = None) -> None:
        self._now = float(int(start if start is not None else time.time()))
        self._cond = threading.Condition()
        self._frozen = 0

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._cond:
            while self._frozen:
                self._cond.wait()
            self._now += seconds

    def freeze(self) -> None:
        with self._cond:
            self._frozen += 1

    def thaw(self) -> None:
        with self._cond:
            self._frozen -= 1
            self._cond.notify_all()

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        self.freeze()
        try:
            yield
        finally:
            self.thaw()


def hold_clock_while_refreshing(supplier: Any, clock: FakeClock) -> None:
    """Stop the fake clock from the moment the supplier starts a background refresh until it ends.

    The fake clock runs thousands of times faster than real time, so a thread start and a 3 ms
    STS call would otherwise look like many seconds of token time.
    """
    spawn = supplier._spawn

    def held(target: Callable[[], None]) -> None:
        clock.freeze()

        def run() -> None:
            try:
                target()
            finally:
                clock.thaw()

        try:
            spawn(run)
        except BaseException:
            clock.thaw()
            raise

    supplier._spawn = held


class RecordingClient:
    """Wraps a boto3 STS client: every GetWebIdentityToken with the clock before it and the expiry.

    Only successful calls are recorded (a failed one has no expiry). With a :class:`FakeClock`
    the clock stands still during the call.
    """

    def __init__(self, client: Any, clock: Callable[[], float]) -> None:
        self._client, self._clock = client, clock
        self.calls: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self.meta = client.meta  # the supplier checks the endpoint is regional
        self._hold = getattr(clock, "frozen", contextlib.nullcontext)

    def get_web_identity_token(self, **request: Any) -> dict[str, Any]:
        with self._hold():
            started = self._clock()
            response = self._client.get_web_identity_token(**request)
        expires = response["Expiration"].timestamp()
        with self._lock:
            self.calls.append((started, expires))
        return response


def refresh_time(started: float, expires: float) -> float:
    """When the supplier starts refreshing a token fetched at ``started`` (its advisory window)."""
    from fedctl.tokens import refresh_margins

    advisory, _ = refresh_margins(max(expires - started, 0.0))
    return expires - advisory


def windows_of(calls: list[tuple[float, float]]) -> tuple[int, int]:
    """(refresh windows the calls served, redundant calls) for calls in the order they were made."""
    windows, redundant, refresh_at = 0, 0, None
    for started, expires in sorted(calls):
        if refresh_at is not None and started < refresh_at:
            redundant += 1
            continue
        windows += 1
        refresh_at = refresh_time(started, expires)
    return windows, redundant


def supplier_load(*, calls: int = 10_000, threads: int = 32, duration_seconds: int = 300,
                  step: float | None = None) -> dict[str, Any]:
    """Run ``calls`` get_token() calls from ``threads`` threads; count STS calls and windows.

    ``step``: with a value, a fake clock (shared by the supplier and the stand-in) moves that many
    seconds per call, so the run spans ``calls * step`` seconds of token time.
    """
    from fedctl.testing.issuer import LocalIssuer
    from fedctl.tokens import AwsTokenSupplier
    from fedctl.testing.standins.sts import StsStandin

    clock: Callable[[], float] = FakeClock() if step is not None else time.time
    issuer = LocalIssuer()
    with StsStandin(issuer, clock=clock).serve() as sts:
        client = RecordingClient(sts.client(), clock)
        supplier = AwsTokenSupplier([AUDIENCE], duration_seconds=duration_seconds, sts_client=client,
                                    _clock=clock)
        if isinstance(clock, FakeClock):
            hold_clock_while_refreshing(supplier, clock)
        per_thread = [calls // threads + (1 if i < calls % threads else 0) for i in range(threads)]
        tokens: set[str] = set()
        lock = threading.Lock()
        barrier = threading.Barrier(threads)

        def work(count: int) -> None:
            seen = set()
            barrier.wait()
            for _ in range(count):
                if step is not None:
                    clock.advance(step)  # type: ignore[attr-defined]
                seen.add(supplier.get_token())
            with lock:
                tokens.update(seen)

        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, per_thread))
        elapsed = time.perf_counter() - started
        sts_calls = sts.calls
    windows, redundant = windows_of(client.calls)
    span = calls * step if step is not None else None
    return {
        "get_token_calls": calls, "threads": threads, "duration_seconds": duration_seconds,
        "clock_step_s": step, "token_time_span_s": span,
        "sts_calls": sts_calls, "refresh_windows": windows, "redundant_calls": redundant,
        "distinct_tokens_seen": len(tokens),
        # The windows the span holds on paper (a refresh every lifetime - margin).
        "windows_expected": math.ceil(span / (duration_seconds - refresh_margin(duration_seconds)))
        if span is not None else 1,
        "wall_s": elapsed, "get_token_per_s": calls / elapsed if elapsed else None,
        "pass": sts_calls == windows and redundant == 0,
    }


def refresh_margin(duration_seconds: float) -> float:
    from fedctl.tokens import refresh_margins

    return refresh_margins(duration_seconds)[0]


def run(quick: bool = False) -> list[dict[str, Any]]:
    return [
        {"case": "one window (300 s token, real clock)", **supplier_load()},
        {"case": "refreshes (60 s token, fake clock +0.03 s per call)",
         **supplier_load(duration_seconds=60, step=0.03)},
    ]


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------

def _exp(token: str) -> float:
    payload = token.split(".")[1]
    return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


def backoff_steps(seconds: float) -> int:
    """STS calls a failing supplier may make in ``seconds``: one per backoff step (longest steps),
    plus the fresh try the mandatory window gets."""
    from fedctl.tokens import backoff_delay

    attempts, at = 0, 0.0
    while at < seconds:
        attempts += 1
        at += backoff_delay(attempts, rand=lambda: 0.0)  # the shortest steps: the most calls
    return attempts + 1


def outage(*, callers: int = 640, start: float | None, seconds: float = 30.0, tick: float = 0.25,
           duration_seconds: int = 300) -> dict[str, Any]:
    """``callers`` threads call get_token() once per ``tick`` through ``seconds`` of STS outage.

    ``start``: seconds after a token was minted when the outage begins; None for a cold start
    (no token yet). Each caller records what it got; an error counts as *with a valid token* when
    the newest token STS had minted had not expired yet (by STS's clock, the fake clock).
    """
    from fedctl.errors import FederationError
    from fedctl.testing.issuer import LocalIssuer
    from fedctl.testing.standins.sts import StsStandin
    from fedctl.tokens import AwsTokenSupplier, refresh_margins

    clock = FakeClock()
    issuer = LocalIssuer()
    _, mandatory = refresh_margins(duration_seconds)
    with StsStandin(issuer, clock=clock).serve() as sts:
        supplier = AwsTokenSupplier([AUDIENCE], duration_seconds=duration_seconds,
                                    sts_client=RecordingClient(sts.client(), clock), _clock=clock)
        hold_clock_while_refreshing(supplier, clock)
        if start is not None:
            supplier.get_token()
            clock.advance(start)
        sts.fail_with("ServiceUnavailable", "Service Unavailable")
        calls_before = sts.calls
        ticks = int(round(seconds / tick))
        barrier = threading.Barrier(callers + 1)
        lock = threading.Lock()
        tally = {"ok": 0, "errors": 0, "errors_with_valid_token": 0, "errors_before_mandatory": 0,
                 "expired_served": 0}

        def newest_exp() -> float | None:
            return _exp(sts.tokens[-1]) if sts.tokens else None

        def caller() -> None:
            seen: dict[str, float] = {}
            mine = dict.fromkeys(tally, 0)
            for _ in range(ticks):
                barrier.wait()
                now = clock()
                try:
                    token = supplier.get_token()
                except FederationError:
                    mine["errors"] += 1
                    exp = newest_exp()
                    if exp is not None and exp > now:
                        mine["errors_with_valid_token"] += 1
                        if exp - now > mandatory:
                            mine["errors_before_mandatory"] += 1
                else:
                    mine["ok"] += 1
                    exp = seen.get(token)
                    if exp is None:
                        exp = seen[token] = _exp(token)
                    if exp <= now:
                        mine["expired_served"] += 1
                barrier.wait()
            with lock:
                for key, value in mine.items():
                    tally[key] += value

        threads = [threading.Thread(target=caller, daemon=True) for _ in range(callers)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for _ in range(ticks):
            barrier.wait()
            barrier.wait()
            clock.advance(tick)
        for thread in threads:
            thread.join(30)
        elapsed = time.perf_counter() - started
        during = sts.calls - calls_before
        sts.fail_with(None)
        # After the outage: how long until callers have a token again.
        recovered_after = None
        for step in range(1, 241):
            clock.advance(tick)
            try:
                supplier.get_token()
            except FederationError:
                continue
            if supplier.expires_in and supplier.expires_in > mandatory:
                recovered_after = step * tick
                break
    allowed = backoff_steps(seconds)
    return {
        "callers": callers, "outage_s": seconds, "outage_starts_s": start, "tick_s": tick,
        "get_token_calls": callers * ticks, "sts_calls_during_outage": during, "max_allowed": allowed,
        **tally, "recovered_after_s": recovered_after, "wall_s": elapsed,
        "pass": during <= allowed and tally["errors_before_mandatory"] == 0 and tally["expired_served"] == 0,
    }


def skew(offset: float, *, seconds: float = 600.0, step: float = 0.5, duration_seconds: int = 300) -> dict[str, Any]:
    """A host whose wall clock is ``offset`` s off AWS's: STS calls and expired tokens over ``seconds``."""
    from fedctl.testing.issuer import LocalIssuer
    from fedctl.testing.standins.sts import StsStandin
    from fedctl.tokens import AwsTokenSupplier, refresh_margins

    clock = FakeClock()
    issuer = LocalIssuer()
    with StsStandin(issuer, clock=clock).serve() as sts:
        supplier = AwsTokenSupplier([AUDIENCE], duration_seconds=duration_seconds,
                                    sts_client=RecordingClient(sts.client(), clock),
                                    _clock=lambda: clock() + offset, _monotonic=clock)
        hold_clock_while_refreshing(supplier, clock)
        expired, least_left, seen = 0, math.inf, {}
        for _ in range(int(seconds / step)):
            token = supplier.get_token()
            exp = seen.get(token)
            if exp is None:
                exp = seen[token] = _exp(token)
            expired += exp <= clock()
            least_left = min(least_left, exp - clock())
            clock.advance(step)
        calls = sts.calls
    advisory, _ = refresh_margins(duration_seconds)
    windows = math.ceil(seconds / (duration_seconds - advisory))
    return {"offset_s": offset, "span_s": seconds, "sts_calls": calls, "windows": windows,
            "expired_served": expired, "least_life_left_s": least_left,
            "pass": calls == windows and expired == 0}


def run_faults(quick: bool = False) -> dict[str, Any]:
    callers = 64 if quick else 640
    return {
        "outage": [
            {"case": f"{callers} callers, 30 s outage from 250 s (advisory window)",
             **outage(callers=callers, start=250)},
            {"case": f"{callers} callers, 30 s outage from 270 s (into the mandatory window)",
             **outage(callers=callers, start=270)},
            {"case": f"{callers} callers, 30 s outage at a cold start (no token yet)",
             **outage(callers=callers, start=None)},
        ],
        "skew": [{"case": f"host clock {offset:+d} s", **skew(offset)} for offset in (-400, -120, 0, 120, 400)],
    }
