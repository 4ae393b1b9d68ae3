"""Judging IAM policies ours or hand-written: token grants, trust policies, and one token request."""

import pytest

from components.rules import WARNING
from components.rules.policy_audits import (
    TokenRequest,
    check_token_grants,
    check_trust_policy,
    duration_cap,
    evaluate_token_request,
    token_grant_algorithms,
)
from components.rules.policy_documents import token_policy_document

AZURE = "api://AzureADTokenExchange"


def grant(condition, action="sts:GetWebIdentityToken", resource="*", effect="Allow"):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Action": action, "Resource": resource, "Condition": condition}]}


SAFE_CONDITION = {
    "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": [AZURE]},
    "Null": {"sts:IdentityTokenAudience": "false"},
    "NumericLessThanEquals": {"sts:DurationSeconds": 300},
    "StringEquals": {"sts:SigningAlgorithm": "RS256"},
}


def codes(violations):
    return [v.code for v in violations]


# -- token grants ---------------------------------------------------------------------------------

def test_a_fully_pinned_grant_passes():
    assert check_token_grants(grant(SAFE_CONDITION), "policy") == []


def test_awss_own_sample_with_for_any_value_is_rejected():
    condition = {**SAFE_CONDITION, "ForAnyValue:StringEquals": SAFE_CONDITION["ForAllValues:StringEquals"]}
    del condition["ForAllValues:StringEquals"]
    found = codes(check_token_grants(grant(condition), "policy"))
    assert "token-grant.audience.for-any-value" in found and "token-grant.audience.unpinned" in found


def test_a_grant_without_the_null_guard_is_rejected():
    condition = {k: v for k, v in SAFE_CONDITION.items() if k != "Null"}
    assert codes(check_token_grants(grant(condition), "policy")) == ["token-grant.audience.null-guard"]


def test_a_grant_without_a_duration_cap_is_rejected():
    condition = {k: v for k, v in SAFE_CONDITION.items() if k != "NumericLessThanEquals"}
    assert codes(check_token_grants(grant(condition), "policy")) == ["token-grant.duration.uncapped"]


def test_a_cap_over_the_configured_maximum_is_rejected():
    found = check_token_grants(grant(SAFE_CONDITION), "policy", max_duration_seconds=120)
    assert codes(found) == ["token-grant.duration.over-cap"] and found[0].value == 300


def test_a_cap_over_fifteen_minutes_is_only_advisory():
    condition = {**SAFE_CONDITION, "NumericLessThanEquals": {"sts:DurationSeconds": 1800}}
    assert [v.severity for v in check_token_grants(grant(condition), "policy")] == [WARNING]


def test_a_grant_without_an_algorithm_restriction_is_rejected():
    condition = {k: v for k, v in SAFE_CONDITION.items() if k != "StringEquals"}
    assert codes(check_token_grants(grant(condition), "p")) == ["token-grant.algorithm.unpinned"]


def test_audiences_outside_the_allow_list_are_rejected():
    found = check_token_grants(grant(SAFE_CONDITION), "p", allowed_audiences=["https://api.example.com"])
    assert codes(found) == ["token-grant.audience.not-allowed"] and found[0].value == AZURE


def test_wildcard_actions_and_not_action_count_as_grants():
    assert check_token_grants(grant({}, action="sts:*"), "p")
    assert check_token_grants(grant({}, action="*"), "p")
    not_action = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert check_token_grants(not_action, "p")


def test_statements_that_grant_something_else_are_ignored():
    assert check_token_grants(grant({}, action="s3:GetObject"), "p") == []
    assert check_token_grants(grant({}, effect="Deny"), "p") == []


def test_condition_keys_match_case_insensitively():
    condition = {op: {k.lower(): v for k, v in tests.items()} for op, tests in SAFE_CONDITION.items()}
    assert check_token_grants(grant(condition), "policy") == []


def test_the_algorithms_a_grant_allows_are_read_back():
    assert token_grant_algorithms(grant(SAFE_CONDITION)) == ["RS256"]
    assert token_grant_algorithms(grant({})) == ["ES384", "RS256"]
    assert token_grant_algorithms(grant({}, action="s3:*")) is None


# -- trust policies -------------------------------------------------------------------------------

def trust(principal, condition=None, action="sts:AssumeRole"):
    statement = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::123456789012:role/x", "*"]}])
def test_a_trust_policy_any_principal_can_use_is_refused(principal):
    assert codes(check_trust_policy(trust(principal), "assumeRolePolicy")) == ["trust-policy.anyone"]


def test_any_principal_narrowed_to_the_organisation_is_accepted():
    condition = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}
    assert check_trust_policy(trust("*", condition), "p") == []


def test_any_principal_narrowed_by_a_wildcard_only_condition_is_still_refused():
    condition = {"StringLike": {"aws:PrincipalArn": "*"}}
    assert codes(check_trust_policy(trust({"AWS": "*"}, condition), "p")) == ["trust-policy.anyone"]


