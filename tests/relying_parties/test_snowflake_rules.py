"""The Snowflake kind's pure rules: the audience, user names, the account, the issuer, the ARN, one role per user."""

import pytest

from components.relying_parties import KINDS
from components.relying_parties.snowflake import audits
from components.relying_parties.snowflake import rules as snowflake
from components.relying_parties.base import AuditedResource
from fedctl.testing.mocks import issuer_for_account

ACCOUNT = "123456789012"
ISSUER = issuer_for_account(ACCOUNT)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/workloads/loader"
BASE = {"account": "MYORG-ANALYTICS", "user_name": "AWS_LOADER", "issuer": ISSUER, "role_arn": ROLE,
        "aws_account_id": ACCOUNT}
SERVICE_USER = "snowflake:index/serviceUser:ServiceUser"


def codes(violations):
    return [v.code for v in violations]


def errors(violations):
    return [v.code for v in violations if v.severity == "error"]


# -- the audience ----------------------------------------------------------------------------------

def test_the_audience_is_what_the_drivers_request_whatever_the_settings():
    assert snowflake.snowflake_audience({}) == snowflake.snowflake_audience(BASE) == "snowflakecomputing.com"


def test_the_kind_accepts_es384_only():
    assert KINDS.get("snowflake").accepted_algorithms == ("ES384",)


# -- user names ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["AWS_LOADER", "_SVC", "LOADER$2", "A" * 255])
def test_plain_upper_case_user_names_pass(name):
    assert snowflake.check_user_name(name, "userName") == []


@pytest.mark.parametrize("name, code", [
    ("aws_loader", "snowflake.user-name.case"),
    ("Aws_Loader", "snowflake.user-name.case"),
    ("AWS-LOADER", "snowflake.user-name.charset"),
    ("AWS.LOADER", "snowflake.user-name.charset"),
    ('"AWS"', "snowflake.user-name.charset"),
    ("1LOADER", "snowflake.user-name.charset"),
    ("", "snowflake.user-name.length"),
    ("A" * 256, "snowflake.user-name.length"),
    (12, "snowflake.user-name.type"),
])
def test_bad_user_names_are_refused(name, code):
    assert codes(snowflake.check_user_name(name, "userName")) == [code]


def test_a_lower_case_name_is_refused_with_its_upper_case_spelling():
    [violation] = snowflake.check_user_name("aws_loader", "userName")
    assert "'AWS_LOADER'" in violation.rule


@pytest.mark.parametrize("stack, workload", [("dev", "loader"), ("pr-123", "reports-exporter"), ("a.b", "x")])
def test_default_user_names_are_valid(stack, workload):
    name = snowflake.default_user_name(stack, workload)
    assert snowflake.check_user_name(name, "userName") == [] and name.startswith("AWS_")


def test_default_user_names_differ_per_stack():
    assert snowflake.default_user_name("dev", "loader") != snowflake.default_user_name("prod", "loader")


# -- the account -----------------------------------------------------------------------------------

@pytest.mark.parametrize("account", ["MYORG-ANALYTICS", "myorg-analytics_eu", "ORG1-MY-ACCOUNT"])
def test_org_account_identifiers_pass(account):
    assert snowflake.check_account(account, "account") == []


@pytest.mark.parametrize("account, code", [
    ("https://myorg-analytics.snowflakecomputing.com", "snowflake.account.url"),
    ("myorg-analytics.snowflakecomputing.com", "snowflake.account.url"),
    ("MYORG.ANALYTICS", "snowflake.account.dotted"),
    ("xy12345.us-east-1", "snowflake.account.dotted"),
    ("xy12345", "snowflake.account.format"),
    ("MYORG-", "snowflake.account.format"),
    ("", "snowflake.account.length"),
])
def test_other_account_forms_are_refused(account, code):
    assert codes(snowflake.check_account(account, "account")) == [code]


# -- the issuer ------------------------------------------------------------------------------------

def test_the_account_issuer_passes():
    assert snowflake.check_issuer(ISSUER, "issuer", ROLE) == []


@pytest.mark.parametrize("issuer", ["https://sts.amazonaws.com", "https://sts.amazonaws.com/",
                                    "https://sts.eu-west-1.amazonaws.com", "https://sts.cn-north-1.amazonaws.com.cn"])
