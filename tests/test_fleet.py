"""FederationFleet: one Pulumi Cloud stack per AWS account; its rules, what it registers, its example."""

from __future__ import annotations

import copy
import datetime
import json
import tomllib
from dataclasses import replace

import pulumi
import pulumi_pulumiservice as ps
import pytest
import yaml
from conftest import ROOT, deploy
from hypothesis import given, settings
from hypothesis import strategies as st

from components import FederationFleet, ValidationError
from components.fleet import check_fleet, parse_fleet_config
from components.rules import ERROR, WARNING
from components.rules import cron
from components.rules import fleet as rules
from fedctl.preview.engine import run_program
from fedctl.preview.project import load_project

EXAMPLE = ROOT / "examples" / "fleet"
PROPERTIES = settings(max_examples=150, deadline=None, database=None)


def account(name: str, number: str, **extra) -> dict:
    return {"name": name, "account_id": number, "region": "eu-west-1", "manage": True,
            "deployer_role_arn": f"arn:aws:iam::{number}:role/federation-deployer", **extra}


def fleet(*accounts: dict, **extra) -> dict:
    return {"organization": "acme", "repository": {"repo_url": "https://github.com/acme/outbound-federation"},
            "accounts": list(accounts) or [account("payments", "111111111111")], **extra}


def codes(found) -> list[str]:
    return [v.code for v in found]


def errors(args: dict) -> list[str]:
    return [v.code for v in check_fleet(args) if v.severity == ERROR]


# -- the rules ------------------------------------------------------------------------------------


def test_a_well_formed_fleet_breaks_no_rule():
    assert check_fleet(fleet(account("payments", "111111111111"), account("analytics", "222222222222"))) == []


def test_an_account_listed_twice_is_refused():
    found = check_fleet(fleet(account("payments", "111111111111"), account("payments-2", "111111111111", manage=False)))
    assert codes(found) == ["fleet.account-id.duplicate"]
    assert found[0].field == "accounts[1].account_id"


def test_two_stacks_owning_one_accounts_switch_are_refused():
    found = check_fleet(fleet(account("payments", "111111111111"), account("payments-2", "111111111111")))
    assert "fleet.manage.duplicate" in codes(found)
    assert [v.field for v in found if v.code == "fleet.manage.duplicate"] == ["accounts[1].manage"]


def test_an_account_whose_switch_no_stack_owns_is_a_warning():
    [found] = check_fleet(fleet(account("payments", "111111111111", manage=False)))
    assert (found.code, found.severity) == ("fleet.manage.none", WARNING)


def test_a_deployer_role_of_another_account_is_refused():
    found = check_fleet(fleet(account("payments", "111111111111",
                                      deployer_role_arn="arn:aws:iam::999999999999:role/federation-deployer")))
    assert codes(found) == ["fleet.deployer-role.other-account"]


@pytest.mark.parametrize("arn", ["arn:aws:iam::111111111111:user/deployer", "federation-deployer",
                                 "arn:aws:sts::111111111111:assumed-role/deployer/session"])
def test_a_deployer_that_is_not_an_iam_role_arn_is_refused(arn):
    assert errors(fleet(account("payments", "111111111111", deployer_role_arn=arn))) == ["fleet.deployer-role.format"]


def test_an_identity_center_role_cannot_be_the_deployer():
    arn = "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef"
    assert errors(fleet(account("payments", "111111111111", deployer_role_arn=arn))) == [
        "fleet.deployer-role.identity-center"]


@pytest.mark.parametrize("account_id", [111111111111, "11111111111", "1111111111111", "11111111111a"])
def test_an_account_id_must_be_twelve_digits_as_a_string(account_id):
    args = fleet(account("payments", "111111111111", account_id=account_id))
    assert "fleet.account-id.format" in errors(args)


@pytest.mark.parametrize("name", ["pay ments", "team/payments", "", "a" * 101, "paymënts"])
def test_an_account_name_must_be_a_valid_stack_name(name):
    assert errors(fleet(account(name, "111111111111"))) == ["fleet.stack-name.format"]


