"""The SaaS preset rules and builders: pure functions, judged by their codes and values."""

from __future__ import annotations

import pytest

from components.relying_parties.saas import rules
from components.rules.facts import AWS_CLAIMS

ACCOUNT = "123456789012"
ISSUER = "https://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/workloads/chat"
ARGS = {"preset": "openai", "issuer": ISSUER, "aws_account_id": ACCOUNT, "subjects": {"chat": ROLE}}


def check(**changes):
    args = {k: v for k, v in {**ARGS, **changes}.items() if v is not None}
    return [v.code for v in rules.check_saas_args(args)]


@pytest.mark.parametrize("preset", ["openai", "anthropic"])
def test_a_preset_with_its_documented_audience_passes(preset):
    assert check(preset=preset) == []


def test_the_presets_audiences_are_the_ones_the_vendors_document():
    assert rules.token_audience({"preset": "openai"}) == "https://api.openai.com/v1"
    assert rules.token_audience({"preset": "anthropic"}) == "https://api.anthropic.com"


def test_an_explicit_audience_overrides_the_presets():
    assert rules.token_audience({"preset": "openai", "audience": "https://api.openai.com/v1/custom"}) \
        == "https://api.openai.com/v1/custom"


def test_an_unknown_preset_is_refused():
    assert check(preset="gemini") == ["saas.preset.unknown"]


def test_the_preset_is_required():
    assert check(preset=None) == ["saas.preset.missing"]


def test_generic_needs_an_audience():
    assert check(preset="generic") == ["saas.audience.missing"]
    assert check(preset="generic", audience="https://api.vendor.example") == []


@pytest.mark.parametrize("audience, code", [
    ("https://api.openai.com/v1 ", "saas.audience.whitespace"), ("https://*.vendor.example", "saas.audience.wildcard"),
    ("https://api.vendor.example/v?", "saas.audience.wildcard"), ("", "saas.audience.length"),
    ("x" * 1001, "saas.audience.length"), (["a"], "saas.audience.type"),
])
def test_an_audience_the_vendor_cannot_compare_exactly_is_refused(audience, code):
    assert code in check(preset="generic", audience=audience)


def test_a_role_of_another_account_is_refused():
    assert check(subjects={"chat": ROLE.replace(ACCOUNT, "210987654321")}) == ["aws.subject.other-account"]


def test_openai_takes_at_most_50_mappings_per_provider():
    roles = {f"w{i}": f"arn:aws:iam::{ACCOUNT}:role/w{i}" for i in range(51)}
    assert check(subjects=roles) == ["saas.mappings.count"]
    assert check(subjects=dict(list(roles.items())[:50])) == []


def test_anthropic_has_no_such_limit_here():
    roles = {f"w{i}": f"arn:aws:iam::{ACCOUNT}:role/w{i}" for i in range(51)}
    assert check(preset="anthropic", subjects=roles) == []


def test_no_subjects_is_refused():
    assert check(subjects={}) == ["saas.subjects.empty"]


# -- what the user pastes -----------------------------------------------------------------------------

def test_the_openai_rule_is_the_exact_sub_and_the_account_through_a_cel_transformation():
    assert rules.mapping_rule("openai", "https://api.openai.com/v1", ACCOUNT, ROLE) == {
        "claims": {"sub": ROLE},
        "attributeTransformations": {"aws_account": 'assertion["https://sts.amazonaws.com/"]["aws_account"]'},
        "attributes": {"aws_account": ACCOUNT}}


def test_the_anthropic_rule_is_the_admin_apis_match_object():
    assert rules.mapping_rule("anthropic", "https://api.anthropic.com", ACCOUNT, ROLE) == {"match": {
        "subject_prefix": ROLE, "audience": "https://api.anthropic.com",
        "condition": 'claims["https://sts.amazonaws.com/"].aws_account == "123456789012"'}}


def test_the_generic_rule_names_every_claim_to_require():
    rule = rules.mapping_rule("generic", "https://api.vendor.example", ACCOUNT, ROLE)
    assert rule == {"claims": {"sub": ROLE, "aud": "https://api.vendor.example"},
                    "nestedClaims": {AWS_CLAIMS: {"aws_account": ACCOUNT}}}


def test_the_manual_step_says_where_and_what():
    step = rules.manual_step("openai", ISSUER, "https://api.openai.com/v1", 2)
    assert "Workload Identity Provider" in step and ISSUER in step and "2 mappings" in step


# -- the rule as the vendor evaluates it ------------------------------------------------------------

def claims(sub=ROLE, account=ACCOUNT, aud="https://api.anthropic.com"):
    return {"sub": sub, "aud": aud, AWS_CLAIMS: {"aws_account": account}}


@pytest.mark.parametrize("preset", ["openai", "anthropic", "generic"])
def test_the_rule_lets_in_its_role_and_no_other(preset):
    audience = "https://api.anthropic.com"
    assert rules.rule_accepts(preset, claims(), ROLE, ACCOUNT, audience)[0]
    assert rules.rule_accepts(preset, claims(sub=ROLE + "-2"), ROLE, ACCOUNT, audience) == (False, "bad_subject")


def test_the_rule_checks_the_nested_account_not_only_the_arn():
    assert rules.rule_accepts("openai", claims(account="210987654321"), ROLE, ACCOUNT, "a") == (False, "bad_aws_account")
    assert rules.rule_accepts("openai", {"sub": ROLE}, ROLE, ACCOUNT, "a") == (False, "bad_aws_account")


def test_anthropics_audience_matches_any_element_of_a_list():
    audience = "https://api.anthropic.com"
    assert rules.rule_accepts("anthropic", claims(aud=["https://other.example", audience]), ROLE, ACCOUNT, audience)[0]
    assert rules.rule_accepts("anthropic", claims(aud="https://other.example"), ROLE, ACCOUNT, audience) \
        == (False, "bad_audience")
