"""SnowflakeServiceUserTrust on the mock runtime, and the ``snowflake`` section through the stack config."""

import json
import re
from dataclasses import replace

import pulumi
import pulumi_snowflake
import pytest
from conftest import ROOT, deploy

from components import FederatedRole, SnowflakeServiceUserTrust, ValidationError
from components.relying_parties.snowflake import facts
from components.stack.config import parse_stack_config
from fedctl.preview.engine import ProgramError, run_program
from fedctl.preview.project import load_project
from fedctl.testing.mocks import issuer_for_account

ACCOUNT = "123456789012"
ISSUER = issuer_for_account(ACCOUNT)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/workloads/loader"
BASE = {"account": "MYORG-ANALYTICS", "issuer": ISSUER, "aws_account_id": ACCOUNT, "role_arn": ROLE}
EXPERIMENTS = {"snowflake:experimentalFeaturesEnableds": json.dumps(["USER_ENABLE_DEFAULT_WORKLOAD_IDENTITY"])}


@pytest.fixture
def snowflake_cloud(cloud):
    """The mock runtime with the default Snowflake provider enabling the workload identity experiment."""
    pulumi.runtime.set_all_config(EXPERIMENTS)
    return cloud


def user(args=None, name="loader", opts=None):
    return SnowflakeServiceUserTrust(name, {**BASE, **(args or {})}, opts)


def outputs(component, *names):
    return pulumi.Output.all(*[getattr(component, n) for n in names])


# -- what it registers -----------------------------------------------------------------------------

def test_one_service_user_trusts_the_role_and_the_account_issuer_exactly(snowflake_cloud):
    deploy(lambda: user().user_name)
    registered = snowflake_cloud.named("loader-user")
    assert registered.type == facts.SERVICE_USER_TYPE
    assert registered.inputs["defaultWorkloadIdentity"] == {"aws": {"arn": ROLE, "issuer": ISSUER}}


def test_the_registered_inputs_are_the_sdks_own_types(snowflake_cloud):
    # Rebuild the SDK's own input types from what was registered: a renamed or misplaced field fails here,
    # not at `pulumi up`.
    deploy(lambda: user({"default_role": "LOADER", "default_warehouse": "WH", "default_namespace": "DB.S"}).user_name)
    inputs = dict(snowflake_cloud.named("loader-user").inputs)
    aws = pulumi_snowflake.ServiceUserDefaultWorkloadIdentityAwsArgs(**inputs.pop("defaultWorkloadIdentity")["aws"])
    snake = {re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(): value for key, value in inputs.items()}
    args = pulumi_snowflake.ServiceUserArgs(**snake, default_workload_identity=(
        pulumi_snowflake.ServiceUserDefaultWorkloadIdentityArgs(aws=aws)))
    assert (args.default_workload_identity.aws.arn, args.default_workload_identity.aws.issuer) == (ROLE, ISSUER)
    assert (args.name, args.default_role, args.default_namespace) == ("AWS_LOADER", "LOADER", "DB.S")


def test_the_default_user_name_comes_from_the_component_name(snowflake_cloud):
    name = deploy(lambda: user(name="reports-loader").user_name)
    assert name == "AWS_REPORTS_LOADER" == snowflake_cloud.named("reports-loader-user").inputs["name"]


def test_the_login_defaults_and_comment_reach_the_user(snowflake_cloud):
    deploy(lambda: user({"user_name": "SVC_LOADER", "default_role": "LOADER", "default_warehouse": "LOAD_WH",
                         "default_namespace": "RAW.EVENTS", "comment": "loads events"}).user_name)
    inputs = snowflake_cloud.named("loader-user").inputs
    assert (inputs["name"], inputs["defaultRole"], inputs["defaultWarehouse"], inputs["defaultNamespace"],
            inputs["comment"]) == ("SVC_LOADER", "LOADER", "LOAD_WH", "RAW.EVENTS", "loads events")


def test_the_default_comment_names_the_trusted_role(snowflake_cloud):
    deploy(lambda: user().user_name)
    assert ROLE in snowflake_cloud.named("loader-user").inputs["comment"]


