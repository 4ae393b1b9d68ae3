"""Reproduction for the upstream report (benchmarks/upstream-report.md): only ``pulumi`` needed.

Registers N custom resources (plain ``pulumi.CustomResource``, a few string inputs, every
fourth one taking the previous resource's output) on the SDK's mock runtime, with CPython's
cyclic garbage collector on (the default) and paused, each N in a fresh interpreter:

    python benchmarks/upstream_repro.py            # N = 500, 1000, 2000, 4000
    python benchmarks/upstream_repro.py 1000 on    # one run: N, gc on|off

Prints wall time, time inside the collector (gc.callbacks), collections per generation and the
peak RSS growth.
"""

from __future__ import annotations

import gc
import json
import resource
import subprocess
import sys
import time

import pulumi  # at module level: the SDK resolves the resource class's annotations against it


def one_run(n: int, collector: str) -> dict:
    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return f"{args.name}-id", {**args.inputs, "arn": f"arn:test:{args.name}"}

        def call(self, args):
            return {}

    class Thing(pulumi.CustomResource):
        arn: pulumi.Output[str]

        def __init__(self, name, props, opts=None):
            super().__init__("test:index:Thing", name, {**props, "arn": None}, opts)

    pulumi.runtime.set_mocks(Mocks(), project="repro", stack="dev", preview=True)
    in_gc, started_at = [0.0], [0.0]

    def watch(phase, _info):
        if phase == "start":
            started_at[0] = time.perf_counter()
        else:
            in_gc[0] += time.perf_counter() - started_at[0]

    @pulumi.runtime.test
    def program():
        previous = None
        for index in range(n):
            props = {"description": f"thing {index}", "path": "/", "tags": {"team": "a", "index": str(index)}}
            if previous is not None and index % 4 == 0:
                props["upstream"] = previous.arn
            previous = Thing(f"thing-{index}", props)

    gc.collect()
    if collector == "off":
        gc.disable()
    gc.callbacks.append(watch)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    program()
    wall = time.perf_counter() - started
    gc.callbacks.remove(watch)
    return {"n": n, "gc": collector, "wall_s": round(wall, 3), "in_gc_s": round(in_gc[0], 3),
            "collections": [s["collections"] for s in gc.get_stats()],
            "rss_growth_mib": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024)}


def main() -> None:
    if len(sys.argv) == 3:
        print(json.dumps(one_run(int(sys.argv[1]), sys.argv[2])))
        return
    ns = [500, 1000, 2000, 4000]
    rows = {}
    for collector in ("on", "off"):
        for n in ns:
            out = subprocess.run([sys.executable, __file__, str(n), collector], capture_output=True, text=True,
                                 check=True).stdout
            rows[(collector, n)] = json.loads(out.strip().splitlines()[-1])
    print(f"{'N':>5} {'gc on s':>8} {'in gc s':>8} {'growth':>7} {'collections (gen0/1/2)':>24} {'MiB':>5}"
          f" | {'gc off s':>8} {'growth':>7} {'MiB':>5}")
    for i, n in enumerate(ns):
        on, off = rows[("on", n)], rows[("off", n)]

        def grow(collector: str) -> str:
            if i == 0:
                return "-"
            return f"{rows[(collector, n)]['wall_s'] / rows[(collector, ns[i - 1])]['wall_s'] / (n / ns[i - 1]):.2f}"
        print(f"{n:>5} {on['wall_s']:>8.2f} {on['in_gc_s']:>8.2f} {grow('on'):>7} "
              f"{'/'.join(map(str, on['collections'])):>24} {on['rss_growth_mib']:>5} | "
              f"{off['wall_s']:>8.2f} {grow('off'):>7} {off['rss_growth_mib']:>5}")


if __name__ == "__main__":
    main()
