"""The Databricks relying party through the stack: config in, resources, exports, errors with config paths."""

import json
from dataclasses import replace

import pytest
from conftest import ROOT

from components.rules import ValidationError
from components.stack.config import parse_stack_config
from fedctl.preview.engine import run_program
from fedctl.preview.graph import build_trust_graph
from fedctl.preview.project import load_project
from fedctl.preview.rehearsal import ACCEPT, INTENDED, REJECT, rehearse

ACCOUNT = "00000000-0000-4000-8000-00000000dbac"  # the Databricks provider's account in Pulumi.dev.yaml
EXISTING = 1234567890123456
POLICY = "databricks:index/servicePrincipalFederationPolicy:ServicePrincipalFederationPolicy"
SP = "databricks:index/servicePrincipal:ServicePrincipal"
ACCOUNTS = [{"name": "payments", "accountId": "111111111111",
             "assumeRoleArn": "arn:aws:iam::111111111111:role/deployer"},
            {"name": "analytics", "accountId": "222222222222",
             "assumeRoleArn": "arn:aws:iam::222222222222:role/deployer"}]


def workload(name, account=None, **databricks):
    found = {"name": name, "trustedServices": ["lambda.amazonaws.com"],
             "databricks": {"accountId": ACCOUNT, **databricks}}
    return {**found, "account": account} if account else found


def run_with(workloads, accounts=None, **config):
    project = load_project(ROOT, "dev")
    values = {**project.config, "outbound-federation:workloads": json.dumps(workloads), **config}
    if accounts:
        values["outbound-federation:accounts"] = json.dumps(accounts)
    return run_program(replace(project, config=values))


def refused(workloads, accounts=None):
    with pytest.raises(ValidationError) as caught:
        parse_stack_config({}, workloads, "dev", accounts)
    return [(v.field, v.code) for v in caught.value.violations]


@pytest.fixture(scope="module")
def jobs():
    return run_with([workload("jobs")])


# -- what a workload gets ------------------------------------------------------------------------

def test_the_stack_exports_the_service_principal_the_audience_and_the_endpoint(jobs):
    exported = jobs.outputs["workloads"]["jobs"]["databricks"]
    principal = jobs.monitor.of_type(SP)[0]
    assert exported == {
        "audience": ACCOUNT, "applicationId": principal.outputs["applicationId"], "accountId": ACCOUNT,
        "servicePrincipalId": int(principal.id), "policyIds": ["dev-jobs"],
        "tokenEndpoint": f"https://accounts.cloud.databricks.com/oidc/accounts/{ACCOUNT}/v1/token"}


def test_the_role_pins_the_databricks_account_id_and_rs256(jobs):
    exported = jobs.outputs["workloads"]["jobs"]
    condition = json.loads(exported["tokenPolicy"])["Statement"][0]["Condition"]
    assert condition["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"] == [ACCOUNT]
    assert condition["StringEquals"]["sts:SigningAlgorithm"] == ["RS256"]


def test_the_policy_trusts_exactly_the_workloads_role(jobs):
    [policy] = jobs.monitor.of_type(POLICY)
    exported = jobs.outputs["workloads"]["jobs"]
    assert policy.inputs["oidcPolicy"] == {"issuer": jobs.outputs["issuer"], "subject": exported["subject"],
                                           "subjectClaim": "sub", "audiences": [ACCOUNT]}


def test_a_new_service_principal_is_named_after_the_stack_and_workload(jobs):
    assert [r.inputs["displayName"] for r in jobs.monitor.of_type(SP)] == ["aws-dev-jobs"]


def test_workloads_naming_one_display_name_share_one_service_principal_with_a_policy_each():
    run = run_with([workload("jobs", displayName="aws-jobs"), workload("etl", displayName="aws-jobs")])
    [principal] = run.monitor.of_type(SP)
    assert sorted(r.inputs["policyId"] for r in run.monitor.of_type(POLICY)) == ["dev-etl", "dev-jobs"]
    assert {r.inputs["servicePrincipalId"] for r in run.monitor.of_type(POLICY)} == {int(principal.id)}
    exported = run.outputs["workloads"]
    assert exported["jobs"]["databricks"] == exported["etl"]["databricks"]


def test_workloads_of_two_accounts_add_their_own_policies_to_one_existing_service_principal():
    run = run_with([workload("jobs", servicePrincipalId=EXISTING),
                    workload("etl", "payments", servicePrincipalId=EXISTING)], ACCOUNTS)
    assert run.monitor.of_type(SP) == []
    policies = {r.inputs["policyId"]: r.inputs for r in run.monitor.of_type(POLICY)}
    assert {p["servicePrincipalId"] for p in policies.values()} == {EXISTING}
    exported = run.outputs["workloads"]
    assert policies["dev-etl"]["oidcPolicy"]["issuer"] == run.outputs["accounts"]["payments"]["issuer"]
    assert policies["dev-etl"]["oidcPolicy"]["subject"] == exported["etl"]["subject"]
    assert policies["dev-jobs"]["oidcPolicy"]["issuer"] == run.outputs["issuer"]


def test_an_explicit_audience_is_what_the_role_pins_and_the_policy_lists():
    run = run_with([workload("jobs", audience="databricks")])
    exported = run.outputs["workloads"]["jobs"]
    condition = json.loads(exported["tokenPolicy"])["Statement"][0]["Condition"]
    assert condition["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"] == ["databricks"]
    assert run.monitor.of_type(POLICY)[0].inputs["oidcPolicy"]["audiences"] == ["databricks"]
    assert exported["databricks"]["audience"] == "databricks"


# -- the rehearsal and the graph ------------------------------------------------------------------

