"""Parsing the stack config into typed specs: every problem reported at once, with its config path."""

import pytest

from components.rules import ValidationError
from components.stack.config import parse_stack_config

EC2 = {"name": "reports", "trustedServices": ["ec2.amazonaws.com"], "audiences": ["api://AzureADTokenExchange"]}


def refusal(*args, **kwargs) -> list[tuple[str, str]]:
    """(field as the user wrote it, code) of every violation ``parse_stack_config`` reports."""
    with pytest.raises(ValidationError) as caught:
        parse_stack_config(*args, **kwargs)
    return [(v.field, v.code) for v in caught.value.violations]


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
    with pytest.raises(ValidationError) as caught:
        parse_stack_config({}, [{**EC2, "max_duration_seconds": 600}])
    [violation] = caught.value.violations
    assert (violation.field, violation.code) == ("workloads[0].max_duration_seconds", "config.unknown-setting")
    assert violation.rule.endswith("did you mean maxDurationSeconds?")


def test_an_unknown_setting_lists_the_known_ones():
    assert refusal({"owner": True}, []) == [("account.owner", "config.unknown-setting")]


def test_rule_violations_are_reported_in_the_users_spelling():
    assert refusal({}, [{**EC2, "maxDurationSeconds": 7200}]) == [("workloads[0].maxDurationSeconds", "aws.duration.range")]


def test_two_workloads_may_not_share_a_name():
    assert refusal({}, [EC2, EC2]) == [("workloads[1].name", "config.name.duplicate")]


def test_a_workload_name_must_be_usable_in_resource_names():
    assert refusal({}, [{**EC2, "name": "Reports_1"}]) == [("workloads[0].name", "config.name.format")]


def test_every_problem_is_reported_in_one_error():
    assert refusal({"disableOnDestroy": True}, [{"name": "x1", "audiences": []}]) == [
        ("account.disableOnDestroy", "aws.account.disable-without-manage"),
        ("workloads[0].trustedServices", "aws.role-source.missing"),
        ("workloads[0].audiences", "aws.audiences.count"),
    ]


def test_workloads_must_be_a_list():
    assert refusal({}, {"name": "x"}) == [("workloads", "config.workloads.type")]


# -- physical names fit the real limits, with the autonaming suffix counted ------------------------

LONG = {"name": "quarterly-finance-report-exporter", "trustedServices": ["lambda.amazonaws.com"], "audiences": ["a"]}


def test_a_role_name_autonaming_would_push_over_64_characters_fails_at_preview():
    with pytest.raises(ValidationError) as caught:
        parse_stack_config({}, [LONG], "production-eu-central")
    [violation] = caught.value.violations
    assert (violation.field, violation.code) == ("workloads[0].name", "name.autonamed-too-long")
    assert "68 characters" in violation.rule and "64" in violation.rule and "roleName" in violation.rule


def test_an_explicit_role_name_lifts_the_autonaming_limit():
    spec = parse_stack_config({}, [{**LONG, "roleName": "finance-report-exporter"}], "production-eu-central")
    assert spec.workloads[0].role_args["role_name"] == "finance-report-exporter"


def test_the_same_workload_fits_under_a_shorter_stack_name():
    assert parse_stack_config({}, [LONG], "prod").workloads[0].name == LONG["name"]


def test_an_instance_profile_name_is_checked_only_when_one_is_made():
    # The role name is given; its inline policy (127 characters here) and profile (131) are autonamed.
    stack, workload = "s" * 72, {**LONG, "roleName": "exporter"}
    assert parse_stack_config({}, [workload], stack)
    assert refusal({}, [{**workload, "createInstanceProfile": True}], stack) == [
        ("workloads[0].name", "name.autonamed-too-long")]


def test_a_credential_name_over_a_relying_partys_limit_is_refused_not_cut():
    workload = {**LONG, "roleName": "exporter", "gcp": {"project": "usage-analytics", "createServiceAccount": True}}
    assert ("workloads[0].name", "config.credential-name.length") in refusal({}, [workload], "s" * 40)


def test_request_tag_keys_that_differ_only_in_case_are_one_key_to_aws():
    assert refusal({}, [{**EC2, "allowedTagKeys": ["Team", "team"]}]) == [
        ("workloads[0].allowedTagKeys[1]", "aws.tag-key.case-duplicate")]


def test_role_tags_that_differ_only_in_case_are_one_key_to_aws():
    assert refusal({}, [{**EC2, "tags": {"Team": "a", "team": "b"}}]) == [
        ("workloads[0].tags.team", "aws.tag-key.case-duplicate")]


def test_a_trust_policy_anyone_can_use_is_refused_in_config():
    policy = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, ' \
             '"Action": "sts:AssumeRole"}]}'
    workload = {"name": "open", "assumeRolePolicy": policy, "audiences": ["a"]}
    assert refusal({}, [workload]) == [("workloads[0].assumeRolePolicy.Statement[0].Principal", "trust-policy.anyone")]