def test_a_stack_name_of_a_hundred_characters_is_allowed():
    assert errors(fleet(account("a" * 100, "111111111111"))) == []


def test_account_names_differing_only_in_case_are_one_stack_name():
    found = errors(fleet(account("payments", "111111111111"), account("Payments", "222222222222")))
    assert found == ["fleet.account-name.duplicate"]


@pytest.mark.parametrize("region", ["eu-west-1", "us-gov-west-1", "ap-southeast-5", "il-central-1", "cn-north-1",
                                    "eusc-de-east-1", "mx-central-1"])
def test_aws_region_codes_are_accepted(region):
    assert errors(fleet(account("payments", "111111111111", region=region))) == []


@pytest.mark.parametrize("region", ["eu-west-1a", "global", "aws-global", "EU-WEST-1", "europe", None])
def test_anything_but_a_region_code_is_refused(region):
    assert errors(fleet(account("payments", "111111111111", region=region))) == ["fleet.region.format"]


@pytest.mark.parametrize("schedule, code", [
    ("0 6 * *", "fleet.drift-schedule.fields"),
    ("0 0 6 * * *", "fleet.drift-schedule.fields"),
    ("0 24 * * *", "fleet.drift-schedule.range"),
    ("60 6 * * *", "fleet.drift-schedule.range"),
    ("0 6 0 * *", "fleet.drift-schedule.range"),
    ("0 6 * 13 *", "fleet.drift-schedule.range"),
    ("0 6 * * 7", "fleet.drift-schedule.range"),
    ("0 6 * * 5-1", "fleet.drift-schedule.range"),
    ("*/0 * * * *", "fleet.drift-schedule.step"),
    ("5/10 * * * *", "fleet.drift-schedule.syntax"),
    ("0 6 ? * *", "fleet.drift-schedule.syntax"),
    ("0 6 L * *", "fleet.drift-schedule.syntax"),
    ("@daily", "fleet.drift-schedule.syntax"),
    (360, "fleet.drift-schedule.type"),
])
def test_a_drift_schedule_that_is_not_strict_cron_is_refused(schedule, code):
    assert errors(fleet(drift_schedule=schedule)) == [code]


def test_a_drift_schedule_that_skips_days_is_a_warning():
    [found] = check_fleet(fleet(drift_schedule="0 6 * * MON-FRI"))
    assert (found.code, found.severity) == ("fleet.drift-schedule.infrequent", WARNING)


@pytest.mark.parametrize("key", ["aws:region", "aws:allowedAccountIds", "outbound-federation:account", "workloads"])
def test_config_the_fleet_sets_from_the_account_is_refused(key):
    assert errors(fleet(account("payments", "111111111111", config={key: "x"}))) == ["fleet.config.reserved"]


def test_a_fleet_stack_cannot_reach_other_accounts_through_config():
    assert errors(fleet(account("payments", "111111111111", config={"accounts": []}))) == ["fleet.config.accounts"]


def test_review_stacks_need_a_github_repository():
    args = fleet(review_stacks=True, repository={"repo_url": "https://gitlab.com/acme/outbound-federation"})
    assert errors(args) == ["fleet.review-stacks.not-github"]


def test_a_repository_url_with_credentials_is_refused_without_repeating_them():
    [found] = check_fleet(fleet(repository={"repo_url": "https://bot:s3cret@github.com/acme/outbound-federation"}))
    assert found.code == "fleet.repository.credentials"
    assert "s3cret" not in found.message


@pytest.mark.parametrize("repo_dir", ["/abs", "../elsewhere", "a/../../b", ""])
def test_the_project_folder_must_lie_inside_the_repository(repo_dir):
    args = fleet(repository={"repo_url": "https://github.com/acme/outbound-federation", "repo_dir": repo_dir})
    assert errors(args) == ["fleet.repository.repo-dir"]


