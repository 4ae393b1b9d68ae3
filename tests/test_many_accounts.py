"""Many AWS accounts: one provider and one issuer per account, and no trust crossing accounts."""

import json

import pytest
from conftest import ROOT

from components.rules import ValidationError
from components.stack.config import parse_stack_config
from fedctl.preview.engine import run_program
from fedctl.preview.project import load_project
from fedctl.preview.rehearsal import rehearse

ORGANIZATION = ROOT / "examples" / "organization"
ACCOUNTS = {"payments": "111111111111", "analytics": "222222222222", "sandbox": "333333333333"}
CREDENTIALS = ("azure-native:managedidentity:FederatedIdentityCredential",
               "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential")


@pytest.fixture(scope="module")
def org():
    return run_program(load_project(ORGANIZATION, "org"))


def test_each_account_is_reached_through_its_own_provider(org):
    providers = {r.name: r.inputs for r in org.monitor.of_type("pulumi:providers:aws")}
    assert set(providers) == {f"org-{name}-aws" for name in ACCOUNTS}
    for name, account in ACCOUNTS.items():
        inputs = providers[f"org-{name}-aws"]
        assert json.loads(inputs["allowedAccountIds"]) == [account]
        assert json.loads(inputs["assumeRoles"])[0]["roleArn"] == f"arn:aws:iam::{account}:role/federation-deployer"


def test_each_account_has_its_own_issuer(org):
    accounts = org.outputs["accounts"]
    assert {n: a["accountId"] for n, a in accounts.items()} == ACCOUNTS
    assert len({a["issuer"] for a in accounts.values()}) == 3


def test_an_organisation_stack_needs_no_issuer_in_its_own_account(org):
    assert "issuer" not in org.outputs
    assert sorted(r.name for r in org.monitor.of_type("outbound-federation:index:AccountFederation")) == [
        "org-analytics", "org-payments", "org-sandbox"]


def test_every_role_is_created_in_its_workloads_account(org):
    config = {w["name"]: w["account"] for w in load_project(ORGANIZATION, "org").object("workloads")}
    for name, exported in org.outputs["workloads"].items():
        assert exported["roleArn"].split(":")[4] == ACCOUNTS[config[name]]
        assert exported["accountId"] == ACCOUNTS[config[name]]


def test_no_azure_credential_pairs_an_issuer_with_a_subject_from_another_account(org):
    issuer_account = {a["issuer"]: a["accountId"] for a in org.outputs["accounts"].values()}
    pairs = [(r.inputs["issuer"], r.inputs["subject"]) for t in CREDENTIALS for r in org.monitor.of_type(t)]
    assert len(pairs) == 2
    for issuer, subject in pairs:
        assert subject.split(":")[4] == issuer_account[issuer]


def test_every_gcp_provider_pins_the_account_of_its_issuer(org):
    issuer_account = {a["issuer"]: a["accountId"] for a in org.outputs["accounts"].values()}
    providers = org.monitor.of_type("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")
    assert len(providers) == 2
    for provider in providers:
        account = issuer_account[provider.inputs["oidc"]["issuerUri"]]
        assert f"aws_account == '{account}'" in provider.inputs["attributeCondition"]
        assert f"arn:aws:iam::{account}:role/" in provider.inputs["attributeCondition"]


def test_every_trust_of_the_organisation_passes_the_rehearsal(org):
    result = rehearse(org)
    assert result.cases and result.wrong_cells == []


def accounts(**extra):
    return [{"name": "payments", "accountId": "111111111111",
             "assumeRoleArn": "arn:aws:iam::111111111111:role/deployer", **extra}]


def refused(raised):
    """(config path as the user wrote it, value, code) of every problem the stack config was refused for."""
    return [(v.field, v.value, v.code) for v in raised.value.violations]


def test_an_existing_role_of_another_account_is_refused_at_preview():
    with pytest.raises(ValidationError) as raised:
        parse_stack_config(None, [{"name": "w1", "account": "payments", "audiences": ["a"],
                                   "existingRoleArn": "arn:aws:iam::999999999999:role/x"}], "org", accounts())
    assert refused(raised) == [
        ("workloads[0].existingRoleArn", "arn:aws:iam::999999999999:role/x", "aws.subject.other-account")]


def test_a_workload_must_name_a_known_account():
    with pytest.raises(ValidationError) as raised:
        parse_stack_config(None, [{"name": "w1", "account": "billing", "trustedServices": ["ec2.amazonaws.com"],
                                   "audiences": ["a"]}], "org", accounts())
    assert refused(raised) == [("workloads[0].account", "billing", "config.account.unknown")]


def test_the_deployer_role_must_be_in_its_account():
    with pytest.raises(ValidationError) as raised:
        parse_stack_config(None, [], "org", accounts(assumeRoleArn="arn:aws:iam::222222222222:role/deployer"))
    assert refused(raised) == [
        ("accounts[0].assumeRoleArn", "arn:aws:iam::222222222222:role/deployer", "aws.subject.other-account")]


def test_one_relying_party_is_not_shared_across_accounts():
    app = {"displayName": "shared-app"}
    workloads = [
        {"name": "w1", "account": "payments", "trustedServices": ["ec2.amazonaws.com"], "azureApp": app},
        {"name": "w2", "trustedServices": ["ec2.amazonaws.com"], "azureApp": app},
    ]
    with pytest.raises(ValidationError) as raised:
        parse_stack_config({}, workloads, "org", accounts())
    assert refused(raised) == [("workloads[1].azureApp", "shared-app", "config.relying-party.across-accounts")]


def test_an_account_id_must_be_twelve_digits():
    with pytest.raises(ValidationError) as raised:
        parse_stack_config(None, [], "org", accounts(accountId=11))
    assert refused(raised) == [("accounts[0].accountId", 11, "aws.account-id.format")]


def test_the_organisation_example_previews_cleanly(capsys):
    from fedctl.cli import main

    assert main(["preview", "--cwd", str(ORGANIZATION), "--stack", "org", "--quiet"]) == 0
    assert "preview passed" in capsys.readouterr().out


def test_a_single_account_stack_still_exports_its_issuer():
    run = run_program(load_project(ROOT, "dev"))
    assert run.outputs["issuer"].endswith(".tokens.sts.global.api.aws") and "accounts" not in run.outputs
