"""The benchmark's measuring functions work and compute sane values on tiny inputs.

Never a timed assertion: the performance targets live in ``python -m benchmarks``, not here.
"""

from __future__ import annotations

import gc
from collections import Counter

import pytest

from benchmarks import critical_path as cp
from benchmarks import program, tokens, verifier
from benchmarks.run import growth
from conftest import ROOT
from fedctl.preview.engine import paused_cyclic_gc, run_program
from fedctl.testing.mocks import Registration
from fedctl.preview.project import load_project


def reg(urn: str, *, custom: bool = True, parent: str = "", deps=(), props=None, typ: str = "t:x:X") -> Registration:
    return Registration(urn=urn, type=typ, name=urn, custom=custom, parent=parent, inputs={}, outputs={},
                        dependencies=list(deps), property_dependencies=props or {})


# -- the critical path ------------------------------------------------------------------------

def test_critical_path_of_the_dev_stack_is_the_hand_counted_depth():
    # Counted by hand from Pulumi.dev.yaml: the Entra app, then its service principal, then the
    # principal's role assignment (the GCP pool -> provider -> binding chain is as long). Roles,
    # identities and credentials wait only for the enablement, a role or their identity: depth 2.
    run = run_program(load_project(ROOT, "dev"))
    path = cp.critical_path(run.monitor.registrations)
    assert path.depth == 3
    assert len(path.chain) == 3
    assert path.credential_chain == 1
    names = [run.monitor.registrations[urn].name for urn in path.chain]
    assert names[0].endswith(("-app", "-pool")), names


def test_a_dependency_on_a_component_waits_for_all_its_children_but_a_child_not_for_its_component():
    registrations = {r.urn: r for r in [
        reg("comp", custom=False),
        reg("a", parent="comp"),
        reg("b", parent="comp", deps=["a"]),
        reg("inner", custom=False, parent="comp"),
        reg("c", parent="inner"),
        reg("after", deps=["comp"]),
        reg("child-of-custom", parent="after"),
    ]}
    edges = cp.waits_on(registrations)
    assert edges["after"] == {"a", "b", "c"}
    assert edges["a"] == set()  # a component parent is no wait
    assert edges["child-of-custom"] == {"after"}  # a custom parent is
    path = cp.critical_path(registrations)
    assert path.depth == 4 and path.chain == ["a", "b", "after", "child-of-custom"]


def test_property_dependencies_count_and_credential_chains_are_reported_apart():
    credential = cp.IDENTITY_CREDENTIAL
    registrations = {r.urn: r for r in [
        reg("identity"),
        reg("fic1", typ=credential, props={"resourceName": ["identity"]}),
        reg("fic2", typ=credential, deps=["fic1"], props={"resourceName": ["identity"]}),
        reg("fic3", typ=credential, deps=["fic2"], props={"resourceName": ["identity"]}),
    ]}
    path = cp.critical_path(registrations)
    assert path.depth == 4 and path.credential_chain == 3
    assert path.depth_without_credential_chain == 2
    assert cp.critical_path({}).depth == 0


# -- the program and its floor -------------------------------------------------------------------

def test_generated_config_runs_and_the_floor_registers_the_same_resources():
    run = program.run_ours(2)
    ours = program.custom_types_of_ours(run)
    floor = program.custom_types_of_floor(program.run_floor(2))
    assert ours == floor
    assert ours["aws:iam/role:Role"] == 2
    assert ours["azure-native:managedidentity:FederatedIdentityCredential"] == 2
    assert ours["gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"] == 2
    assert cp.critical_path(run.monitor.registrations).depth == 3
    assert Counter(r.type for r in run.monitor.registrations.values() if not r.custom)[
        "outbound-federation:index:FederatedRole"] == 2


def test_measure_in_a_fresh_interpreter_reports_time_memory_and_resources():
    one = program.measure_in_subprocess("ours", 1)
    assert one["custom_resources"] == 14 and one["critical_path"] == 3
    assert one["wall_s"] > 0 and one["peak_rss_mib"] > 0
    floor = program.measure_in_subprocess("floor-gc-paused", 1)
    assert floor["types"] == one["types"]


def test_growth_is_time_ratio_over_n_ratio():
    assert growth([1.0, 2.0, 8.0], [1, 2, 4]) == [None, 1.0, 2.0]


def test_paused_cyclic_gc_restores_the_collector_state():
    assert gc.isenabled()
    with paused_cyclic_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_cyclic_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), paused_cyclic_gc():
        raise RuntimeError("the program failed")
    assert gc.isenabled()


# -- tokens ----------------------------------------------------------------------------------

def test_one_sts_call_for_many_threads_in_one_window():
    result = tokens.supplier_load(calls=200, threads=8)
    assert result["sts_calls"] == 1 and result["refresh_windows"] == 1 and result["pass"]


def test_short_tokens_cost_one_call_per_window():
    result = tokens.supplier_load(calls=200, threads=4, duration_seconds=60, step=0.5)  # 100 s of token time
    assert result["windows_expected"] == 4  # a refresh every 30 s
    assert result["sts_calls"] == result["refresh_windows"] == 4
    assert result["redundant_calls"] == 0 and result["pass"]


def test_windows_of_counts_a_second_call_in_one_window_as_redundant():
    calls = [(0.0, 60.0), (10.0, 70.0), (31.0, 91.0)]  # refresh at 30 s, 61 s
    assert tokens.windows_of(calls) == (2, 1)
    assert tokens.refresh_time(0.0, 300.0) == 240.0  # 20% of 300 s is 60 s


# -- the verifier ----------------------------------------------------------------------------

def test_verifier_rates_are_positive_and_ours_is_judged():
    rows = verifier.measure(seconds=0.01, repeats=1)
    assert [r["algorithm"] for r in rows] == ["RS256", "ES384"]
    for row in rows:
        assert row["ours_per_s"] > 0 and row["floor_per_s"] > 0 and row["pyjwkclient_per_s"] > 0
        assert row["jwks_requests_while_timing"] == 0  # the PyJWKClient path is measured warm


def test_judge_marks_an_unreachable_target_not_applicable():
    fast = {"algorithm": "RS256", "ours_per_s": 50.0, "floor_per_s": 100.0, "pyjwkclient_per_s": 20.0,
            "ours_vs_floor": 0.5, "ours_vs_pyjwkclient": 2.5}
    assert verifier.judge(fast) == {"vs_floor": True, "vs_pyjwkclient": True}
    slow = {"algorithm": "ES384", "ours_per_s": 95.0, "floor_per_s": 100.0, "pyjwkclient_per_s": 80.0,
            "ours_vs_floor": 0.95, "ours_vs_pyjwkclient": 95 / 80}
    assert verifier.judge(slow) == {"vs_pyjwkclient": None}
    assert "out of reach" in slow["note"]


def test_marginal_growth_leaves_the_fixed_cost_out():
    from benchmarks.run import marginal_growth

    # 1 s fixed + 0.1 s per workload: linear beyond the fixed cost, whatever the raw ratios say.
    times = [1.0 + 0.1 * n for n in (1, 11, 101)]
    assert marginal_growth(times, [1, 11, 101])[:2] == [None, None]
    assert marginal_growth(times, [1, 11, 101])[2] == pytest.approx(1.0)