@pytest.mark.parametrize("tags, code", [({"pulumi:project": "x"}, "fleet.tag.reserved"),
                                        ({"has space": "x"}, "fleet.tag.name"),
                                        ({"owner": "x" * 257}, "fleet.tag.value")])
def test_stack_tags_follow_pulumi_clouds_rules(tags, code):
    assert errors(fleet(tags=tags)) == [code]


def test_an_unknown_setting_is_named():
    found = check_fleet(fleet(driftSchedule="0 6 * * *"))
    assert codes(found) == ["fleet.unknown-setting"] and found[0].field == "driftSchedule"


def test_a_workload_that_does_not_fit_its_accounts_stack_is_caught_by_the_stacks_own_rules():
    workload = {"name": "production-eu-central-quarterly-finance", "trustedServices": ["lambda.amazonaws.com"],
                "audiences": ["https://api.example.com"]}
    name = "payments-production-eu-central"
    found = check_fleet(fleet(account(name, "111111111111", workloads=[workload])))
    assert codes(found) == ["name.autonamed-too-long"]
    assert found[0].field == "accounts[0].workloads[0].name"


def test_config_errors_name_the_field_as_written_in_the_stack_config():
    values = {"organization": "acme", "repository": {"repoUrl": "https://github.com/acme/outbound-federation"},
              "accounts": [{"name": "payments", "accountId": "111111111111", "region": "eu-west-1",
                            "deployerRoleArn": "arn:aws:iam::111111111111:role/d", "manage": True},
                           {"name": "analytics", "accountId": "111111111111", "region": "eu-west-1",
                            "deployerRoleArn": "arn:aws:iam::111111111111:role/d"}],
              "driftSchedule": "0 25 * * *"}
    with pytest.raises(ValidationError) as caught:
        parse_fleet_config(values)
    assert {(v.field, v.code) for v in caught.value.violations} == {
        ("accounts[1].accountId", "fleet.account-id.duplicate"),
        ("driftSchedule", "fleet.drift-schedule.range"),
    }


# -- an OU's accounts, as `aws organizations list-accounts-for-parent` prints them -----------------

LISTING = [
    {"Id": "444444444444", "Arn": "arn:aws:organizations::999999999999:account/o-abc/444444444444",
     "Email": "data@example.com", "Name": "Data Platform (Prod)", "Status": "ACTIVE", "JoinedMethod": "CREATED"},
    {"Id": "555555555555", "Name": "old-sandbox", "Status": "SUSPENDED"},
    {"Id": "666666666666", "Name": "ml", "State": "ACTIVE"},
]
DEFAULTS = {"deployer_role_name": "federation-deployer", "region": "eu-central-1"}


def test_each_active_account_of_an_ou_listing_becomes_an_account_of_the_fleet():
    accounts = rules.fleet_accounts({"aws_organization_accounts": LISTING, "aws_organization_defaults": DEFAULTS})
    assert [(a["name"], a["account_id"], a["deployer_role_arn"], a["region"], a["manage"]) for a in accounts] == [
        ("data-platform-prod", "444444444444", "arn:aws:iam::444444444444:role/federation-deployer", "eu-central-1",
         True),
        ("ml", "666666666666", "arn:aws:iam::666666666666:role/federation-deployer", "eu-central-1", True),
    ]


def test_a_suspended_account_of_an_ou_gets_no_stack_and_a_warning():
    found = check_fleet({**fleet(), "aws_organization_accounts": LISTING, "aws_organization_defaults": DEFAULTS})
    assert [(v.field, v.code, v.severity) for v in found] == [
        ("aws_organization_accounts[1].Status", "fleet.aws-organization.inactive", WARNING)]


def test_an_ou_listing_needs_the_defaults_it_lacks():
    found = errors({**fleet(), "aws_organization_accounts": LISTING})
    assert found == ["fleet.aws-organization.defaults"]