def test_an_sts_endpoint_is_refused(issuer):
    assert codes(snowflake.check_issuer(issuer, "issuer", ROLE)) == ["snowflake.issuer.sts-endpoint"]


def test_an_sts_endpoint_is_refused_even_without_a_known_role():
    assert errors(snowflake.check_issuer("https://sts.amazonaws.com", "issuer")) == ["snowflake.issuer.sts-endpoint"]


def test_another_issuer_for_a_commercial_role_is_an_error():
    assert errors(snowflake.check_issuer("https://token.actions.githubusercontent.com", "issuer", ROLE)) == [
        "snowflake.issuer.not-account-issuer"]


def test_an_unfamiliar_issuer_for_another_partition_is_only_a_warning():
    found = snowflake.check_issuer("https://example.tokens.sts.amazonaws-us-gov.example", "issuer",
                                   "arn:aws-us-gov:iam::123456789012:role/r")
    assert codes(found) == ["snowflake.issuer.unfamiliar"] and errors(found) == []


def test_a_commercial_issuer_for_a_role_of_another_partition_is_a_warning():
    found = snowflake.check_issuer(ISSUER, "issuer", "arn:aws-cn:iam::123456789012:role/r")
    assert codes(found) == ["snowflake.issuer.partition"] and errors(found) == []


def test_the_issuers_shape_rules_still_apply():
    assert codes(snowflake.check_issuer(ISSUER + "/", "issuer", ROLE)) == ["aws.issuer.trailing-slash"]


def test_a_missing_issuer_is_refused():
    assert codes(snowflake.check_issuer("", "issuer")) == ["snowflake.issuer.missing"]


# -- the role ARN ----------------------------------------------------------------------------------

