"""Snowflake in the review tooling: the policy pack (its own process), the plan, the graph and the rehearsal."""

import json
from dataclasses import replace

import pytest
from conftest import ROOT

from components.relying_parties.snowflake import facts
from components.relying_parties.snowflake.review import snowflake_trusts
from fedctl.preview.analyzer import PolicyPackServer
from fedctl.preview.engine import run_program
from fedctl.preview.graph import build_trust_graph
from fedctl.preview.project import load_project
from fedctl.preview.rehearsal import ACCEPT, INTENDED, REJECT, SCENARIOS, rehearse
from fedctl.preview.report import build_plan
from fedctl.preview.review import Review
from fedctl.testing.issuer import LocalIssuer
from fedctl.testing.mocks import Registration

ACCOUNT = "123456789012"
ISSUER = "https://a1d2b0fd-1177-4468-9351-2fe0a0b0c723.tokens.sts.global.api.aws"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/workloads/loader"
EXPERIMENTS = {"snowflake:experimentalFeaturesEnableds": json.dumps(["USER_ENABLE_DEFAULT_WORKLOAD_IDENTITY"])}
WORKLOAD = {"name": "loader", "trustedServices": ["lambda.amazonaws.com"], "signingAlgorithms": ["ES384"],
            "snowflake": {"account": "MYORG-ANALYTICS", "defaultRole": "LOADER"}}
NEIGHBOUR = {"name": "reporter", "trustedServices": ["lambda.amazonaws.com"], "audiences": ["https://api.example.com"]}
PARTY = "Snowflake service user dev-loader-snowflake-user"


def resource(type_, name, inputs, outputs=None):
    return Registration(urn=f"urn:pulumi:dev::p::{type_}::{name}", type=type_, name=name, custom=True, parent="",
                        inputs=inputs, outputs=outputs or inputs)


def service_user(name="svc", arn=ROLE_ARN, issuer=ISSUER, type_=facts.SERVICE_USER_TYPE):
    aws = {key: value for key, value in (("arn", arn), ("issuer", issuer)) if value is not None}
    return resource(type_, name, {"name": name.upper(), "defaultWorkloadIdentity": {"aws": aws}})


def run_stack(workloads):
    project = load_project(ROOT, "dev")
    config = {**project.config, **EXPERIMENTS, "outbound-federation:workloads": json.dumps(workloads)}
    return run_program(replace(project, config=config))


@pytest.fixture(scope="module")
def run():
    return run_stack([WORKLOAD, NEIGHBOUR])


# -- the policy pack, run as its own process -----------------------------------------------------------

@pytest.fixture(scope="module")
def pack():
    with PolicyPackServer(ROOT / "policy", project="p", stack="dev") as server:
        yield server


@pytest.fixture(autouse=True)
def default_config(request):
    if "pack" in request.fixturenames:
        request.getfixturevalue("pack").configure()


def findings(verdicts, policy, enforcement="mandatory"):
    return [v.message for v in verdicts if v.policy == policy and v.enforcement == enforcement]


def test_the_pack_declares_the_snowflake_policies(pack):
    assert pack.policies["snowflake-workload-identity-exact"] == "mandatory"
    assert pack.policies["snowflake-advice"] == "advisory"
    assert pack.policies["snowflake-trusted-roles-fit-the-drivers"] == "mandatory"


def test_an_exact_service_user_passes(pack):
    assert pack.analyze(service_user()) == []


def test_the_global_sts_endpoint_as_issuer_is_a_mandatory_violation(pack):
    [message] = findings(pack.analyze(service_user(issuer="https://sts.amazonaws.com")),
                         "snowflake-workload-identity-exact")
    assert message.startswith("svc.defaultWorkloadIdentity.aws.issuer: 'https://sts.amazonaws.com' is an STS endpoint")


def test_a_hand_written_legacy_service_user_is_judged_too(pack):
    verdicts = pack.analyze(service_user(issuer="https://sts.amazonaws.com", type_=facts.LEGACY_SERVICE_USER_TYPE))
    assert findings(verdicts, "snowflake-workload-identity-exact")


@pytest.mark.parametrize("arn, says", [(f"arn:aws:iam::{ACCOUNT}:role/*", "must not contain '*'"),
                                       ("", "is empty")])
