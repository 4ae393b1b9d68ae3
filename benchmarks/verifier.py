"""The verifier: verifications per second with warm keys, and how it behaves when the issuer misbehaves.

For RS256 and ES384, the same token (minted by :class:`~fedctl.testing.issuer.LocalIssuer`) is checked
three ways, each in a tight loop on one thread (the three loops take turns, round after round, and
each keeps its best round, so a noisy neighbour on the machine hurts them alike):

- *ours*: ``TokenVerifier(issuer, audience, jwks=...)``, ``verify(token)``: header checks, key
  choice, signature and every claim check;
- *floor*: ``cryptography``'s verify of the very same signature over the same signing input
  (decoded once, outside the loop): what the signature alone costs;
- *PyJWKClient*: ``jwt.PyJWKClient(<jwks url>).get_signing_key_from_jwt(token)`` then
  ``jwt.decode(token, key, algorithms, audience, issuer)`` on every call, the keys served by
  ``LocalIssuer.serve()`` on 127.0.0.1 (the client caches the JWKS, so after the first call no
  request is made: this is its warm path).

Faults (``run_faults``), against ``LocalIssuer.serve()`` told to misbehave:

- *Key withdrawal*: the issuer stops publishing a key; with the verifier's clock stepping 1 s
  per verification of a token signed by it, how long until the verifier rejects it (the fetch
  itself takes milliseconds, so each refresh completes within its step).
- *Issuer down for an hour*: good tokens keep verifying with the cached keys; JWKS requests.
- *Trickling issuer*: a byte every 50 ms (real time). A cold verifier must wait for the keys:
  its ``verify()`` is bounded by ``fetch_timeout`` (10 s by default), not by ``http_timeout`` per
  read. A warm verifier whose keys are due: the longest ``verify()`` of 8 threads while the
  refresh trickles in the background, next to the longest with a healthy issuer under the same
  load (what 8 threads sharing the GIL cost anyway).
"""

from __future__ import annotations