def test_an_ou_account_also_listed_by_hand_is_named_where_the_listing_has_it():
    args = {**fleet(account("data", "444444444444")), "aws_organization_accounts": LISTING[:1],
            "aws_organization_defaults": {**DEFAULTS, "manage": False}}
    [found] = [v for v in check_fleet(args) if v.severity == ERROR]
    assert (found.field, found.code) == ("aws_organization_accounts[0].Id", "fleet.account-id.duplicate")


# -- the cron reader: properties -------------------------------------------------------------------

def field_items(low: int, high: int):
    """Strategies for one valid cron list item of a field, with the values it stands for."""
    value = st.integers(low, high)
    single = value.map(lambda v: (str(v), {v}))
    span = st.tuples(value, value).map(sorted).map(lambda ab: (f"{ab[0]}-{ab[1]}", set(range(ab[0], ab[1] + 1))))
    stepped = st.tuples(value, value, st.integers(1, high - low + 1)).map(
        lambda t: (sorted(t[:2]), t[2])).map(
        lambda t: (f"{t[0][0]}-{t[0][1]}/{t[1]}", set(range(t[0][0], t[0][1] + 1, t[1]))))
    star = st.integers(1, high - low + 1).map(lambda n: ("*" if n == 1 else f"*/{n}", set(range(low, high + 1, n))))
    return st.one_of(single, span, stepped, star)


@st.composite
def expressions(draw):
    """A valid five-field expression and the value sets each field stands for."""
    parts, sets = [], []
    for _, low, high, _ in cron.FIELDS:
        items = draw(st.lists(field_items(low, high), min_size=1, max_size=3))
        parts.append(",".join(text for text, _ in items))
        sets.append(set().union(*(values for _, values in items)))
    return " ".join(parts), sets


@PROPERTIES
@given(expressions())
def test_every_strict_cron_expression_is_accepted_and_read_as_cron_means_it(drawn):
    expression, expected = drawn
    assert cron.check_cron(expression, "s", code="c") == []
    schedule = cron.parse(expression)
    assert [set(s) for s in (schedule.minutes, schedule.hours, schedule.days_of_month, schedule.months,
                             schedule.days_of_week)] == expected


@PROPERTIES
@given(expressions(), st.integers(0, 4), st.data())
def test_a_value_outside_its_fields_range_is_always_refused_as_out_of_range(drawn, index, data):
    _, low, high, _ = cron.FIELDS[index]
    bad = data.draw(st.one_of(st.integers(high + 1, high + 100), st.integers(0, low - 1) if low else st.nothing()))
    parts = drawn[0].split()
    parts[index] = str(bad)
    assert codes(cron.check_cron(" ".join(parts), "s", code="c")) == ["c.range"]


@PROPERTIES
@given(expressions(), st.integers(1, 8).filter(lambda n: n != 5))
def test_any_number_of_fields_but_five_is_refused(drawn, count):
    parts = (drawn[0].split() * 2)[:count]
    assert codes(cron.check_cron(" ".join(parts), "s", code="c")) == ["c.fields"]


DAYS = [datetime.date(2024, 1, 1) + datetime.timedelta(days=n) for n in range(8 * 366)]


@PROPERTIES
@given(expressions())
def test_fires_daily_is_true_exactly_when_every_day_of_eight_years_matches(drawn):
    schedule = cron.parse(drawn[0])
    every_day = all(schedule.matches_day(day.day, day.month, day.isoweekday() % 7) for day in DAYS)
    assert cron.fires_daily(schedule) == every_day


@pytest.mark.parametrize("expression, daily", [("0 6 * * *", True), ("0 6 * * 1-5", False), ("0 6 1-31 * *", True),
                                               ("0 6 1-30 * *", False), ("0 6 1 * 0-6", True),
                                               ("0 6 * 1-11 *", False), ("*/30 */2 * * *", True)])
def test_what_runs_every_day(expression, daily):
    assert cron.fires_daily(cron.parse(expression)) is daily


# -- the component on the mock runtime -------------------------------------------------------------

