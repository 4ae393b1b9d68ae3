"""Benchmarks: what previewing and deploying cost as workloads grow, and token throughput.

Run ``python -m benchmarks`` (``--quick`` for a run under a minute); see ``benchmarks/README.md``.
"""