@pytest.mark.parametrize("arn", [ROLE, f"arn:aws:iam::{ACCOUNT}:role/r",
                                 f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_X_0123"])
def test_role_arns_with_or_without_a_path_pass(arn):
    assert snowflake.check_role_arn(arn, "roleArn", ACCOUNT) == []


@pytest.mark.parametrize("arn, code", [
    (f"arn:aws:iam::{ACCOUNT}:role/*", "snowflake.arn.wildcard"),
    (f"arn:aws:iam::{ACCOUNT}:role/load?r", "snowflake.arn.wildcard"),
    ("", "snowflake.arn.empty"),
    ("   ", "snowflake.arn.empty"),
    (None, "snowflake.arn.empty"),
    (f"arn:aws:sts::{ACCOUNT}:assumed-role/loader/session", "snowflake.arn.session"),
    (f"arn:aws:iam::{ACCOUNT}:user/loader", "snowflake.arn.not-role"),
    (f"arn:aws:iam::{ACCOUNT}:policy/loader", "snowflake.arn.format"),
    (f"arn:aws:iam::{ACCOUNT}:role/{'n' * 65}", "snowflake.arn.name-length"),
    ("arn:aws:iam::210987654321:role/loader", "snowflake.arn.other-account"),
])
def test_untrustable_arns_are_refused(arn, code):
    assert codes(snowflake.check_role_arn(arn, "roleArn", ACCOUNT)) == [code]


# -- the whole section -----------------------------------------------------------------------------

def test_valid_args_pass():
    assert snowflake.check_snowflake_user_args(BASE) == []


def test_errors_name_the_field_as_the_user_wrote_it():
    found = snowflake.check_snowflake_user_args({**BASE, "user_name": "loader", "default_role": "A-B"},
                                                "workloads[3].snowflake.", lambda key: "".join(
                                                    p.title() if i else p for i, p in enumerate(key.split("_"))))
    assert sorted((v.field, v.code) for v in found) == [
        ("workloads[3].snowflake.defaultRole", "snowflake.default-role.format"),
        ("workloads[3].snowflake.userName", "snowflake.user-name.case"),
    ]


@pytest.mark.parametrize("missing", ["account", "user_name", "issuer", "role_arn"])
def test_each_required_setting_is_required(missing):
    args = {k: v for k, v in BASE.items() if k != missing}
    assert [(v.field, v.code) for v in snowflake.check_snowflake_user_args(args)] == [
        (missing, "snowflake.args.missing")]


def test_the_issuer_is_judged_against_the_roles_partition():
    found = snowflake.check_snowflake_user_args({**BASE, "issuer": "https://issuer.example.com"})
    assert codes(found) == ["snowflake.issuer.not-account-issuer"]


def test_one_user_for_two_roles_is_refused_on_the_user_name():
    found = snowflake.check_snowflake_user_args(
        {k: v for k, v in BASE.items() if k != "role_arn"} | {"subjects": {"dev-a": ROLE, "dev-b": ROLE + "2"}},
        "workloads[0].snowflake.", str)
    assert [(v.field, v.code) for v in found] == [("workloads[0].snowflake.user_name", "snowflake.user.shared")]


def test_output_values_are_left_for_later():
    class Unknown:
        def apply(self, *_):
            return self

        def is_known(self):
            return False

    args = {**BASE, "issuer": Unknown(), "role_arn": Unknown(), "user_name": Unknown(), "aws_account_id": Unknown()}
    assert snowflake.check_snowflake_user_args(args) == []


@pytest.mark.parametrize("namespace, code", [("ANALYTICS", None), ("ANALYTICS.RAW", None),
                                             ("A.B.C", "snowflake.default-namespace.format"),
                                             ("A-B", "snowflake.default-namespace.format")])
def test_default_namespace_is_a_database_or_schema(namespace, code):
    assert codes(snowflake.check_default_namespace(namespace, "defaultNamespace")) == ([code] if code else [])


def test_a_lower_case_default_role_is_only_a_warning():
    found = snowflake.check_default_role("loader", "defaultRole")
    assert codes(found) == ["snowflake.default-role.case"] and errors(found) == []


def test_the_provider_must_enable_the_workload_identity_experiment():
    assert snowflake.check_provider_experiments(["USER_ENABLE_DEFAULT_WORKLOAD_IDENTITY"], "x") == []
    for missing in (None, [], ["GRANTS_SHOW_CACHING"]):
        assert codes(snowflake.check_provider_experiments(missing, "x")) == ["snowflake.provider.experiment-off"]


# -- what the connector gets -----------------------------------------------------------------------

def test_the_connection_parameters_name_the_workload_identity_authenticator_and_no_secret():
    assert snowflake.connection_parameters("MYORG-ANALYTICS", "AWS_LOADER") == {
        "account": "MYORG-ANALYTICS", "user": "AWS_LOADER", "authenticator": "WORKLOAD_IDENTITY",
        "workload_identity_provider": "AWS"}
    assert snowflake.connector_environment() == {"SNOWFLAKE_ENABLE_AWS_WIF_OUTBOUND_TOKEN": "true"}


# -- the audits of hand-written users (pure; the pack process is tested in test_snowflake_review) ------

def user(arn=ROLE, issuer=ISSUER, type_=SERVICE_USER):
    aws = {key: value for key, value in (("arn", arn), ("issuer", issuer)) if value is not None}
    return AuditedResource(type_, "svc", {"name": "SVC", "defaultWorkloadIdentity": {"aws": aws}})


def test_an_exact_user_passes_the_audit():
    assert audits.user_violations(user(), {}) == []


@pytest.mark.parametrize("resource, code", [
    (user(issuer="https://sts.amazonaws.com"), "snowflake.issuer.sts-endpoint"),
    (user(arn=f"arn:aws:iam::{ACCOUNT}:role/*"), "snowflake.arn.wildcard"),
    (user(arn=""), "snowflake.arn.empty"),
    (user(issuer="https://sts.amazonaws.com", type_="snowflake:index/legacyServiceUser:LegacyServiceUser"),
     "snowflake.issuer.sts-endpoint"),
])
def test_the_audit_refuses_what_snowflake_cannot_match(resource, code):
    assert errors(audits.user_violations(resource, {})) == [code]


def test_a_user_without_an_issuer_is_the_get_caller_identity_path_and_judged_on_its_arn_only():
    assert audits.user_violations(user(issuer=None), {}) == []
    assert errors(audits.user_violations(user(arn="", issuer=None), {})) == ["snowflake.arn.empty"]


def test_users_with_another_identity_or_none_are_not_judged():
    azure = AuditedResource(SERVICE_USER, "a", {"defaultWorkloadIdentity": {"azure": {"issuer": "x", "subject": "y"}}})
    assert audits.user_violations(azure, {}) == []
    assert audits.user_violations(AuditedResource(SERVICE_USER, "b", {"name": "B"}), {}) == []
