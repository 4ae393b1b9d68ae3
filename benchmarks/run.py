"""Run every benchmark, print the tables with PASS/FAIL against the targets, write the JSON.

    python -m benchmarks            # N = 1, 10, 100, 500 (a few minutes)
    python -m benchmarks --quick    # N = 1, 10, 50 (under a minute)

Targets (judged here, never in a test):

- preview: our time <= 1.5x the SDK floor at every N, and growing no faster than the floor
  (growth = time ratio between consecutive Ns / their N ratio; 1.0 is linear; ours may exceed the
  floor's by 10% for timing noise). Judged on the *marginal* growth, the growth of the time beyond
  the first N's (the fixed cost of a run): raw growth at small N mostly shows that fixed cost fading;
- deploy: the critical path is the same at every N (beyond each identity's credential chain);
- tokens: one STS call per refresh window (no redundant call);
- token faults: through a 30 s STS outage, 640 callers cause at most one STS call per backoff
  step and get no error before the mandatory window, never an expired token; with the host clock
  -400..+400 s off, one STS call per window and no expired token;
- verifier: RS256 >= 50% of the raw cryptography floor (kept) and >= 60% (raised); >= 1.5x the
  PyJWKClient path;
- verifier faults: a withdrawn key is rejected within the keys' max age (+1 s step); an issuer
  down for an hour rejects no good token; a trickling issuer holds a cold verify() no longer than
  fetch_timeout (+1 s) and a warm one under 0.5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
FULL_NS = (1, 10, 100, 500)
QUICK_NS = (1, 10, 50)
MAX_RATIO = 1.5
GROWTH_TOLERANCE = 1.10


def mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def tick(ok: bool) -> str:
    return "\u2713" if ok else "\u2717"


# ---------------------------------------------------------------------------------------------
# Preview and deploy
# ---------------------------------------------------------------------------------------------

def best_of(kind: str, n: int, repeats: int) -> dict[str, Any]:
    """The fastest of ``repeats`` runs, each in a fresh interpreter (memory: the largest seen)."""
    from .program import measure_in_subprocess

    runs = [measure_in_subprocess(kind, n) for _ in range(repeats)]
    best = min(runs, key=lambda r: r["wall_s"])
    return {**best, "runs_s": [r["wall_s"] for r in runs],
            "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
            "rss_growth_mib": max(r["rss_growth_mib"] for r in runs)}


def growth(times: list[float], ns: list[int]) -> list[float | None]:
    """Per N: (time / previous time) / (N / previous N); None for the first N. 1.0 is linear."""
    return [None] + [(times[i] / times[i - 1]) / (ns[i] / ns[i - 1]) for i in range(1, len(ns))]


def marginal_growth(times: list[float], ns: list[int]) -> list[float | None]:
    """The same for the cost beyond the first N (its time taken as the fixed cost of a run).

    (t - t0) / (t_prev - t0) over (N - N0) / (N_prev - N0): how the per-workload cost grows,
    without the fixed cost (config, the stack, the account) that flatters small Ns. None where
    the previous N is the first.
    """
    result: list[float | None] = [None] * len(ns)
    for i in range(2, len(ns)):
        spent, before = times[i] - times[0], times[i - 1] - times[0]
        if before > 0:
            result[i] = (spent / before) / ((ns[i] - ns[0]) / (ns[i - 1] - ns[0]))
    return result


def program_benchmark(ns: tuple[int, ...], repeats_small: int = 3, progress=print) -> dict[str, Any]:
    rows = []
    for n in ns:
        repeats = repeats_small if n <= 10 else 1
        started = time.perf_counter()
        ours = best_of("ours", n, repeats)
        floor = best_of("floor-gc-paused", n, repeats)
        sdk = best_of("floor", n, repeats)
        if ours["types"] != floor["types"]:
            raise RuntimeError(f"N={n}: the floor does not register the same resources as the program:\n"
                               f"ours  {ours['types']}\nfloor {floor['types']}")
        rows.append({"n": n, "ours": ours, "floor": floor, "floor_sdk_as_is": sdk,
                     "ratio": ours["wall_s"] / floor["wall_s"], "ratio_sdk_as_is": ours["wall_s"] / sdk["wall_s"]})
        progress(f"  N={n}: ours {ours['wall_s']:.2f}s, floor {floor['wall_s']:.2f}s, "
                 f"SDK as is {sdk['wall_s']:.2f}s ({time.perf_counter() - started:.0f}s)")
    ns_list = [r["n"] for r in rows]
    for key, name in (("ours", "growth"), ("floor", "floor_growth"), ("floor_sdk_as_is", "sdk_growth")):
        times = [r[key]["wall_s"] for r in rows]
        for row, value, marginal in zip(rows, growth(times, ns_list), marginal_growth(times, ns_list)):
            row[name], row["marginal_" + name] = value, marginal
    depths = {r["ours"]["critical_path"] - max(r["ours"]["credential_chain"] - 1, 0) for r in rows}
    for index, row in enumerate(rows):
        # Judged on the marginal growth: the raw growth of small Ns is mostly their fixed cost
        # fading, and ours has a larger per-workload share, so it would read as "faster growth".
        judged = row["marginal_growth"] is not None and row["marginal_floor_growth"] is not None
        row["growth_judged"] = judged
        row["targets"] = {
            "ratio": row["ratio"] <= MAX_RATIO,
            "growth": not judged or row["marginal_growth"] <= row["marginal_floor_growth"] * GROWTH_TOLERANCE,
            "critical_path_constant": len(depths) == 1,
        }
    return {"rows": rows, "critical_path_constant": len(depths) == 1}


def print_program(result: dict[str, Any]) -> None:
    print("\nPreview on the mock runtime: the stack program (ours) vs the same resources without our "
          "components (floor, same runtime setting), and the SDK as it is")
    header = (f"{'N':>4} {'resources':>9} {'ours s':>8} {'floor s':>8} {'ratio':>6} {'<=1.5x':>6} "
              f"{'growth':>7} {'floor gr':>8} {'marg gr':>7} {'floor mg':>8} {'ok':>4} {'SDK s':>7} {'SDK gr':>7} "
              f"{'ours/SDK':>8} {'ours MiB':>8} {'SDK MiB':>8} {'path':>4} {'const':>5}")
    print(header)
    print("-" * len(header))
    for row in result["rows"]:
        ours, floor, sdk = row["ours"], row["floor"], row["floor_sdk_as_is"]

        def g(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f}"
        print(f"{row['n']:>4} {ours['custom_resources']:>9} {ours['wall_s']:>8.2f} {floor['wall_s']:>8.2f} "
              f"{row['ratio']:>6.2f} {mark(row['targets']['ratio']):>6} {g(row['growth']):>7} "
              f"{g(row['floor_growth']):>8} {g(row['marginal_growth']):>7} {g(row['marginal_floor_growth']):>8} "
              f"{mark(row['targets']['growth']) if row['growth_judged'] else '-':>4} "
              f"{sdk['wall_s']:>7.2f} {g(row['sdk_growth']):>7} {row['ratio_sdk_as_is']:>8.2f} "
              f"{ours['rss_growth_mib']:>8.0f} {sdk['rss_growth_mib']:>8.0f} {ours['critical_path']:>4} "
              f"{tick(row['targets']['critical_path_constant']):>5}")
    last = result["rows"][-1]["ours"]
    print(f"  critical path (N={result['rows'][-1]['n']}): {' -> '.join(last['chain'])}; "
          f"longest credential chain {last['credential_chain']}; constant: "
          f"{mark(result['critical_path_constant'])}")


# ---------------------------------------------------------------------------------------------
# Tokens and verifier
# ---------------------------------------------------------------------------------------------

def print_tokens(rows: list[dict[str, Any]]) -> None:
    print("\nToken supplier: 10,000 get_token() calls from 32 threads against the STS stand-in")
    header = f"{'case':<52} {'STS calls':>9} {'windows':>7} {'expected':>8} {'redundant':>9} {'calls/s':>9} {'target':>6}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['case']:<52} {row['sts_calls']:>9} {row['refresh_windows']:>7} {row['windows_expected']:>8} "
              f"{row['redundant_calls']:>9} {row['get_token_per_s']:>9.0f} {mark(row['pass']):>6}")


def print_token_faults(faults: dict[str, Any]) -> None:
    print("\nToken supplier under faults (fake clock shared by the supplier and the STS stand-in)")
    header = (f"{'outage case':<62} {'STS calls':>9} {'max':>4} {'errors':>7} {'w/ valid':>8} {'pre-mand':>8} "
              f"{'expired':>7} {'back in':>7} {'target':>6}")
    print(header)
    print("-" * len(header))
    for row in faults["outage"]:
        back = f"{row['recovered_after_s']:.1f}s" if row["recovered_after_s"] is not None else "never"
        print(f"{row['case']:<62} {row['sts_calls_during_outage']:>9} {row['max_allowed']:>4} {row['errors']:>7} "
              f"{row['errors_with_valid_token']:>8} {row['errors_before_mandatory']:>8} {row['expired_served']:>7} "
              f"{back:>7} {mark(row['pass']):>6}")
    print("  errors: get_token() calls that raised; w/ valid: of those, while the newest token had life left "
          "(only in its last 15 s, the mandatory window, by design); pre-mand: before that window; expired: "
          "expired tokens handed out; back in: after the outage, seconds until callers get a token again")
    header = f"{'clock skew case':<22} {'span':>6} {'STS calls':>9} {'windows':>7} {'expired':>7} {'least life':>10} {'target':>6}"
    print(header)
    print("-" * len(header))
    for row in faults["skew"]:
        print(f"{row['case']:<22} {row['span_s']:>5.0f}s {row['sts_calls']:>9} {row['windows']:>7} "
              f"{row['expired_served']:>7} {row['least_life_left_s']:>9.0f}s {mark(row['pass']):>6}")


def print_verifier(rows: list[dict[str, Any]]) -> None:
    print("\nVerifier: verifications per second, warm keys, one thread")
    header = (f"{'alg':<6} {'ours/s':>8} {'floor/s':>8} {'PyJWKClient/s':>13} {'of floor':>8} {'>=50%':>6} "
              f"{'>=60%':>6} {'x PyJWK':>7} {'>=1.5x':>6}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['algorithm']:<6} {row['ours_per_s']:>8.0f} {row['floor_per_s']:>8.0f} "
              f"{row['pyjwkclient_per_s']:>13.0f} {row['ours_vs_floor']:>8.0%} "
              f"{mark(row['targets'].get('vs_floor')):>6} {mark(row['targets'].get('vs_floor_raised')):>6} "
              f"{row['ours_vs_pyjwkclient']:>7.2f} {mark(row['targets']['vs_pyjwkclient']):>6}")
    for row in rows:
        if row.get("note"):
            print(f"  {row['algorithm']}: {row['note']}")


def print_verifier_faults(faults: dict[str, Any]) -> None:
    print("\nVerifier under faults")
    header = f"{'key withdrawal':<40} {'rejected after':>14} {'bound':>7} {'JWKS fetches':>12} {'target':>6}"
    print(header)
    print("-" * len(header))
    for row in faults["withdrawal"]:
        age = row["cache_control_max_age"]
        case = "no Cache-Control (keys_max_age 300 s)" if age is None else f"Cache-Control: max-age={age}"
        after = f"{row['rejected_after_s']}s" if row["rejected_after_s"] is not None else "never"
        print(f"{case:<40} {after:>14} {row['bound_s']:>6}s {row['jwks_fetches']:>12} {mark(row['pass']):>6}")
    down = faults["issuer_down"]
    print(f"issuer down for {down['down_s']} s: {down['verifications']} good tokens verified, {down['rejected']} "
          f"rejected, {down['issuer_requests']} requests to the issuer  {mark(down['pass'])}")
    t = faults["trickle"]
    print(f"trickling issuer (a byte per {t['trickle_interval_s'] * 1000:.0f} ms): cold verify() "
          f"{t['cold_verify_s']:.2f}s ({t['cold_outcome']}, fetch_timeout {t['fetch_timeout_s']:.0f}s); "
          f"warm, keys due: longest of {t['warm_verifications']} verify() on {t['warm_threads']} threads "
          f"{t['warm_longest_verify_s'] * 1000:.1f} ms (healthy issuer, same load: "
          f"{t['healthy_longest_verify_s'] * 1000:.1f} ms), {t['warm_rejections']} rejected  {mark(t['pass'])}")


# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 1, 10, 50 and shorter loops (under a minute)")
    parser.add_argument("--ns", type=lambda text: tuple(int(n) for n in text.split(",")),
                        help="workload counts, e.g. 1,10,100 (overrides --quick's)")
    parser.add_argument("--only", choices=("program", "tokens", "verifier"), action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the results (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    parts = args.only or ["program", "tokens", "verifier"]
    ns = args.ns or (QUICK_NS if args.quick else FULL_NS)

    from . import tokens, verifier

    # The fault cases make the runtime log what it copes with (failed refreshes, a skewed clock):
    # right in production, noise in the tables.
    logging.getLogger("fedctl").setLevel(logging.ERROR)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick, "python": platform.python_version(), "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    try:
        import pulumi
        results["pulumi"] = getattr(pulumi, "__version__", None) or _version("pulumi")
    except ImportError:
        pass
    verdicts: list[bool] = []
    if "program" in parts:
        print(f"Preview benchmark, N = {', '.join(map(str, ns))} (each run in a fresh interpreter)")
        results["program"] = program_benchmark(ns, repeats_small=1 if args.quick else 3)
        print_program(results["program"])
        verdicts += [all(r["targets"].values()) for r in results["program"]["rows"]]
    if "tokens" in parts:
        results["tokens"] = tokens.run(quick=args.quick)
        print_tokens(results["tokens"])
        verdicts += [r["pass"] for r in results["tokens"]]
        results["token_faults"] = tokens.run_faults(quick=args.quick)
        print_token_faults(results["token_faults"])
        verdicts += [r["pass"] for r in results["token_faults"]["outage"] + results["token_faults"]["skew"]]
    if "verifier" in parts:
        results["verifier"] = verifier.run(quick=args.quick)
        print_verifier(results["verifier"])
        verdicts += [r["pass"] for r in results["verifier"]]
        results["verifier_faults"] = verifier.run_faults(quick=args.quick)
        print_verifier_faults(results["verifier_faults"])
        faults = results["verifier_faults"]
        verdicts += [r["pass"] for r in faults["withdrawal"]] + [faults["issuer_down"]["pass"], faults["trickle"]["pass"]]
    results["elapsed_s"] = time.perf_counter() - started
    results["all_targets_met"] = all(verdicts)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    shown = args.json.resolve()
    shown = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
    print(f"\nAll targets met: {mark(results['all_targets_met'])}  ({results['elapsed_s']:.0f}s; results in {shown})")
    return 0


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None