def test_the_rehearsal_lets_in_exactly_the_intended_role(jobs):
    result = rehearse(jobs)
    cases = {c.scenario: c.outcome for c in result.cases if c.relying_party.startswith("Databricks")}
    assert cases == {INTENDED: ACCEPT, "neighbouring role": REJECT, "same role, another account": REJECT,
                     "another audience": REJECT, "expired token": REJECT}
    assert result.wrong_cells == []
    assert result.judges["Databricks federation policy dev-jobs-databricks-policy-dev-jobs"] == \
        "Databricks' documented matching rules"


def test_a_role_that_may_also_use_es384_is_rehearsed_with_rs256():
    run = run_with([{**workload("jobs"), "signingAlgorithms": ["ES384", "RS256"]}])
    result = rehearse(run)
    assert {c.outcome for c in result.cases if c.scenario == INTENDED} == {ACCEPT}
    assert result.wrong_cells == []


def test_the_graph_draws_the_service_principal_with_the_audience_on_the_edge(jobs):
    graph = build_trust_graph(jobs)
    number = jobs.outputs["workloads"]["jobs"]["databricks"]["servicePrincipalId"]
    node = graph.nodes[f"databricks-sp:{number}"]
    assert node.kind == "service" and "aws-dev-jobs" in node.label
    assert [e.label for e in graph.edges if e.target == node.id] == [ACCOUNT]


# -- errors, named by their config paths ---------------------------------------------------------

def test_bad_settings_are_named_by_their_config_paths():
    found = refused([workload("jobs", accountId="ACCOUNT", audience="data bricks", workspaceHost="http://x")])
    assert sorted(found) == [("workloads[0].databricks.accountId", "databricks.account-id.format"),
                             ("workloads[0].databricks.audience", "databricks.audience.whitespace"),
                             ("workloads[0].databricks.workspaceHost", "databricks.workspace-host.scheme")]


def test_the_account_id_is_required():
    found = refused([{"name": "jobs", "trustedServices": ["lambda.amazonaws.com"], "databricks": {}}])
    assert found == [("workloads[0].databricks.accountId", "databricks.account-id.missing")]


def test_a_misspelt_setting_is_named():
    found = refused([workload("jobs", servicePrincipalID=EXISTING)])
    assert found == [("workloads[0].databricks.servicePrincipalID", "config.unknown-setting")]


def test_an_existing_service_principal_with_a_display_name_is_refused():
    found = refused([workload("jobs", servicePrincipalId=EXISTING, displayName="x")])
    assert found == [("workloads[0].databricks.displayName", "databricks.service-principal.existing-conflict")]


def test_a_role_limited_to_es384_is_refused_for_databricks():
    found = refused([{**workload("jobs"), "signingAlgorithms": ["ES384"]}])
    assert found == [("workloads[0].signingAlgorithms", "relying-party.algorithm-not-allowed")]


def test_twenty_one_policies_on_one_service_principal_across_accounts_are_refused_at_preview():
    workloads = [workload(f"own-{i}", servicePrincipalId=EXISTING) for i in range(7)]
    workloads += [workload(f"pay-{i}", "payments", servicePrincipalId=EXISTING) for i in range(7)]
    workloads += [workload(f"ana-{i}", "analytics", servicePrincipalId=EXISTING) for i in range(7)]
    assert refused(workloads, ACCOUNTS) == [("workloads[0].databricks", "config.relying-party.capacity")]


def test_twenty_policies_on_one_service_principal_across_accounts_pass_with_a_warning():
    workloads = [workload(f"own-{i}", servicePrincipalId=EXISTING) for i in range(10)]
    workloads += [workload(f"pay-{i}", "payments", servicePrincipalId=EXISTING) for i in range(10)]
    spec = parse_stack_config({}, workloads, "dev", ACCOUNTS)
    assert [w.code for w in spec.warnings] == ["config.relying-party.capacity-near"]
    assert len(spec.relying_parties) == 2  # one per account, on the same service principal


def test_policies_the_service_principal_already_holds_count_across_the_stack():
    workloads = [workload("jobs", servicePrincipalId=EXISTING, existingPolicyCount=19),
                 workload("etl", "payments", servicePrincipalId=EXISTING)]
    assert refused(workloads, ACCOUNTS) == [("workloads[0].databricks", "config.relying-party.capacity")]


def test_workloads_sharing_a_new_service_principal_are_counted_together():
    workloads = [workload(f"w{i}", displayName="aws-shared") for i in range(21)]
    assert refused(workloads) == [("workloads[0].databricks.displayName", "databricks.policies.count")]


def test_one_display_name_in_two_accounts_is_two_service_principals_the_stack_refuses_to_merge():
    found = refused([workload("jobs", displayName="aws-jobs"), workload("etl", "payments", displayName="aws-jobs")],
                    ACCOUNTS)
    assert found == [("workloads[1].databricks", "config.relying-party.across-accounts")]


def test_the_same_service_principal_id_in_another_databricks_account_is_counted_apart():
    other = "1a2b3c4d-0000-4000-8000-000000000000"
    workloads = [workload(f"own-{i}", servicePrincipalId=EXISTING) for i in range(11)]
    workloads += [{**workload(f"pay-{i}", "payments", servicePrincipalId=EXISTING),
                   "databricks": {"accountId": other, "servicePrincipalId": EXISTING}} for i in range(11)]
    assert len(parse_stack_config({}, workloads, "dev", ACCOUNTS).relying_parties) == 2


def test_one_service_principal_over_the_limit_in_one_account_is_reported_once():
    workloads = [workload(f"own-{i}", servicePrincipalId=EXISTING) for i in range(21)]
    workloads += [workload("pay", "payments", servicePrincipalId=EXISTING)]
    assert refused(workloads, ACCOUNTS) == [("workloads[0].databricks.servicePrincipalId", "databricks.policies.count")]