def test_the_user_is_the_components_only_child(snowflake_cloud):
    deploy(lambda: user().user_name)
    component = snowflake_cloud.named("loader")
    assert component.type == "outbound-federation:index:SnowflakeServiceUserTrust"
    assert [r.name for r in snowflake_cloud.children_of(component.urn)] == ["loader-user"]
    assert len(snowflake_cloud.registrations) == 2


# -- outputs ---------------------------------------------------------------------------------------

def test_the_outputs_say_what_the_connector_and_the_role_need(snowflake_cloud):
    audience, parameters, issuer, arn = deploy(lambda: outputs(user(), "audience", "connection_parameters",
                                                               "issuer", "role_arn"))
    assert audience == "snowflakecomputing.com" == SnowflakeServiceUserTrust.AUDIENCE
    assert parameters == {"account": "MYORG-ANALYTICS", "user": "AWS_LOADER", "authenticator": "WORKLOAD_IDENTITY",
                          "workload_identity_provider": "AWS"}
    assert (issuer, arn) == (ISSUER, ROLE)


def test_a_role_pins_the_audience_and_es384_and_the_user_trusts_its_subject(snowflake_cloud):
    def build():
        role = FederatedRole("loader", {"trusted_services": ["lambda.amazonaws.com"],
                                        "audiences": [SnowflakeServiceUserTrust.AUDIENCE],
                                        "signing_algorithms": ["ES384"]})
        trust = user({"role_arn": role.subject})
        return pulumi.Output.all(role.token_policy, role.subject, trust.role_arn)

    policy, subject, trusted = deploy(build)
    condition = json.loads(policy)["Statement"][0]["Condition"]
    assert condition["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"] == ["snowflakecomputing.com"]
    assert condition["StringEquals"]["sts:SigningAlgorithm"] == ["ES384"]
    assert trusted == subject == snowflake_cloud.named("loader-user").inputs["defaultWorkloadIdentity"]["aws"]["arn"]


# -- what it refuses -------------------------------------------------------------------------------

def test_the_global_sts_endpoint_as_issuer_is_refused_before_anything_is_registered(snowflake_cloud):
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: user({"issuer": "https://sts.amazonaws.com"}))
    assert [(v.field, v.code) for v in caught.value.violations] == [("issuer", "snowflake.issuer.sts-endpoint")]
    assert snowflake_cloud.registrations == {}


def test_bad_input_is_refused_naming_every_field(snowflake_cloud):
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: user({"account": "myorg.analytics", "user_name": "loader",
                             "role_arn": f"arn:aws:iam::{ACCOUNT}:role/*"}))
    assert sorted((v.field, v.code) for v in caught.value.violations) == [
        ("account", "snowflake.account.dotted"), ("role_arn", "snowflake.arn.wildcard"),
        ("user_name", "snowflake.user-name.case")]


def test_an_output_role_of_another_account_fails_when_it_resolves(snowflake_cloud):
    with pytest.raises(Exception, match="belongs to account 210987654321"):
        deploy(lambda: user({"role_arn": pulumi.Output.from_input("arn:aws:iam::210987654321:role/loader")}).role_arn)


def test_an_output_issuer_that_is_an_sts_endpoint_fails_when_it_resolves(snowflake_cloud):
    with pytest.raises(Exception, match="is an STS endpoint"):
        deploy(lambda: user({"issuer": pulumi.Output.from_input("https://sts.amazonaws.com")}).issuer)


def test_without_the_providers_workload_identity_experiment_nothing_is_registered(cloud):
    with pytest.raises(ValidationError) as caught:
        deploy(lambda: user())
    assert [(v.field, v.code) for v in caught.value.violations] == [
        ("snowflake:experimentalFeaturesEnableds", "snowflake.provider.experiment-off")]
    assert cloud.registrations == {}


