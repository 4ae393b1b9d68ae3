"""The Databricks rules: pure functions, judged by their codes."""


import pytest

from components.relying_parties.databricks import rules
from components.rules import WARNING
from fedctl.testing.mocks import issuer_for_account

ACCOUNT = "0d0c2d1e-8a4f-4b43-9b51-6c0a3f9e2b11"
ISSUER = issuer_for_account("123456789012")
ROLE = "arn:aws:iam::123456789012:role/workloads/jobs-runner"
SSO_ROLE = ("arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
            "AWSReservedSSO_DataEngineer_0123456789abcdef")
BASE = {"issuer": ISSUER, "account_id": ACCOUNT, "subjects": {"jobs-runner": ROLE}}


def codes(found):
    return [v.code for v in found]


def errors(found):
    return [v.code for v in found if v.severity != WARNING]


# -- the one audience rule ----------------------------------------------------------------------------

def test_the_audience_is_the_databricks_account_id_by_default():
    assert rules.databricks_audience({"account_id": ACCOUNT}) == ACCOUNT


def test_an_explicit_audience_wins_over_the_account_id():
    assert rules.databricks_audience({"account_id": ACCOUNT, "audience": "databricks"}) == "databricks"


# -- what is built --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, made", [("dev-jobs", "dev-jobs"), ("Prod_EU-jobs", "prod-eu-jobs"),
                                        ("dev.eu-jobs", "dev-eu-jobs")])
def test_a_policy_id_is_the_credential_name_in_databricks_charset(name, made):
    assert rules.policy_id(name) == made


def test_the_account_token_endpoint_names_the_account():
    assert rules.token_endpoint(account_id=ACCOUNT) == \
        f"https://accounts.cloud.databricks.com/oidc/accounts/{ACCOUNT}/v1/token"


def test_a_workspace_token_endpoint_is_the_workspaces_oidc_path():
    assert rules.token_endpoint(account_id=ACCOUNT, workspace_host="https://dbc-a1b2c3d4-e5f6.cloud.databricks.com/") \
        == "https://dbc-a1b2c3d4-e5f6.cloud.databricks.com/oidc/v1/token"


def test_another_clouds_account_console_gives_its_endpoint():
    assert rules.token_endpoint(account_id=ACCOUNT, accounts_host="accounts.azuredatabricks.net").startswith(
        "https://accounts.azuredatabricks.net/oidc/accounts/")


# -- single values -------------------------------------------------------------------------------------

def test_good_args_pass():
    assert rules.check_databricks_trust_args(BASE) == []


@pytest.mark.parametrize("value", ["0D0C2D1E-8A4F-4B43-9B51-6C0A3F9E2B11", "not-an-id", 12345, ""])
def test_an_account_id_must_be_a_lower_case_uuid(value):
    assert codes(rules.check_account_id(value, "accountId")) == ["databricks.account-id.format"]


@pytest.mark.parametrize("value, code", [
    ("data bricks", "databricks.audience.whitespace"),
    ("databricks-*", "databricks.audience.wildcard"),
    ("", "databricks.audience.type"),
    (["databricks"], "databricks.audience.type"),
    ("a" * 1001, "databricks.audience.length"),
])
def test_an_audience_is_one_exact_value_aws_can_request(value, code):
    assert codes(rules.check_audience(value, "audience")) == [code]


@pytest.mark.parametrize("value", [1234567890123456, "1234567890123456", 1234.0])
def test_a_service_principal_id_is_a_positive_whole_number(value):
    assert rules.check_service_principal_id(value, "servicePrincipalId") == []


@pytest.mark.parametrize("value", [0, -3, "12ab", True, None, 1.5])
def test_anything_else_is_not_a_service_principal_id(value):
    assert codes(rules.check_service_principal_id(value, "servicePrincipalId")) == \
        ["databricks.service-principal-id.format"]


def test_an_application_id_given_as_the_service_principal_id_is_named_as_such():
    [found] = rules.check_service_principal_id("11111111-2222-3333-4444-555555555555", "servicePrincipalId")
    assert found.code == "databricks.service-principal-id.format" and "application ID" in found.rule