import base64
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AUDIENCE = "https://api.example.com"
SUBJECT = "arn:aws:iam::123456789012:role/workloads/app"
ALGORITHMS = ("RS256", "ES384")


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def raw_verifier(token: str, public_key: Any, algorithm: str) -> Callable[[], None]:
    """The floor: cryptography's verify of the token's signature, inputs decoded beforehand."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    header, payload, signature = token.split(".")
    signing_input, raw = f"{header}.{payload}".encode(), _b64(signature)
    if algorithm == "RS256":
        pad, digest = padding.PKCS1v15(), hashes.SHA256()
        return lambda: public_key.verify(raw, signing_input, pad, digest)
    half = len(raw) // 2
    der = encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
    curve = ec.ECDSA(hashes.SHA384())
    return lambda: public_key.verify(der, signing_input, curve)


def rate(operation: Callable[[], Any], seconds: float, repeats: int = 3) -> float:
    """Operations per second: the best of ``repeats`` loops of about ``seconds`` each."""
    operation()  # warm
    best = 0.0
    for _ in range(repeats):
        count, started = 0, time.perf_counter()
        deadline = started + seconds
        while True:
            for _ in range(50):
                operation()
            count += 50
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, count / (now - started))
    return best


def measure(seconds: float = 0.5, repeats: int = 3) -> list[dict[str, Any]]:
    import jwt

    from fedctl.testing.issuer import LocalIssuer
    from fedctl.verify import TokenVerifier

    issuer = LocalIssuer()
    rows = []
    with issuer.serve():
        jwks_url = issuer.url + "/.well-known/jwks.json"
        for algorithm in ALGORITHMS:
            token = issuer.mint(SUBJECT, AUDIENCE, algorithm=algorithm, lifetime=3600)
            public_key = issuer.private_key(issuer.kid(algorithm)).public_key()
            ours = TokenVerifier(issuer.issuer, [AUDIENCE], subjects=[SUBJECT], jwks=issuer.jwks())
            assert ours.verify(token)["sub"] == SUBJECT
            floor = raw_verifier(token, public_key, algorithm)
            client = jwt.PyJWKClient(jwks_url)

            def pyjwk(token: str = token, algorithm: str = algorithm) -> dict[str, Any]:
                key = client.get_signing_key_from_jwt(token)
                return jwt.decode(token, key.key, algorithms=[algorithm], audience=AUDIENCE, issuer=issuer.issuer)

            assert pyjwk()["sub"] == SUBJECT
            requests_before = issuer.request_count()
            ours_rate = floor_rate = pyjwk_rate = 0.0
            for _ in range(repeats):  # interleaved rounds: each keeps its best
                ours_rate = max(ours_rate, rate(lambda: ours.verify(token), seconds, 1))
                floor_rate = max(floor_rate, rate(floor, seconds, 1))
                pyjwk_rate = max(pyjwk_rate, rate(pyjwk, seconds, 1))
            rows.append({
                "algorithm": algorithm,
                "ours_per_s": ours_rate, "floor_per_s": floor_rate, "pyjwkclient_per_s": pyjwk_rate,
                "ours_vs_floor": ours_rate / floor_rate, "ours_vs_pyjwkclient": ours_rate / pyjwk_rate,
                "jwks_requests_while_timing": issuer.request_count() - requests_before,
            })
    return rows


RAISED_FLOOR_TARGET = 0.60


def judge(row: dict[str, Any]) -> dict[str, bool | None]:
    """The targets kept from before: RS256 >= 50% of the raw cryptography floor; >= 1.5x the PyJWKClient path.

    (The raised target, RS256 >= 60% of the floor, is judged in :func:`run`.)

    The 1.5x target is n/a (None) where even the bare signature check is not 1.5x the PyJWKClient
    path (ES384: the P-384 verify is ~90% of either path's time), since no verifier can beat its
    own floor; the row then carries a note with the numbers.
    """
    ceiling = row["floor_per_s"] / row["pyjwkclient_per_s"]
    verdict: dict[str, bool | None] = {}
    if row["algorithm"] == "RS256":
        verdict["vs_floor"] = row["ours_vs_floor"] >= 0.50
    if ceiling >= 1.5:
        verdict["vs_pyjwkclient"] = row["ours_vs_pyjwkclient"] >= 1.5
    else:
        verdict["vs_pyjwkclient"] = None
        row["note"] = (f"the signature check alone is only {ceiling:.2f}x the PyJWKClient path, so 1.5x is "
                       f"out of reach for any verifier; ours runs at {row['ours_vs_floor']:.0%} of that floor")
    return verdict


def run(quick: bool = False) -> list[dict[str, Any]]:
    rows = measure(seconds=0.25 if quick else 0.5, repeats=3 if quick else 6)
    for row in rows:
        row["targets"] = judge(row)
        if row["algorithm"] == "RS256":
            row["targets"]["vs_floor_raised"] = row["ours_vs_floor"] >= RAISED_FLOOR_TARGET
        row["pass"] = all(v for v in row["targets"].values() if v is not None)
    return rows


# ---------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------

class _Clock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def _inline(target: Callable[[], None]) -> None:
    target()


def withdrawal(*, max_age: int | None, limit: int = 7200) -> dict[str, Any]:
    """Seconds from a key's withdrawal until the verifier rejects a token signed with it."""
    from fedctl.errors import TokenRejected
    from fedctl.testing.issuer import LocalIssuer
    from fedctl.verify import TokenVerifier

    clock = _Clock()
    issuer = LocalIssuer()
    issuer.jwks_max_age = max_age
    with issuer.serve():
        verifier = TokenVerifier(issuer.issuer, [AUDIENCE], _clock=clock, _spawn=_inline)
        token = issuer.mint(SUBJECT, AUDIENCE, now=clock(), lifetime=3600 * 3)
        verifier.verify(token)
        issuer.rotate("RS256")
        issuer.retire("RSA_0")
        rejected_after, reason = None, None
        for second in range(1, limit + 1):
            clock.now += 1
            try:
                verifier.verify(token)
            except TokenRejected as rejection:
                rejected_after, reason = second, rejection.reason
                break
        fetches = issuer.request_count("/.well-known/jwks.json")
    bound = (300 if max_age is None else min(max(max_age, 120), 86_400)) + 1
    return {"cache_control_max_age": max_age, "rejected_after_s": rejected_after, "reason": reason,
            "bound_s": bound, "jwks_fetches": fetches,
            "pass": rejected_after is not None and rejected_after <= bound and reason == "unknown_kid"}


def issuer_down(*, seconds: int = 3600) -> dict[str, Any]:
    """The issuer answers 503 for ``seconds``: do good tokens keep verifying, and how often is it asked?"""
    from fedctl.errors import TokenRejected
    from fedctl.testing.issuer import LocalIssuer
    from fedctl.verify import TokenVerifier

    clock = _Clock()
    issuer = LocalIssuer()
    with issuer.serve():
        verifier = TokenVerifier(issuer.issuer, [AUDIENCE], _clock=clock, _spawn=_inline)
        verifier.verify(issuer.mint(SUBJECT, AUDIENCE, now=clock()))
        issuer.fault = "down"
        before = issuer.request_count()
        rejected = 0
        token = issuer.mint(SUBJECT, AUDIENCE, now=clock(), lifetime=seconds + 600)
        for _ in range(seconds):
            clock.now += 1
            try:
                verifier.verify(token)
            except TokenRejected:
                rejected += 1
        asked = issuer.request_count() - before
    return {"down_s": seconds, "verifications": seconds, "rejected": rejected, "issuer_requests": asked,
            "pass": rejected == 0 and asked <= seconds / verifier.min_refresh_interval + 1}


def trickle(*, threads: int = 8, seconds: float = 3.0) -> dict[str, Any]:
    """A trickling issuer (a byte per 50 ms): the cold verify() and the longest warm one."""
    from fedctl.errors import TokenRejected
    from fedctl.testing.issuer import LocalIssuer
    from fedctl.verify import TokenVerifier

    issuer = LocalIssuer()
    with issuer.serve(lifetime=120):
        token = issuer.mint(SUBJECT, AUDIENCE, lifetime=3600)
        issuer.fault = "trickle"
        cold = TokenVerifier(issuer.issuer, [AUDIENCE])  # defaults: http_timeout 5 s, fetch_timeout 10 s
        started = time.perf_counter()
        try:
            cold.verify(token)
            cold_outcome = "accepted"
        except TokenRejected as rejection:
            cold_outcome = rejection.reason
        cold_s = time.perf_counter() - started

        issuer.fault = None
        clock = _Clock()
        warm = TokenVerifier(issuer.issuer, [AUDIENCE], _clock=clock)
        warm.verify(token)

        def load() -> tuple[float, int, int]:
            """The longest verify() of ``threads`` threads verifying for ``seconds``."""
            longest, count, errors = 0.0, 0, 0
            lock = threading.Lock()
            stop = time.perf_counter() + seconds

            def work() -> None:
                nonlocal longest, count, errors
                mine, n, bad = 0.0, 0, 0
                while time.perf_counter() < stop:
                    began = time.perf_counter()
                    try:
                        warm.verify(token)
                    except TokenRejected:
                        bad += 1
                    mine = max(mine, time.perf_counter() - began)
                    n += 1
                with lock:
                    longest, count, errors = max(longest, mine), count + n, errors + bad

            workers = [threading.Thread(target=work) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            return longest, count, errors

        # The same load with a healthy issuer and fresh keys: what the GIL alone costs 8 threads.
        baseline, _, _ = load()
        issuer.fault = "trickle"
        clock.now += 301  # the keys are due: the next verify() starts a background refresh
        longest, count, errors = load()
        issuer.fault = None
    return {"trickle_interval_s": 0.05, "cold_verify_s": cold_s, "cold_outcome": cold_outcome,
            "fetch_timeout_s": cold.fetch_timeout, "warm_threads": threads, "warm_verifications": count,
            "warm_rejections": errors, "warm_longest_verify_s": longest, "healthy_longest_verify_s": baseline,
            "pass": cold_s <= cold.fetch_timeout + 1.0 and errors == 0 and longest < 0.5}


def run_faults(quick: bool = False) -> dict[str, Any]:
    return {
        "withdrawal": [withdrawal(max_age=None), withdrawal(max_age=120), withdrawal(max_age=3600)],
        "issuer_down": issuer_down(seconds=600 if quick else 3600),
        "trickle": trickle(seconds=1.0 if quick else 3.0),
    }