def test_a_wildcard_or_empty_arn_is_a_mandatory_violation(pack, arn, says):
    [message] = findings(pack.analyze(service_user(arn=arn)), "snowflake-workload-identity-exact")
    assert says in message


def test_an_issuer_that_is_not_an_aws_account_issuer_is_a_mandatory_violation(pack):
    verdicts = pack.analyze(service_user(issuer="https://token.actions.githubusercontent.com"))
    assert findings(verdicts, "snowflake-workload-identity-exact")


def test_an_unfamiliar_issuer_of_another_partition_is_only_advice(pack):
    verdicts = pack.analyze(service_user(arn="arn:aws-us-gov:iam::123456789012:role/r",
                                         issuer="https://issuer.example-gov.example"))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("snowflake-advice", "advisory")]


def token_stack(condition_changes):
    condition = {"ForAllValues:StringEquals": {"sts:IdentityTokenAudience": ["snowflakecomputing.com"]},
                 "Null": {"sts:IdentityTokenAudience": "false"},
                 "NumericLessThanEquals": {"sts:DurationSeconds": 300},
                 "StringEquals": {"sts:SigningAlgorithm": ["ES384"]}, **condition_changes}
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:GetWebIdentityToken",
                                                      "Resource": "*", "Condition": condition}]}
    role = resource("aws:iam/role:Role", "loader", {}, {"arn": ROLE_ARN, "name": "loader"})
    return [role, resource("aws:iam/rolePolicy:RolePolicy", "loader-token",
                           {"role": "loader", "policy": json.dumps(policy)}), service_user()]


def test_a_role_whose_policy_fits_the_drivers_request_passes_the_stack(pack):
    assert pack.analyze_stack(token_stack({})) == []


@pytest.mark.parametrize("change, says", [
    ({"StringEquals": {"sts:SigningAlgorithm": ["RS256"]}}, "sts:SigningAlgorithm"),
    ({"NumericLessThanEquals": {"sts:DurationSeconds": 120}}, "sts:DurationSeconds"),
    ({"ForAllValues:StringEquals": {"sts:IdentityTokenAudience": ["https://api.example.com"]}},
     "sts:IdentityTokenAudience"),
])
def test_a_role_that_cannot_get_the_drivers_token_fails_the_stack(pack, change, says):
    verdicts = pack.analyze_stack(token_stack(change))
    assert [(v.policy, v.enforcement, v.resource) for v in verdicts] == [
        ("snowflake-trusted-roles-fit-the-drivers", "mandatory", "svc")]
    assert says in verdicts[0].message and "ES384" in verdicts[0].message


def test_the_stacks_own_program_passes_every_snowflake_policy(pack, run):
    verdicts = pack.analyze_all(run.monitor.registrations.values())
    assert [v for v in verdicts if v.policy.startswith("snowflake")] == []


# -- plan, mock cloud and graph ----------------------------------------------------------------------

def test_the_plan_shows_issuer_arn_and_audience(run):
    [user] = [r for r in build_plan(run).resources if r.type == facts.SERVICE_USER_TYPE]
    role = run.outputs["workloads"]["loader"]["roleArn"]
    assert user.details[:4] == ["user: AWS_DEV_LOADER", f"issuer: {run.outputs['issuer']}", f"arn: {role}",
                                "audience: snowflakecomputing.com (ES384, requested by the drivers)"]


def test_the_mock_cloud_answers_like_the_provider(run):
    [user] = run.monitor.of_type(facts.SERVICE_USER_TYPE)
    assert user.id == '"AWS_DEV_LOADER"' == user.outputs["fullyQualifiedName"]
    assert user.outputs["userType"] == "SERVICE" and user.outputs["showOutputs"][0]["hasWorkloadIdentity"] is True


def test_the_graph_draws_a_service_node_with_the_audience_on_the_edge(run):
    graph = build_trust_graph(run)
    node = graph.nodes["snowflake-user:dev-loader-snowflake-user"]
    assert (node.kind, node.label) == ("service", "Snowflake user AWS_DEV_LOADER")
    assert [e.label for e in graph.edges if e.target == node.id] == ["snowflakecomputing.com"]


# -- the rehearsal -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rehearsed(run):
    return rehearse(run)


def cases(result):
    return {c.scenario: c for c in result.cases if c.relying_party == PARTY}