def test_another_accounts_root_without_a_condition_is_refused():
    found = check_trust_policy(trust({"AWS": "arn:aws:iam::999999999999:root"}), "p", account_id="123456789012")
    assert codes(found) == ["trust-policy.other-account-root"]


def test_the_roles_own_account_root_is_accepted():
    assert check_trust_policy(trust({"AWS": "123456789012"}), "p", account_id="123456789012") == []


def test_an_account_root_when_the_account_is_not_known_is_a_warning():
    found = check_trust_policy(trust({"AWS": "arn:aws:iam::999999999999:root"}), "p")
    assert [(v.code, v.severity) for v in found] == [("trust-policy.account-root", WARNING)]


def test_not_principal_in_an_allow_is_refused():
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:role/x"}, "Action": "sts:AssumeRole"}]}
    assert codes(check_trust_policy(document, "p")) == ["trust-policy.not-principal"]


def test_service_and_federated_principals_are_not_judged_as_open():
    assert check_trust_policy(trust({"Service": "lambda.amazonaws.com"}), "p") == []
    assert check_trust_policy(trust({"Federated": "arn:aws:iam::123456789012:oidc-provider/x"},
                                    action="sts:AssumeRoleWithWebIdentity"), "p") == []


# -- would STS mint this token? -------------------------------------------------------------------

def request(*audiences, algorithm="RS256", duration=300, tags=None):
    return TokenRequest(tuple(audiences), algorithm, duration, tags or {})


def test_our_token_policy_allows_exactly_what_it_pins():
    policy = token_policy_document([AZURE, "https://api.example.com"], 600, ["RS256", "ES384"])
    assert evaluate_token_request([policy], request(AZURE)).allowed
    assert evaluate_token_request([policy], request("https://api.example.com", algorithm="ES384", duration=600)).allowed


@pytest.mark.parametrize("asked", [
    request("https://other.example.com"), request(AZURE, "https://other.example.com"),
    request(AZURE, algorithm="ES384"), request(AZURE, duration=301),
])
def test_our_token_policy_refuses_anything_else(asked):
    decision = evaluate_token_request([token_policy_document([AZURE])], asked)
    assert not decision.allowed and decision.determinate


def test_the_refusal_names_the_condition_that_refuses():
    decision = evaluate_token_request([token_policy_document(["https://api.example.com"])], request(AZURE))
    assert "ForAllValues:StringEquals" in decision.reason and "sts:IdentityTokenAudience" in decision.reason


def test_for_any_value_lets_an_extra_audience_through():
    condition = {"ForAnyValue:StringEquals": {"sts:IdentityTokenAudience": [AZURE]}}
    assert evaluate_token_request([grant(condition)], request(AZURE, "https://attacker.example.com")).allowed


def test_for_all_values_without_the_null_guard_lets_a_request_without_audience_through():
    condition = {"ForAllValues:StringEquals": {"sts:IdentityTokenAudience": [AZURE]}}
    assert evaluate_token_request([grant(condition)], request()).allowed


def test_an_explicit_deny_wins():
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sts:*", "Resource": "*"}]}
    decision = evaluate_token_request([token_policy_document([AZURE]), deny], request(AZURE))
    assert not decision.allowed and "explicitly denies" in decision.reason


def test_tags_also_need_the_tagging_action():
    untagged = token_policy_document([AZURE])
    assert not evaluate_token_request([untagged], request(AZURE, tags={"team": "x"})).allowed
    tagged = token_policy_document([AZURE], allowed_tag_keys=["team"])
    assert evaluate_token_request([tagged], request(AZURE, tags={"team": "x"})).allowed


def test_the_duration_is_in_the_context_even_when_the_caller_sends_none():
    condition = {**SAFE_CONDITION, "NumericEquals": {"sts:DurationSeconds": 300}}
    assert evaluate_token_request([grant(condition)], request(AZURE)).allowed


def test_the_self_resource_works_and_another_arn_never_matches():
    assert evaluate_token_request([grant(SAFE_CONDITION, resource="arn:aws:sts::123456789012:self")],
                                  TokenRequest((AZURE,), "RS256", account_id="123456789012")).allowed
    assert not evaluate_token_request([grant(SAFE_CONDITION, resource="arn:aws:s3:::bucket")], request(AZURE)).allowed


def test_a_key_the_evaluator_cannot_know_offline_is_indeterminate():
    condition = {**SAFE_CONDITION, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    decision = evaluate_token_request([grant(condition)], request(AZURE))
    assert not decision.allowed and not decision.determinate


def test_the_duration_cap_is_read_back():
    assert duration_cap([token_policy_document([AZURE], 600)]) == 600
    assert duration_cap([grant({})]) is None
