"""Capacity across accounts: one relying party shared by many accounts' roles fills up."""

import json
from dataclasses import replace

import pytest
from conftest import ROOT

from components.rules import ValidationError
from components.stack.config import parse_stack_config
from fedctl.preview.engine import run_program
from fedctl.preview.project import load_project

APP = "aaaaaaaa-0000-4000-8000-000000000002"
ACCOUNTS = [{"name": f"acct{i:02}", "accountId": f"{111111111100 + i}",
             "assumeRoleArn": f"arn:aws:iam::{111111111100 + i}:role/deployer"} for i in range(1, 8)]


def workload(index, account, **app):
    return {"name": f"w{index:02}", "account": account, "trustedServices": ["lambda.amazonaws.com"],
            "azureApp": {"existingApplicationObjectId": APP, **app}}


def spread(count, **app):
    """``count`` workloads over the seven accounts, all trusted by one existing app."""
    return [workload(i, ACCOUNTS[i % len(ACCOUNTS)]["name"], **app) for i in range(count)]


def codes_of(workloads):
    try:
        spec = parse_stack_config({}, workloads, "dev", ACCOUNTS)
    except ValidationError as error:
        return error.codes, []
    return [], [w.code for w in spec.warnings]


def test_an_existing_app_may_be_shared_by_workloads_of_several_accounts():
    assert codes_of(spread(3)) == ([], [])


def test_an_app_the_stack_creates_is_not_shared_across_accounts():
    workloads = [{**w, "azureApp": {"displayName": "shared"}} for w in spread(2)]
    assert codes_of(workloads)[0] == ["config.relying-party.across-accounts"]


def test_an_existing_app_with_role_assignments_is_not_shared_across_accounts():
    roles = [{"scope": "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/r", "role": "Reader"}]
    workloads = spread(2, existingServicePrincipalObjectId="aaaaaaaa-0000-4000-8000-000000000003",
                       roleAssignments=roles)
    assert codes_of(workloads)[0] == ["config.relying-party.across-accounts"]


def test_more_roles_across_accounts_than_an_app_holds_fail_at_preview():
    assert codes_of(spread(21)) == (["config.relying-party.capacity"], [])


def test_credentials_the_app_already_holds_count_too():
    assert codes_of(spread(17, existingCredentialCount=4)) == (["config.relying-party.capacity"], [])


def test_eighty_percent_full_is_a_warning():
    assert codes_of(spread(16)) == ([], ["config.relying-party.capacity-near"])


def test_below_eighty_percent_is_quiet():
    assert codes_of(spread(15)) == ([], [])


@pytest.mark.parametrize("count, expected", [(20, True), (21, False)])
def test_exactly_the_limit_fits(count, expected):
    assert (codes_of(spread(count))[0] == []) is expected


def test_a_shared_app_gets_one_credential_per_role_each_with_its_accounts_issuer():
    project = load_project(ROOT, "dev")
    config = {**project.config, "outbound-federation:workloads": json.dumps(spread(3)),
              "outbound-federation:accounts": json.dumps(ACCOUNTS[:3]), "outbound-federation:account": "{}"}
    run = run_program(replace(project, config=config))
    credentials = run.monitor.of_type(
        "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential")
    issuers = {c.inputs["issuer"] for c in credentials}
    assert len(credentials) == 3 and len(issuers) == 3
    assert {c.inputs["applicationId"] for c in credentials} == {f"/applications/{APP}"}


def test_the_near_limit_warning_reaches_the_preview():
    project = load_project(ROOT, "dev")
    accounts = ACCOUNTS
    config = {**project.config, "outbound-federation:workloads": json.dumps(spread(16)),
              "outbound-federation:accounts": json.dumps(accounts), "outbound-federation:account": "{}"}
    run = run_program(replace(project, config=config))
    assert any("[config.relying-party.capacity-near]" in w for w in run.warnings)