def test_the_intended_role_logs_in_as_its_user(rehearsed):
    intended = cases(rehearsed)[INTENDED]
    assert (intended.outcome, intended.reason) == (ACCEPT, "logs in as AWS_DEV_LOADER")


@pytest.mark.parametrize("scenario, reason", [("neighbouring role", "bad_subject"),
                                              ("same role, another account", "bad_subject"),
                                              ("another audience", "bad_audience"),
                                              ("expired token", "expired")])
def test_every_other_token_is_rejected(rehearsed, scenario, reason):
    case = cases(rehearsed)[scenario]
    assert (case.outcome, case.reason) == (REJECT, reason)


def test_the_rehearsal_has_no_wrong_cell_and_names_its_judge(rehearsed):
    assert set(cases(rehearsed)) == set(SCENARIOS) and rehearsed.wrong_cells == []
    assert "real JWT verifier" in rehearsed.judges[PARTY]


def test_an_rs256_token_of_the_right_role_is_rejected(run):
    review = Review(run.monitor.registrations.values())
    [trust] = snowflake_trusts(review)
    local = LocalIssuer(trust.issuer)
    role = run.outputs["workloads"]["loader"]["roleArn"]
    jwks = local.jwks()
    es384 = trust.judge(local.mint(role, "snowflakecomputing.com", algorithm="ES384"), jwks)
    rs256 = trust.judge(local.mint(role, "snowflakecomputing.com", algorithm="RS256"), jwks)
    assert es384.accepted and not rs256.accepted


def test_a_token_of_another_issuer_is_rejected(run):
    [trust] = snowflake_trusts(Review(run.monitor.registrations.values()))
    other = LocalIssuer(ISSUER)
    verdict = trust.judge(other.mint(run.outputs["workloads"]["loader"]["roleArn"], "snowflakecomputing.com",
                                     algorithm="ES384"), other.jwks())
    assert not verdict.accepted


HAND_WRITTEN = """
import json

import pulumi_aws as aws
import pulumi_snowflake as snowflake

enablement = aws.iam.OutboundWebIdentityFederation("enablement")
role = aws.iam.Role("loader", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
aws.iam.RolePolicy("loader-token", role=role.name, policy=json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*",
    "Condition": {"ForAllValues:StringEquals": {"sts:IdentityTokenAudience": ["snowflakecomputing.com"]},
                  "Null": {"sts:IdentityTokenAudience": "false"},
                  "NumericLessThanEquals": {"sts:DurationSeconds": 300},
                  "StringEquals": {"sts:SigningAlgorithm": "ALGORITHM"}}}]}))
snowflake.ServiceUser("loader", name="LOADER", default_workload_identity={
    "aws": {"arn": role.arn, "issuer": enablement.issuer_identifier}})
"""


def hand_written(tmp_path, algorithm):
    (tmp_path / "Pulumi.yaml").write_text("name: hand-written\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    (tmp_path / "__main__.py").write_text(HAND_WRITTEN.replace("ALGORITHM", algorithm))
    return run_program(load_project(tmp_path, "dev"))


def test_a_hand_written_role_allowed_es384_logs_in(tmp_path):
    result = rehearse(hand_written(tmp_path, "ES384"))
    intended = {c.scenario: c for c in result.cases}[INTENDED]
    assert (intended.outcome, intended.reason) == (ACCEPT, "logs in as LOADER") and result.wrong_cells == []


def test_a_hand_written_role_allowed_only_rs256_fails_the_intended_cell(tmp_path):
    result = rehearse(hand_written(tmp_path, "RS256"))
    [wrong] = result.wrong_cells
    assert (wrong.scenario, wrong.outcome) == (INTENDED, REJECT)
    assert wrong.reason.startswith("STS would refuse") and "sts:SigningAlgorithm" in wrong.reason


def test_a_hand_written_user_with_an_sts_endpoint_issuer_is_skipped_with_why():
    review = Review([service_user(issuer="https://sts.amazonaws.com")])
    [trust] = snowflake_trusts(review)
    assert trust.judge is None and "STS endpoint" in trust.skipped


def test_a_user_without_an_issuer_is_the_get_caller_identity_path_and_skipped():
    [trust] = snowflake_trusts(Review([service_user(issuer=None)]))
    assert trust.judge is None and "GetCallerIdentity" in trust.skipped