def test_a_service_principal_id_pulumi_cannot_carry_exactly_is_refused():
    assert codes(rules.check_service_principal_id(2 ** 53 + 1, "servicePrincipalId")) == \
        ["databricks.service-principal-id.precision"]


def test_the_issuer_must_be_an_aws_account_issuer_without_a_trailing_slash():
    assert codes(rules.check_issuer(ISSUER + "/", "issuer")) == ["aws.issuer.trailing-slash"]


def test_an_unfamiliar_issuer_of_our_own_policies_is_a_warning():
    [found] = rules.check_issuer("https://issuer.example.com", "issuer")
    assert (found.code, found.severity) == ("aws.issuer.unfamiliar", WARNING)


def test_a_wildcard_issuer_is_refused():
    assert "databricks.issuer.wildcard" in codes(rules.check_issuer("https://*.tokens.sts.global.api.aws", "issuer"))


@pytest.mark.parametrize("subject, code", [
    ("arn:aws:iam::123456789012:role/*", "databricks.subject.wildcard"),
    ("arn:aws:iam::123456789012:role/jobs?", "databricks.subject.wildcard"),
    ("arn:aws:sts::123456789012:assumed-role/jobs/session", "databricks.subject.session-arn"),
    ("arn:aws:iam::123456789012:user/jobs", "aws.role-arn.format"),
    (" " + ROLE, "databricks.subject.whitespace"),
])
def test_a_subject_is_one_exact_role_arn(subject, code):
    assert code in codes(rules.check_subject(subject, "subjects.x"))


def test_a_role_with_a_path_is_a_subject():
    assert rules.check_subject(SSO_ROLE, "subjects.x") == []


@pytest.mark.parametrize("claim", ["email", "https://sts.amazonaws.com/", "SUB"])
def test_the_subject_claim_must_be_sub(claim):
    assert codes(rules.check_subject_claim(claim, "subjectClaim")) == ["databricks.subject-claim.not-sub"]


def test_no_subject_claim_means_sub():
    assert rules.check_subject_claim(None, "subjectClaim") == []


@pytest.mark.parametrize("host, code", [
    ("http://dbc-a1b2c3d4-e5f6.cloud.databricks.com", "databricks.workspace-host.scheme"),
    ("https://dbc-a1b2c3d4-e5f6.cloud.databricks.com/oidc", "databricks.workspace-host.path"),
    ("https://accounts.cloud.databricks.com", "databricks.workspace-host.account-console"),
    ("dbc a1", "databricks.workspace-host.type"),
])
def test_a_workspace_host_is_a_bare_https_workspace_url(host, code):
    assert codes(rules.check_workspace_host(host, "workspaceHost")) == [code]


def test_rs256_must_be_allowed_to_a_role_databricks_trusts():
    assert codes(rules.check_rs256_allowed(["ES384"], "signingAlgorithms")) == ["relying-party.algorithm-not-allowed"]


def test_a_role_that_may_also_use_es384_is_warned():
    [found] = rules.check_rs256_allowed(["RS256", "ES384"], "signingAlgorithms")
    assert (found.code, found.severity) == ("relying-party.algorithm-choice", WARNING)


# -- the provider ---------------------------------------------------------------------------------------

def test_a_workspace_level_provider_is_refused():
    assert codes(rules.check_provider_config("https://dbc-a1b2c3d4-e5f6.cloud.databricks.com", None, ACCOUNT,
                                             "accountId")) == ["databricks.provider.workspace-host"]


def test_a_provider_of_another_account_is_refused():
    other = "99999999-8a4f-4b43-9b51-6c0a3f9e2b11"
    assert codes(rules.check_provider_config("https://accounts.cloud.databricks.com", other, ACCOUNT,
                                             "accountId")) == ["databricks.provider.account-mismatch"]


def test_the_account_console_of_the_same_account_passes():
    assert rules.check_provider_config("https://accounts.cloud.databricks.com", ACCOUNT, ACCOUNT, "accountId") == []