PARTS = {
    "stack": "pulumiservice:index:Stack",
    "environment": "pulumiservice:index:Environment",
    "config": "pulumiservice:api/stacks:Config",
    "deployment-settings": "pulumiservice:index:DeploymentSettings",
    "drift-schedule": "pulumiservice:index:DriftSchedule",
    "tags": "pulumiservice:index:StackTags",
}
WORKLOAD = {"name": "exporter", "trustedServices": ["lambda.amazonaws.com"], "audiences": ["https://api.example.com"]}


def build(args: dict, name: str = "org") -> FederationFleet:
    built = {}

    def make():
        built["fleet"] = FederationFleet(name, args)
        f = built["fleet"]
        return pulumi.Output.all(f.stacks, f.stack_urls, f.environments, f.deployer_trust_policies)

    built["outputs"] = deploy(make)
    return built


def test_each_account_gets_its_stack_environment_config_settings_drift_schedule_and_tags(cloud):
    build(fleet(account("payments", "111111111111"), account("analytics", "222222222222")))
    [component] = cloud.of_type("outbound-federation:index:FederationFleet")
    children = {(r.name, r.type) for r in cloud.children_of(component.urn)}
    assert children == {(f"org-{acct}-{part}", token) for acct in ("payments", "analytics")
                        for part, token in PARTS.items()}


def test_a_stack_is_never_deleted_while_it_holds_resources(cloud):
    build(fleet())
    assert cloud.named("org-payments-stack").inputs["forceDestroy"] is False


def test_an_account_taken_out_of_the_fleet_keeps_its_config_and_deployment_settings(cloud):
    build(fleet())
    kept = {part for part in PARTS if cloud.named(f"org-payments-{part}").retain_on_delete}
    assert kept == {"environment", "config", "deployment-settings"}


