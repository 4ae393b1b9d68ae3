"""The token supplier: how many STS calls ``AwsTokenSupplier.get_token()`` makes under load.

32 threads share one supplier and call ``get_token()`` 10,000 times in all, against the STS
stand-in (``fedctl/testing/standins/sts.py``: boto3 over HTTP to 127.0.0.1, real signed JWTs).

- *One window*: a 300 s token and the real clock; the whole run fits in one refresh window, so
  the goal is exactly one STS call.
- *Refreshes*: a 60 s token (the shortest STS allows) and a shared fake clock that moves
  ``step`` seconds per ``get_token()`` call, so the run crosses several refresh windows. Every
  STS call is recorded with the clock at the call and the expiry it got; a call is *redundant*
  when it was made before the previous token's refresh time (what the supplier itself computes),
  i.e. two calls served one window. Goal: calls == windows, no redundant call.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AUDIENCE = "https://api.example.com"


class FakeClock:
    """Wall-clock seconds that only move when told to; thread-safe."""

    def __init__(self, start: float | None = None) -> None:
        self._now = float(int(start if start is not None else time.time()))
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class RecordingClient:
    """Wraps a boto3 STS client: every GetWebIdentityToken with the clock before it and the expiry."""

    def __init__(self, client: Any, clock: Callable[[], float]) -> None:
        self._client, self._clock = client, clock
        self.calls: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self.meta = client.meta  # the supplier checks the endpoint is regional

    def get_web_identity_token(self, **request: Any) -> dict[str, Any]:
        started = self._clock()
        response = self._client.get_web_identity_token(**request)
        expires = response["Expiration"].timestamp()
        with self._lock:
            self.calls.append((started, expires))
        return response


def refresh_time(started: float, expires: float) -> float:
    """When the supplier refreshes a token fetched at ``started`` (fedctl.tokens' margin rule)."""
    from fedctl import tokens

    lifetime = max(expires - started, 0.0)
    margin = min(max(tokens._MIN_MARGIN, tokens._MARGIN_FRACTION * lifetime), lifetime / 2)
    return expires - margin


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
    from fedctl import tokens

    return min(max(tokens._MIN_MARGIN, tokens._MARGIN_FRACTION * duration_seconds), duration_seconds / 2)


def run(quick: bool = False) -> list[dict[str, Any]]:
    return [
        {"case": "one window (300 s token, real clock)", **supplier_load()},
        {"case": "refreshes (60 s token, fake clock +0.03 s per call)",
         **supplier_load(duration_seconds=60, step=0.03)},
    ]
