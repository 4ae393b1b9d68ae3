"""The whole stack program (__main__.py) on the mock runtime, with the config of every stack file."""

import json
from dataclasses import replace

import pytest
from conftest import ROOT
from judges.iam_policy import judge_policy

from fedctl.preview.engine import ProgramError, run_program
from fedctl.preview.project import load_project, stack_names

STACKS = stack_names(ROOT)


def test_the_repository_has_stack_files():
    assert "dev" in STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_runs_and_exports_the_issuer_and_each_workload(stack):
    project = load_project(ROOT, stack)
    run = run_program(project)
    assert run.outputs["issuer"].startswith("https://") and run.outputs["issuer"].endswith(".api.aws")
    configured = [w["name"] for w in project.object("workloads") or []]
    assert sorted(run.outputs["workloads"]) == sorted(configured)
    for name, exported in run.outputs["workloads"].items():
        assert exported["subject"] == exported["roleArn"], name
        assert exported["roleArn"].startswith("arn:aws:iam::"), name


@pytest.mark.parametrize("stack", STACKS)
def test_every_iam_policy_of_every_stack_passes_the_independent_iam_judge(stack):
    run = run_program(load_project(ROOT, stack))
    documents = [r.inputs["policy"] for r in run.monitor.of_type("aws:iam/rolePolicy:RolePolicy")]
    documents += [r.inputs["assumeRolePolicy"] for r in run.monitor.of_type("aws:iam/role:Role")]
    assert documents
    for document in documents:
        assert judge_policy(json.loads(document)) == []


def test_resource_names_derive_from_the_stack_name():
    run = run_program(replace(load_project(ROOT, "dev"), stack="pr-123"))
    names = [r.name for r in run.monitor.registrations.values()]
    assert all(name.startswith("pr-123-") for name in names), names
    role = run.monitor.of_type("aws:iam/role:Role")[0]
    assert role.inputs["tags"]["outbound-federation:stack"] == "pr-123"


def test_the_dev_stack_owns_and_protects_the_account_switch():
    run = run_program(load_project(ROOT, "dev"))
    [enablement] = run.monitor.of_type("aws:iam/outboundWebIdentityFederation:OutboundWebIdentityFederation")
    assert enablement.protect and enablement.retain_on_delete


def test_the_identity_center_role_is_used_as_is():
    run = run_program(load_project(ROOT, "dev"))
    exported = run.outputs["workloads"]["sso-readonly"]
    assert "/aws-reserved/sso.amazonaws.com/" in exported["subject"]
    assert not any("sso-readonly" in r.name for r in run.monitor.of_type("aws:iam/role:Role"))


def test_bad_config_fails_before_anything_is_registered():
    project = load_project(ROOT, "dev")
    broken = dict(project.config)
    broken["outbound-federation:workloads"] = json.dumps(
        [{"name": "x1", "trustedServices": ["ec2.amazonaws.com"], "audiences": ["a"], "maxDurationSeconds": 1}])
    with pytest.raises(ProgramError, match=r"workloads\[0\]\.maxDurationSeconds: 1 is out of range") as caught:
        run_program(replace(project, config=broken))
    assert caught.value.registrations == {}


def test_the_dev_stack_wires_each_relying_party_to_its_workload():
    run = run_program(load_project(ROOT, "dev"))
    workloads = run.outputs["workloads"]
    assert set(workloads["reports-reader"]["azureManagedIdentity"]) == {"clientId", "tenantId", "principalId", "audience",
                                                                        "identityId"}
    assert set(workloads["sso-readonly"]["azureApp"]) == {"clientId", "tenantId", "audience"}
    assert workloads["usage-exporter"]["gcp"]["audience"].startswith("https://iam.googleapis.com/projects/")


def test_each_role_pins_exactly_the_audiences_of_its_relying_parties():
    run = run_program(load_project(ROOT, "dev"))
    pinned = {r.name: json.loads(r.inputs["policy"])["Statement"][0]["Condition"]["ForAllValues:StringEquals"]
              ["sts:IdentityTokenAudience"] for r in run.monitor.of_type("aws:iam/rolePolicy:RolePolicy")}
    gcp_audience = run.outputs["workloads"]["usage-exporter"]["gcp"]["audience"]
    assert pinned["dev-reports-reader-token-policy"] == ["api://AzureADTokenExchange"]
    assert pinned["dev-usage-exporter-token-policy"] == ["https://api.example.com", gcp_audience]


def test_every_credential_trusts_its_workloads_role_exactly():
    run = run_program(load_project(ROOT, "dev"))
    issuer, workloads = run.outputs["issuer"], run.outputs["workloads"]
    [identity_credential] = run.monitor.of_type("azure-native:managedidentity:FederatedIdentityCredential")
    assert (identity_credential.inputs["issuer"], identity_credential.inputs["subject"]) == (
        issuer, workloads["reports-reader"]["subject"])
    [app_credential] = run.monitor.of_type(
        "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential")
    assert app_credential.inputs["subject"] == workloads["sso-readonly"]["subject"]
    [provider] = run.monitor.of_type("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    assert workloads["usage-exporter"]["subject"] in provider.inputs["attributeCondition"]


def test_an_es384_only_workload_wired_to_azure_is_refused_at_preview():
    project = load_project(ROOT, "dev")
    broken = dict(project.config)
    broken["outbound-federation:workloads"] = json.dumps([{
        "name": "signer", "trustedServices": ["ec2.amazonaws.com"], "signingAlgorithms": ["ES384"],
        "azureApp": {"displayName": "signer"}}])
    with pytest.raises(ProgramError, match=r"workloads\[0\]\.signingAlgorithms: \['ES384'\] does not allow RS256"):
        run_program(replace(project, config=broken))


def test_an_existing_role_of_another_account_is_refused():
    project = load_project(ROOT, "dev")
    broken = dict(project.config)
    broken["outbound-federation:workloads"] = json.dumps([{
        "name": "foreign", "existingRoleArn": "arn:aws:iam::210987654321:role/x",
        "azureApp": {"displayName": "foreign"}}])
    with pytest.raises(ProgramError, match="belongs to account 210987654321, not 123456789012"):
        run_program(replace(project, config=broken))


def test_a_workload_trusted_by_an_app_and_an_identity_pins_their_shared_audience_once():
    project = load_project(ROOT, "dev")
    config = dict(project.config)
    config["outbound-federation:workloads"] = json.dumps([{
        "name": "both", "trustedServices": ["ec2.amazonaws.com"], "azureApp": {"displayName": "both"},
        "azureManagedIdentity": {"identityName": "both", "resourceGroupName": "rg", "location": "westeurope"}}])
    run = run_program(replace(project, config=config))
    [policy] = run.monitor.of_type("aws:iam/rolePolicy:RolePolicy")
    pinned = json.loads(policy.inputs["policy"])["Statement"][0]["Condition"]["ForAllValues:StringEquals"]
    assert pinned == {"sts:IdentityTokenAudience": ["api://AzureADTokenExchange"]}