def test_an_explicit_provider_is_the_callers_to_configure(cloud):
    def build():
        provider = pulumi_snowflake.Provider("snowflake", experimental_features_enableds=[
            "USER_ENABLE_DEFAULT_WORKLOAD_IDENTITY"])
        return user(opts=pulumi.ResourceOptions(providers={"snowflake": provider})).user_name

    assert deploy(build) == "AWS_LOADER"
    assert cloud.named("loader-user").provider.split("::")[-1].startswith("snowflake")


def test_a_provider_inherited_from_a_parent_is_the_callers_to_configure(cloud):
    def build():
        provider = pulumi_snowflake.Provider("snowflake")
        parent = pulumi.ComponentResource("example:index:Wrapper", "wrapper", None,
                                          pulumi.ResourceOptions(providers=[provider]))
        return user(opts=pulumi.ResourceOptions(parent=parent)).user_name

    assert deploy(build) == "AWS_LOADER"


# -- through the stack config ----------------------------------------------------------------------

SECTION = {"account": "MYORG-ANALYTICS", "defaultRole": "LOADER"}
WORKLOAD = {"name": "loader", "trustedServices": ["lambda.amazonaws.com"], "signingAlgorithms": ["ES384"],
            "snowflake": SECTION}


def refused(workloads):
    with pytest.raises(ValidationError) as caught:
        parse_stack_config({}, workloads, "dev")
    return sorted((v.field, v.code) for v in caught.value.violations if v.severity == "error")


def test_a_role_not_allowed_es384_is_refused_at_its_config_path():
    rs256 = {k: v for k, v in WORKLOAD.items() if k != "signingAlgorithms"}
    with pytest.raises(ValidationError) as caught:
        parse_stack_config({}, [{"name": "other", "trustedServices": ["ec2.amazonaws.com"], "audiences": ["a"]},
                                rs256], "dev")
    [violation] = caught.value.violations
    assert (violation.field, violation.code) == ("workloads[1].signingAlgorithms", "relying-party.algorithm-not-allowed")
    assert violation.value == ["RS256"]
    assert "does not allow ES384" in violation.rule and "Snowflake" in violation.rule


def test_the_es384_refusal_reaches_the_user_of_the_program():
    project = load_project(ROOT, "dev")
    workloads = [{**WORKLOAD, "signingAlgorithms": ["RS256"]}]
    config = {**project.config, **EXPERIMENTS, "outbound-federation:workloads": json.dumps(workloads)}
    with pytest.raises(ProgramError, match=r"workloads\[0\]\.signingAlgorithms: \['RS256'\] does not allow ES384"):
        run_program(replace(project, config=config))


def test_a_role_allowed_both_algorithms_gets_a_warning_not_an_error():
    spec = parse_stack_config({}, [{**WORKLOAD, "signingAlgorithms": ["RS256", "ES384"]}], "dev")
    assert spec.relying_parties[0].kind == "snowflake"


def test_the_stack_names_the_user_after_the_stack_and_workload():
    [party] = parse_stack_config({}, [WORKLOAD], "pr-7").relying_parties
    assert party.settings["user_name"] == "AWS_PR_7_LOADER"


def test_a_bad_section_is_refused_with_its_config_paths():
    assert refused([{**WORKLOAD, "snowflake": {"account": "https://x.snowflakecomputing.com", "userName": "svc",
                                               "defaultNamespace": "A.B.C"}}]) == [
        ("workloads[0].snowflake.account", "snowflake.account.url"),
        ("workloads[0].snowflake.defaultNamespace", "snowflake.default-namespace.format"),
        ("workloads[0].snowflake.userName", "snowflake.user-name.case"),
    ]


def test_the_account_is_required():
    assert refused([{**WORKLOAD, "snowflake": {"defaultRole": "LOADER"}}]) == [
        ("workloads[0].snowflake.account", "snowflake.args.missing")]


def test_a_misspelt_setting_is_refused():
    assert refused([{**WORKLOAD, "snowflake": {**SECTION, "username": "SVC"}}]) == [
        ("workloads[0].snowflake.username", "config.unknown-setting")]


