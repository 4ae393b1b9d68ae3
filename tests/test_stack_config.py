"""Parsing the stack config into typed specs: every problem reported at once, with its config path."""

import pytest

from components.rules import ValidationError
from components.stack.config import parse_stack_config

EC2 = {"name": "reports", "trustedServices": ["ec2.amazonaws.com"], "audiences": ["api://AzureADTokenExchange"]}


def test_camel_case_settings_become_component_args():
    spec = parse_stack_config({"manage": True, "disableOnDestroy": True},
                              [{**EC2, "maxDurationSeconds": 600, "createInstanceProfile": True}])
    assert spec.account == {"manage": True, "disable_on_destroy": True}
    assert spec.workloads[0].name == "reports"
    assert spec.workloads[0].role_args == {
        "trusted_services": ["ec2.amazonaws.com"], "audiences": ["api://AzureADTokenExchange"],
        "max_duration_seconds": 600, "create_instance_profile": True}


def test_no_config_at_all_means_a_lookup_and_no_workloads():
    spec = parse_stack_config(None, None)
    assert (spec.account, spec.workloads) == ({}, [])


def test_a_misspelt_setting_is_reported_with_a_suggestion():
    with pytest.raises(ValidationError, match=r"workloads\[0\]\.max_duration_seconds: 600 is not a known setting; "
                                              r"did you mean maxDurationSeconds\?"):
        parse_stack_config({}, [{**EC2, "max_duration_seconds": 600}])


def test_an_unknown_setting_lists_the_known_ones():
    with pytest.raises(ValidationError, match=r"account\.owner: True is not a known setting \(known: manage, "):
        parse_stack_config({"owner": True}, [])


def test_rule_violations_are_reported_in_the_users_spelling():
    with pytest.raises(ValidationError, match=r"workloads\[0\]\.maxDurationSeconds: 7200 is out of range"):
        parse_stack_config({}, [{**EC2, "maxDurationSeconds": 7200}])


def test_two_workloads_may_not_share_a_name():
    with pytest.raises(ValidationError, match=r"workloads\[1\]\.name: 'reports' is used by another workload"):
        parse_stack_config({}, [EC2, EC2])


def test_a_workload_name_must_be_usable_in_resource_names():
    with pytest.raises(ValidationError, match=r"workloads\[0\]\.name: 'Reports_1' must be 2-40 characters"):
        parse_stack_config({}, [{**EC2, "name": "Reports_1"}])


def test_every_problem_is_reported_in_one_error():
    with pytest.raises(ValidationError) as caught:
        parse_stack_config({"disableOnDestroy": True}, [{"name": "x1", "audiences": []}])
    fields = [v.field for v in caught.value.violations]
    assert fields == ["account.disableOnDestroy", "workloads[0].trustedServices", "workloads[0].audiences"]


def test_workloads_must_be_a_list():
    with pytest.raises(ValidationError, match="workloads: .* must be a list of workloads"):
        parse_stack_config({}, {"name": "x"})