# -- the whole args -------------------------------------------------------------------------------------

def test_missing_issuer_account_and_subjects_are_each_named():
    assert sorted(codes(rules.check_databricks_trust_args({}))) == [
        "databricks.account-id.missing", "databricks.issuer.missing", "databricks.subjects.missing"]


def test_paths_are_spelt_as_the_user_wrote_them():
    found = rules.check_databricks_trust_args({**BASE, "account_id": "x"}, "workloads[2].databricks.",
                                              lambda key: {"account_id": "accountId"}.get(key, key))
    assert [v.field for v in found] == ["workloads[2].databricks.accountId"]


def test_twenty_policies_pass_and_twenty_one_are_refused():
    twenty = {f"r{i}": f"arn:aws:iam::123456789012:role/r{i}" for i in range(20)}
    assert rules.check_databricks_trust_args({**BASE, "subjects": twenty}) == []
    twenty_one = {**twenty, "r20": "arn:aws:iam::123456789012:role/r20"}
    assert codes(rules.check_databricks_trust_args({**BASE, "subjects": twenty_one})) == ["databricks.policies.count"]


def test_policies_the_service_principal_already_holds_count_against_the_limit():
    args = {**BASE, "service_principal_id": 1234, "existing_policy_count": 20}
    assert [(v.field, v.code) for v in rules.check_databricks_trust_args(args)] == [
        ("service_principal_id", "databricks.policies.count")]


def test_an_existing_policy_count_needs_an_existing_service_principal():
    assert codes(rules.check_databricks_trust_args({**BASE, "existing_policy_count": 3})) == [
        "databricks.existing-policy-count.without-existing"]


@pytest.mark.parametrize("count, code", [(21, "databricks.existing-policy-count.range"),
                                         ("3", "databricks.existing-policy-count.type")])
def test_an_existing_policy_count_is_a_whole_number_up_to_twenty(count, code):
    args = {**BASE, "service_principal_id": 1234, "existing_policy_count": count}
    assert codes(rules.check_databricks_trust_args(args)) == [code]


def test_a_display_name_with_an_existing_service_principal_is_refused():
    args = {**BASE, "service_principal_id": 1234, "display_name": "x"}
    assert codes(rules.check_databricks_trust_args(args)) == ["databricks.service-principal.existing-conflict"]


def test_a_blank_display_name_is_refused():
    assert codes(rules.check_databricks_trust_args({**BASE, "display_name": " "})) == ["databricks.display-name.empty"]


def test_two_names_that_give_one_policy_id_are_refused():
    subjects = {"Dev-jobs": ROLE, "dev_jobs": SSO_ROLE}
    assert codes(rules.check_databricks_trust_args({**BASE, "subjects": subjects})) == ["databricks.policy-id.duplicate"]


def test_a_name_without_a_usable_character_is_refused():
    assert codes(rules.check_databricks_trust_args({**BASE, "subjects": {"__": ROLE}})) == ["databricks.policy-id.format"]


def test_a_long_policy_id_is_only_a_warning():
    [found] = rules.check_databricks_trust_args({**BASE, "subjects": {"x" * 64: ROLE}})
    assert (found.code, found.severity) == ("databricks.policy-id.long", WARNING)


def test_one_role_twice_is_refused():
    subjects = {"a": ROLE, "b": ROLE}
    assert codes(rules.check_databricks_trust_args({**BASE, "subjects": subjects})) == ["databricks.subject.duplicate"]


def test_subjects_must_be_a_non_empty_map():
    assert codes(rules.check_databricks_trust_args({**BASE, "subjects": {}})) == ["databricks.subjects.empty"]
    assert codes(rules.check_databricks_trust_args({**BASE, "subjects": [ROLE]})) == ["databricks.subjects.type"]


def test_es384_only_algorithms_are_refused_in_the_args():
    assert codes(rules.check_databricks_trust_args({**BASE, "signing_algorithms": ["ES384"]})) == [
        "relying-party.algorithm-not-allowed"]