def test_two_workloads_naming_one_user_are_refused_one_role_per_user():
    second = {**WORKLOAD, "name": "loader-two", "snowflake": {**SECTION, "userName": "SVC"}}
    assert refused([{**WORKLOAD, "snowflake": {**SECTION, "userName": "SVC"}}, second]) == [
        ("workloads[0].snowflake.userName", "snowflake.user.shared")]


def run_stack(workloads, extra_config=EXPERIMENTS):
    project = load_project(ROOT, "dev")
    # The dev stack's own file may enable the experiment: each test says whether it is on.
    config = {key: value for key, value in project.config.items() if key not in EXPERIMENTS}
    config.update({**extra_config, "outbound-federation:workloads": json.dumps(workloads)})
    return run_program(replace(project, config=config))


def test_the_stack_exports_a_small_camel_case_section():
    run = run_stack([WORKLOAD])
    exported = run.outputs["workloads"]["loader"]
    assert exported["snowflake"] == {"audience": "snowflakecomputing.com", "account": "MYORG-ANALYTICS",
                                     "userName": "AWS_DEV_LOADER", "issuer": issuer_for_account(ACCOUNT),
                                     "roleArn": exported["roleArn"]}


def test_the_stacks_role_pins_the_snowflake_audience_and_its_user_trusts_the_role():
    run = run_stack([WORKLOAD])
    [policy] = run.monitor.of_type("aws:iam/rolePolicy:RolePolicy")
    condition = json.loads(policy.inputs["policy"])["Statement"][0]["Condition"]
    assert condition["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"] == ["snowflakecomputing.com"]
    [registered] = run.monitor.of_type(facts.SERVICE_USER_TYPE)
    assert registered.urn.endswith("SnowflakeServiceUserTrust$snowflake:index/serviceUser:ServiceUser::"
                                   "dev-loader-snowflake-user")
    assert registered.inputs["defaultWorkloadIdentity"]["aws"]["arn"] == run.outputs["workloads"]["loader"]["roleArn"]


def test_a_stack_without_the_providers_experiment_stops_at_preview():
    with pytest.raises(ProgramError, match="snowflake:experimentalFeaturesEnableds"):
        run_stack([WORKLOAD], extra_config={})


def test_a_role_capped_below_the_drivers_300_second_token_is_refused_at_preview():
    from components.rules import ValidationError
    from components.stack.config import parse_stack_config

    workload = {"name": "loader", "trustedServices": ["lambda.amazonaws.com"], "signingAlgorithms": ["ES384"],
                "maxDurationSeconds": 120, "snowflake": {"account": "MYORG-ANALYTICS"}}
    with pytest.raises(ValidationError) as caught:
        parse_stack_config({}, [workload], "dev")
    assert [(v.field, v.code) for v in caught.value.violations] == [
        ("workloads[0].maxDurationSeconds", "relying-party.duration-too-short")]


def test_the_rehearsal_requests_what_the_drivers_request_not_the_roles_shorter_cap():
    # A role whose policy is capped at 120 s: STS would refuse the drivers' 300-second request.
    from conftest import ROOT

    from fedctl.preview.engine import run_program
    from fedctl.preview.project import load_project
    from fedctl.preview.rehearsal import INTENDED, rehearse

    project = load_project(ROOT, "dev")
    workloads = [{"name": "loader", "trustedServices": ["lambda.amazonaws.com"], "signingAlgorithms": ["ES384"],
                  "maxDurationSeconds": 300, "snowflake": {"account": "MYORG-ANALYTICS"}}]
    config = {**project.config, "outbound-federation:workloads": json.dumps(workloads)}
    run = run_program(replace(project, config=config))
    policy = run.monitor.of_type("aws:iam/rolePolicy:RolePolicy")[0]
    policy.inputs["policy"] = policy.inputs["policy"].replace('"sts:DurationSeconds": 300', '"sts:DurationSeconds": 120')
    [wrong] = rehearse(run).wrong_cells
    assert wrong.scenario == INTENDED and "sts:DurationSeconds" in wrong.reason