def test_deployments_reach_the_account_through_its_deployer_role_with_oidc_and_no_secret(cloud):
    build(fleet())
    operation = cloud.named("org-payments-deployment-settings").inputs["operationContext"]
    assert operation["oidc"] == {"aws": {"roleARN": "arn:aws:iam::111111111111:role/federation-deployer",
                                         "sessionName": "pulumi-payments", "duration": "1h0m0s"}}
    assert operation["environmentVariables"] == {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert "preRunCommands" not in operation
    assert "gitAuth" not in cloud.named("org-payments-deployment-settings").inputs["sourceContext"]["git"]


def test_deployments_run_the_project_from_the_repository_branch_and_folder(cloud):
    build(fleet(repository={"repo_url": "https://github.com/acme/infra", "branch": "release", "repo_dir": "federation"}))
    settings_ = cloud.named("org-payments-deployment-settings").inputs
    assert settings_["sourceContext"] == {"git": {"repoUrl": "https://github.com/acme/infra", "branch": "release",
                                                  "repoDir": "federation"}}
    assert (settings_["organization"], settings_["project"], settings_["stack"]) == (
        "acme", "outbound-federation", "payments")
    assert "vcs" not in settings_


def test_the_stacks_config_is_its_esc_environment_bound_as_service_managed_config(cloud):
    build(fleet(account("payments", "111111111111", workloads=[WORKLOAD],
                        config={"azure-native:tenantId": "t", "note": "n"})))
    environment = cloud.named("org-payments-environment")
    config = cloud.named("org-payments-config")
    assert (environment.inputs["project"], environment.inputs["name"]) == ("outbound-federation", "payments")
    assert config.inputs == {"orgName": "acme", "projectName": "outbound-federation", "stackName": "payments",
                             "environment": "outbound-federation/payments"}
    assert {environment.urn, cloud.named("org-payments-stack").urn} <= set(config.dependencies)
    document = yaml.safe_load(environment.inputs["yaml"].text)
    assert document == {"values": {"pulumiConfig": {
        "azure-native:tenantId": "t", "outbound-federation:note": "n", "aws:region": "eu-west-1",
        "aws:allowedAccountIds": ["111111111111"], "outbound-federation:account": {"manage": True},
        "outbound-federation:workloads": [WORKLOAD]}}}


def test_drift_is_checked_daily_and_reported_not_reverted_by_default(cloud):
    build(fleet())
    drift = cloud.named("org-payments-drift-schedule")
    assert (drift.inputs["scheduleCron"], drift.inputs["autoRemediate"]) == ("0 6 * * *", False)
    assert cloud.named("org-payments-deployment-settings").urn in drift.dependencies


def test_auto_remediation_and_the_schedule_are_the_users_choice(cloud):
    build(fleet(drift_schedule="30 */6 * * *", auto_remediate=True))
    drift = cloud.named("org-payments-drift-schedule").inputs
    assert (drift["scheduleCron"], drift["autoRemediate"]) == ("30 */6 * * *", True)


def test_review_stacks_preview_pull_requests_through_github_and_never_deploy_merges(cloud):
    build(fleet(review_stacks=True))
    inputs = cloud.named("org-payments-deployment-settings").inputs
    assert inputs["vcs"] == {"provider": "github", "repository": "acme/outbound-federation",
                             "previewPullRequests": True, "deployCommits": False, "pullRequestTemplate": False}
    assert "repoUrl" not in inputs["sourceContext"]["git"]


def test_every_stack_is_tagged_with_the_fleet_and_its_account(cloud):
    build(fleet(tags={"owner": "platform"}))
    assert cloud.named("org-payments-tags").inputs["tags"] == {"owner": "platform", "fleet": "org",
                                                               "aws-account-id": "111111111111"}


def test_the_outputs_name_each_accounts_stack_page_and_environment(cloud):
    stacks, urls, environments, _ = build(fleet())["outputs"]
    assert stacks == {"payments": "acme/outbound-federation/payments"}
    assert urls == {"payments": "https://app.pulumi.com/acme/outbound-federation/payments"}
    assert environments == {"payments": "outbound-federation/payments"}


def test_the_deployer_trust_policy_admits_this_stacks_deployments_only(cloud):
    *_, policies = build(fleet())["outputs"]
    [statement] = json.loads(policies["payments"])["Statement"]
    assert statement["Principal"] == {"Federated": "arn:aws:iam::111111111111:oidc-provider/api.pulumi.com/oidc"}
    assert statement["Condition"] == {
        "StringEquals": {"api.pulumi.com/oidc:aud": "acme"},
        "StringLike": {"api.pulumi.com/oidc:sub":
                       "pulumi:deploy:org:acme:project:outbound-federation:stack:payments:operation:*:scope:write"}}


def test_ou_accounts_get_their_stacks_too(cloud):
    build({**fleet(), "aws_organization_accounts": LISTING, "aws_organization_defaults": DEFAULTS})
    assert sorted(r.name for r in cloud.of_type(PARTS["stack"])) == [
        "org-data-platform-prod-stack", "org-ml-stack", "org-payments-stack"]


def test_a_broken_fleet_registers_nothing(cloud):
    with pytest.raises(ValidationError) as caught:
        build(fleet(account("payments", "111111111111"), account("payments-2", "111111111111")))
    assert "fleet.manage.duplicate" in caught.value.codes
    assert not cloud.registrations


# -- what we send is what the pulumi-pulumiservice SDK takes ----------------------------------------

ARGS = {
    PARTS["stack"]: ps.StackArgs, PARTS["environment"]: ps.EnvironmentArgs,
    PARTS["config"]: ps.api.stacks.ConfigArgs, PARTS["deployment-settings"]: ps.DeploymentSettingsArgs,
    PARTS["drift-schedule"]: ps.DriftScheduleArgs, PARTS["tags"]: ps.StackTagsArgs,
}


def strays(value, args_type, where: str) -> list[str]:
    """Every key of ``value`` that ``args_type`` (an SDK Args class) does not have, recursively,
    and every required argument missing."""
    import inspect

    names = pulumi._types.input_type_py_to_pulumi_names(args_type)
    wire_to_py = {wire: py for py, wire in names.items()}
    problems = [f"{where}.{key}" for key in value if key not in wire_to_py]
    signature = inspect.signature(args_type.__init__)
    problems += [f"{where}.{names[p.name]} (required)" for p in signature.parameters.values()
                 if p.default is inspect.Parameter.empty and p.name != "__self__" and names.get(p.name) not in value]
    types = pulumi._types.input_type_types(args_type)  # by wire name, Optional and Input unwrapped
    for key, item in value.items():
        nested = types.get(key)
        if isinstance(nested, type) and pulumi._types.is_input_type(nested) and isinstance(item, dict):
            problems += strays(item, nested, f"{where}.{key}")
    return problems


def test_every_input_we_send_is_an_argument_of_the_sdks_own_args_type(cloud):
    build(fleet(account("payments", "111111111111", workloads=[WORKLOAD]), review_stacks=True, tags={"a": "b"}))
    sent = [r for r in cloud.registrations.values() if r.type.startswith("pulumiservice:")]
    assert {r.type for r in sent} == set(ARGS)
    problems = [p for r in sent for p in strays(r.inputs, ARGS[r.type], r.name)]
    assert problems == []


def test_the_type_check_catches_a_misspelt_nested_argument():
    assert strays({"organization": "a", "project": "p", "stack": "s",
                   "operationContext": {"oidc": {"aws": {"roleArn": "x", "sessionName": "s"}}}},
                  ps.DeploymentSettingsArgs, "settings") == [
        "settings.operationContext.oidc.aws.roleArn", "settings.operationContext.oidc.aws.roleARN (required)"]


# -- the example --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_run():
    return run_program(load_project(EXAMPLE, "platform"))


def test_the_example_previews_with_the_fedctl_cli(capsys):
    from fedctl.cli import main

    assert main(["preview", "--cwd", str(EXAMPLE), "--stack", "platform", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "+ pulumiservice:DriftSchedule  fleet-sandbox-drift-schedule" in out


def test_the_example_makes_a_stack_for_each_of_its_three_accounts(example_run):
    assert example_run.outputs["stacks"] == {name: f"acme/outbound-federation/{name}"
                                             for name in ("payments", "analytics", "sandbox")}


def test_each_accounts_environment_is_config_its_stack_previews_with(example_run, tmp_path):
    """The federation program itself, run for the payments stack with exactly what the fleet wrote to ESC."""
    [environment] = [r for r in example_run.monitor.of_type(PARTS["environment"]) if r.inputs["name"] == "payments"]
    config = yaml.safe_load(environment.inputs["yaml"].text)["values"]["pulumiConfig"]
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "outbound-federation", "main": str(ROOT),
                                                          "runtime": "python"}))
    (tmp_path / "Pulumi.payments.yaml").write_text(yaml.safe_dump({"config": config}))
    run = run_program(load_project(tmp_path, "payments"))
    [enablement] = run.monitor.of_type("aws:iam/outboundWebIdentityFederation:OutboundWebIdentityFederation")
    assert enablement.protect
    assert [r.name for r in run.monitor.of_type("aws:iam/role:Role")] == ["payments-settlement-role"]


# -- packaging ------------------------------------------------------------------------------------


def test_the_fleet_extra_pins_the_pulumi_cloud_provider_and_provision_does_not_need_it():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["dynamic"][
        "optional-dependencies"]
    assert extras["fleet"] == {"file": ["requirements-fleet.txt"]}
    assert "requirements-fleet.txt" not in extras["provision"]["file"]
    pins = [line for line in (ROOT / "requirements-fleet.txt").read_text().splitlines() if line and line[0] != "#"]
    assert pins == ["pulumi-pulumiservice==1.5.0"]
    assert "-r requirements-fleet.txt" in (ROOT / "requirements.txt").read_text().splitlines()
